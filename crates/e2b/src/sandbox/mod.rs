//! [`Sandbox`]: a handle on one running (or paused) sandbox, with its
//! lifecycle operations and the entry points to its filesystem.

mod create;
mod file_url;
mod fork;
mod info;
mod lifecycle;
mod mcp;
mod network;
pub(crate) mod query;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2b_api::control::types;

pub use create::{DEBUG_SANDBOX_ID, DEFAULT_TEMPLATE, SandboxBuilder};
pub use file_url::FileUrl;
pub use fork::ForkSandbox;
pub use info::{SandboxInfo, SandboxMetrics, SandboxState, SnapshotInfo, VolumeMount};
pub use lifecycle::{Lifecycle, LifecycleInfo, OnTimeout};
pub use mcp::DEFAULT_MCP_TEMPLATE;
pub use network::{EgressProxy, NetworkConfig, NetworkRule, NetworkUpdate};
pub use query::{ListOrder, SandboxQuery, SnapshotQuery};

use crate::client::{Client, ConnectSandbox, CreateSnapshot, GetMetrics, PauseSandbox, send_on_await};
use crate::commands::Commands;
use crate::config::ConnectionConfig;
use crate::envd::Envd;
use crate::error::Result;
use crate::filesystem::Filesystem;
use crate::git::Git;
use crate::paginator::SnapshotPaginator;
use crate::pty::Pty;
use crate::signature::FileOperation;
use crate::version::EnvdVersion;

/// The port of the MCP gateway inside a sandbox.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::MCP_PORT, 50005);
/// ```
pub const MCP_PORT: u16 = 50005;

/// Where the MCP gateway keeps its access token.
const MCP_TOKEN_PATH: &str = "/etc/mcp-gateway/.token";

/// A sandbox: create one with [`Sandbox::builder`], attach to an existing
/// one with [`Sandbox::connect`].
///
/// Cheap to clone (clones share one handle) and usable from many tasks.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// let sandbox = e2b::Sandbox::builder().template("base").create().await?;
/// sandbox.files().write("/home/user/hello.txt", "hi").await?;
/// let text = sandbox.files().read("/home/user/hello.txt").text().await?;
/// assert_eq!(text, "hi");
/// sandbox.kill().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<SandboxInner>,
}

pub(crate) struct SandboxInner {
    pub(crate) id: String,
    /// The domain the API named for this sandbox, if any.
    pub(crate) domain: Option<String>,
    pub(crate) envd_access_token: Option<String>,
    traffic_access_token: Option<String>,
    pub(crate) client: Client,
    pub(crate) envd: Envd,
    mcp_token: Mutex<Option<String>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("sandbox_id", &self.inner.id)
            .field("sandbox_domain", &self.sandbox_domain())
            .field("envd_version", &self.inner.envd.version())
            .field("secure", &self.inner.envd_access_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder for a new sandbox, configured from the environment unless
    /// given a [`Client`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().template("base").create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Connects to an existing sandbox by ID with a client configured from
    /// the environment; see [`Client::connect`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::connect("i1b2c3d4e5f6g7h8j9k0").await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn connect(sandbox_id: impl Into<String>) -> ConnectSandbox {
        ConnectSandbox { client: None, sandbox_id: sandbox_id.into(), timeout: None, request_timeout: None }
    }

    pub(crate) fn from_api(client: Client, sandbox: types::Sandbox, operation: &'static str) -> Result<Self> {
        let version: EnvdVersion = sandbox.envd_version.0.parse().map_err(|_| {
            crate::Error::decode(
                crate::Stage::new(operation, crate::Phase::Decode),
                format!("the reported envdVersion {:?} is not a version", sandbox.envd_version.0),
            )
        })?;
        Self::assemble(
            client,
            sandbox.sandbox_id,
            sandbox.domain,
            sandbox.envd_access_token,
            sandbox.traffic_access_token,
            version,
        )
    }

    pub(crate) fn debug(client: Client, sandbox_id: &str) -> Result<Self> {
        Self::assemble(client, sandbox_id.to_owned(), None, None, None, EnvdVersion::DEBUG)
    }

    fn assemble(
        client: Client,
        id: String,
        domain: Option<String>,
        envd_access_token: Option<String>,
        traffic_access_token: Option<String>,
        version: EnvdVersion,
    ) -> Result<Self> {
        let envd = Envd::new(client.config(), &id, domain.as_deref(), envd_access_token.as_deref(), version)?;
        Ok(Self {
            inner: Arc::new(SandboxInner {
                id,
                domain,
                envd_access_token,
                traffic_access_token,
                client,
                envd,
                mcp_token: Mutex::new(None),
            }),
        })
    }

    /// The sandbox ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// println!("{}", sandbox.sandbox_id());
    /// # }
    /// ```
    pub fn sandbox_id(&self) -> &str {
        &self.inner.id
    }

    /// The domain the sandbox is served under: the one the API named, else
    /// the configured domain.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// println!("{}", sandbox.sandbox_domain());
    /// # }
    /// ```
    pub fn sandbox_domain(&self) -> &str {
        self.inner.domain.as_deref().unwrap_or_else(|| self.inner.client.config().domain())
    }

    /// The envd version inside (99.99.99 in debug mode).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// if sandbox.envd_version().supports(e2b::EnvdFeature::FileMetadata) {
    ///     println!("file metadata available");
    /// }
    /// # }
    /// ```
    pub fn envd_version(&self) -> EnvdVersion {
        self.inner.envd.version()
    }

    /// The token for user traffic to the sandbox's ports when public
    /// traffic is disabled (header `e2b-traffic-access-token`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// if let Some(token) = sandbox.traffic_access_token() {
    ///     println!("send e2b-traffic-access-token: {token}");
    /// }
    /// # }
    /// ```
    pub fn traffic_access_token(&self) -> Option<&str> {
        self.inner.traffic_access_token.as_deref()
    }

    /// The client the sandbox was created or connected with.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let others = sandbox.client().list(e2b::SandboxQuery::new()).next_items().await?;
    /// # let _ = others; Ok(()) }
    /// ```
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The connection configuration.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// println!("{}", sandbox.config().api_url());
    /// # }
    /// ```
    pub fn config(&self) -> &ConnectionConfig {
        self.inner.client.config()
    }

    /// The host (no scheme) that reaches `port` inside the sandbox, for
    /// HTTP or WebSocket clients: `<port>-<id>.<domain>`, or
    /// `localhost:<port>` in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// let url = format!("https://{}", sandbox.get_host(8080));
    /// # let _ = url;
    /// # }
    /// ```
    pub fn get_host(&self, port: u16) -> String {
        self.config().sandbox_host(&self.inner.id, Some(self.sandbox_domain()), port)
    }

    /// The URL of the sandbox's MCP gateway.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) {
    /// println!("{}", sandbox.get_mcp_url());
    /// # }
    /// ```
    pub fn get_mcp_url(&self) -> String {
        format!("https://{}/mcp", self.get_host(MCP_PORT))
    }

    /// The MCP gateway's access token, read (as `root`) from the sandbox
    /// once and cached. `None` when the sandbox has no gateway token.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// if let Some(token) = sandbox.get_mcp_token().await? {
    ///     println!("Authorization: Bearer {token}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_mcp_token(&self) -> Result<Option<String>> {
        if let Some(token) = self.cached_mcp_token() {
            return Ok(Some(token));
        }
        let token = match self.files().read(MCP_TOKEN_PATH).user("root").text().await {
            Ok(token) => token,
            Err(crate::Error::FileNotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        if let Ok(mut cached) = self.inner.mcp_token.lock() {
            *cached = Some(token.clone());
        }
        Ok(Some(token))
    }

    pub(crate) fn set_mcp_token(&self, token: String) {
        if let Ok(mut cached) = self.inner.mcp_token.lock() {
            *cached = Some(token);
        }
    }

    fn cached_mcp_token(&self) -> Option<String> {
        self.inner.mcp_token.lock().ok().and_then(|cached| cached.clone())
    }

    /// The sandbox's filesystem.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let bytes = sandbox.files().read("/etc/os-release").bytes().await?;
    /// # let _ = bytes; Ok(()) }
    /// ```
    pub fn files(&self) -> Filesystem {
        Filesystem::new(self.inner.clone())
    }

    /// Commands in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let result = sandbox.commands().run("ls /").await?;
    /// println!("{}", result.stdout);
    /// # Ok(()) }
    /// ```
    pub fn commands(&self) -> Commands {
        Commands::new(self.inner.clone())
    }

    /// Interactive terminals in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let terminal = sandbox.pty().create(e2b::PtySize { rows: 24, cols: 80 }).await?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn pty(&self) -> Pty {
        Pty::new(self.inner.clone())
    }

    /// Git in the sandbox, run through its [`commands`](Self::commands).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.git().clone_repo("https://github.com/e2b-dev/e2b.git").path("/home/user/e2b").depth(1).await?;
    /// # Ok(()) }
    /// ```
    pub fn git(&self) -> Git {
        Git::new(Arc::new(self.commands()))
    }

    /// Whether the sandbox is up: `GET /health` on envd. `false` when the
    /// sandbox proxy says it is gone.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// if !sandbox.is_running().await? {
    ///     println!("it timed out");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_running(&self) -> Result<bool> {
        let timeout = self.inner.envd.request_timeout(None);
        self.inner.envd.is_running(timeout).await
    }

    /// Kills the sandbox. `Ok(false)` if it was already gone.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.kill().await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self) -> Result<bool> {
        self.inner.client.kill(&self.inner.id).await
    }

    /// Sets the sandbox to expire `timeout` from now (may shorten its life).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.set_timeout(std::time::Duration::from_secs(3600)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_timeout(&self, timeout: Duration) -> Result<()> {
        self.inner.client.set_timeout(&self.inner.id, timeout).await
    }

    /// Replaces the sandbox's egress configuration; what `network` does not set is cleared.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.update_network(&e2b::NetworkUpdate::new().deny_out(["0.0.0.0/0"])).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_network(&self, network: &NetworkUpdate) -> Result<()> {
        self.inner.client.update_network(&self.inner.id, network).await
    }

    /// Forks the sandbox: it is checkpointed in place and new sandboxes start from the
    /// checkpoint; each entry of the answer is one fork, or why it failed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let copy = sandbox.fork().await?.remove(0)?;
    /// copy.commands().run("ls").await?;
    /// # Ok(()) }
    /// ```
    pub fn fork(&self) -> ForkSandbox {
        self.inner.client.fork(self.inner.id.clone())
    }

    /// Information about the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let info = sandbox.get_info().await?;
    /// println!("ends at {}", info.end_at);
    /// # Ok(()) }
    /// ```
    pub async fn get_info(&self) -> Result<SandboxInfo> {
        self.inner.client.get_info(&self.inner.id).await
    }

    /// Resource-usage samples. Needs envd 0.1.5 ([`Error::Template`]
    /// otherwise); before 0.2.4 disk figures are missing. Empty in debug
    /// mode.
    ///
    /// [`Error::Template`]: crate::Error::Template
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// for sample in sandbox.get_metrics().await? {
    ///     println!("{:.1}% CPU", sample.cpu_used_pct);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn get_metrics(&self) -> GetMetrics {
        self.inner.client.get_metrics(self.inner.id.clone()).gated_by(self.envd_version())
    }

    /// Pauses the sandbox; resolves to `false` if it was already paused.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.pause().await?;
    /// let same = sandbox.resume().await?;
    /// # let _ = same; Ok(()) }
    /// ```
    pub fn pause(&self) -> PauseSandbox {
        self.inner.client.pause(self.inner.id.clone())
    }

    /// The earlier name of [`pause`](Self::pause).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// #[allow(deprecated)]
    /// sandbox.beta_pause().await?;
    /// # Ok(()) }
    /// ```
    #[deprecated(note = "use `pause`")]
    pub async fn beta_pause(&self) -> Result<bool> {
        self.pause().await
    }

    /// Connects again: resumes the sandbox if it is paused, otherwise
    /// extends its life to at least `timeout` (default 300 s) from now. The
    /// official SDKs call this `connect` on an instance.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.resume().timeout(std::time::Duration::from_secs(600)).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "connect")]
    pub fn resume(&self) -> ResumeSandbox {
        ResumeSandbox { sandbox: self.clone(), timeout: None, request_timeout: None }
    }

    /// Stores a persistent snapshot; the sandbox keeps running.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let snapshot = sandbox.create_snapshot().await?;
    /// println!("{}", snapshot.snapshot_id);
    /// # Ok(()) }
    /// ```
    pub fn create_snapshot(&self) -> CreateSnapshot {
        self.inner.client.create_snapshot(self.inner.id.clone())
    }

    /// Pages through this sandbox's snapshots.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let snapshots = sandbox.list_snapshots().next_items().await?;
    /// # let _ = snapshots; Ok(()) }
    /// ```
    pub fn list_snapshots(&self) -> SnapshotPaginator {
        self.inner.client.list_snapshots(SnapshotQuery::new().sandbox_id(self.inner.id.clone()))
    }

    /// A URL that downloads `path` without the SDK (signed when the
    /// sandbox is secure).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let link = sandbox.download_url("/home/user/out.zip").build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn download_url(&self, path: impl Into<String>) -> FileUrl {
        FileUrl::new(self.clone(), path.into(), FileOperation::Read)
    }

    /// A URL that uploads to `path` with a `multipart/form-data` POST,
    /// without the SDK (signed when the sandbox is secure).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let link = sandbox.upload_url("/home/user/in.csv").build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn upload_url(&self, path: impl Into<String>) -> FileUrl {
        FileUrl::new(self.clone(), path.into(), FileOperation::Write)
    }
}

/// Resumes or extends a sandbox; from [`Sandbox::resume`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// sandbox.resume().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ResumeSandbox {
    sandbox: Sandbox,
    timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

impl ResumeSandbox {
    /// How long the sandbox should live from now (default 300 s); a running
    /// sandbox's life is only ever extended.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.resume().timeout(std::time::Duration::from_secs(900)).await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.resume().request_timeout(std::time::Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sends the request. Skipped in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.resume().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Sandbox> {
        let client = &self.sandbox.inner.client;
        if !client.config().debug() {
            // The tokens of the answer are not re-applied: they are the ones
            // this handle already has.
            client.connect_api(&self.sandbox.inner.id, self.timeout, self.request_timeout).await?;
        }
        Ok(self.sandbox)
    }
}

send_on_await!(ResumeSandbox => Sandbox);
