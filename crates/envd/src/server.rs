//! The daemon: one service that answers gRPC, Connect and plain HTTP on one
//! port, over HTTP/1.1 and h2c.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use e2b_connect::server::envd::{filesystem_routes, process_routes};
use e2b_connect::server::{ConnectRouter, is_grpc};
use e2b_proto::filesystem::filesystem_server::FilesystemServer;
use e2b_proto::process::process_server::ProcessServer;
use futures::future::BoxFuture;
use http::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use nix::sys::signal::Signal;
use tokio::net::TcpListener;
use tower::Service;
use tracing::Instrument;

use crate::config::Config;
use crate::filesystem::FilesystemService;
use crate::http::HttpError;
use crate::process::ProcessService;
use crate::process::reaper::Reaper;
use crate::settings::{Init, Settings};

/// The response header carrying envd's version (on `/init` and `/health`).
///
/// ```
/// assert_eq!(envd::VERSION_HEADER.as_str(), "x-envd-version");
/// ```
pub const VERSION_HEADER: http::HeaderName = http::HeaderName::from_static("x-envd-version");

/// Errors of starting or running the daemon, by stage.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Two daemons cannot share a port.
/// let first = envd::Envd::new(envd::Config::new().bind([127, 0, 0, 1].into()).port(0)).unwrap();
/// let listener = first.bind().await.unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let second = envd::Envd::new(envd::Config::new().bind([127, 0, 0, 1].into()).port(port)).unwrap();
/// assert!(matches!(second.bind().await, Err(envd::Error::Bind { .. })));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The child reaper could not start (no Tokio runtime, or signal
    /// handling unavailable).
    #[error("could not start the child reaper: {0}")]
    Reaper(#[source] std::io::Error),
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("accepting connections failed: {0}")]
    Accept(#[source] std::io::Error),
}

struct Inner {
    config: Config,
    settings: Arc<Settings>,
    process: Arc<ProcessService>,
    filesystem: Arc<FilesystemService>,
    connect: ConnectRouter,
    http: axum::Router,
}

/// One envd instance: the process and filesystem services, file transfer
/// and the rest of envd's HTTP API, behind one [`tower::Service`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = envd::Config::new().port(49983).default_user("user");
/// let envd = envd::Envd::new(config)?;
/// let listener = envd.bind().await?;
/// envd.serve(listener).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Envd {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Envd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envd").field("addr", &self.inner.config.socket_addr()).finish_non_exhaustive()
    }
}

impl Envd {
    /// Creates the daemon. Must be called inside a Tokio runtime (it starts
    /// the task that reaps child processes).
    pub fn new(config: Config) -> Result<Self, Error> {
        let reaper = Reaper::start(config.reap_orphans).map_err(Error::Reaper)?;
        let settings = Arc::new(Settings::new(&config));
        let http = crate::http::router(Arc::clone(&settings), config.version.clone(), config.sync_clock);
        let process = Arc::new(ProcessService::new(Arc::clone(&settings), reaper));
        let filesystem = Arc::new(FilesystemService::new(Arc::clone(&settings)));
        let connect = process_routes(Arc::clone(&process)).merge(filesystem_routes(Arc::clone(&filesystem)));
        Ok(Envd { inner: Arc::new(Inner { process, filesystem, connect, settings, http, config }) })
    }

    /// The configuration it was created with.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let envd = envd::Envd::new(envd::Config::new().port(1234)).unwrap();
    /// assert_eq!(envd.config().socket_addr().port(), 1234);
    /// # }
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Applies what a `POST /init` would, without HTTP (for a control plane
    /// that runs envd in-process).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let envd = envd::Envd::new(envd::Config::new()).unwrap();
    /// envd.apply_init(envd::Init::new().default_user("root").access_token("secret"));
    /// # }
    /// ```
    pub fn apply_init(&self, init: Init) {
        self.inner.settings.apply(init);
    }

    /// The `process.Process` implementation (for in-process callers).
    pub fn process_service(&self) -> Arc<ProcessService> {
        Arc::clone(&self.inner.process)
    }

    /// The `filesystem.Filesystem` implementation (for in-process callers).
    pub fn filesystem_service(&self) -> Arc<FilesystemService> {
        Arc::clone(&self.inner.filesystem)
    }

    /// The whole daemon as a `tower::Service`, to mount behind another
    /// server (the local sandbox router does).
    pub fn service(&self) -> EnvdService {
        EnvdService { envd: self.clone() }
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> Result<TcpListener, Error> {
        let addr = self.inner.config.socket_addr();
        TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })
    }

    /// Serves connections from `listener` until accepting fails.
    pub async fn serve(&self, listener: TcpListener) -> Result<(), Error> {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting and gives
    /// open connections up to five seconds to finish.
    pub async fn serve_with_shutdown(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let builder = auto::Builder::new(TokioExecutor::new());
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Per-connection failures (the peer reset before accept,
                    // out of descriptors for a moment) must not stop serving.
                    Err(e) if is_transient(&e) => {
                        tracing::warn!(%e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    Err(e) => return Err(Error::Accept(e)),
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(self.service());
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(
                async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(%e, "connection ended with an error");
                    }
                }
                .instrument(tracing::debug_span!("connection", %peer)),
            );
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        Ok(())
    }

    /// Asks every running process to terminate (SIGTERM to its group), then
    /// kills what is left after `grace`.
    pub async fn stop_processes(&self, grace: Duration) {
        if self.inner.process.signal_all(Signal::SIGTERM) == 0 {
            return;
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline && !self.inner.process.unreaped().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.inner.process.signal_all(Signal::SIGKILL);
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED)
            | Some(libc::ECONNRESET)
            | Some(libc::EMFILE)
            | Some(libc::ENFILE)
            | Some(libc::EINTR)
    )
}

/// Upstream's refusal text for a request without the right token.
const UNAUTHORIZED: &str =
    "unauthorized access, please provide a valid access token or method signing if supported";

/// Requests that do not need the access token (they authenticate otherwise
/// or are harmless).
fn exempt(method: &Method, path: &str) -> bool {
    matches!(
        (method, path),
        (&Method::GET, "/health")
            | (&Method::GET, "/files")
            | (&Method::POST, "/files")
            | (&Method::POST, "/init")
    )
}

const PROCESS_PREFIX: &str = "/process.Process/";
const FILESYSTEM_PREFIX: &str = "/filesystem.Filesystem/";

/// envd as a `tower::Service` over any request body: checks the access
/// token, then dispatches to gRPC, Connect or the HTTP endpoints.
///
/// ```
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let envd = envd::Envd::new(envd::Config::new()).unwrap();
/// let request = http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
/// let response = envd.service().oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 204);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EnvdService {
    envd: Envd,
}

impl<B> Service<Request<B>> for EnvdService
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.envd.inner);
        let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
        Box::pin(
            async move {
                let response = dispatch(inner, request).await;
                tracing::debug!(status = response.status().as_u16(), "response");
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// How much of an unread request body is read and discarded before an
/// error answer (as Go's `net/http` does), and for how long at most.
const DRAIN_LIMIT: usize = 256 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

async fn dispatch<B>(inner: Arc<Inner>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    // A client that waits for `100 Continue` has not sent its body; it must
    // not be asked for it just to be thrown away.
    let expects_continue = request.headers().contains_key(http::header::EXPECT);
    let (parts, body) = request.into_parts();
    let (body, remainder) = crate::body::retain(body);
    let response = route(inner, Request::from_parts(parts, body)).await;
    if (response.status().is_client_error() || response.status().is_server_error()) && !expects_continue {
        remainder.drain(DRAIN_LIMIT, DRAIN_TIME).await;
    }
    response
}

async fn route<B>(inner: Arc<Inner>, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    if let Some(token) = inner.settings.access_token() {
        let header_ok = request
            .headers()
            .get("x-access-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| token.matches(v));
        if !header_ok && !exempt(request.method(), request.uri().path()) {
            return HttpError::unauthorized(UNAUTHORIZED).into_response();
        }
    }
    let path = request.uri().path();
    let rpc = path.starts_with(PROCESS_PREFIX) || path.starts_with(FILESYSTEM_PREFIX);
    if is_grpc(&request) {
        let response = if path.starts_with(PROCESS_PREFIX) {
            ProcessServer::from_arc(Arc::clone(&inner.process)).call(request).await
        } else if path.starts_with(FILESYSTEM_PREFIX) {
            FilesystemServer::from_arc(Arc::clone(&inner.filesystem)).call(request).await
        } else {
            return grpc_unimplemented();
        };
        return match response {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        };
    }
    if rpc {
        return inner.connect.handle(request).await.map(Body::new);
    }
    let mut router = inner.http.clone();
    match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn grpc_unimplemented() -> Response<Body> {
    let status = tonic::Status::unimplemented("no such service");
    let mut response = Response::new(Body::empty());
    let _ = status.add_header(response.headers_mut());
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    response
}
