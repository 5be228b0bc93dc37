//! `cargo xtask bench <name>`: one entry point for the benchmarks that live
//! in the crates (`benches/<name>.rs`, `harness = false`).

use anyhow::{Result, bail};
use std::process::Command;

/// Benchmark name → (package, bench target).
const BENCHES: &[(&str, &str, &str)] = &[
    ("connect", "e2b-connect", "connect"),
    ("envd", "envd", "envd"),
    ("sdk", "e2b", "sdk"),
    ("runtime", "e2b-local", "runtime"),
    ("local", "e2b-local", "local"),
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let names: Vec<&str> = BENCHES.iter().map(|b| b.0).collect();
    let Some(name) = args.first() else {
        bail!("usage: cargo xtask bench <{}> [args for the benchmark]", names.join("|"));
    };
    let Some((_, package, target)) = BENCHES.iter().find(|b| b.0 == name) else {
        bail!("unknown benchmark {name:?}; known: {}", names.join(", "));
    };
    let status = Command::new(env!("CARGO"))
        .args(["bench", "--package", package, "--bench", target, "--"])
        .args(&args[1..])
        .current_dir(crate::workspace_root())
        .status()?;
    if !status.success() {
        bail!("benchmark {name} failed ({status})");
    }
    Ok(())
}
