//! The local E2B-compatible server: everything E2B's cloud does for an SDK, on one Linux
//! machine, without KVM or Docker.
//!
//! * [`runtime`]: creates, pauses, snapshots and destroys real isolated sandboxes
//!   (namespaces, cgroups, overlayfs, nftables, seccomp), each running envd.
//! * [`server`]: the control-plane REST API and the envd router on top of it, with
//!   lifetimes and state in SQLite; what `E2B_API_URL` and `E2B_SANDBOX_URL` point at.
//! * [`cli`]: the `e2b-local serve` command line (also used by the `e2b` CLI).
//! * `testkit` (feature `testkit`): a process-wide server for other crates' tests.

#![warn(missing_docs)]

pub mod cli;
pub mod runtime;
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::path::PathBuf;

/// The envd binary sandboxes run: `E2B_LOCAL_ENVD` if set, else an `envd` next to the
/// current executable, else the current executable itself (the `e2b-local` and `e2b`
/// binaries are multi-call: started as `envd`, they run envd).
///
/// ```no_run
/// let envd = e2b_local::envd_binary()?;
/// println!("sandboxes run {}", envd.display());
/// # Ok::<(), e2b_local::server::ServerError>(())
/// ```
pub fn envd_binary() -> Result<PathBuf, server::ServerError> {
    if let Some(path) = std::env::var_os("E2B_LOCAL_ENVD") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()
        .map_err(|e| server::ServerError::Config(format!("cannot find the current executable: {e}")))?;
    let sibling = exe.with_file_name("envd");
    Ok(if sibling.is_file() { sibling } else { exe })
}

/// Whether this process was started under the name `envd` (multi-call binaries then run
/// [`envd::cli::main`] instead of themselves).
///
/// ```no_run
/// if e2b_local::started_as_envd() {
///     std::process::exit(if envd::cli::main() == std::process::ExitCode::SUCCESS { 0 } else { 1 });
/// }
/// ```
pub fn started_as_envd() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "envd"))
        .unwrap_or(false)
}
