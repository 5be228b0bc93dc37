//! Writing files: `POST /files`, one raw `application/octet-stream` request
//! per file (envd 0.5.7 and later) or one `multipart/form-data` request for
//! the whole batch.

use std::fmt;
use std::future::IntoFuture;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Body, Method};
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;
use tracing::Instrument as _;

use super::gzip::{gzip_bytes, gzip_stream};
use super::{Filesystem, WireWriteInfo, WriteInfo};
use crate::envd::{Envd, NotFoundMeans};
use crate::error::{Error, Phase, Result, Stage, excerpt};
use crate::version::EnvdFeature;

const OPERATION: &str = "write file";

/// What to write: bytes in memory, a local file, or any `AsyncRead`. Files
/// and readers are streamed to the sandbox, never read into memory whole.
///
/// # Example
///
/// ```
/// use e2b::WriteData;
///
/// let text: WriteData = "hello".into();
/// let bytes: WriteData = vec![0u8, 1, 2].into();
/// let file = WriteData::file("/tmp/data.bin");
/// let reader = WriteData::reader(tokio::io::empty());
/// # let _ = (text, bytes, file, reader);
/// ```
pub struct WriteData {
    kind: DataKind,
}

enum DataKind {
    Memory(Bytes),
    File(PathBuf),
    Reader(Pin<Box<dyn AsyncRead + Send + 'static>>),
}

impl fmt::Debug for WriteData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DataKind::Memory(bytes) => write!(f, "WriteData::Memory({} bytes)", bytes.len()),
            DataKind::File(path) => write!(f, "WriteData::File({})", path.display()),
            DataKind::Reader(_) => f.write_str("WriteData::Reader"),
        }
    }
}

impl WriteData {
    /// Streams the contents of a local file.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.files().write("/home/user/model.bin", e2b::WriteData::file("model.bin")).await?;
    /// # Ok(()) }
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { kind: DataKind::File(path.into()) }
    }

    /// Streams whatever `reader` produces until it ends.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let reader = tokio::io::repeat(b'x');
    /// use tokio::io::AsyncReadExt as _;
    /// let ten_mib = reader.take(10 << 20);
    /// sandbox.files().write("/tmp/x", e2b::WriteData::reader(ten_mib)).await?;
    /// # Ok(()) }
    /// ```
    pub fn reader(reader: impl AsyncRead + Send + 'static) -> Self {
        Self { kind: DataKind::Reader(Box::pin(reader)) }
    }

    fn is_streamed(&self) -> bool {
        !matches!(self.kind, DataKind::Memory(_))
    }
}

impl From<Bytes> for WriteData {
    fn from(bytes: Bytes) -> Self {
        Self { kind: DataKind::Memory(bytes) }
    }
}

impl From<Vec<u8>> for WriteData {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl From<&[u8]> for WriteData {
    fn from(bytes: &[u8]) -> Self {
        Bytes::copy_from_slice(bytes).into()
    }
}

impl<const N: usize> From<&[u8; N]> for WriteData {
    fn from(bytes: &[u8; N]) -> Self {
        Bytes::copy_from_slice(bytes).into()
    }
}

impl From<String> for WriteData {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&String> for WriteData {
    fn from(text: &String) -> Self {
        Bytes::copy_from_slice(text.as_bytes()).into()
    }
}

impl From<&str> for WriteData {
    fn from(text: &str) -> Self {
        Bytes::copy_from_slice(text.as_bytes()).into()
    }
}

/// One file of a batch write: where, and what.
///
/// # Example
///
/// ```
/// let entry = e2b::WriteEntry::new("/home/user/a.txt", "contents");
/// # let _ = entry;
/// ```
#[derive(Debug)]
pub struct WriteEntry {
    path: String,
    data: WriteData,
}

impl WriteEntry {
    /// `data` written to `path` (absolute, or relative to the user's home).
    ///
    /// # Example
    ///
    /// ```
    /// let entry = e2b::WriteEntry::new("notes.txt", String::from("hi"));
    /// # let _ = entry;
    /// ```
    pub fn new(path: impl Into<String>, data: impl Into<WriteData>) -> Self {
        Self { path: path.into(), data: data.into() }
    }
}

#[derive(Debug, Default)]
struct WriteOptions {
    user: Option<String>,
    request_timeout: Option<Duration>,
    gzip: bool,
    use_octet_stream: Option<bool>,
    metadata: Vec<(String, String)>,
}

/// The option setters shared by single and batch writes.
macro_rules! write_options {
    () => {
        /// Write as this user (ownership, relative paths).
        ///
        /// # Example
        ///
        /// ```no_run
        /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
        /// sandbox.files().write("/root/x", "1").user("root").await?;
        /// # Ok(()) }
        /// ```
        pub fn user(mut self, user: impl Into<String>) -> Self {
            self.options.user = Some(user.into());
            self
        }

        /// The deadline of uploads from memory (`Duration::ZERO` for none).
        /// Streamed uploads (files, readers) have none: a deadline would
        /// cut off any transfer that outlasts it.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
        /// sandbox.files().write("x", "1").request_timeout(std::time::Duration::from_secs(5)).await?;
        /// # Ok(()) }
        /// ```
        pub fn request_timeout(mut self, timeout: Duration) -> Self {
            self.options.request_timeout = Some(timeout);
            self
        }

        /// Gzip the upload. Needs envd 0.5.7 and implies octet-stream
        /// uploads; older envds get an uncompressed multipart upload.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
        /// sandbox.files().write("big.csv", e2b::WriteData::file("big.csv")).gzip(true).await?;
        /// # Ok(()) }
        /// ```
        pub fn gzip(mut self, gzip: bool) -> Self {
            self.options.gzip = gzip;
            self
        }

        /// Upload each file as a raw `application/octet-stream` request
        /// instead of one `multipart/form-data` request. Default: octet-stream
        /// when any entry is a file or reader. Needs envd 0.5.7; older envds
        /// get multipart.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
        /// sandbox.files().write("a.bin", vec![1u8, 2, 3]).use_octet_stream(true).await?;
        /// # Ok(()) }
        /// ```
        pub fn use_octet_stream(mut self, octet_stream: bool) -> Self {
            self.options.use_octet_stream = Some(octet_stream);
            self
        }

        /// User metadata stored with every written file (replacing what it
        /// had). Keys are HTTP token characters, lowercased by envd; values
        /// printable ASCII. Needs envd 0.6.2.
        ///
        /// # Example
        ///
        /// ```no_run
        /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
        /// sandbox.files().write("in.csv", "a,b").metadata("source", "ci").await?;
        /// # Ok(()) }
        /// ```
        pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.options.metadata.push((key.into(), value.into()));
            self
        }
    };
}

/// A single-file write; from [`Filesystem::write`]. Await it.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let info = sandbox.files().write("/home/user/a.txt", "hello").user("user").await?;
/// # let _ = info; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a write does nothing until it is awaited"]
pub struct WriteRequest {
    fs: Filesystem,
    entry: WriteEntry,
    options: WriteOptions,
}

impl WriteRequest {
    pub(crate) fn new(fs: Filesystem, entry: WriteEntry) -> Self {
        Self { fs, entry, options: WriteOptions::default() }
    }

    write_options!();

    /// Uploads the file.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let info = sandbox.files().write("a.txt", "x").send().await?;
    /// # let _ = info; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<WriteInfo> {
        let mut written = upload(&self.fs.sandbox.envd, vec![self.entry], self.options).await?;
        if written.len() != 1 {
            return Err(Error::sandbox(
                Stage::new(OPERATION, Phase::Decode),
                format!("expected information about 1 written file, got {}", written.len()),
            ));
        }
        Ok(written.remove(0))
    }
}

impl IntoFuture for WriteRequest {
    type Output = Result<WriteInfo>;
    type IntoFuture = BoxFuture<'static, Result<WriteInfo>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A batch write; from [`Filesystem::write_files`]. Await it.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use e2b::WriteEntry;
/// let infos = sandbox.files().write_files([WriteEntry::new("a", "1"), WriteEntry::new("b", "2")]).gzip(true).await?;
/// # let _ = infos; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a write does nothing until it is awaited"]
pub struct WriteFilesRequest {
    fs: Filesystem,
    entries: Vec<WriteEntry>,
    options: WriteOptions,
}

impl WriteFilesRequest {
    pub(crate) fn new(fs: Filesystem, entries: Vec<WriteEntry>) -> Self {
        Self { fs, entries, options: WriteOptions::default() }
    }

    write_options!();

    /// Uploads the files.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let infos = sandbox.files().write_files([e2b::WriteEntry::new("a", "1")]).send().await?;
    /// # let _ = infos; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<WriteInfo>> {
        upload(&self.fs.sandbox.envd, self.entries, self.options).await
    }
}

impl IntoFuture for WriteFilesRequest {
    type Output = Result<Vec<WriteInfo>>;
    type IntoFuture = BoxFuture<'static, Result<Vec<WriteInfo>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

fn validate_metadata(metadata: &[(String, String)]) -> Result<()> {
    let stage = Stage::new(OPERATION, Phase::Validate);
    for (key, value) in metadata {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if key.is_empty() || !key.bytes().all(token) {
            return Err(Error::invalid_argument(
                stage,
                format!(
                    "invalid metadata key {key:?}: keys must be non-empty and use only HTTP token characters \
                     (letters, digits and !#$%&'*+-.^_`|~)"
                ),
            ));
        }
        if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(Error::invalid_argument(
                stage,
                format!("invalid metadata value for key {key:?}: values must be printable US-ASCII"),
            ));
        }
    }
    Ok(())
}

/// The body of one file, opened (local files) but not read.
enum Payload {
    Memory(Bytes),
    Stream { body: futures::stream::BoxStream<'static, std::io::Result<Bytes>>, len: Option<u64> },
}

async fn open(data: WriteData) -> Result<Payload> {
    Ok(match data.kind {
        DataKind::Memory(bytes) => Payload::Memory(bytes),
        DataKind::File(path) => {
            let io = |source| Error::Io { stage: Stage::new(OPERATION, Phase::Validate), source };
            let file = tokio::fs::File::open(&path).await.map_err(io)?;
            let len = file.metadata().await.map_err(io)?.len();
            Payload::Stream { body: ReaderStream::new(file).boxed(), len: Some(len) }
        }
        DataKind::Reader(reader) => Payload::Stream { body: ReaderStream::new(reader).boxed(), len: None },
    })
}

async fn upload(envd: &Envd, entries: Vec<WriteEntry>, options: WriteOptions) -> Result<Vec<WriteInfo>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    validate_metadata(&options.metadata)?;
    if !options.metadata.is_empty() {
        envd.version().require(EnvdFeature::FileMetadata, OPERATION)?;
    }
    let streamed = entries.iter().any(|e| e.data.is_streamed());
    let supports_octet_stream = envd.version().supports(EnvdFeature::OctetStreamUpload);
    let octet_stream =
        (options.use_octet_stream.unwrap_or(streamed) || options.gzip) && supports_octet_stream;
    let gzip = options.gzip && octet_stream;
    let user = envd.effective_user(options.user.clone());
    let mut headers = reqwest::header::HeaderMap::new();
    for (key, value) in &options.metadata {
        let stage = Stage::new(OPERATION, Phase::Validate);
        let name = HeaderName::from_bytes(format!("x-metadata-{key}").as_bytes())
            .map_err(|_| Error::invalid_argument(stage, format!("invalid metadata key {key:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::invalid_argument(stage, format!("invalid metadata value for {key:?}")))?;
        headers.insert(name, value);
    }
    let deadline = if streamed { None } else { envd.request_timeout(options.request_timeout) };
    let span = tracing::info_span!(
        "e2b.envd",
        operation = OPERATION,
        sandbox_id = envd.sandbox_id(),
        files = entries.len(),
        octet_stream,
        gzip
    );
    let transfer = async {
        if octet_stream {
            let uploads = entries.into_iter().map(|entry| {
                let (headers, user) = (headers.clone(), user.clone());
                async move {
                    let mut query = vec![("path", entry.path)];
                    if let Some(user) = user {
                        query.push(("username", user));
                    }
                    let body = match open(entry.data).await? {
                        Payload::Memory(bytes) if gzip => {
                            let stage = Stage::new(OPERATION, Phase::Validate);
                            Body::from(gzip_bytes(&bytes).map_err(|source| Error::Io { stage, source })?)
                        }
                        Payload::Memory(bytes) => Body::from(bytes),
                        Payload::Stream { body, .. } if gzip => Body::wrap_stream(gzip_stream(body)),
                        Payload::Stream { body, .. } => Body::wrap_stream(body),
                    };
                    let mut request = envd
                        .request(Method::POST, "/files")
                        .query(&query)
                        .headers(headers)
                        .header(CONTENT_TYPE, "application/octet-stream");
                    if gzip {
                        request = request.header(CONTENT_ENCODING, "gzip");
                    }
                    send(envd, request.body(body)).await
                }
            });
            let written = futures::future::try_join_all(uploads).await?;
            Ok(written.into_iter().flatten().collect())
        } else {
            let mut query = Vec::new();
            if let Some(user) = user {
                query.push(("username", user));
            }
            if let [only] = entries.as_slice() {
                query.push(("path", only.path.clone()));
            }
            let mut form = reqwest::multipart::Form::new();
            for entry in entries {
                let mime = mime_guess::from_path(&entry.path).first_or_octet_stream();
                let part = match open(entry.data).await? {
                    Payload::Memory(bytes) => {
                        let len = bytes.len() as u64;
                        reqwest::multipart::Part::stream_with_length(Body::from(bytes), len)
                    }
                    Payload::Stream { body, len: Some(len) } => {
                        reqwest::multipart::Part::stream_with_length(Body::wrap_stream(body), len)
                    }
                    Payload::Stream { body, len: None } => {
                        reqwest::multipart::Part::stream(Body::wrap_stream(body))
                    }
                };
                let content_type = HeaderValue::from_str(mime.essence_str())
                    .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
                let mut part_headers = reqwest::header::HeaderMap::new();
                part_headers.insert(CONTENT_TYPE, content_type);
                form = form.part("file", part.file_name(entry.path).headers(part_headers));
            }
            let request = envd.request(Method::POST, "/files").query(&query).headers(headers).multipart(form);
            send(envd, request).await
        }
    }
    .instrument(span);
    match deadline {
        Some(deadline) => tokio::time::timeout(deadline, transfer)
            .await
            .unwrap_or_else(|_| Err(Error::request_timeout(Stage::new(OPERATION, Phase::Send)))),
        None => transfer.await,
    }
}

async fn send(envd: &Envd, request: reqwest::RequestBuilder) -> Result<Vec<WriteInfo>> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => return Err(envd.transport_error(Stage::new(OPERATION, Phase::Send), err).await),
    };
    if !response.status().is_success() {
        return Err(envd.error_from_response(response, OPERATION, NotFoundMeans::File).await);
    }
    let stage = Stage::new(OPERATION, Phase::Decode);
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => return Err(envd.transport_error(stage, err).await),
    };
    let written: Vec<WireWriteInfo> = serde_json::from_slice(&body).map_err(|e| {
        Error::decode(stage, format!("expected a list of written files ({e}): {}", excerpt(&body)))
    })?;
    if written.is_empty() {
        return Err(Error::sandbox(stage, "expected to receive information about the written file"));
    }
    Ok(written.into_iter().map(WriteInfo::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keys_and_values_are_checked() {
        let ok = |k: &str, v: &str| validate_metadata(&[(k.into(), v.into())]).is_ok();
        assert!(ok("source", "ci run #5"));
        assert!(ok("a!#$%&'*+-.^_`|~9", ""));
        assert!(!ok("", "x"));
        assert!(!ok("has space", "x"));
        assert!(!ok("colon:", "x"));
        assert!(!ok("ключ", "x"));
        assert!(!ok("k", "tab\there"));
        assert!(!ok("k", "ü"));
    }

    #[test]
    fn data_conversions() {
        assert!(!WriteData::from("s").is_streamed());
        assert!(!WriteData::from(b"b").is_streamed());
        assert!(!WriteData::from(&b"b"[..]).is_streamed());
        assert!(WriteData::file("/x").is_streamed());
        assert!(WriteData::reader(tokio::io::empty()).is_streamed());
        assert_eq!(format!("{:?}", WriteData::from("abc")), "WriteData::Memory(3 bytes)");
    }

    #[tokio::test]
    async fn a_missing_local_file_is_an_io_error() {
        let err = match open(WriteData::file("/nonexistent/e2b/file")).await {
            Err(err) => err,
            Ok(_) => panic!("opened a missing file"),
        };
        assert!(matches!(err, Error::Io { stage, .. } if stage.phase == Phase::Validate));
    }

    #[tokio::test]
    async fn stream_errors_propagate() {
        use futures::TryStreamExt as _;
        let reader = tokio_util::io::StreamReader::new(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("disk gone")),
        ]));
        let Payload::Stream { body, .. } = open(WriteData::reader(reader)).await.unwrap() else {
            panic!("a reader must stream");
        };
        let chunks: Vec<std::io::Result<Bytes>> = body.collect().await;
        assert!(chunks.iter().any(|c| c.is_err()));
        let collected: std::io::Result<Vec<Bytes>> = futures::stream::iter(chunks).try_collect().await;
        assert!(collected.is_err());
    }
}
