//! `EntryInfo` exactly as upstream envd builds it, and the directory helpers
//! shared with `/files`.

use std::fs::{self, DirBuilder, Metadata};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use e2b_proto::filesystem::{EntryInfo, FileType};
use e2b_proto::well_known::Timestamp;

use super::metadata;
use crate::users::OwnerNames;

/// The entry at `path`, from `lstat`: a symlink is described by its
/// target's type and permission bits, with the fully resolved target (or
/// the link itself when it cannot be resolved) in `symlink_target`.
pub(crate) fn entry_info(path: &Path, names: &mut OwnerNames) -> io::Result<EntryInfo> {
    let meta = fs::symlink_metadata(path)?;
    Ok(entry_from_metadata(path, path, &meta, names))
}

/// Like [`entry_info`] for an already `lstat`-ed entry, reported under
/// `shown` (ListDir shows the requested, unresolved path) while `real` is
/// where it lives.
pub(crate) fn entry_from_metadata(
    shown: &Path,
    real: &Path,
    meta: &Metadata,
    names: &mut OwnerNames,
) -> EntryInfo {
    let (kind, mode, symlink_target) = if meta.file_type().is_symlink() {
        let target = fs::canonicalize(real).unwrap_or_else(|_| shown.to_path_buf());
        match fs::metadata(&target) {
            Ok(target_meta) => (file_type(&target_meta), target_meta.mode() & 0o777, Some(target)),
            Err(_) => (FileType::Unspecified, 0, Some(target)),
        }
    } else {
        (file_type(meta), meta.mode() & 0o777, None)
    };
    EntryInfo {
        name: shown
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.to_string_lossy().into_owned()),
        r#type: kind as i32,
        path: shown.to_string_lossy().into_owned(),
        size: meta.size() as i64,
        mode,
        permissions: go_file_mode(meta.mode()),
        owner: names.user(meta.uid()),
        group: names.group(meta.gid()),
        modified_time: Some(modified(meta)),
        symlink_target: symlink_target.map(|t| t.to_string_lossy().into_owned()),
        metadata: metadata::read(real),
    }
}

fn modified(meta: &Metadata) -> Timestamp {
    let (secs, nanos) = (meta.mtime(), meta.mtime_nsec());
    if secs >= 0 {
        Timestamp::from(UNIX_EPOCH + Duration::new(secs as u64, nanos as u32))
    } else {
        Timestamp { seconds: secs, nanos: nanos as i32 }
    }
}

fn file_type(meta: &Metadata) -> FileType {
    if meta.is_file() {
        FileType::File
    } else if meta.is_dir() {
        FileType::Directory
    } else {
        FileType::Unspecified
    }
}

/// Go's `os.FileMode.String()` for a raw `st_mode`: type and special-bit
/// letters in Go's order (`dalTLDpSugct?`), or `-` when there are none,
/// then `rwx` triplets.
pub(crate) fn go_file_mode(st_mode: u32) -> String {
    let fmt = st_mode & libc::S_IFMT;
    let letters = [
        ('d', fmt == libc::S_IFDIR),
        ('L', fmt == libc::S_IFLNK),
        ('D', fmt == libc::S_IFBLK || fmt == libc::S_IFCHR),
        ('p', fmt == libc::S_IFIFO),
        ('S', fmt == libc::S_IFSOCK),
        ('u', st_mode & libc::S_ISUID != 0),
        ('g', st_mode & libc::S_ISGID != 0),
        ('c', fmt == libc::S_IFCHR),
        ('t', st_mode & libc::S_ISVTX != 0),
    ];
    let mut out: String = letters.iter().filter(|(_, set)| *set).map(|(c, _)| *c).collect();
    if out.is_empty() {
        out.push('-');
    }
    for shift in [6, 3, 0] {
        let bits = (st_mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

/// Why directories could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnsureDirsError {
    #[error("path '{0}' exists but is not a directory")]
    NotADirectory(PathBuf),
    #[error("error creating directory '{path}': {source}")]
    Create { path: PathBuf, source: io::Error },
}

impl EnsureDirsError {
    pub(crate) fn is_no_space(&self) -> bool {
        matches!(self, EnsureDirsError::Create { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
    }
}

/// Creates `dir` and its missing parents with mode 0755, each owned by
/// `uid`/`gid` (existing directories are left alone).
pub(crate) fn ensure_dirs(dir: &Path, uid: u32, gid: u32) -> Result<(), EnsureDirsError> {
    let mut missing = Vec::new();
    let mut current = dir;
    loop {
        match fs::metadata(current) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => return Err(EnsureDirsError::NotADirectory(current.to_path_buf())),
            Err(_) => {
                missing.push(current);
                match current.parent() {
                    Some(parent) => current = parent,
                    None => break,
                }
            }
        }
    }
    for path in missing.into_iter().rev() {
        match DirBuilder::new().mode(0o755).create(path) {
            Ok(()) => {
                // Best effort, as upstream: a filesystem that cannot chown
                // still gets its directories.
                let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(source) => {
                if source.raw_os_error() == Some(libc::ENOTDIR) {
                    return Err(EnsureDirsError::NotADirectory(path.to_path_buf()));
                }
                return Err(EnsureDirsError::Create { path: path.to_path_buf(), source });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mode_strings() {
        assert_eq!(go_file_mode(libc::S_IFREG | 0o644), "-rw-r--r--");
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), "Lrwxrwxrwx");
        assert_eq!(go_file_mode(libc::S_IFDIR | libc::S_ISVTX | 0o777), "dtrwxrwxrwx");
        assert_eq!(go_file_mode(libc::S_IFREG | libc::S_ISUID | 0o755), "urwxr-xr-x");
        assert_eq!(go_file_mode(libc::S_IFCHR | 0o666), "Dcrw-rw-rw-");
        assert_eq!(go_file_mode(libc::S_IFBLK | 0o660), "Drw-rw----");
        assert_eq!(go_file_mode(libc::S_IFIFO | 0o600), "prw-------");
        assert_eq!(go_file_mode(libc::S_IFSOCK | 0o755), "Srwxr-xr-x");
    }

    #[test]
    fn ensure_dirs_creates_parents_and_refuses_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c");
        ensure_dirs(&target, 0, 0).unwrap();
        assert!(target.is_dir());
        ensure_dirs(&target, 0, 0).unwrap();
        fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(matches!(
            ensure_dirs(&dir.path().join("file/sub"), 0, 0),
            Err(EnsureDirsError::NotADirectory(_))
        ));
    }
}
