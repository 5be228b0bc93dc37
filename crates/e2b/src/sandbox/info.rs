//! What the control plane reports about sandboxes, their resource usage and
//! their snapshots.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use e2b_api::control::types;

use super::lifecycle::{LifecycleInfo, OnTimeout};
use super::network::NetworkConfig;
use crate::error::{Error, Phase, Stage};

/// Whether a sandbox runs or is paused.
///
/// # Example
///
/// ```
/// use e2b::SandboxState;
///
/// assert_eq!("paused".parse::<SandboxState>()?, SandboxState::Paused);
/// assert_eq!(SandboxState::Running.to_string(), "running");
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SandboxState {
    /// Running.
    Running,
    /// Paused; `connect` resumes it.
    Paused,
}

impl SandboxState {
    /// The wire name.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::SandboxState::Paused.as_str(), "paused");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SandboxState::Running => "running",
            SandboxState::Paused => "paused",
        }
    }

    pub(crate) fn to_api(self) -> types::SandboxState {
        match self {
            SandboxState::Running => types::SandboxState::Running,
            SandboxState::Paused => types::SandboxState::Paused,
        }
    }

    fn from_api(state: types::SandboxState) -> Self {
        match state {
            types::SandboxState::Running => SandboxState::Running,
            types::SandboxState::Paused => SandboxState::Paused,
        }
    }
}

impl fmt::Display for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SandboxState {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "running" => Ok(SandboxState::Running),
            "paused" => Ok(SandboxState::Paused),
            _ => Err(Error::invalid_argument(
                Stage::new("parse sandbox state", Phase::Validate),
                format!("{text:?} is not a sandbox state (running or paused)"),
            )),
        }
    }
}

/// A volume mounted into a sandbox.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// for mount in sandbox.get_info().await?.volume_mounts {
///     println!("{} at {}", mount.name, mount.path);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeMount {
    /// The volume's name.
    pub name: String,
    /// Where it is mounted.
    pub path: String,
}

/// Information about a sandbox, from [`Client::get_info`](crate::Client::get_info)
/// or a listing. Network, lifecycle, domain and internet access are only
/// reported by `get_info`.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let info = sandbox.get_info().await?;
/// println!("{} from {} runs until {}", info.sandbox_id, info.template_id, info.end_at);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SandboxInfo {
    /// The sandbox ID.
    pub sandbox_id: String,
    /// The domain the sandbox is served under, when the API names one.
    pub sandbox_domain: Option<String>,
    /// The template it was created from.
    pub template_id: String,
    /// The template's alias, if any.
    pub name: Option<String>,
    /// The metadata given at creation.
    pub metadata: HashMap<String, String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it will time out.
    pub end_at: DateTime<Utc>,
    /// Running or paused.
    pub state: SandboxState,
    /// vCPUs.
    pub cpu_count: u32,
    /// Memory in MiB.
    pub memory_mb: u32,
    /// Disk size in MiB.
    pub disk_size_mb: u32,
    /// The version of envd inside.
    pub envd_version: String,
    /// Whether the sandbox may reach the internet.
    pub allow_internet_access: Option<bool>,
    /// Its network configuration.
    pub network: Option<NetworkConfig>,
    /// Its lifecycle configuration.
    pub lifecycle: Option<LifecycleInfo>,
    /// Volumes mounted into it.
    pub volume_mounts: Vec<VolumeMount>,
}

fn mounts(mounts: Vec<types::SandboxVolumeMount>) -> Vec<VolumeMount> {
    mounts.into_iter().map(|m| VolumeMount { name: m.name, path: m.path }).collect()
}

fn non_negative(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

impl SandboxInfo {
    pub(crate) fn from_detail(detail: types::SandboxDetail) -> Self {
        SandboxInfo {
            sandbox_id: detail.sandbox_id,
            sandbox_domain: detail.domain,
            template_id: detail.template_id,
            name: detail.alias,
            metadata: detail.metadata.map(|m| m.0).unwrap_or_default(),
            started_at: detail.started_at,
            end_at: detail.end_at,
            state: SandboxState::from_api(detail.state),
            cpu_count: detail.cpu_count.0.get(),
            memory_mb: non_negative(detail.memory_mb.0),
            disk_size_mb: non_negative(detail.disk_size_mb.0),
            envd_version: detail.envd_version.0,
            allow_internet_access: detail.allow_internet_access,
            network: detail.network.map(NetworkConfig::from_api),
            lifecycle: detail.lifecycle.map(|l| LifecycleInfo {
                on_timeout: match l.on_timeout {
                    types::SandboxOnTimeout::Kill => OnTimeout::Kill,
                    types::SandboxOnTimeout::Pause => OnTimeout::Pause,
                },
                auto_resume: l.auto_resume,
            }),
            volume_mounts: mounts(detail.volume_mounts),
        }
    }

    pub(crate) fn from_listed(listed: types::ListedSandbox) -> Self {
        SandboxInfo {
            sandbox_id: listed.sandbox_id,
            sandbox_domain: None,
            template_id: listed.template_id,
            name: listed.alias,
            metadata: listed.metadata.map(|m| m.0).unwrap_or_default(),
            started_at: listed.started_at,
            end_at: listed.end_at,
            state: SandboxState::from_api(listed.state),
            cpu_count: listed.cpu_count.0.get(),
            memory_mb: non_negative(listed.memory_mb.0),
            disk_size_mb: non_negative(listed.disk_size_mb.0),
            envd_version: listed.envd_version.0,
            allow_internet_access: None,
            network: None,
            lifecycle: None,
            volume_mounts: mounts(listed.volume_mounts),
        }
    }
}

/// One resource-usage sample of a sandbox.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// for m in sandbox.get_metrics().await? {
///     println!("{}: {:.1}% CPU, {} of {} bytes RAM", m.timestamp, m.cpu_used_pct, m.mem_used, m.mem_total);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SandboxMetrics {
    /// When the sample was taken.
    pub timestamp: DateTime<Utc>,
    /// vCPUs.
    pub cpu_count: u32,
    /// CPU use in percent.
    pub cpu_used_pct: f32,
    /// Memory in use, bytes.
    pub mem_used: u64,
    /// Total memory, bytes.
    pub mem_total: u64,
    /// Memory used as cache, bytes.
    pub mem_cache: u64,
    /// Disk in use, bytes.
    pub disk_used: u64,
    /// Total disk, bytes.
    pub disk_total: u64,
}

impl SandboxMetrics {
    pub(crate) fn from_api(metric: types::SandboxMetric) -> Self {
        let bytes = |v: i64| u64::try_from(v).unwrap_or(0);
        SandboxMetrics {
            timestamp: metric.timestamp,
            cpu_count: non_negative(metric.cpu_count),
            cpu_used_pct: metric.cpu_used_pct,
            mem_used: bytes(metric.mem_used),
            mem_total: bytes(metric.mem_total),
            mem_cache: bytes(metric.mem_cache),
            disk_used: bytes(metric.disk_used),
            disk_total: bytes(metric.disk_total),
        }
    }
}

/// A persistent snapshot of a sandbox; its ID can be used as a template.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let snapshot = sandbox.create_snapshot().await?;
/// let copy = sandbox.client().sandbox().template(&snapshot.snapshot_id).create().await?;
/// # let _ = copy; Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotInfo {
    /// The tag-qualified ID, e.g. `abc123:default` or `team/my-snap:v2`.
    pub snapshot_id: String,
    /// The names it is known by.
    pub names: Vec<String>,
}

impl SnapshotInfo {
    pub(crate) fn from_api(snapshot: types::SnapshotInfo) -> Self {
        SnapshotInfo { snapshot_id: snapshot.snapshot_id, names: snapshot.names }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detail_maps_every_field() {
        let detail: types::SandboxDetail = serde_json::from_value(json!({
            "templateID": "t1", "alias": "base", "sandboxID": "s1", "clientID": "6532622b",
            "startedAt": "2025-01-01T10:00:00.123456789Z", "endAt": "2025-01-01T10:05:00+02:00",
            "cpuCount": 2, "memoryMB": 512, "diskSizeMB": 1024, "state": "paused", "envdVersion": "0.6.13",
            "allowInternetAccess": false, "domain": "d.io", "metadata": {"k": "v"},
            "network": {"denyOut": ["0.0.0.0/0"]},
            "lifecycle": {"autoResume": true, "onTimeout": "pause"},
            "volumeMounts": [{"name": "vol", "path": "/data"}]
        }))
        .unwrap();
        let info = SandboxInfo::from_detail(detail);
        assert_eq!(info.sandbox_id, "s1");
        assert_eq!(info.sandbox_domain.as_deref(), Some("d.io"));
        assert_eq!(info.name.as_deref(), Some("base"));
        assert_eq!(info.metadata["k"], "v");
        assert_eq!(info.state, SandboxState::Paused);
        assert_eq!((info.cpu_count, info.memory_mb, info.disk_size_mb), (2, 512, 1024));
        assert_eq!(info.end_at.to_rfc3339(), "2025-01-01T08:05:00+00:00");
        assert_eq!(info.allow_internet_access, Some(false));
        assert_eq!(info.network.unwrap().deny_out, Some(vec!["0.0.0.0/0".to_string()]));
        assert_eq!(info.lifecycle, Some(LifecycleInfo { on_timeout: OnTimeout::Pause, auto_resume: true }));
        assert_eq!(info.volume_mounts, vec![VolumeMount { name: "vol".into(), path: "/data".into() }]);
    }

    #[test]
    fn metrics_clamp_impossible_values() {
        let metric: types::SandboxMetric = serde_json::from_value(json!({
            "timestamp": "2025-01-01T00:00:00Z", "timestampUnix": 1735689600, "cpuCount": 2,
            "cpuUsedPct": 12.5, "memUsed": -1, "memTotal": 1024, "memCache": 3, "diskUsed": 5, "diskTotal": 10
        }))
        .unwrap();
        let m = SandboxMetrics::from_api(metric);
        assert_eq!((m.mem_used, m.mem_total, m.disk_total), (0, 1024, 10));
        assert_eq!(m.cpu_used_pct, 12.5);
    }
}
