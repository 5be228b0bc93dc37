//! The `base` template recipe: Debian bookworm built with mmdebstrap.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::runtime::error::{Result, RuntimeError};

/// Bumped whenever the customisation below changes, so existing builds count as outdated.
const CUSTOMIZE_VERSION: u32 = 1;

/// Shell steps run on the finished root filesystem (`$1` is its path).
const CUSTOMIZE: &[&str] = &[
    // E2B's default user: uid 1000, home /home/user, passwordless sudo.
    r#"chroot "$1" useradd --create-home --shell /bin/bash --uid 1000 --user-group user"#,
    r#"chroot "$1" usermod -aG sudo user"#,
    r#"printf 'user ALL=(ALL:ALL) NOPASSWD: ALL\n' > "$1/etc/sudoers.d/user" && chmod 0440 "$1/etc/sudoers.d/user""#,
    // envd is bind-mounted here from the runtime's configuration at sandbox start.
    r#"mkdir -p "$1/usr/local/bin" && : > "$1/usr/local/bin/envd" && chmod 0755 "$1/usr/local/bin/envd""#,
    r#"rm -f "$1/etc/hostname" "$1/etc/resolv.conf""#,
];

/// How `base` is built: suite, mirror and packages for mmdebstrap. Changing any field (or
/// the runtime's customisation steps) changes [`hash`](Self::hash), and the next use
/// rebuilds the template.
///
/// ```
/// use e2b_local::runtime::BaseRecipe;
/// let recipe = BaseRecipe::default();
/// assert!(recipe.packages.iter().any(|p| p == "nodejs"));
/// let other = BaseRecipe { packages: vec!["python3".into()], ..BaseRecipe::default() };
/// assert_ne!(recipe.hash(), other.hash());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRecipe {
    /// Debian suite.
    pub suite: String,
    /// Debian mirror URL.
    pub mirror: String,
    /// Packages on top of `minbase`.
    pub packages: Vec<String>,
}

impl Default for BaseRecipe {
    fn default() -> Self {
        Self {
            suite: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
            packages: [
                "python3",
                "python3-pip",
                "python-is-python3",
                "git",
                "curl",
                "sudo",
                "procps",
                "ca-certificates",
                "nodejs",
                "npm",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl BaseRecipe {
    /// A hash of everything that determines the built root filesystem.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("customize v{CUSTOMIZE_VERSION}\n"));
        for step in CUSTOMIZE {
            h.update(step.as_bytes());
            h.update(b"\n");
        }
        h.update(format!("{}\n{}\n", self.suite, self.mirror));
        let mut packages = self.packages.clone();
        packages.sort();
        h.update(packages.join(","));
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Runs mmdebstrap into `rootfs`, reporting each progress line it prints.
    pub(crate) fn build(&self, rootfs: &Path, progress: &dyn Fn(String)) -> Result<()> {
        let err = |m: String| RuntimeError::template("base", "mmdebstrap", m);
        let mut cmd = Command::new("mmdebstrap");
        cmd.args(["--mode=root", "--variant=minbase", "--format=directory"])
            .arg(format!("--include={}", self.packages.join(",")));
        for step in CUSTOMIZE {
            cmd.arg(format!("--customize-hook={step}"));
        }
        cmd.arg(&self.suite)
            .arg(rootfs)
            .arg(&self.mirror)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| err(format!("cannot run mmdebstrap (apt-get install mmdebstrap): {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        let out_thread = std::thread::spawn(move || {
            BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<_>>()
        });
        let mut tail = Vec::new();
        for line in BufReader::new(child.stderr.take().expect("piped")).lines().map_while(|l| l.ok()) {
            let line = line.trim().to_string();
            if line.is_empty() {
                continue;
            }
            if let Some(info) = line.strip_prefix("I: ") {
                progress(info.to_string());
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        let status = child.wait().map_err(|e| err(e.to_string()))?;
        let _ = out_thread.join();
        if !status.success() {
            return Err(err(format!("exited with {status}: {}", tail.join(" | "))));
        }
        Ok(())
    }
}
