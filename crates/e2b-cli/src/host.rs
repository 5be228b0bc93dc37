//! What a machine needs to run local sandboxes, and getting it there.
//!
//! Local sandboxes need root (namespaces, cgroups, nftables) and three Debian tools:
//! `mmdebstrap` builds the `base` template, `nft` isolates sandbox networks, `mkfs.ext4`
//! makes each sandbox's size-limited disk. When they are missing and apt-get is there,
//! they are installed (said on stderr first), so that a fresh machine needs no manual step;
//! `E2B_LOCAL_NO_INSTALL=1` turns that off.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{CliError, Result};

/// Tool, and the Debian package that has it.
const TOOLS: [(&str, &str); 3] =
    [("mmdebstrap", "mmdebstrap"), ("nft", "nftables"), ("mkfs.ext4", "e2fsprogs")];

const BIN_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Checks (and if needed installs) what local sandboxes need.
pub(crate) fn ensure_ready() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(CliError::Host(
            "local sandboxes need root (namespaces, cgroups and nftables); run e2b as root, or point \
             it at a server with E2B_API_URL / E2B_API_KEY"
                .into(),
        ));
    }
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install {}", missing.join(" "));
    let may_install = std::env::var("E2B_LOCAL_NO_INSTALL").map_or(true, |v| v.is_empty() || v == "0");
    if !may_install || !on_path("apt-get") {
        return Err(CliError::Host(format!("missing {}; install them with `{command}`", missing.join(", "))));
    }
    eprintln!("e2b: installing {} (needed for local sandboxes) with apt-get", missing.join(", "));
    apt_get(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing.iter().map(String::as_str));
    apt_get(&install)?;
    let still = missing_packages();
    if !still.is_empty() {
        return Err(CliError::Host(format!("`{command}` did not provide {}", still.join(", "))));
    }
    Ok(())
}

fn missing_packages() -> Vec<String> {
    TOOLS.iter().filter(|(tool, _)| !on_path(tool)).map(|(_, package)| package.to_string()).collect()
}

fn on_path(tool: &str) -> bool {
    BIN_DIRS.iter().any(|dir| Path::new(dir).join(tool).is_file())
}

fn apt_get(args: &[&str]) -> Result<()> {
    // apt's progress goes to stderr, so that stdout stays the command's own output.
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| CliError::Host(format!("running apt-get: {e}")))?;
    if !status.success() {
        return Err(CliError::Host(format!("`apt-get {}` failed ({status})", args.join(" "))));
    }
    Ok(())
}
