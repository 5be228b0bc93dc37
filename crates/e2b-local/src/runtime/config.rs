//! Runtime configuration (a builder) and sandbox specifications.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::error::{Result, RuntimeError};
use super::network::Ipv4Cidr;
use super::network::NetworkPolicy;
use super::template::BaseRecipe;
use super::types::{Resources, SandboxId, SnapshotId};

/// Where the runtime keeps its state unless told otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/e2b-local";
/// The port envd listens on inside every sandbox.
pub const ENVD_PORT: u16 = 49983;

/// How the runtime is set up. Build it with [`RuntimeConfig::new`] and the setters.
///
/// ```
/// use e2b_local::runtime::RuntimeConfig;
/// let config = RuntimeConfig::new("/usr/local/bin/envd")
///     .root("/var/lib/e2b-local")
///     .instance("main")
///     .address_pool("10.88.0.0/16".parse().unwrap());
/// assert_eq!(config.instance_name(), "main");
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub(crate) root: PathBuf,
    pub(crate) templates_dir: Option<PathBuf>,
    pub(crate) envd_path: PathBuf,
    pub(crate) envd_args: Vec<String>,
    pub(crate) envd_env: BTreeMap<String, String>,
    pub(crate) instance: String,
    pub(crate) address_pool: Ipv4Cidr,
    pub(crate) no_new_privs: bool,
    pub(crate) base_recipe: BaseRecipe,
    pub(crate) health_timeout: Duration,
    pub(crate) default_resources: Resources,
    pub(crate) nameservers: Option<Vec<Ipv4Addr>>,
    pub(crate) enable_ip_forward: bool,
}

impl RuntimeConfig {
    /// A configuration with defaults: state under `/var/lib/e2b-local`, instance `0`,
    /// addresses from `10.88.0.0/16`, E2B's default limits, and the given envd binary
    /// (bind-mounted read-only at `/usr/local/bin/envd` in every sandbox).
    pub fn new(envd_path: impl Into<PathBuf>) -> Self {
        Self {
            root: PathBuf::from(DEFAULT_ROOT),
            templates_dir: None,
            envd_path: envd_path.into(),
            envd_args: Vec::new(),
            envd_env: BTreeMap::new(),
            instance: "0".to_string(),
            address_pool: Ipv4Cidr::new(Ipv4Addr::new(10, 88, 0, 0), 16).expect("valid"),
            no_new_privs: true,
            base_recipe: BaseRecipe::default(),
            health_timeout: Duration::from_secs(10),
            default_resources: Resources::default(),
            nameservers: None,
            enable_ip_forward: true,
        }
    }

    /// State root: sandboxes' disks, snapshots and (unless [`templates_dir`](Self::templates_dir)
    /// is set) templates live below it.
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Separate directory for templates (lets several runtimes share one built `base`).
    pub fn templates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.templates_dir = Some(dir.into());
        self
    }

    /// Extra command-line arguments for envd.
    pub fn envd_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.envd_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// An environment variable for envd's own process.
    pub fn envd_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.envd_env.insert(key.into(), value.into());
        self
    }

    /// Name of this runtime instance (1..=6 chars of `[a-z0-9]`). It prefixes everything the
    /// runtime creates on the host (cgroups, veths, nftables table), so runtimes with different
    /// names and pools can share a host and the startup sweep only removes its own leftovers.
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = name.into();
        self
    }

    /// Private IPv4 pool; each sandbox takes a /30 of it (host end `.1`, sandbox `.2`).
    pub fn address_pool(mut self, pool: Ipv4Cidr) -> Self {
        self.address_pool = pool;
        self
    }

    /// Whether sandbox processes run with `no_new_privs` (default true). With it, setuid
    /// binaries such as `sudo` cannot raise privileges inside the sandbox; commands that need
    /// root should be run as user `root` through envd instead.
    pub fn no_new_privs(mut self, enabled: bool) -> Self {
        self.no_new_privs = enabled;
        self
    }

    /// The recipe of the `base` template.
    pub fn base_recipe(mut self, recipe: BaseRecipe) -> Self {
        self.base_recipe = recipe;
        self
    }

    /// How long `create` waits for envd's `GET /health` (default 10 s).
    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    /// Limits for sandboxes whose spec sets none.
    pub fn default_resources(mut self, resources: Resources) -> Self {
        self.default_resources = resources;
        self
    }

    /// DNS servers written to the sandboxes' `/etc/resolv.conf` (default: the host's
    /// non-loopback servers).
    pub fn nameservers(mut self, servers: Vec<Ipv4Addr>) -> Self {
        self.nameservers = Some(servers);
        self
    }

    /// Whether the runtime turns on `net.ipv4.ip_forward` so sandboxes reach the internet
    /// (default true).
    pub fn enable_ip_forward(mut self, enabled: bool) -> Self {
        self.enable_ip_forward = enabled;
        self
    }

    /// The instance name.
    pub fn instance_name(&self) -> &str {
        &self.instance
    }

    /// The state root.
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    pub(crate) fn templates_path(&self) -> PathBuf {
        self.templates_dir.clone().unwrap_or_else(|| self.root.join("templates"))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let inst = &self.instance;
        if inst.is_empty()
            || inst.len() > 6
            || !inst.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(RuntimeError::Config(format!(
                "instance name {inst:?} must be 1..=6 characters of [a-z0-9]"
            )));
        }
        if !(16..=29).contains(&self.address_pool.prefix()) {
            return Err(RuntimeError::Config(
                "address pool must be between /16 and /29 (each sandbox takes a /30)".into(),
            ));
        }
        if !self.root.is_absolute() {
            return Err(RuntimeError::Config("root must be an absolute path".into()));
        }
        if !self.envd_path.is_file() {
            return Err(RuntimeError::Config(format!(
                "envd binary {} does not exist",
                self.envd_path.display()
            )));
        }
        self.default_resources.validate()
    }
}

/// What envd is configured with right after it is healthy (`POST /init`).
///
/// ```
/// use e2b_local::runtime::EnvdInit;
/// let init = EnvdInit::default().env("FOO", "1").access_token("secret");
/// assert_eq!(init.default_user, "user");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvdInit {
    /// Default environment of processes started by envd.
    pub env_vars: BTreeMap<String, String>,
    /// Token that envd requires on every request (`secure` sandboxes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Default user (E2B: `user`).
    pub default_user: String,
    /// Default working directory (E2B: `/home/user`).
    pub default_workdir: String,
}

impl Default for EnvdInit {
    fn default() -> Self {
        Self {
            env_vars: BTreeMap::new(),
            access_token: None,
            default_user: "user".into(),
            default_workdir: "/home/user".into(),
        }
    }
}

impl EnvdInit {
    /// Adds a default environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.insert(key.into(), value.into());
        self
    }

    /// Sets the access token.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }
}

/// Where a sandbox's root filesystem comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxSource {
    /// A template by name (`base` is built on first use).
    Template(String),
    /// A snapshot taken earlier.
    Snapshot(SnapshotId),
}

/// What sandbox to create.
///
/// ```
/// use e2b_local::runtime::{NetworkPolicy, Resources, SandboxSpec};
/// let spec = SandboxSpec::template("base")
///     .resources(Resources { memory_mib: 1024, ..Resources::default() })
///     .network(NetworkPolicy::default().allow_internet(false))
///     .label("owner", "ci");
/// ```
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub(crate) source: SandboxSource,
    pub(crate) resources: Option<Resources>,
    pub(crate) network: NetworkPolicy,
    pub(crate) init: Option<EnvdInit>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) id: Option<SandboxId>,
}

impl SandboxSpec {
    /// A sandbox from a template.
    pub fn template(name: impl Into<String>) -> Self {
        Self::from_source(SandboxSource::Template(name.into()))
    }

    /// A sandbox from a snapshot (its filesystem; memory too when it was captured).
    pub fn snapshot(id: SnapshotId) -> Self {
        Self::from_source(SandboxSource::Snapshot(id))
    }

    fn from_source(source: SandboxSource) -> Self {
        Self {
            source,
            resources: None,
            network: NetworkPolicy::default(),
            init: Some(EnvdInit::default()),
            labels: BTreeMap::new(),
            id: None,
        }
    }

    /// Limits (default: the template's or snapshot's, else the runtime's defaults).
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Egress policy.
    pub fn network(mut self, policy: NetworkPolicy) -> Self {
        self.network = policy;
        self
    }

    /// What envd is initialised with (`None`: no `POST /init`, the caller does it).
    pub fn envd_init(mut self, init: Option<EnvdInit>) -> Self {
        self.init = init;
        self
    }

    /// A label kept with the sandbox.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Use this id instead of a random one.
    pub fn id(mut self, id: SandboxId) -> Self {
        self.id = Some(id);
        self
    }

    /// The source.
    pub fn source(&self) -> &SandboxSource {
        &self.source
    }
}
