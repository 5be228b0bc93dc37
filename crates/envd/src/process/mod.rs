//! `process.Process`: starting processes, streaming their output, feeding
//! their input and signalling them.

mod handle;
mod pty;
pub(crate) mod reaper;
mod spawn;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use e2b_proto::process::process_event::EndEvent;
use e2b_proto::process::process_input::Input;
use e2b_proto::process::process_server::Process;
use e2b_proto::process::stream_input_request::Event as InputEvent;
use e2b_proto::process::{
    CloseStdinRequest, CloseStdinResponse, ConnectRequest, ConnectResponse, ListRequest, ListResponse,
    ProcessInfo, ProcessInput, SendInputRequest, SendInputResponse, SendSignalRequest, SendSignalResponse,
    Signal, StartRequest, StartResponse, StreamInputRequest, StreamInputResponse, UpdateRequest,
    UpdateResponse,
};
use futures::Stream;
use nix::sys::signal::Signal as OsSignal;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use self::handle::{InputError, ProcessHandle};
use self::pty::PtyMaster;
use self::reaper::{ExitInfo, Reaper};
use self::spawn::{SpawnError, SpawnSpec, SpawnedIo};
use self::table::ProcessTable;
use crate::paths;
use crate::rpc::{EventStream, keepalive_interval, request_timeout, request_user};
use crate::settings::Settings;
use crate::users::SystemUser;

/// Largest output chunk of a piped stream (upstream's size).
const PIPE_CHUNK: usize = 32 * 1024;
/// Largest output chunk of a terminal (upstream's size).
const PTY_CHUNK: usize = 16 * 1024;
/// PATH for processes when envd itself has none.
const FALLBACK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

type EventResult<T> = Result<T, Status>;
/// The server stream of Start and Connect: `start`, then output and
/// keepalives, then `end`; `deadline_exceeded` if the request's timeout
/// elapses first.
pub type ProcessEventStream<T> = Pin<Box<dyn Stream<Item = EventResult<T>> + Send + 'static>>;

/// The `process.Process` service. Create it through [`crate::Envd`]; it
/// implements the tonic-generated trait, so it can also be called
/// in-process.
///
/// ```
/// use e2b_proto::process::process_server::Process;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let envd = envd::Envd::new(envd::Config::new()).unwrap();
/// let listed = envd.process_service().list(tonic::Request::new(Default::default())).await.unwrap();
/// assert!(listed.into_inner().processes.is_empty());
/// # }
/// ```
#[derive(Debug)]
pub struct ProcessService {
    settings: Arc<Settings>,
    reaper: Reaper,
    table: Arc<ProcessTable>,
    path: String,
}

impl ProcessService {
    pub(crate) fn new(settings: Arc<Settings>, reaper: Reaper) -> Self {
        ProcessService {
            settings,
            reaper,
            table: Arc::new(ProcessTable::default()),
            path: std::env::var("PATH")
                .ok()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| FALLBACK_PATH.into()),
        }
    }

    /// Signals every live process's group: used on shutdown.
    pub(crate) fn signal_all(&self, signal: OsSignal) -> usize {
        let all = self.table.list();
        for process in &all {
            process.signal_group(signal);
        }
        all.len()
    }

    /// Pids of children not reaped yet (for tests and shutdown).
    pub(crate) fn unreaped(&self) -> Vec<i32> {
        self.reaper.tracked()
    }

    fn resolve_cwd(&self, cwd: Option<&str>, user: &SystemUser) -> Result<PathBuf, Status> {
        let workdir = self.settings.default_workdir();
        let resolved = paths::resolve(cwd.unwrap_or(""), &user.home, workdir.as_deref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if !resolved.exists() {
            return Err(Status::invalid_argument(format!("cwd '{}' does not exist", resolved.display())));
        }
        Ok(resolved)
    }

    /// PATH, then the user's identity, then envd's defaults, then the
    /// request's variables: later entries win.
    fn environment(
        &self,
        user: &SystemUser,
        request: &HashMap<String, String>,
        pty: bool,
    ) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_owned(), self.path.clone()),
            ("HOME".to_owned(), user.home.to_string_lossy().into_owned()),
            ("USER".to_owned(), user.name.clone()),
            ("LOGNAME".to_owned(), user.name.clone()),
            ("SHELL".to_owned(), user.shell.to_string_lossy().into_owned()),
        ];
        if pty {
            env.push(("TERM".to_owned(), "xterm-256color".to_owned()));
        }
        env.extend(self.settings.env());
        let mut request: Vec<_> = request.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        request.sort();
        env.extend(request);
        env
    }

    fn supervise(
        &self,
        handle: Arc<ProcessHandle>,
        io: ReaderIo,
        exit: oneshot::Receiver<ExitInfo>,
        reaped: Arc<AtomicBool>,
        timeout: Option<Duration>,
    ) {
        let table = Arc::clone(&self.table);
        let span = tracing::info_span!("process", pid = handle.pid);
        tokio::spawn(
            async move {
                let readers = read_output(&handle, io);
                tokio::pin!(readers);
                let mut exit = exit;
                let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::MAX));
                tokio::pin!(deadline);
                let (mut info, mut readers_done, mut timed_out) = (None, false, timeout.is_none());
                while info.is_none() || !readers_done {
                    tokio::select! {
                        status = &mut exit, if info.is_none() => {
                            reaped.store(true, Ordering::SeqCst);
                            info = Some(status.unwrap_or_else(|_| unknown_exit()));
                        }
                        () = &mut readers, if !readers_done => readers_done = true,
                        () = &mut deadline, if !timed_out => {
                            timed_out = true;
                            tracing::info!("timeout elapsed, killing the process");
                            if !reaped.load(Ordering::SeqCst) {
                                let _ = handle.signal(OsSignal::SIGKILL);
                            }
                            handle.stop_output.cancel();
                        }
                    }
                }
                let info = info.unwrap_or_else(unknown_exit);
                tracing::info!(status = %info.status, "process ended");
                let end = EndEvent {
                    exit_code: info.code,
                    exited: info.exited,
                    error: info.error(),
                    status: info.status,
                };
                table.ended(&handle);
                handle.finish(end).await;
            }
            .instrument(span),
        );
    }
}

fn unknown_exit() -> ExitInfo {
    ExitInfo { code: -1, exited: false, status: "unknown exit status".into() }
}

/// The output ends envd reads from.
enum ReaderIo {
    Pipes { stdout: pipe::Receiver, stderr: pipe::Receiver },
    Pty(Arc<PtyMaster>),
}

async fn read_output(handle: &ProcessHandle, io: ReaderIo) {
    match io {
        ReaderIo::Pipes { stdout, stderr } => {
            tokio::join!(
                read_pipe(handle, stdout, handle::stdout),
                read_pipe(handle, stderr, handle::stderr)
            );
        }
        ReaderIo::Pty(master) => loop {
            let chunk = tokio::select! {
                chunk = master.read_chunk(PTY_CHUNK) => chunk,
                () = handle.stop_output.cancelled() => break,
            };
            match chunk {
                Ok(Some(chunk)) => handle.publish(handle::pty(chunk)).await,
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "error reading from the terminal");
                    break;
                }
            }
        },
    }
}

async fn read_pipe(
    handle: &ProcessHandle,
    mut pipe: pipe::Receiver,
    kind: fn(Bytes) -> e2b_proto::process::process_event::data_event::Output,
) {
    loop {
        let mut buf = BytesMut::with_capacity(PIPE_CHUNK);
        let read = tokio::select! {
            read = pipe.read_buf(&mut buf) => read,
            () = handle.stop_output.cancelled() => break,
        };
        match read {
            Ok(0) => break,
            Ok(_) => handle.publish(kind(buf.freeze())).await,
            Err(err) => {
                tracing::warn!(%err, "error reading process output");
                break;
            }
        }
    }
}

fn spawn_status(err: SpawnError) -> Status {
    match err {
        SpawnError::CannotSwitchUser(_) => Status::permission_denied(err.to_string()),
        SpawnError::Pty(_) => Status::internal(err.to_string()),
        SpawnError::BadEnvName(_) | SpawnError::Nul | SpawnError::Start { .. } => {
            Status::invalid_argument(err.to_string())
        }
    }
}

fn input_status(err: InputError) -> Status {
    match err {
        InputError::ClosePty => Status::unknown(format!("error closing stdin: {err}")),
        _ => Status::internal(err.to_string()),
    }
}

fn start_response(event: e2b_proto::process::ProcessEvent) -> EventResult<StartResponse> {
    Ok(StartResponse { event: Some(event) })
}

fn connect_response(event: e2b_proto::process::ProcessEvent) -> EventResult<ConnectResponse> {
    Ok(ConnectResponse { event: Some(event) })
}

fn start_keepalive() -> StartResponse {
    StartResponse { event: Some(handle::keepalive()) }
}

fn connect_keepalive() -> ConnectResponse {
    ConnectResponse { event: Some(handle::keepalive()) }
}

fn clamp(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

async fn write_input(handle: &ProcessHandle, input: Option<ProcessInput>) -> Result<(), Status> {
    match input.and_then(|i| i.input) {
        Some(Input::Stdin(data)) => handle.write_stdin(&data).await.map_err(input_status),
        Some(Input::Pty(data)) => handle.write_pty(&data).await.map_err(input_status),
        None => Err(Status::unimplemented("invalid input type: neither stdin nor pty")),
    }
}

#[tonic::async_trait]
impl Process for ProcessService {
    type StartStream = ProcessEventStream<StartResponse>;
    type ConnectStream = ProcessEventStream<ConnectResponse>;

    #[tracing::instrument(name = "process.Start", skip_all, err(level = "info"))]
    async fn start(&self, request: Request<StartRequest>) -> Result<Response<Self::StartStream>, Status> {
        let user = request_user(&self.settings, request.metadata())?;
        let timeout = request_timeout(request.metadata())?;
        let interval = keepalive_interval(request.metadata());
        let StartRequest { process, pty, tag, stdin } = request.into_inner();
        let config = process.ok_or_else(|| Status::invalid_argument("the process to start is required"))?;
        let cwd = self.resolve_cwd(config.cwd.as_deref(), &user)?;
        let pty_size = pty.map(|p| p.size.map(|s| (clamp(s.cols), clamp(s.rows))).unwrap_or((80, 24)));
        let env = self.environment(&user, &config.envs, pty_size.is_some());
        let spawned = spawn::spawn(
            &self.reaper,
            SpawnSpec {
                user: &user,
                cmd: &config.cmd,
                args: &config.args,
                env,
                cwd,
                stdin: stdin.unwrap_or(true),
                pty: pty_size,
            },
        )
        .map_err(spawn_status)?;
        tracing::info!(pid = spawned.pid, user = %user.name, command = %spawn::user_command(&config.cmd, &config.args), "process started");

        let seq = self.table.next_seq();
        let reaped = Arc::new(AtomicBool::new(false));
        let (handle, io) = match spawned.io {
            SpawnedIo::Pipes { stdin, stdout, stderr } => (
                ProcessHandle::with_pipe(spawned.pid, seq, config, tag, stdin, Arc::clone(&reaped)),
                ReaderIo::Pipes { stdout, stderr },
            ),
            SpawnedIo::Pty(master) => {
                let master = Arc::new(master);
                (
                    ProcessHandle::with_pty(
                        spawned.pid,
                        seq,
                        config,
                        tag,
                        Arc::clone(&master),
                        Arc::clone(&reaped),
                    ),
                    ReaderIo::Pty(master),
                )
            }
        };
        let handle = Arc::new(handle);
        // Attach before any output is read, so `start` comes first and no
        // early output is lost.
        let events = handle.attach();
        self.table.insert(Arc::clone(&handle));
        self.supervise(handle, io, spawned.exit, reaped, timeout);
        let stream = EventStream::new(events, start_response, start_keepalive, interval, timeout);
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(name = "process.Connect", skip_all, err(level = "info"))]
    async fn connect(
        &self,
        request: Request<ConnectRequest>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let timeout = request_timeout(request.metadata())?;
        let interval = keepalive_interval(request.metadata());
        let handle = self.table.for_connect(request.get_ref().process.as_ref())?;
        let events = handle.attach();
        let stream = EventStream::new(events, connect_response, connect_keepalive, interval, timeout);
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(name = "process.List", skip_all, err(level = "info"))]
    async fn list(&self, _request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let processes = self
            .table
            .list()
            .into_iter()
            .map(|p| ProcessInfo { config: Some(p.config.clone()), pid: p.pid, tag: p.tag.clone() })
            .collect();
        Ok(Response::new(ListResponse { processes }))
    }

    #[tracing::instrument(name = "process.Update", skip_all, err(level = "info"))]
    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        let request = request.into_inner();
        let handle = self.table.live(request.process.as_ref())?;
        if let Some(pty) = request.pty {
            let size = pty.size.unwrap_or_default();
            handle.resize(clamp(size.cols), clamp(size.rows)).map_err(input_status)?;
        }
        Ok(Response::new(UpdateResponse {}))
    }

    #[tracing::instrument(name = "process.StreamInput", skip_all, err(level = "info"))]
    async fn stream_input(
        &self,
        request: Request<Streaming<StreamInputRequest>>,
    ) -> Result<Response<StreamInputResponse>, Status> {
        let mut stream = request.into_inner();
        let mut target: Option<Arc<ProcessHandle>> = None;
        loop {
            let message = match stream.message().await {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(status) => {
                    return Err(Status::unknown(format!("error streaming input: {}", status.message())));
                }
            };
            match message.event {
                Some(InputEvent::Start(start)) => target = Some(self.table.live(start.process.as_ref())?),
                Some(InputEvent::Data(data)) => {
                    let handle = target.as_ref().ok_or_else(|| {
                        Status::failed_precondition(
                            "input arrived before the start message naming the process",
                        )
                    })?;
                    write_input(handle, data.input).await?;
                }
                Some(InputEvent::Keepalive(_)) => {}
                None => return Err(Status::unimplemented("invalid event type: empty message")),
            }
        }
        Ok(Response::new(StreamInputResponse {}))
    }

    #[tracing::instrument(name = "process.SendInput", skip_all, err(level = "info"))]
    async fn send_input(
        &self,
        request: Request<SendInputRequest>,
    ) -> Result<Response<SendInputResponse>, Status> {
        let request = request.into_inner();
        let handle = self.table.live(request.process.as_ref())?;
        write_input(&handle, request.input).await?;
        Ok(Response::new(SendInputResponse {}))
    }

    #[tracing::instrument(name = "process.SendSignal", skip_all, err(level = "info"))]
    async fn send_signal(
        &self,
        request: Request<SendSignalRequest>,
    ) -> Result<Response<SendSignalResponse>, Status> {
        let request = request.into_inner();
        let handle = self.table.live(request.process.as_ref())?;
        let signal = match Signal::try_from(request.signal) {
            Ok(Signal::Sigkill) => OsSignal::SIGKILL,
            Ok(Signal::Sigterm) => OsSignal::SIGTERM,
            _ => return Err(Status::unimplemented(format!("invalid signal: {}", request.signal))),
        };
        handle.signal(signal).map_err(|e| Status::internal(format!("error sending signal: {e}")))?;
        Ok(Response::new(SendSignalResponse {}))
    }

    #[tracing::instrument(name = "process.CloseStdin", skip_all, err(level = "info"))]
    async fn close_stdin(
        &self,
        request: Request<CloseStdinRequest>,
    ) -> Result<Response<CloseStdinResponse>, Status> {
        let handle = self.table.live(request.get_ref().process.as_ref())?;
        handle.close_stdin().await.map_err(input_status)?;
        Ok(Response::new(CloseStdinResponse {}))
    }
}
