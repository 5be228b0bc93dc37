//! TLS with a custom CA bundle and ALPN (HTTP/2 negotiated), and HTTP CONNECT
//! proxying with a NO_PROXY-style exception list.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use e2b_connect::Error;
use e2b_connect::client::{Client, Proxy, Request};
use e2b_connect::server::envd::process_routes;
use e2b_proto::process::{ListRequest, ListResponse, process_methods};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Tls {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn make_certificates() -> Tls {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&key, &ca).unwrap();
    Tls { ca_pem: ca.pem(), cert_der: cert.der().to_vec(), key_der: key.serialize_der() }
}

/// A TLS server for the test service; records the ALPN protocol of each
/// connection.
async fn serve_tls(tls: &Tls) -> (SocketAddr, Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(tls.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(tls.key_der.clone())),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let router = process_routes(Arc::new(common::TestProcess { probe: Default::default() }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let alpn = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = alpn.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acceptor, router, seen) = (acceptor.clone(), router.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                seen.lock().unwrap().push(tls.get_ref().1.alpn_protocol().unwrap_or_default().to_vec());
                let service = hyper::service::service_fn(move |req| {
                    let router = router.clone();
                    async move { Ok::<_, std::convert::Infallible>(router.handle(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, alpn)
}

#[tokio::test]
async fn https_with_custom_ca_negotiates_http2() {
    let tls = make_certificates();
    let (addr, alpn) = serve_tls(&tls).await;
    let url = format!("https://localhost:{}", addr.port());

    let client = Client::builder()
        .add_root_certificates_pem(tls.ca_pem.as_bytes())
        .proxy(Proxy::none())
        .build()
        .unwrap();
    let list = client
        .unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap();
    assert_eq!(list.message().processes[0].pid, 42);
    assert_eq!(alpn.lock().unwrap().last().unwrap(), b"h2", "ALPN chose HTTP/2");

    // Without our CA, the server is not trusted.
    let untrusting = Client::builder().proxy(Proxy::none()).build().unwrap();
    let err = untrusting
        .unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[test]
fn invalid_ca_bundles_are_rejected() {
    let err = Client::builder().add_root_certificates_pem(b"not a certificate").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// A minimal HTTP CONNECT proxy that counts tunnels.
async fn connect_proxy() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let target =
                    head.strip_prefix("CONNECT ").and_then(|r| r.split(' ').next()).unwrap().to_owned();
                let mut upstream = TcpStream::connect(target).await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, tunnels)
}

#[tokio::test]
async fn calls_go_through_the_proxy_unless_excluded() {
    let server = common::serve().await;
    let (proxy, tunnels) = connect_proxy().await;
    let proxy_url = format!("http://{proxy}");

    let proxied = Client::builder().proxy(Proxy::new(&proxy_url, "")).build().unwrap();
    proxied
        .unary::<_, ListResponse>(&server.url(), process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);

    let excluded = Client::builder().proxy(Proxy::new(&proxy_url, "127.0.0.1")).build().unwrap();
    excluded
        .unary::<_, ListResponse>(&server.url(), process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "NO_PROXY host bypasses the proxy");
}

/// Makes one call with a client that has no explicit proxy settings; run in a child
/// process by `proxy_settings_come_from_the_environment` (the environment is process-wide,
/// so it is not changed in this one).
#[tokio::test]
#[ignore = "run by proxy_settings_come_from_the_environment, with its environment"]
async fn env_proxy_child() {
    let url = std::env::var("E2B_CONNECT_TEST_TARGET").expect("started by the parent test");
    let client = Client::builder().build().unwrap();
    client.unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {})).await.unwrap();
}

#[tokio::test]
async fn proxy_settings_come_from_the_environment() {
    let server = common::serve().await;
    let (proxy, tunnels) = connect_proxy().await;
    let proxy_url = format!("http://{proxy}");
    let child = |no_proxy: &str| {
        let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "env_proxy_child", "--ignored", "--quiet"]);
        for name in ["http_proxy", "https_proxy", "all_proxy", "no_proxy", "ALL_PROXY"] {
            command.env_remove(name);
        }
        command
            .env("HTTP_PROXY", &proxy_url)
            .env("HTTPS_PROXY", &proxy_url)
            .env("NO_PROXY", no_proxy)
            .env("E2B_CONNECT_TEST_TARGET", server.url());
        command.output()
    };
    let out = child("").await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "HTTP(S)_PROXY is used by default");
    let out = child("localhost,127.0.0.1").await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "NO_PROXY hosts go direct");
}
