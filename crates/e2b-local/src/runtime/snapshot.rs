//! Snapshots: a copy of a sandbox's writable layer (taken while it is frozen) plus the
//! layers below it, stored under `<root>/snapshots/<name>@<tag>/`. Memory is only captured
//! when CRIU >= 4.2 is installed and `criu check` passes; the result says which.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::error::{Result, RuntimeError};
use super::types::{MemoryCapture, Resources, SandboxId, SnapshotId, SnapshotInfo};

/// Lowest CRIU version whose memory dumps the runtime would use.
const CRIU_MIN: (u32, u32) = (4, 2);

/// What is stored next to a snapshot's layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapshotRecord {
    pub(crate) info: SnapshotInfo,
    /// Root filesystem layers of sandboxes created from it, top first.
    pub(crate) layers: Vec<PathBuf>,
}

fn dir_of(root: &Path, id: &SnapshotId) -> PathBuf {
    root.join(id.dir_name())
}

/// Whether CRIU can capture memory here, and if not, why.
pub(crate) fn memory_capture_support() -> MemoryCapture {
    let out = match Command::new("criu").arg("--version").output() {
        Ok(out) => out,
        Err(_) => {
            return MemoryCapture::FilesystemOnly {
                reason: "criu is not installed; only the filesystem was saved".into(),
            };
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < CRIU_MIN {
        return MemoryCapture::FilesystemOnly {
            reason: format!(
                "criu {version} is older than {}.{}; only the filesystem was saved",
                CRIU_MIN.0, CRIU_MIN.1
            ),
        };
    }
    let check = Command::new("criu").arg("check").output();
    if !matches!(check, Ok(ref o) if o.status.success()) {
        return MemoryCapture::FilesystemOnly {
            reason: format!(
                "`criu check` fails on this host (criu {version}); only the filesystem was saved"
            ),
        };
    }
    MemoryCapture::FilesystemOnly {
        reason: format!(
            "criu {version} is usable, but memory capture of namespace sandboxes is not implemented; only the filesystem was saved"
        ),
    }
}

/// Copies the upper layer of a frozen sandbox into a new snapshot.
pub(crate) fn take(
    root: &Path,
    id: &SnapshotId,
    sandbox: &SandboxId,
    template: &str,
    resources: Resources,
    disk: &Path,
    layers: &[PathBuf],
) -> Result<SnapshotInfo> {
    let err = |stage, source| RuntimeError::Snapshot { stage, source };
    let dir = dir_of(root, id);
    if dir.exists() {
        return Err(RuntimeError::InvalidSpec(format!("snapshot {id} already exists")));
    }
    let staging = root.join(format!(".{}.partial", id.dir_name()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| err("prepare", e))?;
    let result = (|| {
        // Flush the disk so the copy sees everything the frozen processes wrote.
        let f = fs::File::open(disk).map_err(|e| err("sync", e))?;
        // SAFETY: syncfs on an fd we own.
        unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&f)) };
        let layer = staging.join("layer");
        let out = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(disk.join("upper"))
            .arg(&layer)
            .output()
            .map_err(|e| err("copy", e))?;
        if !out.status.success() {
            return Err(err(
                "copy",
                io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            ));
        }
        let size_bytes = du(&layer);
        let final_layer = dir.join("layer");
        let mut all_layers = vec![final_layer];
        all_layers.extend(layers.iter().cloned());
        let record = SnapshotRecord {
            info: SnapshotInfo {
                id: id.clone(),
                sandbox_id: sandbox.clone(),
                template: template.to_string(),
                resources,
                created_at: SystemTime::now(),
                memory: memory_capture_support(),
                size_bytes,
            },
            layers: all_layers,
        };
        fs::write(staging.join("snapshot.json"), serde_json::to_vec_pretty(&record).expect("serialisable"))
            .map_err(|e| err("record", e))?;
        fs::rename(&staging, &dir).map_err(|e| err("commit", e))?;
        Ok(record.info)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn du(path: &Path) -> u64 {
    Command::new("du")
        .args(["-sb"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout).split_whitespace().next().and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Loads a snapshot's record.
pub(crate) fn load(root: &Path, id: &SnapshotId) -> Result<SnapshotRecord> {
    let path = dir_of(root, id).join("snapshot.json");
    let bytes = fs::read(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            RuntimeError::SnapshotNotFound(id.clone())
        } else {
            RuntimeError::path("reading", &path, e)
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        RuntimeError::io(format!("parsing {}", path.display()), io::Error::new(io::ErrorKind::InvalidData, e))
    })
}

pub(crate) fn list_records(root: &Path) -> Vec<SnapshotRecord> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(root) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().replace('@', ":");
            if name.starts_with('.') {
                continue;
            }
            if let Ok(id) = SnapshotId::parse(&name)
                && let Ok(r) = load(root, &id)
            {
                out.push(r);
            }
        }
    }
    out
}

/// All snapshots, newest first.
pub(crate) fn list(root: &Path) -> Result<Vec<SnapshotInfo>> {
    let mut all: Vec<SnapshotInfo> = list_records(root).into_iter().map(|r| r.info).collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    Ok(all)
}

/// Deletes a snapshot unless another snapshot is built on it.
pub(crate) fn delete(root: &Path, id: &SnapshotId) -> Result<()> {
    let record = load(root, id)?;
    let own_layer = record.layers.first().cloned();
    if let Some(layer) = &own_layer {
        for other in list_records(root) {
            if other.info.id != *id && other.layers.contains(layer) {
                return Err(RuntimeError::InvalidSpec(format!(
                    "snapshot {id} is the base of snapshot {}; delete that first",
                    other.info.id
                )));
            }
        }
    }
    let dir = dir_of(root, id);
    // Rename first so a concurrent reader never sees half a snapshot.
    let doomed = root.join(format!(".{}.deleted", id.dir_name()));
    fs::rename(&dir, &doomed).map_err(|e| RuntimeError::path("removing", &dir, e))?;
    fs::remove_dir_all(&doomed).map_err(|e| RuntimeError::path("removing", &doomed, e))
}
