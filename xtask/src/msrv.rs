//! `cargo xtask msrv`: the workspace declares one MSRV; this fails when any
//! dependency resolved in `Cargo.lock` declares that it needs a newer Rust.
//!
//! The machine has a single toolchain, so instead of compiling with an old
//! compiler we check the promise every dependency makes in its manifest. Our
//! own code is checked by clippy's `incompatible_msrv` lint, which reads
//! `rust-version` and flags every std item newer than it: it is on by default,
//! so the lint step (`cargo clippy --all-targets -- -D warnings`) enforces it
//! and this task does not lint a second time. (Language features are not
//! covered: edition 2024 itself already needs 1.85.)

use anyhow::{Context, Result, bail};
use std::process::Command;

pub(crate) fn run() -> Result<()> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(crate::workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .context("workspace_members")?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = meta["packages"].as_array().context("packages")?;

    let mut msrvs = packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or_default()))
        .map(|p| p["rust_version"].as_str().unwrap_or("unset").to_string())
        .collect::<Vec<_>>();
    msrvs.sort();
    msrvs.dedup();
    if msrvs.len() != 1 || msrvs[0] == "unset" {
        bail!("every workspace member must inherit the one workspace rust-version, found {msrvs:?}");
    }
    let ours = parse(&msrvs[0])?;

    let mut too_new = Vec::new();
    for p in packages {
        if let Some(v) = p["rust_version"].as_str()
            && parse(v)? > ours
        {
            too_new.push(format!("{} {} needs Rust {v}", p["name"], p["version"]));
        }
    }
    if !too_new.is_empty() {
        bail!("dependencies need a newer Rust than our MSRV {}:\n  {}", msrvs[0], too_new.join("\n  "));
    }
    println!("MSRV {}: all {} packages agree", msrvs[0], packages.len());
    Ok(())
}

fn parse(v: &str) -> Result<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| p.parse::<u64>());
    let major = parts.next().context("empty version")??;
    let minor = parts.next().transpose()?.unwrap_or(0);
    let patch = parts.next().transpose()?.unwrap_or(0);
    Ok((major, minor, patch))
}
