//! The two envd calls the runtime makes itself: `GET /health` until it answers 204, then
//! `POST /init` with the sandbox's defaults.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::config::EnvdInit;
use super::error::{Result, RuntimeError};

/// One HTTP/1.1 request on a fresh connection; returns status and body.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> io::Result<(u16, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(io::Error::other)?;
    let conn = tokio::spawn(conn);
    let mut req = Request::builder().method(method).uri(path).header("host", addr.to_string());
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.map_err(io::Error::other)?.to_bytes();
    conn.abort();
    Ok((status, body))
}

/// Polls `GET /health` until it answers 204 or `alive` says the process died.
pub(crate) async fn wait_healthy(
    addr: SocketAddr,
    timeout: Duration,
    alive: impl Fn() -> bool,
) -> std::result::Result<(), u64> {
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        let attempt =
            tokio::time::timeout(Duration::from_millis(500), request(addr, "GET", "/health", None)).await;
        if let Ok(Ok((204, _))) = attempt {
            return Ok(());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline || !alive() {
            return Err(now.duration_since(started).as_millis() as u64);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// `POST /init` with the sandbox's defaults.
pub(crate) async fn init(addr: SocketAddr, init: &EnvdInit) -> Result<()> {
    let body = serde_json::to_vec(init).expect("serialisable");
    let (status, body) = request(addr, "POST", "/init", Some(body))
        .await
        .map_err(|e| RuntimeError::EnvdInit { status: 0, body: e.to_string() })?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(RuntimeError::EnvdInit { status, body: String::from_utf8_lossy(&body).into_owned() })
    }
}
