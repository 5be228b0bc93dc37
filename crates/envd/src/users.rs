//! System users: who a request acts as, and names for uids and gids.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use nix::unistd::{Gid, Group, Uid, User};

/// A user from the system's user database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SystemUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: PathBuf,
    pub(crate) shell: PathBuf,
}

/// Why a request's user could not be determined.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UserError {
    #[error("invalid username: '{0}'")]
    Unknown(String),
    #[error("error looking up user '{name}': {source}")]
    Lookup { name: String, source: nix::Error },
    #[error("no user specified and no default user is set")]
    NoUser,
    #[error("invalid authorization header: {0}")]
    BadHeader(&'static str),
}

impl SystemUser {
    /// Looks `name` up in the user database (no caching: tests and templates
    /// add users at run time).
    pub(crate) fn lookup(name: &str) -> Result<Self, UserError> {
        if name.contains('\0') {
            return Err(UserError::Unknown(name.to_owned()));
        }
        match User::from_name(name) {
            Ok(Some(user)) => Ok(SystemUser {
                name: user.name,
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
                home: user.dir,
                shell: user.shell,
            }),
            Ok(None) => Err(UserError::Unknown(name.to_owned())),
            Err(source) => Err(UserError::Lookup { name: name.to_owned(), source }),
        }
    }

    /// Primary and supplementary group ids, as `initgroups` would set them.
    pub(crate) fn groups(&self) -> Vec<u32> {
        let mut groups = CString::new(self.name.as_str())
            .ok()
            .and_then(|name| nix::unistd::getgrouplist(&name, Gid::from_raw(self.gid)).ok())
            .map(|gids| gids.into_iter().map(Gid::as_raw).collect::<Vec<_>>())
            .unwrap_or_default();
        if !groups.contains(&self.gid) {
            groups.insert(0, self.gid);
        }
        groups
    }
}

/// The user named by an `Authorization: Basic base64("<name>:<ignored>")`
/// header; `None` when the name is empty.
pub(crate) fn basic_auth_username(header: &[u8]) -> Result<Option<String>, UserError> {
    let header = std::str::from_utf8(header).map_err(|_| UserError::BadHeader("not UTF-8"))?;
    let (scheme, credentials) =
        header.trim().split_once(' ').ok_or(UserError::BadHeader("expected 'Basic <credentials>'"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(UserError::BadHeader("only the Basic scheme is supported"));
    }
    let credentials = credentials.trim();
    let decoded = STANDARD
        .decode(credentials)
        .or_else(|_| STANDARD_NO_PAD.decode(credentials))
        .map_err(|_| UserError::BadHeader("credentials are not base64"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| UserError::BadHeader("credentials are not UTF-8"))?;
    let (name, _password) = decoded.split_once(':').ok_or(UserError::BadHeader("credentials lack ':'"))?;
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// Resolves uids and gids to names, falling back to the numbers, and
/// remembers answers for the lifetime of one request (a directory listing
/// asks for the same few owners over and over).
#[derive(Debug, Default)]
pub(crate) struct OwnerNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl OwnerNames {
    pub(crate) fn user(&mut self, uid: u32) -> String {
        self.users
            .entry(uid)
            .or_insert_with(|| match User::from_uid(Uid::from_raw(uid)) {
                Ok(Some(user)) => user.name,
                _ => uid.to_string(),
            })
            .clone()
    }

    pub(crate) fn group(&mut self, gid: u32) -> String {
        self.groups
            .entry(gid)
            .or_insert_with(|| match Group::from_gid(Gid::from_raw(gid)) {
                Ok(Some(group)) => group.name,
                _ => gid.to_string(),
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_names() {
        assert_eq!(basic_auth_username(b"Basic dXNlcjo=").unwrap().as_deref(), Some("user"));
        assert_eq!(basic_auth_username(b"basic cm9vdDo=").unwrap().as_deref(), Some("root"));
        assert_eq!(basic_auth_username(b"Basic cm9vdDpwdw").unwrap().as_deref(), Some("root"));
        assert_eq!(basic_auth_username(b"Basic Og==").unwrap(), None);
        assert!(basic_auth_username(b"Bearer abc").is_err());
        assert!(basic_auth_username(b"Basic !!!").is_err());
        assert!(basic_auth_username(b"Basic dXNlcg==").is_err(), "no colon");
    }

    #[test]
    fn root_is_known() {
        let root = SystemUser::lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups().contains(&0));
        assert!(matches!(SystemUser::lookup("no-such-user-envd"), Err(UserError::Unknown(_))));
        let mut names = OwnerNames::default();
        assert_eq!(names.user(0), "root");
        assert_eq!(names.user(4_000_000_000), "4000000000");
    }
}
