//! Real peers for interop tests: the official E2B Python SDK (PyPI) and npm
//! packages (the official JS SDK, connect-node), installed on first use into
//! the git-ignored `.interop/` folder of the workspace.
//!
//! Installation is idempotent and guarded by a file lock, so concurrently
//! running test binaries install once. Versions are pinned here; a marker
//! file records what was installed, and a change of pins reinstalls.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::reference::workspace_root;

/// The official E2B Python SDK version every interop test uses.
pub const PYTHON_E2B: &str = "e2b==2.45.1";

/// The git-ignored folder that holds interop peers.
pub fn interop_dir() -> PathBuf {
    workspace_root().join(".interop")
}

fn with_lock<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let dir = interop_dir();
    std::fs::create_dir_all(&dir)?;
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(".lock"))?;
    let mut lock = fd_lock::RwLock::new(file);
    let _guard = lock.write().context("locking .interop/.lock")?;
    f()
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Installs `requirements` into a virtualenv named `name` (once) and returns
/// the path of its `python` executable.
pub fn python_venv(name: &str, requirements: &[&str]) -> Result<PathBuf> {
    with_lock(|| {
        let venv = interop_dir().join(name);
        let python = venv.join("bin/python");
        let marker = venv.join(".installed");
        let want = requirements.join("\n");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) && python.exists() {
            return Ok(python);
        }
        let _ = std::fs::remove_dir_all(&venv);
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(requirements))?;
        std::fs::write(&marker, &want)?;
        Ok(python)
    })
}

/// The official E2B Python SDK, pinned to [`PYTHON_E2B`]: returns the venv's
/// `python`.
pub fn python_e2b() -> Result<PathBuf> {
    python_venv("venv-e2b", &[PYTHON_E2B])
}

/// Installs npm `packages` (exact versions, e.g. `"e2b@2.3.4"`) into
/// `.interop/<name>` (once) and returns that folder (it holds `node_modules`).
pub fn node_packages(name: &str, packages: &[&str]) -> Result<PathBuf> {
    with_lock(|| {
        let dir = interop_dir().join(name);
        let marker = dir.join(".installed");
        let want = packages.join("\n");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) {
            return Ok(dir);
        }
        std::fs::create_dir_all(&dir)?;
        if !dir.join("package.json").exists() {
            std::fs::write(dir.join("package.json"), format!("{{\"name\":\"{name}\",\"private\":true}}\n"))?;
        }
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error"])
            .args(packages)
            .current_dir(&dir))?;
        std::fs::write(&marker, &want)?;
        Ok(dir)
    })
}

/// Runs a Python script with the given interpreter, failing with its output
/// when it exits non-zero. Returns stdout.
pub fn run_python(python: &Path, script: &str, envs: &[(&str, &str)]) -> Result<String> {
    let out = Command::new(python)
        .args(["-c", script])
        .envs(envs.iter().copied())
        .output()
        .context("running python")?;
    ensure!(
        out.status.success(),
        "python script failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}
