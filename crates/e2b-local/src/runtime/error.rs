//! The runtime's error type: one enum, every variant says at which stage a call failed.

use std::io;

use super::types::{SandboxId, SnapshotId};

/// Shorthand for results of runtime calls.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// A step of creating a sandbox, reported when that step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateStage {
    /// Preparing the per-sandbox state directory.
    StateDir,
    /// Preparing the size-limited writable disk (image, loop device, ext4 mount).
    Disk,
    /// Creating the cgroups and writing the resource limits.
    Cgroup,
    /// Creating the network namespace, the veth pair and the addresses.
    Network,
    /// Installing the sandbox's egress rules in the runtime's nftables table.
    Firewall,
    /// Starting the sandbox's first process in its new namespaces.
    Spawn,
    /// Writing the user namespace's uid/gid maps.
    IdMap,
    /// Creating the idmapped layers of the root filesystem.
    Layers,
    /// Waiting for envd to answer `GET /health`.
    EnvdHealth,
    /// Configuring envd with `POST /init`.
    EnvdInit,
}

impl std::fmt::Display for CreateStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::StateDir => "state directory",
            Self::Disk => "disk",
            Self::Cgroup => "cgroup",
            Self::Network => "network",
            Self::Firewall => "firewall",
            Self::Spawn => "spawn",
            Self::IdMap => "id map",
            Self::Layers => "root filesystem layers",
            Self::EnvdHealth => "envd health check",
            Self::EnvdInit => "envd init",
        };
        f.write_str(name)
    }
}

/// Everything that can go wrong in the sandbox runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The host lacks something the namespace backend needs (root, a kernel feature, a tool).
    #[error("the namespace backend cannot run on this host: {0}")]
    Unsupported(String),
    /// The runtime's configuration is invalid.
    #[error("invalid runtime configuration: {0}")]
    Config(String),
    /// A sandbox specification is invalid (bad limits, bad CIDR, ...).
    #[error("invalid sandbox specification: {0}")]
    InvalidSpec(String),
    /// No sandbox with this id is known to the runtime.
    #[error("sandbox {0} not found")]
    SandboxNotFound(SandboxId),
    /// No snapshot with this id exists.
    #[error("snapshot {0} not found")]
    SnapshotNotFound(SnapshotId),
    /// No template with this name exists (and it is not one the runtime can build).
    #[error("template {0:?} not found")]
    TemplateNotFound(String),
    /// The operation does not apply to the sandbox's current state (e.g. pausing a paused one).
    #[error("sandbox {id} is {state}; cannot {operation}")]
    InvalidState {
        /// The sandbox.
        id: SandboxId,
        /// Its state, as text.
        state: String,
        /// What was attempted.
        operation: &'static str,
    },
    /// The address pool has no free slot left.
    #[error("no free sandbox slot: all {0} addresses of the pool are in use")]
    PoolExhausted(usize),
    /// Creating a sandbox failed at the given stage; everything created so far was removed.
    #[error("creating the sandbox failed at stage {stage}: {source}")]
    Create {
        /// The step that failed.
        stage: CreateStage,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The sandbox's first process failed while setting itself up inside its namespaces.
    #[error("sandbox init failed while {step}: {source}")]
    SandboxInit {
        /// What the process was doing (e.g. "mounting the overlay root").
        step: &'static str,
        /// The errno it got.
        #[source]
        source: io::Error,
    },
    /// envd did not become healthy in time; its log tail is attached.
    #[error("envd did not answer GET /health within {waited_ms} ms (envd log: {log_tail:?})")]
    EnvdTimeout {
        /// How long the runtime waited.
        waited_ms: u64,
        /// The last lines envd printed.
        log_tail: String,
    },
    /// envd answered `POST /init` with an error.
    #[error("envd rejected POST /init with status {status}: {body}")]
    EnvdInit {
        /// HTTP status code.
        status: u16,
        /// Response body.
        body: String,
    },
    /// Pausing or resuming through the cgroup freezer failed.
    #[error("{operation} failed in the cgroup freezer: {source}")]
    Freezer {
        /// "pause" or "resume".
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Building, importing or loading a template failed.
    #[error("template {name:?}: {stage} failed: {message}")]
    Template {
        /// The template.
        name: String,
        /// Which step ("mmdebstrap", "import", "recipe", ...).
        stage: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Taking or restoring a snapshot failed.
    #[error("snapshot {stage} failed: {source}")]
    Snapshot {
        /// Which step ("copy", "record", ...).
        stage: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Any other I/O failure, with the path or object concerned.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (including the path).
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl RuntimeError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }

    pub(crate) fn create(stage: CreateStage, source: io::Error) -> Self {
        Self::Create { stage, source }
    }

    pub(crate) fn path(action: &str, path: &std::path::Path, source: io::Error) -> Self {
        Self::io(format!("{action} {}", path.display()), source)
    }

    pub(crate) fn template(name: &str, stage: &'static str, message: impl Into<String>) -> Self {
        Self::Template { name: name.to_string(), stage, message: message.into() }
    }
}

/// Attach an io context to any io::Result.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
    fn at(self, action: &str, path: &std::path::Path) -> Result<T>;
    fn stage(self, stage: CreateStage) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| RuntimeError::io(context(), e))
    }
    fn at(self, action: &str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| RuntimeError::path(action, path, e))
    }
    fn stage(self, stage: CreateStage) -> Result<T> {
        self.map_err(|e| RuntimeError::create(stage, e))
    }
}
