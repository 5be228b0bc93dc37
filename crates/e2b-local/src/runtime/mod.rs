//! The sandbox runtime: real isolated sandboxes on one Linux machine, without KVM or Docker.
//!
//! [`Runtime`] creates, pauses, resumes, snapshots, restores, lists and kills sandboxes.
//! Each sandbox runs envd (the E2B daemon) as its first process, reachable from the host at
//! [`SandboxInfo::envd`]. Work is done by a [`Backend`]; today that is the namespace backend
//! (user/pid/mount/uts/ipc/net/cgroup namespaces, overlayfs over idmapped layers, cgroups,
//! seccomp, nftables). A microVM backend can be added behind the same trait and chosen by
//! [`Runtime::new`]'s probe.
//!
//! ```no_run
//! use e2b_local::runtime::{Runtime, RuntimeConfig, SandboxSpec};
//!
//! # async fn demo() -> Result<(), e2b_local::runtime::RuntimeError> {
//! let runtime = Runtime::new(RuntimeConfig::new("/usr/local/bin/envd")).await?;
//! let sandbox = runtime.create(SandboxSpec::template("base")).await?;
//! println!("envd of {} at {}", sandbox.id, sandbox.envd);
//! runtime.pause(&sandbox.id).await?;
//! runtime.resume(&sandbox.id).await?;
//! let snapshot = runtime.snapshot(&sandbox.id).await?;
//! runtime.kill(&sandbox.id).await?;
//! let again = runtime.create(SandboxSpec::snapshot(snapshot.id)).await?;
//! runtime.kill(&again.id).await?;
//! # Ok(()) }
//! ```
//!
//! Requirements of the namespace backend: root, Linux >= 5.19 (idmapped overlay layers),
//! cgroup v2 or v1 (cpu, cpuacct, memory, pids, freezer), `nft`, `mkfs.ext4`, and
//! `mmdebstrap` for building `base`.

mod cgroup;
mod config;
mod envd_client;
mod error;
mod namespace;
mod network;
mod snapshot;
mod template;
mod types;

pub use config::{DEFAULT_ROOT, ENVD_PORT, EnvdInit, RuntimeConfig, SandboxSource, SandboxSpec};
pub use error::{CreateStage, Result, RuntimeError};
pub use namespace::NamespaceBackend;
pub use network::{Ipv4Cidr, NetworkPolicy};
pub use template::{BASE_TEMPLATE, BaseRecipe, TemplateInfo, TemplateProgress};
pub use types::{
    MemoryCapture, Metrics, Resources, RuntimeEvent, SandboxId, SandboxInfo, SandboxState, SnapshotId,
    SnapshotInfo,
};

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;
use tracing::Instrument;

/// Callback receiving template build progress.
pub type ProgressFn = Arc<dyn Fn(TemplateProgress) + Send + Sync>;

/// What a sandbox backend does. The namespace backend implements it; a microVM backend
/// could be added later and selected by a boot probe in [`Runtime::new`].
#[async_trait]
pub trait Backend: Send + Sync {
    /// Short name ("namespace", ...).
    fn name(&self) -> &'static str;
    /// Creates a sandbox; returns once envd answers `/health` (and `/init` was applied).
    async fn create(&self, spec: SandboxSpec, progress: ProgressFn) -> Result<SandboxInfo>;
    /// Freezes all processes; memory stays resident.
    async fn pause(&self, id: &SandboxId) -> Result<()>;
    /// Thaws a paused sandbox.
    async fn resume(&self, id: &SandboxId) -> Result<()>;
    /// Saves the sandbox's filesystem (and memory when supported) as a snapshot.
    async fn snapshot(&self, id: &SandboxId, snapshot: Option<SnapshotId>) -> Result<SnapshotInfo>;
    /// Creates a sandbox from a snapshot.
    async fn restore(
        &self,
        snapshot: &SnapshotId,
        spec: SandboxSpec,
        progress: ProgressFn,
    ) -> Result<SandboxInfo>;
    /// Kills the sandbox and removes everything it had on the host.
    async fn kill(&self, id: &SandboxId) -> Result<()>;
    /// Replaces the sandbox's egress policy.
    async fn update_network(&self, id: &SandboxId, policy: NetworkPolicy) -> Result<()>;
    /// Host-reachable address of the sandbox's envd.
    async fn envd_endpoint(&self, id: &SandboxId) -> Result<std::net::SocketAddr>;
    /// One metrics sample from host-side counters.
    async fn metrics(&self, id: &SandboxId) -> Result<Metrics>;
    /// One sandbox.
    async fn info(&self, id: &SandboxId) -> Result<SandboxInfo>;
    /// All sandboxes, oldest first.
    async fn list(&self) -> Vec<SandboxInfo>;
    /// All snapshots, newest first.
    async fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>>;
    /// Deletes a snapshot.
    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()>;
    /// Lifecycle events (OOM kills, unexpected exits).
    fn events(&self) -> broadcast::Receiver<RuntimeEvent>;
    /// Kills every sandbox and removes the backend's own host objects.
    async fn shutdown(&self) -> Result<()>;
}

#[async_trait]
impl Backend for NamespaceBackend {
    fn name(&self) -> &'static str {
        "namespace"
    }
    async fn create(&self, spec: SandboxSpec, progress: ProgressFn) -> Result<SandboxInfo> {
        NamespaceBackend::create(self, spec, progress).await
    }
    async fn pause(&self, id: &SandboxId) -> Result<()> {
        NamespaceBackend::pause(self, id).await
    }
    async fn resume(&self, id: &SandboxId) -> Result<()> {
        NamespaceBackend::resume(self, id).await
    }
    async fn snapshot(&self, id: &SandboxId, snapshot: Option<SnapshotId>) -> Result<SnapshotInfo> {
        NamespaceBackend::snapshot(self, id, snapshot).await
    }
    async fn restore(
        &self,
        snapshot: &SnapshotId,
        spec: SandboxSpec,
        progress: ProgressFn,
    ) -> Result<SandboxInfo> {
        let spec = SandboxSpec { source: SandboxSource::Snapshot(snapshot.clone()), ..spec };
        NamespaceBackend::create(self, spec, progress).await
    }
    async fn kill(&self, id: &SandboxId) -> Result<()> {
        NamespaceBackend::kill(self, id).await
    }
    async fn update_network(&self, id: &SandboxId, policy: NetworkPolicy) -> Result<()> {
        NamespaceBackend::update_network(self, id, policy).await
    }
    async fn envd_endpoint(&self, id: &SandboxId) -> Result<std::net::SocketAddr> {
        Ok(NamespaceBackend::info(self, id)?.envd)
    }
    async fn metrics(&self, id: &SandboxId) -> Result<Metrics> {
        NamespaceBackend::metrics(self, id)
    }
    async fn info(&self, id: &SandboxId) -> Result<SandboxInfo> {
        NamespaceBackend::info(self, id)
    }
    async fn list(&self) -> Vec<SandboxInfo> {
        NamespaceBackend::list(self)
    }
    async fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        NamespaceBackend::list_snapshots(self)
    }
    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        NamespaceBackend::delete_snapshot(self, id)
    }
    fn events(&self) -> broadcast::Receiver<RuntimeEvent> {
        NamespaceBackend::events(self)
    }
    async fn shutdown(&self) -> Result<()> {
        NamespaceBackend::shutdown(self).await
    }
}

/// The runtime: one backend plus the template store.
///
/// Cloning is cheap; all clones drive the same sandboxes.
#[derive(Clone)]
pub struct Runtime {
    backend: Arc<dyn Backend>,
    namespace: NamespaceBackend,
    progress: ProgressFn,
}

impl Runtime {
    /// Probes the host, sweeps leftovers of a crashed runtime with the same root and
    /// instance, and starts the namespace backend. Fails with
    /// [`RuntimeError::Unsupported`] when the host cannot run it.
    ///
    /// ```no_run
    /// # async fn demo() -> e2b_local::runtime::Result<()> {
    /// use e2b_local::runtime::{Runtime, RuntimeConfig};
    /// let runtime = Runtime::new(RuntimeConfig::new("/usr/local/bin/envd").root("/tmp/e2b")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(config: RuntimeConfig) -> Result<Self> {
        let namespace = NamespaceBackend::start(config).await?;
        Ok(Self {
            backend: Arc::new(namespace.clone()),
            namespace,
            progress: Arc::new(|p| tracing::info!(?p, "template")),
        })
    }

    /// Sets the callback that receives template build progress (the `base` build on first
    /// use takes minutes; a CLI should render these).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) {
    /// let runtime = runtime.with_progress(|p| eprintln!("{p:?}"));
    /// # }
    /// ```
    pub fn with_progress(mut self, progress: impl Fn(TemplateProgress) + Send + Sync + 'static) -> Self {
        self.progress = Arc::new(progress);
        self
    }

    /// The backend in use.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Creates a sandbox (building `base` first if needed) and waits for envd.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// use e2b_local::runtime::SandboxSpec;
    /// let sandbox = runtime.create(SandboxSpec::template("base").label("owner", "me")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, spec: SandboxSpec) -> Result<SandboxInfo> {
        let span = tracing::info_span!("sandbox.create", backend = self.backend.name());
        self.backend.create(spec, self.progress.clone()).instrument(span).await
    }

    /// Pauses a running sandbox (cgroup freezer).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// runtime.pause(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn pause(&self, id: &SandboxId) -> Result<()> {
        self.backend.pause(id).instrument(tracing::info_span!("sandbox.pause", sandbox = %id)).await
    }

    /// Resumes a paused sandbox.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// runtime.resume(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn resume(&self, id: &SandboxId) -> Result<()> {
        self.backend.resume(id).instrument(tracing::info_span!("sandbox.resume", sandbox = %id)).await
    }

    /// Snapshots a sandbox under a new random id (it keeps running afterwards).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// let snap = runtime.snapshot(&id).await?;
    /// println!("memory: {:?}", snap.memory);
    /// # Ok(()) }
    /// ```
    pub async fn snapshot(&self, id: &SandboxId) -> Result<SnapshotInfo> {
        self.backend
            .snapshot(id, None)
            .instrument(tracing::info_span!("sandbox.snapshot", sandbox = %id))
            .await
    }

    /// Snapshots a sandbox under a chosen id (`name:tag`).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// use e2b_local::runtime::SnapshotId;
    /// runtime.snapshot_as(&id, SnapshotId::parse("my-snap:v1")?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn snapshot_as(&self, id: &SandboxId, snapshot: SnapshotId) -> Result<SnapshotInfo> {
        self.backend
            .snapshot(id, Some(snapshot))
            .instrument(tracing::info_span!("sandbox.snapshot", sandbox = %id))
            .await
    }

    /// Kills a sandbox and removes all its host resources.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// runtime.kill(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self, id: &SandboxId) -> Result<()> {
        self.backend.kill(id).instrument(tracing::info_span!("sandbox.kill", sandbox = %id)).await
    }

    /// Replaces a running sandbox's egress policy (E2B's `PUT /sandboxes/{id}/network`).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// use e2b_local::runtime::NetworkPolicy;
    /// runtime.update_network(&id, NetworkPolicy::default().allow_internet(false)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_network(&self, id: &SandboxId, policy: NetworkPolicy) -> Result<()> {
        self.backend
            .update_network(id, policy)
            .instrument(tracing::info_span!("sandbox.update_network", sandbox = %id))
            .await
    }

    /// One sandbox.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// let info = runtime.info(&id).await?;
    /// println!("{} is {}", info.id, info.state);
    /// # Ok(()) }
    /// ```
    pub async fn info(&self, id: &SandboxId) -> Result<SandboxInfo> {
        self.backend.info(id).await
    }

    /// All sandboxes, oldest first.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) {
    /// for s in runtime.list().await { println!("{} {}", s.id, s.state); }
    /// # }
    /// ```
    pub async fn list(&self) -> Vec<SandboxInfo> {
        self.backend.list().await
    }

    /// Host-side metrics of a sandbox.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// let m = runtime.metrics(&id).await?;
    /// println!("{}% cpu, {} of {} bytes", m.cpu_used_pct, m.mem_used, m.mem_total);
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self, id: &SandboxId) -> Result<Metrics> {
        self.backend.metrics(id).instrument(tracing::info_span!("sandbox.metrics", sandbox = %id)).await
    }

    /// The last `max` lines of envd's output in a sandbox (E2B's sandbox logs).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SandboxId) -> e2b_local::runtime::Result<()> {
    /// for line in runtime.logs(&id, 100)? { println!("{line}"); }
    /// # Ok(()) }
    /// ```
    pub fn logs(&self, id: &SandboxId, max: usize) -> Result<Vec<String>> {
        self.namespace.logs(id, max)
    }

    /// All snapshots, newest first.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// let snapshots = runtime.snapshots().await?;
    /// # Ok(()) }
    /// ```
    pub async fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        self.backend.list_snapshots().await
    }

    /// Deletes a snapshot (refused while a sandbox or another snapshot is built on it).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime, id: e2b_local::runtime::SnapshotId) -> e2b_local::runtime::Result<()> {
    /// runtime.delete_snapshot(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        for sandbox in self.backend.list().await {
            if sandbox.snapshot.as_ref() == Some(id) {
                return Err(RuntimeError::InvalidSpec(format!(
                    "snapshot {id} is in use by sandbox {}",
                    sandbox.id
                )));
            }
        }
        self.backend.delete_snapshot(id).await
    }

    /// Lifecycle events: OOM kills and unexpected exits.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) {
    /// let mut events = runtime.events();
    /// while let Ok(event) = events.recv().await { println!("{event:?}"); }
    /// # }
    /// ```
    pub fn events(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.backend.events()
    }

    /// Builds `base` now if it is missing or its recipe changed (otherwise reports
    /// [`TemplateProgress::Cached`]).
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// let base = runtime.ensure_base_template().await?;
    /// println!("base at {}", base.rootfs.display());
    /// # Ok(()) }
    /// ```
    pub async fn ensure_base_template(&self) -> Result<TemplateInfo> {
        let store = self.namespace.templates().clone();
        let progress = self.progress.clone();
        tokio::task::spawn_blocking(move || store.ensure_base(&*progress))
            .await
            .map_err(|e| RuntimeError::io("template task", std::io::Error::other(e)))?
    }

    /// Registers (or replaces) a template from a local root filesystem directory.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// runtime.import_template_dir("alpine", "/srv/rootfs/alpine").await?;
    /// # Ok(()) }
    /// ```
    pub async fn import_template_dir(&self, name: &str, rootfs: impl AsRef<Path>) -> Result<TemplateInfo> {
        let store = self.namespace.templates().clone();
        let (name, path) = (name.to_string(), rootfs.as_ref().to_path_buf());
        tokio::task::spawn_blocking(move || store.import_dir(&name, &path))
            .await
            .map_err(|e| RuntimeError::io("template task", std::io::Error::other(e)))?
    }

    /// Registers (or replaces) a template from a root filesystem tarball.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// runtime.import_template_tarball("custom", "/tmp/rootfs.tar.gz").await?;
    /// # Ok(()) }
    /// ```
    pub async fn import_template_tarball(
        &self,
        name: &str,
        tarball: impl AsRef<Path>,
    ) -> Result<TemplateInfo> {
        let store = self.namespace.templates().clone();
        let (name, path) = (name.to_string(), tarball.as_ref().to_path_buf());
        tokio::task::spawn_blocking(move || store.import_tarball(&name, &path))
            .await
            .map_err(|e| RuntimeError::io("template task", std::io::Error::other(e)))?
    }

    /// Stored templates.
    ///
    /// ```no_run
    /// # fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// for t in runtime.templates()? { println!("{} {}", t.name, t.version); }
    /// # Ok(()) }
    /// ```
    pub fn templates(&self) -> Result<Vec<TemplateInfo>> {
        self.namespace.templates().list()
    }

    /// Forgets a template (its files stay: running sandboxes and snapshots may use them).
    ///
    /// ```no_run
    /// # fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// runtime.remove_template("custom")?;
    /// # Ok(()) }
    /// ```
    pub fn remove_template(&self, name: &str) -> Result<()> {
        self.namespace.templates().remove(name)
    }

    /// Kills every sandbox and removes the runtime's nftables table and parent cgroup.
    ///
    /// ```no_run
    /// # async fn demo(runtime: e2b_local::runtime::Runtime) -> e2b_local::runtime::Result<()> {
    /// runtime.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) -> Result<()> {
        self.backend.shutdown().await
    }

    /// Host-side names of what this runtime owns, for diagnostics and leak checks.
    ///
    /// ```no_run
    /// # fn demo(runtime: e2b_local::runtime::Runtime) {
    /// let owned = runtime.host_resources();
    /// println!("table {} iface prefix {}", owned.nft_table, owned.interface_prefix);
    /// # }
    /// ```
    pub fn host_resources(&self) -> HostResources {
        HostResources {
            nft_table: self.namespace.firewall_table(),
            nft_listing: self.namespace.firewall_listing().unwrap_or_default(),
            interface_prefix: self.namespace.interface_prefix(),
            cgroups: self.namespace.cgroup_dirs(),
        }
    }
}

/// What the runtime owns on the host (see [`Runtime::host_resources`]).
#[derive(Debug, Clone)]
pub struct HostResources {
    /// Name of the nftables table (family `inet`).
    pub nft_table: String,
    /// `nft list table` output.
    pub nft_listing: String,
    /// Prefix of host-side veth names.
    pub interface_prefix: String,
    /// Sandbox cgroups that exist below the runtime's parent cgroup.
    pub cgroups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The control plane runs these futures on a multi-threaded executor (axum, spawn).
    #[allow(dead_code, clippy::diverging_sub_expression, unreachable_code)]
    fn runtime_futures_are_send(rt: Runtime, id: SandboxId) {
        assert_send(&rt.create(SandboxSpec::template("base")));
        assert_send(&rt.pause(&id));
        assert_send(&rt.resume(&id));
        assert_send(&rt.snapshot(&id));
        assert_send(&rt.kill(&id));
        assert_send(&rt.metrics(&id));
        assert_send(&rt.delete_snapshot(&SnapshotId::generate()));
        assert_send(&rt.ensure_base_template());
        assert_send(&Runtime::new(RuntimeConfig::new("/envd")));
    }

    #[test]
    fn runtime_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Runtime>();
    }
}
