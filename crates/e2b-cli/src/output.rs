//! How results are shown: a table with colours on a terminal, tab-separated lines for
//! pipes, JSON with `--json`.

use std::io::{IsTerminal as _, Write as _};

use console::style;
use e2b::{SandboxInfo, SandboxMetrics, SandboxState, SnapshotInfo};
use serde_json::{Value, json};

use crate::CliError;

/// A table: rows of cells under a header.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: Vec<&'static str>) -> Self {
        Self { header, rows: Vec::new() }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// On a terminal: aligned columns under a bold header. Elsewhere: one tab-separated
    /// line per row and no header, for `cut` and friends.
    pub(crate) fn print(&self) {
        let mut out = std::io::stdout().lock();
        if !std::io::stdout().is_terminal() {
            for row in &self.rows {
                let _ = writeln!(out, "{}", row.join("\t"));
            }
            return;
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(console::measure_text_width(cell));
            }
        }
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .into_iter()
                .zip(&widths)
                .map(|(c, w)| console::pad_str(&c, *w, console::Alignment::Left, None).into_owned())
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        let header = self.header.iter().map(|h| style(h).bold().to_string()).collect();
        let _ = writeln!(out, "{}", line(header));
        for row in &self.rows {
            let _ = writeln!(out, "{}", line(row.clone()));
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &Value) {
    let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Prints a failed command's error on stderr, with the chain of causes.
pub(crate) fn print_error(error: &CliError) {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    eprintln!("{} {message}", style("e2b: error:").red().bold().for_stderr());
}

pub(crate) fn state_name(state: SandboxState) -> &'static str {
    match state {
        SandboxState::Running => "running",
        SandboxState::Paused => "paused",
    }
}

fn styled_state(state: SandboxState) -> String {
    match state {
        SandboxState::Running => style("running").green().to_string(),
        SandboxState::Paused => style("paused").yellow().to_string(),
    }
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Sandboxes, as a table or JSON.
pub(crate) fn sandboxes(json_output: bool, sandboxes: &[SandboxInfo]) {
    if json_output {
        return print_json(&Value::Array(sandboxes.iter().map(sandbox_json).collect()));
    }
    let mut table =
        Table::new(vec!["SANDBOX ID", "TEMPLATE", "STATE", "STARTED", "ENDS", "CPU", "MEMORY", "METADATA"]);
    for s in sandboxes {
        let mut metadata: Vec<String> = s.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        metadata.sort();
        table.row(vec![
            s.sandbox_id.clone(),
            s.template_id.clone(),
            styled_state(s.state),
            time(s.started_at),
            time(s.end_at),
            s.cpu_count.to_string(),
            format!("{} MiB", s.memory_mb),
            metadata.join(","),
        ]);
    }
    table.print();
}

/// One sandbox, as `key: value` lines or JSON.
pub(crate) fn sandbox(json_output: bool, s: &SandboxInfo) {
    if json_output {
        return print_json(&sandbox_json(s));
    }
    let mut metadata: Vec<String> = s.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
    metadata.sort();
    let lines = [
        ("sandbox id", s.sandbox_id.clone()),
        ("template", s.template_id.clone()),
        ("state", styled_state(s.state)),
        ("started", time(s.started_at)),
        ("ends", time(s.end_at)),
        ("cpus", s.cpu_count.to_string()),
        ("memory", format!("{} MiB", s.memory_mb)),
        ("disk", format!("{} MiB", s.disk_size_mb)),
        ("envd", s.envd_version.clone()),
        ("metadata", metadata.join(",")),
    ];
    key_values(&lines);
}

fn key_values(lines: &[(&str, String)]) {
    let mut out = std::io::stdout().lock();
    let terminal = std::io::stdout().is_terminal();
    for (key, value) in lines {
        if terminal {
            let _ = writeln!(out, "{:>11}  {value}", style(key).bold());
        } else {
            let _ = writeln!(out, "{key}\t{value}");
        }
    }
}

fn sandbox_json(s: &SandboxInfo) -> Value {
    json!({
        "sandboxID": s.sandbox_id,
        "templateID": s.template_id,
        "name": s.name,
        "state": state_name(s.state),
        "startedAt": s.started_at.to_rfc3339(),
        "endAt": s.end_at.to_rfc3339(),
        "cpuCount": s.cpu_count,
        "memoryMB": s.memory_mb,
        "diskSizeMB": s.disk_size_mb,
        "envdVersion": s.envd_version,
        "metadata": s.metadata,
    })
}

/// Metrics samples, as a table or JSON.
pub(crate) fn metrics(json_output: bool, samples: &[SandboxMetrics]) {
    if json_output {
        let values = samples
            .iter()
            .map(|m| {
                json!({
                    "timestamp": m.timestamp.to_rfc3339(),
                    "cpuCount": m.cpu_count,
                    "cpuUsedPct": m.cpu_used_pct,
                    "memUsed": m.mem_used,
                    "memTotal": m.mem_total,
                    "diskUsed": m.disk_used,
                    "diskTotal": m.disk_total,
                })
            })
            .collect();
        return print_json(&Value::Array(values));
    }
    let mut table = Table::new(vec!["TIME", "CPUS", "CPU %", "MEMORY", "DISK"]);
    for m in samples {
        table.row(vec![
            time(m.timestamp),
            m.cpu_count.to_string(),
            format!("{:.1}", m.cpu_used_pct),
            format!("{} / {}", mib(m.mem_used), mib(m.mem_total)),
            format!("{} / {}", mib(m.disk_used), mib(m.disk_total)),
        ]);
    }
    table.print();
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Snapshots, as a table or JSON.
pub(crate) fn snapshots(json_output: bool, snapshots: &[SnapshotInfo]) {
    if json_output {
        let values =
            snapshots.iter().map(|s| json!({"snapshotID": s.snapshot_id, "names": s.names})).collect();
        return print_json(&Value::Array(values));
    }
    let mut table = Table::new(vec!["SNAPSHOT ID", "NAMES"]);
    for s in snapshots {
        table.row(vec![s.snapshot_id.clone(), s.names.join(",")]);
    }
    table.print();
}

/// Directory entries, as a table or JSON.
pub(crate) fn entries(json_output: bool, entries: &[e2b::EntryInfo]) {
    if json_output {
        let values = entries
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "path": e.path,
                    "type": e.file_type.map(e2b::FileType::as_str),
                    "size": e.size,
                    "permissions": e.permissions,
                    "owner": e.owner,
                    "group": e.group,
                    "modifiedTime": e.modified_time.map(|t| t.to_rfc3339()),
                    "symlinkTarget": e.symlink_target,
                })
            })
            .collect();
        return print_json(&Value::Array(values));
    }
    let mut table = Table::new(vec!["PERMISSIONS", "OWNER", "GROUP", "SIZE", "MODIFIED", "PATH"]);
    for e in entries {
        let mut path = e.path.clone();
        if e.file_type == Some(e2b::FileType::Dir) {
            path = style(format!("{path}/")).blue().bold().to_string();
        }
        if let Some(target) = &e.symlink_target {
            path = format!("{path} -> {target}");
        }
        table.row(vec![
            e.permissions.clone(),
            e.owner.clone(),
            e.group.clone(),
            e.size.to_string(),
            e.modified_time.map(time).unwrap_or_default(),
            path,
        ]);
    }
    table.print();
}
