//! [`Client`]: the control plane, bound to a [`ConnectionConfig`]. It creates
//! and connects sandboxes and runs every lifecycle operation that takes a
//! sandbox ID.

use std::time::Duration;

use chrono::{DateTime, Utc};
use e2b::{
    ConnectionConfig, NetworkUpdate, Result, SandboxMetrics, SandboxQuery, SnapshotInfo, SnapshotQuery,
};

use crate::paginator::{SandboxPaginator, SnapshotPaginator};
use crate::runtime;
use crate::sandbox::{Sandbox, SandboxBuilder};

/// The control plane: creates and connects sandboxes, and runs lifecycle
/// operations by sandbox ID. Cheap to clone; clones share the connection
/// pool.
///
/// # Example
///
/// ```no_run
/// # fn demo() -> Result<(), e2b_blocking::Error> {
/// let client = e2b_blocking::Client::from_env()?;
/// let sandbox = client.sandbox().template("base").create()?;
/// let info = client.get_info(sandbox.sandbox_id())?;
/// println!("{} runs until {}", info.sandbox_id, info.end_at);
/// assert!(client.kill(sandbox.sandbox_id())?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: e2b::Client,
}

impl From<e2b::Client> for Client {
    fn from(inner: e2b::Client) -> Self {
        Self { inner }
    }
}

impl From<Client> for e2b::Client {
    fn from(client: Client) -> Self {
        client.inner
    }
}

impl Client {
    /// A client with this configuration.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b_blocking::ConnectionConfig::builder().api_key("e2b_01").build()?;
    /// let client = e2b_blocking::Client::new(config);
    /// assert_eq!(client.config().api_key(), Some("e2b_01"));
    /// # Ok::<(), e2b_blocking::Error>(())
    /// ```
    pub fn new(config: ConnectionConfig) -> Self {
        Self { inner: e2b::Client::new(config) }
    }

    /// A client configured from the environment (see [`ConnectionConfig`]).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let client = e2b_blocking::Client::from_env()?;
    /// # let _ = client;
    /// # Ok::<(), e2b_blocking::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        e2b::Client::from_env().map(Self::from)
    }

    /// The configuration.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b_blocking::ConnectionConfig::builder().domain("e2b.dev").build()?;
    /// let client = e2b_blocking::Client::new(config);
    /// assert_eq!(client.config().domain(), "e2b.dev");
    /// # Ok::<(), e2b_blocking::Error>(())
    /// ```
    pub fn config(&self) -> &ConnectionConfig {
        self.inner.config()
    }

    /// The async client this one drives, e.g. to hand to async code.
    ///
    /// # Example
    ///
    /// ```
    /// let client = e2b_blocking::Client::new(e2b_blocking::ConnectionConfig::builder().api_key("e2b_01").build()?);
    /// let async_client: &e2b::Client = client.as_async();
    /// assert_eq!(async_client.config().api_key(), Some("e2b_01"));
    /// # Ok::<(), e2b_blocking::Error>(())
    /// ```
    pub fn as_async(&self) -> &e2b::Client {
        &self.inner
    }

    /// A builder for a new sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let sandbox = client.sandbox().template("base").metadata("owner", "ci").create()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn sandbox(&self) -> SandboxBuilder {
        SandboxBuilder::from(self.inner.sandbox())
    }

    /// Connects to a sandbox by ID, resuming it if it is paused. The
    /// timeout (default 300 s) only ever extends a running sandbox's life.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// use std::time::Duration;
    ///
    /// let sandbox = client.connect("i1b2c3d4e5f6g7h8j9k0").timeout(Duration::from_secs(600)).send()?;
    /// println!("envd {}", sandbox.envd_version());
    /// # Ok(()) }
    /// ```
    pub fn connect(&self, sandbox_id: impl Into<String>) -> ConnectSandbox {
        ConnectSandbox { inner: self.inner.connect(sandbox_id) }
    }

    /// Kills a sandbox. `Ok(false)` if it did not exist. In debug mode
    /// nothing is sent and the answer is `true`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// if !client.kill("i1b2c3d4e5f6g7h8j9k0")? {
    ///     println!("it was already gone");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, sandbox_id: &str) -> Result<bool> {
        let (client, id) = (self.inner.clone(), sandbox_id.to_owned());
        runtime::run("Client::kill", async move { client.kill(&id).await })
    }

    /// Sets a sandbox to expire `timeout` from now; this may shorten its
    /// life. Skipped in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// client.set_timeout("i1b2c3d4e5f6g7h8j9k0", std::time::Duration::from_secs(120))?;
    /// # Ok(()) }
    /// ```
    pub fn set_timeout(&self, sandbox_id: &str, timeout: Duration) -> Result<()> {
        let (client, id) = (self.inner.clone(), sandbox_id.to_owned());
        runtime::run("Client::set_timeout", async move { client.set_timeout(&id, timeout).await })
    }

    /// Replaces a running sandbox's egress configuration; what `network` does not set is
    /// cleared.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// client.update_network("i1b2c3d4e5f6g7h8j9k0", &e2b_blocking::NetworkUpdate::new().allow_internet_access(false))?;
    /// # Ok(()) }
    /// ```
    pub fn update_network(&self, sandbox_id: &str, network: &NetworkUpdate) -> Result<()> {
        let (client, id, network) = (self.inner.clone(), sandbox_id.to_owned(), network.clone());
        runtime::run("Client::update_network", async move { client.update_network(&id, &network).await })
    }

    /// Forks a running sandbox: it is checkpointed in place and new sandboxes start from
    /// the checkpoint.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let forks = client.fork("i1b2c3d4e5f6g7h8j9k0").count(2).send()?;
    /// # let _ = forks; Ok(()) }
    /// ```
    pub fn fork(&self, sandbox_id: impl Into<String>) -> ForkSandbox {
        ForkSandbox { inner: self.inner.fork(sandbox_id) }
    }

    /// Information about a sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let info = client.get_info("i1b2c3d4e5f6g7h8j9k0")?;
    /// println!("{:?} with {} vCPUs", info.state, info.cpu_count);
    /// # Ok(()) }
    /// ```
    pub fn get_info(&self, sandbox_id: &str) -> Result<e2b::SandboxInfo> {
        let (client, id) = (self.inner.clone(), sandbox_id.to_owned());
        runtime::run("Client::get_info", async move { client.get_info(&id).await })
    }

    /// Resource-usage samples of a sandbox, optionally between `start` and
    /// `end`. Empty in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    /// let samples = client.get_metrics("i1b2c3d4e5f6g7h8j9k0").start(since).send()?;
    /// println!("{} samples", samples.len());
    /// # Ok(()) }
    /// ```
    pub fn get_metrics(&self, sandbox_id: impl Into<String>) -> GetMetrics {
        GetMetrics { inner: self.inner.get_metrics(sandbox_id) }
    }

    /// Pauses a sandbox. `Ok(false)` if it was already paused.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let paused = client.pause("i1b2c3d4e5f6g7h8j9k0").keep_memory(false).send()?;
    /// # let _ = paused; Ok(()) }
    /// ```
    pub fn pause(&self, sandbox_id: impl Into<String>) -> PauseSandbox {
        PauseSandbox { inner: self.inner.pause(sandbox_id) }
    }

    /// The earlier name of [`pause`](Self::pause).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// #[allow(deprecated)]
    /// client.beta_pause("i1b2c3d4e5f6g7h8j9k0")?;
    /// # Ok(()) }
    /// ```
    #[deprecated(note = "use `pause`")]
    #[allow(deprecated)]
    pub fn beta_pause(&self, sandbox_id: &str) -> Result<bool> {
        let (client, id) = (self.inner.clone(), sandbox_id.to_owned());
        runtime::run("Client::beta_pause", async move { client.beta_pause(&id).await })
    }

    /// Stores a persistent snapshot of a sandbox, which keeps running; the
    /// snapshot ID works as a template.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let snapshot = client.create_snapshot("i1b2c3d4e5f6g7h8j9k0").name("after-setup").send()?;
    /// println!("{}", snapshot.snapshot_id);
    /// # Ok(()) }
    /// ```
    pub fn create_snapshot(&self, sandbox_id: impl Into<String>) -> CreateSnapshot {
        CreateSnapshot { inner: self.inner.create_snapshot(sandbox_id) }
    }

    /// Pages through snapshots, newest first.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// for snapshot in client.list_snapshots(e2b_blocking::SnapshotQuery::new().limit(10)) {
    ///     println!("{}", snapshot?.snapshot_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_snapshots(&self, query: SnapshotQuery) -> SnapshotPaginator {
        SnapshotPaginator::new(self.inner.list_snapshots(query))
    }

    /// Deletes a snapshot. `Ok(false)` if it did not exist.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// client.delete_snapshot("team/my-snap:v2")?;
    /// # Ok(()) }
    /// ```
    pub fn delete_snapshot(&self, snapshot_id: &str) -> Result<bool> {
        let (client, id) = (self.inner.clone(), snapshot_id.to_owned());
        runtime::run("Client::delete_snapshot", async move { client.delete_snapshot(&id).await })
    }

    /// Pages through sandboxes (running and paused unless filtered).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// use e2b_blocking::{SandboxQuery, SandboxState};
    ///
    /// let mut pages = client.list(SandboxQuery::new().metadata("owner", "ci").state([SandboxState::Running]));
    /// let first_page = pages.next_items()?;
    /// # let _ = first_page; Ok(()) }
    /// ```
    pub fn list(&self, query: SandboxQuery) -> SandboxPaginator {
        SandboxPaginator::new(self.inner.list(query))
    }
}

/// Connects to a sandbox by ID; from [`Client::connect`] or
/// [`Sandbox::connect`]. Finish with [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # fn demo() -> Result<(), e2b_blocking::Error> {
/// let sandbox = e2b_blocking::Sandbox::connect("i1b2c3d4e5f6g7h8j9k0").send()?;
/// # let _ = sandbox; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct ConnectSandbox {
    pub(crate) inner: e2b::ConnectSandbox,
}

impl ConnectSandbox {
    /// How long the sandbox should live from now (default 300 s); a running
    /// sandbox's life is only ever extended.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let sandbox = client.connect("id").timeout(std::time::Duration::from_secs(900)).send()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let sandbox = client.connect("id").request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let sandbox = client.connect("id").send()?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn send(self) -> Result<Sandbox> {
        runtime::run("ConnectSandbox::send", self.inner.send()).map(Sandbox::from)
    }
}

/// Fetches a sandbox's metrics; from [`Client::get_metrics`] or
/// [`Sandbox::get_metrics`].
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let samples = sandbox.get_metrics().end(chrono::Utc::now()).send()?;
/// # let _ = samples; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct GetMetrics {
    pub(crate) inner: e2b::GetMetrics,
}

impl GetMetrics {
    /// Only samples from this moment on (default: the sandbox's start).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let recent = sandbox.get_metrics().start(chrono::Utc::now() - chrono::Duration::seconds(30)).send()?;
    /// # let _ = recent; Ok(()) }
    /// ```
    pub fn start(self, start: DateTime<Utc>) -> Self {
        Self { inner: self.inner.start(start) }
    }

    /// Only samples up to this moment (default: now).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let until_now = sandbox.get_metrics().end(chrono::Utc::now()).send()?;
    /// # let _ = until_now; Ok(()) }
    /// ```
    pub fn end(self, end: DateTime<Utc>) -> Self {
        Self { inner: self.inner.end(end) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let m = sandbox.get_metrics().request_timeout(std::time::Duration::from_secs(3)).send()?;
    /// # let _ = m; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let samples = client.get_metrics("id").send()?;
    /// # let _ = samples; Ok(()) }
    /// ```
    pub fn send(self) -> Result<Vec<SandboxMetrics>> {
        runtime::run("GetMetrics::send", self.inner.send())
    }
}

/// Pauses a sandbox; from [`Client::pause`] or [`Sandbox::pause`].
/// Returns `false` if it was already paused.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let newly_paused = sandbox.pause().send()?;
/// # let _ = newly_paused; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct PauseSandbox {
    pub(crate) inner: e2b::PauseSandbox,
}

impl PauseSandbox {
    /// `false` keeps only the filesystem (no memory snapshot): resuming then
    /// cold-boots the sandbox. Default `true`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pause().keep_memory(false).send()?;
    /// # Ok(()) }
    /// ```
    pub fn keep_memory(self, keep: bool) -> Self {
        Self { inner: self.inner.keep_memory(keep) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pause().request_timeout(std::time::Duration::from_secs(120)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// client.pause("id").send()?;
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<bool> {
        runtime::run("PauseSandbox::send", self.inner.send())
    }
}

/// Forks a sandbox; from [`Client::fork`] or [`Sandbox::fork`]. [`send`](Self::send)
/// returns one entry per requested fork: the new sandbox, or why it failed to start.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// for fork in sandbox.fork().count(2).send()? {
///     println!("forked into {}", fork?.sandbox_id());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct ForkSandbox {
    pub(crate) inner: e2b::ForkSandbox,
}

impl ForkSandbox {
    /// Lifetime of each fork (default 300 s).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.fork().timeout(std::time::Duration::from_secs(600)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How many forks to start (default 1).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// assert_eq!(sandbox.fork().count(3).send()?.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn count(self, count: u32) -> Self {
        Self { inner: self.inner.count(count) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.fork().request_timeout(std::time::Duration::from_secs(120)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let forks = client.fork("id").send()?;
    /// # let _ = forks; Ok(()) }
    /// ```
    pub fn send(self) -> Result<Vec<Result<Sandbox>>> {
        let forks = runtime::run("ForkSandbox::send", self.inner.send())?;
        Ok(forks.into_iter().map(|fork| fork.map(Sandbox::from)).collect())
    }
}

/// Snapshots a sandbox; from [`Client::create_snapshot`] or
/// [`Sandbox::create_snapshot`].
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let snapshot = sandbox.create_snapshot().name("golden").send()?;
/// # let _ = snapshot; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateSnapshot {
    pub(crate) inner: e2b::CreateSnapshot,
}

impl CreateSnapshot {
    /// Store the snapshot under this name (adding a version to an existing
    /// snapshot of that name).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.create_snapshot().name("after-install").send()?;
    /// # Ok(()) }
    /// ```
    pub fn name(self, name: impl Into<String>) -> Self {
        Self { inner: self.inner.name(name) }
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.create_snapshot().request_timeout(std::time::Duration::from_secs(300)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let snapshot = client.create_snapshot("id").send()?;
    /// # let _ = snapshot; Ok(()) }
    /// ```
    pub fn send(self) -> Result<SnapshotInfo> {
        runtime::run("CreateSnapshot::send", self.inner.send())
    }
}
