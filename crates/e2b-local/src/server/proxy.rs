//! The envd router: one port (what `E2B_SANDBOX_URL` points at) in front of every
//! sandbox. It routes by the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers, by host names
//! `<port>-<sandboxID>.<domain>`, and, for signed file URLs that carry neither, by the
//! signature (PROTOCOL.md section 4). Bodies stream through in both directions without
//! buffering, so Connect server streams reach the client frame by frame.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

use super::state::{Entry, State};
use crate::runtime::ENVD_PORT;

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, not the message.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

pub(crate) struct Proxy {
    state: Arc<State>,
    http1: Client<HttpConnector, Incoming>,
    http2: Client<HttpConnector, Incoming>,
}

impl Proxy {
    pub(crate) fn new(state: Arc<State>) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
        let http1 = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build(connector.clone());
        let http2 = Client::builder(TokioExecutor::new()).http2_only(true).build(connector);
        Arc::new(Self { state, http1, http2 })
    }

    /// Serves connections until `shutdown` flips to true.
    pub(crate) async fn serve(self: Arc<Self>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!("envd router accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => return,
            };
            let _ = stream.set_nodelay(true);
            let this = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    async move { Ok::<_, Infallible>(this.handle(req).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = stop.changed() => conn.as_mut().graceful_shutdown(),
                }
            });
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let (entry, port) = match self.route(&req) {
            Ok(target) => target,
            Err(response) => return response,
        };
        let record = entry.record();
        if record.paused {
            if !record.auto_resume {
                return not_found(entry.id.as_str());
            }
            // auto_resume: traffic wakes a paused sandbox (for the default lifetime), as
            // a connect would.
            if let Err(e) = self.state.connect(&entry, TRAFFIC_RESUME_SECS).await {
                tracing::warn!(sandbox = %entry.id, "resuming for incoming traffic: {}", e.message);
                return not_found(entry.id.as_str());
            }
        }
        let target = if port == ENVD_PORT { entry.envd } else { SocketAddr::new(entry.address.into(), port) };
        let span = tracing::debug_span!("proxy", sandbox = %entry.id, port, path = %req.uri().path());
        self.forward(req, target).instrument(span).await.unwrap_or_else(|e| {
            tracing::debug!(sandbox = %entry.id, port, "upstream failed: {e}");
            if port == ENVD_PORT || self.state.lookup(entry.id.as_str()).is_none() {
                not_found(entry.id.as_str())
            } else {
                port_closed(entry.id.as_str(), port)
            }
        })
    }

    async fn forward(
        &self,
        mut req: Request<Incoming>,
        target: SocketAddr,
    ) -> Result<Response<Body>, hyper_util::client::legacy::Error> {
        // An HTTP/1.1 upgrade (WebSocket, say) is passed on, and once both sides switched
        // protocols the two connections are joined byte for byte.
        let upgrade = upgrade_protocol(req.headers());
        let client_side = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{target}{path}").parse().expect("an address and a path form a URI");
        let client = if parts.version == http::Version::HTTP_2 { &self.http2 } else { &self.http1 };
        if parts.version != http::Version::HTTP_2 {
            parts.version = http::Version::HTTP_11;
        }
        strip_hop_by_hop(&mut parts.headers);
        if let Some(protocol) = &upgrade {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol.clone());
        }
        let mut response = client.request(Request::from_parts(parts, body)).await?;
        let switched = client_side.is_some() && response.status() == StatusCode::SWITCHING_PROTOCOLS;
        if let Some(client_side) = client_side.filter(|_| switched) {
            let upstream_side = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                let (Ok(client), Ok(upstream)) = tokio::join!(client_side, upstream_side) else { return };
                let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
        let (mut parts, body) = response.into_parts();
        // A switch keeps its Connection and Upgrade headers: they are the answer.
        if !switched {
            strip_hop_by_hop(&mut parts.headers);
        }
        Ok(Response::from_parts(parts, body.map_err(|e| Box::new(e) as _).boxed()))
    }

    /// Which sandbox and port a request is for, or the answer when there is none.
    #[allow(clippy::result_large_err)]
    fn route(&self, req: &Request<Incoming>) -> Result<(Arc<Entry>, u16), Response<Body>> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let hostname = strip_port(&host);
        let shared_host =
            hostname == "localhost" || hostname.parse::<IpAddr>().is_ok() || hostname.starts_with("sandbox.");
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let (id_header, port_header) = (header("e2b-sandbox-id"), header("e2b-sandbox-port"));

        if shared_host && (id_header.is_some() || port_header.is_some()) {
            let (Some(id), Some(port)) = (id_header, port_header) else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "both E2b-Sandbox-Id and E2b-Sandbox-Port headers are required",
                ));
            };
            let port = port
                .parse::<u16>()
                .map_err(|_| error(StatusCode::BAD_REQUEST, &format!("invalid E2b-Sandbox-Port {port:?}")))?;
            let entry = self.state.lookup(id).ok_or_else(|| not_found(id))?;
            return Ok((entry, port));
        }
        if !shared_host {
            let label = hostname.split('.').next().unwrap_or_default();
            if let Some((port, id)) = label.split_once('-')
                && let Ok(port) = port.parse::<u16>()
            {
                let entry = self.state.lookup(id).ok_or_else(|| not_found(id))?;
                return Ok((entry, port));
            }
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("cannot route host {hostname:?} to a sandbox"),
            ));
        }
        // No routing headers: a signed file URL opened by a browser or plain HTTP client.
        if let Some(entry) = self.by_signature(req) {
            return Ok((entry, ENVD_PORT));
        }
        let all = self.state.all();
        match all.as_slice() {
            [only] => Ok((only.clone(), ENVD_PORT)),
            [] => Err(error(StatusCode::BAD_GATEWAY, "no sandbox is running")),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "the request names no sandbox: send E2b-Sandbox-Id and E2b-Sandbox-Port, \
                 or a signed file URL of a secure sandbox",
            )),
        }
    }

    /// The secure sandbox whose token signed this `/files` URL (PROTOCOL.md 7.1).
    fn by_signature(&self, req: &Request<Incoming>) -> Option<Arc<Entry>> {
        if req.uri().path() != "/files" {
            return None;
        }
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(req.uri().query()?.as_bytes()).into_owned().collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let signature = get("signature")?;
        let path = get("path").unwrap_or_default();
        let user = get("username").unwrap_or_default();
        let expiration = get("signature_expiration");
        let operation = if req.method() == http::Method::POST { "write" } else { "read" };
        self.state.all().into_iter().find(|entry| {
            let Some(token) = entry.record().access_token else { return false };
            let raw = match expiration {
                Some(exp) => format!("{path}:{operation}:{user}:{token}:{exp}"),
                None => format!("{path}:{operation}:{user}:{token}"),
            };
            let expected = format!(
                "v1_{}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(raw.as_bytes()))
            );
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), signature.as_bytes()).into()
        })
    }
}

/// How long a sandbox woken by traffic lives (E2B's default lifetime).
const TRAFFIC_RESUME_SECS: i64 = 300;

/// The protocol an HTTP/1.1 request asks to switch to (`Connection: upgrade` + `Upgrade`).
fn upgrade_protocol(headers: &http::HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")));
    asks.then(|| headers.get(header::UPGRADE).cloned()).flatten()
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    for name in HOP_BY_HOP.iter().copied().chain(named.iter().map(String::as_str)) {
        headers.remove(name);
    }
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut response =
        Response::new(Full::new(Bytes::from(value.to_string())).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, serde_json::json!({ "code": status.as_u16(), "message": message }))
}

/// Upstream's answer for an unknown, ended or paused sandbox.
fn not_found(id: &str) -> Response<Body> {
    json_response(
        StatusCode::BAD_GATEWAY,
        serde_json::json!({ "sandboxId": id, "message": "The sandbox was not found", "code": 502 }),
    )
}

fn port_closed(id: &str, port: u16) -> Response<Body> {
    json_response(
        StatusCode::BAD_GATEWAY,
        serde_json::json!({
            "sandboxId": id,
            "message": "The sandbox is running but port is not open",
            "port": port,
            "code": 502,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_host_names() {
        assert_eq!(strip_port("127.0.0.1:49983"), "127.0.0.1");
        assert_eq!(strip_port("localhost"), "localhost");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("8080-abc.e2b.local:3000"), "8080-abc.e2b.local");
    }

    #[test]
    fn upgrades_are_recognised() {
        let mut headers = http::HeaderMap::new();
        headers.insert("upgrade", HeaderValue::from_static("websocket"));
        assert_eq!(upgrade_protocol(&headers), None, "Upgrade alone is not a request to switch");
        headers.insert("connection", HeaderValue::from_static("keep-alive, Upgrade"));
        assert_eq!(upgrade_protocol(&headers), Some(HeaderValue::from_static("websocket")));
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut headers = http::HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("keep-alive, x-private"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("e2b-sandbox-id", HeaderValue::from_static("abc"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("e2b-sandbox-id"));
    }
}
