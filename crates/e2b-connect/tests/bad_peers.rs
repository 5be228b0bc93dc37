//! Our client against servers that answer badly: a wrong content type, a body that is not
//! JSON, a stream cut in the middle of an envelope or ended without its end-of-stream
//! message, gzip that is not gzip, and a compressed error body. Each is a clear, typed
//! error; nothing panics or hangs.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::envelope;
use e2b_connect::client::{Client, Request};
use e2b_connect::{Code, Error};
use e2b_proto::process::*;
use futures::StreamExt as _;

/// What the fake server answers: status, headers, body.
type Answer = (u16, Vec<(&'static str, &'static str)>, Bytes);

/// A server that answers every request with `answer`.
async fn answering(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| {
                    let (status, headers, body) = answer.clone();
                    async move {
                        let mut response = http::Response::builder().status(status);
                        for (name, value) in headers {
                            response = response.header(name, value);
                        }
                        Ok::<_, Infallible>(response.body(http_body_util::Full::new(body)).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn gzip(data: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap().into()
}

async fn unary_error(answer: Answer) -> Error {
    let url = answering(answer).await;
    let client = Client::builder().build().unwrap();
    let call = client.unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {}));
    tokio::time::timeout(Duration::from_secs(30), call).await.expect("no hang").expect_err("a bad answer")
}

/// The error a streaming call ends with (after any good messages).
async fn stream_error(answer: Answer) -> (usize, Error) {
    let url = answering(answer).await;
    let client = Client::builder().build().unwrap();
    let call = async {
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &url,
                process_methods::START,
                Request::new(StartRequest::default()),
            )
            .await?;
        let mut good = 0;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => good += 1,
                Err(e) => return Ok((good, e)),
            }
        }
        panic!("the stream ended without an error after {good} messages");
    };
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("no hang")
        .unwrap_or_else(|e: Error| (0, e))
}

const JSON: (&str, &str) = ("content-type", "application/json");
const STREAM: (&str, &str) = ("content-type", "application/connect+json");

#[tokio::test]
async fn bad_unary_answers_are_typed_errors() {
    let e = unary_error((200, vec![("content-type", "text/html")], Bytes::from_static(b"<html>"))).await;
    assert!(matches!(&e, Error::Protocol(m) if m.contains("content type")), "{e:?}");

    let e = unary_error((200, vec![JSON], Bytes::from_static(b"{\"processes\": [oops"))).await;
    assert!(matches!(e, Error::Codec(_)), "{e:?}");

    let e =
        unary_error((200, vec![JSON, ("content-encoding", "gzip")], Bytes::from_static(b"not gzip"))).await;
    assert!(matches!(&e, Error::Protocol(m) if m.contains("gzip")), "{e:?}");

    // A compressed Connect error body is read like a plain one.
    let body = gzip(br#"{"code":"permission_denied","message":"no entry"}"#);
    let e = unary_error((403, vec![JSON, ("content-encoding", "gzip")], body)).await;
    assert_eq!(
        (e.code(), e.status().map(|s| s.message().to_string())),
        (Code::PermissionDenied, Some("no entry".into()))
    );

    // An error status with a body that is not Connect's: the status decides the code.
    let e = unary_error((503, vec![("content-type", "text/plain")], Bytes::from_static(b"overloaded"))).await;
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
}

#[tokio::test]
async fn bad_streams_are_typed_errors() {
    let start = envelope(0, br#"{"event":{"start":{"pid":7}}}"#);

    let cut = [start.clone(), envelope(0, br#"{"event":{}}"#).slice(..6)].concat();
    let (good, e) = stream_error((200, vec![STREAM], cut.into())).await;
    assert_eq!(good, 1, "the message before the cut arrives");
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");

    let (good, e) = stream_error((200, vec![STREAM], start.clone())).await;
    assert_eq!(good, 1);
    assert!(matches!(&e, Error::Protocol(m) if m.contains("end-of-stream")), "{e:?}");

    let not_json = [start.clone(), envelope(0, b"{oops")].concat();
    let (good, e) = stream_error((200, vec![STREAM], not_json.into())).await;
    assert_eq!(good, 1);
    assert!(matches!(e, Error::Codec(_)), "{e:?}");

    let (_, e) = stream_error((200, vec![JSON], start.clone())).await;
    assert!(matches!(&e, Error::Protocol(m) if m.contains("content type")), "{e:?}");

    let bad_end = [start, envelope(2, b"not json")].concat();
    let (good, e) = stream_error((200, vec![STREAM], bad_end.into())).await;
    assert_eq!(good, 1);
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
}
