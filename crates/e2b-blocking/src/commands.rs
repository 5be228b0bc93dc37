//! Running commands in a sandbox: [`Commands`] (run in the foreground or
//! background, list, kill, stdin, reattach), the [`CommandHandle`] of a
//! running command, and [`CommandRunner`], the seam that [`Git`](crate::Git)
//! runs its command lines through.
//!
//! ```no_run
//! # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
//! let handle = sandbox.commands().run("sleep 1; echo done").spawn()?;
//! assert_eq!(handle.wait()?.stdout, "done\n");
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use e2b::{CommandOutput, CommandRequest, CommandResult, ProcessInfo, Result};
use futures::future::BoxFuture;

use crate::iter::OutputIter;
use crate::runtime;

pub use e2b::commands::DEFAULT_COMMAND_TIMEOUT;

/// Runs command lines in the foreground and waits for them, like
/// `commands.run` of the official SDKs; the blocking twin of
/// [`e2b::CommandRunner`].
///
/// Implementations return `Ok` when the command exits with code 0 and
/// [`Error::CommandExit`](crate::Error::CommandExit) (carrying stdout,
/// stderr, the exit code and envd's error text) otherwise.
///
/// # Example
///
/// A runner that executes commands on the local machine, e.g. to use
/// [`Git`](crate::Git) outside a sandbox:
///
/// ```no_run
/// use e2b_blocking::{CommandRequest, CommandResult, Error};
///
/// struct LocalShell;
///
/// impl e2b_blocking::CommandRunner for LocalShell {
///     fn run(&self, request: CommandRequest) -> Result<CommandResult, Error> {
///         let mut command = std::process::Command::new("/bin/bash");
///         command.arg("-c").arg(&request.cmd).envs(&request.envs);
///         if let Some(cwd) = &request.cwd {
///             command.current_dir(cwd);
///         }
///         let output = command.output().expect("bash runs");
///         let result = CommandResult {
///             stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
///             stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
///             exit_code: output.status.code().unwrap_or(-1),
///             error: None,
///         };
///         if result.exit_code == 0 {
///             Ok(result)
///         } else {
///             Err(Error::CommandExit {
///                 stdout: result.stdout,
///                 stderr: result.stderr,
///                 exit_code: result.exit_code,
///                 error: Some(format!("exit status {}", result.exit_code)),
///             })
///         }
///     }
/// }
///
/// let git = e2b_blocking::Git::new(std::sync::Arc::new(LocalShell));
/// # let _ = git;
/// ```
pub trait CommandRunner: Send + Sync {
    /// Runs `request` and waits for it to finish.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// use e2b_blocking::{CommandRequest, CommandRunner};
    ///
    /// let commands = sandbox.commands();
    /// let result = CommandRunner::run(&commands, CommandRequest::new("git --version").cwd("/tmp"))?;
    /// # let _ = result; Ok(()) }
    /// ```
    fn run(&self, request: CommandRequest) -> Result<CommandResult>;
}

/// A blocking [`CommandRunner`] as an async one: each command runs on a
/// thread of its own, outside any runtime, so that the runner may use this
/// crate's blocking calls.
pub(crate) struct AsyncRunner(pub(crate) Arc<dyn CommandRunner>);

impl e2b::CommandRunner for AsyncRunner {
    fn run(&self, request: CommandRequest) -> BoxFuture<'_, Result<CommandResult>> {
        let runner = self.0.clone();
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned =
                std::thread::Builder::new().name("e2b-blocking-runner".to_owned()).spawn(move || {
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run(request)));
                    let _ = tx.send(outcome);
                });
            if let Err(source) = spawned {
                return Err(e2b::Error::Io {
                    stage: e2b::Stage::new("run command", e2b::Phase::Send),
                    source,
                });
            }
            match rx.await {
                Ok(Ok(result)) => result,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => Err(e2b::Error::Sandbox {
                    stage: e2b::Stage::new("run command", e2b::Phase::Run),
                    message: "the command runner's thread ended without an answer".to_owned(),
                }),
            }
        })
    }
}

/// Commands in a sandbox; from [`Sandbox::commands`](crate::Sandbox::commands).
/// Cheap to clone.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").send()?;
/// assert_eq!(result.stdout, "42\n");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Commands {
    inner: e2b::Commands,
}

impl From<e2b::Commands> for Commands {
    fn from(inner: e2b::Commands) -> Self {
        Self { inner }
    }
}

impl Commands {
    /// Runs `cmd` with `/bin/bash -l -c`: [`send`](RunCommand::send) runs it
    /// in the foreground (a non-zero exit is
    /// [`Error::CommandExit`](crate::Error::CommandExit)),
    /// [`spawn`](RunCommand::spawn) in the background.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let result = sandbox
    ///     .commands()
    ///     .run("pip install requests")
    ///     .user("root")
    ///     .timeout(std::time::Duration::from_secs(300))
    ///     .on_stdout(|line| print!("{line}"))
    ///     .send()?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub fn run(&self, cmd: impl Into<String>) -> RunCommand {
        RunCommand { inner: self.inner.run(cmd) }
    }

    /// Reattaches to a running command (e.g. after
    /// [`disconnect`](CommandHandle::disconnect)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).send()?;
    /// let result = handle.wait()?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub fn connect(&self, pid: u32) -> ConnectCommand {
        ConnectCommand { inner: self.inner.connect(pid) }
    }

    /// The processes running in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// for process in sandbox.commands().list()? {
    ///     println!("{} {} {:?}", process.pid, process.cmd, process.args);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> Result<Vec<ProcessInfo>> {
        let commands = self.inner.clone();
        runtime::run("Commands::list", async move { commands.list().await })
    }

    /// Kills a process (SIGKILL); `false` if there is no such process.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// sandbox.commands().kill(pid)?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, pid: u32) -> Result<bool> {
        let commands = self.inner.clone();
        runtime::run("Commands::kill", async move { commands.kill(pid).await })
    }

    /// Writes to a process's stdin (it must have been started with
    /// [`stdin(true)`](RunCommand::stdin)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let cat = sandbox.commands().run("cat").stdin(true).spawn()?;
    /// sandbox.commands().send_stdin(cat.pid(), "hello\n")?;
    /// sandbox.commands().close_stdin(cat.pid())?;
    /// assert_eq!(cat.wait()?.stdout, "hello\n");
    /// # Ok(()) }
    /// ```
    pub fn send_stdin(&self, pid: u32, data: impl Into<Bytes>) -> Result<()> {
        let (commands, data) = (self.inner.clone(), data.into());
        runtime::run("Commands::send_stdin", async move { commands.send_stdin(pid, data).await })
    }

    /// Closes a process's stdin (EOF). Needs envd 0.5.2.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// sandbox.commands().close_stdin(pid)?;
    /// # Ok(()) }
    /// ```
    pub fn close_stdin(&self, pid: u32) -> Result<()> {
        let commands = self.inner.clone();
        runtime::run("Commands::close_stdin", async move { commands.close_stdin(pid).await })
    }
}

/// `commands.run` in the foreground, for helpers such as [`Git`](crate::Git).
impl CommandRunner for Commands {
    fn run(&self, request: CommandRequest) -> Result<CommandResult> {
        let commands = self.inner.clone();
        runtime::run("CommandRunner::run", async move { e2b::CommandRunner::run(&commands, request).await })
    }
}

/// A command to start; from [`Commands::run`]. Run it in the foreground
/// with [`send`](Self::send) or in the background with
/// [`spawn`](Self::spawn).
///
/// Callbacks run on the runtime's worker threads: keep them short, and do
/// not call blocking methods of this crate from them (those return an
/// error there; use [`CommandHandle::output`] instead).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let result = sandbox.commands().run("echo $GREETING").env("GREETING", "hi").cwd("/tmp").send()?;
/// assert_eq!(result.stdout, "hi\n");
/// # Ok(()) }
/// ```
#[must_use = "a command does nothing until it is sent or spawned"]
pub struct RunCommand {
    inner: e2b::RunCommand,
}

impl fmt::Debug for RunCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::RunCommand> for RunCommand {
    fn from(inner: e2b::RunCommand) -> Self {
        Self { inner }
    }
}

impl RunCommand {
    /// Sets an environment variable.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("echo $A").env("A", "1").send()?;
    /// # let _ = r; Ok(()) }
    /// ```
    pub fn env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { inner: self.inner.env(name, value) }
    }

    /// Sets several environment variables.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("env").envs([("A", "1"), ("B", "2")]).send()?;
    /// # let _ = r; Ok(()) }
    /// ```
    pub fn envs<I, K, V>(self, envs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { inner: self.inner.envs(envs) }
    }

    /// Runs as this user.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("whoami").user("root").send()?;
    /// assert_eq!(r.stdout, "root\n");
    /// # Ok(()) }
    /// ```
    pub fn user(self, user: impl Into<String>) -> Self {
        Self { inner: self.inner.user(user) }
    }

    /// Runs in this directory.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("pwd").cwd("/tmp").send()?;
    /// # let _ = r; Ok(()) }
    /// ```
    pub fn cwd(self, cwd: impl Into<String>) -> Self {
        Self { inner: self.inner.cwd(cwd) }
    }

    /// Keep stdin open for [`Commands::send_stdin`] (default: closed).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let cat = sandbox.commands().run("cat").stdin(true).spawn()?;
    /// # let _ = cat; Ok(()) }
    /// ```
    pub fn stdin(self, stdin: bool) -> Self {
        Self { inner: self.inner.stdin(stdin) }
    }

    /// How long the command may run (default 60 s; `Duration::ZERO` for no
    /// limit). envd kills it when the time is up.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("make").timeout(std::time::Duration::from_secs(600)).send()?;
    /// # let _ = r; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How long to wait for envd to start the command.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let r = sandbox.commands().run("true").request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = r; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Called with stdout text as it arrives (split at UTF-8 boundaries), on
    /// a worker thread of the runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.commands().run("ls -la").on_stdout(|text| print!("{text}")).send()?;
    /// # Ok(()) }
    /// ```
    pub fn on_stdout(self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        Self { inner: self.inner.on_stdout(callback) }
    }

    /// Called with stderr text as it arrives, on a worker thread of the
    /// runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.commands().run("ls /nope").on_stderr(|text| eprint!("{text}")).send().ok();
    /// # Ok(()) }
    /// ```
    pub fn on_stderr(self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        Self { inner: self.inner.on_stderr(callback) }
    }

    /// Starts the command in the background.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let server = sandbox.commands().run("python3 -m http.server 8000").spawn()?;
    /// println!("serving as pid {}", server.pid());
    /// # Ok(()) }
    /// ```
    pub fn spawn(self) -> Result<CommandHandle> {
        runtime::run("RunCommand::spawn", self.inner.spawn()).map(CommandHandle::new)
    }

    /// Runs the command in the foreground and waits for it. A non-zero exit
    /// is [`Error::CommandExit`](crate::Error::CommandExit).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let result = sandbox.commands().run("uname -a").send()?;
    /// println!("{}", result.stdout);
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<CommandResult> {
        runtime::run("RunCommand::send", self.inner.send())
    }
}

/// Reattaches to a running command; from [`Commands::connect`]. Finish
/// with [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
/// let handle = sandbox.commands().connect(pid).timeout(std::time::Duration::ZERO).send()?;
/// # let _ = handle; Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct ConnectCommand {
    inner: e2b::ConnectCommand,
}

impl fmt::Debug for ConnectCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::ConnectCommand> for ConnectCommand {
    fn from(inner: e2b::ConnectCommand) -> Self {
        Self { inner }
    }
}

impl ConnectCommand {
    /// How long to follow the command (default 60 s; `Duration::ZERO` for
    /// ever).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).timeout(std::time::Duration::from_secs(600)).send()?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How long to wait for envd to confirm.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Called with stdout text from now on, on a worker thread of the
    /// runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).on_stdout(|text| print!("{text}")).send()?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn on_stdout(self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        Self { inner: self.inner.on_stdout(callback) }
    }

    /// Called with stderr text from now on, on a worker thread of the
    /// runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).on_stderr(|text| eprint!("{text}")).send()?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn on_stderr(self, callback: impl FnMut(&str) + Send + 'static) -> Self {
        Self { inner: self.inner.on_stderr(callback) }
    }

    /// Attaches.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().connect(pid).send()?;
    /// # let _ = handle; Ok(()) }
    /// ```
    pub fn send(self) -> Result<CommandHandle> {
        runtime::run("ConnectCommand::send", self.inner.send()).map(CommandHandle::new)
    }
}

/// A running command started with [`RunCommand::spawn`] or attached with
/// [`Commands::connect`].
///
/// Output is collected as it arrives ([`stdout`](Self::stdout),
/// [`stderr`](Self::stderr)), passed to the callbacks given when starting,
/// and available once as an iterator from [`output`](Self::output).
/// Dropping the handle stops reading; the command keeps running.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let handle = sandbox.commands().run("for i in 1 2 3; do echo $i; sleep 1; done").spawn()?;
/// for chunk in handle.output() {
///     println!("{:?}", chunk?);
/// }
/// let result = handle.wait()?;
/// assert_eq!(result.stdout, "1\n2\n3\n");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CommandHandle {
    inner: Arc<e2b::CommandHandle>,
}

impl fmt::Debug for CommandHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl CommandHandle {
    fn new(inner: e2b::CommandHandle) -> Self {
        Self { inner: Arc::new(inner) }
    }

    /// The process ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("sleep 10").spawn()?;
    /// println!("pid {}", handle.pid());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Everything written to stdout so far.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("echo hi").spawn()?;
    /// let _ = handle.wait();
    /// assert_eq!(handle.stdout(), "hi\n");
    /// # Ok(()) }
    /// ```
    pub fn stdout(&self) -> String {
        self.inner.stdout()
    }

    /// Everything written to stderr so far.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("echo oops >&2").spawn()?;
    /// let _ = handle.wait();
    /// assert_eq!(handle.stderr(), "oops\n");
    /// # Ok(()) }
    /// ```
    pub fn stderr(&self) -> String {
        self.inner.stderr()
    }

    /// The exit code, once the command has ended (-1 after a signal).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("exit 3").spawn()?;
    /// let _ = handle.wait();
    /// assert_eq!(handle.exit_code(), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        self.inner.exit_code()
    }

    /// envd's description of a failed end, e.g. `"exit status 3"`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("exit 3").spawn()?;
    /// let _ = handle.wait();
    /// assert_eq!(handle.error().as_deref(), Some("exit status 3"));
    /// # Ok(()) }
    /// ```
    pub fn error(&self) -> Option<String> {
        self.inner.error()
    }

    /// Waits for the command to end. A non-zero exit code is
    /// [`Error::CommandExit`](crate::Error::CommandExit) (with stdout, stderr,
    /// code and error); a failed stream is the mapped RPC error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("make test").cwd("/home/user/project").spawn()?;
    /// match handle.wait() {
    ///     Ok(result) => println!("passed:\n{}", result.stdout),
    ///     Err(e2b_blocking::Error::CommandExit { exit_code, stderr, .. }) => println!("failed ({exit_code}):\n{stderr}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) -> Result<CommandResult> {
        let handle = self.inner.clone();
        runtime::run("CommandHandle::wait", async move { handle.wait().await })
    }

    /// Kills the command (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("sleep 1000").spawn()?;
    /// handle.kill()?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> Result<bool> {
        let handle = self.inner.clone();
        runtime::run("CommandHandle::kill", async move { handle.kill().await })
    }

    /// Stops following the command without stopping it; reattach with
    /// [`Commands::connect`]. Needs no runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("python3 -m http.server").spawn()?;
    /// let pid = handle.pid();
    /// handle.disconnect();
    /// let again = sandbox.commands().connect(pid).send()?;
    /// # let _ = again; Ok(()) }
    /// ```
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// The output as an iterator of chunks that waits for each one and
    /// ends with the command: first what arrived before the call (stdout,
    /// then stderr), then each chunk in arrival order. Only the first call
    /// gets the chunks; later calls get an empty iterator.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let handle = sandbox.commands().run("ls -la").spawn()?;
    /// let chunks = handle.output().collect::<Result<Vec<e2b_blocking::CommandOutput>, _>>()?;
    /// # let _ = chunks; Ok(()) }
    /// ```
    pub fn output(&self) -> OutputIter<CommandOutput> {
        OutputIter::new(self.inner.output(), "CommandHandle::output")
    }
}
