//! The server half: serve tonic service implementations over Connect.
//!
//! A service is implemented once, against the tonic-generated trait from
//! `e2b-proto`. tonic's generated server serves it as gRPC; a
//! [`ConnectRouter`] serves the same implementation as Connect (unary,
//! server-streaming and client-streaming, JSON and binary, gzip, deadlines).
//! [`is_grpc`] tells the two kinds of request apart, so both share one port.
//!
//! Connect rules this adapter enforces (PROTOCOL.md 5.1):
//! * unary errors are HTTP errors with a JSON `{code, message, details}` body;
//! * streams always answer HTTP 200 and always end with an end-of-stream
//!   frame, which carries the error if the call failed, even when the handler
//!   failed before producing a message;
//! * `Connect-Timeout-Ms` is a deadline for the whole call, and is also handed
//!   to the handler as a [`Deadline`] request extension;
//! * unknown methods, wrong HTTP methods, unsupported content types or
//!   compressions, malformed bodies and oversize messages get the proper
//!   Connect error, never a panic or a hang.
//!
//! ```
//! use std::sync::Arc;
//! use e2b_connect::server::ConnectRouter;
//! use e2b_proto::process::{ListRequest, ListResponse, process_methods};
//!
//! let router = ConnectRouter::new().unary(process_methods::LIST, |_req: tonic::Request<ListRequest>| async {
//!     Ok(tonic::Response::new(ListResponse::default()))
//! });
//! # let _ = router;
//! ```

pub mod envd;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, StreamBody};
use tokio::time::Instant;
use tracing::Instrument;

use crate::codec::{Framing, accepts_gzip, gunzip, gzip, parse_encoding};
use crate::envelope::{EndStream, EnvelopeDecoder, FLAG_COMPRESSED, FLAG_END_STREAM, encode};
use crate::error::BoxError;
use crate::{Code, Codec, Message, Status};

/// Response body of every Connect response.
pub type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Default limit for one message (request or response), in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;

/// The deadline of the current call, from `Connect-Timeout-Ms`; inserted into
/// the extensions of the `tonic::Request` handed to handlers.
///
/// ```
/// # fn handler(req: tonic::Request<()>) {
/// use e2b_connect::server::Deadline;
/// if let Some(Deadline { timeout, .. }) = req.extensions().get::<Deadline>() {
///     println!("the caller gives us {timeout:?}");
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// When the call expires.
    pub at: Instant,
    /// The timeout the client asked for.
    pub timeout: Duration,
}

/// Whether a request is gRPC (to be served by tonic) rather than Connect.
///
/// ```
/// let req = http::Request::builder().header("content-type", "application/grpc+proto").body(()).unwrap();
/// assert!(e2b_connect::server::is_grpc(&req));
/// ```
pub fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.len() >= 16 && ct[..16].eq_ignore_ascii_case("application/grpc"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unary,
    ServerStreaming,
    ClientStreaming,
}

/// Everything a handler needs, after the generic checks passed.
struct Call {
    headers: HeaderMap,
    extensions: http::Extensions,
    body: RequestBody,
    codec: Codec,
    deadline: Option<Deadline>,
    gzip_request: bool,
    gzip_response: bool,
    limits: Limits,
}

#[derive(Clone, Copy, Debug)]
struct Limits {
    max_message_size: usize,
    compress_min_bytes: Option<usize>,
}

type Handler = Arc<dyn Fn(Call) -> BoxFuture<'static, http::Response<ResponseBody>> + Send + Sync>;

#[derive(Clone)]
struct Route {
    kind: Kind,
    handler: Handler,
}

/// Routes `/<package>.<Service>/<Method>` requests to handlers, speaking
/// Connect. Cheap to clone; a `tower::Service` for any request body.
#[derive(Clone)]
pub struct ConnectRouter {
    routes: Arc<HashMap<String, Route>>,
    limits: Limits,
}

impl Default for ConnectRouter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ConnectRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut paths: Vec<&String> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("ConnectRouter").field("routes", &paths).field("limits", &self.limits).finish()
    }
}

impl ConnectRouter {
    /// A router with no routes.
    pub fn new() -> Self {
        ConnectRouter {
            routes: Arc::default(),
            limits: Limits { max_message_size: DEFAULT_MAX_MESSAGE_SIZE, compress_min_bytes: None },
        }
    }

    /// Limits the size of one message, before and after decompression.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.limits.max_message_size = bytes;
        self
    }

    /// Gzip responses of at least `min_bytes` when the client accepts gzip.
    /// Off by default: identity is always acceptable, and on loopback or in a
    /// datacenter compression costs more than it saves.
    pub fn compress_responses(mut self, min_bytes: usize) -> Self {
        self.limits.compress_min_bytes = Some(min_bytes);
        self
    }

    /// The registered method paths.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// Adds every route of `other` (its limits are ignored).
    pub fn merge(mut self, other: ConnectRouter) -> Self {
        let routes = Arc::make_mut(&mut self.routes);
        for (path, route) in other.routes.iter() {
            routes.insert(path.clone(), route.clone());
        }
        self
    }

    fn add(mut self, path: &str, kind: Kind, handler: Handler) -> Self {
        Arc::make_mut(&mut self.routes).insert(path.to_owned(), Route { kind, handler });
        self
    }

    /// Registers a unary method.
    pub fn unary<Req, Resp, F, Fut>(self, path: &str, handler: F) -> Self
    where
        Req: Message,
        Resp: Message,
        F: Fn(tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.add(
            path,
            Kind::Unary,
            Arc::new(move |call: Call| {
                let handler = handler.clone();
                Box::pin(async move { serve_unary(call, |req| handler(req)).await })
            }),
        )
    }

    /// Registers a server-streaming method.
    pub fn server_streaming<Req, Resp, S, F, Fut>(self, path: &str, handler: F) -> Self
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
        F: Fn(tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.add(
            path,
            Kind::ServerStreaming,
            Arc::new(move |call: Call| {
                let handler = handler.clone();
                Box::pin(async move { serve_server_streaming(call, |req| handler(req)).await })
            }),
        )
    }

    /// Registers a client-streaming method. The handler receives the
    /// messages as a `tonic::Streaming`, exactly as under gRPC.
    pub fn client_streaming<Req, Resp, F, Fut>(self, path: &str, handler: F) -> Self
    where
        Req: Message,
        Resp: Message,
        F: Fn(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.add(
            path,
            Kind::ClientStreaming,
            Arc::new(move |call: Call| {
                let handler = handler.clone();
                Box::pin(async move { serve_client_streaming(call, |req| handler(req)).await })
            }),
        )
    }

    /// Handles one request. Never fails: errors become Connect error responses.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let span = tracing::debug_span!("connect", rpc = %path);
        async move {
            let Some(route) = self.routes.get(&path).cloned() else {
                let status = Status::new(Code::Unimplemented, format!("no such method: {path}"));
                return error_response(StatusCode::NOT_FOUND, &status);
            };
            if parts.method != Method::POST {
                let mut response = error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &Status::new(Code::Unimplemented, format!("{} is not supported, use POST", parts.method)),
                );
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
            let framing = match route.kind {
                Kind::Unary => Framing::Unary,
                _ => Framing::Enveloped,
            };
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let codec = match content_type.and_then(Codec::parse_content_type) {
                Some((codec, f)) if f == framing => codec,
                _ => return unsupported_media_type(framing, content_type),
            };
            let stream_error = |status: Status| match framing {
                Framing::Unary => unary_error(&status),
                Framing::Enveloped => end_of_stream_only(codec, &status),
            };

            let deadline = match parse_timeout(parts.headers.get("connect-timeout-ms")) {
                Ok(timeout) => timeout.map(|timeout| Deadline { at: Instant::now() + timeout, timeout }),
                Err(status) => return stream_error(status),
            };
            let (encoding_header, accept_header) = match framing {
                Framing::Unary => (header::CONTENT_ENCODING.as_str(), header::ACCEPT_ENCODING.as_str()),
                Framing::Enveloped => ("connect-content-encoding", "connect-accept-encoding"),
            };
            let gzip_request = match parse_encoding(parts.headers.get(encoding_header)) {
                Ok(gzip) => gzip,
                Err(other) => {
                    return stream_error(Status::new(
                        Code::Unimplemented,
                        format!("unsupported compression {other:?}: supported are identity and gzip"),
                    ));
                }
            };
            let gzip_response =
                self.limits.compress_min_bytes.is_some() && accepts_gzip(parts.headers.get(accept_header));

            let mut extensions = parts.extensions;
            if let Some(deadline) = deadline {
                extensions.insert(deadline);
            }
            let call = Call {
                headers: parts.headers,
                extensions,
                body: body.map_err(Into::into).boxed_unsync(),
                codec,
                deadline,
                gzip_request,
                gzip_response,
                limits: self.limits,
            };
            (route.handler)(call).await
        }
        .instrument(span)
        .await
    }
}

impl<B> tower_service::Service<http::Request<B>> for ConnectRouter
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let router = self.clone();
        Box::pin(async move { Ok(router.handle(request).await) })
    }
}

/// `Connect-Timeout-Ms`: at most 10 ASCII digits (Connect's rule).
fn parse_timeout(value: Option<&HeaderValue>) -> Result<Option<Duration>, Status> {
    let Some(value) = value else { return Ok(None) };
    let text = value.to_str().unwrap_or_default();
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Status::new(Code::InvalidArgument, format!("invalid Connect-Timeout-Ms: {value:?}")));
    }
    let ms: u64 = text.parse().expect("checked to be digits");
    Ok(Some(Duration::from_millis(ms)))
}

fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

fn error_response(http_status: StatusCode, status: &Status) -> http::Response<ResponseBody> {
    let body = serde_json::to_vec(&status.to_error_json()).expect("error JSON always serializes");
    let mut response = http::Response::new(full(body.into()));
    *response.status_mut() = http_status;
    let headers = response.headers_mut();
    headers.extend(status.metadata().clone());
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn unary_error(status: &Status) -> http::Response<ResponseBody> {
    let code = StatusCode::from_u16(status.code().http_status()).expect("table statuses are valid");
    error_response(code, status)
}

fn unsupported_media_type(framing: Framing, got: Option<&str>) -> http::Response<ResponseBody> {
    let accept = match framing {
        Framing::Unary => "application/json, application/proto",
        Framing::Enveloped => "application/connect+json, application/connect+proto",
    };
    let status = Status::new(
        Code::Unimplemented,
        format!("unsupported content type {:?}; this method accepts {accept}", got.unwrap_or("")),
    );
    let mut response = error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &status);
    response.headers_mut().insert("accept-post", HeaderValue::from_static(accept));
    response
}

fn stream_headers(codec: Codec, gzip: bool) -> http::response::Builder {
    let mut builder = http::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, codec.stream_content_type());
    if gzip {
        builder = builder.header("connect-content-encoding", "gzip");
    }
    builder
}

/// A stream response that carries nothing but the final error.
fn end_of_stream_only(codec: Codec, status: &Status) -> http::Response<ResponseBody> {
    let mut buf = BytesMut::new();
    let end = EndStream { metadata: status.metadata().clone(), error: Some(status.clone()) };
    encode(FLAG_END_STREAM, &end.encode(), &mut buf);
    stream_headers(codec, false).body(full(buf.freeze())).expect("static headers are valid")
}

fn request_from_parts<M>(call: &mut Call, message: M) -> tonic::Request<M> {
    let metadata = tonic::metadata::MetadataMap::from_headers(std::mem::take(&mut call.headers));
    tonic::Request::from_parts(metadata, std::mem::take(&mut call.extensions), message)
}

/// Reads a whole body, bounded by `limit` bytes.
async fn read_body(mut body: RequestBody, limit: usize) -> Result<Bytes, Status> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Status::new(Code::Canceled, format!("reading the request failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(Status::new(
                    Code::ResourceExhausted,
                    format!("request exceeds the message size limit of {limit} bytes"),
                ));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

fn decode_message<M: Message>(codec: Codec, data: &[u8]) -> Result<M, Status> {
    codec
        .decode(data)
        .map_err(|e| Status::new(Code::InvalidArgument, format!("invalid request message: {e}")))
}

fn decompress(data: Bytes, gzip: bool, limit: usize) -> Result<Bytes, Status> {
    if !gzip {
        return Ok(data);
    }
    gunzip(&data, limit).map_err(|e| match e {
        crate::codec::GunzipError::TooLarge(_) => Status::new(Code::ResourceExhausted, e.to_string()),
        crate::codec::GunzipError::Invalid(_) => Status::new(Code::InvalidArgument, e.to_string()),
    })
}

fn encode_message<M: Message>(codec: Codec, message: &M, limit: usize) -> Result<Bytes, Status> {
    let data = codec
        .encode(message)
        .map_err(|e| Status::new(Code::Internal, format!("failed to encode the response: {e}")))?;
    if data.len() > limit {
        return Err(Status::new(
            Code::ResourceExhausted,
            format!("response of {} bytes exceeds the message size limit of {limit} bytes", data.len()),
        ));
    }
    Ok(data)
}

fn should_gzip(call_gzip: bool, limits: Limits, len: usize) -> bool {
    call_gzip && limits.compress_min_bytes.is_some_and(|min| len >= min)
}

/// Runs `fut`, bounded by the call's deadline.
async fn with_deadline<T>(
    deadline: Option<Deadline>,
    fut: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, Status> {
    let result = match deadline {
        Some(d) => match tokio::time::timeout_at(d.at, fut).await {
            Ok(r) => r,
            Err(_) => return Err(deadline_exceeded(d)),
        },
        None => fut.await,
    };
    result.map_err(Status::from)
}

/// Runs `fut` (reading and decoding the request), bounded by the call's deadline: a client
/// that sends half a body and waits must not hold the call past it.
async fn within_deadline<T>(
    deadline: Option<Deadline>,
    fut: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.at, fut).await.unwrap_or_else(|_| Err(deadline_exceeded(d))),
        None => fut.await,
    }
}

fn deadline_exceeded(d: Deadline) -> Status {
    Status::new(
        Code::DeadlineExceeded,
        format!("the call exceeded its timeout of {} ms", d.timeout.as_millis()),
    )
}

async fn serve_unary<Req, Resp, Fut>(
    mut call: Call,
    handler: impl FnOnce(tonic::Request<Req>) -> Fut,
) -> http::Response<ResponseBody>
where
    Req: Message,
    Resp: Message,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let limit = call.limits.max_message_size;
    let prepared = async {
        let raw = read_body(std::mem::replace(&mut call.body, full(Bytes::new())), limit).await?;
        let raw = decompress(raw, call.gzip_request, limit)?;
        decode_message::<Req>(call.codec, &raw)
    };
    let message = match within_deadline(call.deadline, prepared).await {
        Ok(m) => m,
        Err(status) => return unary_error(&status),
    };
    let (codec, deadline, gzip_ok, limits) = (call.codec, call.deadline, call.gzip_response, call.limits);
    let request = request_from_parts(&mut call, message);
    let response = match with_deadline(deadline, handler(request)).await {
        Ok(r) => r,
        Err(status) => return unary_error(&status),
    };
    let (metadata, message, _) = response.into_parts();
    let data = match encode_message(codec, &message, limits.max_message_size) {
        Ok(d) => d,
        Err(status) => return unary_error(&status),
    };
    let mut builder = http::Response::builder().status(StatusCode::OK);
    if let Some(headers) = builder.headers_mut() {
        headers.extend(metadata.into_headers());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(codec.unary_content_type()));
    }
    let body = if should_gzip(gzip_ok, limits, data.len()) {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        gzip(&data)
    } else {
        data
    };
    builder.body(full(body)).expect("response headers are valid")
}

/// Reads the single enveloped request message of a server-streaming call.
async fn read_single_envelope<Req: Message>(call: &mut Call) -> Result<Req, Status> {
    let limit = call.limits.max_message_size;
    // The envelope header is 5 bytes on top of the message.
    let raw = read_body(std::mem::replace(&mut call.body, full(Bytes::new())), limit + 5).await?;
    let mut decoder = EnvelopeDecoder::new(limit);
    decoder.push(raw);
    let envelope = decoder.next_envelope().map_err(|e| Status::new(Code::InvalidArgument, e.to_string()))?;
    let Some(envelope) = envelope else {
        return Err(Status::new(Code::InvalidArgument, "the request stream contained no message"));
    };
    decoder.finish().map_err(|e| Status::new(Code::InvalidArgument, e.to_string()))?;
    if decoder.next_envelope().map_err(|e| Status::new(Code::InvalidArgument, e.to_string()))?.is_some() {
        return Err(Status::new(Code::InvalidArgument, "a server-streaming call takes exactly one message"));
    }
    if envelope.is_end_stream() {
        return Err(Status::new(Code::InvalidArgument, "unexpected end-of-stream flag in a request"));
    }
    if envelope.is_compressed() && !call.gzip_request {
        return Err(Status::new(
            Code::InvalidArgument,
            "compressed message without Connect-Content-Encoding",
        ));
    }
    let compressed = envelope.is_compressed();
    let data = decompress(envelope.data, compressed, limit)?;
    decode_message(call.codec, &data)
}

async fn serve_server_streaming<Req, Resp, S, Fut>(
    mut call: Call,
    handler: impl FnOnce(tonic::Request<Req>) -> Fut,
) -> http::Response<ResponseBody>
where
    Req: Message,
    Resp: Message,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>>,
{
    let codec = call.codec;
    let deadline = call.deadline;
    let message = match within_deadline(deadline, read_single_envelope::<Req>(&mut call)).await {
        Ok(m) => m,
        Err(status) => return end_of_stream_only(codec, &status),
    };
    let (deadline, gzip_ok, limits) = (call.deadline, call.gzip_response, call.limits);
    let request = request_from_parts(&mut call, message);
    let response = match with_deadline(deadline, handler(request)).await {
        Ok(r) => r,
        Err(status) => return end_of_stream_only(codec, &status),
    };
    let (metadata, stream, _) = response.into_parts();
    let frames = envelope_stream(stream.map(|r| r.map_err(Status::from)), codec, deadline, gzip_ok, limits);
    let mut builder = stream_headers(codec, gzip_ok);
    if let Some(headers) = builder.headers_mut() {
        let mut extra = metadata.into_headers();
        extra.remove(header::CONTENT_TYPE);
        headers.extend(extra);
    }
    builder.body(StreamBody::new(frames).boxed_unsync()).expect("response headers are valid")
}

/// Turns a message stream into body frames: one envelope per message, then
/// the end-of-stream envelope (with the error, if the stream failed or the
/// deadline passed). Dropping the body drops `stream`, which cancels the
/// handler's work.
fn envelope_stream<Resp: Message>(
    stream: impl Stream<Item = Result<Resp, Status>> + Send + 'static,
    codec: Codec,
    deadline: Option<Deadline>,
    gzip_ok: bool,
    limits: Limits,
) -> impl Stream<Item = Result<Frame<Bytes>, BoxError>> + Send + 'static {
    struct State<S> {
        stream: Pin<Box<S>>,
        deadline: Option<(Pin<Box<tokio::time::Sleep>>, Deadline)>,
        done: bool,
    }
    let state = State {
        stream: Box::pin(stream),
        deadline: deadline.map(|d| (Box::pin(tokio::time::sleep_until(d.at)), d)),
        done: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        let next = match st.deadline.as_mut() {
            Some((sleep, d)) => {
                let d = *d;
                tokio::select! {
                    biased;
                    item = st.stream.next() => item,
                    _ = sleep.as_mut() => Some(Err(deadline_exceeded(d))),
                }
            }
            None => st.stream.next().await,
        };
        let mut buf = BytesMut::new();
        match next {
            Some(Ok(message)) => match encode_message(codec, &message, limits.max_message_size) {
                Ok(data) if should_gzip(gzip_ok, limits, data.len()) => {
                    encode(FLAG_COMPRESSED, &gzip(&data), &mut buf)
                }
                Ok(data) => encode(0, &data, &mut buf),
                Err(status) => {
                    st.done = true;
                    let end = EndStream { metadata: status.metadata().clone(), error: Some(status) };
                    encode(FLAG_END_STREAM, &end.encode(), &mut buf);
                }
            },
            Some(Err(status)) => {
                st.done = true;
                let end = EndStream { metadata: status.metadata().clone(), error: Some(status) };
                encode(FLAG_END_STREAM, &end.encode(), &mut buf);
            }
            None => {
                st.done = true;
                encode(FLAG_END_STREAM, &EndStream::default().encode(), &mut buf);
            }
        }
        Some((Ok(Frame::data(buf.freeze())), st))
    })
}

/// tonic decoder for Connect request envelopes (gRPC and Connect share the
/// 5-byte framing of messages, so tonic's `Streaming` can read them).
struct ConnectDecoder<M> {
    codec: Codec,
    _message: PhantomData<fn() -> M>,
}

impl<M: Message> tonic::codec::Decoder for ConnectDecoder<M> {
    type Item = M;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<M>, tonic::Status> {
        use bytes::Buf;
        let data = src.copy_to_bytes(src.remaining());
        self.codec
            .decode(&data)
            .map(Some)
            .map_err(|e| tonic::Status::invalid_argument(format!("invalid request message: {e}")))
    }
}

async fn serve_client_streaming<Req, Resp, Fut>(
    mut call: Call,
    handler: impl FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut,
) -> http::Response<ResponseBody>
where
    Req: Message,
    Resp: Message,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let (codec, deadline, gzip_ok, limits) = (call.codec, call.deadline, call.gzip_response, call.limits);
    let body = std::mem::replace(&mut call.body, full(Bytes::new()));
    let encoding = call.gzip_request.then_some(tonic::codec::CompressionEncoding::Gzip);
    let messages = tonic::Streaming::new_request(
        ConnectDecoder::<Req> { codec, _message: PhantomData },
        body,
        encoding,
        Some(limits.max_message_size),
    );
    let request = request_from_parts(&mut call, messages);
    let response = match with_deadline(deadline, handler(request)).await {
        Ok(r) => r,
        Err(status) => return end_of_stream_only(codec, &status),
    };
    let (metadata, message, _) = response.into_parts();
    let frames = envelope_stream(futures::stream::once(async { Ok(message) }), codec, None, gzip_ok, limits);
    let mut builder = stream_headers(codec, gzip_ok);
    if let Some(headers) = builder.headers_mut() {
        let mut extra = metadata.into_headers();
        extra.remove(header::CONTENT_TYPE);
        headers.extend(extra);
    }
    builder.body(StreamBody::new(frames).boxed_unsync()).expect("response headers are valid")
}
