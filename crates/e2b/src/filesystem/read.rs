//! Reading files: `GET /files`, as text, bytes or a stream.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _};
use reqwest::Method;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use tracing::Instrument as _;

use super::Filesystem;
use super::gzip::Gunzip;
use crate::envd::{Envd, NotFoundMeans};
use crate::error::{Error, Phase, Result, Stage};
use crate::retry::{self, Idempotency};

const OPERATION: &str = "read file";

/// A stream is aborted when no bytes arrive for this long.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::filesystem::DEFAULT_IDLE_TIMEOUT.as_secs(), 60);
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A file read; from [`Filesystem::read`]. Pick the result's form with
/// [`text`](Self::text), [`bytes`](Self::bytes) or [`stream`](Self::stream).
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let log = sandbox.files().read("/var/log/app.log").user("root").gzip(true).text().await?;
/// # let _ = log; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call `text`, `bytes` or `stream` to read"]
pub struct ReadRequest {
    fs: Filesystem,
    path: String,
    user: Option<String>,
    request_timeout: Option<Duration>,
    gzip: bool,
    idle_timeout: Option<Duration>,
}

impl ReadRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, path, user: None, request_timeout: None, gzip: false, idle_timeout: None }
    }

    /// Read as this user (permissions, relative paths).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let shadow = sandbox.files().read("/etc/shadow").user("root").text().await?;
    /// # let _ = shadow; Ok(()) }
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The deadline (`Duration::ZERO` for none): for [`text`](Self::text)
    /// and [`bytes`](Self::bytes) the whole transfer, for
    /// [`stream`](Self::stream) until the response starts.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let data = sandbox.files().read("big.bin").request_timeout(std::time::Duration::from_secs(600)).bytes().await?;
    /// # let _ = data; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Ask envd to gzip the transfer (decompressed transparently).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let json = sandbox.files().read("dump.json").gzip(true).text().await?;
    /// # let _ = json; Ok(()) }
    /// ```
    pub fn gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// For [`stream`](Self::stream): abort when no bytes arrive for this
    /// long (default 60 s; `Duration::ZERO` disables). Total transfer time
    /// is not limited.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let stream = sandbox.files().read("big.bin").idle_timeout(std::time::Duration::from_secs(10)).stream().await?;
    /// # let _ = stream; Ok(()) }
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The file as UTF-8 text (invalid sequences become U+FFFD).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let text = sandbox.files().read("/etc/hostname").text().await?;
    /// # let _ = text; Ok(()) }
    /// ```
    pub async fn text(self) -> Result<String> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// The file's bytes.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let png = sandbox.files().read("/home/user/plot.png").bytes().await?;
    /// println!("{} bytes", png.len());
    /// # Ok(()) }
    /// ```
    pub async fn bytes(self) -> Result<Bytes> {
        let deadline = self.fs.sandbox.envd.request_timeout(self.request_timeout);
        let transfer = async {
            let mut stream = self.open(None).await?;
            // Sized up front when the length is known, so a large file is
            // copied once instead of at every growth step.
            let capacity = stream.size_hint.map_or(0, |len| usize::try_from(len).unwrap_or(0).min(1 << 30));
            let mut out = BytesMut::with_capacity(capacity);
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk?);
            }
            Ok(out.freeze())
        };
        match deadline {
            Some(deadline) => tokio::time::timeout(deadline, transfer)
                .await
                .unwrap_or_else(|_| Err(Error::request_timeout(Stage::new(OPERATION, Phase::Stream)))),
            None => transfer.await,
        }
    }

    /// The file as a stream of chunks, read as it is consumed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use futures::TryStreamExt as _;
    ///
    /// let mut stream = sandbox.files().read("/home/user/big.bin").stream().await?;
    /// let mut total = 0;
    /// while let Some(chunk) = stream.try_next().await? {
    ///     total += chunk.len();
    /// }
    /// println!("{total} bytes");
    /// # Ok(()) }
    /// ```
    pub async fn stream(self) -> Result<FileStream> {
        let deadline = self.fs.sandbox.envd.request_timeout(self.request_timeout);
        let idle = match self.idle_timeout {
            Some(timeout) if timeout.is_zero() => None,
            Some(timeout) => Some(timeout),
            None => Some(DEFAULT_IDLE_TIMEOUT),
        };
        let open = self.open(idle);
        match deadline {
            Some(deadline) => tokio::time::timeout(deadline, open)
                .await
                .unwrap_or_else(|_| Err(Error::request_timeout(Stage::new(OPERATION, Phase::Send)))),
            None => open.await,
        }
    }

    /// Sends the request and checks the answer; the body is left to stream.
    async fn open(self, idle: Option<Duration>) -> Result<FileStream> {
        let envd = self.fs.sandbox.envd.clone();
        let span = tracing::info_span!("e2b.envd", operation = OPERATION, sandbox_id = envd.sandbox_id(), path = %self.path);
        async move {
            let mut query: Vec<(&str, String)> = vec![("path", self.path.clone())];
            if let Some(user) = envd.effective_user(self.user) {
                query.push(("username", user));
            }
            // A download is a read: a connection that drops before the answer is repeated
            // (the caller's deadline bounds the whole).
            let send = || {
                envd.request(Method::GET, "/files")
                    .query(&query)
                    .header(ACCEPT_ENCODING, if self.gzip { "gzip" } else { "identity" })
                    .send()
            };
            let sent =
                retry::after_dropped_connections(Idempotency::Idempotent, envd.retries, None, send, |_| true);
            let response = match sent.await {
                Ok(response) => response,
                Err(err) => return Err(envd.transport_error(Stage::new(OPERATION, Phase::Send), err).await),
            };
            tracing::debug!(status = response.status().as_u16(), "envd answered");
            if !response.status().is_success() {
                return Err(envd.error_from_response(response, OPERATION, NotFoundMeans::File).await);
            }
            let gzipped = response
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
            let size_hint = if gzipped { None } else { response.content_length() };
            let mut stream = FileStream::new(envd.clone(), response.bytes_stream().boxed(), gzipped, idle);
            stream.size_hint = size_hint;
            Ok(stream)
        }
        .instrument(span)
        .await
    }
}

/// A file's contents as a [`Stream`] of chunks; from
/// [`ReadRequest::stream`]. Gzip transfers arrive decompressed.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// // As an `AsyncRead`, e.g. to copy into a local file:
/// let stream = sandbox.files().read("/home/user/out.tar").stream().await?;
/// let mut reader = stream.into_async_read();
/// let mut file = tokio::fs::File::create("out.tar").await.unwrap();
/// tokio::io::copy(&mut reader, &mut file).await.unwrap();
/// # Ok(()) }
/// ```
pub struct FileStream {
    inner: BoxStream<'static, Result<Bytes>>,
    /// The decoded length, when the server said it.
    size_hint: Option<u64>,
}

impl std::fmt::Debug for FileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStream").finish_non_exhaustive()
    }
}

struct StreamState {
    envd: Envd,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    gunzip: Option<Gunzip>,
    idle: Option<Duration>,
}

impl FileStream {
    fn new(
        envd: Envd,
        body: BoxStream<'static, reqwest::Result<Bytes>>,
        gzipped: bool,
        idle: Option<Duration>,
    ) -> Self {
        let state = Some(StreamState { envd, body, gunzip: gzipped.then(Gunzip::new), idle });
        let inner = futures::stream::unfold(state, |state| async move {
            let mut state = state?;
            loop {
                let stage = Stage::new(OPERATION, Phase::Stream);
                let next = match state.idle {
                    Some(idle) => match tokio::time::timeout(idle, state.body.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            let message =
                                format!("no data arrived for {idle:?}; raise it with `idle_timeout`");
                            return Some((Err(Error::Timeout { stage, message }), None));
                        }
                    },
                    None => state.body.next().await,
                };
                let chunk = match next {
                    Some(Ok(chunk)) => chunk,
                    Some(Err(err)) => {
                        let err = state.envd.transport_error(stage, err).await;
                        return Some((Err(err), None));
                    }
                    None => {
                        let tail = state.gunzip.take().map(Gunzip::finish);
                        return match tail {
                            Some(Ok(tail)) if !tail.is_empty() => Some((Ok(tail), None)),
                            Some(Err(err)) => Some((Err(corrupt(stage, &err)), None)),
                            _ => None,
                        };
                    }
                };
                let chunk = match state.gunzip.as_mut().map(|g| g.push(&chunk)) {
                    None => chunk,
                    Some(Ok(decoded)) => decoded,
                    Some(Err(err)) => return Some((Err(corrupt(stage, &err)), None)),
                };
                if !chunk.is_empty() {
                    return Some((Ok(chunk), Some(state)));
                }
            }
        });
        Self { inner: inner.boxed(), size_hint: None }
    }

    /// The file's length in bytes when envd sent it (it does not for gzip-encoded
    /// transfers), e.g. to size a progress bar.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let stream = sandbox.files().read("/home/user/big.bin").stream().await?;
    /// if let Some(len) = stream.size_hint() {
    ///     println!("downloading {len} bytes");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn size_hint(&self) -> Option<u64> {
        self.size_hint
    }

    /// The stream as a `tokio::io::AsyncRead`; errors become
    /// `std::io::Error`s that wrap the SDK error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use tokio::io::AsyncReadExt as _;
    ///
    /// let mut reader = sandbox.files().read("a.txt").stream().await?.into_async_read();
    /// let mut text = String::new();
    /// reader.read_to_string(&mut text).await.unwrap();
    /// # Ok(()) }
    /// ```
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
        tokio_util::io::StreamReader::new(self.inner.map(|chunk| chunk.map_err(std::io::Error::other)))
    }
}

fn corrupt(stage: Stage, err: &std::io::Error) -> Error {
    Error::decode(stage, format!("the gzip-encoded body is corrupt or truncated: {err}"))
}

impl Stream for FileStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
