//! Values the runtime hands out: ids, sandbox descriptions, states, metrics, snapshots.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::SystemTime;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::error::{Result, RuntimeError};

/// Length of a sandbox id: E2B's format, 20 characters of `[a-z0-9]`.
const SANDBOX_ID_LEN: usize = 20;

/// A sandbox id in E2B's format: 20 characters of `[a-z0-9]` (no `-`, so host-name routers
/// can split on it). It is also the sandbox's hostname.
///
/// ```
/// use e2b_local::runtime::SandboxId;
/// let id = SandboxId::generate();
/// assert_eq!(id.as_str().len(), 20);
/// assert!(SandboxId::parse("not-valid").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SandboxId(String);

impl SandboxId {
    /// A new random id.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let id = (0..SANDBOX_ID_LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        Self(id)
    }

    /// Checks the format (20 chars `[a-z0-9]`).
    pub fn parse(text: &str) -> Result<Self> {
        let valid = text.len() == SANDBOX_ID_LEN
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(RuntimeError::InvalidSpec(format!("sandbox id {text:?} is not 20 characters of [a-z0-9]")))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SandboxId {
    type Error = RuntimeError;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<SandboxId> for String {
    fn from(value: SandboxId) -> Self {
        value.0
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A snapshot id: `<name>:<tag>` like E2B's snapshot ids (e.g. `k3x9...:default`).
///
/// ```
/// use e2b_local::runtime::SnapshotId;
/// let id = SnapshotId::parse("abc123:default").unwrap();
/// assert_eq!(id.name(), "abc123");
/// assert!(SnapshotId::parse("../etc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotId(String);

impl SnapshotId {
    /// A new random snapshot id with the tag `default`.
    pub fn generate() -> Self {
        Self(format!("{}:default", SandboxId::generate()))
    }

    /// Validates `<name>[:<tag>]` (name and tag: `[A-Za-z0-9_.-]`, not starting with `.`);
    /// a missing tag becomes `default`.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, tag) = text.split_once(':').unwrap_or((text, "default"));
        let ok = |part: &str| {
            !part.is_empty()
                && part.len() <= 128
                && !part.starts_with('.')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        if ok(name) && ok(tag) {
            Ok(Self(format!("{name}:{tag}")))
        } else {
            Err(RuntimeError::InvalidSpec(format!(
                "snapshot id {text:?} is not <name>[:<tag>] of [A-Za-z0-9_.-]"
            )))
        }
    }

    /// The full id, `<name>:<tag>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the tag.
    pub fn name(&self) -> &str {
        self.0.split(':').next().unwrap_or(&self.0)
    }

    /// A file-system-safe form of the id (used as a directory name).
    pub(crate) fn dir_name(&self) -> String {
        self.0.replace(':', "@")
    }
}

impl TryFrom<String> for SnapshotId {
    type Error = RuntimeError;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<SnapshotId> for String {
    fn from(value: SnapshotId) -> Self {
        value.0
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resource limits of one sandbox.
///
/// ```
/// use e2b_local::runtime::Resources;
/// let r = Resources::default();
/// assert_eq!((r.cpu_count, r.memory_mib), (2, 512));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// vCPUs (a CPU quota of this many full cores).
    pub cpu_count: u32,
    /// Memory limit in MiB; exceeding it OOM-kills inside the sandbox.
    pub memory_mib: u64,
    /// Size of the writable disk in MiB; filling it gives `ENOSPC` inside the sandbox.
    pub disk_mib: u64,
    /// Maximum number of processes and threads.
    pub pids_max: u32,
}

impl Default for Resources {
    /// E2B's defaults: 2 vCPU, 512 MiB; plus a 4 GiB writable disk and 2048 tasks.
    fn default() -> Self {
        Self { cpu_count: 2, memory_mib: 512, disk_mib: 4096, pids_max: 2048 }
    }
}

impl Resources {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(RuntimeError::InvalidSpec(m.to_string()));
        if self.cpu_count == 0 || self.cpu_count > 256 {
            return bad("cpu_count must be 1..=256");
        }
        if self.memory_mib < 32 {
            return bad("memory_mib must be at least 32");
        }
        if self.disk_mib < 16 || self.disk_mib > 16 * 1024 * 1024 {
            return bad("disk_mib must be 16..=16777216");
        }
        if self.pids_max < 16 {
            return bad("pids_max must be at least 16");
        }
        Ok(())
    }
}

/// Lifecycle state of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SandboxState {
    /// Processes are running.
    Running,
    /// Frozen by the cgroup freezer; memory stays resident.
    Paused,
    /// envd (the first process) exited; the sandbox is dead until killed/removed.
    Exited {
        /// Exit code, when it exited normally.
        code: Option<i32>,
        /// Signal, when it was killed by one.
        signal: Option<i32>,
        /// Whether the memory cgroup recorded an OOM kill.
        oom_killed: bool,
    },
}

impl fmt::Display for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running => f.write_str("running"),
            Self::Paused => f.write_str("paused"),
            Self::Exited { .. } => f.write_str("exited"),
        }
    }
}

/// What the runtime knows about one sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// The id (also the hostname).
    pub id: SandboxId,
    /// Template the root filesystem comes from.
    pub template: String,
    /// Snapshot it was created from, if any.
    pub snapshot: Option<SnapshotId>,
    /// Current state.
    pub state: SandboxState,
    /// Where envd listens, reachable from the host.
    pub envd: SocketAddr,
    /// The sandbox's own IPv4 address.
    pub address: std::net::Ipv4Addr,
    /// Limits.
    pub resources: Resources,
    /// Creation time.
    pub started_at: SystemTime,
    /// Free-form labels given at creation (the control plane stores metadata here).
    pub labels: BTreeMap<String, String>,
    /// Egress policy in force.
    pub network: super::network::NetworkPolicy,
    /// Host pid of envd (pid 1 inside the sandbox).
    pub pid: u32,
}

/// One sample of a sandbox's resource use, from host-side counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// When the sample was taken.
    pub timestamp: SystemTime,
    /// vCPUs of the sandbox.
    pub cpu_count: u32,
    /// CPU use since the previous sample (or since start), in percent of all its vCPUs.
    pub cpu_used_pct: f64,
    /// Memory in use (excluding page cache), bytes.
    pub mem_used: u64,
    /// Memory limit, bytes.
    pub mem_total: u64,
    /// Page cache charged to the sandbox, bytes.
    pub mem_cache: u64,
    /// Bytes used on the writable disk.
    pub disk_used: u64,
    /// Size of the writable disk, bytes.
    pub disk_total: u64,
    /// OOM kills since creation.
    pub oom_kills: u64,
    /// Processes and threads now.
    pub pids: u64,
}

/// Whether a snapshot also holds the memory of the processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MemoryCapture {
    /// CRIU dumped the processes; restoring resumes them.
    Captured,
    /// Only the filesystem was saved; restoring boots a fresh envd on it.
    FilesystemOnly {
        /// Why memory was not captured (e.g. "criu 3.17 is older than 4.2").
        reason: String,
    },
}

/// A persistent snapshot of a sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Its id; usable to create new sandboxes.
    pub id: SnapshotId,
    /// The sandbox it was taken from.
    pub sandbox_id: SandboxId,
    /// The template underneath.
    pub template: String,
    /// Limits of the sandbox it was taken from (defaults for sandboxes created from it).
    pub resources: Resources,
    /// When it was taken.
    pub created_at: SystemTime,
    /// Memory capture result.
    pub memory: MemoryCapture,
    /// Bytes the snapshot's own layer takes.
    pub size_bytes: u64,
}

/// Something that happened to a sandbox, published on [`Runtime::events`](super::Runtime::events).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RuntimeEvent {
    /// The kernel OOM-killed a process in the sandbox (memory limit reached).
    OomKilled {
        /// The sandbox.
        id: SandboxId,
        /// Total OOM kills in it so far.
        total: u64,
    },
    /// envd exited on its own (crash, OOM, ...); the sandbox is dead.
    Exited {
        /// The sandbox.
        id: SandboxId,
        /// Its final state.
        state: SandboxState,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = SandboxId::generate();
        let b = SandboxId::generate();
        assert_ne!(a, b);
        assert_eq!(SandboxId::parse(a.as_str()).unwrap(), a);
        assert!(SandboxId::parse("ABCDEFGHIJKLMNOPQRST").is_err());
    }

    #[test]
    fn snapshot_ids_default_their_tag_and_reject_paths() {
        assert_eq!(SnapshotId::parse("snap").unwrap().as_str(), "snap:default");
        assert_eq!(SnapshotId::parse("a:v2").unwrap().dir_name(), "a@v2");
        for bad in ["", ":x", "a/b", "..", ".hidden", "a:b:c"] {
            assert!(SnapshotId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resources_are_validated() {
        assert!(Resources::default().validate().is_ok());
        let tiny = Resources { memory_mib: 1, ..Resources::default() };
        assert!(tiny.validate().is_err());
    }
}
