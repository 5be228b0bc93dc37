//! [`Git`]: git in a sandbox (or over any [`CommandRunner`]), with
//! credentials that are not left behind.
//!
//! ```no_run
//! # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
//! let git = sandbox.git();
//! git.init("/home/user/repo").initial_branch("main").send()?;
//! git.commit("/home/user/repo", "Start").allow_empty(true).author("Bot", "bot@example.com").send()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use e2b::{CommandResult, ConfigScope, GitBranches, GitStatus, ResetMode, Result};

use crate::commands::{AsyncRunner, CommandRunner};
use crate::runtime;

/// Git over a [`CommandRunner`]; from [`Sandbox::git`](crate::Sandbox::git)
/// or [`Git::new`]. Cheap to clone.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let git = sandbox.git();
/// git.clone_repo("https://github.com/e2b-dev/e2b.git").path("/home/user/e2b").depth(1).send()?;
/// let status = git.status("/home/user/e2b").send()?;
/// assert!(status.is_clean());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Git {
    inner: e2b::Git,
}

impl fmt::Debug for Git {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::Git> for Git {
    fn from(inner: e2b::Git) -> Self {
        Self { inner }
    }
}

impl Git {
    /// Git that runs its command lines through `runner`. Each command runs
    /// on a thread of its own, outside any runtime, so the runner may use
    /// this crate's blocking calls.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// let git = e2b_blocking::Git::new(std::sync::Arc::new(sandbox.commands()));
    /// # let _ = git;
    /// # }
    /// ```
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self { inner: e2b::Git::new(Arc::new(AsyncRunner(runner))) }
    }

    /// `git clone <url> [--branch B --single-branch] [--depth N] [path]`.
    ///
    /// With [`credentials`](CloneRequest::credentials) the URL carries them
    /// for the clone and `origin` is reset to the bare URL afterwards unless
    /// [`dangerously_store_credentials`](CloneRequest::dangerously_store_credentials).
    /// Authentication failures are [`Error::GitAuth`](crate::Error::GitAuth).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.clone_repo("https://github.com/org/private.git")
    ///     .path("/home/user/private")
    ///     .branch("main")
    ///     .credentials("x-access-token", "ghp_…")
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn clone_repo(&self, url: impl Into<String>) -> CloneRequest {
        CloneRequest { inner: self.inner.clone_repo(url) }
    }

    /// `git init [--initial-branch B] [--bare] <path>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.init("/home/user/repo").initial_branch("main").send()?;
    /// # Ok(()) }
    /// ```
    pub fn init(&self, path: impl Into<String>) -> InitRequest {
        InitRequest { inner: self.inner.init(path) }
    }

    /// `git -C <path> remote add [-f] <name> <url>`; with
    /// [`overwrite`](RemoteAddRequest::overwrite) an existing remote's URL is
    /// replaced instead.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.remote_add("/home/user/repo", "origin", "https://github.com/o/r.git").fetch(true).send()?;
    /// # Ok(()) }
    /// ```
    pub fn remote_add(
        &self,
        path: impl Into<String>,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> RemoteAddRequest {
        RemoteAddRequest { inner: self.inner.remote_add(path, name, url) }
    }

    /// The URL of a remote, or `None` when there is no such remote.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// if let Some(url) = git.remote_get("/home/user/repo", "origin").send()? {
    ///     println!("origin is {url}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn remote_get(&self, path: impl Into<String>, name: impl Into<String>) -> RemoteGetRequest {
        RemoteGetRequest { inner: self.inner.remote_get(path, name) }
    }

    /// The repository's status (`git status --porcelain=1 -b`), parsed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let status = git.status("/home/user/repo").send()?;
    /// println!("{} staged", status.staged_count());
    /// # Ok(()) }
    /// ```
    pub fn status(&self, path: impl Into<String>) -> StatusRequest {
        StatusRequest { inner: self.inner.status(path) }
    }

    /// The local branches and the current one.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let branches = git.branches("/home/user/repo").send()?;
    /// # let _ = branches; Ok(()) }
    /// ```
    pub fn branches(&self, path: impl Into<String>) -> BranchesRequest {
        BranchesRequest { inner: self.inner.branches(path) }
    }

    /// `git checkout -b <branch>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.create_branch("/home/user/repo", "feature/x").send()?;
    /// # Ok(()) }
    /// ```
    pub fn create_branch(&self, path: impl Into<String>, branch: impl Into<String>) -> CreateBranchRequest {
        CreateBranchRequest { inner: self.inner.create_branch(path, branch) }
    }

    /// `git checkout <branch>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.checkout_branch("/home/user/repo", "main").send()?;
    /// # Ok(()) }
    /// ```
    pub fn checkout_branch(
        &self,
        path: impl Into<String>,
        branch: impl Into<String>,
    ) -> CheckoutBranchRequest {
        CheckoutBranchRequest { inner: self.inner.checkout_branch(path, branch) }
    }

    /// `git branch -d <branch>` (`-D` with [`force`](DeleteBranchRequest::force)).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.delete_branch("/home/user/repo", "old").force(true).send()?;
    /// # Ok(()) }
    /// ```
    pub fn delete_branch(&self, path: impl Into<String>, branch: impl Into<String>) -> DeleteBranchRequest {
        DeleteBranchRequest { inner: self.inner.delete_branch(path, branch) }
    }

    /// `git add -A` by default, `git add .` without
    /// [`all`](AddRequest::all), or `git add -- <files>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.add("/home/user/repo").files(["README.md"]).send()?;
    /// # Ok(()) }
    /// ```
    pub fn add(&self, path: impl Into<String>) -> AddRequest {
        AddRequest { inner: self.inner.add(path) }
    }

    /// `git [-c user.name=…] [-c user.email=…] commit -m <message> [--allow-empty]`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.commit("/home/user/repo", "Initial commit").author("Bot", "bot@example.com").send()?;
    /// # Ok(()) }
    /// ```
    pub fn commit(&self, path: impl Into<String>, message: impl Into<String>) -> CommitRequest {
        CommitRequest { inner: self.inner.commit(path, message) }
    }

    /// `git reset [--<mode>] [target] [-- paths…]`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.reset("/home/user/repo").mode(e2b_blocking::ResetMode::Hard).target("HEAD~1").send()?;
    /// # Ok(()) }
    /// ```
    pub fn reset(&self, path: impl Into<String>) -> ResetRequest {
        ResetRequest { inner: self.inner.reset(path) }
    }

    /// `git restore [--worktree] [--staged] [--source S] -- <paths…>`:
    /// work tree only by default; [`staged`](RestoreRequest::staged) alone
    /// restores the index only.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.restore("/home/user/repo", ["src/main.rs"]).staged(true).send()?;
    /// # Ok(()) }
    /// ```
    pub fn restore<I, S>(&self, path: impl Into<String>, paths: I) -> RestoreRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RestoreRequest { inner: self.inner.restore(path, paths) }
    }

    /// `git push [--set-upstream] [remote] [branch]`. With credentials, the
    /// remote's URL carries them for the push only and is restored after.
    /// A missing upstream is [`Error::GitUpstream`](crate::Error::GitUpstream).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.push("/home/user/repo").remote("origin").branch("main").credentials("x-access-token", "ghp_…").send()?;
    /// # Ok(()) }
    /// ```
    pub fn push(&self, path: impl Into<String>) -> PushRequest {
        PushRequest { inner: self.inner.push(path) }
    }

    /// `git pull [remote] [branch]`. Without a remote and branch the
    /// current branch must track an upstream
    /// ([`Error::GitUpstream`](crate::Error::GitUpstream) otherwise).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.pull("/home/user/repo").send()?;
    /// # Ok(()) }
    /// ```
    pub fn pull(&self, path: impl Into<String>) -> PullRequest {
        PullRequest { inner: self.inner.pull(path) }
    }

    /// `git config --global|--local|--system <key> <value>`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.set_config("pull.rebase", "true").send()?;
    /// git.set_config("core.autocrlf", "false").scope(e2b_blocking::ConfigScope::Local).path("/home/user/repo").send()?;
    /// # Ok(()) }
    /// ```
    pub fn set_config(&self, key: impl Into<String>, value: impl Into<String>) -> SetConfigRequest {
        SetConfigRequest { inner: self.inner.set_config(key, value) }
    }

    /// A config value, or `None` when it is not set in the scope.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let name = git.get_config("user.name").send()?;
    /// # let _ = name; Ok(()) }
    /// ```
    pub fn get_config(&self, key: impl Into<String>) -> GetConfigRequest {
        GetConfigRequest { inner: self.inner.get_config(key) }
    }

    /// Stores credentials in git's global credential store (`credential.helper
    /// store`). They persist in the sandbox where any process can read them;
    /// prefer short-lived tokens.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.dangerously_authenticate("x-access-token", "ghp_…").host("github.com").send()?;
    /// # Ok(()) }
    /// ```
    pub fn dangerously_authenticate(
        &self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> AuthenticateRequest {
        AuthenticateRequest { inner: self.inner.dangerously_authenticate(username, password) }
    }

    /// Sets `user.name` and `user.email`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.configure_user("Bot", "bot@example.com").send()?;
    /// # Ok(()) }
    /// ```
    pub fn configure_user(&self, name: impl Into<String>, email: impl Into<String>) -> ConfigureUserRequest {
        ConfigureUserRequest { inner: self.inner.configure_user(name, email) }
    }
}

/// Defines the blocking twin of an async git request builder: the options
/// every git request takes, the request's own options, and `send`.
macro_rules! git_request {
    (
        $(#[$meta:meta])*
        $name:ident => $output:ty, $example:literal {
            $( $(#[$option_meta:meta])* fn $option:ident($($arg:ident : $arg_ty:ty),*); )*
        }
    ) => {
        $(#[$meta])*
        #[must_use = "a git request does nothing until it is sent"]
        pub struct $name {
            inner: e2b::git::$name,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.inner.fmt(f)
            }
        }

        impl From<e2b::git::$name> for $name {
            fn from(inner: e2b::git::$name) -> Self {
                Self { inner }
            }
        }

        impl $name {
            /// Sets an environment variable for the git command (overriding
            /// the default `GIT_TERMINAL_PROMPT=0` if named so).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            /// git.status("/home/user/repo").env("GIT_TRACE", "1").send()?;
            /// # Ok(()) }
            /// ```
            pub fn env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
                Self { inner: self.inner.env(name, value) }
            }

            /// Runs git as this user.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            /// git.status("/root/repo").user("root").send()?;
            /// # Ok(()) }
            /// ```
            pub fn user(self, user: impl Into<String>) -> Self {
                Self { inner: self.inner.user(user) }
            }

            /// Runs git in this working directory.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            /// git.clone_repo("https://github.com/o/r.git").cwd("/home/user/src").send()?;
            /// # Ok(()) }
            /// ```
            pub fn cwd(self, cwd: impl Into<String>) -> Self {
                Self { inner: self.inner.cwd(cwd) }
            }

            /// Limits how long each git command may run (default: no limit).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            /// git.pull("/home/user/repo").timeout(std::time::Duration::from_secs(120)).send()?;
            /// # Ok(()) }
            /// ```
            pub fn timeout(self, timeout: Duration) -> Self {
                Self { inner: self.inner.timeout(timeout) }
            }

            /// Limits how long starting each git command may take.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            /// git.status("/r").request_timeout(std::time::Duration::from_secs(10)).send()?;
            /// # Ok(()) }
            /// ```
            pub fn request_timeout(self, timeout: Duration) -> Self {
                Self { inner: self.inner.request_timeout(timeout) }
            }

            $(
                $(#[$option_meta])*
                pub fn $option(self, $($arg: $arg_ty),*) -> Self {
                    Self { inner: self.inner.$option($($arg),*) }
                }
            )*

            /// Runs it.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
            #[doc = concat!("let answer = ", $example, ".send()?;")]
            /// # let _ = answer; Ok(()) }
            /// ```
            pub fn send(self) -> Result<$output> {
                runtime::run(concat!(stringify!($name), "::send"), self.inner.send())
            }
        }
    };
}

git_request! {
    /// `git clone`; from [`Git::clone_repo`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.clone_repo("https://github.com/o/r.git").path("/home/user/r").depth(1).send()?;
    /// # Ok(()) }
    /// ```
    CloneRequest => CommandResult, "git.clone_repo(\"https://github.com/o/r.git\")" {
        /// Clone into this directory (default: derived from the URL).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/r.git").path("/home/user/r").send()?;
        /// # Ok(()) }
        /// ```
        fn path(path: impl Into<String>);
        /// Clone only this branch.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/r.git").branch("release").send()?;
        /// # Ok(()) }
        /// ```
        fn branch(branch: impl Into<String>);
        /// A shallow clone of this many commits.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/r.git").depth(1).send()?;
        /// # Ok(()) }
        /// ```
        fn depth(depth: u32);
        /// HTTP(S) credentials for the clone (a token usually goes in the
        /// password).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/private.git").credentials("x-access-token", "ghp_…").send()?;
        /// # Ok(()) }
        /// ```
        fn credentials(username: impl Into<String>, password: impl Into<String>);
        /// Only a username (a password alone is an error; a username alone is
        /// not used for the URL).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/r.git").username("me").send()?;
        /// # Ok(()) }
        /// ```
        fn username(username: impl Into<String>);
        /// Only a password or token; needs a username too.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://github.com/o/r.git").username("me").password("tok").send()?;
        /// # Ok(()) }
        /// ```
        fn password(password: impl Into<String>);
        /// Keep the credentials in the cloned repository's `origin` URL.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.clone_repo("https://h/o/r.git").credentials("u", "t").dangerously_store_credentials(true).send()?;
        /// # Ok(()) }
        /// ```
        fn dangerously_store_credentials(store: bool);
    }
}

git_request! {
    /// `git init`; from [`Git::init`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.init("/home/user/repo").send()?;
    /// # Ok(()) }
    /// ```
    InitRequest => CommandResult, "git.init(\"/home/user/repo\")" {
        /// Create a bare repository.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.init("/srv/repo.git").bare(true).send()?;
        /// # Ok(()) }
        /// ```
        fn bare(bare: bool);
        /// The name of the first branch.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.init("/home/user/repo").initial_branch("trunk").send()?;
        /// # Ok(()) }
        /// ```
        fn initial_branch(branch: impl Into<String>);
    }
}

git_request! {
    /// `git remote add`; from [`Git::remote_add`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.remote_add("/r", "origin", "https://h/r.git").send()?;
    /// # Ok(()) }
    /// ```
    RemoteAddRequest => CommandResult, "git.remote_add(\"/r\", \"origin\", \"https://h/r.git\")" {
        /// Fetch from the remote after adding it.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.remote_add("/r", "upstream", "https://h/u.git").fetch(true).send()?;
        /// # Ok(()) }
        /// ```
        fn fetch(fetch: bool);
        /// If the remote exists, set its URL instead of failing.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.remote_add("/r", "origin", "https://h/new.git").overwrite(true).send()?;
        /// # Ok(()) }
        /// ```
        fn overwrite(overwrite: bool);
    }
}

git_request! {
    /// `git remote get-url`; from [`Git::remote_get`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let url = git.remote_get("/r", "origin").send()?;
    /// # let _ = url; Ok(()) }
    /// ```
    RemoteGetRequest => Option<String>, "git.remote_get(\"/r\", \"origin\")" {}
}

git_request! {
    /// `git status`; from [`Git::status`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let status = git.status("/r").send()?;
    /// println!("on {:?}", status.current_branch);
    /// # Ok(()) }
    /// ```
    StatusRequest => GitStatus, "git.status(\"/r\")" {}
}

git_request! {
    /// `git branch`; from [`Git::branches`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let branches = git.branches("/r").send()?;
    /// println!("{:?}", branches.branches);
    /// # Ok(()) }
    /// ```
    BranchesRequest => GitBranches, "git.branches(\"/r\")" {}
}

git_request! {
    /// `git checkout -b`; from [`Git::create_branch`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.create_branch("/r", "topic").send()?;
    /// # Ok(()) }
    /// ```
    CreateBranchRequest => CommandResult, "git.create_branch(\"/r\", \"topic\")" {}
}

git_request! {
    /// `git checkout`; from [`Git::checkout_branch`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.checkout_branch("/r", "main").send()?;
    /// # Ok(()) }
    /// ```
    CheckoutBranchRequest => CommandResult, "git.checkout_branch(\"/r\", \"main\")" {}
}

git_request! {
    /// `git branch -d`; from [`Git::delete_branch`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.delete_branch("/r", "topic").send()?;
    /// # Ok(()) }
    /// ```
    DeleteBranchRequest => CommandResult, "git.delete_branch(\"/r\", \"topic\")" {
        /// Delete even if not merged (`-D`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.delete_branch("/r", "wip").force(true).send()?;
        /// # Ok(()) }
        /// ```
        fn force(force: bool);
    }
}

git_request! {
    /// `git add`; from [`Git::add`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.add("/r").send()?;
    /// # Ok(()) }
    /// ```
    AddRequest => CommandResult, "git.add(\"/r\")" {
        /// Stage only these files.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.add("/r").files(["a.txt", "b.txt"]).send()?;
        /// # Ok(()) }
        /// ```
        fn files(files: impl IntoIterator<Item = impl Into<String>>);
        /// `false`: `git add .` (this directory) instead of `git add -A`.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.add("/r").all(false).send()?;
        /// # Ok(()) }
        /// ```
        fn all(all: bool);
    }
}

git_request! {
    /// `git commit`; from [`Git::commit`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.commit("/r", "Fix").send()?;
    /// # Ok(()) }
    /// ```
    CommitRequest => CommandResult, "git.commit(\"/r\", \"Fix\")" {
        /// Commit as this author (for this commit only).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.commit("/r", "Fix").author("Bot", "bot@example.com").send()?;
        /// # Ok(()) }
        /// ```
        fn author(name: impl Into<String>, email: impl Into<String>);
        /// Only the author's name.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.commit("/r", "Fix").author_name("Bot").send()?;
        /// # Ok(()) }
        /// ```
        fn author_name(name: impl Into<String>);
        /// Only the author's email.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.commit("/r", "Fix").author_email("bot@example.com").send()?;
        /// # Ok(()) }
        /// ```
        fn author_email(email: impl Into<String>);
        /// Allow a commit without changes.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.commit("/r", "Trigger CI").allow_empty(true).send()?;
        /// # Ok(()) }
        /// ```
        fn allow_empty(allow: bool);
    }
}

git_request! {
    /// `git reset`; from [`Git::reset`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.reset("/r").send()?;
    /// # Ok(()) }
    /// ```
    ResetRequest => CommandResult, "git.reset(\"/r\")" {
        /// The reset mode.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.reset("/r").mode(e2b_blocking::ResetMode::Soft).target("HEAD~1").send()?;
        /// # Ok(()) }
        /// ```
        fn mode(mode: ResetMode);
        /// The commit to reset to (default `HEAD`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.reset("/r").target("origin/main").send()?;
        /// # Ok(()) }
        /// ```
        fn target(target: impl Into<String>);
        /// Reset only these paths.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.reset("/r").paths(["a.txt"]).send()?;
        /// # Ok(()) }
        /// ```
        fn paths(paths: impl IntoIterator<Item = impl Into<String>>);
    }
}

git_request! {
    /// `git restore`; from [`Git::restore`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.restore("/r", ["a.txt"]).send()?;
    /// # Ok(()) }
    /// ```
    RestoreRequest => CommandResult, "git.restore(\"/r\", [\"a.txt\"])" {
        /// Restore the index (unstage).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.restore("/r", ["a.txt"]).staged(true).send()?;
        /// # Ok(()) }
        /// ```
        fn staged(staged: bool);
        /// Restore the work tree.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.restore("/r", ["a.txt"]).staged(true).worktree(true).send()?;
        /// # Ok(()) }
        /// ```
        fn worktree(worktree: bool);
        /// Restore from this commit.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.restore("/r", ["a.txt"]).source("HEAD~2").send()?;
        /// # Ok(()) }
        /// ```
        fn source(source: impl Into<String>);
    }
}

git_request! {
    /// `git push`; from [`Git::push`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.push("/r").send()?;
    /// # Ok(()) }
    /// ```
    PushRequest => CommandResult, "git.push(\"/r\")" {
        /// The remote to push to.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.push("/r").remote("upstream").send()?;
        /// # Ok(()) }
        /// ```
        fn remote(remote: impl Into<String>);
        /// The branch to push.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.push("/r").remote("origin").branch("main").send()?;
        /// # Ok(()) }
        /// ```
        fn branch(branch: impl Into<String>);
        /// Whether to pass `--set-upstream` (default `true`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.push("/r").set_upstream(false).send()?;
        /// # Ok(()) }
        /// ```
        fn set_upstream(set: bool);
        /// HTTP(S) credentials for this push only.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.push("/r").credentials("x-access-token", "ghp_…").send()?;
        /// # Ok(()) }
        /// ```
        fn credentials(username: impl Into<String>, password: impl Into<String>);
    }
}

git_request! {
    /// `git pull`; from [`Git::pull`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.pull("/r").send()?;
    /// # Ok(()) }
    /// ```
    PullRequest => CommandResult, "git.pull(\"/r\")" {
        /// The remote to pull from.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.pull("/r").remote("origin").branch("main").send()?;
        /// # Ok(()) }
        /// ```
        fn remote(remote: impl Into<String>);
        /// The branch to pull.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.pull("/r").remote("origin").branch("release").send()?;
        /// # Ok(()) }
        /// ```
        fn branch(branch: impl Into<String>);
        /// HTTP(S) credentials for this pull only.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.pull("/r").credentials("x-access-token", "ghp_…").send()?;
        /// # Ok(()) }
        /// ```
        fn credentials(username: impl Into<String>, password: impl Into<String>);
    }
}

git_request! {
    /// `git config <key> <value>`; from [`Git::set_config`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.set_config("init.defaultBranch", "main").send()?;
    /// # Ok(()) }
    /// ```
    SetConfigRequest => CommandResult, "git.set_config(\"pull.rebase\", \"true\")" {
        /// The config scope (default [`ConfigScope::Global`]).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.set_config("a.b", "c").scope(e2b_blocking::ConfigScope::Local).path("/r").send()?;
        /// # Ok(()) }
        /// ```
        fn scope(scope: ConfigScope);
        /// The repository, for [`ConfigScope::Local`].
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.set_config("a.b", "c").scope(e2b_blocking::ConfigScope::Local).path("/home/user/repo").send()?;
        /// # Ok(()) }
        /// ```
        fn path(path: impl Into<String>);
    }
}

git_request! {
    /// `git config --get <key>`; from [`Git::get_config`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// let email = git.get_config("user.email").send()?;
    /// # let _ = email; Ok(()) }
    /// ```
    GetConfigRequest => Option<String>, "git.get_config(\"user.name\")" {
        /// The config scope (default [`ConfigScope::Global`]).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// let v = git.get_config("core.editor").scope(e2b_blocking::ConfigScope::System).send()?;
        /// # let _ = v; Ok(()) }
        /// ```
        fn scope(scope: ConfigScope);
        /// The repository, for [`ConfigScope::Local`].
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// let v = git.get_config("a.b").scope(e2b_blocking::ConfigScope::Local).path("/r").send()?;
        /// # let _ = v; Ok(()) }
        /// ```
        fn path(path: impl Into<String>);
    }
}

git_request! {
    /// Stores credentials for git; from [`Git::dangerously_authenticate`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.dangerously_authenticate("me", "token").send()?;
    /// # Ok(()) }
    /// ```
    AuthenticateRequest => CommandResult, "git.dangerously_authenticate(\"me\", \"token\")" {
        /// The host the credentials are for (default `github.com`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.dangerously_authenticate("me", "token").host("gitlab.com").send()?;
        /// # Ok(()) }
        /// ```
        fn host(host: impl Into<String>);
        /// The protocol (default `https`).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.dangerously_authenticate("me", "token").protocol("http").send()?;
        /// # Ok(()) }
        /// ```
        fn protocol(protocol: impl Into<String>);
    }
}

git_request! {
    /// Sets `user.name` and `user.email`; from [`Git::configure_user`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
    /// git.configure_user("Bot", "bot@example.com").scope(e2b_blocking::ConfigScope::Local).path("/r").send()?;
    /// # Ok(()) }
    /// ```
    ConfigureUserRequest => CommandResult, "git.configure_user(\"Bot\", \"bot@example.com\")" {
        /// The config scope (default [`ConfigScope::Global`]).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.configure_user("Bot", "b@x").scope(e2b_blocking::ConfigScope::System).send()?;
        /// # Ok(()) }
        /// ```
        fn scope(scope: ConfigScope);
        /// The repository, for [`ConfigScope::Local`].
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(git: e2b_blocking::Git) -> Result<(), e2b_blocking::Error> {
        /// git.configure_user("Bot", "b@x").scope(e2b_blocking::ConfigScope::Local).path("/r").send()?;
        /// # Ok(()) }
        /// ```
        fn path(path: impl Into<String>);
    }
}
