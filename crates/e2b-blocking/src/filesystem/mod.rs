//! [`Filesystem`]: files inside a sandbox.
//!
//! Reading and writing stream in both directions: reads as an iterator of
//! chunks or a [`std::io::Read`], writes from memory, a local file or any
//! [`std::io::Read`].
//!
//! ```no_run
//! # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), Box<dyn std::error::Error>> {
//! let local = std::fs::File::open("data.csv")?;
//! sandbox.files().write("/home/user/data.csv", e2b_blocking::WriteData::reader(local)).send()?;
//! let mut copy = std::fs::File::create("copy.csv")?;
//! std::io::copy(&mut sandbox.files().read("/home/user/data.csv").stream()?, &mut copy)?;
//! # Ok(()) }
//! ```

mod ops;
mod read;
mod watch;
mod write;

pub use e2b::filesystem::{DEFAULT_IDLE_TIMEOUT, DEFAULT_WATCH_TIMEOUT};
pub use e2b::{EntryInfo, FileType, FilesystemEvent, FilesystemEventType, WriteInfo};
pub use ops::{ExistsRequest, GetInfoRequest, ListRequest, MakeDirRequest, RemoveRequest, RenameRequest};
pub use read::{FileStream, ReadRequest};
pub use watch::{WatchDirRequest, WatchHandle};
pub use write::{WriteData, WriteEntry, WriteFilesRequest, WriteRequest};

/// The filesystem of a sandbox; from [`Sandbox::files`](crate::Sandbox::files).
/// Cheap to clone.
///
/// Every call takes the user to act as (default: the sandbox's default
/// user) and a request timeout.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let files = sandbox.files();
/// files.write("/home/user/data.csv", "a,b\n1,2\n").send()?;
/// let csv = files.read("/home/user/data.csv").text()?;
/// assert!(csv.starts_with("a,b"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Filesystem {
    inner: e2b::Filesystem,
}

impl From<e2b::Filesystem> for Filesystem {
    fn from(inner: e2b::Filesystem) -> Self {
        Self { inner }
    }
}

impl Filesystem {
    /// Reads a file: finish with [`text`](ReadRequest::text),
    /// [`bytes`](ReadRequest::bytes) or [`stream`](ReadRequest::stream).
    /// A missing file is [`Error::FileNotFound`](crate::Error::FileNotFound).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let hosts = sandbox.files().read("/etc/hosts").text()?;
    /// let key = sandbox.files().read("/root/.ssh/id_ed25519").user("root").bytes()?;
    /// # let _ = (hosts, key); Ok(()) }
    /// ```
    pub fn read(&self, path: impl Into<String>) -> ReadRequest {
        ReadRequest::from(self.inner.read(path))
    }

    /// Writes a file, creating missing parent directories and replacing
    /// what was there. `data` may be text, bytes, a local file
    /// ([`WriteData::file`]) or any [`std::io::Read`]
    /// ([`WriteData::reader`]); files and readers are streamed, never
    /// buffered whole. Finish with [`send`](WriteRequest::send).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// use e2b_blocking::WriteData;
    ///
    /// sandbox.files().write("/home/user/a.txt", "hello").send()?;
    /// sandbox.files().write("/home/user/big.bin", WriteData::file("./big.bin")).gzip(true).send()?;
    /// # Ok(()) }
    /// ```
    pub fn write(&self, path: impl Into<String>, data: impl Into<WriteData>) -> WriteRequest {
        WriteRequest::from(self.inner.write(path, data.into().into_async()))
    }

    /// Writes several files at once. An empty batch sends nothing.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// use e2b_blocking::WriteEntry;
    ///
    /// let written = sandbox
    ///     .files()
    ///     .write_files([WriteEntry::new("src/main.py", "print(1)"), WriteEntry::new("README", "hi")])
    ///     .send()?;
    /// assert_eq!(written.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn write_files(&self, entries: impl IntoIterator<Item = WriteEntry>) -> WriteFilesRequest {
        WriteFilesRequest::from(self.inner.write_files(entries.into_iter().map(WriteEntry::into_async)))
    }

    /// The entries of a directory (one level unless
    /// [`depth`](ListRequest::depth) says more). A missing directory is
    /// [`Error::FileNotFound`](crate::Error::FileNotFound).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// for entry in sandbox.files().list("/home/user").send()? {
    ///     println!("{:?} {}", entry.file_type, entry.path);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, path: impl Into<String>) -> ListRequest {
        ListRequest::from(self.inner.list(path))
    }

    /// Whether a file or directory exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// if !sandbox.files().exists("/home/user/.bashrc").send()? {
    ///     println!("no bashrc");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn exists(&self, path: impl Into<String>) -> ExistsRequest {
        ExistsRequest::from(self.inner.exists(path))
    }

    /// Information about a file or directory.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let info = sandbox.files().get_info("/home/user").send()?;
    /// println!("{:o}", info.mode);
    /// # Ok(()) }
    /// ```
    pub fn get_info(&self, path: impl Into<String>) -> GetInfoRequest {
        GetInfoRequest::from(self.inner.get_info(path))
    }

    /// Removes a file or a directory with everything in it. Removing
    /// nothing is not an error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.files().remove("/home/user/build").send()?;
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, path: impl Into<String>) -> RemoveRequest {
        RemoveRequest::from(self.inner.remove(path))
    }

    /// Renames or moves a file or directory (creating missing parents of the
    /// destination, replacing an existing file); returns the destination.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let moved = sandbox.files().rename("/tmp/out.csv", "/home/user/results/out.csv").send()?;
    /// println!("{}", moved.path);
    /// # Ok(()) }
    /// ```
    pub fn rename(&self, from: impl Into<String>, to: impl Into<String>) -> RenameRequest {
        RenameRequest::from(self.inner.rename(from, to))
    }

    /// Creates a directory and its missing parents; `false` if it existed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.files().make_dir("/home/user/a/b/c").send()?;
    /// # Ok(()) }
    /// ```
    pub fn make_dir(&self, path: impl Into<String>) -> MakeDirRequest {
        MakeDirRequest::from(self.inner.make_dir(path))
    }

    /// Watches a directory for changes; see [`WatchDirRequest`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/home/user").recursive(true).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn watch_dir(&self, path: impl Into<String>) -> WatchDirRequest {
        WatchDirRequest::from(self.inner.watch_dir(path))
    }
}
