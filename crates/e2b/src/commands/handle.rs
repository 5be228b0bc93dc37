//! Following a running process: the task that reads its event stream, and
//! the handles ([`CommandHandle`], [`PtyHandle`](crate::PtyHandle)) that
//! expose what it read.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use e2b_connect::Code;
use e2b_connect::client::Streaming;
use e2b_proto::process::process_event::{Event, data_event::Output};
use e2b_proto::process::{
    self as pb, ProcessSelector, SendSignalRequest, Signal, process_methods as methods,
    process_selector::Selector,
};
use futures::{Stream, StreamExt as _};
use tokio::sync::{mpsc, watch};

use super::CommandResult;
use super::utf8::Utf8Decoder;
use crate::envd::{Envd, NotFoundMeans};
use crate::error::{Error, Phase, Result, Stage};
use crate::rpc::RpcCall;

/// The responses of `Start` and `Connect` both carry a process event.
pub(crate) trait ProcessResponse: e2b_connect::Message {
    fn into_event(self) -> Option<Event>;
}

impl ProcessResponse for pb::StartResponse {
    fn into_event(self) -> Option<Event> {
        self.event.and_then(|e| e.event)
    }
}

impl ProcessResponse for pb::ConnectResponse {
    fn into_event(self) -> Option<Event> {
        self.event.and_then(|e| e.event)
    }
}

/// A chunk of output.
///
/// # Example
///
/// ```
/// let chunk = e2b::CommandOutput::Stdout("hello\n".into());
/// if let e2b::CommandOutput::Stdout(text) = &chunk {
///     assert_eq!(text, "hello\n");
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutput {
    /// Text the command wrote to stdout.
    Stdout(String),
    /// Text the command wrote to stderr.
    Stderr(String),
}

#[derive(Debug)]
pub(crate) enum Chunk {
    Text(CommandOutput),
    Pty(Bytes),
}

pub(crate) type TextCallback = Box<dyn FnMut(&str) + Send>;
pub(crate) type BytesCallback = Box<dyn FnMut(&[u8]) + Send>;

/// Where data events go.
pub(crate) enum Sink {
    Command {
        stdout: Utf8Decoder,
        stderr: Utf8Decoder,
        on_stdout: Option<TextCallback>,
        on_stderr: Option<TextCallback>,
    },
    Pty {
        on_data: Option<BytesCallback>,
    },
}

impl Sink {
    pub(crate) fn command(on_stdout: Option<TextCallback>, on_stderr: Option<TextCallback>) -> Self {
        Sink::Command { stdout: Utf8Decoder::default(), stderr: Utf8Decoder::default(), on_stdout, on_stderr }
    }
}

#[derive(Debug)]
struct Ended {
    exit_code: i32,
    error: Option<String>,
}

#[derive(Default)]
struct State {
    stdout: String,
    stderr: String,
    end: Option<Ended>,
    failure: Option<Error>,
    /// The text of a failure already handed out, for later waiters.
    failure_text: Option<String>,
    /// Where chunks go once someone asked for the output stream.
    subscriber: Option<mpsc::UnboundedSender<Chunk>>,
    /// Whether the output stream was handed out already.
    subscribed: bool,
}

struct Shared {
    state: Mutex<State>,
    done: watch::Sender<bool>,
}

impl Shared {
    /// Accumulates text and forwards the chunk to a subscriber, under one
    /// lock so that a new subscriber neither misses nor repeats a chunk.
    fn emit(&self, chunk: Chunk) {
        if let Ok(mut state) = self.state.lock() {
            if let Chunk::Text(output) = &chunk {
                match output {
                    CommandOutput::Stdout(text) => state.stdout.push_str(text),
                    CommandOutput::Stderr(text) => state.stderr.push_str(text),
                }
            }
            if let Some(subscriber) = &state.subscriber {
                let _ = subscriber.send(chunk);
            }
        }
    }
}

/// A process being followed, shared by the command and PTY handles.
pub(crate) struct ProcessCore {
    pid: u32,
    operation: &'static str,
    envd: Envd,
    shared: Arc<Shared>,
    task: tokio::task::AbortHandle,
    /// For terminals, whose output is not accumulated: the stream's
    /// receiving end, subscribed from the start.
    eager_output: Mutex<Option<mpsc::UnboundedReceiver<Chunk>>>,
}

impl ProcessCore {
    /// Starts reading `stream` (whose `start` event has been consumed) in
    /// the background.
    pub(crate) fn follow<R: ProcessResponse>(
        pid: u32,
        mut stream: Streaming<R>,
        mut sink: Sink,
        envd: Envd,
        operation: &'static str,
    ) -> Self {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), done: watch::channel(false).0 });
        // Command output is accumulated, so a stream can start with the
        // backlog when asked for; terminal output is not, so its stream is
        // subscribed from the start.
        let eager_output = match sink {
            Sink::Pty { .. } => {
                let (sender, receiver) = mpsc::unbounded_channel();
                if let Ok(mut state) = shared.state.lock() {
                    state.subscriber = Some(sender);
                }
                Some(receiver)
            }
            Sink::Command { .. } => None,
        };
        let reader = shared.clone();
        let task_envd = envd.clone();
        let emit = move |chunk: Chunk| reader.emit(chunk);
        let shared_for_task = shared.clone();
        let task = tokio::spawn(async move {
            let stage = Stage::new(operation, Phase::Stream);
            let mut failure = None;
            let mut end = None;
            while let Some(message) = stream.next().await {
                let event = match message {
                    Ok(response) => response.into_event(),
                    Err(err) => {
                        failure = Some(task_envd.rpc_error(stage, err, NotFoundMeans::Other).await);
                        break;
                    }
                };
                match event {
                    Some(Event::Data(data)) => match (&mut sink, data.output) {
                        (Sink::Command { stdout, on_stdout, .. }, Some(Output::Stdout(bytes))) => {
                            let text = stdout.push(&bytes);
                            deliver_text(&text, on_stdout, CommandOutput::Stdout, &emit);
                        }
                        (Sink::Command { stderr, on_stderr, .. }, Some(Output::Stderr(bytes))) => {
                            let text = stderr.push(&bytes);
                            deliver_text(&text, on_stderr, CommandOutput::Stderr, &emit);
                        }
                        (Sink::Pty { on_data }, Some(Output::Pty(bytes))) => {
                            if let Some(callback) = on_data.as_mut() {
                                callback(&bytes);
                            }
                            emit(Chunk::Pty(bytes));
                        }
                        _ => {}
                    },
                    Some(Event::End(ended)) => {
                        end = Some(Ended { exit_code: ended.exit_code, error: ended.error })
                    }
                    Some(Event::Start(_) | Event::Keepalive(_)) | None => {}
                }
            }
            if let Sink::Command { stdout, stderr, on_stdout, on_stderr } = &mut sink {
                deliver_text(&stdout.finish(), on_stdout, CommandOutput::Stdout, &emit);
                deliver_text(&stderr.finish(), on_stderr, CommandOutput::Stderr, &emit);
            }
            if failure.is_none() && end.is_none() {
                failure = Some(Error::sandbox(stage, "the process stream closed without an end event"));
            }
            if let Ok(mut state) = shared_for_task.state.lock() {
                state.end = end;
                state.failure = failure;
                state.subscriber = None;
            }
            shared_for_task.done.send_replace(true);
        });
        ProcessCore {
            pid,
            operation,
            envd,
            shared,
            task: task.abort_handle(),
            eager_output: Mutex::new(eager_output),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn stdout(&self) -> String {
        self.shared.state.lock().map(|s| s.stdout.clone()).unwrap_or_default()
    }

    pub(crate) fn stderr(&self) -> String {
        self.shared.state.lock().map(|s| s.stderr.clone()).unwrap_or_default()
    }

    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.shared.state.lock().ok().and_then(|s| s.end.as_ref().map(|e| e.exit_code))
    }

    pub(crate) fn error(&self) -> Option<String> {
        self.shared.state.lock().ok().and_then(|s| s.end.as_ref().and_then(|e| e.error.clone()))
    }

    /// The output stream's receiving end, once: it starts with what was
    /// accumulated so far and continues with live chunks.
    pub(crate) fn take_output(&self) -> Option<mpsc::UnboundedReceiver<Chunk>> {
        let mut state = self.shared.state.lock().ok()?;
        if std::mem::replace(&mut state.subscribed, true) {
            return None;
        }
        if let Some(receiver) = self.eager_output.lock().ok().and_then(|mut o| o.take()) {
            return Some(receiver);
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        if !state.stdout.is_empty() {
            let _ = sender.send(Chunk::Text(CommandOutput::Stdout(state.stdout.clone())));
        }
        if !state.stderr.is_empty() {
            let _ = sender.send(Chunk::Text(CommandOutput::Stderr(state.stderr.clone())));
        }
        let finished = state.end.is_some() || state.failure.is_some() || state.failure_text.is_some();
        if !finished {
            state.subscriber = Some(sender);
        }
        Some(receiver)
    }

    /// Waits for the process to end; a non-zero exit is
    /// [`Error::CommandExit`].
    pub(crate) async fn wait(&self) -> Result<CommandResult> {
        let mut done = self.shared.done.subscribe();
        // The sender lives in `shared`, so this only ends when done is set.
        let _ = done.wait_for(|done| *done).await;
        let stage = Stage::new(self.operation, Phase::Stream);
        let mut state = match self.shared.state.lock() {
            Ok(state) => state,
            Err(_) => return Err(Error::sandbox(stage, "the output reader panicked")),
        };
        if let Some(failure) = state.failure.take() {
            state.failure_text = Some(failure.to_string());
            return Err(failure);
        }
        if let Some(text) = &state.failure_text {
            return Err(Error::sandbox(stage, text.clone()));
        }
        let Some(end) = &state.end else {
            return Err(Error::sandbox(stage, "the process ended without an end event"));
        };
        let result = CommandResult {
            stdout: state.stdout.clone(),
            stderr: state.stderr.clone(),
            exit_code: end.exit_code,
            error: end.error.clone(),
        };
        if result.exit_code != 0 {
            return Err(Error::CommandExit {
                stdout: result.stdout,
                stderr: result.stderr,
                exit_code: result.exit_code,
                error: result.error,
            });
        }
        Ok(result)
    }

    /// Stops following the process, which keeps running.
    pub(crate) fn disconnect(&self) {
        self.task.abort();
        if let Ok(mut state) = self.shared.state.lock()
            && state.end.is_none()
            && state.failure.is_none()
        {
            state.failure = Some(Error::sandbox(
                Stage::new(self.operation, Phase::Stream),
                "disconnected from the process, which keeps running; reattach with connect(pid)",
            ));
        }
        self.shared.done.send_replace(true);
    }

    pub(crate) async fn kill(&self) -> Result<bool> {
        kill(&self.envd, self.pid, None).await
    }
}

impl Drop for ProcessCore {
    fn drop(&mut self) {
        // A dropped handle stops reading; the process itself is unaffected.
        self.task.abort();
    }
}

fn deliver_text(
    text: &str,
    callback: &mut Option<TextCallback>,
    wrap: fn(String) -> CommandOutput,
    emit: &impl Fn(Chunk),
) {
    if text.is_empty() {
        return;
    }
    if let Some(callback) = callback.as_mut() {
        callback(text);
    }
    emit(Chunk::Text(wrap(text.to_owned())));
}

pub(crate) fn selector(pid: u32) -> Option<ProcessSelector> {
    Some(ProcessSelector { selector: Some(Selector::Pid(pid)) })
}

/// SIGKILL to `pid`; `false` when there is no such process.
pub(crate) async fn kill(
    envd: &Envd,
    pid: u32,
    request_timeout: Option<std::time::Duration>,
) -> Result<bool> {
    let call = RpcCall::new("kill process", None, NotFoundMeans::Other);
    let request = SendSignalRequest { process: selector(pid), signal: Signal::Sigkill as i32 };
    let sent: Option<pb::SendSignalResponse> = envd
        .unary_unless(methods::SEND_SIGNAL, request, &call, request_timeout, Some(Code::NotFound))
        .await?;
    Ok(sent.is_some())
}

/// A running command started with [`RunCommand::spawn`](crate::commands::RunCommand::spawn)
/// or attached with [`Commands::connect`](crate::Commands::connect).
///
/// Output is collected as it arrives ([`stdout`](Self::stdout),
/// [`stderr`](Self::stderr)), passed to the callbacks given when starting,
/// and available once as a [`Stream`] from [`output`](Self::output).
/// Dropping the handle stops reading; the command keeps running.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use futures::StreamExt as _;
///
/// let handle = sandbox.commands().run("for i in 1 2 3; do echo $i; sleep 1; done").spawn().await?;
/// let mut output = handle.output();
/// while let Some(chunk) = output.next().await {
///     println!("{chunk:?}");
/// }
/// let result = handle.wait().await?;
/// assert_eq!(result.stdout, "1\n2\n3\n");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CommandHandle {
    // Clones follow the same process; reading stops when the last one is dropped.
    core: Arc<ProcessCore>,
}

impl fmt::Debug for CommandHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandHandle").field("pid", &self.core.pid).finish_non_exhaustive()
    }
}

impl CommandHandle {
    pub(crate) fn new(core: ProcessCore) -> Self {
        Self { core: Arc::new(core) }
    }

    /// The process ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("sleep 10").spawn().await?;
    /// println!("pid {}", handle.pid());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.core.pid()
    }

    /// Everything written to stdout so far.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("echo hi").spawn().await?;
    /// let _ = handle.wait().await;
    /// assert_eq!(handle.stdout(), "hi\n");
    /// # Ok(()) }
    /// ```
    pub fn stdout(&self) -> String {
        self.core.stdout()
    }

    /// Everything written to stderr so far.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("echo oops >&2").spawn().await?;
    /// let _ = handle.wait().await;
    /// assert_eq!(handle.stderr(), "oops\n");
    /// # Ok(()) }
    /// ```
    pub fn stderr(&self) -> String {
        self.core.stderr()
    }

    /// The exit code, once the command has ended (-1 after a signal).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("exit 3").spawn().await?;
    /// let _ = handle.wait().await;
    /// assert_eq!(handle.exit_code(), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        self.core.exit_code()
    }

    /// envd's description of a failed end, e.g. `"exit status 3"`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("exit 3").spawn().await?;
    /// let _ = handle.wait().await;
    /// assert_eq!(handle.error().as_deref(), Some("exit status 3"));
    /// # Ok(()) }
    /// ```
    pub fn error(&self) -> Option<String> {
        self.core.error()
    }

    /// Waits for the command to end. A non-zero exit code is
    /// [`Error::CommandExit`] (with stdout, stderr, code and error); a
    /// failed stream is the mapped RPC error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("make test").cwd("/home/user/project").spawn().await?;
    /// match handle.wait().await {
    ///     Ok(result) => println!("passed:\n{}", result.stdout),
    ///     Err(e2b::Error::CommandExit { exit_code, stderr, .. }) => println!("failed ({exit_code}):\n{stderr}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<CommandResult> {
        self.core.wait().await
    }

    /// Kills the command (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("sleep 1000").spawn().await?;
    /// handle.kill().await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self) -> Result<bool> {
        self.core.kill().await
    }

    /// Stops following the command without stopping it; reattach with
    /// [`Commands::connect`](crate::Commands::connect).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("python3 -m http.server").spawn().await?;
    /// let pid = handle.pid();
    /// handle.disconnect();
    /// let again = sandbox.commands().connect(pid).await?;
    /// # let _ = again; Ok(()) }
    /// ```
    pub fn disconnect(&self) {
        self.core.disconnect();
    }

    /// The output as a stream of chunks, ending with the command: first
    /// what arrived before the call (stdout, then stderr), then each chunk in
    /// arrival order. Only the first call gets the chunks; later calls get
    /// an empty stream. Nothing is buffered for a stream nobody asked for.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use futures::StreamExt as _;
    ///
    /// let handle = sandbox.commands().run("ls -la").spawn().await?;
    /// let chunks: Vec<e2b::CommandOutput> = handle.output().collect().await;
    /// # let _ = chunks; Ok(()) }
    /// ```
    pub fn output(&self) -> impl Stream<Item = CommandOutput> + Send + Unpin + 'static {
        OutputStream { receiver: self.core.take_output() }
            .filter_map(|chunk| async move {
                match chunk {
                    Chunk::Text(text) => Some(text),
                    Chunk::Pty(_) => None,
                }
            })
            .boxed()
    }
}

/// The receiving end of a process's output.
pub(crate) struct OutputStream {
    pub(crate) receiver: Option<mpsc::UnboundedReceiver<Chunk>>,
}

impl Stream for OutputStream {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        match self.receiver.as_mut() {
            Some(receiver) => receiver.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }
}
