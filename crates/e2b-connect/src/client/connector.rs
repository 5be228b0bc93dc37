//! TCP connections for the client: `TCP_NODELAY`, connect timeout, optional
//! HTTP CONNECT tunnelling through a proxy, TLS with ALPN on top.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::BoxError;

/// Which proxy, if any, the client uses.
///
/// ```
/// use e2b_connect::client::Proxy;
/// let from_env = Proxy::from_env(); // HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY
/// let explicit = Proxy::new("http://proxy.internal:3128", "localhost,127.0.0.1");
/// # let _ = (from_env, explicit);
/// ```
#[derive(Clone)]
pub struct Proxy {
    matcher: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("configured", &self.matcher.is_some()).finish()
    }
}

impl Proxy {
    /// No proxy at all.
    pub fn none() -> Self {
        Proxy { matcher: None }
    }

    /// The proxy named by the usual environment variables (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY`, lower case too) minus `NO_PROXY` hosts.
    pub fn from_env() -> Self {
        Proxy { matcher: Some(Arc::new(Matcher::from_env())) }
    }

    /// All traffic through `proxy_url`, except hosts in the comma-separated
    /// `no_proxy` list (same syntax as `NO_PROXY`).
    pub fn new(proxy_url: &str, no_proxy: &str) -> Self {
        let matcher = Matcher::builder().all(proxy_url.to_owned()).no(no_proxy.to_owned()).build();
        Proxy { matcher: Some(Arc::new(matcher)) }
    }
}

/// A direct TCP connection, or one tunnelled through the proxy with CONNECT
/// (used for both http and https targets, so that TLS stays end to end).
#[derive(Clone)]
pub(crate) struct TcpOrTunnel {
    direct: HttpConnector,
    proxy: Proxy,
}

impl TcpOrTunnel {
    pub(crate) fn new(connect_timeout: Option<Duration>, proxy: Proxy) -> Self {
        let mut direct = HttpConnector::new();
        direct.set_nodelay(true);
        direct.enforce_http(false);
        direct.set_connect_timeout(connect_timeout);
        direct.set_keepalive(Some(Duration::from_secs(60)));
        TcpOrTunnel { direct, proxy }
    }
}

impl Service<Uri> for TcpOrTunnel {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxy.matcher.as_ref().and_then(|m| m.intercept(&dst));
        let mut direct = self.direct.clone();
        Box::pin(async move {
            match intercept {
                Some(intercept) => {
                    let mut tunnel = Tunnel::new(intercept.uri().clone(), direct);
                    if let Some(auth) = intercept.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    tunnel.call(dst).await.map_err(|e| -> BoxError { format!("proxy tunnel: {e}").into() })
                }
                None => direct.call(dst).await.map_err(Into::into),
            }
        })
    }
}
