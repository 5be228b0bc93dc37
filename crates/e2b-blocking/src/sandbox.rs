//! [`Sandbox`]: a handle on one running (or paused) sandbox, with its
//! lifecycle operations and the entry points to its filesystem, commands,
//! terminals and git.

use std::time::Duration;

use e2b::{
    ConnectionConfig, EnvdVersion, FileUrl, Lifecycle, NetworkConfig, NetworkUpdate, Result, SandboxInfo,
};

use crate::client::{Client, ConnectSandbox, CreateSnapshot, ForkSandbox, GetMetrics, PauseSandbox};
use crate::commands::Commands;
use crate::filesystem::Filesystem;
use crate::git::Git;
use crate::paginator::SnapshotPaginator;
use crate::pty::Pty;
use crate::runtime;

/// A sandbox: create one with [`Sandbox::builder`], attach to an existing
/// one with [`Sandbox::connect`].
///
/// Cheap to clone (clones share one handle) and usable from many threads.
///
/// # Example
///
/// ```no_run
/// # fn demo() -> Result<(), e2b_blocking::Error> {
/// let sandbox = e2b_blocking::Sandbox::builder().template("base").create()?;
/// sandbox.files().write("/home/user/hello.txt", "hi").send()?;
/// let text = sandbox.files().read("/home/user/hello.txt").text()?;
/// assert_eq!(text, "hi");
/// sandbox.kill()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Sandbox {
    inner: e2b::Sandbox,
    client: Client,
}

impl From<e2b::Sandbox> for Sandbox {
    fn from(inner: e2b::Sandbox) -> Self {
        let client = Client::from(inner.client().clone());
        Self { inner, client }
    }
}

impl From<Sandbox> for e2b::Sandbox {
    fn from(sandbox: Sandbox) -> Self {
        sandbox.inner
    }
}

impl Sandbox {
    /// A builder for a new sandbox, configured from the environment unless
    /// given a [`Client`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().template("base").create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::from(e2b::Sandbox::builder())
    }

    /// Connects to an existing sandbox by ID with a client configured from
    /// the environment; see [`Client::connect`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::connect("i1b2c3d4e5f6g7h8j9k0").send()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn connect(sandbox_id: impl Into<String>) -> ConnectSandbox {
        ConnectSandbox { inner: e2b::Sandbox::connect(sandbox_id) }
    }

    /// The async sandbox this one drives, e.g. to hand to async code.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// let async_sandbox: e2b::Sandbox = sandbox.as_async().clone();
    /// # let _ = async_sandbox;
    /// # }
    /// ```
    pub fn as_async(&self) -> &e2b::Sandbox {
        &self.inner
    }

    /// The sandbox ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// println!("{}", sandbox.sandbox_id());
    /// # }
    /// ```
    pub fn sandbox_id(&self) -> &str {
        self.inner.sandbox_id()
    }

    /// The domain the sandbox is served under: the one the API named, else
    /// the configured domain.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// println!("{}", sandbox.sandbox_domain());
    /// # }
    /// ```
    pub fn sandbox_domain(&self) -> &str {
        self.inner.sandbox_domain()
    }

    /// The envd version inside (99.99.99 in debug mode).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// if sandbox.envd_version().supports(e2b_blocking::EnvdFeature::FileMetadata) {
    ///     println!("file metadata available");
    /// }
    /// # }
    /// ```
    pub fn envd_version(&self) -> EnvdVersion {
        self.inner.envd_version()
    }

    /// The token for user traffic to the sandbox's ports when public
    /// traffic is disabled (header `e2b-traffic-access-token`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// if let Some(token) = sandbox.traffic_access_token() {
    ///     println!("send e2b-traffic-access-token: {token}");
    /// }
    /// # }
    /// ```
    pub fn traffic_access_token(&self) -> Option<&str> {
        self.inner.traffic_access_token()
    }

    /// The client the sandbox was created or connected with.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let others = sandbox.client().list(e2b_blocking::SandboxQuery::new()).next_items()?;
    /// # let _ = others; Ok(()) }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The connection configuration.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// println!("{}", sandbox.config().api_url());
    /// # }
    /// ```
    pub fn config(&self) -> &ConnectionConfig {
        self.inner.config()
    }

    /// The host (no scheme) that reaches `port` inside the sandbox, for
    /// HTTP or WebSocket clients: `<port>-<id>.<domain>`, or
    /// `localhost:<port>` in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// let url = format!("https://{}", sandbox.get_host(8080));
    /// # let _ = url;
    /// # }
    /// ```
    pub fn get_host(&self, port: u16) -> String {
        self.inner.get_host(port)
    }

    /// The URL of the sandbox's MCP gateway.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) {
    /// println!("{}", sandbox.get_mcp_url());
    /// # }
    /// ```
    pub fn get_mcp_url(&self) -> String {
        self.inner.get_mcp_url()
    }

    /// The MCP gateway's access token, read (as `root`) from the sandbox
    /// once and cached. `None` when the sandbox has no gateway token.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// if let Some(token) = sandbox.get_mcp_token()? {
    ///     println!("Authorization: Bearer {token}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn get_mcp_token(&self) -> Result<Option<String>> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::get_mcp_token", async move { sandbox.get_mcp_token().await })
    }

    /// The sandbox's filesystem.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let bytes = sandbox.files().read("/etc/os-release").bytes()?;
    /// # let _ = bytes; Ok(()) }
    /// ```
    pub fn files(&self) -> Filesystem {
        Filesystem::from(self.inner.files())
    }

    /// Commands in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let result = sandbox.commands().run("ls /").send()?;
    /// println!("{}", result.stdout);
    /// # Ok(()) }
    /// ```
    pub fn commands(&self) -> Commands {
        Commands::from(self.inner.commands())
    }

    /// Interactive terminals in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let terminal = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn pty(&self) -> Pty {
        Pty::from(self.inner.pty())
    }

    /// Git in the sandbox, run through its [`commands`](Self::commands).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.git().clone_repo("https://github.com/e2b-dev/e2b.git").path("/home/user/e2b").depth(1).send()?;
    /// # Ok(()) }
    /// ```
    pub fn git(&self) -> Git {
        Git::from(self.inner.git())
    }

    /// Whether the sandbox is up: `GET /health` on envd. `false` when the
    /// sandbox proxy says it is gone.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// if !sandbox.is_running()? {
    ///     println!("it timed out");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_running(&self) -> Result<bool> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::is_running", async move { sandbox.is_running().await })
    }

    /// Kills the sandbox. `Ok(false)` if it was already gone.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.kill()?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> Result<bool> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::kill", async move { sandbox.kill().await })
    }

    /// Sets the sandbox to expire `timeout` from now (may shorten its life).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.set_timeout(std::time::Duration::from_secs(3600))?;
    /// # Ok(()) }
    /// ```
    pub fn set_timeout(&self, timeout: Duration) -> Result<()> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::set_timeout", async move { sandbox.set_timeout(timeout).await })
    }

    /// Replaces the sandbox's egress configuration; what `network` does not set is cleared.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.update_network(&e2b_blocking::NetworkUpdate::new().deny_out(["0.0.0.0/0"]))?;
    /// # Ok(()) }
    /// ```
    pub fn update_network(&self, network: &NetworkUpdate) -> Result<()> {
        let (sandbox, network) = (self.inner.clone(), network.clone());
        runtime::run("Sandbox::update_network", async move { sandbox.update_network(&network).await })
    }

    /// Forks the sandbox: it is checkpointed in place and new sandboxes start from the
    /// checkpoint.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let copy = sandbox.fork().send()?.remove(0)?;
    /// copy.commands().run("ls").send()?;
    /// # Ok(()) }
    /// ```
    pub fn fork(&self) -> ForkSandbox {
        ForkSandbox { inner: self.inner.fork() }
    }

    /// Information about the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let info = sandbox.get_info()?;
    /// println!("ends at {}", info.end_at);
    /// # Ok(()) }
    /// ```
    pub fn get_info(&self) -> Result<SandboxInfo> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::get_info", async move { sandbox.get_info().await })
    }

    /// Resource-usage samples. Needs envd 0.1.5
    /// ([`Error::Template`](crate::Error::Template) otherwise); before 0.2.4
    /// disk figures are missing. Empty in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// for sample in sandbox.get_metrics().send()? {
    ///     println!("{:.1}% CPU", sample.cpu_used_pct);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn get_metrics(&self) -> GetMetrics {
        GetMetrics { inner: self.inner.get_metrics() }
    }

    /// Pauses the sandbox; returns `false` if it was already paused.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pause().send()?;
    /// let same = sandbox.resume().send()?;
    /// # let _ = same; Ok(()) }
    /// ```
    pub fn pause(&self) -> PauseSandbox {
        PauseSandbox { inner: self.inner.pause() }
    }

    /// The earlier name of [`pause`](Self::pause).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// #[allow(deprecated)]
    /// sandbox.beta_pause()?;
    /// # Ok(()) }
    /// ```
    #[deprecated(note = "use `pause`")]
    #[allow(deprecated)]
    pub fn beta_pause(&self) -> Result<bool> {
        let sandbox = self.inner.clone();
        runtime::run("Sandbox::beta_pause", async move { sandbox.beta_pause().await })
    }

    /// Connects again: resumes the sandbox if it is paused, otherwise
    /// extends its life to at least `timeout` (default 300 s) from now. The
    /// official SDKs call this `connect` on an instance.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.resume().timeout(std::time::Duration::from_secs(600)).send()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "connect")]
    pub fn resume(&self) -> ResumeSandbox {
        ResumeSandbox { inner: self.inner.resume() }
    }

    /// Stores a persistent snapshot; the sandbox keeps running.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let snapshot = sandbox.create_snapshot().send()?;
    /// println!("{}", snapshot.snapshot_id);
    /// # Ok(()) }
    /// ```
    pub fn create_snapshot(&self) -> CreateSnapshot {
        CreateSnapshot { inner: self.inner.create_snapshot() }
    }

    /// Pages through this sandbox's snapshots.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let snapshots = sandbox.list_snapshots().next_items()?;
    /// # let _ = snapshots; Ok(()) }
    /// ```
    pub fn list_snapshots(&self) -> SnapshotPaginator {
        SnapshotPaginator::new(self.inner.list_snapshots())
    }

    /// A URL that downloads `path` without the SDK (signed when the
    /// sandbox is secure). Building it needs no runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let link = sandbox.download_url("/home/user/out.zip").build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn download_url(&self, path: impl Into<String>) -> FileUrl {
        self.inner.download_url(path)
    }

    /// A URL that uploads to `path` with a `multipart/form-data` POST,
    /// without the SDK (signed when the sandbox is secure). Building it
    /// needs no runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let link = sandbox.upload_url("/home/user/in.csv").build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn upload_url(&self, path: impl Into<String>) -> FileUrl {
        self.inner.upload_url(path)
    }
}

/// Resumes or extends a sandbox; from [`Sandbox::resume`].
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// sandbox.resume().send()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct ResumeSandbox {
    inner: e2b::ResumeSandbox,
}

impl ResumeSandbox {
    /// How long the sandbox should live from now (default 300 s); a running
    /// sandbox's life is only ever extended.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.resume().timeout(std::time::Duration::from_secs(900)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.resume().request_timeout(std::time::Duration::from_secs(30)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request. Skipped in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.resume().send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Sandbox> {
        runtime::run("ResumeSandbox::send", self.inner.send()).map(Sandbox::from)
    }
}

/// A new sandbox; from [`Sandbox::builder`] or [`Client::sandbox`]. Finish
/// with [`create`](Self::create).
///
/// Defaults: template `base`, 300 s timeout, secure (envd requires an
/// access token), internet access allowed, no metadata or environment.
///
/// # Example
///
/// ```no_run
/// # fn demo() -> Result<(), e2b_blocking::Error> {
/// use std::time::Duration;
/// use e2b_blocking::{Lifecycle, NetworkConfig, OnTimeout};
///
/// let sandbox = e2b_blocking::Sandbox::builder()
///     .template("base")
///     .timeout(Duration::from_secs(600))
///     .metadata("owner", "ci")
///     .env("RUST_LOG", "debug")
///     .network(NetworkConfig::new().allow_out(["pypi.org", "files.pythonhosted.org"]).deny_out(["0.0.0.0/0"]))
///     .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true))
///     .create()?;
/// println!("created {}", sandbox.sandbox_id());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct SandboxBuilder {
    inner: e2b::SandboxBuilder,
}

impl From<e2b::SandboxBuilder> for SandboxBuilder {
    fn from(inner: e2b::SandboxBuilder) -> Self {
        Self { inner }
    }
}

impl SandboxBuilder {
    /// Create through this client instead of one configured from the
    /// environment.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let client = e2b_blocking::Client::new(e2b_blocking::ConnectionConfig::builder().api_key("e2b_01").build()?);
    /// let sandbox = e2b_blocking::Sandbox::builder().client(client).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn client(self, client: Client) -> Self {
        Self { inner: self.inner.client(client.into()) }
    }

    /// The template: an ID, an alias, `namespace/alias`, or a snapshot ID
    /// with its `:tag` (default `base`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().template("code-interpreter-v1").create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn template(self, template: impl Into<String>) -> Self {
        Self { inner: self.inner.template(template) }
    }

    /// How long the sandbox lives (default 300 s; zero means the default;
    /// rounded up to whole seconds). Extend it later with
    /// [`Sandbox::set_timeout`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().timeout(std::time::Duration::from_secs(3600)).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// A metadata entry, for filtering listings.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().metadata("user", "42").create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { inner: self.inner.metadata(key, value) }
    }

    /// An environment variable for every process in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().env("OPENAI_BASE_URL", "http://proxy").create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { inner: self.inner.env(name, value) }
    }

    /// Several environment variables.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().envs([("A", "1"), ("B", "2")]).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn envs<I, K, V>(self, envs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { inner: self.inner.envs(envs) }
    }

    /// Whether envd requires the access token the API hands out (default
    /// `true`; needs envd 0.2.0 or later).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().secure(false).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn secure(self, secure: bool) -> Self {
        Self { inner: self.inner.secure(secure) }
    }

    /// Whether the sandbox may reach the internet (default `true`); `false`
    /// is the same as denying `0.0.0.0/0`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().allow_internet_access(false).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn allow_internet_access(self, allow: bool) -> Self {
        Self { inner: self.inner.allow_internet_access(allow) }
    }

    /// Network rules.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let network = e2b_blocking::NetworkConfig::new().deny_out(["10.0.0.0/8"]);
    /// let sandbox = e2b_blocking::Sandbox::builder().network(network).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn network(self, network: NetworkConfig) -> Self {
        Self { inner: self.inner.network(network) }
    }

    /// What happens on timeout; checked before anything is sent (see
    /// [`Lifecycle`]).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// use e2b_blocking::{Lifecycle, OnTimeout};
    ///
    /// let sandbox = e2b_blocking::Sandbox::builder()
    ///     .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false))
    ///     .create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn lifecycle(self, lifecycle: Lifecycle) -> Self {
        Self { inner: self.inner.lifecycle(lifecycle) }
    }

    /// For [`beta_create`](Self::beta_create): pause instead of kill on
    /// timeout. Prefer [`lifecycle`](Self::lifecycle).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// #[allow(deprecated)]
    /// let sandbox = e2b_blocking::Sandbox::builder().auto_pause(true).beta_create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn auto_pause(self, auto_pause: bool) -> Self {
        Self { inner: self.inner.auto_pause(auto_pause) }
    }

    /// An MCP gateway configuration: the sandbox (template `mcp-gateway`
    /// unless another is named) starts the gateway, as `root`, right after
    /// it is created; its URL is [`Sandbox::get_mcp_url`] and its token
    /// [`Sandbox::get_mcp_token`]. If the gateway fails to start, the
    /// sandbox is killed and the error says why.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder()
    ///     .mcp(serde_json::json!({"github": {"githubPersonalAccessToken": "ghp_…"}}))
    ///     .create()?;
    /// println!("{}", sandbox.get_mcp_url());
    /// # Ok(()) }
    /// ```
    pub fn mcp(self, config: serde_json::Value) -> Self {
        Self { inner: self.inner.mcp(config) }
    }

    /// The deadline of the create request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().request_timeout(std::time::Duration::from_secs(120)).create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Creates the sandbox. In debug mode nothing is sent: the sandbox is
    /// the envd at `localhost:49983`, with ID `debug_sandbox_id`.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// for an invalid lifecycle before sending, and with
    /// [`Error::Template`](crate::Error::Template) (after killing the new
    /// sandbox) when the template's envd is too old for this SDK.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// let sandbox = e2b_blocking::Sandbox::builder().create()?;
    /// println!("{}", sandbox.sandbox_id());
    /// # Ok(()) }
    /// ```
    pub fn create(self) -> Result<Sandbox> {
        runtime::run("SandboxBuilder::create", self.inner.create()).map(Sandbox::from)
    }

    /// Creates the sandbox the way the SDK's beta API did, sending
    /// [`auto_pause`](Self::auto_pause) as given.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), e2b_blocking::Error> {
    /// #[allow(deprecated)]
    /// let sandbox = e2b_blocking::Sandbox::builder().auto_pause(true).beta_create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    #[deprecated(note = "use `lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause))` and `create`")]
    #[allow(deprecated)]
    pub fn beta_create(self) -> Result<Sandbox> {
        runtime::run("SandboxBuilder::beta_create", self.inner.beta_create()).map(Sandbox::from)
    }
}
