//! Templates: read-only root filesystems sandboxes start from.
//!
//! Layout under the templates directory: `<name>/<version>/rootfs` plus `<name>/current.json`
//! naming the version in use. Versions are never changed in place, so running sandboxes and
//! snapshots keep the layers they were built on while a template is rebuilt or re-imported.

mod base;

pub use base::BaseRecipe;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::error::{Result, RuntimeError};
use super::types::Resources;

/// Name of the template built from Debian packages on first use.
pub const BASE_TEMPLATE: &str = "base";

/// Progress of building or importing a template, for a CLI to render.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TemplateProgress {
    /// The template is already built and current.
    Cached {
        /// Template name.
        name: String,
    },
    /// A build started (first use, or its recipe changed).
    Started {
        /// Template name.
        name: String,
        /// Why it is being built.
        reason: String,
    },
    /// One line of progress from the builder (e.g. mmdebstrap's "downloading packages").
    Step {
        /// Template name.
        name: String,
        /// What the builder reports.
        message: String,
    },
    /// The build finished.
    Finished {
        /// Template name.
        name: String,
        /// How long it took.
        seconds: f64,
    },
}

/// A template as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// Its name.
    pub name: String,
    /// Version directory in use.
    pub version: String,
    /// Recipe hash for built templates; `None` for imported ones.
    pub recipe_hash: Option<String>,
    /// When this version was made.
    pub created_at: SystemTime,
    /// Default limits of sandboxes from it.
    pub resources: Resources,
    /// Where its root filesystem lives.
    pub rootfs: PathBuf,
}

/// Stores templates on disk and builds `base`.
#[derive(Debug, Clone)]
pub(crate) struct TemplateStore {
    dir: PathBuf,
    recipe: BaseRecipe,
    default_resources: Resources,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl TemplateStore {
    pub(crate) fn new(dir: PathBuf, recipe: BaseRecipe, default_resources: Resources) -> Self {
        Self { dir, recipe, default_resources }
    }

    fn check_name(name: &str) -> Result<()> {
        if valid_name(name) {
            Ok(())
        } else {
            Err(RuntimeError::InvalidSpec(format!(
                "template name {name:?} must be 1..=64 characters of [A-Za-z0-9_.-]"
            )))
        }
    }

    fn current_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("current.json")
    }

    /// The stored template, if any.
    pub(crate) fn get(&self, name: &str) -> Result<Option<TemplateInfo>> {
        Self::check_name(name)?;
        let path = self.current_path(name);
        match fs::read(&path) {
            Ok(bytes) => {
                let info: TemplateInfo = serde_json::from_slice(&bytes).map_err(|e| {
                    RuntimeError::template(name, "record", format!("{}: {e}", path.display()))
                })?;
                Ok(Some(info))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RuntimeError::path("reading", &path, e)),
        }
    }

    /// All stored templates.
    pub(crate) fn list(&self) -> Result<Vec<TemplateInfo>> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if valid_name(&name)
                && let Some(info) = self.get(&name)?
            {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The template to start a sandbox from; builds `base` when missing or outdated.
    pub(crate) fn resolve(
        &self,
        name: &str,
        progress: &(dyn Fn(TemplateProgress) + Send + Sync),
    ) -> Result<TemplateInfo> {
        if name == BASE_TEMPLATE {
            return self.ensure_base(progress);
        }
        self.get(name)?.ok_or_else(|| RuntimeError::TemplateNotFound(name.to_string()))
    }

    /// Takes an exclusive lock on one template (builds/imports of it are serialised, also
    /// across processes sharing the directory).
    fn lock(&self, name: &str) -> Result<fs::File> {
        fs::create_dir_all(&self.dir).at("creating", &self.dir)?;
        let path = self.dir.join(format!(".{name}.lock"));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at("opening", &path)?;
        // SAFETY: flock on an fd we own; released when the file is closed.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) } < 0 {
            return Err(RuntimeError::path("locking", &path, io::Error::last_os_error()));
        }
        Ok(file)
    }

    /// Builds `base` unless the stored one was built from the current recipe.
    pub(crate) fn ensure_base(
        &self,
        progress: &(dyn Fn(TemplateProgress) + Send + Sync),
    ) -> Result<TemplateInfo> {
        let name = BASE_TEMPLATE;
        let hash = self.recipe.hash();
        let current = |s: &Self| -> Result<Option<TemplateInfo>> {
            Ok(s.get(name)?.filter(|i| i.recipe_hash.as_deref() == Some(hash.as_str()) && i.rootfs.is_dir()))
        };
        if let Some(info) = current(self)? {
            progress(TemplateProgress::Cached { name: name.into() });
            return Ok(info);
        }
        let _lock = self.lock(name)?;
        // Someone else may have built it while we waited for the lock.
        if let Some(info) = current(self)? {
            progress(TemplateProgress::Cached { name: name.into() });
            return Ok(info);
        }
        let reason = match self.get(name)? {
            None => "first use".to_string(),
            Some(_) => "its recipe changed".to_string(),
        };
        progress(TemplateProgress::Started { name: name.into(), reason });
        let started = std::time::Instant::now();
        let version = format!("{}-{}", &hash[..12], unix_now());
        let staging = self.dir.join(name).join(format!(".{version}.partial"));
        let rootfs = staging.join("rootfs");
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).at("creating", &staging)?;
        let built = self
            .recipe
            .build(&rootfs, &|message| progress(TemplateProgress::Step { name: name.into(), message }));
        if let Err(e) = built {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        let info = self.commit(name, &version, &staging, Some(hash))?;
        progress(TemplateProgress::Finished { name: name.into(), seconds: started.elapsed().as_secs_f64() });
        Ok(info)
    }

    /// Moves a finished staging directory into place and records it as current.
    fn commit(
        &self,
        name: &str,
        version: &str,
        staging: &Path,
        recipe_hash: Option<String>,
    ) -> Result<TemplateInfo> {
        prepare_rootfs(&staging.join("rootfs")).map_err(|e| {
            let _ = fs::remove_dir_all(staging);
            RuntimeError::template(name, "prepare", e.to_string())
        })?;
        let final_dir = self.dir.join(name).join(version);
        fs::rename(staging, &final_dir).at("renaming", &final_dir)?;
        let info = TemplateInfo {
            name: name.to_string(),
            version: version.to_string(),
            recipe_hash,
            created_at: SystemTime::now(),
            resources: self.default_resources,
            rootfs: final_dir.join("rootfs"),
        };
        let path = self.current_path(name);
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(&info).expect("serialisable")).at("writing", &tmp)?;
        fs::rename(&tmp, &path).at("renaming", &path)?;
        Ok(info)
    }

    /// Registers a template from a local root filesystem directory (copied).
    pub(crate) fn import_dir(&self, name: &str, source: &Path) -> Result<TemplateInfo> {
        if !source.is_dir() {
            return Err(RuntimeError::template(
                name,
                "import",
                format!("{} is not a directory", source.display()),
            ));
        }
        self.import(name, |rootfs| {
            let mut cmd = Command::new("cp");
            cmd.args(["-a", "--reflink=auto"]).arg(source).arg(rootfs);
            cmd
        })
    }

    /// Registers a template from a tarball of a root filesystem (any compression GNU tar
    /// detects).
    pub(crate) fn import_tarball(&self, name: &str, tarball: &Path) -> Result<TemplateInfo> {
        if !tarball.is_file() {
            return Err(RuntimeError::template(
                name,
                "import",
                format!("{} is not a file", tarball.display()),
            ));
        }
        self.import(name, |rootfs| {
            // tar extracts into an existing directory.
            let _ = fs::create_dir_all(rootfs);
            let mut cmd = Command::new("tar");
            cmd.args(["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf"])
                .arg(tarball)
                .arg("-C")
                .arg(rootfs);
            cmd
        })
    }

    /// Runs `fill` (a command producing the rootfs) into a staging directory, then commits
    /// it as the template's new current version; nothing is left behind on failure.
    fn import(&self, name: &str, fill: impl FnOnce(&Path) -> Command) -> Result<TemplateInfo> {
        Self::check_name(name)?;
        let _lock = self.lock(name)?;
        let version = format!("import-{}", unix_now_nanos());
        let staging = self.dir.join(name).join(format!(".{version}.partial"));
        fs::create_dir_all(&staging).at("creating", &staging)?;
        let rootfs = staging.join("rootfs");
        let out = fill(&rootfs).output();
        let failure = match out {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = failure {
            let _ = fs::remove_dir_all(&staging);
            let _ = fs::remove_dir(self.dir.join(name));
            return Err(RuntimeError::template(name, "import", message));
        }
        self.commit(name, &version, &staging, None)
    }

    /// Forgets a template. Its files stay: running sandboxes and snapshots may use them.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        Self::check_name(name)?;
        let _lock = self.lock(name)?;
        let path = self.current_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(RuntimeError::TemplateNotFound(name.to_string()))
            }
            Err(e) => Err(RuntimeError::path("removing", &path, e)),
        }
    }

    /// Deletes leftovers of interrupted builds and imports (`.partial` directories). Old
    /// versions are kept: sandboxes and snapshots (possibly of other runtimes sharing this
    /// directory) may be built on them.
    pub(crate) fn remove_abandoned_builds(&self) {
        let Ok(names) = fs::read_dir(&self.dir) else {
            return;
        };
        for n in names.flatten() {
            let name = n.file_name().to_string_lossy().into_owned();
            if !valid_name(&name) || !n.path().is_dir() {
                continue;
            }
            // A build in progress holds this lock, so what we find under it is abandoned.
            let Ok(lock) = self.lock(&name) else { continue };
            if let Ok(versions) = fs::read_dir(n.path()) {
                for v in versions.flatten() {
                    if v.file_name().to_string_lossy().ends_with(".partial") {
                        tracing::info!(path = %v.path().display(), "removing an interrupted template build");
                        let _ = fs::remove_dir_all(v.path());
                    }
                }
            }
            drop(lock);
        }
    }
}

/// Makes a root filesystem usable as a sandbox root: mount points and envd's bind target.
fn prepare_rootfs(rootfs: &Path) -> io::Result<()> {
    for dir in ["proc", "dev", "sys", "tmp", "usr/local/bin", "etc", "root"] {
        fs::create_dir_all(rootfs.join(dir))?;
    }
    let envd = rootfs.join("usr/local/bin/envd");
    if !envd.exists() {
        fs::write(&envd, b"")?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&envd, fs::Permissions::from_mode(0o755))?;
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn unix_now_nanos() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

use super::error::IoContext;
