//! Reading files: as text, bytes, or a stream of chunks that is an
//! [`Iterator`] and a [`std::io::Read`].

use std::fmt;
use std::io;
use std::time::Duration;

use bytes::{Buf as _, Bytes};
use e2b::Result;

use crate::iter::next_blocking;
use crate::runtime;

/// A file read; from [`Filesystem::read`](super::Filesystem::read). Pick
/// the result's form with [`text`](Self::text), [`bytes`](Self::bytes) or
/// [`stream`](Self::stream).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let log = sandbox.files().read("/var/log/app.log").user("root").gzip(true).text()?;
/// # let _ = log; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call `text`, `bytes` or `stream` to read"]
pub struct ReadRequest {
    inner: e2b::ReadRequest,
}

impl From<e2b::ReadRequest> for ReadRequest {
    fn from(inner: e2b::ReadRequest) -> Self {
        Self { inner }
    }
}

impl ReadRequest {
    /// Read as this user (permissions, relative paths).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let shadow = sandbox.files().read("/etc/shadow").user("root").text()?;
    /// # let _ = shadow; Ok(()) }
    /// ```
    pub fn user(self, user: impl Into<String>) -> Self {
        Self { inner: self.inner.user(user) }
    }

    /// The deadline (`Duration::ZERO` for none): for [`text`](Self::text)
    /// and [`bytes`](Self::bytes) the whole transfer, for
    /// [`stream`](Self::stream) until the response starts.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let data = sandbox.files().read("big.bin").request_timeout(std::time::Duration::from_secs(600)).bytes()?;
    /// # let _ = data; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Ask envd to gzip the transfer (decompressed transparently).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let json = sandbox.files().read("dump.json").gzip(true).text()?;
    /// # let _ = json; Ok(()) }
    /// ```
    pub fn gzip(self, gzip: bool) -> Self {
        Self { inner: self.inner.gzip(gzip) }
    }

    /// For [`stream`](Self::stream): abort when no bytes arrive for this
    /// long (default 60 s; `Duration::ZERO` disables). Total transfer time
    /// is not limited.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let stream = sandbox.files().read("big.bin").idle_timeout(std::time::Duration::from_secs(10)).stream()?;
    /// # let _ = stream; Ok(()) }
    /// ```
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.idle_timeout(timeout) }
    }

    /// The file as UTF-8 text (invalid sequences become U+FFFD).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let text = sandbox.files().read("/etc/hostname").text()?;
    /// # let _ = text; Ok(()) }
    /// ```
    pub fn text(self) -> Result<String> {
        runtime::run("ReadRequest::text", self.inner.text())
    }

    /// The file's bytes.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let png = sandbox.files().read("/home/user/plot.png").bytes()?;
    /// println!("{} bytes", png.len());
    /// # Ok(()) }
    /// ```
    pub fn bytes(self) -> Result<Bytes> {
        runtime::run("ReadRequest::bytes", self.inner.bytes())
    }

    /// The file as a stream of chunks, read as it is consumed: iterate over
    /// it, or use it as a [`std::io::Read`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let mut total = 0;
    /// for chunk in sandbox.files().read("/home/user/big.bin").stream()? {
    ///     total += chunk?.len();
    /// }
    /// println!("{total} bytes");
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> Result<FileStream> {
        runtime::run("ReadRequest::stream", self.inner.stream()).map(FileStream::new)
    }
}

/// A file's contents, read as they are consumed; from
/// [`ReadRequest::stream`]. Gzip transfers arrive decompressed.
///
/// It is an [`Iterator`] of chunks (ending after the first error) and a
/// [`std::io::Read`], whose errors wrap the SDK's [`Error`](crate::Error).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), Box<dyn std::error::Error>> {
/// // Copy into a local file:
/// let mut stream = sandbox.files().read("/home/user/out.tar").stream()?;
/// let mut file = std::fs::File::create("out.tar")?;
/// std::io::copy(&mut stream, &mut file)?;
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing unless read"]
pub struct FileStream {
    inner: Option<e2b::FileStream>,
    /// What [`Read`](io::Read) has not handed out yet of the last chunk.
    pending: Bytes,
}

impl fmt::Debug for FileStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStream")
            .field("finished", &self.inner.is_none())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl FileStream {
    fn new(inner: e2b::FileStream) -> Self {
        Self { inner: Some(inner), pending: Bytes::new() }
    }

    fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if !self.pending.is_empty() {
            return Some(Ok(std::mem::take(&mut self.pending)));
        }
        let chunk = next_blocking(&mut self.inner, "FileStream::next")?;
        Some(chunk.and_then(|chunk| chunk.inspect_err(|_| self.inner = None)))
    }
}

impl Iterator for FileStream {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        self.next_chunk()
    }
}

impl std::iter::FusedIterator for FileStream {}

impl io::Read for FileStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pending.is_empty() {
            match self.next_chunk() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.pending = chunk,
                Some(Err(err)) => return Err(io::Error::other(err)),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}
