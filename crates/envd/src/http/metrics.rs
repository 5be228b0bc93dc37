//! `GET /metrics`: CPU, memory and disk usage as seen from inside.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{HttpError, HttpState};

/// CPU time counters from `/proc/stat`, to compute usage between samples.
#[derive(Clone, Copy, Debug, Default)]
struct CpuTimes {
    total: u64,
    idle: u64,
}

fn read_cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already
    // included in user and nice).
    let total = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some(CpuTimes { total, idle })
}

/// Remembers the previous sample: usage is reported over the time since the
/// last request (since start for the first one).
#[derive(Debug)]
pub(crate) struct CpuSampler {
    last: Mutex<CpuTimes>,
}

impl CpuSampler {
    pub(crate) fn new() -> Self {
        CpuSampler { last: Mutex::new(read_cpu_times().unwrap_or_default()) }
    }

    fn used_percent(&self) -> f64 {
        let Some(now) = read_cpu_times() else { return 0.0 };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (total, idle) = (now.total.saturating_sub(last.total), now.idle.saturating_sub(last.idle));
        *last = now;
        if total == 0 {
            return 0.0;
        }
        let used = 100.0 * (total.saturating_sub(idle)) as f64 / total as f64;
        (used * 100.0).round() / 100.0
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Metrics {
    ts: i64,
    cpu_count: usize,
    cpu_used_pct: f64,
    mem_total_mib: u64,
    mem_used_mib: u64,
    mem_total: u64,
    mem_used: u64,
    mem_cache: u64,
    disk_used: u64,
    disk_total: u64,
}

fn meminfo() -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:").unwrap_or(0);
    let cached = field("Cached:").unwrap_or(0);
    Some((total, total.saturating_sub(available), cached))
}

pub(crate) async fn metrics(State(state): State<Arc<HttpState>>) -> Result<Json<Metrics>, HttpError> {
    let cpu_used_pct = state.cpu.used_percent();
    let (mem_total, mem_used, mem_cache) =
        meminfo().ok_or_else(|| HttpError::internal("error reading /proc/meminfo"))?;
    let disk = nix::sys::statvfs::statvfs("/")
        .map_err(|e| HttpError::internal(format!("error reading disk usage: {e}")))?;
    let block = disk.fragment_size() as u64;
    let disk_total = disk.blocks() as u64 * block;
    let disk_used = disk_total.saturating_sub(disk.blocks_free() as u64 * block);
    Ok(Json(Metrics {
        ts: chrono::Utc::now().timestamp(),
        cpu_count: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_used_pct,
        mem_total_mib: mem_total / (1024 * 1024),
        mem_used_mib: mem_used / (1024 * 1024),
        mem_total,
        mem_used,
        mem_cache,
        disk_used,
        disk_total,
    }))
}
