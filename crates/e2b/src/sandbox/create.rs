//! [`SandboxBuilder`]: the options of a new sandbox, and creating it.

use std::collections::HashMap;
use std::time::Duration;

use e2b_api::control::types;

use super::Sandbox;
use super::lifecycle::Lifecycle;
use super::mcp::{DEFAULT_MCP_TEMPLATE, gateway_command};
use super::network::NetworkConfig;
use crate::client::{Client, lifetime_seconds, send_on_await};
use crate::control::{self, ApiCall};
use crate::error::{Error, Phase, Result, Stage};
use crate::retry::Idempotency;
use crate::version::{EnvdFeature, EnvdVersion};
use e2b_api::control::Client as ApiClient;

const OPERATION: &str = "create sandbox";

/// The template used when none is named.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::DEFAULT_TEMPLATE, "base");
/// ```
pub const DEFAULT_TEMPLATE: &str = "base";

/// The sandbox ID used in debug mode, where no sandbox is created.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::DEBUG_SANDBOX_ID, "debug_sandbox_id");
/// ```
pub const DEBUG_SANDBOX_ID: &str = "debug_sandbox_id";

/// Options for a new sandbox; from [`Sandbox::builder`] or
/// [`Client::sandbox`]. Finish with [`create`](Self::create) (or
/// `.await`).
///
/// Defaults: template `base`, 300 s lifetime, secure (envd requires an
/// access token), internet access allowed, no metadata or environment.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// use std::time::Duration;
/// use e2b::{Lifecycle, NetworkConfig, OnTimeout, Sandbox};
///
/// let sandbox = Sandbox::builder()
///     .template("base")
///     .timeout(Duration::from_secs(600))
///     .metadata("owner", "ci")
///     .env("RUST_LOG", "debug")
///     .network(NetworkConfig::new().allow_out(["pypi.org", "files.pythonhosted.org"]).deny_out(["0.0.0.0/0"]))
///     .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true))
///     .create()
///     .await?;
/// println!("created {}", sandbox.sandbox_id());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `create` is awaited"]
pub struct SandboxBuilder {
    client: Option<Client>,
    template: Option<String>,
    timeout: Option<Duration>,
    metadata: HashMap<String, String>,
    envs: HashMap<String, String>,
    secure: Option<bool>,
    allow_internet_access: Option<bool>,
    network: Option<NetworkConfig>,
    lifecycle: Option<Lifecycle>,
    auto_pause: Option<bool>,
    mcp: Option<serde_json::Value>,
    request_timeout: Option<Duration>,
}

impl SandboxBuilder {
    pub(crate) fn with_client(client: Client) -> Self {
        Self { client: Some(client), ..Self::default() }
    }

    /// Create through this client instead of one configured from the
    /// environment.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let client = e2b::Client::new(e2b::ConnectionConfig::builder().api_key("e2b_01").build()?);
    /// let sandbox = e2b::Sandbox::builder().client(client).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The template: an ID, an alias, `namespace/alias`, or a snapshot ID
    /// with its `:tag` (default `base`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().template("code-interpreter-v1").create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// How long the sandbox lives (default 300 s; zero means the default;
    /// rounded up to whole seconds). Extend it later with
    /// [`Sandbox::set_timeout`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().timeout(std::time::Duration::from_secs(3600)).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A metadata entry, for filtering listings.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().metadata("user", "42").create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// An environment variable for every process in the sandbox.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().env("OPENAI_BASE_URL", "http://proxy").create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.insert(name.into(), value.into());
        self
    }

    /// Several environment variables.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().envs([("A", "1"), ("B", "2")]).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn envs<I, K, V>(mut self, envs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.envs.extend(envs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Whether envd requires the access token the API hands out (default
    /// `true`; needs envd 0.2.0 or later).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().secure(false).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = Some(secure);
        self
    }

    /// Whether the sandbox may reach the internet (default `true`); `false`
    /// is the same as denying `0.0.0.0/0`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().allow_internet_access(false).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn allow_internet_access(mut self, allow: bool) -> Self {
        self.allow_internet_access = Some(allow);
        self
    }

    /// Network rules.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let network = e2b::NetworkConfig::new().deny_out(["10.0.0.0/8"]);
    /// let sandbox = e2b::Sandbox::builder().network(network).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn network(mut self, network: NetworkConfig) -> Self {
        self.network = Some(network);
        self
    }

    /// What happens on timeout; checked before anything is sent (see
    /// [`Lifecycle`]).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// use e2b::{Lifecycle, OnTimeout};
    ///
    /// let sandbox = e2b::Sandbox::builder()
    ///     .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false))
    ///     .create()
    ///     .await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = Some(lifecycle);
        self
    }

    /// For [`beta_create`](Self::beta_create): pause instead of kill on
    /// timeout. Prefer [`lifecycle`](Self::lifecycle).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// #[allow(deprecated)]
    /// let sandbox = e2b::Sandbox::builder().auto_pause(true).beta_create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn auto_pause(mut self, auto_pause: bool) -> Self {
        self.auto_pause = Some(auto_pause);
        self
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
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder()
    ///     .mcp(serde_json::json!({"github": {"githubPersonalAccessToken": "ghp_…"}}))
    ///     .create()
    ///     .await?;
    /// println!("{}", sandbox.get_mcp_url());
    /// # Ok(()) }
    /// ```
    pub fn mcp(mut self, config: serde_json::Value) -> Self {
        self.mcp = Some(config);
        self
    }

    /// The deadline of the create request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().request_timeout(std::time::Duration::from_secs(120)).create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Creates the sandbox. In debug mode nothing is sent: the sandbox is
    /// the envd at `localhost:49983`, with ID `debug_sandbox_id`.
    ///
    /// Fails with [`Error::InvalidArgument`] for an invalid lifecycle before
    /// sending, and with [`Error::Template`] (after killing the new sandbox)
    /// when the template's envd is too old for this SDK.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// let sandbox = e2b::Sandbox::builder().create().await?;
    /// println!("{}", sandbox.sandbox_id());
    /// # Ok(()) }
    /// ```
    pub async fn create(self) -> Result<Sandbox> {
        let mut lifecycle = match self.lifecycle {
            Some(lifecycle) => lifecycle.to_fields(OPERATION)?,
            None => Default::default(),
        };
        if let Some(auto_pause) = self.auto_pause {
            if lifecycle.auto_pause.is_some() {
                return Err(Error::invalid_argument(
                    Stage::new(OPERATION, Phase::Validate),
                    "auto_pause and lifecycle cannot be combined; use lifecycle",
                ));
            }
            lifecycle.auto_pause = Some(auto_pause);
        }
        if self.mcp.as_ref().is_some_and(|mcp| !mcp.is_object()) {
            return Err(Error::invalid_argument(
                Stage::new(OPERATION, Phase::Validate),
                "the MCP configuration must be a JSON object",
            ));
        }
        let client = match self.client {
            Some(client) => client,
            None => Client::from_env()?,
        };
        let mcp = self.mcp;
        if client.config().debug() {
            let sandbox = Sandbox::debug(client, DEBUG_SANDBOX_ID)?;
            return start_mcp_gateway(sandbox, mcp).await;
        }
        let default_template = if mcp.is_some() { DEFAULT_MCP_TEMPLATE } else { DEFAULT_TEMPLATE };

        let body = types::NewSandbox {
            template_id: self
                .template
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| default_template.to_owned()),
            timeout: lifetime_seconds(self.timeout),
            metadata: Some(types::SandboxMetadata(self.metadata)),
            env_vars: Some(types::EnvVars(self.envs)),
            secure: Some(self.secure.unwrap_or(true)),
            allow_internet_access: Some(self.allow_internet_access.unwrap_or(true)),
            auto_pause: lifecycle.auto_pause.unwrap_or(false),
            auto_pause_memory: lifecycle.auto_pause_memory.unwrap_or(true),
            auto_resume: lifecycle.auto_resume.map(|enabled| types::SandboxAutoResumeConfig { enabled }),
            network: None,
            mcp: None,
            iam: None,
            volume_mounts: Vec::new(),
        };
        // progenitor serializes fields with schema defaults even when unset;
        // send exactly what was chosen, as E2B's SDKs do.
        let mut json = serde_json::to_value(&body)
            .map_err(|e| Error::invalid_argument(Stage::new(OPERATION, Phase::Validate), e.to_string()))?;
        if let Some(object) = json.as_object_mut() {
            if lifecycle.auto_pause.is_none() {
                object.remove("autoPause");
            }
            if lifecycle.auto_pause_memory.is_none() {
                object.remove("autoPauseMemory");
            }
            if let Some(network) = &self.network {
                object.insert("network".into(), network.to_json());
            }
            if let Some(mcp) = &mcp {
                object.insert("mcp".into(), mcp.clone());
            }
        }

        let config = client.config();
        let body = &body;
        let call = ApiCall::new(OPERATION, Idempotency::NonIdempotent, config)
            .timeout(self.request_timeout)
            .json_body(json);
        let response = control::call(config, call, |api: ApiClient| async move {
            api.create_sandbox().body(body.clone()).send().await
        })
        .await
        .map_err(control::ApiFailure::into_error)?;
        let created = response.value;
        let version: EnvdVersion = created.envd_version.0.parse()?;
        if let Err(too_old) = version.require(EnvdFeature::Usable, OPERATION) {
            let sandbox_id = created.sandbox_id.clone();
            if let Err(err) = client.kill(&sandbox_id).await {
                tracing::warn!(%sandbox_id, %err, "could not kill a sandbox whose template is too old");
            }
            return Err(too_old);
        }
        let sandbox = Sandbox::from_api(client, created, OPERATION)?;
        start_mcp_gateway(sandbox, mcp).await
    }

    /// Creates the sandbox the way the SDK's beta API did, sending
    /// [`auto_pause`](Self::auto_pause) as given.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), e2b::Error> {
    /// #[allow(deprecated)]
    /// let sandbox = e2b::Sandbox::builder().auto_pause(true).beta_create().await?;
    /// # let _ = sandbox; Ok(()) }
    /// ```
    #[deprecated(note = "use `lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause))` and `create`")]
    pub async fn beta_create(self) -> Result<Sandbox> {
        let auto_pause = self.auto_pause.unwrap_or(false);
        self.auto_pause(auto_pause).create().await
    }

    /// The same as [`create`](Self::create).
    async fn send(self) -> Result<Sandbox> {
        self.create().await
    }
}

send_on_await!(SandboxBuilder => Sandbox);

/// Starts the MCP gateway of a new sandbox, killing the sandbox if that
/// fails (nothing is left running that the caller cannot reach).
async fn start_mcp_gateway(sandbox: Sandbox, mcp: Option<serde_json::Value>) -> Result<Sandbox> {
    let Some(config) = mcp else {
        return Ok(sandbox);
    };
    let token = uuid::Uuid::new_v4().to_string();
    sandbox.set_mcp_token(token.clone());
    let started = sandbox
        .commands()
        .run(gateway_command(&config))
        .user("root")
        .env("GATEWAY_ACCESS_TOKEN", token)
        .send()
        .await;
    match started {
        Ok(_) => Ok(sandbox),
        Err(err) => {
            if let Err(kill) = sandbox.kill().await {
                tracing::warn!(sandbox_id = sandbox.sandbox_id(), %kill, "could not kill a sandbox whose MCP gateway failed");
            }
            Err(match err {
                Error::CommandExit { stderr, .. } => Error::sandbox(
                    Stage::new(OPERATION, Phase::Run),
                    format!("Failed to start MCP gateway: {stderr}"),
                ),
                other => other,
            })
        }
    }
}
