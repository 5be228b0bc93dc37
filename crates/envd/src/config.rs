//! Start-up configuration of the daemon.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The envd version this implementation reports (`X-Envd-Version`). Every
/// feature the SDKs gate on up to this version is implemented.
///
/// ```
/// assert_eq!(envd::ENVD_VERSION, "0.6.13");
/// ```
pub const ENVD_VERSION: &str = "0.6.13";

/// The port envd listens on inside every sandbox.
///
/// ```
/// assert_eq!(envd::Config::new().socket_addr().port(), envd::DEFAULT_PORT);
/// ```
pub const DEFAULT_PORT: u16 = 49983;

/// How an [`Envd`](crate::Envd) starts: where it listens, whom processes run
/// as by default, the default environment, and the optional access token.
///
/// Everything except the listening address can later be changed at run time
/// by `POST /init` (or [`Envd::apply_init`](crate::Envd::apply_init)), as the
/// E2B control plane does on every sandbox start and resume.
///
/// ```
/// let config = envd::Config::new()
///     .port(0)
///     .default_user("user")
///     .default_workdir("/home/user")
///     .env("E2B_SANDBOX_ID", "abc123")
///     .access_token("secret");
/// assert_eq!(config.socket_addr().port(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) bind: IpAddr,
    pub(crate) port: u16,
    pub(crate) default_user: Option<String>,
    pub(crate) default_workdir: Option<PathBuf>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) access_token: Option<String>,
    pub(crate) version: String,
    pub(crate) reap_orphans: bool,
    pub(crate) sync_clock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The upstream defaults: all interfaces, port 49983, default user
    /// `root`, no default workdir, `E2B_SANDBOX=true` in the environment, no
    /// token, version [`ENVD_VERSION`]. Orphans are reaped when envd runs as
    /// PID 1; the system clock is never touched unless asked for.
    pub fn new() -> Self {
        let mut env = BTreeMap::new();
        env.insert("E2B_SANDBOX".to_owned(), "true".to_owned());
        Config {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: DEFAULT_PORT,
            default_user: Some("root".to_owned()),
            default_workdir: None,
            env,
            access_token: None,
            version: ENVD_VERSION.to_owned(),
            reap_orphans: std::process::id() == 1,
            sync_clock: false,
        }
    }

    /// The address to listen on (default `0.0.0.0`).
    #[must_use]
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The port to listen on (default 49983; 0 picks a free one).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The user that requests without `Authorization: Basic` (RPC) or
    /// `username` (`/files`) act as.
    #[must_use]
    pub fn default_user(mut self, user: impl Into<String>) -> Self {
        self.default_user = Some(user.into());
        self
    }

    /// Removes the default user: every request must then name its user.
    #[must_use]
    pub fn no_default_user(mut self) -> Self {
        self.default_user = None;
        self
    }

    /// The working directory of processes started without `cwd`, and the
    /// meaning of an empty path (default: the user's home directory).
    #[must_use]
    pub fn default_workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.default_workdir = Some(dir.into());
        self
    }

    /// Adds a variable to the environment every process gets (for example
    /// `E2B_SANDBOX_ID`). These survive `/init`, which replaces only the
    /// variables it set itself.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Requires `X-Access-Token: <token>` (or a URL signature made with it)
    /// on every request except the health check, file transfer and `/init`.
    #[must_use]
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The version reported in `X-Envd-Version` (default [`ENVD_VERSION`]).
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Whether to reap every exited child, including orphans re-parented to
    /// envd. Needed when envd is PID 1 of a PID namespace (the default
    /// follows `getpid() == 1`). Never enable it inside a process that waits
    /// for its own children by other means: it would steal their statuses.
    #[must_use]
    pub fn reap_orphans(mut self, reap: bool) -> Self {
        self.reap_orphans = reap;
        self
    }

    /// Whether `/init`'s `timestamp` may set the system clock (upstream does,
    /// inside a VM). Off by default: in a container it would change the
    /// host's clock.
    #[must_use]
    pub fn sync_clock(mut self, sync: bool) -> Self {
        self.sync_clock = sync;
        self
    }

    /// The socket address the server binds.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}
