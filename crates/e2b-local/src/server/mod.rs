//! The E2B-compatible local server: the control-plane REST API (for `E2B_API_URL`), the
//! envd router (for `E2B_SANDBOX_URL`), sandbox lifetimes, and durable state in SQLite, on
//! top of [`crate::runtime`].
//!
//! Official SDKs use it unchanged:
//!
//! ```text
//! E2B_API_URL=http://127.0.0.1:3000 E2B_SANDBOX_URL=http://127.0.0.1:49983 E2B_API_KEY=e2b_… python app.py
//! ```
//!
//! and so do tests and the `e2b` CLI, in-process:
//!
//! ```no_run
//! use e2b_local::runtime::RuntimeConfig;
//! use e2b_local::server::{LocalServer, ServerConfig};
//!
//! # async fn demo() -> Result<(), e2b_local::server::ServerError> {
//! let envd = e2b_local::envd_binary()?;
//! let server = LocalServer::start(
//!     ServerConfig::new(RuntimeConfig::new(envd)).api_addr("127.0.0.1:0".parse().unwrap()),
//! )
//! .await?;
//! println!("E2B_API_URL={} E2B_API_KEY={}", server.api_url(), server.api_key());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

mod api;
mod error;
mod proxy;
mod state;
mod store;

pub use error::ServerError;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runtime::{Runtime, RuntimeConfig, RuntimeEvent, TemplateProgress};
use state::{Limits, State};

/// Default control-plane port (what E2B's SDKs use in debug mode).
pub const DEFAULT_API_PORT: u16 = 3000;
/// Default envd router port (envd's own port, so `E2B_DEBUG` SDKs find it too).
pub const DEFAULT_SANDBOX_PORT: u16 = crate::runtime::ENVD_PORT;

/// How the local server is set up. Build with [`ServerConfig::new`] and the setters.
///
/// ```
/// use e2b_local::runtime::RuntimeConfig;
/// use e2b_local::server::ServerConfig;
/// let config = ServerConfig::new(RuntimeConfig::new("/usr/local/bin/envd"))
///     .api_addr("127.0.0.1:3000".parse().unwrap())
///     .sandbox_addr("127.0.0.1:49983".parse().unwrap())
///     .api_key("e2b_0123456789abcdef");
/// ```
pub struct ServerConfig {
    runtime: RuntimeConfig,
    api_addr: SocketAddr,
    sandbox_addr: SocketAddr,
    api_key: Option<String>,
    database: Option<PathBuf>,
    max_timeout: Duration,
    parallel_creates: usize,
    domain: Option<String>,
    progress: Option<Arc<dyn Fn(TemplateProgress) + Send + Sync>>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("runtime", &self.runtime)
            .field("api_addr", &self.api_addr)
            .field("sandbox_addr", &self.sandbox_addr)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("database", &self.database)
            .field("max_timeout", &self.max_timeout)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults: API on `127.0.0.1:3000`, envd router on `127.0.0.1:49983`, a generated
    /// (and remembered) API key, state in `<runtime root>/server.sqlite`, sandbox
    /// lifetimes up to 24 hours.
    pub fn new(runtime: RuntimeConfig) -> Self {
        Self {
            runtime,
            api_addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT)),
            sandbox_addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_SANDBOX_PORT)),
            api_key: None,
            database: None,
            max_timeout: Duration::from_secs(24 * 3600),
            parallel_creates: 8,
            domain: None,
            progress: None,
        }
    }

    /// Where the control-plane API listens (port 0: any free port).
    pub fn api_addr(mut self, addr: SocketAddr) -> Self {
        self.api_addr = addr;
        self
    }

    /// The domain reported to SDKs, from which they build `<port>-<sandboxID>.<domain>`
    /// for `get_host`: it must lead to the envd router. Default `localhost:<router port>`
    /// (`*.localhost` names reach this machine in browsers and curl).
    ///
    /// ```
    /// use e2b_local::runtime::RuntimeConfig;
    /// use e2b_local::server::ServerConfig;
    /// let config = ServerConfig::new(RuntimeConfig::new("/usr/local/bin/envd")).domain("sandbox.lan:49983");
    /// # let _ = config;
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Where the envd router listens (port 0: any free port).
    pub fn sandbox_addr(mut self, addr: SocketAddr) -> Self {
        self.sandbox_addr = addr;
        self
    }

    /// The API key to accept (and print), of the form `e2b_<hex>`: the only one accepted
    /// while the server runs, and not remembered afterwards. Without one, the key created
    /// on the first start (kept in the state database) is used.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The SQLite database file (default `<runtime root>/server.sqlite`).
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = Some(path.into());
        self
    }

    /// The longest sandbox lifetime a request may ask for.
    pub fn max_timeout(mut self, max: Duration) -> Self {
        self.max_timeout = max;
        self
    }

    /// How many sandboxes are created at the same time (more requests wait their turn).
    pub fn parallel_creates(mut self, n: usize) -> Self {
        self.parallel_creates = n.max(1);
        self
    }

    /// Receives template build progress (the first sandbox builds `base`, which takes minutes).
    pub fn on_template_progress(
        mut self,
        progress: impl Fn(TemplateProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// A running local server. Dropping it without [`shutdown`](Self::shutdown) stops serving
/// but leaves sandboxes to the next start's clean-up.
pub struct LocalServer {
    state: Arc<State>,
    api_addr: SocketAddr,
    sandbox_addr: SocketAddr,
    api_key: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer")
            .field("api_addr", &self.api_addr)
            .field("sandbox_addr", &self.sandbox_addr)
            .finish_non_exhaustive()
    }
}

fn valid_api_key(key: &str) -> bool {
    key.strip_prefix("e2b_").is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl LocalServer {
    /// Starts the runtime (sweeping what a crashed predecessor left), reconciles the
    /// database, binds both ports and starts serving.
    ///
    /// ```no_run
    /// # async fn demo(config: e2b_local::server::ServerConfig) -> Result<(), e2b_local::server::ServerError> {
    /// let server = e2b_local::server::LocalServer::start(config).await?;
    /// println!("{}", server.sandbox_url());
    /// # Ok(()) }
    /// ```
    pub async fn start(config: ServerConfig) -> Result<Self, ServerError> {
        if let Some(key) = &config.api_key
            && !valid_api_key(key)
        {
            return Err(ServerError::Config(format!(
                "API key {key:?} is not of the form e2b_<hex> that E2B's SDKs accept"
            )));
        }
        let database =
            config.database.clone().unwrap_or_else(|| config.runtime.root_dir().join("server.sqlite"));
        let api_listener = TcpListener::bind(config.api_addr)
            .await
            .map_err(|source| ServerError::Bind { addr: config.api_addr, source })?;
        let sandbox_listener = TcpListener::bind(config.sandbox_addr)
            .await
            .map_err(|source| ServerError::Bind { addr: config.sandbox_addr, source })?;
        let local =
            |l: &TcpListener, addr| l.local_addr().map_err(|source| ServerError::Bind { addr, source });
        let api_addr = local(&api_listener, config.api_addr)?;
        let sandbox_addr = local(&sandbox_listener, config.sandbox_addr)?;

        let mut runtime = Runtime::new(config.runtime).await?;
        if let Some(progress) = config.progress {
            runtime = runtime.with_progress(move |p| progress(p));
        }
        let store = store::Store::open(&database)?;
        let domain = config.domain.unwrap_or_else(|| format!("localhost:{}", sandbox_addr.port()));
        let limits =
            Limits { max_timeout: config.max_timeout, parallel_creates: config.parallel_creates, domain };
        let state = Arc::new(State::new(runtime, store, limits)?);
        state.reconcile().await?;
        let api_key = match config.api_key {
            Some(key) => {
                state.accept_only(&key);
                key
            }
            None => {
                let key = state.keys().into_iter().next().unwrap_or_else(state::new_api_key);
                state.add_key(&key)?;
                key
            }
        };

        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let app = api::router(state.clone());
        let mut api_stop = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = api_stop.wait_for(|s| *s).await;
            };
            let serve = axum::serve(api_listener, app).with_graceful_shutdown(shutdown);
            if let Err(e) = serve.await {
                tracing::error!("control-plane API stopped: {e}");
            }
        }));
        tasks.push(tokio::spawn(proxy::Proxy::new(state.clone()).serve(sandbox_listener, stopped.clone())));
        tasks.push(tokio::spawn(lifecycle(state.clone(), stopped)));
        tracing::info!(api = %api_addr, sandbox = %sandbox_addr, "local E2B server listening");
        Ok(Self { state, api_addr, sandbox_addr, api_key, stop, tasks })
    }

    /// The control-plane base URL (`E2B_API_URL`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// The envd router's base URL (`E2B_SANDBOX_URL`).
    pub fn sandbox_url(&self) -> String {
        format!("http://{}", self.sandbox_addr)
    }

    /// The API key clients must send (`E2B_API_KEY`).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The control-plane address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The envd router's address.
    pub fn sandbox_addr(&self) -> SocketAddr {
        self.sandbox_addr
    }

    /// The sandbox runtime underneath.
    pub fn runtime(&self) -> &Runtime {
        &self.state.runtime
    }

    /// Stops serving, kills every sandbox (recording why) and removes the runtime's host
    /// resources. Snapshots stay.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        self.state.shutdown().await?;
        Ok(())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Background duties: expiry (every 250 ms), metric samples, and reacting to sandboxes
/// whose envd died.
async fn lifecycle(state: Arc<State>, mut stopped: watch::Receiver<bool>) {
    let mut events = state.runtime.events();
    let mut expiry = tokio::time::interval(Duration::from_millis(250));
    let mut sampling = tokio::time::interval(state::METRICS_EVERY);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sampling.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = expiry.tick() => state.expire_due().await,
            _ = sampling.tick() => state.sample_all().await,
            event = events.recv() => match event {
                Ok(RuntimeEvent::Exited { id, .. }) => state.exited(&id).await,
                Ok(RuntimeEvent::OomKilled { id, total }) => {
                    tracing::warn!(sandbox = %id, total, "a process in the sandbox was OOM-killed");
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("missed {n} runtime events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    events = state.runtime.events();
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_keys_are_checked_like_the_sdks_do() {
        assert!(super::valid_api_key("e2b_0123abcd"));
        assert!(!super::valid_api_key("e2b_"));
        assert!(!super::valid_api_key("sk_0123"));
        assert!(!super::valid_api_key("e2b_xyz"));
    }
}
