//! [`Pty`]: interactive terminals in a sandbox — a login shell on a
//! pseudo-terminal whose raw output arrives as bytes.

use std::collections::HashMap;
use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use e2b_proto::process::{self as pb, process_input::Input, process_methods as methods};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt as _};

use crate::commands::handle::{BytesCallback, Chunk, OutputStream};
use crate::commands::run::{DEFAULT_COMMAND_TIMEOUT, start_pid, stream_timeout};
use crate::commands::{CommandResult, ProcessCore, Sink, kill_request, selector, send_input_request};
use crate::envd::NotFoundMeans;
use crate::envd_request::EnvdRequest;
use crate::error::Result;
use crate::rpc::RpcCall;
use crate::sandbox::SandboxInner;

/// A terminal's size in character cells.
///
/// # Example
///
/// ```
/// let size = e2b::PtySize { rows: 24, cols: 80 };
/// assert_eq!(size.cols, 80);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtySize {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
}

impl PtySize {
    fn to_proto(self) -> Option<pb::Pty> {
        Some(pb::Pty { size: Some(pb::pty::Size { cols: self.cols, rows: self.rows }) })
    }
}

/// Terminals in a sandbox; from [`Sandbox::pty`](crate::Sandbox::pty).
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use e2b::PtySize;
///
/// let terminal = sandbox.pty().create(PtySize { rows: 24, cols: 80 }).on_data(|bytes| {
///     print!("{}", String::from_utf8_lossy(bytes));
/// }).await?;
/// terminal.send_stdin("ls -la\n").await?;
/// terminal.send_stdin("exit\n").await?;
/// terminal.wait().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pty {
    sandbox: Arc<SandboxInner>,
}

impl fmt::Debug for Pty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pty").field("sandbox_id", &self.sandbox.id).finish()
    }
}

impl Pty {
    pub(crate) fn new(sandbox: Arc<SandboxInner>) -> Self {
        Self { sandbox }
    }

    /// Starts an interactive login shell (`/bin/bash -i -l`) on a new
    /// terminal of `size`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let terminal = sandbox.pty().create(e2b::PtySize { rows: 40, cols: 120 }).cwd("/home/user").await?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn create(&self, size: PtySize) -> CreatePty {
        CreatePty {
            sandbox: self.sandbox.clone(),
            size,
            user: None,
            cwd: None,
            envs: HashMap::new(),
            timeout: None,
            request_timeout: None,
            on_data: None,
        }
    }

    /// Reattaches to a running terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let terminal = sandbox.pty().connect(pid).on_data(|b| print!("{}", String::from_utf8_lossy(b))).await?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn connect(&self, pid: u32) -> ConnectPty {
        ConnectPty { sandbox: self.sandbox.clone(), pid, timeout: None, request_timeout: None, on_data: None }
    }

    /// Types into a terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// sandbox.pty().send_stdin(pid, "echo hi\n").await?;
    /// # Ok(()) }
    /// ```
    pub fn send_stdin(&self, pid: u32, data: impl Into<Bytes>) -> EnvdRequest<()> {
        send_input_request(&self.sandbox, pid, Input::Pty(data.into()), "send terminal input")
    }

    /// Resizes a terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// sandbox.pty().resize(pid, e2b::PtySize { rows: 50, cols: 200 }).await?;
    /// # Ok(()) }
    /// ```
    pub fn resize(&self, pid: u32, size: PtySize) -> EnvdRequest<()> {
        const OP: &str = "resize terminal";
        let sandbox = self.sandbox.clone();
        EnvdRequest::new(OP, move |request_timeout| async move {
            let call = RpcCall::new(OP, None, NotFoundMeans::Other);
            let request = pb::UpdateRequest { process: selector(pid), pty: size.to_proto() };
            let _: pb::UpdateResponse =
                sandbox.envd.unary(methods::UPDATE, request, &call, request_timeout).await?;
            Ok(())
        })
    }

    /// Kills a terminal's shell (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// sandbox.pty().kill(pid).await?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, pid: u32) -> EnvdRequest<bool> {
        kill_request(&self.sandbox, pid, "kill terminal")
    }
}

/// A terminal to start; from [`Pty::create`]. Await it for a [`PtyHandle`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let terminal = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).user("root").await?;
/// # let _ = terminal; Ok(()) }
/// ```
#[must_use = "a terminal does nothing until it is awaited"]
pub struct CreatePty {
    sandbox: Arc<SandboxInner>,
    size: PtySize,
    user: Option<String>,
    cwd: Option<String>,
    envs: HashMap<String, String>,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    on_data: Option<BytesCallback>,
}

impl fmt::Debug for CreatePty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatePty")
            .field("size", &self.size)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl CreatePty {
    /// Runs the shell as this user.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).user("root").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Starts the shell in this directory.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).cwd("/tmp").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets an environment variable (`TERM`, `LANG` and `LC_ALL` default to
    /// `xterm-256color`, `C.UTF-8` and `C.UTF-8`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).env("TERM", "vt100").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.insert(name.into(), value.into());
        self
    }

    /// How long the shell may run (default 60 s; `Duration::ZERO` for no
    /// limit). envd kills it when the time is up.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).timeout(std::time::Duration::ZERO).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for envd to start the shell.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called with the terminal's raw output as it arrives.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).on_data(|b| print!("{}", String::from_utf8_lossy(b))).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn on_data(mut self, callback: impl FnMut(&[u8]) + Send + 'static) -> Self {
        self.on_data = Some(Box::new(callback));
        self
    }

    /// Starts the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).send().await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub async fn send(mut self) -> Result<PtyHandle> {
        const OP: &str = "create terminal";
        for (name, value) in [("TERM", "xterm-256color"), ("LANG", "C.UTF-8"), ("LC_ALL", "C.UTF-8")] {
            self.envs.entry(name.to_owned()).or_insert_with(|| value.to_owned());
        }
        let envd = &self.sandbox.envd;
        let request = pb::StartRequest {
            process: Some(pb::ProcessConfig {
                cmd: "/bin/bash".to_owned(),
                args: vec!["-i".to_owned(), "-l".to_owned()],
                envs: self.envs,
                cwd: self.cwd,
            }),
            pty: self.size.to_proto(),
            tag: None,
            stdin: None,
        };
        let call = RpcCall::new(OP, envd.effective_user(self.user), NotFoundMeans::Other);
        let timeout = stream_timeout(self.timeout, DEFAULT_COMMAND_TIMEOUT);
        let (first, stream) = envd
            .open_stream::<_, pb::StartResponse>(
                methods::START,
                request,
                &call,
                timeout,
                self.request_timeout,
            )
            .await?;
        let pid = start_pid(first, OP)?;
        let core = ProcessCore::follow(pid, stream, Sink::Pty { on_data: self.on_data }, envd.clone(), OP);
        Ok(PtyHandle { core: Arc::new(core), pty: Pty::new(self.sandbox) })
    }
}

impl IntoFuture for CreatePty {
    type Output = Result<PtyHandle>;
    type IntoFuture = BoxFuture<'static, Result<PtyHandle>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Reattaches to a terminal; from [`Pty::connect`]. Await it for a
/// [`PtyHandle`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
/// let t = sandbox.pty().connect(pid).timeout(std::time::Duration::ZERO).await?;
/// # let _ = t; Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited"]
pub struct ConnectPty {
    sandbox: Arc<SandboxInner>,
    pid: u32,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    on_data: Option<BytesCallback>,
}

impl fmt::Debug for ConnectPty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectPty").field("pid", &self.pid).finish_non_exhaustive()
    }
}

impl ConnectPty {
    /// How long to follow the terminal (default 60 s; `Duration::ZERO` for
    /// ever).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().connect(pid).timeout(std::time::Duration::from_secs(600)).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for envd to confirm.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().connect(pid).request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called with the terminal's raw output from now on.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().connect(pid).on_data(|b| print!("{}", String::from_utf8_lossy(b))).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn on_data(mut self, callback: impl FnMut(&[u8]) + Send + 'static) -> Self {
        self.on_data = Some(Box::new(callback));
        self
    }

    /// Attaches.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().connect(pid).send().await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<PtyHandle> {
        const OP: &str = "connect to terminal";
        let envd = &self.sandbox.envd;
        let call = RpcCall::new(OP, None, NotFoundMeans::Other);
        let request = pb::ConnectRequest { process: selector(self.pid) };
        let timeout = stream_timeout(self.timeout, DEFAULT_COMMAND_TIMEOUT);
        let (first, stream) = envd
            .open_stream::<_, pb::ConnectResponse>(
                methods::CONNECT,
                request,
                &call,
                timeout,
                self.request_timeout,
            )
            .await?;
        let pid = start_pid(first, OP)?;
        let core = ProcessCore::follow(pid, stream, Sink::Pty { on_data: self.on_data }, envd.clone(), OP);
        Ok(PtyHandle { core: Arc::new(core), pty: Pty::new(self.sandbox) })
    }
}

impl IntoFuture for ConnectPty {
    type Output = Result<PtyHandle>;
    type IntoFuture = BoxFuture<'static, Result<PtyHandle>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A running terminal. Dropping it stops reading; the shell keeps running
/// until it exits or its timeout elapses.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use futures::StreamExt as _;
///
/// let terminal = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
/// let mut output = terminal.output();
/// terminal.send_stdin("echo ready\n").await?;
/// while let Some(bytes) = output.next().await {
///     if String::from_utf8_lossy(&bytes).contains("ready") {
///         break;
///     }
/// }
/// terminal.kill().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PtyHandle {
    // Clones drive the same terminal; reading stops when the last one is dropped.
    core: Arc<ProcessCore>,
    pty: Pty,
}

impl fmt::Debug for PtyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PtyHandle").field("pid", &self.core.pid()).finish_non_exhaustive()
    }
}

impl PtyHandle {
    /// The shell's process ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// println!("{}", t.pid());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.core.pid()
    }

    /// Types into the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// t.send_stdin(&b"\x04"[..]).await?; // Ctrl-D
    /// # Ok(()) }
    /// ```
    pub async fn send_stdin(&self, data: impl Into<Bytes>) -> Result<()> {
        self.pty.send_stdin(self.pid(), data).await
    }

    /// Resizes the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// t.resize(e2b::PtySize { rows: 48, cols: 160 }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn resize(&self, size: PtySize) -> Result<()> {
        self.pty.resize(self.pid(), size).await
    }

    /// Waits for the shell to exit; a non-zero exit is
    /// [`Error::CommandExit`](crate::Error::CommandExit). The output went to
    /// `on_data` and [`output`](Self::output), so the result's stdout and
    /// stderr are empty.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// t.send_stdin("exit 0\n").await?;
    /// t.wait().await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<CommandResult> {
        self.core.wait().await
    }

    /// Kills the shell (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// t.kill().await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self) -> Result<bool> {
        self.core.kill().await
    }

    /// Stops following the terminal without stopping it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).timeout(std::time::Duration::ZERO).await?;
    /// t.disconnect();
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) {
        self.core.disconnect();
    }

    /// The raw output as a stream, ending with the shell. Only the first
    /// call gets the chunks.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let t = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// let output = t.output();
    /// # let _ = output; Ok(()) }
    /// ```
    pub fn output(&self) -> impl Stream<Item = Bytes> + Send + Unpin + 'static {
        OutputStream { receiver: self.core.take_output() }
            .filter_map(|chunk| async move {
                match chunk {
                    Chunk::Pty(bytes) => Some(bytes),
                    Chunk::Text(_) => None,
                }
            })
            .boxed()
    }
}
