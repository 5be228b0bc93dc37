//! [`Client`]: the control plane, bound to a [`ConnectionConfig`]. It creates
//! and connects sandboxes and runs every lifecycle operation that takes a
//! sandbox ID.

use std::time::Duration;

use chrono::{DateTime, Utc};
use e2b_api::control::types;
use futures::future::BoxFuture;

use crate::config::ConnectionConfig;
use crate::control::{self, ApiCall, ApiFailure};
use crate::error::{Error, Phase, Result, Stage};
use crate::paginator::{Page, SandboxPaginator, SnapshotPaginator};
use crate::retry::Idempotency;
use crate::sandbox::query::encode_metadata;
use crate::sandbox::{
    ForkSandbox, NetworkUpdate, Sandbox, SandboxBuilder, SandboxInfo, SandboxMetrics, SandboxQuery,
    SnapshotInfo, SnapshotQuery,
};
use crate::version::{EnvdFeature, EnvdVersion};
use e2b_api::control::Client as ApiClient;

/// A sandbox lives this long unless told otherwise.
pub(crate) const DEFAULT_SANDBOX_TIMEOUT_SECS: i32 = 300;

/// Whole seconds for the API, rounded up so that a short non-zero duration
/// does not turn into "no timeout".
pub(crate) fn seconds(duration: Duration) -> i32 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// A sandbox lifetime for create/connect: unset or zero means the default.
pub(crate) fn lifetime_seconds(timeout: Option<Duration>) -> i32 {
    match timeout {
        Some(timeout) if !timeout.is_zero() => seconds(timeout),
        _ => DEFAULT_SANDBOX_TIMEOUT_SECS,
    }
}

/// The control plane: creates and connects sandboxes, and runs lifecycle
/// operations by sandbox ID. Cheap to clone; clones share the connection
/// pool.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// let client = e2b::Client::from_env()?;
/// let sandbox = client.sandbox().template("base").create().await?;
/// let info = client.get_info(sandbox.sandbox_id()).await?;
/// println!("{} runs until {}", info.sandbox_id, info.end_at);
/// assert!(client.kill(sandbox.sandbox_id()).await?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    config: ConnectionConfig,
}

impl Client {
    /// A client with this configuration.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().api_key("e2b_01").build()?;
    /// let client = e2b::Client::new(config);
    /// assert_eq!(client.config().api_key(), Some("e2b_01"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn new(config: ConnectionConfig) -> Self {
        Self { config }
    }

    /// A client configured from the environment (see [`ConnectionConfig`]).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let client = e2b::Client::from_env()?;
    /// # let _ = client;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Ok(Self::new(ConnectionConfig::from_env()?))
    }

    /// The configuration.
    ///
    /// # Example
    ///
    /// ```
    /// let client = e2b::Client::new(e2b::ConnectionConfig::builder().domain("e2b.dev").build()?);
    /// assert_eq!(client.config().domain(), "e2b.dev");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// A builder for a new sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let sandbox = client.sandbox().template("base").metadata("owner", "ci").create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn sandbox(&self) -> SandboxBuilder {
        SandboxBuilder::with_client(self.clone())
    }

    /// Connects to a sandbox by ID, resuming it if it is paused. The
    /// timeout (default 300 s) only ever extends a running sandbox's life.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// use std::time::Duration;
    ///
    /// let sandbox = client.connect("i1b2c3d4e5f6g7h8j9k0").timeout(Duration::from_secs(600)).await?;
    /// println!("envd {}", sandbox.envd_version());
    /// # Ok(()) }
    /// ```
    pub fn connect(&self, sandbox_id: impl Into<String>) -> ConnectSandbox {
        ConnectSandbox {
            client: Some(self.clone()),
            sandbox_id: sandbox_id.into(),
            timeout: None,
            request_timeout: None,
        }
    }

    /// Kills a sandbox. `Ok(false)` if it did not exist. In debug mode
    /// nothing is sent and the answer is `true`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// if !client.kill("i1b2c3d4e5f6g7h8j9k0").await? {
    ///     println!("it was already gone");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self, sandbox_id: &str) -> Result<bool> {
        if self.config.debug() {
            return Ok(true);
        }
        let call = ApiCall::new("kill sandbox", Idempotency::Idempotent, &self.config).sandbox(sandbox_id);
        let result = control::call(&self.config, call, |api: ApiClient| async move {
            api.kill_sandbox().sandbox_id(sandbox_id).send().await
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(failure) if failure.status() == Some(404) => Ok(false),
            Err(failure) => Err(failure.into_error()),
        }
    }

    /// Sets a sandbox to expire `timeout` from now; this may shorten its
    /// life. Skipped in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// client.set_timeout("i1b2c3d4e5f6g7h8j9k0", std::time::Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_timeout(&self, sandbox_id: &str, timeout: Duration) -> Result<()> {
        if self.config.debug() {
            return Ok(());
        }
        let call =
            ApiCall::new("set sandbox timeout", Idempotency::Idempotent, &self.config).sandbox(sandbox_id);
        let body = &types::SandboxTimeoutRequest { timeout: seconds(timeout) };
        control::call(&self.config, call, |api: ApiClient| async move {
            api.set_sandbox_timeout().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await
        .map(drop)
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))
    }

    /// Replaces a running sandbox's egress configuration atomically: what `network` does
    /// not set is cleared. Skipped in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let offline = e2b::NetworkUpdate::new().allow_internet_access(false);
    /// client.update_network("i1b2c3d4e5f6g7h8j9k0", &offline).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_network(&self, sandbox_id: &str, network: &NetworkUpdate) -> Result<()> {
        if self.config.debug() {
            return Ok(());
        }
        // Idempotent: the same update twice leaves the same configuration.
        let call = ApiCall::new("update sandbox network", Idempotency::Idempotent, &self.config)
            .sandbox(sandbox_id)
            .json_body(network.to_json());
        let body = &types::SandboxNetworkUpdateConfig::default();
        control::call(&self.config, call, |api: ApiClient| async move {
            api.update_sandbox_network().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await
        .map(drop)
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))
    }

    /// Forks a running sandbox: it is checkpointed in place (its ID and lifetime stay)
    /// and new sandboxes start from the checkpoint.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let forks = client.fork("i1b2c3d4e5f6g7h8j9k0").count(2).await?;
    /// println!("{} of 2 forks started", forks.iter().filter(|f| f.is_ok()).count());
    /// # Ok(()) }
    /// ```
    pub fn fork(&self, sandbox_id: impl Into<String>) -> ForkSandbox {
        ForkSandbox::new(self.clone(), sandbox_id.into())
    }

    /// Information about a sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let info = client.get_info("i1b2c3d4e5f6g7h8j9k0").await?;
    /// println!("{:?} with {} vCPUs", info.state, info.cpu_count);
    /// # Ok(()) }
    /// ```
    pub async fn get_info(&self, sandbox_id: &str) -> Result<SandboxInfo> {
        let call =
            ApiCall::new("get sandbox info", Idempotency::Idempotent, &self.config).sandbox(sandbox_id);
        let response = control::call(&self.config, call, |api: ApiClient| async move {
            api.get_sandbox().sandbox_id(sandbox_id).send().await
        })
        .await
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))?;
        Ok(SandboxInfo::from_detail(response.value))
    }

    /// Resource-usage samples of a sandbox, optionally between `start` and
    /// `end`. Empty in debug mode.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    /// let samples = client.get_metrics("i1b2c3d4e5f6g7h8j9k0").start(since).await?;
    /// println!("{} samples", samples.len());
    /// # Ok(()) }
    /// ```
    pub fn get_metrics(&self, sandbox_id: impl Into<String>) -> GetMetrics {
        GetMetrics {
            client: self.clone(),
            sandbox_id: sandbox_id.into(),
            start: None,
            end: None,
            request_timeout: None,
            envd_version: None,
        }
    }

    /// Pauses a sandbox. `Ok(false)` if it was already paused.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let paused = client.pause("i1b2c3d4e5f6g7h8j9k0").keep_memory(false).await?;
    /// # let _ = paused; Ok(()) }
    /// ```
    pub fn pause(&self, sandbox_id: impl Into<String>) -> PauseSandbox {
        PauseSandbox {
            client: self.clone(),
            sandbox_id: sandbox_id.into(),
            keep_memory: true,
            request_timeout: None,
        }
    }

    /// The earlier name of [`pause`](Self::pause).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// #[allow(deprecated)]
    /// client.beta_pause("i1b2c3d4e5f6g7h8j9k0").await?;
    /// # Ok(()) }
    /// ```
    #[deprecated(note = "use `pause`")]
    pub async fn beta_pause(&self, sandbox_id: &str) -> Result<bool> {
        self.pause(sandbox_id).await
    }

    /// Stores a persistent snapshot of a sandbox, which keeps running; the
    /// snapshot ID works as a template.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let snapshot = client.create_snapshot("i1b2c3d4e5f6g7h8j9k0").name("after-setup").await?;
    /// println!("{}", snapshot.snapshot_id);
    /// # Ok(()) }
    /// ```
    pub fn create_snapshot(&self, sandbox_id: impl Into<String>) -> CreateSnapshot {
        CreateSnapshot {
            client: self.clone(),
            sandbox_id: sandbox_id.into(),
            name: None,
            request_timeout: None,
        }
    }

    /// Pages through snapshots, newest first.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let mut pages = client.list_snapshots(e2b::SnapshotQuery::new().limit(10));
    /// while pages.has_next() {
    ///     for snapshot in pages.next_items().await? {
    ///         println!("{}", snapshot.snapshot_id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_snapshots(&self, query: SnapshotQuery) -> SnapshotPaginator {
        const OPERATION: &str = "list snapshots";
        let client = self.clone();
        let first = query.next_token.clone();
        SnapshotPaginator::new(OPERATION, first, move |token| {
            let (client, query) = (client.clone(), query.clone());
            Box::pin(async move {
                let limit = checked_limit(OPERATION, query.limit)?;
                let call = ApiCall::new(OPERATION, Idempotency::Idempotent, &client.config);
                let (query, token) = (&query, &token);
                let response = control::call(&client.config, call, |api: ApiClient| async move {
                    let mut request = api.list_snapshots();
                    if let Some(id) = query.sandbox_id.as_deref().filter(|s| !s.is_empty()) {
                        request = request.sandbox_id(id);
                    }
                    if let Some(name) = query.name.as_deref().filter(|s| !s.is_empty()) {
                        request = request.name(name);
                    }
                    if let Some(limit) = limit {
                        request = request.limit(limit);
                    }
                    if let Some(token) = token.as_deref().filter(|s| !s.is_empty()) {
                        request = request.next_token(token);
                    }
                    request.send().await
                })
                .await
                .map_err(ApiFailure::into_error)?;
                Ok(page(response.headers, response.value.into_iter().map(SnapshotInfo::from_api).collect()))
            }) as BoxFuture<'static, _>
        })
    }

    /// Deletes a snapshot. `Ok(false)` if it did not exist.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// client.delete_snapshot("team/my-snap:v2").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_snapshot(&self, snapshot_id: &str) -> Result<bool> {
        let call = ApiCall::new("delete snapshot", Idempotency::Idempotent, &self.config);
        let result = control::call(&self.config, call, |api: ApiClient| async move {
            // The e2b-api hook escapes the ID as one path segment.
            api.delete_template().template_id(snapshot_id).send().await
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(failure) if failure.status() == Some(404) => Ok(false),
            Err(failure) => Err(failure.into_error()),
        }
    }

    /// Pages through sandboxes (running and paused unless filtered).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// use e2b::{SandboxQuery, SandboxState};
    ///
    /// let mut pages = client.list(SandboxQuery::new().metadata("owner", "ci").state([SandboxState::Running]));
    /// let first_page = pages.next_items().await?;
    /// # let _ = first_page; Ok(()) }
    /// ```
    pub fn list(&self, query: SandboxQuery) -> SandboxPaginator {
        const OPERATION: &str = "list sandboxes";
        let client = self.clone();
        let first = query.next_token.clone();
        SandboxPaginator::new(OPERATION, first, move |token| {
            let (client, query) = (client.clone(), query.clone());
            Box::pin(async move {
                let limit = checked_limit(OPERATION, query.limit)?;
                let metadata = encode_metadata(&query.metadata);
                let state: Vec<types::SandboxState> = query.state.iter().map(|s| s.to_api()).collect();
                let call = ApiCall::new(OPERATION, Idempotency::Idempotent, &client.config);
                let (query, token, metadata, state) = (&query, &token, &metadata, &state);
                let response = control::call(&client.config, call, |api: ApiClient| async move {
                    let mut request = api.list_sandboxes();
                    if !metadata.is_empty() {
                        request = request.metadata(metadata.as_str());
                    }
                    if !state.is_empty() {
                        request = request.state(state.clone());
                    }
                    if let Some(started_after) = query.started_after {
                        request = request.started_after(started_after);
                    }
                    if let Some(template) = query.template.as_deref().filter(|s| !s.is_empty()) {
                        request = request.template(template);
                    }
                    if let Some(order) = query.order {
                        request = request.order(match order {
                            crate::ListOrder::Asc => types::OrderDirection::Asc,
                            crate::ListOrder::Desc => types::OrderDirection::Desc,
                        });
                    }
                    if let Some(limit) = limit {
                        request = request.limit(limit);
                    }
                    if let Some(token) = token.as_deref().filter(|s| !s.is_empty()) {
                        request = request.next_token(token);
                    }
                    request.send().await
                })
                .await
                .map_err(ApiFailure::into_error)?;
                Ok(page(response.headers, response.value.into_iter().map(SandboxInfo::from_listed).collect()))
            }) as BoxFuture<'static, _>
        })
    }

    /// `POST /sandboxes/{id}/connect`.
    pub(crate) async fn connect_api(
        &self,
        sandbox_id: &str,
        timeout: Option<Duration>,
        request_timeout: Option<Duration>,
    ) -> Result<types::Sandbox> {
        let call = ApiCall::new("connect sandbox", Idempotency::Idempotent, &self.config)
            .sandbox(sandbox_id)
            .timeout(request_timeout);
        let body = &types::ConnectSandbox { timeout: lifetime_seconds(timeout) };
        let response = control::call(&self.config, call, |api: ApiClient| async move {
            api.connect_sandbox().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))?;
        Ok(response.value)
    }
}

/// Page sizes the API accepts.
fn checked_limit(operation: &'static str, limit: Option<u32>) -> Result<Option<std::num::NonZeroU32>> {
    match limit {
        None => Ok(None),
        Some(limit @ 1..=100) => Ok(std::num::NonZeroU32::new(limit)),
        Some(limit) => Err(Error::invalid_argument(
            Stage::new(operation, Phase::Validate),
            format!("limit must be between 1 and 100, not {limit}"),
        )),
    }
}

fn page<T>(headers: reqwest::header::HeaderMap, items: Vec<T>) -> Page<T> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Page {
        items,
        next_token: header("x-next-token").filter(|t| !t.is_empty()),
        total_running: header("x-total-running").and_then(|t| t.trim().parse().ok()),
    }
}

/// Implements `IntoFuture` for a request builder with an `async fn send`.
macro_rules! send_on_await {
    ($builder:ty => $output:ty) => {
        impl ::std::future::IntoFuture for $builder {
            type Output = $crate::Result<$output>;
            type IntoFuture = ::futures::future::BoxFuture<'static, $crate::Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.send())
            }
        }
    };
}
pub(crate) use send_on_await;

/// Connects to a sandbox by ID; from [`Client::connect`] or
/// [`Sandbox::connect`]. Await it, or call [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// let sandbox = e2b::Sandbox::connect("i1b2c3d4e5f6g7h8j9k0").await?;
/// # let _ = sandbox; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ConnectSandbox {
    /// `None`: configured from the environment when sent.
    pub(crate) client: Option<Client>,
    pub(crate) sandbox_id: String,
    pub(crate) timeout: Option<Duration>,
    pub(crate) request_timeout: Option<Duration>,
}

impl ConnectSandbox {
    /// How long the sandbox should live from now (default 300 s); a running
    /// sandbox's life is only ever extended.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let sandbox = client.connect("id").timeout(std::time::Duration::from_secs(900)).await?;
    /// # let _ = sandbox; Ok(()) }
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
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let sandbox = client.connect("id").request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let sandbox = client.connect("id").send().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Sandbox> {
        let client = match self.client {
            Some(client) => client,
            None => Client::from_env()?,
        };
        if client.config.debug() {
            return Sandbox::debug(client, &self.sandbox_id);
        }
        let response = client.connect_api(&self.sandbox_id, self.timeout, self.request_timeout).await?;
        Sandbox::from_api(client, response, "connect sandbox")
    }
}

send_on_await!(ConnectSandbox => Sandbox);

/// Fetches a sandbox's metrics; from [`Client::get_metrics`] or
/// [`Sandbox::get_metrics`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let samples = sandbox.get_metrics().end(chrono::Utc::now()).await?;
/// # let _ = samples; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct GetMetrics {
    client: Client,
    sandbox_id: String,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    request_timeout: Option<Duration>,
    /// The sandbox's envd, when known, for the version gate.
    envd_version: Option<EnvdVersion>,
}

impl GetMetrics {
    /// Only samples from this moment on (default: the sandbox's start).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let recent = sandbox.get_metrics().start(chrono::Utc::now() - chrono::Duration::seconds(30)).await?;
    /// # let _ = recent; Ok(()) }
    /// ```
    pub fn start(mut self, start: DateTime<Utc>) -> Self {
        self.start = Some(start);
        self
    }

    /// Only samples up to this moment (default: now).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let until_now = sandbox.get_metrics().end(chrono::Utc::now()).await?;
    /// # let _ = until_now; Ok(()) }
    /// ```
    pub fn end(mut self, end: DateTime<Utc>) -> Self {
        self.end = Some(end);
        self
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let m = sandbox.get_metrics().request_timeout(std::time::Duration::from_secs(3)).await?;
    /// # let _ = m; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    pub(crate) fn gated_by(mut self, version: EnvdVersion) -> Self {
        self.envd_version = Some(version);
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let samples = client.get_metrics("id").send().await?;
    /// # let _ = samples; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<SandboxMetrics>> {
        const OPERATION: &str = "get sandbox metrics";
        if self.client.config.debug() {
            return Ok(Vec::new());
        }
        if let Some(version) = self.envd_version {
            version.require(EnvdFeature::Metrics, OPERATION)?;
            if !version.supports(EnvdFeature::DiskMetrics) {
                tracing::warn!(
                    %version,
                    "disk metrics need envd {}; rebuild the template to get them",
                    EnvdFeature::DiskMetrics.min_version()
                );
            }
        }
        let (start, end) = (self.start.map(|t| t.timestamp()), self.end.map(|t| t.timestamp()));
        let config = &self.client.config;
        let sandbox_id = self.sandbox_id.as_str();
        let call = ApiCall::new(OPERATION, Idempotency::Idempotent, config)
            .sandbox(sandbox_id)
            .timeout(self.request_timeout);
        let response = control::call(config, call, |api: ApiClient| async move {
            let mut request = api.get_sandbox_metrics().sandbox_id(sandbox_id);
            if let Some(start) = start {
                request = request.start(start);
            }
            if let Some(end) = end {
                request = request.end(end);
            }
            request.send().await
        })
        .await
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))?;
        Ok(response.value.into_iter().map(SandboxMetrics::from_api).collect())
    }
}

send_on_await!(GetMetrics => Vec<SandboxMetrics>);

/// Pauses a sandbox; from [`Client::pause`] or [`Sandbox::pause`].
/// Resolves to `false` if it was already paused.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let newly_paused = sandbox.pause().await?;
/// # let _ = newly_paused; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct PauseSandbox {
    client: Client,
    sandbox_id: String,
    keep_memory: bool,
    request_timeout: Option<Duration>,
}

impl PauseSandbox {
    /// `false` keeps only the filesystem (no memory snapshot): resuming then
    /// cold-boots the sandbox. Default `true`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.pause().keep_memory(false).await?;
    /// # Ok(()) }
    /// ```
    pub fn keep_memory(mut self, keep: bool) -> Self {
        self.keep_memory = keep;
        self
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.pause().request_timeout(std::time::Duration::from_secs(120)).await?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// client.pause("id").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<bool> {
        let config = &self.client.config;
        let sandbox_id = self.sandbox_id.as_str();
        // Not idempotent: repeating a pause whose answer was lost would
        // report "already paused".
        let call = ApiCall::new("pause sandbox", Idempotency::NonIdempotent, config)
            .sandbox(sandbox_id)
            .timeout(self.request_timeout);
        let body = &types::SandboxPauseRequest { memory: self.keep_memory };
        let result = control::call(config, call, |api: ApiClient| async move {
            api.pause_sandbox().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(failure) if failure.status() == Some(409) => Ok(false),
            Err(failure) => Err(failure.into_error_404_sandbox(sandbox_id)),
        }
    }
}

send_on_await!(PauseSandbox => bool);

/// Snapshots a sandbox; from [`Client::create_snapshot`] or
/// [`Sandbox::create_snapshot`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let snapshot = sandbox.create_snapshot().name("golden").await?;
/// # let _ = snapshot; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct CreateSnapshot {
    client: Client,
    sandbox_id: String,
    name: Option<String>,
    request_timeout: Option<Duration>,
}

impl CreateSnapshot {
    /// Store the snapshot under this name (adding a version to an existing
    /// snapshot of that name).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.create_snapshot().name("after-install").await?;
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.create_snapshot().request_timeout(std::time::Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let snapshot = client.create_snapshot("id").send().await?;
    /// # let _ = snapshot; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<SnapshotInfo> {
        let config = &self.client.config;
        let sandbox_id = self.sandbox_id.as_str();
        let call = ApiCall::new("create snapshot", Idempotency::NonIdempotent, config)
            .sandbox(sandbox_id)
            .timeout(self.request_timeout);
        let body = &types::SandboxSnapshotRequest { name: self.name.filter(|n| !n.is_empty()) };
        let response = control::call(config, call, |api: ApiClient| async move {
            api.create_snapshot().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await
        .map_err(|failure| failure.into_error_404_sandbox(sandbox_id))?;
        Ok(SnapshotInfo::from_api(response.value))
    }
}

send_on_await!(CreateSnapshot => SnapshotInfo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_and_default() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(60)), 60);
        assert_eq!(seconds(Duration::from_millis(60_001)), 61);
        assert_eq!(seconds(Duration::from_secs(u64::MAX)), i32::MAX);
        assert_eq!(lifetime_seconds(None), 300);
        assert_eq!(lifetime_seconds(Some(Duration::ZERO)), 300);
        assert_eq!(lifetime_seconds(Some(Duration::from_secs(90))), 90);
    }

    #[test]
    fn limits_outside_the_api_range_are_rejected() {
        assert_eq!(checked_limit("op", None).unwrap(), None);
        assert_eq!(checked_limit("op", Some(100)).unwrap().map(|l| l.get()), Some(100));
        assert!(checked_limit("op", Some(0)).is_err());
        assert!(checked_limit("op", Some(101)).is_err());
    }

    #[test]
    fn page_headers() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-next-token", "abc".parse().unwrap());
        headers.insert("x-total-running", "12".parse().unwrap());
        let p = page(headers, vec![1]);
        assert_eq!((p.next_token.as_deref(), p.total_running), (Some("abc"), Some(12)));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-next-token", "".parse().unwrap());
        assert_eq!(page(headers, vec![0u8]).next_token, None);
    }
}
