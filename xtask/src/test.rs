//! `cargo xtask test`: the whole test suite, as README and CI run it.

use anyhow::{Result, bail};
use std::process::Command;

pub(crate) fn run(extra: &[String]) -> Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(["test", "--workspace", "--locked"])
        .args(extra)
        .current_dir(crate::workspace_root())
        .status()?;
    if !status.success() {
        bail!("tests failed ({status})");
    }
    Ok(())
}
