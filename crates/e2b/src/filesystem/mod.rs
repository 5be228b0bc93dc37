//! [`Filesystem`]: files inside a sandbox.
//!
//! Reading and writing go over envd's HTTP `/files` endpoint and stream in
//! both directions; listing, stat, remove, rename, make-dir and watching are
//! envd's `filesystem.Filesystem` RPCs.
//!
//! ```no_run
//! # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
//! let files = sandbox.files();
//! files.write("/home/user/notes.txt", "hello").await?;
//! for entry in files.list("/home/user").await? {
//!     println!("{} {}", entry.name, entry.size);
//! }
//! # Ok(()) }
//! ```

mod entry;
mod gzip;
mod ops;
mod read;
mod watch;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

pub use entry::{EntryInfo, FilesystemEvent, FilesystemEventType};
pub use ops::{ExistsRequest, GetInfoRequest, ListRequest, MakeDirRequest, RemoveRequest, RenameRequest};
pub use read::{DEFAULT_IDLE_TIMEOUT, FileStream, ReadRequest};
pub use watch::{DEFAULT_WATCH_TIMEOUT, WatchDirRequest, WatchHandle, WatchStopper};
pub use write::{WriteData, WriteEntry, WriteFilesRequest, WriteRequest};

use crate::sandbox::SandboxInner;

/// The kind of a filesystem entry.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::FileType::Dir.as_str(), "dir");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
}

impl FileType {
    /// The name used on the wire and by the official SDKs.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::FileType::File.as_str(), "file");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Symlink => "symlink",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "file" => Some(FileType::File),
            "dir" | "directory" => Some(FileType::Dir),
            "symlink" => Some(FileType::Symlink),
            _ => None,
        }
    }
}

/// A file that was written.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let info = sandbox.files().write("notes/today.md", "# Today").await?;
/// assert_eq!(info.name, "today.md");
/// println!("written to {}", info.path);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteInfo {
    /// The file's base name.
    pub name: String,
    /// The entry type (always a file for writes), when envd names a known one.
    pub file_type: Option<FileType>,
    /// The absolute path written.
    pub path: String,
    /// The file's user metadata, when it has any.
    pub metadata: Option<HashMap<String, String>>,
}

/// The wire form of a write result.
#[derive(Deserialize)]
struct WireWriteInfo {
    name: String,
    #[serde(rename = "type", default)]
    file_type: Option<String>,
    path: String,
    #[serde(default)]
    metadata: Option<HashMap<String, String>>,
}

impl From<WireWriteInfo> for WriteInfo {
    fn from(wire: WireWriteInfo) -> Self {
        WriteInfo {
            name: wire.name,
            file_type: wire.file_type.as_deref().and_then(FileType::parse),
            path: wire.path,
            metadata: wire.metadata.filter(|m| !m.is_empty()),
        }
    }
}

/// The filesystem of a sandbox; from [`Sandbox::files`](crate::Sandbox::files).
/// Cheap to clone.
///
/// Every call takes the user to act as (default: the sandbox's default
/// user) and a request timeout.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let files = sandbox.files();
/// files.write("/home/user/data.csv", "a,b\n1,2\n").await?;
/// let csv = files.read("/home/user/data.csv").text().await?;
/// assert!(csv.starts_with("a,b"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Filesystem {
    sandbox: Arc<SandboxInner>,
}

impl std::fmt::Debug for Filesystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filesystem").field("sandbox_id", &self.sandbox.id).finish()
    }
}

impl Filesystem {
    pub(crate) fn new(sandbox: Arc<SandboxInner>) -> Self {
        Self { sandbox }
    }

    /// Reads a file: finish with [`text`](ReadRequest::text),
    /// [`bytes`](ReadRequest::bytes) or [`stream`](ReadRequest::stream).
    /// A missing file is [`Error::FileNotFound`](crate::Error::FileNotFound).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let hosts = sandbox.files().read("/etc/hosts").text().await?;
    /// let key = sandbox.files().read("/root/.ssh/id_ed25519").user("root").bytes().await?;
    /// # let _ = (hosts, key); Ok(()) }
    /// ```
    pub fn read(&self, path: impl Into<String>) -> ReadRequest {
        ReadRequest::new(self.clone(), path.into())
    }

    /// Writes a file, creating missing parent directories and replacing
    /// what was there. `data` may be text, bytes, a local file
    /// ([`WriteData::file`]) or any `AsyncRead` ([`WriteData::reader`]);
    /// files and readers are streamed, never buffered whole.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use e2b::WriteData;
    ///
    /// sandbox.files().write("/home/user/a.txt", "hello").await?;
    /// sandbox.files().write("/home/user/big.bin", WriteData::file("./big.bin")).gzip(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn write(&self, path: impl Into<String>, data: impl Into<WriteData>) -> WriteRequest {
        WriteRequest::new(self.clone(), WriteEntry::new(path, data))
    }

    /// Writes several files at once. An empty batch sends nothing.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use e2b::WriteEntry;
    ///
    /// let written = sandbox
    ///     .files()
    ///     .write_files([WriteEntry::new("src/main.py", "print(1)"), WriteEntry::new("README", "hi")])
    ///     .await?;
    /// assert_eq!(written.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn write_files(&self, entries: impl IntoIterator<Item = WriteEntry>) -> WriteFilesRequest {
        WriteFilesRequest::new(self.clone(), entries.into_iter().collect())
    }

    /// The entries of a directory (one level unless
    /// [`depth`](ListRequest::depth) says more). A missing directory is
    /// [`Error::FileNotFound`](crate::Error::FileNotFound).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// for entry in sandbox.files().list("/home/user").await? {
    ///     println!("{:?} {}", entry.file_type, entry.path);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, path: impl Into<String>) -> ListRequest {
        ListRequest::new(self.clone(), path.into())
    }

    /// Whether a file or directory exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// if !sandbox.files().exists("/home/user/.bashrc").await? {
    ///     println!("no bashrc");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exists(&self, path: impl Into<String>) -> ExistsRequest {
        ExistsRequest::new(self.clone(), path.into())
    }

    /// Information about a file or directory.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let info = sandbox.files().get_info("/home/user").await?;
    /// println!("{:o}", info.mode);
    /// # Ok(()) }
    /// ```
    pub fn get_info(&self, path: impl Into<String>) -> GetInfoRequest {
        GetInfoRequest::new(self.clone(), path.into())
    }

    /// Removes a file or a directory with everything in it. Removing
    /// nothing is not an error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.files().remove("/home/user/build").await?;
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, path: impl Into<String>) -> RemoveRequest {
        RemoveRequest::new(self.clone(), path.into())
    }

    /// Renames or moves a file or directory (creating missing parents of the
    /// destination, replacing an existing file); returns the destination.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let moved = sandbox.files().rename("/tmp/out.csv", "/home/user/results/out.csv").await?;
    /// println!("{}", moved.path);
    /// # Ok(()) }
    /// ```
    pub fn rename(&self, from: impl Into<String>, to: impl Into<String>) -> RenameRequest {
        RenameRequest::new(self.clone(), from.into(), to.into())
    }

    /// Creates a directory and its missing parents; `false` if it existed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.files().make_dir("/home/user/a/b/c").await?;
    /// # Ok(()) }
    /// ```
    pub fn make_dir(&self, path: impl Into<String>) -> MakeDirRequest {
        MakeDirRequest::new(self.clone(), path.into())
    }

    /// Watches a directory for changes; see [`WatchDirRequest`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/home/user").recursive(true).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn watch_dir(&self, path: impl Into<String>) -> WatchDirRequest {
        WatchDirRequest::new(self.clone(), path.into())
    }
}
