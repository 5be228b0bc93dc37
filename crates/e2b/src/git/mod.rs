//! [`Git`]: git in a sandbox, run as shell command lines through a
//! [`CommandRunner`], with the command lines, credential handling and output
//! parsing of E2B's official SDKs.
//!
//! Every method returns a request builder; the options every request takes
//! (environment, user, working directory, timeouts) are shared, the rest are
//! specific. Await the builder to run it. Commands run with
//! `GIT_TERMINAL_PROMPT=0` (overridable), so git never waits for a password;
//! a non-zero exit is [`Error::CommandExit`] unless a method says otherwise.
//!
//! ```no_run
//! # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
//! let git = sandbox.git();
//! git.clone_repo("https://github.com/e2b-dev/e2b.git").path("/home/user/e2b").depth(1).await?;
//! let status = git.status("/home/user/e2b").await?;
//! println!("on {:?}", status.current_branch);
//! # Ok(()) }
//! ```

mod command;
mod credentials;
mod parse;

use std::collections::HashMap;
use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tracing::Instrument as _;

pub(crate) use command::quote;
pub use command::{ConfigScope, ResetMode};
pub use parse::{GitBranches, GitChange, GitFileStatus, GitStatus};

use crate::commands::{CommandRequest, CommandResult, CommandRunner};
use crate::error::{Error, Result};
use command::{CloneSpec, git_command, invalid};
use credentials::{auth_error, is_auth_failure, is_missing_upstream, upstream_error, with_credentials};

/// Git over a [`CommandRunner`]. Cheap to clone.
///
/// # Example
///
/// ```no_run
/// # async fn demo(runner: std::sync::Arc<dyn e2b::CommandRunner>) -> Result<(), e2b::Error> {
/// let git = e2b::Git::new(runner);
/// git.clone_repo("https://github.com/e2b-dev/e2b.git").path("/home/user/e2b").depth(1).await?;
/// let status = git.status("/home/user/e2b").await?;
/// assert!(status.is_clean());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Git {
    runner: Arc<dyn CommandRunner>,
}

impl fmt::Debug for Git {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Git").finish_non_exhaustive()
    }
}

/// The options every git request takes.
#[derive(Clone, Debug, Default)]
struct GitOptions {
    envs: HashMap<String, String>,
    user: Option<String>,
    cwd: Option<String>,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

impl Git {
    /// Git that runs its command lines through `runner`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(runner: std::sync::Arc<dyn e2b::CommandRunner>) {
    /// let git = e2b::Git::new(runner);
    /// # let _ = git;
    /// # }
    /// ```
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self { runner }
    }

    async fn run_shell(
        &self,
        operation: &'static str,
        cmd: String,
        options: &GitOptions,
    ) -> Result<CommandResult> {
        let mut envs: HashMap<String, String> = HashMap::from([("GIT_TERMINAL_PROMPT".into(), "0".into())]);
        envs.extend(options.envs.clone());
        let mut request = CommandRequest::new(cmd);
        request.envs = envs;
        request.user = options.user.clone();
        request.cwd = options.cwd.clone();
        request.timeout = options.timeout;
        request.request_timeout = options.request_timeout;
        let span = tracing::info_span!("e2b.git", operation);
        self.runner.run(request).instrument(span).await
    }

    async fn run_git(
        &self,
        operation: &'static str,
        args: &[String],
        repo: Option<&str>,
        options: &GitOptions,
    ) -> Result<CommandResult> {
        self.run_shell(operation, git_command(args, repo), options).await
    }

    /// `git clone <url> [--branch B --single-branch] [--depth N] [path]`.
    ///
    /// With [`credentials`](CloneRequest::credentials) the URL carries them
    /// for the clone and `origin` is reset to the bare URL afterwards unless
    /// [`dangerously_store_credentials`](CloneRequest::dangerously_store_credentials).
    /// Authentication failures are [`Error::GitAuth`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/org/private.git")
    ///     .path("/home/user/private")
    ///     .branch("main")
    ///     .credentials("x-access-token", "ghp_…")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "clone")]
    pub fn clone_repo(&self, url: impl Into<String>) -> CloneRequest {
        CloneRequest::new(self, url.into())
    }

    /// `git init [--initial-branch B] [--bare] <path>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.init("/home/user/repo").initial_branch("main").await?;
    /// # Ok(()) }
    /// ```
    pub fn init(&self, path: impl Into<String>) -> InitRequest {
        InitRequest::new(self, path.into())
    }

    /// `git -C <path> remote add [-f] <name> <url>`; with
    /// [`overwrite`](RemoteAddRequest::overwrite) an existing remote's URL is
    /// replaced instead.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.remote_add("/home/user/repo", "origin", "https://github.com/o/r.git").fetch(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn remote_add(
        &self,
        path: impl Into<String>,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> RemoteAddRequest {
        RemoteAddRequest::new(self, path.into(), name.into(), url.into())
    }

    /// The URL of a remote, or `None` when there is no such remote.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// if let Some(url) = git.remote_get("/home/user/repo", "origin").await? {
    ///     println!("origin is {url}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn remote_get(&self, path: impl Into<String>, name: impl Into<String>) -> RemoteGetRequest {
        RemoteGetRequest::new(self, path.into(), name.into())
    }

    /// The repository's status (`git status --porcelain=1 -b`), parsed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let status = git.status("/home/user/repo").await?;
    /// println!("{} staged", status.staged_count());
    /// # Ok(()) }
    /// ```
    pub fn status(&self, path: impl Into<String>) -> StatusRequest {
        StatusRequest::new(self, path.into())
    }

    /// The local branches and the current one.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let branches = git.branches("/home/user/repo").await?;
    /// # let _ = branches; Ok(()) }
    /// ```
    pub fn branches(&self, path: impl Into<String>) -> BranchesRequest {
        BranchesRequest::new(self, path.into())
    }

    /// `git checkout -b <branch>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.create_branch("/home/user/repo", "feature/x").await?;
    /// # Ok(()) }
    /// ```
    pub fn create_branch(&self, path: impl Into<String>, branch: impl Into<String>) -> CreateBranchRequest {
        CreateBranchRequest::new(self, path.into(), branch.into())
    }

    /// `git checkout <branch>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.checkout_branch("/home/user/repo", "main").await?;
    /// # Ok(()) }
    /// ```
    pub fn checkout_branch(
        &self,
        path: impl Into<String>,
        branch: impl Into<String>,
    ) -> CheckoutBranchRequest {
        CheckoutBranchRequest::new(self, path.into(), branch.into())
    }

    /// `git branch -d <branch>` (`-D` with [`force`](DeleteBranchRequest::force)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.delete_branch("/home/user/repo", "old").force(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn delete_branch(&self, path: impl Into<String>, branch: impl Into<String>) -> DeleteBranchRequest {
        DeleteBranchRequest::new(self, path.into(), branch.into())
    }

    /// `git add -A` by default, `git add .` without
    /// [`all`](AddRequest::all), or `git add -- <files>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.add("/home/user/repo").files(["README.md"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn add(&self, path: impl Into<String>) -> AddRequest {
        AddRequest::new(self, path.into())
    }

    /// `git [-c user.name=…] [-c user.email=…] commit -m <message> [--allow-empty]`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/home/user/repo", "Initial commit").author("Bot", "bot@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn commit(&self, path: impl Into<String>, message: impl Into<String>) -> CommitRequest {
        CommitRequest::new(self, path.into(), message.into())
    }

    /// `git reset [--<mode>] [target] [-- paths…]`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.reset("/home/user/repo").mode(e2b::ResetMode::Hard).target("HEAD~1").await?;
    /// # Ok(()) }
    /// ```
    pub fn reset(&self, path: impl Into<String>) -> ResetRequest {
        ResetRequest::new(self, path.into())
    }

    /// `git restore [--worktree] [--staged] [--source S] -- <paths…>`:
    /// work tree only by default; [`staged`](RestoreRequest::staged) alone
    /// restores the index only.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.restore("/home/user/repo", ["src/main.rs"]).staged(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn restore<I, S>(&self, path: impl Into<String>, paths: I) -> RestoreRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RestoreRequest::new(self, path.into(), paths.into_iter().map(Into::into).collect())
    }

    /// `git push [--set-upstream] [remote] [branch]`. With credentials, the
    /// remote's URL carries them for the push only and is restored after.
    /// A missing upstream is [`Error::GitUpstream`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/home/user/repo").remote("origin").branch("main").credentials("x-access-token", "ghp_…").await?;
    /// # Ok(()) }
    /// ```
    pub fn push(&self, path: impl Into<String>) -> PushRequest {
        PushRequest::new(self, path.into())
    }

    /// `git pull [remote] [branch]`. Without a remote and branch the
    /// current branch must track an upstream ([`Error::GitUpstream`]
    /// otherwise).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.pull("/home/user/repo").await?;
    /// # Ok(()) }
    /// ```
    pub fn pull(&self, path: impl Into<String>) -> PullRequest {
        PullRequest::new(self, path.into())
    }

    /// `git config --global|--local|--system <key> <value>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.set_config("pull.rebase", "true").await?;
    /// git.set_config("core.autocrlf", "false").scope(e2b::ConfigScope::Local).path("/home/user/repo").await?;
    /// # Ok(()) }
    /// ```
    pub fn set_config(&self, key: impl Into<String>, value: impl Into<String>) -> SetConfigRequest {
        SetConfigRequest::new(self, key.into(), value.into())
    }

    /// A config value, or `None` when it is not set in the scope.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let name = git.get_config("user.name").await?;
    /// # let _ = name; Ok(()) }
    /// ```
    pub fn get_config(&self, key: impl Into<String>) -> GetConfigRequest {
        GetConfigRequest::new(self, key.into())
    }

    /// Stores credentials in git's global credential store (`credential.helper
    /// store`). They persist in the sandbox where any process can read them;
    /// prefer short-lived tokens.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.dangerously_authenticate("x-access-token", "ghp_…").host("github.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn dangerously_authenticate(
        &self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> AuthenticateRequest {
        AuthenticateRequest::new(self, username.into(), password.into())
    }

    /// Sets `user.name` and `user.email`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.configure_user("Bot", "bot@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn configure_user(&self, name: impl Into<String>, email: impl Into<String>) -> ConfigureUserRequest {
        ConfigureUserRequest::new(self, name.into(), email.into())
    }
}

/// Defines a request builder: the struct, the options shared by all git
/// requests, and `IntoFuture` through its `send`.
macro_rules! git_request {
    ($(#[$meta:meta])* $name:ident => $output:ty { $($field:ident : $ty:ty = $init:expr),* $(,)? } ($($arg:ident : $argty:ty),*)) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[must_use = "a git request does nothing until it is awaited"]
        pub struct $name {
            git: Git,
            options: GitOptions,
            $($arg: $argty,)*
            $($field: $ty,)*
        }

        impl $name {
            fn new(git: &Git, $($arg: $argty),*) -> Self {
                Self { git: git.clone(), options: GitOptions::default(), $($arg,)* $($field: $init,)* }
            }

            /// Sets an environment variable for the git command (overriding
            /// the default `GIT_TERMINAL_PROMPT=0` if named so).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
            /// git.status("/home/user/repo").env("GIT_TRACE", "1").await?;
            /// # Ok(()) }
            /// ```
            pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.options.envs.insert(name.into(), value.into());
                self
            }

            /// Runs git as this user.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
            /// git.status("/root/repo").user("root").await?;
            /// # Ok(()) }
            /// ```
            pub fn user(mut self, user: impl Into<String>) -> Self {
                self.options.user = Some(user.into());
                self
            }

            /// Runs git in this working directory.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
            /// git.clone_repo("https://github.com/o/r.git").cwd("/home/user/src").await?;
            /// # Ok(()) }
            /// ```
            pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
                self.options.cwd = Some(cwd.into());
                self
            }

            /// Limits how long each git command may run (default: no limit).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
            /// git.pull("/home/user/repo").timeout(std::time::Duration::from_secs(120)).await?;
            /// # Ok(()) }
            /// ```
            pub fn timeout(mut self, timeout: Duration) -> Self {
                self.options.timeout = Some(timeout);
                self
            }

            /// Limits how long starting each git command may take.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
            /// git.status("/r").request_timeout(std::time::Duration::from_secs(10)).await?;
            /// # Ok(()) }
            /// ```
            pub fn request_timeout(mut self, timeout: Duration) -> Self {
                self.options.request_timeout = Some(timeout);
                self
            }
        }

        impl IntoFuture for $name {
            type Output = Result<$output>;
            type IntoFuture = BoxFuture<'static, Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

git_request! {
    /// `git clone`; from [`Git::clone_repo`].
    CloneRequest => CommandResult {
        path: Option<String> = None,
        branch: Option<String> = None,
        depth: Option<u32> = None,
        username: Option<String> = None,
        password: Option<String> = None,
        store_credentials: bool = false,
    } (url: String)
}

impl CloneRequest {
    /// Clone into this directory (default: derived from the URL).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/r.git").path("/home/user/r").await?;
    /// # Ok(()) }
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Clone only this branch.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/r.git").branch("release").await?;
    /// # Ok(()) }
    /// ```
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// A shallow clone of this many commits.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/r.git").depth(1).await?;
    /// # Ok(()) }
    /// ```
    pub fn depth(mut self, depth: u32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// HTTP(S) credentials for the clone (a token usually goes in the
    /// password).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/private.git").credentials("x-access-token", "ghp_…").await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Only a username (a password alone is an error; a username alone is
    /// not used for the URL).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/r.git").username("me").await?;
    /// # Ok(()) }
    /// ```
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Only a password or token; needs a username too.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://github.com/o/r.git").username("me").password("tok").await?;
    /// # Ok(()) }
    /// ```
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Keep the credentials in the cloned repository's `origin` URL.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.clone_repo("https://h/o/r.git").credentials("u", "t").dangerously_store_credentials(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn dangerously_store_credentials(mut self, store: bool) -> Self {
        self.store_credentials = store;
        self
    }

    /// Runs the clone.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let result = git.clone_repo("https://github.com/o/r.git").send().await?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        const OP: &str = "git clone";
        let username = self.username.as_deref().filter(|u| !u.is_empty());
        let password = self.password.as_deref().filter(|p| !p.is_empty());
        if password.is_some() && username.is_none() {
            return Err(invalid(OP, "Username is required when using a password or token for git clone."));
        }
        let plan = command::clone_plan(&CloneSpec {
            url: &self.url,
            path: self.path.as_deref(),
            branch: self.branch.as_deref(),
            depth: self.depth,
            username,
            password,
            store_credentials: self.store_credentials,
        })?;
        let attempt = async {
            let result = self.git.run_git(OP, &plan.args, None, &self.options).await?;
            if let Some((repo, url)) = &plan.strip {
                self.git
                    .run_git(OP, &command::remote_set_url_args("origin", url), Some(repo), &self.options)
                    .await?;
            }
            Ok(result)
        };
        attempt.await.map_err(|err| {
            if is_auth_failure(&err) {
                auth_error("clone", username.is_some() && password.is_none(), err)
            } else {
                err
            }
        })
    }
}

git_request! {
    /// `git init`; from [`Git::init`].
    InitRequest => CommandResult { bare: bool = false, initial_branch: Option<String> = None } (path: String)
}

impl InitRequest {
    /// Create a bare repository.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.init("/srv/repo.git").bare(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn bare(mut self, bare: bool) -> Self {
        self.bare = bare;
        self
    }

    /// The name of the first branch.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.init("/home/user/repo").initial_branch("trunk").await?;
    /// # Ok(()) }
    /// ```
    pub fn initial_branch(mut self, branch: impl Into<String>) -> Self {
        self.initial_branch = Some(branch.into());
        self
    }

    /// Runs `git init`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.init("/home/user/repo").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::init_args(&self.path, self.bare, self.initial_branch.as_deref());
        self.git.run_git("git init", &args, None, &self.options).await
    }
}

git_request! {
    /// `git remote add`; from [`Git::remote_add`].
    RemoteAddRequest => CommandResult { fetch: bool = false, overwrite: bool = false } (path: String, name: String, url: String)
}

impl RemoteAddRequest {
    /// Fetch from the remote after adding it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.remote_add("/r", "upstream", "https://h/u.git").fetch(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn fetch(mut self, fetch: bool) -> Self {
        self.fetch = fetch;
        self
    }

    /// If the remote exists, set its URL instead of failing.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.remote_add("/r", "origin", "https://h/new.git").overwrite(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.remote_add("/r", "origin", "https://h/r.git").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        const OP: &str = "git remote add";
        if self.overwrite {
            let cmd = command::remote_add_overwrite_command(&self.path, &self.name, &self.url, self.fetch)?;
            return self.git.run_shell(OP, cmd, &self.options).await;
        }
        let args = command::remote_add_args(&self.name, &self.url, self.fetch)?;
        self.git.run_git(OP, &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git remote get-url`; from [`Git::remote_get`].
    RemoteGetRequest => Option<String> {} (path: String, name: String)
}

impl RemoteGetRequest {
    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let url = git.remote_get("/r", "origin").send().await?;
    /// # let _ = url; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Option<String>> {
        let cmd = command::remote_get_command(&self.path, &self.name)?;
        let result = self.git.run_shell("git remote get-url", cmd, &self.options).await?;
        Ok(Some(result.stdout.trim().to_owned()).filter(|url| !url.is_empty()))
    }
}

git_request! {
    /// `git status`; from [`Git::status`].
    StatusRequest => GitStatus {} (path: String)
}

impl StatusRequest {
    /// Runs it and parses the output.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let status = git.status("/r").send().await?;
    /// # let _ = status; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<GitStatus> {
        let result =
            self.git.run_git("git status", &command::status_args(), Some(&self.path), &self.options).await?;
        Ok(parse::parse_status(&result.stdout))
    }
}

git_request! {
    /// `git branch`; from [`Git::branches`].
    BranchesRequest => GitBranches {} (path: String)
}

impl BranchesRequest {
    /// Runs it and parses the output.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let branches = git.branches("/r").send().await?;
    /// # let _ = branches; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<GitBranches> {
        let result = self
            .git
            .run_git("git branch", &command::branches_args(), Some(&self.path), &self.options)
            .await?;
        Ok(parse::parse_branches(&result.stdout))
    }
}

git_request! {
    /// `git checkout -b`; from [`Git::create_branch`].
    CreateBranchRequest => CommandResult {} (path: String, branch: String)
}

impl CreateBranchRequest {
    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.create_branch("/r", "topic").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::create_branch_args(&self.branch);
        self.git.run_git("git checkout -b", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git checkout`; from [`Git::checkout_branch`].
    CheckoutBranchRequest => CommandResult {} (path: String, branch: String)
}

impl CheckoutBranchRequest {
    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.checkout_branch("/r", "main").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::checkout_branch_args(&self.branch);
        self.git.run_git("git checkout", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git branch -d`; from [`Git::delete_branch`].
    DeleteBranchRequest => CommandResult { force: bool = false } (path: String, branch: String)
}

impl DeleteBranchRequest {
    /// Delete even if unmerged (`-D`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.delete_branch("/r", "wip").force(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.delete_branch("/r", "merged").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::delete_branch_args(&self.branch, self.force);
        self.git.run_git("git branch -d", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git add`; from [`Git::add`].
    AddRequest => CommandResult { files: Vec<String> = Vec::new(), all: bool = true } (path: String)
}

impl AddRequest {
    /// Stage only these files.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.add("/r").files(["a.txt", "dir/b.txt"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn files<I: IntoIterator<Item = S>, S: Into<String>>(mut self, files: I) -> Self {
        self.files = files.into_iter().map(Into::into).collect();
        self
    }

    /// Without files: stage everything including deletions (`-A`, the
    /// default) or only the current directory's changes (`.`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.add("/r").all(false).await?;
    /// # Ok(()) }
    /// ```
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.add("/r").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::add_args(&self.files, self.all);
        self.git.run_git("git add", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git commit`; from [`Git::commit`].
    CommitRequest => CommandResult {
        author_name: Option<String> = None,
        author_email: Option<String> = None,
        allow_empty: bool = false,
    } (path: String, message: String)
}

impl CommitRequest {
    /// Commit as this author (for this commit only).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/r", "msg").author("Ann", "ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn author(mut self, name: impl Into<String>, email: impl Into<String>) -> Self {
        self.author_name = Some(name.into());
        self.author_email = Some(email.into());
        self
    }

    /// Only the author's name.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/r", "msg").author_name("Ann").await?;
    /// # Ok(()) }
    /// ```
    pub fn author_name(mut self, name: impl Into<String>) -> Self {
        self.author_name = Some(name.into());
        self
    }

    /// Only the author's email.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/r", "msg").author_email("ann@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn author_email(mut self, email: impl Into<String>) -> Self {
        self.author_email = Some(email.into());
        self
    }

    /// Allow a commit without changes.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/r", "checkpoint").allow_empty(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.commit("/r", "msg").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::commit_args(
            &self.message,
            self.author_name.as_deref(),
            self.author_email.as_deref(),
            self.allow_empty,
        );
        self.git.run_git("git commit", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git reset`; from [`Git::reset`].
    ResetRequest => CommandResult {
        mode: Option<ResetMode> = None,
        target: Option<String> = None,
        paths: Vec<String> = Vec::new(),
    } (path: String)
}

impl ResetRequest {
    /// The reset mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.reset("/r").mode(e2b::ResetMode::Soft).target("HEAD~1").await?;
    /// # Ok(()) }
    /// ```
    pub fn mode(mut self, mode: ResetMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The commit to reset to.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.reset("/r").target("origin/main").await?;
    /// # Ok(()) }
    /// ```
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Reset only these paths.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.reset("/r").paths(["a.txt"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.reset("/r").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::reset_args(self.mode, self.target.as_deref(), &self.paths);
        self.git.run_git("git reset", &args, Some(&self.path), &self.options).await
    }
}

git_request! {
    /// `git restore`; from [`Git::restore`].
    RestoreRequest => CommandResult {
        staged: Option<bool> = None,
        worktree: Option<bool> = None,
        source: Option<String> = None,
    } (path: String, paths: Vec<String>)
}

impl RestoreRequest {
    /// Restore the index.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.restore("/r", ["a.txt"]).staged(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn staged(mut self, staged: bool) -> Self {
        self.staged = Some(staged);
        self
    }

    /// Restore the work tree.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.restore("/r", ["a.txt"]).staged(true).worktree(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn worktree(mut self, worktree: bool) -> Self {
        self.worktree = Some(worktree);
        self
    }

    /// Restore from this commit.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.restore("/r", ["a.txt"]).source("HEAD~3").await?;
    /// # Ok(()) }
    /// ```
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.restore("/r", ["a.txt"]).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        let args = command::restore_args(&self.paths, self.staged, self.worktree, self.source.as_deref())?;
        self.git.run_git("git restore", &args, Some(&self.path), &self.options).await
    }
}

/// Both halves of an HTTP(S) credential, when both were given.
fn credential_pair<'a>(
    operation: &'static str,
    action: &str,
    username: Option<&'a str>,
    password: Option<&'a str>,
) -> Result<Option<(&'a str, &'a str)>> {
    let username = username.filter(|u| !u.is_empty());
    let password = password.filter(|p| !p.is_empty());
    match (username, password) {
        (None, Some(_)) => Err(invalid(
            operation,
            format!("Username is required when using a password or token for git {action}."),
        )),
        (Some(username), Some(password)) => Ok(Some((username, password))),
        _ => Ok(None),
    }
}

impl Git {
    /// The remote to put credentials on: the named one, or the only one.
    async fn resolve_remote(
        &self,
        operation: &'static str,
        repo: &str,
        remote: Option<&str>,
        options: &GitOptions,
    ) -> Result<String> {
        if let Some(remote) = remote.filter(|r| !r.is_empty()) {
            return Ok(remote.to_owned());
        }
        let result = self.run_git(operation, &["remote".to_owned()], Some(repo), options).await?;
        let remotes: Vec<&str> = result.stdout.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        match remotes.as_slice() {
            [only] => Ok((*only).to_owned()),
            _ => Err(invalid(
                operation,
                "Remote is required when using username/password and the repository has multiple remotes.",
            )),
        }
    }

    /// Runs `args` with the remote's URL temporarily carrying credentials,
    /// restoring the URL whatever happens.
    async fn with_remote_credentials(
        &self,
        operation: &'static str,
        repo: &str,
        remote: &str,
        (username, password): (&str, &str),
        args: &[String],
        options: &GitOptions,
    ) -> Result<CommandResult> {
        let original =
            self.run_git(operation, &command::remote_get_url_args(remote), Some(repo), options).await?;
        let original = original.stdout.trim().to_owned();
        if original.is_empty() {
            return Err(invalid(operation, format!("Remote \"{remote}\" URL not found in repository.")));
        }
        let with_creds = with_credentials(operation, &original, username, password)?;
        self.run_git(operation, &command::remote_set_url_args(remote, &with_creds), Some(repo), options)
            .await?;
        let outcome = self.run_git(operation, args, Some(repo), options).await;
        let restored = self
            .run_git(operation, &command::remote_set_url_args(remote, &original), Some(repo), options)
            .await;
        let result = outcome?;
        restored?;
        Ok(result)
    }
}

git_request! {
    /// `git push`; from [`Git::push`].
    PushRequest => CommandResult {
        remote: Option<String> = None,
        branch: Option<String> = None,
        set_upstream: bool = true,
        username: Option<String> = None,
        password: Option<String> = None,
    } (path: String)
}

impl PushRequest {
    /// The remote to push to.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/r").remote("origin").await?;
    /// # Ok(()) }
    /// ```
    pub fn remote(mut self, remote: impl Into<String>) -> Self {
        self.remote = Some(remote.into());
        self
    }

    /// The branch to push.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/r").remote("origin").branch("feature").await?;
    /// # Ok(()) }
    /// ```
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Whether to set the upstream when a remote is named (default true).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/r").remote("origin").set_upstream(false).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_upstream(mut self, set: bool) -> Self {
        self.set_upstream = set;
        self
    }

    /// HTTP(S) credentials for this push only.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/r").credentials("x-access-token", "ghp_…").await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Runs the push.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.push("/r").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        const OP: &str = "git push";
        let creds = credential_pair(OP, "push", self.username.as_deref(), self.password.as_deref())?;
        let (git, options, repo) = (&self.git, &self.options, self.path.as_str());
        if let Some(creds) = creds {
            let remote = git.resolve_remote(OP, repo, self.remote.as_deref(), options).await?;
            let args = command::push_args(Some(&remote), self.branch.as_deref(), self.set_upstream);
            return git.with_remote_credentials(OP, repo, &remote, creds, &args, options).await;
        }
        let args = command::push_args(self.remote.as_deref(), self.branch.as_deref(), self.set_upstream);
        let had_username = self.username.as_deref().is_some_and(|u| !u.is_empty());
        git.run_git(OP, &args, Some(repo), options)
            .await
            .map_err(|err| translate_remote_error("push", had_username, err))
    }
}

/// Push/pull failures without credentials: authentication, then upstream.
fn translate_remote_error(action: &str, had_username: bool, err: Error) -> Error {
    if is_auth_failure(&err) {
        auth_error(action, had_username, err)
    } else if is_missing_upstream(&err) {
        upstream_error(action, Some(err))
    } else {
        err
    }
}

git_request! {
    /// `git pull`; from [`Git::pull`].
    PullRequest => CommandResult {
        remote: Option<String> = None,
        branch: Option<String> = None,
        username: Option<String> = None,
        password: Option<String> = None,
    } (path: String)
}

impl PullRequest {
    /// The remote to pull from.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.pull("/r").remote("upstream").branch("main").await?;
    /// # Ok(()) }
    /// ```
    pub fn remote(mut self, remote: impl Into<String>) -> Self {
        self.remote = Some(remote.into());
        self
    }

    /// The branch to pull.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.pull("/r").remote("origin").branch("main").await?;
    /// # Ok(()) }
    /// ```
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// HTTP(S) credentials for this pull only.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.pull("/r").credentials("x-access-token", "ghp_…").await?;
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Runs the pull.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.pull("/r").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        const OP: &str = "git pull";
        let creds = credential_pair(OP, "pull", self.username.as_deref(), self.password.as_deref())?;
        let (git, options, repo) = (&self.git, &self.options, self.path.as_str());
        let remote = self.remote.as_deref().filter(|r| !r.is_empty());
        let branch = self.branch.as_deref().filter(|b| !b.is_empty());
        if remote.is_none() && branch.is_none() {
            let upstream = git.run_git(OP, &command::has_upstream_args(), Some(repo), options).await;
            if !upstream.is_ok_and(|result| !result.stdout.trim().is_empty()) {
                return Err(upstream_error("pull", None));
            }
        }
        if let Some(creds) = creds {
            let resolved = git.resolve_remote(OP, repo, remote, options).await?;
            let args = command::pull_args(Some(&resolved), branch);
            return git.with_remote_credentials(OP, repo, &resolved, creds, &args, options).await;
        }
        let args = command::pull_args(remote, branch);
        let had_username = self.username.as_deref().is_some_and(|u| !u.is_empty());
        git.run_git(OP, &args, Some(repo), options)
            .await
            .map_err(|err| translate_remote_error("pull", had_username, err))
    }
}

git_request! {
    /// `git config <key> <value>`; from [`Git::set_config`].
    SetConfigRequest => CommandResult { scope: ConfigScope = ConfigScope::Global, repo: Option<String> = None } (key: String, value: String)
}

impl SetConfigRequest {
    /// The scope (default global).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.set_config("init.defaultBranch", "main").scope(e2b::ConfigScope::System).user("root").await?;
    /// # Ok(()) }
    /// ```
    pub fn scope(mut self, scope: ConfigScope) -> Self {
        self.scope = scope;
        self
    }

    /// The repository, for [`ConfigScope::Local`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.set_config("core.filemode", "false").scope(e2b::ConfigScope::Local).path("/r").await?;
    /// # Ok(()) }
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.repo = Some(path.into());
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.set_config("color.ui", "auto").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        set_config(&self.git, &self.key, &self.value, self.scope, self.repo.as_deref(), &self.options).await
    }
}

async fn set_config(
    git: &Git,
    key: &str,
    value: &str,
    scope: ConfigScope,
    repo: Option<&str>,
    options: &GitOptions,
) -> Result<CommandResult> {
    const OP: &str = "git config";
    if key.is_empty() {
        return Err(invalid(OP, "Git config key is required."));
    }
    let (flag, repo) = command::config_scope(OP, scope, repo)?;
    git.run_git(OP, &command::config_set_args(flag, key, value), repo, options).await
}

git_request! {
    /// `git config --get <key>`; from [`Git::get_config`].
    GetConfigRequest => Option<String> { scope: ConfigScope = ConfigScope::Global, repo: Option<String> = None } (key: String)
}

impl GetConfigRequest {
    /// The scope (default global).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let v = git.get_config("user.email").scope(e2b::ConfigScope::Local).path("/r").await?;
    /// # let _ = v; Ok(()) }
    /// ```
    pub fn scope(mut self, scope: ConfigScope) -> Self {
        self.scope = scope;
        self
    }

    /// The repository, for [`ConfigScope::Local`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let v = git.get_config("remote.origin.url").scope(e2b::ConfigScope::Local).path("/r").await?;
    /// # let _ = v; Ok(()) }
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.repo = Some(path.into());
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// let v = git.get_config("user.name").send().await?;
    /// # let _ = v; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Option<String>> {
        const OP: &str = "git config --get";
        if self.key.is_empty() {
            return Err(invalid(OP, "Git config key is required."));
        }
        let (flag, repo) = command::config_scope(OP, self.scope, self.repo.as_deref())?;
        let cmd = command::config_get_command(flag, &self.key, repo);
        let result = self.git.run_shell(OP, cmd, &self.options).await?;
        Ok(Some(result.stdout.trim().to_owned()).filter(|v| !v.is_empty()))
    }
}

git_request! {
    /// Stores credentials for git; from [`Git::dangerously_authenticate`].
    AuthenticateRequest => CommandResult {
        host: String = "github.com".to_owned(),
        protocol: String = "https".to_owned(),
    } (username: String, password: String)
}

impl AuthenticateRequest {
    /// The host the credentials are for (default `github.com`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.dangerously_authenticate("me", "tok").host("gitlab.com").await?;
    /// # Ok(()) }
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The protocol (default `https`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.dangerously_authenticate("me", "tok").host("git.internal").protocol("http").await?;
    /// # Ok(()) }
    /// ```
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = protocol.into();
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.dangerously_authenticate("me", "tok").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        const OP: &str = "git credential approve";
        if self.username.is_empty() || self.password.is_empty() {
            return Err(invalid(OP, "Both username and password are required to authenticate git."));
        }
        set_config(&self.git, "credential.helper", "store", ConfigScope::Global, None, &self.options).await?;
        let cmd =
            command::credential_approve_command(&self.username, &self.password, &self.host, &self.protocol);
        self.git.run_shell(OP, cmd, &self.options).await
    }
}

git_request! {
    /// Sets `user.name` and `user.email`; from [`Git::configure_user`].
    ConfigureUserRequest => CommandResult { scope: ConfigScope = ConfigScope::Global, repo: Option<String> = None } (name: String, email: String)
}

impl ConfigureUserRequest {
    /// The scope (default global).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.configure_user("Bot", "bot@x.io").scope(e2b::ConfigScope::Local).path("/r").await?;
    /// # Ok(()) }
    /// ```
    pub fn scope(mut self, scope: ConfigScope) -> Self {
        self.scope = scope;
        self
    }

    /// The repository, for [`ConfigScope::Local`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.configure_user("Bot", "bot@x.io").scope(e2b::ConfigScope::Local).path("/r").await?;
    /// # Ok(()) }
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.repo = Some(path.into());
        self
    }

    /// Runs it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
    /// git.configure_user("Bot", "bot@x.io").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CommandResult> {
        if self.name.is_empty() || self.email.is_empty() {
            return Err(invalid("git config user", "Both name and email are required."));
        }
        let repo = self.repo.as_deref();
        set_config(&self.git, "user.name", &self.name, self.scope, repo, &self.options).await?;
        set_config(&self.git, "user.email", &self.email, self.scope, repo, &self.options).await
    }
}
