//! Starting a command ([`RunCommand`]) and reattaching to one
//! ([`ConnectCommand`]).

use std::collections::HashMap;
use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use e2b_proto::process::process_event::Event;
use e2b_proto::process::{self as pb, process_methods as methods};
use futures::future::BoxFuture;

use super::CommandResult;
use super::handle::{CommandHandle, ProcessCore, ProcessResponse, Sink, TextCallback, selector};
use crate::envd::NotFoundMeans;
use crate::error::{Error, Phase, Result, Stage};
use crate::rpc::RpcCall;
use crate::sandbox::SandboxInner;
use crate::version::EnvdFeature;

/// A command's stream is bounded to this unless told otherwise; envd kills
/// the command when it elapses.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::commands::DEFAULT_COMMAND_TIMEOUT.as_secs(), 60);
/// ```
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The stream timeout to send: unset means the default, zero means none.
pub(crate) fn stream_timeout(timeout: Option<Duration>, default: Duration) -> Option<Duration> {
    match timeout {
        Some(timeout) if timeout.is_zero() => None,
        Some(timeout) => Some(timeout),
        None => Some(default),
    }
}

/// The pid of the `start` event that must open a process stream.
pub(crate) fn start_pid(first: impl ProcessResponse, operation: &'static str) -> Result<u32> {
    match first.into_event() {
        Some(Event::Start(start)) => Ok(start.pid),
        other => Err(Error::sandbox(
            Stage::new(operation, Phase::Stream),
            format!("expected a start event first, got {other:?}"),
        )),
    }
}

/// A command to run; from [`Commands::run`](crate::Commands::run). Await it
/// to run in the foreground, or [`spawn`](Self::spawn) it.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let result = sandbox.commands().run("echo $GREETING").env("GREETING", "hi").await?;
/// assert_eq!(result.stdout, "hi\n");
/// # Ok(()) }
/// ```
#[must_use = "a command does nothing until it is awaited or spawned"]
pub struct RunCommand {
    sandbox: Arc<SandboxInner>,
    cmd: String,
    envs: HashMap<String, String>,
    user: Option<String>,
    cwd: Option<String>,
    stdin: Option<bool>,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    on_stdout: Option<TextCallback>,
    on_stderr: Option<TextCallback>,
}

impl fmt::Debug for RunCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunCommand")
            .field("cmd", &self.cmd)
            .field("user", &self.user)
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

impl RunCommand {
    pub(crate) fn new(sandbox: Arc<SandboxInner>, cmd: String) -> Self {
        Self {
            sandbox,
            cmd,
            envs: HashMap::new(),
            user: None,
            cwd: None,
            stdin: None,
            timeout: None,
            request_timeout: None,
            on_stdout: None,
            on_stderr: None,
        }
    }

    /// Sets an environment variable.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("env").env("DEBUG", "1").await?;
    /// # Ok(()) }
    /// ```
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.insert(name.into(), value.into());
        self
    }

    /// Sets several environment variables.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("env").envs([("A", "1"), ("B", "2")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn envs<I, K, V>(mut self, envs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.envs.extend(envs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Runs as this user (default: the sandbox's default user).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("apt-get update").user("root").await?;
    /// # Ok(()) }
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs in this directory (relative paths are relative to the user's
    /// home).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("ls").cwd("/tmp").await?;
    /// # Ok(()) }
    /// ```
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Keep stdin open for [`Commands::send_stdin`](crate::Commands::send_stdin)
    /// (default: closed).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().run("cat").stdin(true).spawn().await?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn stdin(mut self, stdin: bool) -> Self {
        self.stdin = Some(stdin);
        self
    }

    /// How long the command may run (default 60 s; `Duration::ZERO` for no
    /// limit). envd kills it when the time is up.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("./train.sh").timeout(std::time::Duration::ZERO).spawn().await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for envd to start the command.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("true").request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called with each piece of stdout as it arrives (decoded as UTF-8).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("make").on_stdout(|text| print!("{text}")).await?;
    /// # Ok(()) }
    /// ```
    pub fn on_stdout(mut self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        self.on_stdout = Some(Box::new(callback));
        self
    }

    /// Called with each piece of stderr as it arrives (decoded as UTF-8).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.commands().run("make").on_stderr(|text| eprint!("{text}")).await?;
    /// # Ok(()) }
    /// ```
    pub fn on_stderr(mut self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        self.on_stderr = Some(Box::new(callback));
        self
    }

    /// Starts the command in the background and returns its handle once
    /// envd confirms the start.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let server = sandbox.commands().run("python3 -m http.server 8000").timeout(std::time::Duration::ZERO).spawn().await?;
    /// println!("serving at https://{}", sandbox.get_host(8000));
    /// server.kill().await?;
    /// # Ok(()) }
    /// ```
    pub async fn spawn(self) -> Result<CommandHandle> {
        const OP: &str = "run command";
        let envd = &self.sandbox.envd;
        if self.stdin == Some(false) && !envd.version().supports(EnvdFeature::StdinControl) {
            return Err(Error::sandbox(
                Stage::new(OP, Phase::Validate),
                format!(
                    "envd {} cannot start a command without stdin (it is always open); rebuild the template \
                     to get envd {} or later",
                    envd.version(),
                    EnvdFeature::StdinControl.min_version()
                ),
            ));
        }
        let request = pb::StartRequest {
            process: Some(pb::ProcessConfig {
                cmd: "/bin/bash".to_owned(),
                args: vec!["-l".to_owned(), "-c".to_owned(), self.cmd],
                envs: self.envs,
                cwd: self.cwd,
            }),
            pty: None,
            tag: None,
            stdin: Some(self.stdin.unwrap_or(false)),
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
        let sink = Sink::command(self.on_stdout, self.on_stderr);
        Ok(CommandHandle::new(ProcessCore::follow(pid, stream, sink, envd.clone(), OP)))
    }

    /// Runs the command in the foreground: waits for it to end. A non-zero
    /// exit is [`Error::CommandExit`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let result = sandbox.commands().run("uname -a").send().await?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        self.spawn().await?.wait().await
    }
}

impl IntoFuture for RunCommand {
    type Output = Result<CommandResult>;
    type IntoFuture = BoxFuture<'static, Result<CommandResult>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Reattaches to a running command; from [`Commands::connect`](crate::Commands::connect).
/// Await it for a [`CommandHandle`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
/// let handle = sandbox.commands().connect(pid).on_stdout(|t| print!("{t}")).await?;
/// # let _ = handle; Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited"]
pub struct ConnectCommand {
    sandbox: Arc<SandboxInner>,
    pid: u32,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    on_stdout: Option<TextCallback>,
    on_stderr: Option<TextCallback>,
}

impl fmt::Debug for ConnectCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectCommand").field("pid", &self.pid).finish_non_exhaustive()
    }
}

impl ConnectCommand {
    pub(crate) fn new(sandbox: Arc<SandboxInner>, pid: u32) -> Self {
        Self { sandbox, pid, timeout: None, request_timeout: None, on_stdout: None, on_stderr: None }
    }

    /// How long to follow the command (default 60 s; `Duration::ZERO` for
    /// ever). Unlike starting, this does not limit the command itself.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().connect(pid).timeout(std::time::Duration::ZERO).await?;
    /// # let _ = handle; Ok(()) }
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
    /// let handle = sandbox.commands().connect(pid).request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called with each piece of stdout from now on.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().connect(pid).on_stdout(|t| print!("{t}")).await?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn on_stdout(mut self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        self.on_stdout = Some(Box::new(callback));
        self
    }

    /// Called with each piece of stderr from now on.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().connect(pid).on_stderr(|t| eprint!("{t}")).await?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn on_stderr(mut self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        self.on_stderr = Some(Box::new(callback));
        self
    }

    /// Attaches. An unknown pid is [`Error::NotFound`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().connect(pid).send().await?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandHandle> {
        const OP: &str = "connect to command";
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
        let sink = Sink::command(self.on_stdout, self.on_stderr);
        Ok(CommandHandle::new(ProcessCore::follow(pid, stream, sink, envd.clone(), OP)))
    }
}

impl IntoFuture for ConnectCommand {
    type Output = Result<CommandHandle>;
    type IntoFuture = BoxFuture<'static, Result<CommandHandle>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
