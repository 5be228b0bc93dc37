//! The Connect protocol as the SDKs speak it, byte for byte over raw
//! HTTP/1.1: JSON messages and envelopes, end-stream frames, error codes and
//! statuses, and malformed input.
//!
//! Run with `cargo test -p envd --test connect` (as root).

mod common;

use common::*;
use serde_json::{Value, json};

/// Splits a Connect streaming body into (flags, JSON) frames.
fn frames(body: &[u8]) -> Vec<(u8, Value)> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        assert!(rest.len() >= 5, "truncated frame header");
        let flags = rest[0];
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = &rest[5..5 + len];
        out.push((flags, serde_json::from_slice(payload).unwrap()));
        rest = &rest[5 + len..];
    }
    out
}

fn envelope(json: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(json).unwrap();
    let mut out = vec![0u8];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

const STREAM: &[(&str, &str)] =
    &[("content-type", "application/connect+json"), ("connect-protocol-version", "1")];
const UNARY: &[(&str, &str)] = &[("content-type", "application/json"), ("connect-protocol-version", "1")];

/// PROTOCOL.md's wire example: `commands.run("echo hi")` as the SDK sends
/// it, answered with start, data, end (exit code 0 omitted) and `{}`.
#[tokio::test(flavor = "multi_thread")]
async fn start_over_connect_json() {
    let envd = TestEnvd::default().await;
    let body =
        envelope(&json!({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "echo hi"]}, "stdin": false}));
    let mut headers = STREAM.to_vec();
    headers.extend([("connect-timeout-ms", "60000"), ("keepalive-ping-interval", "50")]);
    let reply = post(&envd.url("/process.Process/Start"), &headers, body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/connect+json");
    let frames = frames_of(&reply.body);
    let pid = frames[0].1["event"]["start"]["pid"].as_u64().expect("start first");
    assert!(pid > 0);
    assert_eq!(frames[1].1, json!({"event": {"data": {"stdout": "aGkK"}}}));
    assert_eq!(frames[2].1, json!({"event": {"end": {"exited": true, "status": "exit status 0"}}}));
    assert_eq!(frames[3], (2, json!({})), "end-of-stream frame");
    assert_eq!(frames.len(), 4);

    // A failing command carries exitCode and error.
    let body =
        envelope(&json!({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "exit 2"]}, "stdin": false}));
    let reply = post(&envd.url("/process.Process/Start"), STREAM, body).await;
    let frames = frames_of(&reply.body);
    assert_eq!(
        frames[frames.len() - 2].1,
        json!({"event": {"end": {"exitCode": 2, "exited": true, "status": "exit status 2", "error": "exit status 2"}}})
    );
}

/// Errors of streaming calls ride in the end-stream frame with HTTP 200,
/// including errors before the first message.
#[tokio::test(flavor = "multi_thread")]
async fn streaming_errors_in_the_end_frame() {
    let envd = TestEnvd::default().await;
    let body = envelope(&json!({"process": {"pid": 999999}}));
    let reply = post(&envd.url("/process.Process/Connect"), STREAM, body).await;
    assert_eq!(reply.status, 200);
    let frames = frames_of(&reply.body);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, 2);
    assert_eq!(frames[0].1["error"]["code"], "not_found");
    assert_eq!(frames[0].1["error"]["message"], "process with pid 999999 not found");

    let body = envelope(&json!({"process": {"cmd": "true", "cwd": "/no/where"}}));
    let reply = post(&envd.url("/process.Process/Start"), STREAM, body).await;
    let frames = frames_of(&reply.body);
    assert_eq!(frames[0].1["error"]["code"], "invalid_argument");
    assert_eq!(frames[0].1["error"]["message"], "cwd '/no/where' does not exist");

    // Malformed JSON inside a well-formed envelope.
    let mut bad = vec![0u8, 0, 0, 0, 5];
    bad.extend_from_slice(b"{nope");
    let reply = post(&envd.url("/process.Process/Start"), STREAM, bad).await;
    assert_eq!(frames_of(&reply.body)[0].1["error"]["code"], "invalid_argument");
    // A truncated envelope.
    let reply = post(&envd.url("/process.Process/Start"), STREAM, vec![0u8, 0, 0, 1, 0, b'{']).await;
    let frames = frames_of(&reply.body);
    assert_eq!(frames.last().unwrap().0, 2);
    assert!(frames.last().unwrap().1["error"]["code"].is_string());
    // A non-numeric timeout.
    let mut headers = STREAM.to_vec();
    headers.push(("connect-timeout-ms", "soon"));
    let reply =
        post(&envd.url("/process.Process/Start"), &headers, envelope(&json!({"process": {"cmd": "true"}})))
            .await;
    assert_eq!(frames_of(&reply.body)[0].1["error"]["code"], "invalid_argument");
}

fn frames_of(body: &[u8]) -> Vec<(u8, Value)> {
    frames(body)
}

/// Unary calls: bare JSON both ways, camelCase out, both spellings in,
/// 64-bit sizes as strings, errors as HTTP statuses with a JSON code.
#[tokio::test(flavor = "multi_thread")]
async fn unary_over_connect_json() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"12345").unwrap();
    let path = file.display().to_string();

    let reply =
        post(&envd.url("/filesystem.Filesystem/Stat"), UNARY, json!({"path": path}).to_string()).await;
    assert_eq!(reply.status, 200);
    let entry = &reply.json()["entry"];
    assert_eq!(entry["size"], "5", "int64 as a string");
    assert_eq!(entry["type"], "FILE_TYPE_FILE");
    assert_eq!(entry["permissions"], "-rw-r--r--");
    assert!(entry["modifiedTime"].as_str().unwrap().ends_with('Z'));

    let list = post(
        &envd.url("/filesystem.Filesystem/ListDir"),
        UNARY,
        json!({"path": dir.path(), "depth": 1}).to_string(),
    )
    .await;
    assert_eq!(list.json()["entries"][0]["name"], "f.txt");

    let missing = post(&envd.url("/filesystem.Filesystem/Stat"), UNARY, r#"{"path":"/no/such"}"#).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "not_found");
    let exists =
        post(&envd.url("/filesystem.Filesystem/MakeDir"), UNARY, json!({"path": dir.path()}).to_string())
            .await;
    assert_eq!((exists.status.as_u16(), exists.json()["code"].as_str()), (409, Some("already_exists")));

    // proto field names are accepted too; unknown fields are ignored.
    let watcher = post(
        &envd.url("/filesystem.Filesystem/CreateWatcher"),
        UNARY,
        json!({"path": dir.path(), "include_entry": true, "futureField": 1}).to_string(),
    )
    .await;
    assert_eq!(watcher.status, 200, "{}", watcher.text());
    let id = watcher.json()["watcherId"].as_str().unwrap().to_owned();
    let events = post(
        &envd.url("/filesystem.Filesystem/GetWatcherEvents"),
        UNARY,
        json!({"watcher_id": id}).to_string(),
    )
    .await;
    assert_eq!(events.status, 200);

    let bad = post(&envd.url("/filesystem.Filesystem/Stat"), UNARY, "{not json").await;
    assert_eq!((bad.status.as_u16(), bad.json()["code"].as_str()), (400, Some("invalid_argument")));
    let signal = post(
        &envd.url("/process.Process/SendSignal"),
        UNARY,
        r#"{"process":{"pid":1},"signal":"SIGNAL_SIGKILL"}"#,
    )
    .await;
    assert_eq!(signal.json()["code"], "not_found", "pid 1 is not an envd process");
    let unsupported = post(&envd.url("/process.Process/List"), &[("content-type", "text/plain")], "{}").await;
    assert_eq!(unsupported.status, 415);
    let unknown = post(&envd.url("/process.Process/Nope"), UNARY, "{}").await;
    assert_eq!(unknown.status, 404);
}

/// Binary Connect (`application/proto`) serves the same implementation.
#[tokio::test(flavor = "multi_thread")]
async fn unary_over_connect_proto() {
    use prost::Message;
    let envd = TestEnvd::default().await;
    let request = e2b_proto::filesystem::StatRequest { path: "/".into() };
    let reply = post(
        &envd.url("/filesystem.Filesystem/Stat"),
        &[("content-type", "application/proto")],
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let response = e2b_proto::filesystem::StatResponse::decode(reply.body.as_ref()).unwrap();
    assert_eq!(response.entry.unwrap().r#type, e2b_proto::filesystem::FileType::Directory as i32);
}

/// Client streaming over Connect: StreamInput's enveloped messages reach
/// the process's stdin in order.
#[tokio::test(flavor = "multi_thread")]
async fn stream_input_over_connect() {
    use futures::StreamExt;
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut request = bash("cat");
    request.stdin = Some(true);
    let mut stream = client.start(request).await.unwrap().into_inner();
    let mut first = Collected::default();
    first.push(stream.next().await.unwrap().unwrap().event.and_then(|e| e.event));
    let pid = first.pid.unwrap();

    let mut body = envelope(&json!({"start": {"process": {"pid": pid}}}));
    body.extend(envelope(&json!({"data": {"input": {"stdin": "aGVsbG8g"}}})));
    body.extend(envelope(&json!({"keepalive": {}})));
    body.extend(envelope(&json!({"data": {"input": {"stdin": "d29ybGQ="}}})));
    let reply = post(&envd.url("/process.Process/StreamInput"), STREAM, body).await;
    assert_eq!(reply.status, 200);
    let frames = frames_of(&reply.body);
    assert_eq!(frames.last().unwrap(), &(2, json!({})), "{frames:?}");
    let close =
        post(&envd.url("/process.Process/CloseStdin"), UNARY, json!({"process": {"pid": pid}}).to_string())
            .await;
    assert_eq!(close.status, 200);
    let out = collect(stream, std::time::Duration::from_secs(10)).await;
    assert_eq!(out.stdout(), "hello world");
}

/// The same port speaks Connect over h2c (prior knowledge) too, unary and
/// streaming, through the project's own Connect client.
#[tokio::test(flavor = "multi_thread")]
async fn connect_over_h2c() {
    use e2b_proto::process::{ListRequest, ListResponse, StartResponse, process_methods};
    use futures::StreamExt;
    let envd = TestEnvd::default().await;
    let client = e2b_connect::client::Client::builder().http2_prior_knowledge(true).build().unwrap();
    let base = envd.url("");
    let list = client
        .unary::<_, ListResponse>(
            &base,
            process_methods::LIST,
            e2b_connect::client::Request::new(ListRequest {}),
        )
        .await
        .unwrap();
    assert!(list.message().processes.is_empty());
    let mut stream = client
        .server_streaming::<_, StartResponse>(
            &base,
            process_methods::START,
            e2b_connect::client::Request::new(bash("echo over-h2")),
        )
        .await
        .unwrap();
    let mut out = Collected::default();
    while let Some(message) = stream.next().await {
        out.push(message.unwrap().event.and_then(|e| e.event));
    }
    assert_eq!(out.stdout(), "over-h2\n");
    assert_eq!(out.shape(), ["start", "stdout", "end"]);
}
