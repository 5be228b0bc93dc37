//! Running commands in a sandbox.
//!
//! This version of the SDK has the command result type and
//! [`CommandRunner`], the seam that higher-level helpers such as
//! [`Git`](crate::Git) run their command lines through. The `Commands`
//! handle itself (run, background processes, stdin, kill, connect) needs
//! envd's Connect RPC and implements `CommandRunner` once it lands.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::Result;

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
/// [`Error::CommandExit`](crate::Error::CommandExit) (carrying stdout,
/// stderr, the exit code and envd's error text) otherwise; transport and
/// other failures are the corresponding [`Error`](crate::Error)s.
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
