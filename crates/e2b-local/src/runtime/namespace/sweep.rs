//! Startup sweep: removes what a crashed runtime with the same root and instance left
//! behind (processes, cgroups, mounts, veths, nftables content, sandbox directories).

use std::fs;
use std::path::PathBuf;

use super::{NamespaceBackend, SandboxRecord, sys};
use crate::runtime::cgroup::SandboxCgroup;

/// Runs the sweep; returns a description of everything removed.
pub(super) async fn sweep(backend: &NamespaceBackend) -> Vec<String> {
    let inner = &backend.inner;
    let mut report = Vec::new();

    // 1. Processes recorded by sandboxes of a previous run (pid + start time must match, so a
    //    reused pid is never hit). Killing pid 1 of a pid namespace kills all of it.
    let mut dirs = Vec::new();
    if let Ok(rd) = fs::read_dir(&inner.sandboxes_dir) {
        for e in rd.flatten() {
            dirs.push(e.path());
            let Ok(bytes) = fs::read(e.path().join("record.json")) else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<SandboxRecord>(&bytes) else {
                continue;
            };
            if record.pid_start_time != 0
                && sys::process_start_time(record.pid) == Some(record.pid_start_time)
            {
                // SAFETY: kill(2) of a process we verified is the recorded sandbox init.
                unsafe { libc::kill(record.pid as i32, libc::SIGKILL) };
                report.push(format!("killed sandbox {} (pid {})", record.id, record.pid));
            }
        }
    }

    // 2. Cgroups below this instance's parent (this also kills any process still inside).
    for name in inner.hierarchy.children(&inner.cgroup_parent) {
        let cg = SandboxCgroup::new(inner.hierarchy.clone(), inner.cgroup_parent.join(&name));
        match tokio::task::spawn_blocking(move || cg.destroy()).await {
            Ok(Ok(())) => report.push(format!("removed cgroup {name}")),
            other => report.push(format!("could not remove cgroup {name}: {other:?}")),
        }
    }

    // 3. Host mounts below the sandboxes directory, deepest first.
    let prefix = format!("{}/", inner.sandboxes_dir.display());
    let mut mounts: Vec<PathBuf> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(PathBuf::from)
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in mounts {
        match sys::unmount(&m) {
            Ok(()) => report.push(format!("unmounted {}", m.display())),
            Err(e) => report.push(format!("could not unmount {}: {e}", m.display())),
        }
    }

    // 4. Host-side veths with this instance's prefix.
    if let Ok(links) = inner.net.own_links().await {
        for link in links {
            match inner.net.delete_link_named(&link).await {
                Ok(()) => report.push(format!("deleted veth {link}")),
                Err(e) => report.push(format!("could not delete veth {link}: {e}")),
            }
        }
    }

    // 5. Sandbox directories (disk images, logs). The nftables table is recreated empty by
    //    the caller right after.
    for dir in dirs {
        match fs::remove_dir_all(&dir) {
            Ok(()) => report.push(format!("removed {}", dir.display())),
            Err(e) => report.push(format!("could not remove {}: {e}", dir.display())),
        }
    }
    inner.templates.remove_abandoned_builds();
    // Half-made blank disk images.
    if let Ok(rd) = fs::read_dir(&inner.cache_dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    // Interrupted snapshots.
    if let Ok(rd) = fs::read_dir(&inner.snapshots_dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with('.') {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    report
}
