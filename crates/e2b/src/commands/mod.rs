//! Running commands in a sandbox: [`Commands`] (run in the foreground or
//! background, list, kill, stdin, reattach), the [`CommandHandle`] of a
//! running command, and [`CommandRunner`], the seam that helpers such as
//! [`Git`](crate::Git) run their command lines through.
//!
//! ```no_run
//! # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
//! let result = sandbox.commands().run("ls /").await?;
//! let server = sandbox.commands().run("python3 -m http.server").spawn().await?;
//! println!("{} running as {}", result.stdout, server.pid());
//! server.kill().await?;
//! # Ok(()) }
//! ```

pub(crate) mod handle;
pub(crate) mod run;
mod utf8;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use e2b_proto::process::{self as pb, process_input::Input, process_methods as methods};
use futures::future::BoxFuture;

pub use handle::{CommandHandle, CommandOutput};
pub(crate) use handle::{ProcessCore, Sink, kill, selector};
pub use run::{ConnectCommand, DEFAULT_COMMAND_TIMEOUT, RunCommand};

use crate::envd::NotFoundMeans;
use crate::envd_request::EnvdRequest;
use crate::error::{Error, Phase, Result, Stage};
use crate::rpc::RpcCall;
use crate::sandbox::SandboxInner;
use crate::version::EnvdFeature;

/// What a finished command produced.
///
/// # Example
///
/// ```
/// let result = e2b::CommandResult { stdout: "hi\n".into(), stderr: String::new(), exit_code: 0, error: None };
/// assert!(result.stdout.starts_with("hi"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandResult {
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// The exit code; -1 when a signal ended the command.
    pub exit_code: i32,
    /// envd's description of a failure, e.g. `"exit status 2"`.
    pub error: Option<String>,
}

/// A shell command line to run in the foreground, with its environment.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// let request = e2b::CommandRequest::new("ls -la")
///     .env("LC_ALL", "C")
///     .cwd("/home/user")
///     .timeout(Duration::from_secs(30));
/// assert_eq!(request.cmd, "ls -la");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandRequest {
    /// The command line, run by `/bin/bash -l -c`.
    pub cmd: String,
    /// Extra environment variables.
    pub envs: HashMap<String, String>,
    /// The user to run as; `None` for the sandbox's default user.
    pub user: Option<String>,
    /// The working directory; `None` for the default.
    pub cwd: Option<String>,
    /// How long the command may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// The deadline for starting the command; `None` for the default.
    pub request_timeout: Option<Duration>,
}

impl CommandRequest {
    /// A request to run `cmd`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::CommandRequest::new("true").cmd, "true");
    /// ```
    pub fn new(cmd: impl Into<String>) -> Self {
        Self { cmd: cmd.into(), ..Self::default() }
    }

    /// Adds an environment variable.
    ///
    /// # Example
    ///
    /// ```
    /// let r = e2b::CommandRequest::new("env").env("A", "1");
    /// assert_eq!(r.envs["A"], "1");
    /// ```
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.insert(name.into(), value.into());
        self
    }

    /// Runs as this user.
    ///
    /// # Example
    ///
    /// ```
    /// let r = e2b::CommandRequest::new("id").user("root");
    /// assert_eq!(r.user.as_deref(), Some("root"));
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs in this directory.
    ///
    /// # Example
    ///
    /// ```
    /// let r = e2b::CommandRequest::new("pwd").cwd("/tmp");
    /// assert_eq!(r.cwd.as_deref(), Some("/tmp"));
    /// ```
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Limits how long the command may run.
    ///
    /// # Example
    ///
    /// ```
    /// let r = e2b::CommandRequest::new("sleep 1").timeout(std::time::Duration::from_secs(5));
    /// assert!(r.timeout.is_some());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Limits how long starting the command may take.
    ///
    /// # Example
    ///
    /// ```
    /// let r = e2b::CommandRequest::new("true").request_timeout(std::time::Duration::from_secs(5));
    /// assert!(r.request_timeout.is_some());
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

/// Runs command lines in the foreground and waits for them, like
/// `commands.run` of the official SDKs.
///
/// Implementations return `Ok` when the command exits with code 0 and
/// [`Error::CommandExit`] (carrying stdout,
/// stderr, the exit code and envd's error text) otherwise; transport and
/// other failures are the corresponding [`Error`]s.
///
/// # Example
///
/// A runner that executes commands on the local machine, e.g. to use
/// [`Git`](crate::Git) outside a sandbox:
///
/// ```no_run
/// use e2b::{CommandRequest, CommandResult, CommandRunner, Error};
/// use futures::future::BoxFuture;
///
/// struct LocalShell;
///
/// impl CommandRunner for LocalShell {
///     fn run(&self, request: CommandRequest) -> BoxFuture<'_, Result<CommandResult, Error>> {
///         Box::pin(async move {
///             let mut command = tokio::process::Command::new("/bin/bash");
///             command.arg("-c").arg(&request.cmd).envs(&request.envs);
///             if let Some(cwd) = &request.cwd {
///                 command.current_dir(cwd);
///             }
///             let output = command.output().await.expect("bash runs");
///             let result = CommandResult {
///                 stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
///                 stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
///                 exit_code: output.status.code().unwrap_or(-1),
///                 error: None,
///             };
///             if result.exit_code == 0 {
///                 Ok(result)
///             } else {
///                 Err(Error::CommandExit {
///                     stdout: result.stdout,
///                     stderr: result.stderr,
///                     exit_code: result.exit_code,
///                     error: Some(format!("exit status {}", result.exit_code)),
///                 })
///             }
///         })
///     }
/// }
/// ```
pub trait CommandRunner: Send + Sync {
    /// Runs `request` and waits for it to finish.
    fn run(&self, request: CommandRequest) -> BoxFuture<'_, Result<CommandResult>>;
}

/// A process running in the sandbox, from [`Commands::list`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// for process in sandbox.commands().list().await? {
///     println!("{} {} {:?}", process.pid, process.cmd, process.args);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The process ID.
    pub pid: u32,
    /// The tag it was started with, if any.
    pub tag: Option<String>,
    /// The executable, e.g. `/bin/bash`.
    pub cmd: String,
    /// Its arguments, e.g. `["-l", "-c", "sleep 10"]`.
    pub args: Vec<String>,
    /// The environment variables it was started with.
    pub envs: HashMap<String, String>,
    /// The working directory it was started in, if one was given.
    pub cwd: Option<String>,
}

/// Commands in a sandbox; from [`Sandbox::commands`](crate::Sandbox::commands).
/// Cheap to clone.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").await?;
/// assert_eq!(result.stdout, "42\n");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Commands {
    sandbox: Arc<SandboxInner>,
}

impl std::fmt::Debug for Commands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commands").field("sandbox_id", &self.sandbox.id).finish()
    }
}

impl Commands {
    pub(crate) fn new(sandbox: Arc<SandboxInner>) -> Self {
        Self { sandbox }
    }

    /// Runs `cmd` with `/bin/bash -l -c`: await the builder to run it in the
    /// foreground (a non-zero exit is [`Error::CommandExit`]), or
    /// [`spawn`](RunCommand::spawn) it in the background.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let result = sandbox
    ///     .commands()
    ///     .run("pip install requests")
    ///     .user("root")
    ///     .timeout(std::time::Duration::from_secs(300))
    ///     .on_stdout(|line| print!("{line}"))
    ///     .await?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub fn run(&self, cmd: impl Into<String>) -> RunCommand {
        RunCommand::new(self.sandbox.clone(), cmd.into())
    }

    /// Reattaches to a running command (e.g. after
    /// [`disconnect`](CommandHandle::disconnect)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// let handle = sandbox.commands().connect(pid).await?;
    /// let result = handle.wait().await?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub fn connect(&self, pid: u32) -> ConnectCommand {
        ConnectCommand::new(self.sandbox.clone(), pid)
    }

    /// The processes running in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let running = sandbox.commands().list().await?;
    /// # let _ = running; Ok(()) }
    /// ```
    pub fn list(&self) -> EnvdRequest<Vec<ProcessInfo>> {
        let sandbox = self.sandbox.clone();
        EnvdRequest::new("list processes", move |request_timeout| async move {
            let call = RpcCall::new("list processes", None, NotFoundMeans::Other).idempotent();
            let response: pb::ListResponse =
                sandbox.envd.unary(methods::LIST, pb::ListRequest {}, &call, request_timeout).await?;
            Ok(response
                .processes
                .into_iter()
                .map(|process| {
                    let config = process.config.unwrap_or_default();
                    ProcessInfo {
                        pid: process.pid,
                        tag: process.tag,
                        cmd: config.cmd,
                        args: config.args,
                        envs: config.envs,
                        cwd: config.cwd,
                    }
                })
                .collect())
        })
    }

    /// Kills a process (SIGKILL); `false` if there is no such process.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// sandbox.commands().kill(pid).await?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, pid: u32) -> EnvdRequest<bool> {
        kill_request(&self.sandbox, pid, "kill process")
    }

    /// Writes to a process's stdin (it must have been started with
    /// [`stdin(true)`](RunCommand::stdin)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let cat = sandbox.commands().run("cat").stdin(true).spawn().await?;
    /// sandbox.commands().send_stdin(cat.pid(), "hello\n").await?;
    /// sandbox.commands().close_stdin(cat.pid()).await?;
    /// assert_eq!(cat.wait().await?.stdout, "hello\n");
    /// # Ok(()) }
    /// ```
    pub fn send_stdin(&self, pid: u32, data: impl Into<Bytes>) -> EnvdRequest<()> {
        send_input_request(&self.sandbox, pid, Input::Stdin(data.into()), "send stdin")
    }

    /// Closes a process's stdin (EOF). Needs envd 0.5.2.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
    /// sandbox.commands().close_stdin(pid).await?;
    /// # Ok(()) }
    /// ```
    pub fn close_stdin(&self, pid: u32) -> EnvdRequest<()> {
        const OP: &str = "close stdin";
        let sandbox = self.sandbox.clone();
        EnvdRequest::new(OP, move |request_timeout| async move {
            let version = sandbox.envd.version();
            if !version.supports(EnvdFeature::CloseStdin) {
                return Err(Error::sandbox(
                    Stage::new(OP, Phase::Validate),
                    format!(
                        "closing stdin needs envd {} or later, but this sandbox runs envd {version}; rebuild \
                         the template to update it",
                        EnvdFeature::CloseStdin.min_version()
                    ),
                ));
            }
            let call = RpcCall::new(OP, None, NotFoundMeans::Other);
            let request = pb::CloseStdinRequest { process: selector(pid) };
            let _: pb::CloseStdinResponse =
                sandbox.envd.unary(methods::CLOSE_STDIN, request, &call, request_timeout).await?;
            Ok(())
        })
    }
}

/// SIGKILL to `pid` as a request taking a request timeout (commands and terminals).
pub(crate) fn kill_request(
    sandbox: &Arc<SandboxInner>,
    pid: u32,
    operation: &'static str,
) -> EnvdRequest<bool> {
    let envd = sandbox.envd.clone();
    EnvdRequest::new(operation, move |request_timeout| async move { kill(&envd, pid, request_timeout).await })
}

/// `input` to `pid` as a request taking a request timeout (stdin, terminal keys).
pub(crate) fn send_input_request(
    sandbox: &Arc<SandboxInner>,
    pid: u32,
    input: Input,
    operation: &'static str,
) -> EnvdRequest<()> {
    let sandbox = sandbox.clone();
    EnvdRequest::new(operation, move |request_timeout| async move {
        send_input(&sandbox, pid, input, operation, request_timeout).await
    })
}

async fn send_input(
    sandbox: &SandboxInner,
    pid: u32,
    input: Input,
    operation: &'static str,
    request_timeout: Option<Duration>,
) -> Result<()> {
    let call = RpcCall::new(operation, None, NotFoundMeans::Other);
    let request =
        pb::SendInputRequest { process: selector(pid), input: Some(pb::ProcessInput { input: Some(input) }) };
    let _: pb::SendInputResponse =
        sandbox.envd.unary(methods::SEND_INPUT, request, &call, request_timeout).await?;
    Ok(())
}

/// `commands.run` in the foreground, for helpers such as [`Git`](crate::Git).
impl CommandRunner for Commands {
    fn run(&self, request: CommandRequest) -> BoxFuture<'_, Result<CommandResult>> {
        let mut run = Commands::run(self, request.cmd).envs(request.envs);
        if let Some(user) = request.user {
            run = run.user(user);
        }
        if let Some(cwd) = request.cwd {
            run = run.cwd(cwd);
        }
        run = run.timeout(request.timeout.unwrap_or(Duration::ZERO));
        if let Some(timeout) = request.request_timeout {
            run = run.request_timeout(timeout);
        }
        Box::pin(run.send())
    }
}
