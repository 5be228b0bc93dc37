//! Connection settings: credentials, domain, URLs, timeouts, headers and the
//! HTTP client, resolved from builder values, then environment variables,
//! then defaults.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::error::{Error, Phase, Result, Stage};

/// The domain used when neither the builder nor `E2B_DOMAIN` names one.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::DEFAULT_DOMAIN, "e2b.app");
/// ```
pub const DEFAULT_DOMAIN: &str = "e2b.app";

/// The port envd listens on inside every sandbox.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::ENVD_PORT, 49983);
/// ```
pub const ENVD_PORT: u16 = 49983;

/// The request timeout used when neither the builder nor a call sets one.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::DEFAULT_REQUEST_TIMEOUT, std::time::Duration::from_secs(60));
/// ```
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The `User-Agent` this SDK sends.
///
/// # Example
///
/// ```
/// assert!(e2b::SDK_USER_AGENT.starts_with("e2b-rust-sdk/"));
/// ```
pub const SDK_USER_AGENT: &str = concat!("e2b-rust-sdk/", env!("CARGO_PKG_VERSION"));

/// Domains whose sandboxes share one envd host, `sandbox.<domain>`, and are
/// routed by the `E2b-Sandbox-*` headers.
const SHARED_HOST_DOMAINS: &[&str] = &["e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev"];

const DEFAULT_CONNECTION_RETRIES: u32 = 3;
const DEFAULT_POOL_IDLE: Duration = Duration::from_secs(300);
const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 20;

const STAGE: Stage = Stage::new("build connection config", Phase::Validate);

/// How to reach E2B (or a compatible server) and authenticate.
///
/// Resolution order for every setting: the builder's value, then the
/// environment variable, then the default:
///
/// | setting | variable | default |
/// |---|---|---|
/// | API key | `E2B_API_KEY` | none (control-plane calls fail with [`Error::Authentication`]) |
/// | key format check | `E2B_VALIDATE_API_KEY` (`false` disables) | `^e2b_[0-9a-f]+$` enforced |
/// | access token | `E2B_ACCESS_TOKEN` | none; accepted for compatibility, never sent by sandbox operations |
/// | domain | `E2B_DOMAIN` (empty = unset) | `e2b.app` |
/// | debug mode | `E2B_DEBUG` (`true`) | off |
/// | API URL | `E2B_API_URL` | `https://api.<domain>`, `http://localhost:3000` in debug mode |
/// | envd URL for every sandbox | `E2B_SANDBOX_URL` | derived per sandbox |
/// | connection retries | `E2B_CONNECTION_RETRIES` | 3 |
/// | idle pool timeout | `E2B_KEEPALIVE_EXPIRY` (seconds) | 300 |
/// | idle connections per host | `E2B_MAX_KEEPALIVE_CONNECTIONS` | 20 |
///
/// A `ConnectionConfig` is cheap to clone and shares its HTTP connection pool
/// between clones.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// let config = e2b::ConnectionConfig::builder()
///     .api_key("e2b_0123456789abcdef")
///     .domain("example.com")
///     .request_timeout(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(config.api_url(), "https://api.example.com");
/// assert_eq!(config.sandbox_host("abc", None, 8080), "8080-abc.example.com");
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Clone)]
pub struct ConnectionConfig {
    settings: Arc<Settings>,
    http: reqwest::Client,
    /// The Connect client for envd's RPCs; shares nothing with `http` but
    /// the settings it was built from.
    rpc: e2b_connect::client::Client,
}

struct Settings {
    api_key: Option<String>,
    validate_api_key: bool,
    access_token: Option<String>,
    domain: String,
    debug: bool,
    api_url: String,
    sandbox_url: Option<String>,
    request_timeout: Option<Duration>,
    connection_retries: u32,
    /// Headers of every control-plane request: API key, user agent, then
    /// the caller's headers.
    api_headers: HeaderMap,
    user_agent: HeaderValue,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("ConnectionConfig")
            .field("api_key", &s.api_key.as_ref().map(|_| "<redacted>"))
            .field("access_token", &s.access_token.as_ref().map(|_| "<redacted>"))
            .field("domain", &s.domain)
            .field("debug", &s.debug)
            .field("api_url", &s.api_url)
            .field("sandbox_url", &s.sandbox_url)
            .field("request_timeout", &s.request_timeout)
            .field("connection_retries", &s.connection_retries)
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// A builder with nothing set: every setting falls back to its
    /// environment variable, then its default.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().debug(true).environment([("E2B_API_KEY", "e2b_00")]).build()?;
    /// assert_eq!(config.api_url(), "http://localhost:3000");
    /// assert_eq!(config.api_key(), Some("e2b_00"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn builder() -> ConnectionConfigBuilder {
        ConnectionConfigBuilder::default()
    }

    /// Everything from the environment variables and defaults.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let config = e2b::ConnectionConfig::from_env()?;
    /// println!("talking to {}", config.api_url());
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// The API key, if any.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment::<_, &str, &str>([]).build()?;
    /// assert_eq!(config.api_key(), None);
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn api_key(&self) -> Option<&str> {
        self.settings.api_key.as_deref()
    }

    /// The `E2B_ACCESS_TOKEN` of older SDKs, if set. It is kept for
    /// compatibility (template and CLI calls used it); sandbox operations
    /// never send it.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment([("E2B_ACCESS_TOKEN", "sk_1")]).build()?;
    /// assert_eq!(config.access_token(), Some("sk_1"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn access_token(&self) -> Option<&str> {
        self.settings.access_token.as_deref()
    }

    /// The base domain, e.g. `e2b.app`.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment([("E2B_DOMAIN", "")]).build()?;
    /// assert_eq!(config.domain(), "e2b.app");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn domain(&self) -> &str {
        &self.settings.domain
    }

    /// Whether debug mode is on: sandboxes are not created through the API
    /// and envd is expected at `http://localhost:49983`.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment([("E2B_DEBUG", "TRUE")]).build()?;
    /// assert!(config.debug());
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn debug(&self) -> bool {
        self.settings.debug
    }

    /// The control plane's base URL, without a trailing slash.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().api_url("http://127.0.0.1:3000/").build()?;
    /// assert_eq!(config.api_url(), "http://127.0.0.1:3000");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    /// The envd URL override used for every sandbox, if set.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().sandbox_url("http://127.0.0.1:5000").build()?;
    /// assert_eq!(config.sandbox_url(), Some("http://127.0.0.1:5000"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn sandbox_url(&self) -> Option<&str> {
        self.settings.sandbox_url.as_deref()
    }

    /// The default whole-request deadline; `None` means no deadline.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().request_timeout(std::time::Duration::ZERO).build()?;
    /// assert_eq!(config.request_timeout(), None);
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn request_timeout(&self) -> Option<Duration> {
        self.settings.request_timeout
    }

    /// How often a failed connection attempt is retried.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().connection_retries(0).build()?;
    /// assert_eq!(config.connection_retries(), 0);
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn connection_retries(&self) -> u32 {
        self.settings.connection_retries
    }

    /// The HTTP client every request goes through.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().build()?;
    /// let _client: &reqwest::Client = config.http_client();
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// A copy with another default request timeout (`Duration::ZERO`
    /// disables it), sharing this one's connection pool.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = e2b::ConnectionConfig::builder().build()?;
    /// let patient = config.with_request_timeout(Duration::from_secs(600));
    /// assert_eq!(patient.request_timeout(), Some(Duration::from_secs(600)));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn with_request_timeout(&self, timeout: Duration) -> Self {
        let mut settings = self.settings.cloned();
        settings.request_timeout = (!timeout.is_zero()).then_some(timeout);
        Self { settings: Arc::new(settings), http: self.http.clone(), rpc: self.rpc.clone() }
    }

    /// The envd base URL of a sandbox, used for RPC, `/files` and `/health`:
    /// the `E2B_SANDBOX_URL` override, else `http://localhost:49983` in debug
    /// mode, else the shared host `https://sandbox.<domain>` for E2B's own
    /// domains, else `https://49983-<id>.<domain>`. `sandbox_domain` is the
    /// domain the API returned for the sandbox, if any.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment::<_, &str, &str>([]).build()?;
    /// assert_eq!(config.envd_url("abc", None), "https://sandbox.e2b.app");
    /// assert_eq!(config.envd_url("abc", Some("my.cloud")), "https://49983-abc.my.cloud");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn envd_url(&self, sandbox_id: &str, sandbox_domain: Option<&str>) -> String {
        let domain = sandbox_domain.unwrap_or(&self.settings.domain);
        if let Some(url) = self.direct_override() {
            return url;
        }
        if SHARED_HOST_DOMAINS.contains(&domain) {
            return format!("https://sandbox.{domain}");
        }
        format!("https://{}", self.sandbox_host(sandbox_id, Some(domain), ENVD_PORT))
    }

    /// The envd URL used in signed `download_url` / `upload_url` links. Like
    /// [`envd_url`](Self::envd_url) but never the shared host, because those
    /// links are followed without routing headers.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment::<_, &str, &str>([]).build()?;
    /// assert_eq!(config.envd_direct_url("abc", None), "https://49983-abc.e2b.app");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn envd_direct_url(&self, sandbox_id: &str, sandbox_domain: Option<&str>) -> String {
        if let Some(url) = self.direct_override() {
            return url;
        }
        format!("https://{}", self.sandbox_host(sandbox_id, sandbox_domain, ENVD_PORT))
    }

    /// The host (no scheme) that reaches `port` inside a sandbox:
    /// `localhost:<port>` in debug mode, else `<port>-<id>.<domain>`.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().environment([("E2B_DEBUG", "true")]).build()?;
    /// assert_eq!(config.sandbox_host("abc", None, 3000), "localhost:3000");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn sandbox_host(&self, sandbox_id: &str, sandbox_domain: Option<&str>, port: u16) -> String {
        if self.settings.debug {
            return format!("localhost:{port}");
        }
        let domain = sandbox_domain.unwrap_or(&self.settings.domain);
        format!("{port}-{sandbox_id}.{domain}")
    }

    fn direct_override(&self) -> Option<String> {
        if let Some(url) = &self.settings.sandbox_url {
            return Some(url.clone());
        }
        self.settings.debug.then(|| format!("http://localhost:{ENVD_PORT}"))
    }

    /// The headers of a control-plane request, after checking that there is
    /// a well-formed API key.
    pub(crate) fn api_headers(&self, operation: &'static str) -> Result<HeaderMap> {
        let stage = Stage::new(operation, Phase::Validate);
        let Some(key) = &self.settings.api_key else {
            return Err(Error::Authentication {
                stage,
                message: "API key is required: set the E2B_API_KEY environment variable or pass it to \
                          ConnectionConfig::builder().api_key(..). Get one at https://e2b.dev/dashboard?tab=keys"
                    .into(),
            });
        };
        if self.settings.validate_api_key && !is_well_formed_api_key(key) {
            return Err(Error::Authentication {
                stage,
                message: "invalid API key format: expected \"e2b_\" followed by lowercase hex characters \
                          (set E2B_VALIDATE_API_KEY=false to skip this check)"
                    .into(),
            });
        }
        Ok(self.settings.api_headers.clone())
    }

    /// The `User-Agent` for envd requests.
    pub(crate) fn user_agent(&self) -> HeaderValue {
        self.settings.user_agent.clone()
    }

    /// The Connect client for envd's RPCs.
    pub(crate) fn rpc_client(&self) -> &e2b_connect::client::Client {
        &self.rpc
    }
}

impl Settings {
    fn cloned(&self) -> Settings {
        Settings {
            api_key: self.api_key.clone(),
            validate_api_key: self.validate_api_key,
            access_token: self.access_token.clone(),
            domain: self.domain.clone(),
            debug: self.debug,
            api_url: self.api_url.clone(),
            sandbox_url: self.sandbox_url.clone(),
            request_timeout: self.request_timeout,
            connection_retries: self.connection_retries,
            api_headers: self.api_headers.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

fn is_well_formed_api_key(key: &str) -> bool {
    key.strip_prefix("e2b_").is_some_and(|hex| {
        !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Where the builder reads environment variables from.
#[derive(Clone, Debug, Default)]
enum Environment {
    #[default]
    Process,
    Explicit(HashMap<String, String>),
}

impl Environment {
    /// The variable's value; empty values count as unset.
    fn get(&self, key: &str) -> Option<String> {
        let value = match self {
            Environment::Process => std::env::var(key).ok(),
            Environment::Explicit(vars) => vars.get(key).cloned(),
        };
        value.filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => {
                text.trim().parse().map(Some).map_err(|_| {
                    Error::invalid_argument(STAGE, format!("{key}={text:?} is not a valid value"))
                })
            }
        }
    }
}

/// Builds a [`ConnectionConfig`]; see there for the settings and the
/// variables they fall back to.
///
/// # Example
///
/// ```
/// let config = e2b::ConnectionConfig::builder()
///     .api_key("e2b_0123456789abcdef")
///     .header("x-team", "research")
///     .build()?;
/// assert_eq!(config.domain(), "e2b.app");
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct ConnectionConfigBuilder {
    api_key: Option<String>,
    validate_api_key: Option<bool>,
    access_token: Option<String>,
    domain: Option<String>,
    debug: Option<bool>,
    api_url: Option<String>,
    sandbox_url: Option<String>,
    request_timeout: Option<Duration>,
    connection_retries: Option<u32>,
    headers: Vec<(String, String)>,
    http_client: Option<reqwest::Client>,
    rpc_client: Option<e2b_connect::client::Client>,
    ca_bundles: Vec<Vec<u8>>,
    ca_bundle_files: Vec<PathBuf>,
    proxy: Option<String>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: Option<usize>,
    environment: Environment,
}

impl ConnectionConfigBuilder {
    /// The API key sent as `X-API-Key` to the control plane.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().api_key("e2b_ff").build()?;
    /// assert_eq!(config.api_key(), Some("e2b_ff"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Whether to check the key's `e2b_<hex>` format before sending it
    /// (default: yes, unless `E2B_VALIDATE_API_KEY=false`).
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().api_key("sk-custom").validate_api_key(false).build()?;
    /// assert_eq!(config.api_key(), Some("sk-custom"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn validate_api_key(mut self, validate: bool) -> Self {
        self.validate_api_key = Some(validate);
        self
    }

    /// The older SDKs' access token; see [`ConnectionConfig::access_token`].
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().access_token("sk_1").build()?;
    /// assert_eq!(config.access_token(), Some("sk_1"));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The base domain (default `e2b.app`).
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().domain("e2b.dev").build()?;
    /// assert_eq!(config.api_url(), "https://api.e2b.dev");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Debug mode: see [`ConnectionConfig::debug`].
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().debug(true).build()?;
    /// assert_eq!(config.envd_url("any", None), "http://localhost:49983");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = Some(debug);
        self
    }

    /// The control plane's base URL, e.g. a local server's.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().api_url("http://127.0.0.1:3000").build()?;
    /// assert_eq!(config.api_url(), "http://127.0.0.1:3000");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// One envd URL for every sandbox; requests are then routed by the
    /// `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().sandbox_url("http://127.0.0.1:5000").build()?;
    /// assert_eq!(config.envd_url("abc", None), "http://127.0.0.1:5000");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn sandbox_url(mut self, url: impl Into<String>) -> Self {
        self.sandbox_url = Some(url.into());
        self
    }

    /// The default whole-request deadline (60 s); `Duration::ZERO` disables
    /// it. Calls can override it.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = e2b::ConnectionConfig::builder().request_timeout(Duration::from_secs(5)).build()?;
    /// assert_eq!(config.request_timeout(), Some(Duration::from_secs(5)));
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// How often to retry a connection that could not be established
    /// (default 3). Idempotent calls also retry dropped connections and
    /// gateway errors.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().connection_retries(5).build()?;
    /// assert_eq!(config.connection_retries(), 5);
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn connection_retries(mut self, retries: u32) -> Self {
        self.connection_retries = Some(retries);
        self
    }

    /// An extra header for every control-plane request (envd requests do not
    /// get it). Later values replace earlier ones and the SDK's own headers,
    /// so this can also set the `User-Agent`.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().header("x-request-source", "ci").build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Use this HTTP client for every request instead of building one. The
    /// CA bundle, proxy and pool options cannot be combined with it: set
    /// them on the client itself.
    ///
    /// # Example
    ///
    /// ```
    /// let http = reqwest::Client::builder().build().unwrap();
    /// let config = e2b::ConnectionConfig::builder().http_client(http).build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Use this Connect client for envd's RPCs instead of building one (the RPC
    /// counterpart of [`http_client`](Self::http_client), e.g. with a custom connector,
    /// TLS setup or message size limit). The CA bundle, proxy and pool options cannot be
    /// combined with it: set them on the client itself.
    ///
    /// # Example
    ///
    /// ```
    /// let rpc = e2b::e2b_connect::client::Client::builder().max_message_size(64 << 20).build().unwrap();
    /// let config = e2b::ConnectionConfig::builder().rpc_client(rpc).build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn rpc_client(mut self, client: e2b_connect::client::Client) -> Self {
        self.rpc_client = Some(client);
        self
    }

    /// Trust the certificates of this PEM bundle in addition to the system's
    /// and Mozilla's roots (e.g. a self-hosted deployment's CA, or an
    /// intercepting proxy's).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let pem = std::fs::read("/etc/my-ca.pem").unwrap();
    /// let config = e2b::ConnectionConfig::builder().ca_bundle_pem(pem).build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn ca_bundle_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_bundles.push(pem.into());
        self
    }

    /// Like [`ca_bundle_pem`](Self::ca_bundle_pem), reading the bundle from
    /// a file when the config is built.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let config = e2b::ConnectionConfig::builder().ca_bundle_file("/etc/my-ca.pem").build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn ca_bundle_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle_files.push(path.into());
        self
    }

    /// Send every request through this proxy (`http://`, `https://` or
    /// `socks5://` URL, credentials allowed). Without it the usual
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` variables apply.
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().proxy("http://127.0.0.1:3128").build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// How long an idle pooled connection is kept (default 300 s).
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().pool_idle_timeout(std::time::Duration::from_secs(30)).build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// How many idle connections are kept per host (default 20).
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder().pool_max_idle_per_host(4).build()?;
    /// # let _ = config;
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = Some(max);
        self
    }

    /// Read the `E2B_*` variables from these pairs instead of the process
    /// environment (for hermetic configuration and tests).
    ///
    /// # Example
    ///
    /// ```
    /// let config = e2b::ConnectionConfig::builder()
    ///     .environment([("E2B_DOMAIN", "example.com"), ("E2B_API_KEY", "e2b_01")])
    ///     .build()?;
    /// assert_eq!(config.domain(), "example.com");
    /// # Ok::<(), e2b::Error>(())
    /// ```
    pub fn environment<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.environment =
            Environment::Explicit(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Resolves every setting and builds (or reuses) the HTTP client.
    ///
    /// Fails with [`Error::InvalidArgument`] for malformed URLs, headers,
    /// variables, CA bundles or proxies.
    ///
    /// # Example
    ///
    /// ```
    /// let err = e2b::ConnectionConfig::builder().api_url("not a url").build().unwrap_err();
    /// assert!(matches!(err, e2b::Error::InvalidArgument { .. }));
    /// ```
    pub fn build(self) -> Result<ConnectionConfig> {
        let env = &self.environment;
        let domain = self.domain.filter(|d| !d.is_empty()).or_else(|| env.get("E2B_DOMAIN"));
        let domain = domain.unwrap_or_else(|| DEFAULT_DOMAIN.to_owned());
        let debug = self
            .debug
            .unwrap_or_else(|| env.get("E2B_DEBUG").is_some_and(|v| v.eq_ignore_ascii_case("true")));
        let api_key = self.api_key.or_else(|| env.get("E2B_API_KEY"));
        let validate_api_key = self.validate_api_key.unwrap_or_else(|| {
            !env.get("E2B_VALIDATE_API_KEY").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        });
        let access_token = self.access_token.or_else(|| env.get("E2B_ACCESS_TOKEN"));
        let api_url =
            self.api_url.filter(|u| !u.is_empty()).or_else(|| env.get("E2B_API_URL")).unwrap_or_else(|| {
                if debug { "http://localhost:3000".to_owned() } else { format!("https://api.{domain}") }
            });
        let api_url = checked_base_url("API URL", &api_url)?;
        let sandbox_url = self.sandbox_url.filter(|u| !u.is_empty()).or_else(|| env.get("E2B_SANDBOX_URL"));
        let sandbox_url = sandbox_url.map(|url| checked_base_url("sandbox URL", &url)).transpose()?;
        let request_timeout = match self.request_timeout {
            Some(timeout) if timeout.is_zero() => None,
            Some(timeout) => Some(timeout),
            None => Some(DEFAULT_REQUEST_TIMEOUT),
        };
        let connection_retries = match self.connection_retries {
            Some(retries) => retries,
            None => env.parse("E2B_CONNECTION_RETRIES")?.unwrap_or(DEFAULT_CONNECTION_RETRIES),
        };

        let user_agent = HeaderValue::from_static(SDK_USER_AGENT);
        let mut api_headers = HeaderMap::new();
        if let Some(key) = &api_key {
            let value = HeaderValue::from_str(key).map_err(|_| {
                Error::invalid_argument(STAGE, "the API key contains characters not allowed in a header")
            })?;
            api_headers.insert(HeaderName::from_static("x-api-key"), value);
        }
        api_headers.insert(USER_AGENT, user_agent.clone());
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_argument(STAGE, format!("{name:?} is not a valid header name"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_argument(STAGE, format!("the value of header {name} is not valid"))
            })?;
            api_headers.insert(name, value);
        }

        let mut ca_bundles = self.ca_bundles;
        for path in &self.ca_bundle_files {
            let pem = std::fs::read(path).map_err(|source| Error::Io { stage: STAGE, source })?;
            ca_bundles.push(pem);
        }
        let options = HttpOptions {
            ca_bundles,
            proxy: self.proxy,
            pool_idle_timeout: match self.pool_idle_timeout {
                Some(timeout) => timeout,
                None => env
                    .parse::<f64>("E2B_KEEPALIVE_EXPIRY")?
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map_or(DEFAULT_POOL_IDLE, Duration::from_secs_f64),
            },
            pool_max_idle_per_host: match self.pool_max_idle_per_host {
                Some(max) => max,
                None => env.parse("E2B_MAX_KEEPALIVE_CONNECTIONS")?.unwrap_or(DEFAULT_POOL_MAX_IDLE_PER_HOST),
            },
        };
        let injected = self.http_client.is_some() || self.rpc_client.is_some();
        if injected
            && (!options.ca_bundles.is_empty()
                || options.proxy.is_some()
                || self.pool_idle_timeout.is_some()
                || self.pool_max_idle_per_host.is_some())
        {
            return Err(Error::invalid_argument(
                STAGE,
                "a caller-supplied http_client or rpc_client cannot be combined with CA bundle, proxy or \
                 pool options; configure them on that client",
            ));
        }
        let http = match self.http_client {
            Some(client) => client,
            None => build_http_client(&options)?,
        };
        let rpc = match self.rpc_client {
            Some(client) => client,
            None => build_rpc_client(&options)?,
        };

        Ok(ConnectionConfig {
            settings: Arc::new(Settings {
                api_key,
                validate_api_key,
                access_token,
                domain,
                debug,
                api_url,
                sandbox_url,
                request_timeout,
                connection_retries,
                api_headers,
                user_agent,
            }),
            http,
            rpc,
        })
    }
}

/// Checks that `url` is an absolute http(s) URL and drops trailing slashes.
fn checked_base_url(what: &str, url: &str) -> Result<String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::invalid_argument(STAGE, format!("the {what} {url:?} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::invalid_argument(
            STAGE,
            format!("the {what} {url:?} must be an http(s) URL with a host"),
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[derive(PartialEq)]
struct HttpOptions {
    ca_bundles: Vec<Vec<u8>>,
    proxy: Option<String>,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
}

// The HTTP and Connect clients are built per configuration, not once per process: a
// pooled connection is driven by a task of the tokio runtime that opened it, so after that
// runtime ends (a `#[tokio::test]`, a short-lived runtime in a worker thread) another
// runtime would be handed a dead connection. Clones of a configuration share them.

fn build_rpc_client(options: &HttpOptions) -> Result<e2b_connect::client::Client> {
    let mut builder = e2b_connect::client::Client::builder()
        .native_roots(true)
        .user_agent(SDK_USER_AGENT)
        .pool_idle_timeout(options.pool_idle_timeout)
        .pool_max_idle_per_host(options.pool_max_idle_per_host);
    for pem in &options.ca_bundles {
        builder = builder.add_root_certificates_pem(pem);
    }
    if let Some(proxy) = &options.proxy {
        let no_proxy = std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")).unwrap_or_default();
        builder = builder.proxy(e2b_connect::client::Proxy::new(proxy, &no_proxy));
    }
    builder
        .build()
        .map_err(|e| Error::invalid_argument(STAGE, format!("building the RPC client failed: {e}")))
}

fn build_http_client(options: &HttpOptions) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        // E2B's APIs never redirect; following one could leak the API key.
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(options.pool_idle_timeout)
        .pool_max_idle_per_host(options.pool_max_idle_per_host)
        .tcp_nodelay(true);
    // Added to the system's trust store (which reqwest's verifier uses), so
    // that a self-hosted deployment or an intercepting proxy can be trusted.
    for pem in &options.ca_bundles {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::invalid_argument(STAGE, format!("the CA bundle is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::invalid_argument(STAGE, "the CA bundle contains no PEM certificate"));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(proxy) = &options.proxy {
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|e| Error::invalid_argument(STAGE, format!("the proxy {proxy:?} is not valid: {e}")))?;
        builder = builder.proxy(proxy);
    }
    builder
        .build()
        .map_err(|e| Error::invalid_argument(STAGE, format!("building the HTTP client failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> ConnectionConfig {
        ConnectionConfig::builder().environment(env.iter().copied()).build().unwrap()
    }

    #[test]
    fn defaults_without_environment() {
        let c = config(&[]);
        assert_eq!(c.domain(), "e2b.app");
        assert!(!c.debug());
        assert_eq!(c.api_url(), "https://api.e2b.app");
        assert_eq!(c.sandbox_url(), None);
        assert_eq!(c.request_timeout(), Some(Duration::from_secs(60)));
        assert_eq!(c.connection_retries(), 3);
        assert_eq!(c.api_key(), None);
    }

    #[test]
    fn environment_variables_apply() {
        let c = config(&[
            ("E2B_API_KEY", "e2b_abc"),
            ("E2B_DOMAIN", "my.cloud"),
            ("E2B_SANDBOX_URL", "http://127.0.0.1:9/"),
            ("E2B_CONNECTION_RETRIES", "7"),
            ("E2B_ACCESS_TOKEN", "sk_old"),
        ]);
        assert_eq!(c.api_key(), Some("e2b_abc"));
        assert_eq!(c.api_url(), "https://api.my.cloud");
        assert_eq!(c.sandbox_url(), Some("http://127.0.0.1:9"));
        assert_eq!(c.connection_retries(), 7);
        assert_eq!(c.access_token(), Some("sk_old"));
        assert_eq!(config(&[("E2B_API_URL", "http://x:1")]).api_url(), "http://x:1");
        assert!(config(&[("E2B_DEBUG", "True")]).debug());
        assert!(!config(&[("E2B_DEBUG", "1")]).debug());
    }

    #[test]
    fn builder_values_beat_environment() {
        let c = ConnectionConfig::builder()
            .environment([("E2B_DOMAIN", "env.dev"), ("E2B_API_KEY", "e2b_01"), ("E2B_DEBUG", "true")])
            .domain("builder.dev")
            .api_key("e2b_02")
            .debug(false)
            .build()
            .unwrap();
        assert_eq!(c.domain(), "builder.dev");
        assert_eq!(c.api_key(), Some("e2b_02"));
        assert!(!c.debug());
        assert_eq!(c.api_url(), "https://api.builder.dev");
    }

    #[test]
    fn url_formation_follows_the_protocol() {
        let cloud = config(&[]);
        assert_eq!(cloud.envd_url("sbx", None), "https://sandbox.e2b.app");
        assert_eq!(cloud.envd_url("sbx", Some("e2b-staging.dev")), "https://sandbox.e2b-staging.dev");
        assert_eq!(cloud.envd_url("sbx", Some("self.hosted")), "https://49983-sbx.self.hosted");
        assert_eq!(cloud.envd_direct_url("sbx", None), "https://49983-sbx.e2b.app");
        assert_eq!(cloud.sandbox_host("sbx", Some("d.io"), 80), "80-sbx.d.io");

        let custom = config(&[("E2B_DOMAIN", "corp.net")]);
        assert_eq!(custom.envd_url("sbx", None), "https://49983-sbx.corp.net");

        let debug = config(&[("E2B_DEBUG", "true")]);
        assert_eq!(debug.api_url(), "http://localhost:3000");
        assert_eq!(debug.envd_url("sbx", Some("x.io")), "http://localhost:49983");
        assert_eq!(debug.envd_direct_url("sbx", None), "http://localhost:49983");
        assert_eq!(debug.sandbox_host("sbx", None, 8000), "localhost:8000");

        let routed = config(&[("E2B_SANDBOX_URL", "http://127.0.0.1:5000"), ("E2B_DEBUG", "true")]);
        assert_eq!(routed.envd_url("sbx", None), "http://127.0.0.1:5000");
        assert_eq!(routed.envd_direct_url("sbx", None), "http://127.0.0.1:5000");
    }

    #[test]
    fn api_headers_need_a_well_formed_key() {
        let err = config(&[]).api_headers("op").unwrap_err();
        assert!(matches!(err, Error::Authentication { .. }), "{err}");
        let err = config(&[("E2B_API_KEY", "sk_live_1")]).api_headers("op").unwrap_err();
        assert!(err.to_string().contains("invalid API key format"), "{err}");
        let err = config(&[("E2B_API_KEY", "e2b_ABC")]).api_headers("op").unwrap_err();
        assert!(matches!(err, Error::Authentication { .. }));
        let ok = config(&[("E2B_API_KEY", "sk_live_1"), ("E2B_VALIDATE_API_KEY", "FALSE")]);
        assert_eq!(ok.api_headers("op").unwrap()["x-api-key"], "sk_live_1");
        let headers = config(&[("E2B_API_KEY", "e2b_0f")]).api_headers("op").unwrap();
        assert_eq!(headers["x-api-key"], "e2b_0f");
        assert_eq!(headers["user-agent"], SDK_USER_AGENT);
        assert!(SDK_USER_AGENT.starts_with("e2b-rust-sdk/"));
    }

    #[test]
    fn caller_headers_come_last() {
        let c = ConnectionConfig::builder()
            .api_key("e2b_01")
            .header("User-Agent", "my-agent/1 e2b-rust-sdk")
            .header("x-extra", "1")
            .build()
            .unwrap();
        let headers = c.api_headers("op").unwrap();
        assert_eq!(headers["user-agent"], "my-agent/1 e2b-rust-sdk");
        assert_eq!(headers["x-extra"], "1");
        assert_eq!(c.user_agent(), SDK_USER_AGENT);
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        for builder in [
            ConnectionConfig::builder().api_url("ftp://x"),
            ConnectionConfig::builder().sandbox_url("localhost:5000"),
            ConnectionConfig::builder().header("bad header", "v"),
            ConnectionConfig::builder().environment([("E2B_CONNECTION_RETRIES", "many")]),
            ConnectionConfig::builder().proxy("::not a proxy::"),
            ConnectionConfig::builder().ca_bundle_pem("no certificates here"),
            ConnectionConfig::builder().http_client(reqwest::Client::new()).proxy("http://p:1"),
        ] {
            let err = builder.build().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        }
        let err = ConnectionConfig::builder().ca_bundle_file("/nonexistent/ca.pem").build().unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }

    #[test]
    fn request_timeout_zero_disables_and_copies_share_the_pool() {
        let c = ConnectionConfig::builder().request_timeout(Duration::ZERO).build().unwrap();
        assert_eq!(c.request_timeout(), None);
        let longer = c.with_request_timeout(Duration::from_secs(5));
        assert_eq!(longer.request_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(c.request_timeout(), None);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c =
            ConnectionConfig::builder().api_key("e2b_deadbeef").access_token("sk_secret").build().unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("deadbeef") && !text.contains("sk_secret"), "{text}");
    }
}
