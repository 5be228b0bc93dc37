//! The namespace backend: each sandbox is a tree of processes in its own user, pid, mount,
//! uts, ipc, net and cgroup namespaces, on an overlay root made of idmapped read-only layers
//! and a size-limited ext4 disk, confined by cgroups, capabilities, no_new_privs and seccomp.

mod child;
mod disk;
mod seccomp;
mod sweep;
pub(crate) mod sys;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::sync::{broadcast, watch};

use super::cgroup::{Hierarchy, SandboxCgroup};
use super::config::{ENVD_PORT, RuntimeConfig, SandboxSource, SandboxSpec};
use super::envd_client;
use super::error::{CreateStage, IoContext, Result, RuntimeError};
use super::network::{AddressPool, Firewall, HostNetwork, Lease, NetworkPolicy};
use super::snapshot;
use super::template::{TemplateProgress, TemplateStore};
use super::types::{
    Metrics, Resources, RuntimeEvent, SandboxId, SandboxInfo, SandboxState, SnapshotId, SnapshotInfo,
};

/// How often the OOM counters of running sandboxes are checked.
const OOM_POLL: Duration = Duration::from_millis(500);

/// What is written to `<sandbox dir>/record.json` so that a restarted runtime can find and
/// remove the leftovers of a crashed one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SandboxRecord {
    pub(crate) id: SandboxId,
    pub(crate) pid: u32,
    pub(crate) pid_start_time: u64,
    pub(crate) slot: u32,
}

struct Sandbox {
    id: SandboxId,
    template: String,
    snapshot: Option<SnapshotId>,
    layers: Vec<PathBuf>,
    lease: Lease,
    resources: Resources,
    labels: BTreeMap<String, String>,
    started_at: SystemTime,
    pid: u32,
    pidfd: Arc<OwnedFd>,
    cgroup: SandboxCgroup,
    dir: PathBuf,
    state: Mutex<SandboxState>,
    exit: watch::Receiver<Option<(Option<i32>, Option<i32>)>>,
    last_cpu: Mutex<Option<(Instant, u64)>>,
    /// Serialises lifecycle operations (pause/resume/snapshot/kill) on this sandbox.
    op: tokio::sync::Mutex<bool>,
    /// The egress policy in force (changed by `update_network`).
    network: Mutex<NetworkPolicy>,
}

impl Sandbox {
    fn info(&self) -> SandboxInfo {
        SandboxInfo {
            id: self.id.clone(),
            template: self.template.clone(),
            snapshot: self.snapshot.clone(),
            state: self.state.lock().expect("state lock").clone(),
            envd: SocketAddr::new(self.lease.sandbox.into(), ENVD_PORT),
            address: self.lease.sandbox,
            resources: self.resources,
            started_at: self.started_at,
            labels: self.labels.clone(),
            network: self.network.lock().expect("network").clone(),
            pid: self.pid,
        }
    }

    fn disk_mount(&self) -> PathBuf {
        self.dir.join("disk")
    }
}

/// The namespace backend. Cheap to clone.
#[derive(Clone)]
pub struct NamespaceBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: RuntimeConfig,
    hierarchy: Hierarchy,
    cgroup_parent: PathBuf,
    net: HostNetwork,
    firewall: Firewall,
    pool: AddressPool,
    templates: TemplateStore,
    seccomp: Vec<Vec<libc::sock_filter>>,
    sandboxes: Mutex<HashMap<SandboxId, Arc<Sandbox>>>,
    /// Ids of sandboxes being created (so two creates cannot claim the same id).
    creating: Mutex<std::collections::HashSet<SandboxId>>,
    events: broadcast::Sender<RuntimeEvent>,
    nameservers: Vec<Ipv4Addr>,
    sandboxes_dir: PathBuf,
    snapshots_dir: PathBuf,
    cache_dir: PathBuf,
    /// The runtime's own copy of the envd binary (see [`stage_envd`]).
    envd_binary: PathBuf,
}

// SAFETY: sock_filter is plain data; the programs are never mutated after construction.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

/// Everything needed to check that the host can run the namespace backend.
pub(crate) fn probe() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(RuntimeError::Unsupported(
            "the namespace backend must run as root (it creates user namespaces with full id \
             ranges, loop devices, cgroups and network namespaces)"
                .into(),
        ));
    }
    for (path, what) in [
        ("/proc/self/ns/user", "user namespaces"),
        ("/proc/self/ns/cgroup", "cgroup namespaces"),
        ("/dev/loop-control", "loop devices"),
    ] {
        if !Path::new(path).exists() {
            return Err(RuntimeError::Unsupported(format!("{what} ({path} missing)")));
        }
    }
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    for fstype in ["overlay", "ext4"] {
        if !filesystems.split_whitespace().any(|f| f == fstype) {
            // It may be a module that loads on first mount; modprobe quietly.
            let _ = std::process::Command::new("modprobe").arg(fstype).status();
        }
    }
    for tool in ["nft", "mkfs.ext4"] {
        if which(tool).is_none() {
            return Err(RuntimeError::Unsupported(format!(
                "`{tool}` is not installed (apt-get install nftables e2fsprogs)"
            )));
        }
    }
    Ok(())
}

pub(crate) fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

impl NamespaceBackend {
    /// Starts the backend: probes the host, sweeps leftovers of a crashed runtime with the
    /// same root and instance, installs the nftables table.
    pub(crate) async fn start(config: RuntimeConfig) -> Result<Self> {
        config.validate()?;
        probe()?;
        let hierarchy =
            Hierarchy::detect().map_err(|e| RuntimeError::Unsupported(format!("cgroups: {e}")))?;
        let cgroup_parent = PathBuf::from("e2b-local").join(&config.instance);
        hierarchy
            .prepare_parent(&cgroup_parent)
            .ctx(|| format!("creating cgroup {}", cgroup_parent.display()))?;
        let net = HostNetwork::new(&config.instance).ctx(|| "opening netlink".into())?;
        let firewall = Firewall::new(&config.instance, config.address_pool);
        let sandboxes_dir = config.root.join("sandboxes");
        let snapshots_dir = config.root.join("snapshots");
        let cache_dir = config.root.join("cache");
        for d in [&sandboxes_dir, &snapshots_dir, &cache_dir] {
            fs::create_dir_all(d).at("creating", d)?;
        }
        let envd_binary = stage_envd(&config.envd_path, &config.root.join("bin"), &config.instance)?;
        let seccomp =
            seccomp::filters().map_err(|e| RuntimeError::Unsupported(format!("seccomp filter: {e}")))?;
        if config.enable_ip_forward {
            super::network::enable_forwarding().ctx(|| "enabling ip_forward".into())?;
        }
        let nameservers = config.nameservers.clone().unwrap_or_else(super::network::host_nameservers);
        let templates =
            TemplateStore::new(config.templates_path(), config.base_recipe.clone(), config.default_resources);
        let (events, _) = broadcast::channel(256);
        let backend = Self {
            inner: Arc::new(Inner {
                pool: AddressPool::new(config.address_pool),
                config,
                hierarchy,
                cgroup_parent,
                net,
                firewall,
                templates,
                seccomp,
                sandboxes: Mutex::new(HashMap::new()),
                creating: Mutex::new(std::collections::HashSet::new()),
                events,
                nameservers,
                sandboxes_dir,
                snapshots_dir,
                cache_dir,
                envd_binary,
            }),
        };
        let report = sweep::sweep(&backend).await;
        if !report.is_empty() {
            tracing::warn!(?report, "removed leftovers of a previous runtime");
        }
        backend.inner.firewall.install().ctx(|| "installing the nftables table".into())?;
        Ok(backend)
    }

    pub(crate) fn templates(&self) -> &TemplateStore {
        &self.inner.templates
    }

    pub(crate) fn events(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.inner.events.subscribe()
    }

    fn get(&self, id: &SandboxId) -> Result<Arc<Sandbox>> {
        self.inner
            .sandboxes
            .lock()
            .expect("sandboxes lock")
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError::SandboxNotFound(id.clone()))
    }

    /// Creates a sandbox and waits until envd answers `/health` (and `/init` when asked).
    pub(crate) async fn create(
        &self,
        spec: SandboxSpec,
        progress: Arc<dyn Fn(TemplateProgress) + Send + Sync>,
    ) -> Result<SandboxInfo> {
        let id = spec.id.clone().unwrap_or_else(SandboxId::generate);
        {
            let sandboxes = self.inner.sandboxes.lock().expect("lock");
            let mut creating = self.inner.creating.lock().expect("lock");
            if sandboxes.contains_key(&id) || !creating.insert(id.clone()) {
                return Err(RuntimeError::InvalidSpec(format!("sandbox {id} already exists")));
            }
        }
        // Run to completion even if the caller stops waiting: a create dropped halfway
        // would leave mounts, cgroups and veths behind.
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.create_reserved(id.clone(), spec, progress).await;
            this.inner.creating.lock().expect("lock").remove(&id);
            result
        })
        .await
        .map_err(|e| RuntimeError::io("create task", io::Error::other(e)))?
    }

    async fn create_reserved(
        &self,
        id: SandboxId,
        spec: SandboxSpec,
        progress: Arc<dyn Fn(TemplateProgress) + Send + Sync>,
    ) -> Result<SandboxInfo> {
        let inner = &self.inner;
        // Root filesystem layers, top first.
        let (template, layers, default_resources, snapshot) = match &spec.source {
            SandboxSource::Template(name) => {
                let store = inner.templates.clone();
                let name = name.clone();
                let progress = progress.clone();
                let info = tokio::task::spawn_blocking(move || store.resolve(&name, &*progress))
                    .await
                    .map_err(|e| RuntimeError::io("template task", io::Error::other(e)))??;
                (info.name, vec![info.rootfs], info.resources, None)
            }
            SandboxSource::Snapshot(snap) => {
                let record = snapshot::load(&inner.snapshots_dir, snap)?;
                (
                    record.info.template.clone(),
                    record.layers.clone(),
                    record.info.resources,
                    Some(snap.clone()),
                )
            }
        };
        if layers.len() + 1 > child::MAX_LAYERS {
            return Err(RuntimeError::InvalidSpec(format!(
                "snapshot chain too deep ({} layers)",
                layers.len()
            )));
        }
        let resources = spec.resources.unwrap_or(default_resources);
        resources.validate()?;
        let lease = inner.pool.take().ok_or(RuntimeError::PoolExhausted(inner.pool.capacity()))?;

        let mut sb = Partial {
            backend: self.clone(),
            id: id.clone(),
            lease,
            dir: inner.sandboxes_dir.join(id.as_str()),
            cgroup: SandboxCgroup::new(inner.hierarchy.clone(), inner.cgroup_parent.join(id.as_str())),
            disk_mounted: false,
            cgroup_made: false,
            veth: false,
            firewall: false,
            fw_chain: Firewall::needs_chain(&spec.network),
            child: None,
        };
        let started = match self.spawn(&mut sb, &layers, &resources, &spec.network).await {
            Ok(v) => v,
            Err(e) => {
                sb.rollback().await;
                return Err(e);
            }
        };
        let (pid, pidfd, exit_rx) = started;
        let sandbox = Arc::new(Sandbox {
            id: id.clone(),
            template,
            snapshot,
            layers,
            lease,
            resources,
            labels: spec.labels.clone(),
            started_at: SystemTime::now(),
            pid,
            pidfd,
            cgroup: sb.cgroup.clone(),
            dir: sb.dir.clone(),
            state: Mutex::new(SandboxState::Running),
            exit: exit_rx,
            last_cpu: Mutex::new(None),
            op: tokio::sync::Mutex::new(false),
            network: Mutex::new(spec.network.clone()),
        });
        let envd = SocketAddr::new(lease.sandbox.into(), ENVD_PORT);
        let exit = sandbox.exit.clone();
        let healthy =
            envd_client::wait_healthy(envd, inner.config.health_timeout, || exit.borrow().is_none()).await;
        if let Err(waited_ms) = healthy {
            let log_tail = log_tail(&sb.dir.join("envd.log"));
            sb.rollback().await;
            return Err(RuntimeError::EnvdTimeout { waited_ms, log_tail });
        }
        if let Some(init) = &spec.init
            && let Err(e) = envd_client::init(envd, init).await
        {
            sb.rollback().await;
            return Err(e);
        }
        sb.disarm();
        inner.sandboxes.lock().expect("lock").insert(id.clone(), sandbox.clone());
        self.watch(sandbox.clone());
        tracing::info!(sandbox = %id, pid, address = %lease.sandbox, "sandbox created");
        Ok(sandbox.info())
    }

    /// Everything up to a running envd; resources are recorded in `sb` for rollback.
    async fn spawn(
        &self,
        sb: &mut Partial,
        layers: &[PathBuf],
        resources: &Resources,
        policy: &NetworkPolicy,
    ) -> Result<(u32, Arc<OwnedFd>, ExitRx)> {
        let inner = &self.inner;
        fs::create_dir_all(sb.dir.join("mnt")).stage(CreateStage::StateDir)?;
        // The disk: a sparse copy of a pre-formatted ext4 image, on an autoclear loop device;
        // then the cgroup. Both are marked for rollback first: undoing a step that never
        // happened is harmless.
        sb.disk_mounted = true;
        sb.cgroup_made = true;
        let (cache, dir, id, cgroup) =
            (inner.cache_dir.clone(), sb.dir.clone(), sb.id.clone(), sb.cgroup.clone());
        let nameservers = inner.nameservers.clone();
        let resources_copy = *resources;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let disk = dir.join("disk");
            disk::prepare(&cache, &dir.join("disk.img"), &disk, resources_copy.disk_mib)
                .stage(CreateStage::Disk)?;
            disk::write_identity(&disk.join("upper"), id.as_str(), &nameservers).stage(CreateStage::Disk)?;
            cgroup.create(&resources_copy).stage(CreateStage::Cgroup)
        })
        .await
        .map_err(|e| RuntimeError::create(CreateStage::Disk, io::Error::other(e)))??;

        // The rest runs on a dedicated thread: it switches its network namespace and forks.
        let this = self.clone();
        let id = sb.id.clone();
        let lease = sb.lease;
        let dir = sb.dir.clone();
        let layers = layers.to_vec();
        let cgroup = sb.cgroup.clone();
        let rt = tokio::runtime::Handle::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("e2b-create-{id}"))
            .spawn(move || {
                let mut veth = false;
                let r = this.spawn_blocking(&rt, &id, lease, &dir, &layers, &cgroup, &mut veth);
                let _ = tx.send((r, veth));
            })
            .stage(CreateStage::Spawn)?;
        let (result, veth) = rx
            .await
            .map_err(|_| RuntimeError::create(CreateStage::Spawn, io::Error::other("create thread died")))?;
        sb.veth = veth;
        let (pid, pidfd, spawn_result) = match result {
            Ok(v) => v,
            Err(e) => return Err(e),
        };
        let pidfd = Arc::new(pidfd);
        let exit_rx = spawn_exit_watcher(pidfd.clone()).stage(CreateStage::Spawn)?;
        sb.child = Some((pid, pidfd.clone(), exit_rx.clone()));
        spawn_result?;

        sb.firewall = true;
        inner.firewall.add_sandbox(sb.id.as_str(), lease.sandbox, policy).stage(CreateStage::Firewall)?;

        let record = SandboxRecord {
            id: sb.id.clone(),
            pid,
            pid_start_time: sys::process_start_time(pid).unwrap_or(0),
            slot: lease.slot,
        };
        fs::write(sb.dir.join("record.json"), serde_json::to_vec(&record).expect("serialisable"))
            .stage(CreateStage::StateDir)?;
        Ok((pid, pidfd, exit_rx))
    }

    /// Network namespace, clone, id maps, layers. Returns the child even when its setup
    /// failed (second element), so that the caller can reap it.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn spawn_blocking(
        &self,
        rt: &tokio::runtime::Handle,
        id: &SandboxId,
        lease: Lease,
        dir: &Path,
        layers: &[PathBuf],
        cgroup: &SandboxCgroup,
        veth: &mut bool,
    ) -> Result<(u32, OwnedFd, Result<()>)> {
        let inner = &self.inner;
        *veth = true;
        let netns = inner.net.enter_sandbox_netns(rt, lease).stage(CreateStage::Network)?;

        let (parent_sock, child_sock) = seqpacket_pair().stage(CreateStage::Spawn)?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("envd.log"))
            .stage(CreateStage::Spawn)?;
        let mnt = dir.join("mnt");
        let mut layer_points = Vec::new();
        for i in 0..layers.len() {
            let p = mnt.join(format!("l{i}"));
            fs::create_dir_all(&p).stage(CreateStage::Spawn)?;
            layer_points.push(p);
        }
        let disk_point = mnt.join("disk");
        let root_point = mnt.join("root");
        for p in [&disk_point, &root_point] {
            fs::create_dir_all(p).stage(CreateStage::Spawn)?;
        }
        let lowers = layer_points.clone();
        layer_points.push(disk_point.clone());
        let mut argv = vec!["/usr/local/bin/envd".to_string()];
        argv.extend(inner.config.envd_args.iter().cloned());
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()),
            ("HOME".into(), "/root".into()),
            ("E2B_SANDBOX".into(), "true".into()),
            ("E2B_SANDBOX_ID".into(), id.to_string()),
        ];
        env.extend(inner.config.envd_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let plan = child::ChildPlan::new(child::PlanInput {
            sock: child_sock.as_raw_fd(),
            log_fd: log.as_raw_fd(),
            layer_points: &layer_points,
            lowers: &lowers,
            disk: &disk_point,
            root: &root_point,
            envd_src: &inner.envd_binary,
            hostname: id.as_str(),
            argv: &argv,
            env: &env,
            seccomp: inner.seccomp.clone(),
            no_new_privs: inner.config.no_new_privs,
        })
        .stage(CreateStage::Spawn)?;

        let flags = libc::CLONE_NEWUSER
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC;
        // SAFETY: fork-like clone (no new stack, no CLONE_VM). The child only runs
        // `child::run`, which makes raw syscalls on data prepared above.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (flags | libc::SIGCHLD) as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
        if ret == 0 {
            // SAFETY: we are the freshly cloned child.
            unsafe { child::run(&plan) }
        }
        if ret < 0 {
            return Err(RuntimeError::create(CreateStage::Spawn, io::Error::last_os_error()));
        }
        let pid = ret as u32;
        drop(netns);
        drop(child_sock);
        drop(plan);
        let pidfd = match sys::pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                // SAFETY: kill and reap our own child.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                    libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
                }
                return Err(RuntimeError::create(CreateStage::Spawn, e));
            }
        };
        let setup = finish_child(pid, lease.slot, cgroup, layers, dir, &parent_sock);
        Ok((pid, pidfd, setup))
    }
}

/// First host uid of the sandbox ids: every slot gets its own 65536 ids, so no two
/// sandboxes (and nothing on the host) share a uid.
const UID_BASE: u32 = 0x1000_0000;

/// Parent half of the handshake: id maps, cgroup, idmapped layers; then waits for the child
/// to exec envd or report which step failed.
fn finish_child(
    pid: u32,
    slot: u32,
    cgroup: &SandboxCgroup,
    layers: &[PathBuf],
    dir: &Path,
    sock: &OwnedFd,
) -> Result<()> {
    let base = UID_BASE + slot * 65536;
    for file in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{pid}/{file}"), format!("0 {base} 65536")).stage(CreateStage::IdMap)?;
    }
    cgroup.add_process(pid).stage(CreateStage::Cgroup)?;
    let userns = fs::File::open(format!("/proc/{pid}/ns/user")).stage(CreateStage::IdMap)?;
    let mut fds = Vec::with_capacity(layers.len() + 1);
    for layer in layers {
        let m = sys::clone_tree(layer).stage(CreateStage::Layers)?;
        sys::idmap_mount(&m, &userns, true).stage(CreateStage::Layers)?;
        fds.push(m);
    }
    let d = sys::clone_tree(&dir.join("disk")).stage(CreateStage::Layers)?;
    sys::idmap_mount(&d, &userns, false).stage(CreateStage::Layers)?;
    fds.push(d);
    send_fds(sock, &fds).stage(CreateStage::Layers)?;
    drop(fds);
    // Wait for the verdict: EOF (close-on-exec) = envd runs; 8 bytes = a failed step.
    let mut msg = [0u8; 8];
    let n = recv_or_eof(sock, &mut msg).stage(CreateStage::Spawn)?;
    if n == 8 {
        let step = u32::from_ne_bytes(msg[..4].try_into().expect("4 bytes")) as usize;
        let errno = i32::from_ne_bytes(msg[4..].try_into().expect("4 bytes"));
        return Err(RuntimeError::SandboxInit {
            step: child::STEPS.get(step).copied().unwrap_or("an unknown step"),
            source: io::Error::from_raw_os_error(errno),
        });
    }
    Ok(())
}

impl NamespaceBackend {
    /// Publishes exit and OOM events of a registered sandbox.
    fn watch(&self, sandbox: Arc<Sandbox>) {
        let backend = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut exit = sandbox.exit.clone();
            let mut ooms = sandbox.cgroup.counters().map(|c| c.oom_kills).unwrap_or(0);
            let mut tick = tokio::time::interval(OOM_POLL);
            loop {
                tokio::select! {
                    changed = exit.changed() => {
                        let status = *exit.borrow();
                        if changed.is_err() || status.is_some() {
                            let Some(inner) = backend.upgrade() else { return };
                            let oom_killed = sandbox.cgroup.counters().map(|c| c.oom_kills > 0).unwrap_or(false);
                            let (code, signal) = status.unwrap_or((None, None));
                            let state = SandboxState::Exited { code, signal, oom_killed };
                            let was_killed = *sandbox.op.try_lock().map(|g| *g).as_ref().unwrap_or(&true);
                            *sandbox.state.lock().expect("state") = state.clone();
                            if !was_killed {
                                let _ = inner.events.send(RuntimeEvent::Exited { id: sandbox.id.clone(), state });
                            }
                            return;
                        }
                    }
                    _ = tick.tick() => {
                        let Some(inner) = backend.upgrade() else { return };
                        if let Ok(c) = sandbox.cgroup.counters()
                            && c.oom_kills > ooms
                        {
                            ooms = c.oom_kills;
                            tracing::warn!(sandbox = %sandbox.id, total = ooms, "OOM kill in sandbox");
                            let _ = inner.events.send(RuntimeEvent::OomKilled { id: sandbox.id.clone(), total: ooms });
                        }
                    }
                }
            }
        });
    }

    pub(crate) async fn pause(&self, id: &SandboxId) -> Result<()> {
        let sb = self.get(id)?;
        let _op = sb.op.lock().await;
        self.require_state(&sb, SandboxState::Running, "pause")?;
        sb.cgroup.freeze().map_err(|source| RuntimeError::Freezer { operation: "pause", source })?;
        *sb.state.lock().expect("state") = SandboxState::Paused;
        Ok(())
    }

    pub(crate) async fn resume(&self, id: &SandboxId) -> Result<()> {
        let sb = self.get(id)?;
        let _op = sb.op.lock().await;
        self.require_state(&sb, SandboxState::Paused, "resume")?;
        sb.cgroup.thaw().map_err(|source| RuntimeError::Freezer { operation: "resume", source })?;
        *sb.state.lock().expect("state") = SandboxState::Running;
        Ok(())
    }

    fn require_state(&self, sb: &Sandbox, want: SandboxState, operation: &'static str) -> Result<()> {
        let state = sb.state.lock().expect("state").clone();
        if state != want {
            return Err(RuntimeError::InvalidState {
                id: sb.id.clone(),
                state: state.to_string(),
                operation,
            });
        }
        Ok(())
    }

    pub(crate) async fn snapshot(
        &self,
        id: &SandboxId,
        snapshot_id: Option<SnapshotId>,
    ) -> Result<SnapshotInfo> {
        let sb = self.get(id)?;
        let _op = sb.op.lock().await;
        let state = sb.state.lock().expect("state").clone();
        let was_running = match state {
            SandboxState::Running => true,
            SandboxState::Paused => false,
            SandboxState::Exited { .. } => {
                return Err(RuntimeError::InvalidState {
                    id: sb.id.clone(),
                    state: state.to_string(),
                    operation: "snapshot",
                });
            }
        };
        if was_running {
            sb.cgroup.freeze().map_err(|source| RuntimeError::Freezer { operation: "pause", source })?;
        }
        let snapshot_id = snapshot_id.unwrap_or_else(SnapshotId::generate);
        let dir = self.inner.snapshots_dir.clone();
        let disk = sb.disk_mount();
        let layers = sb.layers.clone();
        let (sid, template, resources) = (sb.id.clone(), sb.template.clone(), sb.resources);
        let snap = snapshot_id.clone();
        let result = tokio::task::spawn_blocking(move || {
            snapshot::take(&dir, &snap, &sid, &template, resources, &disk, &layers)
        })
        .await
        .map_err(|e| RuntimeError::io("snapshot task", io::Error::other(e)));
        if was_running {
            sb.cgroup.thaw().map_err(|source| RuntimeError::Freezer { operation: "resume", source })?;
        }
        result?
    }

    /// Replaces a sandbox's egress policy. While the rules are swapped the sandbox briefly
    /// has no element, and so no egress (fail-closed).
    pub(crate) async fn update_network(&self, id: &SandboxId, policy: NetworkPolicy) -> Result<()> {
        let sb = self.get(id)?;
        let _op = sb.op.lock().await;
        let old_chain = Firewall::needs_chain(&sb.network.lock().expect("network"));
        let fw = self.inner.firewall.clone();
        let (sid, addr, new) = (sb.id.to_string(), sb.lease.sandbox, policy.clone());
        tokio::task::spawn_blocking(move || {
            fw.remove_sandbox(&sid, addr, old_chain)?;
            fw.add_sandbox(&sid, addr, &new)
        })
        .await
        .map_err(|e| RuntimeError::io("firewall task", io::Error::other(e)))?
        .ctx(|| format!("updating the egress rules of {id}"))?;
        *sb.network.lock().expect("network") = policy;
        Ok(())
    }

    pub(crate) fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        snapshot::list(&self.inner.snapshots_dir)
    }

    /// The last `max` lines envd wrote to its stdout and stderr.
    pub(crate) fn logs(&self, id: &SandboxId, max: usize) -> Result<Vec<String>> {
        let sb = self.get(id)?;
        let path = sb.dir.join("envd.log");
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(RuntimeError::path("reading", &path, e)),
        };
        let lines: Vec<&str> = text.lines().collect();
        Ok(lines[lines.len().saturating_sub(max)..].iter().map(|l| l.to_string()).collect())
    }

    pub(crate) fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        snapshot::delete(&self.inner.snapshots_dir, id)
    }

    pub(crate) async fn kill(&self, id: &SandboxId) -> Result<()> {
        // Like create: finish the teardown even if the caller goes away.
        let (this, id) = (self.clone(), id.clone());
        tokio::spawn(async move { this.kill_now(&id).await })
            .await
            .map_err(|e| RuntimeError::io("kill task", io::Error::other(e)))?
    }

    async fn kill_now(&self, id: &SandboxId) -> Result<()> {
        let sb = self.get(id)?;
        let mut op = sb.op.lock().await;
        *op = true;
        let lease = sb.lease;
        let mut partial = Partial {
            backend: self.clone(),
            id: sb.id.clone(),
            lease,
            dir: sb.dir.clone(),
            cgroup: sb.cgroup.clone(),
            disk_mounted: true,
            cgroup_made: true,
            veth: true,
            firewall: true,
            fw_chain: Firewall::needs_chain(&sb.network.lock().expect("network")),
            child: Some((sb.pid, sb.pidfd.clone(), sb.exit.clone())),
        };
        let errors = partial.teardown().await;
        self.inner.sandboxes.lock().expect("lock").remove(id);
        tracing::info!(sandbox = %id, "sandbox killed");
        match errors.into_iter().next() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    pub(crate) fn info(&self, id: &SandboxId) -> Result<SandboxInfo> {
        Ok(self.get(id)?.info())
    }

    pub(crate) fn list(&self) -> Vec<SandboxInfo> {
        let mut all: Vec<SandboxInfo> =
            self.inner.sandboxes.lock().expect("lock").values().map(|s| s.info()).collect();
        all.sort_by_key(|s| s.started_at);
        all
    }

    pub(crate) fn metrics(&self, id: &SandboxId) -> Result<Metrics> {
        let sb = self.get(id)?;
        let c = sb.cgroup.counters().ctx(|| format!("reading cgroup counters of {id}"))?;
        let now = Instant::now();
        let cpu_used_pct = {
            let mut last = sb.last_cpu.lock().expect("cpu lock");
            let (since, before) = last.unwrap_or_else(|| {
                let started = now - SystemTime::now().duration_since(sb.started_at).unwrap_or_default();
                (started, 0)
            });
            *last = Some((now, c.cpu_usage_ns));
            let wall = now.duration_since(since).as_nanos() as f64;
            if wall <= 0.0 {
                0.0
            } else {
                let used = c.cpu_usage_ns.saturating_sub(before) as f64;
                (used / wall / f64::from(sb.resources.cpu_count) * 100.0).clamp(0.0, 100.0)
            }
        };
        let (disk_used, disk_total) =
            disk::usage(&sb.disk_mount()).ctx(|| format!("statfs of the disk of {id}"))?;
        let mem_total = sb.resources.memory_mib * 1024 * 1024;
        Ok(Metrics {
            timestamp: SystemTime::now(),
            cpu_count: sb.resources.cpu_count,
            cpu_used_pct: (cpu_used_pct * 100.0).round() / 100.0,
            mem_used: c.mem_usage.saturating_sub(c.mem_cache),
            mem_total,
            mem_cache: c.mem_cache,
            disk_used,
            disk_total,
            oom_kills: c.oom_kills,
            pids: c.pids,
        })
    }

    /// Kills every sandbox (used when the runtime shuts down).
    pub(crate) async fn shutdown(&self) -> Result<()> {
        let ids: Vec<SandboxId> = self.inner.sandboxes.lock().expect("lock").keys().cloned().collect();
        let mut first = None;
        for id in ids {
            if let Err(e) = self.kill(&id).await {
                first.get_or_insert(e);
            }
        }
        self.inner.hierarchy.remove_parent(&self.inner.cgroup_parent);
        if let Err(e) = self.inner.firewall.uninstall() {
            first.get_or_insert(RuntimeError::io("removing the nftables table", e));
        }
        first.map_or(Ok(()), Err)
    }

    /// The nftables table as `nft list table` prints it (diagnostics and tests).
    pub(crate) fn firewall_listing(&self) -> Result<String> {
        self.inner.firewall.list().ctx(|| "nft list table".into())
    }

    pub(crate) fn firewall_table(&self) -> String {
        self.inner.firewall.table().to_string()
    }

    pub(crate) fn interface_prefix(&self) -> String {
        super::network::interface_prefix(&self.inner.config.instance)
    }

    pub(crate) fn cgroup_dirs(&self) -> Vec<String> {
        self.inner.hierarchy.children(&self.inner.cgroup_parent)
    }
}

type ExitRx = watch::Receiver<Option<(Option<i32>, Option<i32>)>>;

/// A connected pair of close-on-exec `SOCK_SEQPACKET` sockets (message boundaries, and EOF
/// once the peer is closed, which is how the child's successful execve is seen).
fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let ret = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fds from the kernel, owned from here on.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn send_fds(sock: &OwnedFd, fds: &[OwnedFd]) -> io::Result<()> {
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let byte = [1u8];
    let mut iov = libc::iovec { iov_base: byte.as_ptr() as *mut libc::c_void, iov_len: 1 };
    let payload = std::mem::size_of_val(raw.as_slice());
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: zeroed msghdr, then fields pointing at live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer is large enough for one SCM_RIGHTS message with `raw`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload as u32) as usize;
        std::ptr::copy_nonoverlapping(raw.as_ptr(), libc::CMSG_DATA(cmsg) as *mut i32, raw.len());
        if libc::sendmsg(sock.as_raw_fd(), &msg, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reads one message; 0 means the peer closed (envd was executed).
fn recv_or_eof(sock: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut pfd = libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: poll on one valid fd.
        let n = unsafe { libc::poll(&mut pfd, 1, 30_000) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "sandbox init did not finish in 30 s"));
        }
        break;
    }
    // SAFETY: read into our buffer.
    let n = unsafe { libc::read(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

fn spawn_exit_watcher(pidfd: Arc<OwnedFd>) -> io::Result<ExitRx> {
    let (tx, rx) = watch::channel(None);
    // SAFETY: `PidFd` owns (a share of) the fd, so it stays open while registered.
    let afd = unsafe { AsyncFd::register_with_interest(PidFd(pidfd), tokio::io::Interest::READABLE)? };
    tokio::spawn(async move {
        loop {
            match afd.readable().await {
                Ok(mut guard) => match sys::pidfd_try_reap(&afd.get_ref().0) {
                    Ok(Some(status)) => {
                        let _ = tx.send(Some(status));
                        return;
                    }
                    Ok(None) => guard.clear_ready(),
                    Err(_) => {
                        let _ = tx.send(Some((None, None)));
                        return;
                    }
                },
                Err(_) => {
                    let _ = tx.send(Some((None, None)));
                    return;
                }
            }
        }
    });
    Ok(rx)
}

struct PidFd(Arc<OwnedFd>);

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// A sandbox under construction (or being killed): what exists so far, so that a failure
/// at any step removes exactly that.
struct Partial {
    backend: NamespaceBackend,
    id: SandboxId,
    lease: Lease,
    dir: PathBuf,
    cgroup: SandboxCgroup,
    disk_mounted: bool,
    cgroup_made: bool,
    veth: bool,
    firewall: bool,
    /// Whether the sandbox's egress policy has a chain of its own.
    fw_chain: bool,
    child: Option<(u32, Arc<OwnedFd>, ExitRx)>,
}

impl Partial {
    /// The sandbox is complete: nothing to roll back any more.
    fn disarm(&mut self) {
        self.child = None;
        self.disk_mounted = false;
        self.cgroup_made = false;
        self.veth = false;
        self.firewall = false;
        self.dir = PathBuf::new();
        self.lease.slot = u32::MAX;
    }

    async fn rollback(&mut self) {
        for e in self.teardown().await {
            tracing::error!(sandbox = %self.id, error = %e, "cleanup after a failed create");
        }
    }

    /// Removes everything recorded, in dependency order; returns what failed.
    async fn teardown(&mut self) -> Vec<RuntimeError> {
        let inner = &self.backend.inner;
        let mut errors = Vec::new();
        if let Some((pid, pidfd, mut exit)) = self.child.take() {
            // SIGKILL to pid 1 of the namespace kills every process in it; a frozen cgroup
            // must be thawed for them to die (cgroup v1).
            if let Err(e) = sys::pidfd_kill(&pidfd, libc::SIGKILL) {
                errors.push(RuntimeError::io(format!("killing pid {pid}"), e));
            }
            if self.cgroup_made {
                let _ = self.cgroup.thaw();
            }
            let waited = tokio::time::timeout(Duration::from_secs(10), async {
                while exit.borrow().is_none() {
                    if exit.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await;
            if waited.is_err() {
                errors.push(RuntimeError::io(
                    format!("waiting for pid {pid} to exit"),
                    io::Error::new(io::ErrorKind::TimedOut, "did not exit in 10 s"),
                ));
            }
        }
        if self.cgroup_made {
            let cgroup = self.cgroup.clone();
            match tokio::task::spawn_blocking(move || cgroup.destroy()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(RuntimeError::io("removing the cgroup", e)),
                Err(e) => errors.push(RuntimeError::io("cgroup task", io::Error::other(e))),
            }
            self.cgroup_made = false;
        }
        if self.firewall {
            let fw = inner.firewall.clone();
            let (id, addr, chain) = (self.id.to_string(), self.lease.sandbox, self.fw_chain);
            match tokio::task::spawn_blocking(move || fw.remove_sandbox(&id, addr, chain)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(RuntimeError::io("removing firewall rules", e)),
                Err(e) => errors.push(RuntimeError::io("firewall task", io::Error::other(e))),
            }
            self.firewall = false;
        }
        if self.veth {
            if let Err(e) = inner.net.delete_veth(self.lease.slot).await {
                errors.push(RuntimeError::io("deleting the veth pair", e));
            }
            self.veth = false;
        }
        if self.disk_mounted {
            if let Err(e) = sys::unmount(&self.dir.join("disk")) {
                errors.push(RuntimeError::io("unmounting the disk", e));
            }
            self.disk_mounted = false;
        }
        if !self.dir.as_os_str().is_empty() {
            let dir = std::mem::take(&mut self.dir);
            if let Err(e) = fs::remove_dir_all(&dir)
                && e.kind() != io::ErrorKind::NotFound
            {
                errors.push(RuntimeError::path("removing", &dir, e));
            }
        }
        if self.lease.slot != u32::MAX {
            inner.pool.release(self.lease.slot);
            self.lease.slot = u32::MAX;
        }
        errors
    }
}

/// Copies envd into the runtime's state root and returns the copy's path.
///
/// The sandbox binds envd in from inside its user namespace, where "root" is an
/// unprivileged host uid: the binary and every directory above it must be
/// readable by others. A build tree (say a checkout under a 0700 temporary
/// directory) often is not, while the state root is ours to lay out. The copy
/// also keeps running sandboxes independent of a rebuild of the original.
fn stage_envd(source: &Path, bin_dir: &Path, instance: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(bin_dir).at("creating", bin_dir)?;
    fs::set_permissions(bin_dir, fs::Permissions::from_mode(0o755)).at("opening up", bin_dir)?;
    let target = bin_dir.join(format!("envd-{instance}"));
    let partial = bin_dir.join(format!(".envd-{instance}.partial"));
    fs::copy(source, &partial).at("copying envd from", source)?;
    fs::set_permissions(&partial, fs::Permissions::from_mode(0o755)).at("making executable", &partial)?;
    // Renamed into place so a running sandbox never sees a half-written binary.
    fs::rename(&partial, &target).at("installing", &target)?;
    Ok(target)
}
