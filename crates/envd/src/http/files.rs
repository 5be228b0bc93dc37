//! `GET /files` (download) and `POST /files` (upload).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::{GzEncoder, MultiGzDecoder};
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rand::Rng;
use serde::Serialize;
use tokio::sync::mpsc;

use super::HttpState;
use super::error::HttpError;
use super::stored_gzip::StoredGzip;
use crate::auth::{Operation, SignedRequest};
use crate::filesystem::entry::{EnsureDirsError, ensure_dirs};
use crate::filesystem::metadata;
use crate::filesystem::watch::UPLOAD_TEMP_PREFIX;
use crate::paths;
use crate::users::{SystemUser, UserError};

/// Size of the pieces files are read and sent in.
const READ_CHUNK: usize = 256 * 1024;
/// Chunks in flight between the network and the disk, per transfer: this
/// bounds the memory of any upload or download, whatever its size.
const CHANNEL_DEPTH: usize = 8;
/// Largest piece of compressed input handed to the decompressor at once, so
/// a "zip bomb" chunk cannot expand into a huge buffer.
const GUNZIP_SLICE: usize = 4 * 1024;

/// The query of both `/files` methods.
#[derive(Debug, Default)]
pub(crate) struct FilesQuery {
    path: Option<String>,
    username: Option<String>,
    signature: Option<String>,
    expiration: Option<i64>,
}

impl FilesQuery {
    fn parse(raw: Option<&str>) -> Result<Self, HttpError> {
        let mut query = FilesQuery::default();
        let mut expiration = None;
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            // The first occurrence wins, as with Go's `Query().Get`.
            let slot = match key.as_ref() {
                "path" => &mut query.path,
                "username" => &mut query.username,
                "signature" => &mut query.signature,
                "signature_expiration" => &mut expiration,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        if let Some(text) = expiration {
            query.expiration = Some(text.parse().map_err(|_| {
                HttpError::bad_request(format!("invalid format for parameter signature_expiration: {text:?}"))
            })?);
        }
        Ok(query)
    }

    fn username(&self) -> Option<&str> {
        self.username.as_deref().filter(|u| !u.is_empty())
    }

    /// Checks the token header or URL signature when a token is set.
    fn authorize(
        &self,
        state: &HttpState,
        headers: &HeaderMap,
        operation: Operation,
    ) -> Result<(), HttpError> {
        let Some(token) = state.settings.access_token() else { return Ok(()) };
        let header_token = headers.get("x-access-token").map(|v| v.to_str().unwrap_or("\u{0}"));
        let request = SignedRequest {
            path: self.path.as_deref().unwrap_or(""),
            operation,
            username: self.username.as_deref(),
            signature: self.signature.as_deref(),
            expiration: self.expiration,
        };
        token
            .authorize_transfer(header_token, &request, Utc::now().timestamp())
            .map_err(|e| HttpError::unauthorized(e.to_string()))
    }

    fn user(&self, state: &HttpState) -> Result<SystemUser, HttpError> {
        let name = match self.username() {
            Some(name) => name.to_owned(),
            None => state
                .settings
                .default_user()
                .ok_or_else(|| HttpError::bad_request("no user specified and no default user is set"))?,
        };
        SystemUser::lookup(&name).map_err(|e| match e {
            UserError::Unknown(name) => {
                HttpError::unauthorized(format!("error looking up user '{name}': unknown user {name}"))
            }
            other => HttpError::unauthorized(other.to_string()),
        })
    }

    fn resolve(&self, state: &HttpState, user: &SystemUser, path: &str) -> Result<PathBuf, HttpError> {
        let workdir = state.settings.default_workdir();
        paths::resolve(path, &user.home, workdir.as_deref())
            .map_err(|e| HttpError::bad_request(format!("error expanding and resolving path '{path}': {e}")))
    }
}

// ---------------------------------------------------------------- download

/// The coding chosen from `Accept-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
}

/// Picks gzip or identity: entries by descending quality (stable), the
/// first acceptable wins; identity is implicitly acceptable unless refused
/// with `q=0`. `None`: nothing acceptable.
pub(crate) fn negotiate(accept: Option<&str>) -> Option<Coding> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Coding::Identity) };
    let mut entries: Vec<(String, f32)> = accept
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .map(|entry| {
            let mut parts = entry.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding, quality)
        })
        .collect();
    entries.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    let identity_refused = entries.iter().any(|(c, q)| c == "identity" && *q == 0.0);
    for (coding, quality) in &entries {
        if *quality <= 0.0 {
            continue;
        }
        match coding.as_str() {
            "identity" => return Some(Coding::Identity),
            "gzip" => return Some(Coding::Gzip),
            "*" => return Some(if identity_refused { Coding::Gzip } else { Coding::Identity }),
            _ => {}
        }
    }
    (!identity_refused).then_some(Coding::Identity)
}

/// A byte range request against a file of known size.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// One `bytes=` range; several ranges, or syntax we do not understand, get
/// the whole file (a server may always ignore Range).
fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return RangeRequest::Whole };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return RangeRequest::Whole };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return match last.parse::<u64>() {
            Ok(0) => RangeRequest::Unsatisfiable,
            Ok(_) if size == 0 => RangeRequest::Unsatisfiable,
            Ok(n) => RangeRequest::Part { start: size.saturating_sub(n), end: size - 1 },
            Err(_) => RangeRequest::Whole,
        };
    }
    let Ok(start) = first.parse::<u64>() else { return RangeRequest::Whole };
    let end = if last.is_empty() {
        size.saturating_sub(1)
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end.min(size.saturating_sub(1)),
            _ => return RangeRequest::Whole,
        }
    };
    if start >= size { RangeRequest::Unsatisfiable } else { RangeRequest::Part { start, end } }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim()).ok().map(|t| t.with_timezone(&Utc))
}

fn content_disposition(path: &Path) -> Option<HeaderValue> {
    let name = path.file_name()?.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
    HeaderValue::from_bytes(format!("inline; filename=\"{name}\"").as_bytes()).ok()
}

/// Content type by extension, else a look at the first bytes.
fn content_type(path: &Path, file: &mut File) -> String {
    if let Some(mime) = mime_guess::from_path(path).first() {
        return mime.essence_str().to_owned() + if mime.type_() == "text" { "; charset=utf-8" } else { "" };
    }
    let mut head = [0u8; 512];
    let n = file.read(&mut head).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(0));
    let head = &head[..n];
    let text = !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            // A multi-byte character cut at the end of the sample.
            Err(e) => e.error_len().is_none(),
        };
    if text { "text/plain; charset=utf-8".into() } else { "application/octet-stream".into() }
}

/// How a gzip download is encoded, chosen from the first chunk: fast
/// deflate for data that compresses, stored blocks for data that does not
/// (media, archives, random bytes), where deflating costs CPU and saves
/// nothing.
enum GzipOut {
    Deflate(GzEncoder<Vec<u8>>),
    Stored(StoredGzip),
}

impl GzipOut {
    fn for_sample(sample: &[u8]) -> Self {
        if compresses(sample) {
            GzipOut::Deflate(GzEncoder::new(Vec::with_capacity(READ_CHUNK), Compression::fast()))
        } else {
            GzipOut::Stored(StoredGzip::default())
        }
    }

    fn encode(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            GzipOut::Deflate(encoder) => {
                encoder.write_all(data)?;
                Ok(std::mem::take(encoder.get_mut()))
            }
            GzipOut::Stored(encoder) => Ok(encoder.encode(data)),
        }
    }

    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            GzipOut::Deflate(encoder) => encoder.finish(),
            GzipOut::Stored(encoder) => Ok(encoder.finish()),
        }
    }
}

/// Whether fast deflate shrinks a sample by at least a tenth.
fn compresses(sample: &[u8]) -> bool {
    let sample = &sample[..sample.len().min(64 * 1024)];
    let mut probe = flate2::write::DeflateEncoder::new(Vec::with_capacity(sample.len()), Compression::fast());
    match probe.write_all(sample).and_then(|()| probe.finish()) {
        Ok(out) => out.len() * 10 <= sample.len() * 9,
        Err(_) => false,
    }
}

/// Streams `len` bytes of `file` from its current position, optionally
/// gzip-compressed, from a blocking thread; a client that goes away stops
/// the reading.
fn file_body(mut file: File, len: u64, gzip: bool) -> Body {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut remaining = len;
        let mut encoder: Option<GzipOut> = None;
        let mut buf = vec![0u8; READ_CHUNK];
        let send = |chunk: io::Result<Bytes>| tx.blocking_send(chunk).is_ok();
        while remaining > 0 {
            let want = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let n = match file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    send(Err(e));
                    return;
                }
            };
            remaining -= n as u64;
            if gzip && encoder.is_none() {
                encoder = Some(GzipOut::for_sample(&buf[..n]));
            }
            let chunk = match encoder.as_mut() {
                None => Bytes::copy_from_slice(&buf[..n]),
                Some(encoder) => match encoder.encode(&buf[..n]) {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => Bytes::from(out),
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                },
            };
            if !send(Ok(chunk)) {
                return;
            }
        }
        if gzip && encoder.is_none() {
            // An empty file still gets a valid (empty) gzip stream.
            encoder = Some(GzipOut::Stored(StoredGzip::default()));
        }
        if let Some(encoder) = encoder {
            match encoder.finish() {
                Ok(rest) if !rest.is_empty() => {
                    send(Ok(Bytes::from(rest)));
                }
                Ok(_) => {}
                Err(e) => {
                    send(Err(e));
                }
            }
        }
    });
    Body::from_stream(futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
    ))
}

#[tracing::instrument(name = "GET /files", skip_all)]
pub(crate) async fn download(
    State(state): State<Arc<HttpState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let query = FilesQuery::parse(raw.as_deref())?;
    query.authorize(&state, &headers, Operation::Read)?;
    let user = query.user(&state)?;
    let path = query.resolve(&state, &user, query.path.as_deref().unwrap_or(""))?;
    let header_text =
        |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let accept = header_text(header::ACCEPT_ENCODING);
    let range = header_text(header::RANGE);
    let if_modified_since = header_text(header::IF_MODIFIED_SINCE);
    let if_range = header_text(header::IF_RANGE);
    let conditional = range.is_some()
        || if_modified_since.is_some()
        || if_range.is_some()
        || headers.contains_key(header::IF_NONE_MATCH);

    tokio::task::spawn_blocking(move || -> Result<Response, HttpError> {
        let shown = path.display();
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(HttpError::new(StatusCode::NOT_FOUND, format!("path '{shown}' does not exist")));
            }
            Err(e) => {
                return Err(HttpError::internal(format!("error checking if path exists '{shown}': {e}")));
            }
        };
        if meta.is_dir() {
            return Err(HttpError::bad_request(format!("path '{shown}' is a directory")));
        }
        let coding = negotiate(accept.as_deref()).ok_or_else(|| {
            HttpError::new(
                StatusCode::NOT_ACCEPTABLE,
                "no acceptable encoding found, supported: [gzip identity]",
            )
        })?;
        // Range and conditional requests are served uncompressed, so 206 and
        // 304 keep their usual meaning.
        let coding = if conditional { Coding::Identity } else { coding };
        let mut file = File::open(&path)
            .map_err(|e| HttpError::internal(format!("error opening file '{shown}': {e}")))?;

        let mut response = Response::builder().header(header::VARY, "Accept-Encoding");
        if let Some(disposition) = content_disposition(&path) {
            response = response.header(header::CONTENT_DISPOSITION, disposition);
        }
        if coding == Coding::Gzip {
            let mime = mime_guess::from_path(&path).first_raw().unwrap_or("application/octet-stream");
            let response = response
                .header(header::CONTENT_ENCODING, "gzip")
                .header(header::CONTENT_TYPE, mime)
                .body(file_body(file, meta.len(), true))
                .map_err(|e| HttpError::internal(e.to_string()))?;
            return Ok(response);
        }

        let size = meta.len();
        let modified: Option<DateTime<Utc>> =
            meta.modified().ok().filter(|t| *t > UNIX_EPOCH).map(DateTime::<Utc>::from);
        let last_modified = modified.map(http_date);
        if let Some(last_modified) = &last_modified {
            response = response.header(header::LAST_MODIFIED, last_modified.as_str());
        }
        if let (Some(since), Some(modified)) =
            (if_modified_since.as_deref().and_then(parse_http_date), modified)
            && modified.timestamp() <= since.timestamp()
            && !headers_have_if_none_match(&headers)
        {
            return response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .map_err(|e| HttpError::internal(e.to_string()));
        }
        let content_type = content_type(&path, &mut file);
        response = response.header(header::CONTENT_TYPE, content_type).header(header::ACCEPT_RANGES, "bytes");
        let range_applies = match (&if_range, &last_modified) {
            (None, _) => true,
            (Some(condition), Some(last_modified)) => condition.trim() == last_modified,
            (Some(_), None) => false,
        };
        let range = if range_applies { range.map(|r| parse_range(&r, size)) } else { None };
        let response = match range.unwrap_or(RangeRequest::Whole) {
            RangeRequest::Whole => {
                response.header(header::CONTENT_LENGTH, size).body(file_body(file, size, false))
            }
            RangeRequest::Part { start, end } => {
                file.seek(SeekFrom::Start(start))
                    .map_err(|e| HttpError::internal(format!("error seeking: {e}")))?;
                response
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                    .header(header::CONTENT_LENGTH, end - start + 1)
                    .body(file_body(file, end - start + 1, false))
            }
            RangeRequest::Unsatisfiable => response
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty()),
        };
        response.map_err(|e| HttpError::internal(e.to_string()))
    })
    .await
    .map_err(|e| HttpError::internal(format!("download task failed: {e}")))?
}

fn headers_have_if_none_match(headers: &HeaderMap) -> bool {
    headers.contains_key(header::IF_NONE_MATCH)
}

// ------------------------------------------------------------------ upload

/// One written file, as the upload response lists it.
#[derive(Debug, Serialize)]
struct Written {
    path: String,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<HashMap<String, String>>,
}

/// Request body failures while uploading, kept apart from disk failures.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("error reading request body: {0}")]
    Read(String),
    #[error("error decompressing request body: {0}")]
    Gunzip(io::Error),
}

impl From<BodyError> for HttpError {
    fn from(err: BodyError) -> Self {
        HttpError::bad_request(err.to_string())
    }
}

type BodyStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// The request body, gunzipped when `Content-Encoding: gzip`.
fn decoded_body(headers: &HeaderMap, body: Body) -> Result<BodyStream, HttpError> {
    let raw = body.into_data_stream().map(|r| r.map_err(|e| BodyError::Read(e.to_string())));
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(Box::pin(raw)),
        Some("gzip") => Ok(Box::pin(gunzip(raw))),
        Some(other) => Err(HttpError::bad_request(format!(
            "error decompressing request body: unsupported Content-Encoding: {other}, supported: [gzip]"
        ))),
    }
}

fn gunzip(
    raw: impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, BodyError>> {
    struct State<S> {
        raw: std::pin::Pin<Box<S>>,
        decoder: Option<MultiGzDecoder<Vec<u8>>>,
        ready: std::collections::VecDeque<Bytes>,
    }
    let state = State {
        raw: Box::pin(raw),
        decoder: Some(MultiGzDecoder::new(Vec::new())),
        ready: Default::default(),
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(chunk) = st.ready.pop_front() {
                return Some((Ok(chunk), st));
            }
            let decoder = st.decoder.as_mut()?;
            match st.raw.next().await {
                Some(Ok(input)) => {
                    for slice in input.chunks(GUNZIP_SLICE) {
                        if let Err(e) = decoder.write_all(slice) {
                            st.decoder = None;
                            return Some((Err(BodyError::Gunzip(e)), st));
                        }
                        let out = std::mem::take(decoder.get_mut());
                        if !out.is_empty() {
                            st.ready.push_back(Bytes::from(out));
                        }
                    }
                }
                Some(Err(e)) => {
                    st.decoder = None;
                    return Some((Err(e), st));
                }
                None => {
                    let mut decoder = st.decoder.take()?;
                    if let Err(e) = decoder.try_finish() {
                        return Some((Err(BodyError::Gunzip(e)), st));
                    }
                    let out = decoder.finish().map_err(BodyError::Gunzip);
                    match out {
                        Ok(rest) if !rest.is_empty() => st.ready.push_back(Bytes::from(rest)),
                        Ok(_) => {}
                        Err(e) => return Some((Err(e), st)),
                    }
                }
            }
        }
    })
}

enum Piece {
    Data(Bytes),
    /// Everything arrived: the file may be put in place.
    Done,
}

struct TempFile(Option<PathBuf>);

impl TempFile {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn no_space(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// Where writing `dest` really lands: an existing symlink is written
/// through, as opening it would.
fn write_target(dest: &Path) -> PathBuf {
    match std::fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(dest).unwrap_or_else(|_| match std::fs::read_link(dest) {
                Ok(target) => dest.parent().unwrap_or(Path::new("/")).join(target),
                Err(_) => dest.to_path_buf(),
            })
        }
        _ => dest.to_path_buf(),
    }
}

/// Blocking half of an upload: a hidden temporary file next to the
/// destination receives the data, gets owner and metadata, and is renamed
/// over the destination only after the last byte arrived. Any failure or an
/// abandoned upload removes it, so no partial file is ever visible.
fn write_atomically(
    dest: &Path,
    user: (u32, u32),
    metadata: &[(String, Vec<u8>)],
    mut pieces: mpsc::Receiver<Piece>,
) -> Result<bool, HttpError> {
    let (uid, gid) = user;
    let parent = dest.parent().unwrap_or(Path::new("/"));
    ensure_dirs(parent, uid, gid).map_err(|e| match e {
        ref e if e.is_no_space() => HttpError::new(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
        EnsureDirsError::NotADirectory(_) | EnsureDirsError::Create { .. } => {
            HttpError::internal(format!("error ensuring directories: {e}"))
        }
    })?;
    let target = write_target(dest);
    let existing_mode = match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            return Err(HttpError::bad_request(format!("path is a directory: {}", dest.display())));
        }
        Ok(meta) => Some(meta.mode() & 0o7777),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(HttpError::internal(format!("error getting file info: {e}"))),
    };
    let dir = target.parent().unwrap_or(Path::new("/"));
    let temp_path = dir.join(format!("{UPLOAD_TEMP_PREFIX}{:016x}", rand::rng().random::<u64>()));
    let file = OpenOptions::new().write(true).create_new(true).mode(0o666).open(&temp_path).map_err(|e| {
        if no_space(&e) {
            HttpError::new(StatusCode::INSUFFICIENT_STORAGE, format!("not enough inodes available: {e}"))
        } else {
            HttpError::internal(format!("error opening file: {e}"))
        }
    })?;
    let temp = TempFile(Some(temp_path.clone()));
    std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
        .map_err(|e| HttpError::internal(format!("error changing file ownership: {e}")))?;
    if let Some(mode) = existing_mode {
        // Replacing a file keeps its permissions (an executable stays one).
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| HttpError::internal(format!("error setting permissions: {e}")))?;
    }
    let write_error = |e: io::Error| {
        if no_space(&e) {
            HttpError::new(StatusCode::INSUFFICIENT_STORAGE, format!("not enough disk space available: {e}"))
        } else {
            HttpError::internal(format!("error writing file: {e}"))
        }
    };
    let mut writer = BufWriter::with_capacity(READ_CHUNK, file);
    loop {
        match pieces.blocking_recv() {
            Some(Piece::Data(data)) => writer.write_all(&data).map_err(write_error)?,
            Some(Piece::Done) => break,
            None => return Err(HttpError::bad_request("upload aborted before the body was complete")),
        }
    }
    let file = writer.into_inner().map_err(|e| write_error(e.into_error()))?;
    let stored = metadata::write(&file, metadata)
        .map_err(|e| HttpError::internal(format!("error writing metadata: {e}")))?;
    drop(file);
    std::fs::rename(&temp_path, &target)
        .map_err(|e| HttpError::internal(format!("error moving the uploaded file into place: {e}")))?;
    temp.keep();
    Ok(stored && !metadata.is_empty())
}

/// Streams one file's data to disk.
async fn write_one(
    dest: PathBuf,
    user: &SystemUser,
    metadata: Arc<Vec<(String, Vec<u8>)>>,
    mut data: impl Stream<Item = Result<Bytes, BodyError>> + Unpin,
) -> Result<Written, HttpError> {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let ids = (user.uid, user.gid);
    let (dest_for_writer, metadata_for_writer) = (dest.clone(), Arc::clone(&metadata));
    let writer = tokio::task::spawn_blocking(move || {
        write_atomically(&dest_for_writer, ids, &metadata_for_writer, rx)
    });
    let mut body_error = None;
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(chunk) if chunk.is_empty() => {}
            Ok(chunk) => {
                if tx.send(Piece::Data(chunk)).await.is_err() {
                    break; // The writer failed; its error explains why.
                }
            }
            Err(e) => {
                body_error = Some(e);
                break;
            }
        }
    }
    if body_error.is_none() {
        let _ = tx.send(Piece::Done).await;
    }
    drop(tx);
    let written = writer.await.map_err(|e| HttpError::internal(format!("upload task failed: {e}")))?;
    if let Some(error) = body_error {
        return Err(error.into());
    }
    let stored = written?;
    Ok(Written {
        name: dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: dest.to_string_lossy().into_owned(),
        kind: "file",
        metadata: stored.then(|| {
            metadata.iter().map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned())).collect()
        }),
    })
}

#[tracing::instrument(name = "POST /files", skip_all)]
pub(crate) async fn upload(
    State(state): State<Arc<HttpState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let query = FilesQuery::parse(raw.as_deref())?;
    query.authorize(&state, &headers, Operation::Write)?;
    let user = query.user(&state)?;
    let body = decoded_body(&headers, body)?;
    let metadata =
        Arc::new(metadata::from_headers(&headers).map_err(|e| HttpError::bad_request(e.to_string()))?);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();

    let written = if media_type == "application/octet-stream" {
        let path = query
            .path
            .as_deref()
            .ok_or_else(|| HttpError::bad_request("path query parameter is required for raw body upload"))?;
        let dest = query.resolve(&state, &user, path)?;
        vec![write_one(dest, &user, metadata, body).await?]
    } else if media_type.starts_with("multipart/") {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|e| HttpError::bad_request(format!("error parsing multipart form: {e}")))?;
        let mut form = multer::Multipart::new(body, boundary);
        let mut written: Vec<Written> = Vec::new();
        while let Some(field) =
            form.next_field().await.map_err(|e| HttpError::bad_request(format!("error reading form: {e}")))?
        {
            if field.name() != Some("file") {
                continue;
            }
            let target = match (&query.path, field.file_name()) {
                (Some(path), _) => path.clone(),
                (None, Some(name)) if !name.is_empty() => name.to_owned(),
                (None, _) => {
                    return Err(HttpError::bad_request("a file part has no filename and no path was given"));
                }
            };
            let dest = query.resolve(&state, &user, &target)?;
            if written.iter().any(|w| Path::new(&w.path) == dest) {
                return Err(HttpError::bad_request(format!(
                    "you cannot upload multiple files to the same path '{}' in one upload request, only the first specified file was uploaded",
                    dest.display()
                )));
            }
            let data = field.map(|r| r.map_err(|e| BodyError::Read(e.to_string())));
            written.push(write_one(dest, &user, Arc::clone(&metadata), data).await?);
        }
        written
    } else {
        return Err(HttpError::bad_request(format!(
            "unsupported content type: {content_type}, expected multipart/form-data or application/octet-stream"
        )));
    };
    let body = serde_json::to_vec(&written).map_err(|e| HttpError::internal(e.to_string()))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_negotiation() {
        assert_eq!(negotiate(None), Some(Coding::Identity));
        assert_eq!(negotiate(Some("gzip, deflate")), Some(Coding::Gzip));
        assert_eq!(negotiate(Some("identity")), Some(Coding::Identity));
        assert_eq!(negotiate(Some("gzip;q=0.5, identity")), Some(Coding::Identity));
        assert_eq!(negotiate(Some("identity;q=0.5, gzip")), Some(Coding::Gzip));
        assert_eq!(negotiate(Some("br")), Some(Coding::Identity));
        assert_eq!(negotiate(Some("br, identity;q=0")), None);
        assert_eq!(negotiate(Some("*, identity;q=0")), Some(Coding::Gzip));
        assert_eq!(negotiate(Some("gzip;q=0")), Some(Coding::Identity));
        assert_eq!(negotiate(Some("GZIP")), Some(Coding::Gzip));
    }

    #[test]
    fn compressibility_probe() {
        assert!(compresses(&[b'a'; 100_000]));
        let mut state = 1u32;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        assert!(!compresses(&noise));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeRequest::Part { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=90-", 100), RangeRequest::Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-10", 100), RangeRequest::Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=50-500", 100), RangeRequest::Part { start: 50, end: 99 });
        assert_eq!(parse_range("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeRequest::Whole);
        assert_eq!(parse_range("items=0-1", 100), RangeRequest::Whole);
        assert_eq!(parse_range("bytes=-0", 100), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn query_parsing() {
        let q = FilesQuery::parse(Some("path=%2Fa%2Fb&username=user&path=ignored&signature_expiration=12"))
            .unwrap();
        assert_eq!(q.path.as_deref(), Some("/a/b"));
        assert_eq!(q.username(), Some("user"));
        assert_eq!(q.expiration, Some(12));
        assert!(FilesQuery::parse(Some("signature_expiration=soon")).is_err());
    }

    #[tokio::test]
    async fn gunzip_stream_round_trip_and_garbage() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        let plain = vec![7u8; 200_000];
        encoder.write_all(&plain).unwrap();
        let gz = encoder.finish().unwrap();
        let chunks: Vec<Result<Bytes, BodyError>> =
            gz.chunks(1000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let out: Vec<u8> =
            gunzip(futures::stream::iter(chunks)).map(|r| r.unwrap()).collect::<Vec<_>>().await.concat();
        assert_eq!(out, plain);
        let garbage = vec![Ok(Bytes::from_static(b"definitely not gzip"))];
        let results: Vec<_> = gunzip(futures::stream::iter(garbage)).collect().await;
        assert!(results.iter().any(|r| r.is_err()));
        let truncated = vec![Ok(Bytes::copy_from_slice(&gz[..gz.len() / 2]))];
        let results: Vec<_> = gunzip(futures::stream::iter(truncated)).collect().await;
        assert!(results.iter().any(|r| r.is_err()), "a truncated stream is an error");
    }
}
