//! Directory entries and filesystem events, as envd reports them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use e2b_proto::filesystem as pb;

use super::FileType;

/// Everything known about a file or directory.
///
/// For a symlink, `file_type` and `mode` describe its target and
/// `symlink_target` is the resolved absolute target.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let info = sandbox.files().get_info("/etc/hosts").await?;
/// println!("{} {} bytes, {} {}:{}", info.permissions, info.size, info.name, info.owner, info.group);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// The base name.
    pub name: String,
    /// File, directory or symlink; `None` when envd could not tell.
    pub file_type: Option<FileType>,
    /// The absolute path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits, e.g. `0o644`.
    pub mode: u32,
    /// `ls`-style permissions, e.g. `-rw-r--r--`.
    pub permissions: String,
    /// The owning user's name.
    pub owner: String,
    /// The owning group's name.
    pub group: String,
    /// Last modification.
    pub modified_time: Option<DateTime<Utc>>,
    /// For a symlink, the absolute path it resolves to.
    pub symlink_target: Option<String>,
    /// User metadata, when the entry has any.
    pub metadata: Option<HashMap<String, String>>,
}

pub(crate) fn file_type(value: i32) -> Option<FileType> {
    match pb::FileType::try_from(value).ok()? {
        pb::FileType::File => Some(FileType::File),
        pb::FileType::Directory => Some(FileType::Dir),
        pb::FileType::Symlink => Some(FileType::Symlink),
        pb::FileType::Unspecified => None,
    }
}

impl EntryInfo {
    pub(crate) fn from_proto(entry: pb::EntryInfo) -> Self {
        EntryInfo {
            file_type: file_type(entry.r#type),
            name: entry.name,
            path: entry.path,
            size: u64::try_from(entry.size).unwrap_or(0),
            mode: entry.mode,
            permissions: entry.permissions,
            owner: entry.owner,
            group: entry.group,
            modified_time: entry
                .modified_time
                .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))),
            symlink_target: entry.symlink_target,
            metadata: Some(entry.metadata).filter(|m| !m.is_empty()),
        }
    }
}

/// What happened to a watched path.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::FilesystemEventType::Write.as_str(), "write");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilesystemEventType {
    /// Permissions changed.
    Chmod,
    /// Created.
    Create,
    /// Removed.
    Remove,
    /// Renamed (away from this name).
    Rename,
    /// Written to.
    Write,
}

impl FilesystemEventType {
    /// The official SDKs' name for it.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::FilesystemEventType::Chmod.as_str(), "chmod");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FilesystemEventType::Chmod => "chmod",
            FilesystemEventType::Create => "create",
            FilesystemEventType::Remove => "remove",
            FilesystemEventType::Rename => "rename",
            FilesystemEventType::Write => "write",
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::EventType::try_from(value).ok()? {
            pb::EventType::Create => Some(FilesystemEventType::Create),
            pb::EventType::Write => Some(FilesystemEventType::Write),
            pb::EventType::Remove => Some(FilesystemEventType::Remove),
            pb::EventType::Rename => Some(FilesystemEventType::Rename),
            pb::EventType::Chmod => Some(FilesystemEventType::Chmod),
            pb::EventType::Unspecified => None,
        }
    }
}

/// A change below a watched directory.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use futures::StreamExt as _;
///
/// let mut watch = sandbox.files().watch_dir("/home/user").recursive(true).await?;
/// while let Some(event) = watch.next().await {
///     let event = event?;
///     println!("{} {}", event.event_type.as_str(), event.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilesystemEvent {
    /// The path relative to the watched directory.
    pub name: String,
    /// What happened.
    pub event_type: FilesystemEventType,
    /// The entry, when asked for (`include_entry`) and it still exists.
    pub entry: Option<EntryInfo>,
}

impl FilesystemEvent {
    /// `None` for events of a kind this SDK does not know.
    pub(crate) fn from_proto(event: pb::FilesystemEvent) -> Option<Self> {
        Some(FilesystemEvent {
            event_type: FilesystemEventType::from_proto(event.r#type)?,
            name: event.name,
            entry: event.entry.map(EntryInfo::from_proto),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_field() {
        let entry = pb::EntryInfo {
            name: "a".into(),
            r#type: pb::FileType::Symlink as i32,
            path: "/x/a".into(),
            size: -1,
            mode: 0o755,
            permissions: "Lrwxrwxrwx".into(),
            owner: "user".into(),
            group: "user".into(),
            modified_time: Some(e2b_proto::well_known::Timestamp { seconds: 1_700_000_000, nanos: 5 }),
            symlink_target: Some("/x/b".into()),
            metadata: HashMap::from([("k".into(), "v".into())]),
        };
        let info = EntryInfo::from_proto(entry);
        assert_eq!(info.file_type, Some(FileType::Symlink));
        assert_eq!(info.size, 0);
        assert_eq!(info.modified_time.unwrap().timestamp_subsec_nanos(), 5);
        assert_eq!(info.metadata.unwrap()["k"], "v");
        assert_eq!(file_type(99), None);
        assert_eq!(file_type(0), None);
        assert!(
            FilesystemEvent::from_proto(pb::FilesystemEvent { name: "n".into(), r#type: 0, entry: None })
                .is_none()
        );
        let event =
            FilesystemEvent::from_proto(pb::FilesystemEvent { name: "n".into(), r#type: 2, entry: None })
                .unwrap();
        assert_eq!(event.event_type, FilesystemEventType::Write);
    }
}
