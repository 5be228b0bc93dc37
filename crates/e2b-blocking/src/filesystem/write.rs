//! Writing files: from memory, a local file, or any [`std::io::Read`].

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use e2b::{Result, WriteInfo};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::runtime;

/// How much is read from a [`WriteData::reader`] at a time.
const CHUNK: usize = 64 * 1024;

/// Chunks read ahead of the upload.
const READ_AHEAD: usize = 4;

/// What to write: bytes in memory, a local file, or any [`std::io::Read`].
/// Files and readers are streamed to the sandbox, never read into memory
/// whole.
///
/// # Example
///
/// ```
/// use e2b_blocking::WriteData;
///
/// let text: WriteData = "hello".into();
/// let bytes: WriteData = vec![0u8, 1, 2].into();
/// let file = WriteData::file("/tmp/data.bin");
/// let reader = WriteData::reader(std::io::Cursor::new(b"streamed".to_vec()));
/// # let _ = (text, bytes, file, reader);
/// ```
pub struct WriteData {
    kind: Kind,
}

enum Kind {
    /// Memory and local files: the async SDK's own kinds.
    Async(e2b::WriteData),
    Reader(Box<dyn Read + Send + 'static>),
}

impl fmt::Debug for WriteData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Async(data) => data.fmt(f),
            Kind::Reader(_) => f.write_str("WriteData::Reader"),
        }
    }
}

impl WriteData {
    /// Streams the contents of a local file.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.files().write("/home/user/model.bin", e2b_blocking::WriteData::file("model.bin")).send()?;
    /// # Ok(()) }
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { kind: Kind::Async(e2b::WriteData::file(path)) }
    }

    /// Streams whatever `reader` produces until it ends. The reader is
    /// read on a blocking thread of the runtime while the upload runs.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// use std::io::Read as _;
    ///
    /// let ten_mib = std::io::repeat(b'x').take(10 << 20);
    /// sandbox.files().write("/tmp/x", e2b_blocking::WriteData::reader(ten_mib)).send()?;
    /// # Ok(()) }
    /// ```
    pub fn reader(reader: impl Read + Send + 'static) -> Self {
        Self { kind: Kind::Reader(Box::new(reader)) }
    }

    /// The async SDK's form. A reader becomes an `AsyncRead` that starts
    /// reading, on a blocking thread of the runtime, when first polled.
    pub(crate) fn into_async(self) -> e2b::WriteData {
        match self.kind {
            Kind::Async(data) => data,
            Kind::Reader(reader) => e2b::WriteData::reader(async_reader(reader)),
        }
    }
}

/// `reader` as an `AsyncRead` that starts reading it, on a blocking thread
/// of the runtime it is polled on, when first polled.
fn async_reader(reader: Box<dyn Read + Send>) -> impl tokio::io::AsyncRead + Send + 'static {
    let chunks = futures::stream::once(async move {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        drop(tokio::task::spawn_blocking(move || pump(reader, tx)));
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) })
    })
    .flatten();
    tokio_util::io::StreamReader::new(chunks)
}

/// Reads `reader` into `tx` until it ends, fails, or the upload stops
/// listening.
fn pump(mut reader: Box<dyn Read + Send>, tx: mpsc::Sender<io::Result<Bytes>>) {
    loop {
        let mut buf = vec![0; CHUNK];
        let chunk = match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                Ok(Bytes::from(buf))
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => Err(err),
        };
        let failed = chunk.is_err();
        if tx.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}

macro_rules! from_memory {
    ($($ty:ty),*) => {
        $(
            impl From<$ty> for WriteData {
                fn from(data: $ty) -> Self {
                    Self { kind: Kind::Async(data.into()) }
                }
            }
        )*
    };
}

from_memory!(Bytes, Vec<u8>, &[u8], String, &String, &str);

impl<const N: usize> From<&[u8; N]> for WriteData {
    fn from(data: &[u8; N]) -> Self {
        Self { kind: Kind::Async(data.into()) }
    }
}

/// One file of a batch write: where, and what.
///
/// # Example
///
/// ```
/// let entry = e2b_blocking::WriteEntry::new("/home/user/a.txt", "contents");
/// # let _ = entry;
/// ```
#[derive(Debug)]
pub struct WriteEntry {
    inner: e2b::WriteEntry,
}

impl WriteEntry {
    /// `data` written to `path` (absolute, or relative to the user's home).
    ///
    /// # Example
    ///
    /// ```
    /// let entry = e2b_blocking::WriteEntry::new("notes.txt", String::from("hi"));
    /// # let _ = entry;
    /// ```
    pub fn new(path: impl Into<String>, data: impl Into<WriteData>) -> Self {
        Self { inner: e2b::WriteEntry::new(path, data.into().into_async()) }
    }

    pub(crate) fn into_async(self) -> e2b::WriteEntry {
        self.inner
    }
}

/// The option setters shared by single and batch writes.
macro_rules! write_options {
    () => {
        /// Write as this user (ownership, relative paths).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
        /// sandbox.files().write("/root/x", "1").user("root").send()?;
        /// # Ok(()) }
        /// ```
        pub fn user(self, user: impl Into<String>) -> Self {
            Self { inner: self.inner.user(user) }
        }

        /// The deadline of uploads from memory (`Duration::ZERO` for none).
        /// Streamed uploads (files, readers) have none: a deadline would
        /// cut off any transfer that outlasts it.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
        /// sandbox.files().write("x", "1").request_timeout(std::time::Duration::from_secs(5)).send()?;
        /// # Ok(()) }
        /// ```
        pub fn request_timeout(self, timeout: Duration) -> Self {
            Self { inner: self.inner.request_timeout(timeout) }
        }

        /// Gzip the upload. Needs envd 0.5.7 and implies octet-stream
        /// uploads; older envds get an uncompressed multipart upload.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
        /// sandbox.files().write("big.csv", e2b_blocking::WriteData::file("big.csv")).gzip(true).send()?;
        /// # Ok(()) }
        /// ```
        pub fn gzip(self, gzip: bool) -> Self {
            Self { inner: self.inner.gzip(gzip) }
        }

        /// Upload each file as a raw `application/octet-stream` request
        /// instead of one `multipart/form-data` request. Default: octet-stream
        /// when any entry is a file or reader. Needs envd 0.5.7; older envds
        /// get multipart.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
        /// sandbox.files().write("a.bin", vec![1u8, 2, 3]).use_octet_stream(true).send()?;
        /// # Ok(()) }
        /// ```
        pub fn use_octet_stream(self, octet_stream: bool) -> Self {
            Self { inner: self.inner.use_octet_stream(octet_stream) }
        }

        /// User metadata stored with every written file (replacing what it
        /// had). Keys are HTTP token characters, lowercased by envd; values
        /// printable ASCII. Needs envd 0.6.2.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
        /// sandbox.files().write("in.csv", "a,b").metadata("source", "ci").send()?;
        /// # Ok(()) }
        /// ```
        pub fn metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
            Self { inner: self.inner.metadata(key, value) }
        }
    };
}

/// A single-file write; from [`Filesystem::write`](super::Filesystem::write).
/// Finish with [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let info = sandbox.files().write("/home/user/a.txt", "hello").user("user").send()?;
/// # let _ = info; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a write does nothing until it is sent"]
pub struct WriteRequest {
    inner: e2b::filesystem::WriteRequest,
}

impl From<e2b::filesystem::WriteRequest> for WriteRequest {
    fn from(inner: e2b::filesystem::WriteRequest) -> Self {
        Self { inner }
    }
}

impl WriteRequest {
    write_options!();

    /// Uploads the file.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let info = sandbox.files().write("a.txt", "x").send()?;
    /// # let _ = info; Ok(()) }
    /// ```
    pub fn send(self) -> Result<WriteInfo> {
        runtime::run("WriteRequest::send", self.inner.send())
    }
}

/// A batch write; from [`Filesystem::write_files`](super::Filesystem::write_files).
/// Finish with [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// use e2b_blocking::WriteEntry;
/// let infos = sandbox.files().write_files([WriteEntry::new("a", "1"), WriteEntry::new("b", "2")]).gzip(true).send()?;
/// # let _ = infos; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a write does nothing until it is sent"]
pub struct WriteFilesRequest {
    inner: e2b::filesystem::WriteFilesRequest,
}

impl From<e2b::filesystem::WriteFilesRequest> for WriteFilesRequest {
    fn from(inner: e2b::filesystem::WriteFilesRequest) -> Self {
        Self { inner }
    }
}

impl WriteFilesRequest {
    write_options!();

    /// Uploads the files.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let infos = sandbox.files().write_files([e2b_blocking::WriteEntry::new("a", "1")]).send()?;
    /// # let _ = infos; Ok(()) }
    /// ```
    pub fn send(self) -> Result<Vec<WriteInfo>> {
        runtime::run("WriteFilesRequest::send", self.inner.send())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    /// A reader that yields its data in small pieces, then fails if told to.
    struct Pieces {
        data: Vec<u8>,
        fail: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return if self.fail { Err(io::Error::other("disk gone")) } else { Ok(0) };
            }
            let n = buf.len().min(self.data.len()).min(4093);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn memory_and_files_are_the_async_kinds() {
        assert_eq!(format!("{:?}", WriteData::from("abc")), "WriteData::Memory(3 bytes)");
        assert_eq!(format!("{:?}", WriteData::from(&b"ab"[..])), "WriteData::Memory(2 bytes)");
        assert_eq!(format!("{:?}", WriteData::from(b"abcd")), "WriteData::Memory(4 bytes)");
        assert_eq!(format!("{:?}", WriteData::file("/x")), "WriteData::File(/x)");
        assert_eq!(format!("{:?}", WriteData::reader(io::empty())), "WriteData::Reader");
    }

    /// Reads what the async SDK would upload for `reader`, on the runtime.
    fn upload(reader: Pieces) -> std::result::Result<Vec<u8>, String> {
        crate::runtime::block_on("test", async move {
            let mut out = Vec::new();
            let mut reader = std::pin::pin!(async_reader(Box::new(reader)));
            reader.read_to_end(&mut out).await.map(|_| out).map_err(|e| e.to_string())
        })
        .unwrap()
    }

    #[test]
    fn readers_are_pumped_until_they_end_or_fail() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(upload(Pieces { data: data.clone(), fail: false }).unwrap(), data);
        assert_eq!(upload(Pieces { data: Vec::new(), fail: false }).unwrap(), b"");
        assert_eq!(upload(Pieces { data: b"ab".to_vec(), fail: true }).unwrap_err(), "disk gone");
    }
}
