//! Our client against our server (the same tonic implementation behind the
//! Connect adapter), over HTTP/1.1 and h2c, in JSON and binary; and the
//! server's answers to malformed input, checked on the raw wire.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{envelope, raw_post, raw_request, serve, serve_with};
use e2b_connect::client::{Client, Request};
use e2b_connect::{Code, Codec, Error};
use e2b_proto::process::process_event::{Event, data_event};
use e2b_proto::process::*;
use futures::StreamExt;

fn clients() -> Vec<(&'static str, Client)> {
    let mut out = Vec::new();
    for codec in [Codec::Json, Codec::Proto] {
        for h2 in [false, true] {
            let name = match (codec, h2) {
                (Codec::Json, false) => "json/http1",
                (Codec::Json, true) => "json/h2c",
                (Codec::Proto, false) => "proto/http1",
                (Codec::Proto, true) => "proto/h2c",
            };
            out.push((name, Client::builder().codec(codec).http2_prior_knowledge(h2).build().unwrap()));
        }
    }
    out
}

fn start(cmd: &str, args: &[&str]) -> StartRequest {
    StartRequest {
        process: Some(ProcessConfig {
            cmd: cmd.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    }
}

fn stdout_of(r: &StartResponse) -> Option<String> {
    match r.event.as_ref()?.event.as_ref()? {
        Event::Data(d) => match d.output.as_ref()? {
            data_event::Output::Stdout(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test]
async fn unary_round_trip_with_metadata() {
    let server = serve().await;
    for (name, client) in clients() {
        let response = client
            .unary::<_, ListResponse>(
                &server.url(),
                process_methods::LIST,
                Request::new(ListRequest {}).header("x-echo", "hello"),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.message().processes[0].pid, 42, "{name}");
        assert_eq!(response.message().processes[0].tag.as_deref(), Some(""), "{name}: optional kept");
        assert_eq!(response.headers()["x-echo"], "hello", "{name}");
    }
}

#[tokio::test]
async fn unary_errors_carry_code_and_message() {
    let server = serve().await;
    for (name, client) in clients() {
        let request = SendSignalRequest {
            process: Some(ProcessSelector { selector: Some(process_selector::Selector::Pid(404)) }),
            signal: Signal::Sigkill as i32,
        };
        let err = client
            .unary::<_, SendSignalResponse>(
                &server.url(),
                process_methods::SEND_SIGNAL,
                Request::new(request),
            )
            .await
            .unwrap_err();
        let status = err.status().unwrap_or_else(|| panic!("{name}: {err:?}"));
        assert_eq!(status.code(), Code::NotFound, "{name}");
        assert_eq!(status.message(), "process with pid 404 not found", "{name}");
    }
}

#[tokio::test]
async fn server_stream_delivers_all_events_then_ends() {
    let server = serve().await;
    for (name, client) in clients() {
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("echo", &["a", "b", "c"])),
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            out.push(item.unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        assert_eq!(out.len(), 5, "{name}: start, 3 data, end");
        let data: Vec<String> = out.iter().filter_map(stdout_of).collect();
        assert_eq!(data, ["a", "b", "c"], "{name}");
        assert!(stream.trailers().is_some(), "{name}: ended with an end-of-stream message");
    }
}

#[tokio::test]
async fn stream_errors_before_and_after_first_message() {
    let server = serve().await;
    for (name, client) in clients() {
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("fail-early", &[])),
            )
            .await
            .expect("a failed stream still answers 200");
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{name}");
        assert!(stream.next().await.is_none(), "{name}");

        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("fail-late", &[])),
            )
            .await
            .unwrap();
        assert!(stream.next().await.unwrap().is_ok(), "{name}: start event first");
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!((err.code(), err.status().unwrap().message()), (Code::Internal, "it broke"), "{name}");
    }
}

#[tokio::test]
async fn deadlines_end_streams_and_unary_calls() {
    let server = serve().await;
    for (name, client) in clients() {
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("sleep", &[])).timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap();
        assert!(stream.next().await.unwrap().is_ok());
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{name}: {err}");

        let err = client
            .unary::<_, UpdateResponse>(
                &server.url(),
                process_methods::UPDATE,
                Request::new(UpdateRequest::default()).timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{name}: {err}");
    }
}

#[tokio::test]
async fn handler_sees_the_callers_deadline() {
    let server = serve().await;
    let client = Client::builder().build().unwrap();
    let mut stream = client
        .server_streaming::<_, StartResponse>(
            &server.url(),
            process_methods::START,
            Request::new(start("deadline", &[])).timeout(Duration::from_millis(45_000)),
        )
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    assert_eq!(stdout_of(&stream.next().await.unwrap().unwrap()).unwrap(), "Some(45000)");
}

#[tokio::test]
async fn client_streaming_delivers_every_message() {
    let server = serve().await;
    for (name, client) in clients() {
        let before = server.probe.inputs.load(Ordering::SeqCst);
        let messages = futures::stream::iter((0..50).map(|i| StreamInputRequest {
            event: Some(stream_input_request::Event::Data(stream_input_request::DataEvent {
                input: Some(ProcessInput { input: Some(process_input::Input::Stdin(vec![i as u8].into())) }),
            })),
        }));
        client
            .client_streaming::<_, StreamInputResponse, _>(
                &server.url(),
                process_methods::STREAM_INPUT,
                Request::new(messages),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(server.probe.inputs.load(Ordering::SeqCst) - before, 50, "{name}");
    }
}

#[tokio::test]
async fn gzip_both_ways() {
    let server = serve_with(|r| r.compress_responses(0)).await;
    for codec in [Codec::Json, Codec::Proto] {
        let client = Client::builder().codec(codec).send_gzip(true).accept_gzip(true).build().unwrap();
        let response = client
            .unary::<_, ListResponse>(&server.url(), process_methods::LIST, Request::new(ListRequest {}))
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.message().processes[0].pid, 42);
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("echo", &["z"])),
            )
            .await
            .unwrap();
        assert_eq!(stream.headers()["connect-content-encoding"], "gzip");
        let events: Vec<_> = stream.by_ref().collect().await;
        assert_eq!(events.len(), 3);
        assert!(events.iter().all(Result::is_ok));
    }
}

#[tokio::test]
async fn dropping_a_stream_cancels_the_handler() {
    let server = serve().await;
    for (name, client) in clients() {
        let before = server.probe.streams_dropped.load(Ordering::SeqCst);
        let mut stream = client
            .server_streaming::<_, StartResponse>(
                &server.url(),
                process_methods::START,
                Request::new(start("sleep", &[])),
            )
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();
        drop(stream);
        // Wait (boundedly) for the server to notice; this is not a timing assertion.
        let mut waited = 0;
        while server.probe.streams_dropped.load(Ordering::SeqCst) == before && waited < 500 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert!(
            server.probe.streams_dropped.load(Ordering::SeqCst) > before,
            "{name}: handler stream was dropped"
        );
    }
}

#[tokio::test]
async fn client_enforces_its_message_size_limit() {
    let server = serve().await;
    let client = Client::builder().max_message_size(1000).build().unwrap();
    let mut stream = client
        .server_streaming::<_, StartResponse>(
            &server.url(),
            process_methods::START,
            Request::new(start("big", &["5000"])),
        )
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    assert!(matches!(stream.next().await.unwrap(), Err(Error::MessageTooLarge { limit: 1000, .. })));
    let huge = StartRequest { tag: Some("x".repeat(2000)), ..Default::default() };
    let err = client
        .server_streaming::<_, StartResponse>(&server.url(), process_methods::START, Request::new(huge))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn transport_failures_are_typed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder().build().unwrap();
    let err = client
        .unary::<_, ListResponse>(
            &format!("http://{addr}"),
            process_methods::LIST,
            Request::new(ListRequest {}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.code(), Code::Unavailable);
    let err = client
        .unary::<_, ListResponse>("not a url", process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
}

// ---- the server's answers to bad input, on the raw wire ----

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(body)))
}

/// The end-of-stream message of a raw streaming response, as JSON.
fn end_stream(body: &[u8]) -> serde_json::Value {
    let mut decoder = e2b_connect::envelope::EnvelopeDecoder::new(1 << 20);
    decoder.push(body);
    let mut last = None;
    while let Some(env) = decoder.next_envelope().unwrap() {
        last = Some(env);
    }
    let last = last.expect("at least one envelope");
    assert!(last.is_end_stream(), "the last frame is the end of the stream");
    json(&last.data)
}

const JSON: (&str, &str) = ("content-type", "application/json");
const STREAM_JSON: (&str, &str) = ("content-type", "application/connect+json");

#[tokio::test]
async fn unary_wire_format_is_exact() {
    let server = serve().await;
    let (status, headers, body) = raw_post(server.addr, "/process.Process/List", &[JSON], "{}").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        &body[..],
        br#"{"processes":[{"config":{"cmd":"/bin/bash","args":["-l"]},"pid":42,"tag":""}]}"#
    );

    let (status, headers, body) = raw_post(
        server.addr,
        "/process.Process/SendSignal",
        &[JSON],
        r#"{"process":{"pid":404},"signal":"SIGNAL_SIGKILL"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        json(&body),
        serde_json::json!({"code":"not_found","message":"process with pid 404 not found"})
    );
}

#[tokio::test]
async fn stream_wire_format_is_exact() {
    let server = serve().await;
    let (status, headers, body) = raw_post(
        server.addr,
        "/process.Process/Start",
        &[STREAM_JSON],
        envelope(0, br#"{"process":{"cmd":"echo","args":["hi"]},"stdin":false}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/connect+json");
    let mut expected = BytesMut::new();
    for frame in [
        &br#"{"event":{"start":{"pid":7}}}"#[..],
        br#"{"event":{"data":{"stdout":"aGk="}}}"#,
        br#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#,
    ] {
        expected.extend_from_slice(&envelope(0, frame));
    }
    expected.extend_from_slice(&envelope(2, b"{}"));
    assert_eq!(body, expected.freeze());

    // A handler that fails before its first message: still HTTP 200, error in the last frame.
    let (status, _, body) = raw_post(
        server.addr,
        "/process.Process/Start",
        &[STREAM_JSON],
        envelope(0, br#"{"process":{"cmd":"fail-early"}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, envelope(2, br#"{"error":{"code":"not_found","message":"process not found"}}"#));
}

#[tokio::test]
async fn bad_requests_get_proper_connect_errors() {
    let server = serve().await;
    let a = server.addr;

    let (status, _, body) = raw_post(a, "/process.Process/Nope", &[JSON], "{}").await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (404, Some("unimplemented")));

    let (status, headers, _) =
        raw_request(a, http::Method::GET, "/process.Process/List", &[JSON], Bytes::new()).await;
    assert_eq!((status.as_u16(), headers["allow"].to_str().unwrap()), (405, "POST"));

    let (status, headers, _) =
        raw_post(a, "/process.Process/List", &[("content-type", "text/plain")], "{}").await;
    assert_eq!(status, 415);
    assert!(headers["accept-post"].to_str().unwrap().contains("application/json"));
    // A streaming content type on a unary method is as unsupported.
    let (status, _, _) = raw_post(a, "/process.Process/List", &[STREAM_JSON], envelope(0, b"{}")).await;
    assert_eq!(status, 415);

    let (status, _, body) = raw_post(a, "/process.Process/List", &[JSON], "{not json").await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (400, Some("invalid_argument")));

    let (status, _, body) =
        raw_post(a, "/process.Process/List", &[JSON, ("connect-timeout-ms", "soon")], "{}").await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (400, Some("invalid_argument")));

    let (status, _, body) =
        raw_post(a, "/process.Process/List", &[JSON, ("content-encoding", "br")], "{}").await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (501, Some("unimplemented")));

    let (status, _, body) =
        raw_post(a, "/process.Process/List", &[JSON, ("content-encoding", "gzip")], "nope").await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (400, Some("invalid_argument")));

    // Streams: errors arrive in the end-of-stream frame of a 200 answer.
    for (what, body) in [
        ("truncated envelope", envelope(0, b"{}").slice(..4)),
        ("no message", Bytes::new()),
        ("two messages", [envelope(0, b"{}"), envelope(0, b"{}")].concat().into()),
        ("invalid JSON", envelope(0, b"{")),
        ("unknown flags", envelope(0x40, b"{}")),
        ("compressed without encoding", envelope(1, b"{}")),
    ] {
        let (status, _, body) = raw_post(a, "/process.Process/Start", &[STREAM_JSON], body).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(end_stream(&body)["error"]["code"], "invalid_argument", "{what}");
    }
    let (status, _, body) = raw_post(
        a,
        "/process.Process/Start",
        &[STREAM_JSON, ("connect-timeout-ms", "12345678901")],
        envelope(0, b"{}"),
    )
    .await;
    assert_eq!(
        (status.as_u16(), end_stream(&body)["error"]["code"].as_str()),
        (200, Some("invalid_argument"))
    );
}

#[tokio::test]
async fn oversize_requests_are_refused() {
    let server = serve_with(|r| r.max_message_size(100)).await;
    let big = format!(r#"{{"tag":"{}"}}"#, "x".repeat(200));
    let (status, _, body) = raw_post(server.addr, "/process.Process/List", &[JSON], big.clone()).await;
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (429, Some("resource_exhausted")));
    let (status, _, body) =
        raw_post(server.addr, "/process.Process/Start", &[STREAM_JSON], envelope(0, big.as_bytes())).await;
    assert_eq!(status, 200);
    assert_eq!(end_stream(&body)["error"]["code"], "resource_exhausted");
}

#[tokio::test]
async fn grpc_shares_the_port() {
    // tonic's own generated client, over the same port.
    let server = serve().await;
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut client = process_client::ProcessClient::new(channel);
    let list = client.list(ListRequest {}).await.unwrap().into_inner();
    assert_eq!(list.processes[0].pid, 42);
}

#[tokio::test]
async fn non_connect_proxy_errors_are_mapped() {
    // A bare HTTP server answering like E2B's proxy for a sandbox that is gone.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(
                        http::Response::builder()
                            .status(502)
                            .header("content-type", "application/json")
                            .body(http_body_util::Full::new(Bytes::from_static(
                                br#"{"sandboxId":"x","message":"The sandbox was not found","code":502}"#,
                            )))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let client = Client::builder().build().unwrap();
    let url = format!("http://{addr}");
    let err = client
        .unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.status().unwrap().message()),
        (Code::Unavailable, "The sandbox was not found")
    );
    let err = client
        .server_streaming::<_, StartResponse>(
            &url,
            process_methods::START,
            Request::new(StartRequest::default()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
}

/// A raw HTTP/1.1 POST whose body sends `first` and then nothing, never ending.
async fn stalled_post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    first: Bytes,
) -> (http::StatusCode, Bytes) {
    use http_body_util::BodyExt as _;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let frames = futures::stream::iter([Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(first))])
        .chain(futures::stream::pending());
    let mut builder = http::Request::builder().method("POST").uri(path).header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response =
        sender.send_request(builder.body(http_body_util::StreamBody::new(frames)).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, body.collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn the_server_enforces_connect_timeout_ms_by_itself() {
    // Raw requests carry the header but enforce nothing: whatever ends the call is the
    // server. The outer timeout only keeps a broken server from hanging the test.
    let server = serve().await;
    let a = server.addr;
    let timeout = ("connect-timeout-ms", "200");
    let (stream_headers, unary_headers) = ([STREAM_JSON, timeout], [JSON, timeout]);

    let sleeping = envelope(0, br#"{"process":{"cmd":"sleep"}}"#);
    let call = raw_post(a, "/process.Process/Start", &stream_headers, sleeping);
    let (status, _, body) =
        tokio::time::timeout(Duration::from_secs(60), call).await.expect("the server ends the call (stream)");
    assert_eq!(status, 200);
    assert_eq!(end_stream(&body)["error"]["code"], "deadline_exceeded");

    let call = raw_post(a, "/process.Process/Update", &unary_headers, "{}");
    let (status, _, body) =
        tokio::time::timeout(Duration::from_secs(60), call).await.expect("the server ends the call (unary)");
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (504, Some("deadline_exceeded")));

    // A client that sends part of its request and then waits is cut off at the deadline too.
    let call = stalled_post(a, "/process.Process/List", &unary_headers, Bytes::from_static(b"{"));
    let (status, body) = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the server ends the call (unary body)");
    assert_eq!((status.as_u16(), json(&body)["code"].as_str()), (504, Some("deadline_exceeded")));
    let half = envelope(0, br#"{"process":{"cmd":"echo"}}"#).slice(..8);
    let call = stalled_post(a, "/process.Process/Start", &stream_headers, half);
    let (status, body) = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the server ends the call (stream body)");
    assert_eq!(status, 200);
    assert_eq!(end_stream(&body)["error"]["code"], "deadline_exceeded");
}

#[tokio::test]
async fn the_connect_timeout_ends_calls_to_a_host_that_does_not_answer() {
    // A listener that never accepts, its queue filled: further handshakes go unanswered
    // (the kernel drops their SYNs), as with a host that is down.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let _listener = socket.listen(0).unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            held.push(stream);
        }
    }
    let client = Client::builder().connect_timeout(Duration::from_millis(300)).build().unwrap();
    let url = format!("http://{addr}");
    let call = client.unary::<_, ListResponse>(&url, process_methods::LIST, Request::new(ListRequest {}));
    // The outer limit only keeps a client that ignores its connect timeout from hanging the test.
    let err = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the connect timeout ended the call")
        .expect_err("nobody answered");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.code(), Code::Unavailable);
    drop(held);
}
