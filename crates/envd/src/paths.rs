//! Path resolution shared by every RPC and `/files`: `~` expansion, paths
//! relative to the user's home, and lexical cleaning.

use std::path::{Component, Path, PathBuf};

/// A path that cannot be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PathError {
    #[error("path '{0}' refers to another user's home directory, which is not supported")]
    OtherUsersHome(String),
    #[error("path contains a NUL byte")]
    Nul,
}

/// Resolves `path` for a user whose home is `home`:
/// empty → `workdir` (else `home`); `~` and `~/x` → inside `home`;
/// absolute → as is; anything else → relative to `home` (not the workdir).
/// The result is absolute and lexically cleaned (`.`, `..`, `//` removed);
/// symlinks are not resolved.
pub(crate) fn resolve(path: &str, home: &Path, workdir: Option<&Path>) -> Result<PathBuf, PathError> {
    if path.contains('\0') {
        return Err(PathError::Nul);
    }
    let joined = if path.is_empty() {
        workdir.unwrap_or(home).to_path_buf()
    } else if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else if path.starts_with('~') {
        return Err(PathError::OtherUsersHome(path.to_owned()));
    } else {
        // `join` keeps an absolute `path` as it is.
        home.join(path)
    };
    Ok(clean(&joined))
}

/// Lexical cleaning of an absolute path (Go's `filepath.Clean`): `..` at
/// the root stays at the root.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str, workdir: Option<&str>) -> Result<PathBuf, PathError> {
        resolve(path, Path::new("/home/user"), workdir.map(Path::new))
    }

    #[test]
    fn resolution_rules() {
        assert_eq!(r("", None).unwrap(), Path::new("/home/user"));
        assert_eq!(r("", Some("/work")).unwrap(), Path::new("/work"));
        assert_eq!(r("a.txt", Some("/work")).unwrap(), Path::new("/home/user/a.txt"), "relative to home");
        assert_eq!(r("~", None).unwrap(), Path::new("/home/user"));
        assert_eq!(r("~/x/../y", None).unwrap(), Path::new("/home/user/y"));
        assert_eq!(r("/etc//./passwd", None).unwrap(), Path::new("/etc/passwd"));
        assert_eq!(r("../../../../etc", None).unwrap(), Path::new("/etc"));
        assert_eq!(r("/..", None).unwrap(), Path::new("/"));
        assert_eq!(r("x/", None).unwrap(), Path::new("/home/user/x"));
        assert!(matches!(r("~root/x", None), Err(PathError::OtherUsersHome(_))));
        assert_eq!(r("a\0b", None), Err(PathError::Nul));
    }
}
