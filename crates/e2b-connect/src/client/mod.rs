//! The client half: Connect calls over one pooled hyper client.
//!
//! * unary, server-streaming and client-streaming calls, JSON (default, as the
//!   official E2B SDKs) or binary protobuf;
//! * HTTP/1.1 over plain `http://` by default, h2c with prior knowledge when
//!   configured, TLS (rustls, ALPN h2/http1.1) for `https://`, optional custom
//!   CA bundle, `HTTPS_PROXY`/`NO_PROXY` support;
//! * `Connect-Timeout-Ms` from the call's timeout, enforced locally too;
//! * gzip for requests (opt-in) and responses (always understood);
//! * `TCP_NODELAY`, one connection pool per client; dropping a call or a
//!   stream cancels it (the HTTP/2 stream is reset, an HTTP/1.1 connection is
//!   closed);
//! * errors that say at which stage the call failed ([`Error`]), with
//!   non-Connect error answers (proxies, gateways) mapped as E2B does.
//!
//! ```no_run
//! # async fn demo() -> Result<(), e2b_connect::Error> {
//! use e2b_connect::client::{Client, Request};
//! use e2b_proto::process::{ListRequest, ListResponse, process_methods};
//!
//! let client = Client::builder().build()?;
//! let response = client
//!     .unary::<_, ListResponse>("http://localhost:49983", process_methods::LIST, Request::new(ListRequest {}))
//!     .await?;
//! for process in &response.message().processes {
//!     println!("{}", process.pid);
//! }
//! # Ok(()) }
//! ```

mod connector;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::{Instant, Sleep};
use tracing::Instrument;

pub use connector::Proxy;
use connector::TcpOrTunnel;

use crate::codec::{Framing, gunzip, gzip, parse_encoding};
use crate::envelope::{EndStream, EnvelopeDecoder, FLAG_COMPRESSED, encode};
use crate::error::BoxError;
use crate::{Code, Codec, Error, Message, Status};

type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
type Connector = hyper_rustls::HttpsConnector<TcpOrTunnel>;

/// Default limit for one message, in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;

/// Configures a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use e2b_connect::{Codec, client::Client};
///
/// let client = Client::builder()
///     .codec(Codec::Proto)
///     .http2_prior_knowledge(true)
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(60))
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    codec: Codec,
    http2_prior_knowledge: bool,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_message_size: usize,
    send_gzip: bool,
    accept_gzip: bool,
    extra_roots_pem: Vec<u8>,
    webpki_roots: bool,
    native_roots: bool,
    proxy: Option<Proxy>,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            codec: Codec::Json,
            http2_prior_knowledge: false,
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            send_gzip: false,
            accept_gzip: false,
            extra_roots_pem: Vec::new(),
            webpki_roots: true,
            native_roots: false,
            proxy: None,
            pool_idle_timeout: Duration::from_secs(300),
            pool_max_idle_per_host: 20,
            user_agent: concat!("e2b-connect-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientBuilder {
    /// Message encoding (JSON by default).
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Speak HTTP/2 without negotiation (h2c) to `http://` servers that
    /// support it, and require HTTP/2 over TLS. Off by default: E2B-compatible
    /// proxies expect HTTP/1.1 over plain HTTP.
    pub fn http2_prior_knowledge(mut self, on: bool) -> Self {
        self.http2_prior_knowledge = on;
        self
    }

    /// Bound on establishing a TCP connection (10 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Default deadline of every call, unless the call sets its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Largest message sent or accepted (after decompression), 16 MiB by default.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Gzip request messages. Off by default (envd never needs it).
    pub fn send_gzip(mut self, on: bool) -> Self {
        self.send_gzip = on;
        self
    }

    /// Ask servers for gzip responses. Off by default; gzip responses are
    /// decoded whether asked for or not.
    pub fn accept_gzip(mut self, on: bool) -> Self {
        self.accept_gzip = on;
        self
    }

    /// Trusts the certificates of a PEM bundle, in addition to the built-in
    /// roots.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Self {
        self.extra_roots_pem.extend_from_slice(pem);
        self.extra_roots_pem.push(b'\n');
        self
    }

    /// Whether to trust the Mozilla roots compiled in (on by default).
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.webpki_roots = on;
        self
    }

    /// Whether to trust the operating system's certificate store too.
    pub fn native_roots(mut self, on: bool) -> Self {
        self.native_roots = on;
        self
    }

    /// Proxy settings; [`Proxy::from_env`] by default.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// How long idle pooled connections are kept (300 s by default).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Idle connections kept per host (20 by default).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// The `User-Agent` sent unless a call sets its own.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Builds the client. Fails only on an invalid CA bundle or user agent.
    pub fn build(self) -> Result<Client, Error> {
        let mut roots = base_roots(self.webpki_roots, self.native_roots);
        if !self.extra_roots_pem.is_empty() {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&self.extra_roots_pem) {
                let cert = cert.map_err(|e| Error::Config(format!("invalid CA bundle: {e}")))?;
                roots.add(cert).map_err(|e| Error::Config(format!("invalid CA certificate: {e}")))?;
                added += 1;
            }
            if added == 0 {
                return Err(Error::Config("the CA bundle contains no certificate".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpOrTunnel::new(self.connect_timeout, self.proxy.clone().unwrap_or_else(Proxy::from_env));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let mut http = HyperClient::builder(TokioExecutor::new());
        http.pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(self.http2_prior_knowledge)
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            .http2_keep_alive_while_idle(false);
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config(format!("invalid user agent {:?}", self.user_agent)))?;
        Ok(Client { inner: Arc::new(Inner { http: http.build(connector), config: self, user_agent }) })
    }
}

struct Inner {
    http: HyperClient<Connector, RequestBody>,
    config: ClientBuilder,
    user_agent: HeaderValue,
}

/// A Connect client with one connection pool. Cheap to clone; clones share
/// the pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.inner.config).finish()
    }
}

/// An outgoing call: the message (or message stream), headers and timeout.
///
/// ```
/// use std::time::Duration;
/// use e2b_connect::client::Request;
/// use e2b_proto::process::ListRequest;
///
/// let request = Request::new(ListRequest {})
///     .header("authorization", "Basic dXNlcjo=")
///     .timeout(Duration::from_secs(5));
/// # let _ = request;
/// ```
#[derive(Debug)]
pub struct Request<T> {
    message: T,
    headers: HeaderMap,
    timeout: Option<Duration>,
    codec: Option<Codec>,
}

impl<T> Request<T> {
    /// A request with no extra headers and the client's default timeout.
    pub fn new(message: T) -> Self {
        Request { message, headers: HeaderMap::new(), timeout: None, codec: None }
    }

    /// Adds a header. Invalid names or values are ignored with a warning
    /// (use [`Request::headers_mut`] to handle them yourself).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => tracing::warn!(name, "ignoring an invalid request header"),
        }
        self
    }

    /// The request headers.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Deadline of this call (sent as `Connect-Timeout-Ms`). `Duration::ZERO`
    /// means no deadline, even if the client has a default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's codec for this call.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = Some(codec);
        self
    }
}

/// A unary (or client-streaming) response: the message and the headers.
#[derive(Debug, Clone)]
pub struct Response<T> {
    message: T,
    headers: HeaderMap,
    trailers: HeaderMap,
}

impl<T> Response<T> {
    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// Takes the message.
    pub fn into_message(self) -> T {
        self.message
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Trailers (end-of-stream metadata of a client-streaming call).
    pub fn trailers(&self) -> &HeaderMap {
        &self.trailers
    }
}

struct CallSetup {
    codec: Codec,
    deadline: Option<(Instant, Duration)>,
    uri: Uri,
    span: tracing::Span,
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    fn setup<T>(&self, base_url: &str, path: &str, request: &Request<T>) -> Result<CallSetup, Error> {
        let url = format!("{}{}", base_url.trim_end_matches('/'), path);
        let uri: Uri = url.parse().map_err(|e| Error::InvalidRequest(format!("invalid URL {url:?}: {e}")))?;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(Error::InvalidRequest(format!("URL {url:?} needs a scheme and a host")));
        }
        let codec = request.codec.unwrap_or(self.inner.config.codec);
        let timeout = request.timeout.or(self.inner.config.timeout).filter(|t| !t.is_zero());
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        let span = tracing::debug_span!("connect_call", rpc = %path, host = uri.host().unwrap_or_default());
        Ok(CallSetup { codec, deadline, uri, span })
    }

    fn http_request(
        &self,
        setup: &CallSetup,
        framing: Framing,
        mut headers: HeaderMap,
        body: RequestBody,
    ) -> Result<http::Request<RequestBody>, Error> {
        let config = &self.inner.config;
        let mut builder = http::Request::builder().method(Method::POST).uri(setup.uri.clone());
        let h = builder.headers_mut().expect("a fresh builder has headers");
        let content_type = match framing {
            Framing::Unary => setup.codec.unary_content_type(),
            Framing::Enveloped => setup.codec.stream_content_type(),
        };
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert("connect-protocol-version", HeaderValue::from_static("1"));
        h.insert(header::USER_AGENT, self.inner.user_agent.clone());
        if let Some((_, timeout)) = setup.deadline {
            // Connect allows at most 10 digits.
            let ms = timeout.as_millis().clamp(1, 9_999_999_999);
            h.insert("connect-timeout-ms", HeaderValue::from(ms as u64));
        }
        match framing {
            Framing::Unary => {
                if config.send_gzip {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                if config.accept_gzip {
                    h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
                }
            }
            Framing::Enveloped => {
                if config.send_gzip {
                    h.insert("connect-content-encoding", HeaderValue::from_static("gzip"));
                }
                if config.accept_gzip {
                    h.insert("connect-accept-encoding", HeaderValue::from_static("gzip"));
                }
            }
        }
        // The caller's headers win (e.g. its own User-Agent).
        let mut last = None;
        for (name, value) in headers.drain() {
            let name = name.or(last.clone()).expect("the first drained header has a name");
            if last.as_ref() != Some(&name) {
                h.remove(&name);
            }
            h.append(name.clone(), value);
            last = Some(name);
        }
        builder.body(body).map_err(|e| Error::InvalidRequest(e.to_string()))
    }

    /// Sends the request and waits for the response head, within the deadline.
    async fn send(
        &self,
        setup: &CallSetup,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Incoming>, Error> {
        let fut = self.inner.http.request(request);
        let result = match setup.deadline {
            Some((at, timeout)) => {
                tokio::time::timeout_at(at, fut).await.map_err(|_| Error::Timeout(timeout))?
            }
            None => fut.await,
        };
        result.map_err(|e| Error::Transport(e.into()))
    }

    fn encode_message<M: Message>(&self, codec: Codec, message: &M) -> Result<Bytes, Error> {
        let data = codec.encode(message).map_err(Error::Codec)?;
        let limit = self.inner.config.max_message_size;
        if data.len() > limit {
            return Err(Error::MessageTooLarge { size: data.len(), limit });
        }
        Ok(data)
    }

    /// A unary call: one message each way.
    pub async fn unary<Req: Message, Resp: Message>(
        &self,
        base_url: &str,
        path: &str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Error> {
        let setup = self.setup(base_url, path, &request)?;
        let span = setup.span.clone();
        async move {
            let mut data = self.encode_message(setup.codec, &request.message)?;
            if self.inner.config.send_gzip {
                data = gzip(&data);
            }
            let body = Full::new(data).map_err(|never| match never {}).boxed_unsync();
            let http_request = self.http_request(&setup, Framing::Unary, request.headers, body)?;
            let limit = self.inner.config.max_message_size;
            let exchange = async {
                let response = self.send(&setup, http_request).await?;
                let (parts, body) = response.into_parts();
                let raw = read_limited(body, limit).await?;
                let encoding = parse_encoding(parts.headers.get(header::CONTENT_ENCODING));
                if parts.status != StatusCode::OK {
                    // Error bodies are compressed like any other; one we cannot decode
                    // still gives the error its HTTP status implies.
                    let body = match encoding {
                        Ok(true) => gunzip(&raw, limit).unwrap_or(raw),
                        _ => raw,
                    };
                    return Err(error_from_http(parts.status, &parts.headers, &body));
                }
                check_content_type(&parts.headers, setup.codec, Framing::Unary)?;
                let gzipped = encoding
                    .map_err(|e| Error::Protocol(format!("unsupported response compression {e:?}")))?;
                let raw = if gzipped { gunzip(&raw, limit).map_err(gunzip_error)? } else { raw };
                let message = setup.codec.decode::<Resp>(&raw).map_err(Error::Codec)?;
                Ok(Response { message, headers: parts.headers, trailers: HeaderMap::new() })
            };
            let result = match setup.deadline {
                Some((at, timeout)) => {
                    tokio::time::timeout_at(at, exchange).await.map_err(|_| Error::Timeout(timeout))?
                }
                None => exchange.await,
            };
            if let Err(e) = &result {
                tracing::debug!(error = %e, "call failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    /// A server-streaming call: one message up, a stream of messages down.
    /// Returns once the response headers arrived; the deadline then keeps
    /// bounding the whole stream.
    pub async fn server_streaming<Req: Message, Resp: Message>(
        &self,
        base_url: &str,
        path: &str,
        request: Request<Req>,
    ) -> Result<Streaming<Resp>, Error> {
        let setup = self.setup(base_url, path, &request)?;
        let span = setup.span.clone();
        async move {
            let data = self.encode_message(setup.codec, &request.message)?;
            let mut buf = BytesMut::new();
            if self.inner.config.send_gzip {
                encode(FLAG_COMPRESSED, &gzip(&data), &mut buf);
            } else {
                encode(0, &data, &mut buf);
            }
            let body = Full::new(buf.freeze()).map_err(|never| match never {}).boxed_unsync();
            let http_request = self.http_request(&setup, Framing::Enveloped, request.headers, body)?;
            self.open_stream(setup, http_request).await
        }
        .instrument(span)
        .await
    }

    /// A client-streaming call: a stream of messages up, one message down.
    /// Over HTTP/2 the call is full duplex: the server may answer before the
    /// upload ends.
    pub async fn client_streaming<Req, Resp, S>(
        &self,
        base_url: &str,
        path: &str,
        request: Request<S>,
    ) -> Result<Response<Resp>, Error>
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Req> + Send + 'static,
    {
        use futures::StreamExt;
        let setup = self.setup(base_url, path, &request)?;
        let span = setup.span.clone();
        let (codec, limit, gzip_on) =
            (setup.codec, self.inner.config.max_message_size, self.inner.config.send_gzip);
        async move {
            let frames = request.message.map(move |message| -> Result<Frame<Bytes>, BoxError> {
                let data = codec.encode(&message)?;
                if data.len() > limit {
                    return Err(format!(
                        "message of {} bytes exceeds the limit of {limit} bytes",
                        data.len()
                    )
                    .into());
                }
                let mut buf = BytesMut::new();
                if gzip_on {
                    encode(FLAG_COMPRESSED, &gzip(&data), &mut buf);
                } else {
                    encode(0, &data, &mut buf);
                }
                Ok(Frame::data(buf.freeze()))
            });
            let body = StreamBody::new(frames).boxed_unsync();
            let http_request = self.http_request(&setup, Framing::Enveloped, request.headers, body)?;
            let mut stream = self.open_stream::<Resp>(setup, http_request).await?;
            let message = match futures::StreamExt::next(&mut stream).await {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::Protocol(
                        "client-streaming call ended without a response message".into(),
                    ));
                }
            };
            match futures::StreamExt::next(&mut stream).await {
                None => {}
                Some(Ok(_)) => {
                    return Err(Error::Protocol(
                        "client-streaming call returned more than one message".into(),
                    ));
                }
                Some(Err(e)) => return Err(e),
            }
            let trailers = stream.trailers().cloned().unwrap_or_default();
            Ok(Response { message, headers: stream.headers, trailers })
        }
        .instrument(span)
        .await
    }

    async fn open_stream<Resp: Message>(
        &self,
        setup: CallSetup,
        http_request: http::Request<RequestBody>,
    ) -> Result<Streaming<Resp>, Error> {
        let limit = self.inner.config.max_message_size;
        let response = self.send(&setup, http_request).await?;
        let (parts, body) = response.into_parts();
        if parts.status != StatusCode::OK {
            let fut = read_limited(body, limit);
            let raw = match setup.deadline {
                Some((at, timeout)) => {
                    tokio::time::timeout_at(at, fut).await.map_err(|_| Error::Timeout(timeout))??
                }
                None => fut.await?,
            };
            return Err(error_from_http(parts.status, &parts.headers, &raw));
        }
        check_content_type(&parts.headers, setup.codec, Framing::Enveloped)?;
        let gzipped = parse_encoding(parts.headers.get("connect-content-encoding"))
            .map_err(|e| Error::Protocol(format!("unsupported stream compression {e:?}")))?;
        Ok(Streaming {
            headers: parts.headers,
            body,
            decoder: EnvelopeDecoder::new(limit),
            codec: setup.codec,
            gzipped,
            limit,
            deadline: setup.deadline.map(|(at, timeout)| (Box::pin(tokio::time::sleep_until(at)), timeout)),
            trailers: None,
            done: false,
            span: setup.span,
            _message: std::marker::PhantomData,
        })
    }
}

/// The messages of a server-streaming call, as a [`futures::Stream`].
///
/// Ends (`None`) after a successful end-of-stream message; yields one `Err`
/// and then ends when the call failed, timed out or broke the protocol.
/// Dropping it cancels the call.
pub struct Streaming<T> {
    headers: HeaderMap,
    body: Incoming,
    decoder: EnvelopeDecoder,
    codec: Codec,
    gzipped: bool,
    limit: usize,
    deadline: Option<(Pin<Box<Sleep>>, Duration)>,
    trailers: Option<HeaderMap>,
    done: bool,
    span: tracing::Span,
    _message: std::marker::PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streaming").field("headers", &self.headers).field("done", &self.done).finish()
    }
}

impl<T> Streaming<T> {
    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// End-of-stream metadata, once the stream has ended.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }
}

impl<T: Message> Streaming<T> {
    fn fail(&mut self, error: Error) -> Poll<Option<Result<T, Error>>> {
        self.done = true;
        tracing::debug!(parent: &self.span, error = %error, "stream failed");
        Poll::Ready(Some(Err(error)))
    }
}

impl<T: Message> Stream for Streaming<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.decoder.next_envelope() {
                Err(e) => {
                    return this.fail(match e {
                        crate::envelope::EnvelopeError::TooLarge { size, limit } => {
                            Error::MessageTooLarge { size, limit }
                        }
                        other => Error::Protocol(other.to_string()),
                    });
                }
                Ok(Some(envelope)) => {
                    let end_stream = envelope.is_end_stream();
                    if envelope.is_compressed() && !this.gzipped {
                        return this.fail(Error::Protocol(
                            "compressed message without Connect-Content-Encoding".into(),
                        ));
                    }
                    let data = if envelope.is_compressed() {
                        match gunzip(&envelope.data, this.limit) {
                            Ok(d) => d,
                            Err(e) => return this.fail(gunzip_error(e)),
                        }
                    } else {
                        envelope.data
                    };
                    if end_stream {
                        let end = match EndStream::parse(&data) {
                            Ok(end) => end,
                            Err(e) => return this.fail(Error::Protocol(e.to_string())),
                        };
                        this.trailers = Some(end.metadata);
                        return match end.error {
                            Some(status) => this.fail(Error::Status(status)),
                            None => {
                                this.done = true;
                                Poll::Ready(None)
                            }
                        };
                    }
                    return match this.codec.decode::<T>(&data) {
                        Ok(message) => Poll::Ready(Some(Ok(message))),
                        Err(e) => this.fail(Error::Codec(e)),
                    };
                }
                Ok(None) => {}
            }
            if let Some((sleep, timeout)) = this.deadline.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                let timeout = *timeout;
                return this.fail(Error::Timeout(timeout));
            }
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.decoder.push(data);
                    }
                }
                Some(Err(e)) => return this.fail(Error::Transport(e.into())),
                None => {
                    let error = match this.decoder.finish() {
                        Err(e) => Error::Protocol(e.to_string()),
                        Ok(()) => Error::Protocol("the stream ended without an end-of-stream message".into()),
                    };
                    return this.fail(error);
                }
            }
        }
    }
}

use std::future::Future as _;

fn gunzip_error(e: crate::codec::GunzipError) -> Error {
    match e {
        crate::codec::GunzipError::TooLarge(limit) => Error::MessageTooLarge { size: limit + 1, limit },
        crate::codec::GunzipError::Invalid(e) => Error::Protocol(format!("invalid gzip data: {e}")),
    }
}

fn check_content_type(headers: &HeaderMap, codec: Codec, framing: Framing) -> Result<(), Error> {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    match Codec::parse_content_type(value) {
        Some((c, f)) if c == codec && f == framing => Ok(()),
        _ => Err(Error::Protocol(format!("unexpected response content type {value:?}"))),
    }
}

async fn read_limited(mut body: Incoming, limit: usize) -> Result<Bytes, Error> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::Transport(e.into()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(Error::MessageTooLarge { size: buf.len() + data.len(), limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Interprets a non-200 answer. A JSON body with a valid Connect `code`
/// string is a Connect error; anything else (a proxy's 502, envd's own 401)
/// is mapped with E2B's table: an integer `code` in a JSON body overrides the
/// HTTP status, the message is the JSON `message`, else the body text, else
/// `HTTP <status>`.
pub(crate) fn error_from_http(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(json) = &json
        && json.get("code").and_then(|c| c.as_str()).is_some_and(|c| c.parse::<Code>().is_ok())
        && let Ok(error_json) = serde_json::from_value::<crate::error::ErrorJson>(json.clone())
        && let Some(s) = Status::from_error_json(error_json)
    {
        return Error::Status(s.with_metadata(headers.clone()));
    }
    let numeric = json
        .as_ref()
        .and_then(|j| j.get("code"))
        .and_then(|c| c.as_u64())
        .and_then(|c| u16::try_from(c).ok());
    let code = Code::from_http_status(numeric.unwrap_or(status.as_u16()));
    let message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .or_else(|| {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            (!text.is_empty()).then_some(text)
        })
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    Error::Status(Status::new(code, message).with_metadata(headers.clone()))
}

/// The trust roots every client with these settings starts from, loaded and parsed once
/// per process (reading the OS store is the slow part of building a client; it does not
/// change while the process runs).
fn base_roots(webpki: bool, native: bool) -> rustls::RootCertStore {
    static CACHE: [std::sync::OnceLock<rustls::RootCertStore>; 4] = [const { std::sync::OnceLock::new() }; 4];
    CACHE[usize::from(webpki) * 2 + usize::from(native)]
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            if webpki {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            if native {
                for cert in rustls_native_certs::load_native_certs().certs {
                    // The OS store may hold certificates rustls rejects; skip those.
                    let _ = roots.add(cert);
                }
            }
            roots
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> Status {
        match error_from_http(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body.as_bytes()) {
            Error::Status(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_connect_errors_follow_e2b_mapping() {
        let s = err(502, r#"{"sandboxId":"abc","message":"The sandbox was not found","code":502}"#);
        assert_eq!((s.code(), s.message()), (Code::Unavailable, "The sandbox was not found"));
        let s = err(401, "unauthorized access");
        assert_eq!((s.code(), s.message()), (Code::Unauthenticated, "unauthorized access"));
        let s = err(503, "");
        assert_eq!((s.code(), s.message()), (Code::Unavailable, "HTTP 503"));
        // An integer code in the body overrides the status.
        let s = err(500, r#"{"code":404,"message":"nope"}"#);
        assert_eq!(s.code(), Code::NotFound);
        // A Connect error body wins over the status.
        let s = err(400, r#"{"code":"not_found","message":"x"}"#);
        assert_eq!(s.code(), Code::NotFound);
    }
}
