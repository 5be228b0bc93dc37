//! What the control plane knows and does: the live sandboxes (runtime facts plus E2B
//! metadata: lifetime, lifecycle, tokens), snapshots, API keys, and every lifecycle
//! operation. The REST handlers and the expiry loop both go through here, so a sandbox's
//! state changes in one place, under its own operation lock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use e2b_api::control::types as api;
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::store::{SandboxRecord, SnapshotRow, Store};
use crate::runtime::{
    EnvdInit, Ipv4Cidr, Metrics, NetworkPolicy, Runtime, RuntimeError, SandboxId, SandboxSpec, SnapshotId,
};

/// The deprecated `clientID` every response still has to carry (PROTOCOL.md section 1).
pub(crate) const CLIENT_ID: &str = "6532622b";

/// Metric samples kept per sandbox (one every [`METRICS_EVERY`]): half an hour.
const METRICS_KEPT: usize = 360;
pub(crate) const METRICS_EVERY: Duration = Duration::from_secs(5);

/// One live sandbox.
pub(crate) struct Entry {
    pub(crate) id: SandboxId,
    /// Serialises lifecycle operations (pause, resume, kill, snapshot) on this sandbox.
    pub(crate) op: tokio::sync::Mutex<()>,
    pub(crate) record: Mutex<SandboxRecord>,
    pub(crate) envd: SocketAddr,
    pub(crate) address: Ipv4Addr,
    metrics: Mutex<VecDeque<api::SandboxMetric>>,
    /// Set while the expiry loop is ending it, so that one task does it.
    expiring: AtomicBool,
}

impl Entry {
    pub(crate) fn record(&self) -> SandboxRecord {
        self.record.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update<T>(&self, f: impl FnOnce(&mut SandboxRecord) -> T) -> T {
        f(&mut self.record.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Limits the control plane enforces.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_timeout: Duration,
    pub(crate) parallel_creates: usize,
    /// The `domain` reported to SDKs, which build `<port>-<sandboxID>.<domain>` from it
    /// (`get_host`).
    pub(crate) domain: String,
}

pub(crate) struct State {
    pub(crate) runtime: Runtime,
    pub(crate) store: Store,
    pub(crate) limits: Limits,
    sandboxes: RwLock<HashMap<String, Arc<Entry>>>,
    keys: RwLock<HashSet<String>>,
    create_slots: Semaphore,
}

/// Whether `connect` found the sandbox running or had to resume it (200 versus 201).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connected {
    WasRunning,
    Resumed,
}

impl State {
    pub(crate) fn new(runtime: Runtime, store: Store, limits: Limits) -> Result<Self, super::ServerError> {
        let keys = store.api_keys()?.into_iter().collect();
        Ok(Self {
            runtime,
            store,
            create_slots: Semaphore::new(limits.parallel_creates.max(1)),
            limits,
            sandboxes: RwLock::new(HashMap::new()),
            keys: RwLock::new(keys),
        })
    }

    pub(crate) fn is_valid_key(&self, key: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        // Constant-time per comparison; the number of keys is not secret.
        keys.iter().any(|k| subtle::ConstantTimeEq::ct_eq(k.as_bytes(), key.as_bytes()).into())
    }

    pub(crate) fn add_key(&self, key: &str) -> Result<(), super::ServerError> {
        self.store.add_api_key(key)?;
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(key.to_string());
        Ok(())
    }

    /// Accepts `key` alone for this run, without storing it: a key given on the command
    /// line or in the environment is valid while it is given, not in later runs.
    pub(crate) fn accept_only(&self, key: &str) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = HashSet::from([key.to_string()]);
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        self.store.api_keys().unwrap_or_default()
    }

    /// The live sandbox with this ID (E2B also accepts the legacy `<id>-<clientID>` form).
    pub(crate) fn lookup(&self, id: &str) -> Option<Arc<Entry>> {
        let id = id.split_once('-').map_or(id, |(id, _)| id);
        self.sandboxes.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Like [`lookup`](Self::lookup), as an API answer: 400 for a malformed ID, 404 for an
    /// unknown one.
    pub(crate) fn get(&self, id: &str) -> Result<Arc<Entry>, ApiError> {
        let bare = id.split_once('-').map_or(id, |(id, _)| id);
        SandboxId::parse(bare).map_err(|_| {
            ApiError::bad_request(format!("invalid sandbox ID {id:?}: expected 20 characters of [a-z0-9]"))
        })?;
        self.lookup(bare).ok_or_else(|| match self.store.end_reason(bare) {
            Ok(Some(reason)) => {
                ApiError::not_found(format!("sandbox \"{bare}\" not found: it ended ({reason})"))
            }
            _ => ApiError::sandbox_not_found(bare),
        })
    }

    pub(crate) fn all(&self) -> Vec<Arc<Entry>> {
        self.sandboxes.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    fn insert(&self, entry: Arc<Entry>) {
        self.sandboxes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.id.as_str().to_string(), entry);
    }

    fn remove(&self, id: &str) -> Option<Arc<Entry>> {
        self.sandboxes.write().unwrap_or_else(|p| p.into_inner()).remove(id)
    }

    fn persist(&self, entry: &Entry) {
        if let Err(e) = self.store.put_sandbox(&entry.record()) {
            tracing::error!(sandbox = %entry.id, "saving sandbox state: {e}");
        }
    }

    fn timeout_secs(&self, timeout: i64) -> Result<Duration, ApiError> {
        if timeout <= 0 {
            return Err(ApiError::bad_request(format!("timeout must be positive, got {timeout}")));
        }
        let wanted = Duration::from_secs(timeout as u64);
        if wanted > self.limits.max_timeout {
            return Err(ApiError::bad_request(format!(
                "timeout {timeout} s exceeds the maximum of {} s",
                self.limits.max_timeout.as_secs()
            )));
        }
        Ok(wanted)
    }

    /// `POST /sandboxes`: answers once the new sandbox's envd answers.
    pub(crate) async fn create(self: &Arc<Self>, req: api::NewSandbox) -> Result<api::Sandbox, ApiError> {
        let lifetime = self.timeout_secs(i64::from(req.timeout))?;
        let auto_resume = req.auto_resume.as_ref().is_some_and(|r| r.enabled);
        if auto_resume && !req.auto_pause {
            return Err(ApiError::bad_request("autoResume requires autoPause (on_timeout \"pause\")"));
        }
        if !req.auto_pause_memory && auto_resume {
            return Err(ApiError::bad_request("autoPauseMemory=false cannot be combined with autoResume"));
        }
        let secure = req.secure.unwrap_or(false);
        if req.network.as_ref().is_some_and(|n| !n.allow_public_traffic) && !secure {
            return Err(ApiError::bad_request("allowPublicTraffic=false requires secure=true"));
        }
        let policy = network_policy(
            req.allow_internet_access,
            req.network.as_ref().map(|n| &n.deny_out),
            req.network.as_ref().map(|n| &n.allow_out),
        )?;

        let template = req.template_id.trim().to_string();
        let (spec, base_snapshot, alias) = if template.contains(':') {
            let snap = SnapshotId::parse(&template)
                .map_err(|_| ApiError::bad_request(format!("invalid template ID {template:?}")))?;
            let visible = self.store.snapshots()?.iter().any(|s| s.id == snap.as_str() && !s.deleted);
            if !visible {
                return Err(ApiError::not_found(format!("template \"{template}\" not found")));
            }
            (SandboxSpec::snapshot(snap.clone()), Some(snap.as_str().to_string()), None)
        } else {
            if template.is_empty() {
                return Err(ApiError::bad_request("templateID must not be empty"));
            }
            (SandboxSpec::template(template.clone()), None, Some(template.clone()))
        };

        let env_vars: BTreeMap<String, String> =
            req.env_vars.map(|e| e.0.into_iter().collect()).unwrap_or_default();
        let token = secure.then(new_token);
        let metadata: BTreeMap<String, String> =
            req.metadata.map(|m| m.0.into_iter().collect()).unwrap_or_default();
        let network_json = req.network.as_ref().map(|n| serde_json::to_value(n).expect("serialisable"));
        let launch = Launch {
            spec: spec.network(policy),
            env_vars,
            token,
            template_id: template,
            alias,
            metadata,
            lifetime,
            auto_pause: req.auto_pause,
            auto_resume,
            allow_internet_access: req.allow_internet_access,
            network: network_json,
            base_snapshot,
        };
        let entry = self.launch(launch).await?;
        Ok(self.sandbox_response(&entry))
    }

    /// Creates a sandbox in a task of its own: a client that hangs up mid-create must not
    /// leave a sandbox behind that nobody knows about.
    async fn launch(self: &Arc<Self>, launch: Launch) -> Result<Arc<Entry>, ApiError> {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _slot = this.create_slots.acquire().await.expect("semaphore never closed");
            let init = EnvdInit {
                env_vars: launch.env_vars.clone(),
                access_token: launch.token.clone(),
                ..EnvdInit::default()
            };
            let spec = launch.spec.clone().envd_init(Some(init));
            let info = this.runtime.create(spec).await?;
            let now = Utc::now();
            let record = SandboxRecord {
                id: info.id.as_str().to_string(),
                template_id: launch.template_id,
                alias: launch.alias,
                metadata: launch.metadata,
                access_token: launch.token,
                started_at: now,
                end_at: now + launch.lifetime,
                auto_pause: launch.auto_pause,
                auto_resume: launch.auto_resume,
                paused: false,
                cpu_count: info.resources.cpu_count,
                memory_mb: info.resources.memory_mib,
                disk_mb: info.resources.disk_mib,
                allow_internet_access: launch.allow_internet_access,
                network: launch.network,
                base_snapshot: launch.base_snapshot,
                env_vars: launch.env_vars,
            };
            let entry = Arc::new(Entry {
                id: info.id.clone(),
                op: tokio::sync::Mutex::new(()),
                record: Mutex::new(record),
                envd: info.envd,
                address: info.address,
                metrics: Mutex::new(VecDeque::new()),
                expiring: AtomicBool::new(false),
            });
            this.persist(&entry);
            this.insert(entry.clone());
            tracing::info!(sandbox = %info.id, template = %info.template, "sandbox created");
            Ok::<_, RuntimeError>(entry)
        });
        match task.await {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => Err(ApiError::internal(format!("sandbox creation task failed: {e}"))),
        }
    }

    pub(crate) fn sandbox_response(&self, entry: &Entry) -> api::Sandbox {
        let r = entry.record();
        api::Sandbox {
            alias: r.alias,
            client_id: CLIENT_ID.into(),
            domain: Some(self.limits.domain.clone()),
            envd_access_token: r.access_token,
            envd_version: api::EnvdVersion(envd::ENVD_VERSION.into()),
            sandbox_id: r.id,
            template_id: r.template_id,
            traffic_access_token: None,
        }
    }

    pub(crate) fn detail(&self, entry: &Entry) -> api::SandboxDetail {
        let r = entry.record();
        api::SandboxDetail {
            alias: r.alias.clone(),
            allow_internet_access: r.allow_internet_access,
            client_id: CLIENT_ID.into(),
            cpu_count: cpu_count(r.cpu_count),
            disk_size_mb: api::DiskSizeMb(clamp_i32(r.disk_mb)),
            domain: Some(self.limits.domain.clone()),
            end_at: r.end_at,
            envd_access_token: r.access_token.clone(),
            envd_version: api::EnvdVersion(envd::ENVD_VERSION.into()),
            lifecycle: Some(api::SandboxLifecycle {
                auto_resume: r.auto_resume,
                on_timeout: if r.auto_pause {
                    api::SandboxOnTimeout::Pause
                } else {
                    api::SandboxOnTimeout::Kill
                },
            }),
            memory_mb: api::MemoryMb(clamp_i32(r.memory_mb)),
            metadata: Some(api::SandboxMetadata(r.metadata.clone().into_iter().collect())),
            network: r.network.clone().and_then(|n| serde_json::from_value(n).ok()),
            sandbox_id: r.id.clone(),
            started_at: r.started_at,
            state: state_of(&r),
            template_id: r.template_id.clone(),
            volume_mounts: Vec::new(),
        }
    }

    pub(crate) fn listed(&self, entry: &Entry) -> api::ListedSandbox {
        let d = self.detail(entry);
        api::ListedSandbox {
            alias: d.alias,
            client_id: d.client_id,
            cpu_count: d.cpu_count,
            disk_size_mb: d.disk_size_mb,
            end_at: d.end_at,
            envd_version: d.envd_version,
            memory_mb: d.memory_mb,
            metadata: d.metadata,
            sandbox_id: d.sandbox_id,
            started_at: d.started_at,
            state: d.state,
            template_id: d.template_id,
            volume_mounts: d.volume_mounts,
        }
    }

    /// Kills a sandbox and forgets it; `reason` is recorded in the database.
    pub(crate) async fn kill(&self, entry: &Arc<Entry>, reason: &str) -> Result<(), ApiError> {
        let _op = entry.op.lock().await;
        if self.lookup(entry.id.as_str()).is_none() {
            return Err(ApiError::sandbox_not_found(entry.id.as_str()));
        }
        match self.runtime.kill(&entry.id).await {
            Ok(()) | Err(RuntimeError::SandboxNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.forget(&entry.id, reason).await;
        Ok(())
    }

    async fn forget(&self, id: &SandboxId, reason: &str) {
        self.remove(id.as_str());
        if let Err(e) = self.store.end_sandbox(id.as_str(), reason) {
            tracing::error!(sandbox = %id, "recording the end of the sandbox: {e}");
        }
        tracing::info!(sandbox = %id, reason, "sandbox ended");
        self.collect_snapshots().await;
    }

    pub(crate) async fn pause(&self, entry: &Arc<Entry>) -> Result<(), ApiError> {
        let _op = entry.op.lock().await;
        if entry.record().paused {
            return Err(ApiError::conflict(format!("sandbox \"{}\" is already paused", entry.id)));
        }
        self.runtime.pause(&entry.id).await?;
        entry.update(|r| r.paused = true);
        self.persist(entry);
        Ok(())
    }

    /// Resumes a paused sandbox for `lifetime` from now; 409 when it is not paused.
    pub(crate) async fn resume(&self, entry: &Arc<Entry>, lifetime: i64) -> Result<(), ApiError> {
        let lifetime = self.timeout_secs(lifetime)?;
        let _op = entry.op.lock().await;
        if !entry.record().paused {
            return Err(ApiError::conflict(format!("sandbox \"{}\" is not paused", entry.id)));
        }
        self.resume_locked(entry, lifetime).await
    }

    async fn resume_locked(&self, entry: &Arc<Entry>, lifetime: Duration) -> Result<(), ApiError> {
        self.runtime.resume(&entry.id).await?;
        entry.update(|r| {
            r.paused = false;
            r.end_at = Utc::now() + lifetime;
        });
        self.persist(entry);
        Ok(())
    }

    /// `connect`: resumes a paused sandbox; on a running one only ever extends its life.
    pub(crate) async fn connect(&self, entry: &Arc<Entry>, lifetime: i64) -> Result<Connected, ApiError> {
        let lifetime = self.timeout_secs(lifetime)?;
        let _op = entry.op.lock().await;
        if entry.record().paused {
            self.resume_locked(entry, lifetime).await?;
            return Ok(Connected::Resumed);
        }
        let until = Utc::now() + lifetime;
        entry.update(|r| r.end_at = r.end_at.max(until));
        self.persist(entry);
        Ok(Connected::WasRunning)
    }

    /// `set_timeout`: the sandbox now ends `lifetime` from now (which may be sooner).
    pub(crate) fn set_timeout(&self, entry: &Arc<Entry>, lifetime: i64) -> Result<(), ApiError> {
        let lifetime = self.timeout_secs(lifetime)?;
        entry.update(|r| r.end_at = Utc::now() + lifetime);
        self.persist(entry);
        Ok(())
    }

    /// `refreshes`: keeps the sandbox alive at least `duration` more.
    pub(crate) fn refresh(&self, entry: &Arc<Entry>, duration: Option<i64>) -> Result<(), ApiError> {
        let lifetime = self.timeout_secs(duration.unwrap_or(15))?;
        let until = Utc::now() + lifetime;
        entry.update(|r| r.end_at = r.end_at.max(until));
        self.persist(entry);
        Ok(())
    }

    pub(crate) async fn update_network(
        &self,
        entry: &Arc<Entry>,
        body: api::SandboxNetworkUpdateConfig,
    ) -> Result<(), ApiError> {
        let policy = network_policy(body.allow_internet_access, Some(&body.deny_out), Some(&body.allow_out))?;
        let _op = entry.op.lock().await;
        self.runtime.update_network(&entry.id, policy).await?;
        let network = api::SandboxNetworkConfig {
            allow_out: body.allow_out.clone(),
            deny_out: body.deny_out.clone(),
            egress_proxy: body.egress_proxy.clone(),
            rules: body.rules.clone(),
            ..Default::default()
        };
        entry.update(|r| {
            r.allow_internet_access = body.allow_internet_access;
            r.network = Some(serde_json::to_value(&network).expect("serialisable"));
        });
        self.persist(entry);
        Ok(())
    }

    /// A persistent snapshot; the sandbox keeps running.
    pub(crate) async fn snapshot(
        &self,
        entry: &Arc<Entry>,
        name: Option<&str>,
        hidden: bool,
    ) -> Result<SnapshotRow, ApiError> {
        let id = match name {
            Some(name) => SnapshotId::parse(name)
                .map_err(|e| ApiError::bad_request(format!("invalid snapshot name {name:?}: {e}")))?,
            None => SnapshotId::generate(),
        };
        let _op = entry.op.lock().await;
        if entry.record().paused {
            return Err(ApiError::conflict(format!("sandbox \"{}\" is paused; resume it first", entry.id)));
        }
        // A name in use gets a new build: the old one goes first (refused while in use).
        if self.store.snapshots()?.iter().any(|s| s.id == id.as_str()) {
            match self.runtime.delete_snapshot(&id).await {
                Ok(()) | Err(RuntimeError::SnapshotNotFound(_)) => self.store.remove_snapshot(id.as_str())?,
                Err(e) => {
                    return Err(ApiError::conflict(format!("snapshot {id} cannot be replaced: {e}")));
                }
            }
        }
        let info = self.runtime.snapshot_as(&entry.id, id).await?;
        let row = SnapshotRow {
            id: info.id.as_str().to_string(),
            sandbox_id: entry.id.as_str().to_string(),
            names: vec![info.id.as_str().to_string()],
            created_at: info.created_at.into(),
            deleted: hidden,
        };
        self.store.put_snapshot(&row)?;
        Ok(row)
    }

    /// `fork`: `count` new sandboxes from a copy of this one's filesystem.
    pub(crate) async fn fork(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        count: u32,
        lifetime: i64,
    ) -> Result<Vec<api::SandboxForkResult>, ApiError> {
        let lifetime = self.timeout_secs(lifetime)?;
        // Fork snapshots are never listed; they go away with the last sandbox built on them.
        let snapshot = self.snapshot(entry, None, true).await?;
        let parent = entry.record();
        let snap = SnapshotId::parse(&snapshot.id).expect("a stored snapshot ID parses");
        let mut results = Vec::new();
        for _ in 0..count {
            let network = parent
                .network
                .as_ref()
                .and_then(|n| serde_json::from_value::<api::SandboxNetworkConfig>(n.clone()).ok());
            let policy = network_policy(
                parent.allow_internet_access,
                network.as_ref().map(|n| &n.deny_out),
                network.as_ref().map(|n| &n.allow_out),
            )?;
            let launch = Launch {
                spec: SandboxSpec::snapshot(snap.clone()).network(policy),
                env_vars: parent.env_vars.clone(),
                token: parent.access_token.is_some().then(new_token),
                template_id: parent.template_id.clone(),
                alias: parent.alias.clone(),
                metadata: parent.metadata.clone(),
                lifetime,
                auto_pause: parent.auto_pause,
                auto_resume: parent.auto_resume,
                allow_internet_access: parent.allow_internet_access,
                network: parent.network.clone(),
                base_snapshot: Some(snapshot.id.clone()),
            };
            results.push(match self.launch(launch).await {
                Ok(child) => {
                    api::SandboxForkResult { sandbox: Some(self.sandbox_response(&child)), error: None }
                }
                Err(e) => api::SandboxForkResult {
                    sandbox: None,
                    error: Some(api::Error {
                        code: i32::from(e.status.as_u16()),
                        message: e.message,
                        error_code: None,
                    }),
                },
            });
        }
        self.collect_snapshots().await;
        Ok(results)
    }

    /// Marks snapshots deleted (by name, any tag) and removes those no sandbox uses.
    pub(crate) async fn delete_snapshots(&self, template_id: &str) -> Result<bool, ApiError> {
        let name = template_id.split_once(':').map_or(template_id, |(name, _)| name);
        let mut found = false;
        for mut row in self.store.snapshots()? {
            let row_name = row.id.split_once(':').map_or(row.id.as_str(), |(n, _)| n);
            if !row.deleted && row_name == name {
                row.deleted = true;
                self.store.put_snapshot(&row)?;
                found = true;
            }
        }
        self.collect_snapshots().await;
        Ok(found)
    }

    /// Removes deleted snapshots from disk once no sandbox (or snapshot) is built on them.
    pub(crate) async fn collect_snapshots(&self) {
        let in_use: HashSet<String> = self.all().iter().filter_map(|e| e.record().base_snapshot).collect();
        let Ok(rows) = self.store.snapshots() else { return };
        for row in rows.into_iter().filter(|r| r.deleted && !in_use.contains(&r.id)) {
            let Ok(id) = SnapshotId::parse(&row.id) else { continue };
            match self.runtime.delete_snapshot(&id).await {
                Ok(()) | Err(RuntimeError::SnapshotNotFound(_)) => {
                    let _ = self.store.remove_snapshot(&row.id);
                }
                Err(e) => tracing::debug!(snapshot = %row.id, "snapshot kept for now: {e}"),
            }
        }
    }

    pub(crate) fn visible_snapshots(&self) -> Result<Vec<SnapshotRow>, ApiError> {
        let mut rows: Vec<SnapshotRow> = self.store.snapshots()?.into_iter().filter(|s| !s.deleted).collect();
        rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// A fresh metrics sample, also kept in the sandbox's history.
    pub(crate) async fn sample(&self, entry: &Entry) -> Result<api::SandboxMetric, ApiError> {
        let metrics = self.runtime.metrics(&entry.id).await?;
        let sample = metric(&metrics);
        let mut history = entry.metrics.lock().unwrap_or_else(|p| p.into_inner());
        if history.len() == METRICS_KEPT {
            history.pop_front();
        }
        history.push_back(sample.clone());
        Ok(sample)
    }

    pub(crate) fn history(&self, entry: &Entry) -> Vec<api::SandboxMetric> {
        entry.metrics.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

    /// Ends what expired: kill, or pause when the sandbox asked for it.
    pub(crate) async fn expire_due(self: &Arc<Self>) {
        let now = Utc::now();
        for entry in self.all() {
            let r = entry.record();
            if r.paused || r.end_at > now || entry.expiring.swap(true, Ordering::AcqRel) {
                continue;
            }
            let this = self.clone();
            tokio::spawn(async move {
                let _reset = ResetOnDrop(&entry.expiring);
                // Re-check under the lock: set_timeout or connect may have won the race.
                let r = entry.record();
                if r.paused || r.end_at > Utc::now() {
                    return;
                }
                let result = if r.auto_pause {
                    this.pause(&entry).await.map(|()| "paused")
                } else {
                    this.kill(&entry, "timeout").await.map(|()| "killed")
                };
                match result {
                    Ok(what) => tracing::info!(sandbox = %entry.id, "timeout reached: {what}"),
                    Err(e) if e.status.as_u16() == 404 || e.status.as_u16() == 409 => {}
                    Err(e) => {
                        tracing::warn!(sandbox = %entry.id, "ending the expired sandbox: {}", e.message)
                    }
                }
            });
        }
    }

    /// Samples metrics of every running sandbox (for `GET /sandboxes/{id}/metrics`).
    pub(crate) async fn sample_all(&self) {
        for entry in self.all() {
            if !entry.record().paused {
                let _ = self.sample(&entry).await;
            }
        }
    }

    /// A sandbox whose envd died on its own is gone: forget it (after the runtime cleans up).
    pub(crate) async fn exited(&self, id: &SandboxId) {
        if let Some(entry) = self.lookup(id.as_str()) {
            let _op = entry.op.lock().await;
            let _ = self.runtime.kill(id).await;
            self.forget(id, "envd exited").await;
        }
    }

    /// After a restart: the runtime swept whatever a previous server left running, so the
    /// database's live sandboxes are recorded as ended (with a warning each), and its
    /// snapshot list is reconciled with the snapshots on disk.
    pub(crate) async fn reconcile(&self) -> Result<(), super::ServerError> {
        for record in self.store.live_sandboxes()? {
            tracing::warn!(
                sandbox = %record.id,
                "the sandbox was alive when the server last stopped; its processes were ended at start-up"
            );
            self.store.end_sandbox(&record.id, "the server stopped while the sandbox was alive")?;
        }
        let on_disk = self.runtime.snapshots().await?;
        let known = self.store.snapshots()?;
        for row in &known {
            if !on_disk.iter().any(|s| s.id.as_str() == row.id) {
                self.store.remove_snapshot(&row.id)?;
            }
        }
        for snap in on_disk {
            if !known.iter().any(|r| r.id == snap.id.as_str()) {
                self.store.put_snapshot(&SnapshotRow {
                    id: snap.id.as_str().to_string(),
                    sandbox_id: snap.sandbox_id.as_str().to_string(),
                    names: vec![snap.id.as_str().to_string()],
                    created_at: snap.created_at.into(),
                    deleted: false,
                })?;
            }
        }
        self.collect_snapshots().await;
        Ok(())
    }

    /// Stops everything: every sandbox is killed and recorded as such.
    pub(crate) async fn shutdown(&self) -> Result<(), RuntimeError> {
        for entry in self.all() {
            let _op = entry.op.lock().await;
            let _ = self.runtime.kill(&entry.id).await;
            self.forget(&entry.id, "server shut down").await;
        }
        self.runtime.shutdown().await
    }
}

struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What a new sandbox is made of (a create, or one child of a fork).
struct Launch {
    spec: SandboxSpec,
    env_vars: BTreeMap<String, String>,
    token: Option<String>,
    template_id: String,
    alias: Option<String>,
    metadata: BTreeMap<String, String>,
    lifetime: Duration,
    auto_pause: bool,
    auto_resume: bool,
    allow_internet_access: Option<bool>,
    network: Option<serde_json::Value>,
    base_snapshot: Option<String>,
}

fn state_of(r: &SandboxRecord) -> api::SandboxState {
    if r.paused { api::SandboxState::Paused } else { api::SandboxState::Running }
}

fn cpu_count(n: u32) -> api::CpuCount {
    api::CpuCount(std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN))
}

fn clamp_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A 64-hex-character envd access token, like upstream's.
fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An API key of the form E2B's clients check (`e2b_<hex>`).
pub(crate) fn new_api_key() -> String {
    use rand::Rng;
    let bytes: [u8; 20] = rand::rng().random();
    format!("e2b_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn cidr(text: &str) -> Result<Ipv4Cidr, ApiError> {
    let full = if text.contains('/') { text.to_string() } else { format!("{text}/32") };
    full.parse().map_err(|_| ApiError::bad_request(format!("invalid CIDR or IPv4 address {text:?}")))
}

/// E2B's egress settings as the runtime's policy. Domain names in `allowOut` are accepted
/// and echoed but not enforced (the local firewall filters by address only).
fn network_policy(
    allow_internet: Option<bool>,
    deny_out: Option<&Vec<String>>,
    allow_out: Option<&Vec<String>>,
) -> Result<NetworkPolicy, ApiError> {
    let mut policy = NetworkPolicy::default().allow_internet(allow_internet.unwrap_or(true));
    for entry in deny_out.into_iter().flatten() {
        policy = policy.deny_out(cidr(entry)?);
    }
    for entry in allow_out.into_iter().flatten() {
        let looks_like_address = entry.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '/');
        if looks_like_address {
            policy = policy.allow_out(cidr(entry)?);
        }
    }
    Ok(policy)
}

fn metric(m: &Metrics) -> api::SandboxMetric {
    let timestamp: DateTime<Utc> = m.timestamp.into();
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    api::SandboxMetric {
        cpu_count: i32::try_from(m.cpu_count).unwrap_or(i32::MAX),
        cpu_used_pct: m.cpu_used_pct as f32,
        disk_total: i(m.disk_total),
        disk_used: i(m.disk_used),
        mem_cache: i(m.mem_cache),
        mem_total: i(m.mem_total),
        mem_used: i(m.mem_used),
        timestamp,
        timestamp_unix: timestamp.timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_the_format_clients_check() {
        let key = new_api_key();
        assert!(key.starts_with("e2b_"));
        assert!(key[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(key, new_api_key());
        assert_eq!(new_token().len(), 64);
    }

    #[test]
    fn egress_settings_map_to_the_policy() {
        let p = network_policy(Some(false), None, None).unwrap();
        assert!(!p.allow_internet);
        let deny = vec!["10.0.0.0/8".to_string(), "1.1.1.1".to_string()];
        let allow = vec!["8.8.8.8".to_string(), "*.example.com".to_string()];
        let p = network_policy(None, Some(&deny), Some(&allow)).unwrap();
        assert!(p.allow_internet);
        assert_eq!(p.deny_out.len(), 2);
        assert_eq!(p.allow_out.len(), 1);
        let err = network_policy(None, Some(&vec!["example.com".into()]), None).unwrap_err();
        assert_eq!(err.status.as_u16(), 400);
    }
}
