//! Interop with the official Connect implementation for Node
//! (`@connectrpc/connect-node` 2.2.0, `@bufbuild/protobuf` 2.17.0 from npm,
//! installed into `.interop/connect-node` by the test):
//!
//! * their client against our server: unary (with headers), server streaming,
//!   errors before and after the first message, deadlines on unary and
//!   streaming calls, client streaming (HTTP/2), gzip; JSON and binary;
//!   HTTP/1.1 and HTTP/2.
//! * our client against their server: the same calls.
//!
//! Both sides use our `proto/` schema; the Node side loads its compiled
//! descriptors at run time.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2b_connect::client::{Client, Request};
use e2b_connect::{Code, Codec};
use e2b_proto::process::process_event::{Event, data_event};
use e2b_proto::process::*;
use futures::StreamExt;
use prost::Message as _;
use serde_json::{Value, json};

const PACKAGES: &[&str] =
    &["@connectrpc/connect@2.2.0", "@connectrpc/connect-node@2.2.0", "@bufbuild/protobuf@2.17.0"];

/// Installs the Node peer (once) and writes our scripts and descriptors next
/// to its node_modules.
fn node_dir() -> PathBuf {
    let dir = e2b_tests::interop::node_packages("connect-node", PACKAGES)
        .expect("installing connect-node from npm");
    for (name, text) in [
        ("common.mjs", include_str!("node/common.mjs")),
        ("client.mjs", include_str!("node/client.mjs")),
        ("server.mjs", include_str!("node/server.mjs")),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let root = e2b_tests::reference::workspace_root();
    let fds = protox::compile(["process/process.proto", "filesystem/filesystem.proto"], [root.join("proto")])
        .unwrap();
    std::fs::write(dir.join("descriptors.bin"), fds.encode_to_vec()).unwrap();
    dir
}

#[tokio::test]
async fn their_client_against_our_server() {
    let server = common::serve_with(|r| r.compress_responses(0)).await;
    let dir = tokio::task::spawn_blocking(node_dir).await.unwrap();
    for (format, http, gzip) in
        [("json", "1.1", "0"), ("binary", "1.1", "1"), ("json", "2", "1"), ("binary", "2", "0")]
    {
        let what = format!("{format} over HTTP/{http}, gzip={gzip}");
        let out = tokio::process::Command::new("node")
            .arg(dir.join("client.mjs"))
            .args([
                server.url(),
                dir.join("descriptors.bin").display().to_string(),
                format.into(),
                http.into(),
                gzip.into(),
            ])
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{what}: node client failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["list"], json!({"pid": 42, "tag": "", "echo": "from-node"}), "{what}");
        assert_eq!(got["echo"], json!({"events": ["start", "a", "b", "end"]}), "{what}");
        assert_eq!(
            got["failEarly"],
            json!({"events": [], "error": {"code": "NotFound", "message": "process not found"}}),
            "{what}"
        );
        assert_eq!(
            got["failLate"],
            json!({"events": ["start"], "error": {"code": "Internal", "message": "it broke"}}),
            "{what}"
        );
        assert_eq!(got["sleep"]["events"], json!(["start"]), "{what}");
        assert_eq!(got["sleep"]["error"]["code"], "DeadlineExceeded", "{what}");
        assert_eq!(
            got["signal"],
            json!({"code": "NotFound", "message": "process with pid 404 not found"}),
            "{what}"
        );
        assert_eq!(got["update"]["code"], "DeadlineExceeded", "{what}");
        if http == "2" {
            assert_eq!(got["streamInput"], "ok", "{what}");
        }
    }
}

/// The Node server, killed (by pid: we started it) when dropped.
struct NodeServer {
    child: Child,
    url: String,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node_server(dir: &std::path::Path, http: &str) -> NodeServer {
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .args([dir.join("descriptors.bin").display().to_string(), http.to_string()])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port =
        serde_json::from_str::<Value>(&line).unwrap_or_else(|_| panic!("node server said {line:?}"))["port"]
            .as_u64()
            .unwrap();
    NodeServer { child, url: format!("http://127.0.0.1:{port}") }
}

fn start(cmd: &str, args: &[&str]) -> StartRequest {
    StartRequest {
        process: Some(ProcessConfig {
            cmd: cmd.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    }
}

fn describe(r: &StartResponse) -> String {
    match r.event.as_ref().and_then(|e| e.event.as_ref()) {
        Some(Event::Start(s)) => format!("start {}", s.pid),
        Some(Event::Data(d)) => match &d.output {
            Some(data_event::Output::Stdout(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => "other data".into(),
        },
        Some(Event::End(e)) => format!("end {}", e.status),
        _ => "other".into(),
    }
}

#[tokio::test]
async fn our_client_against_their_server() {
    let dir = tokio::task::spawn_blocking(node_dir).await.unwrap();
    for (http, codec, gzip) in [
        ("1.1", Codec::Json, false),
        ("1.1", Codec::Proto, true),
        ("2", Codec::Json, true),
        ("2", Codec::Proto, false),
    ] {
        let what = format!("{codec:?} over HTTP/{http}, gzip={gzip}");
        let server = start_node_server(&dir, http);
        let client = Client::builder()
            .codec(codec)
            .http2_prior_knowledge(http == "2")
            .send_gzip(gzip)
            .accept_gzip(gzip)
            .build()
            .unwrap();
        let url = server.url.as_str();

        let list = client
            .unary::<_, ListResponse>(
                url,
                process_methods::LIST,
                Request::new(ListRequest {}).header("x-echo", "from-rust"),
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(list.message().processes[0].pid, 42, "{what}");
        assert_eq!(list.headers()["x-echo"], "from-rust", "{what}");
        let encoding = list.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            encoding.as_deref(),
            gzip.then_some("gzip"),
            "{what}: they compress only when we accept it"
        );

        let events: Vec<String> = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("echo", &["a", "b"])),
            )
            .await
            .unwrap()
            .map(|r| describe(&r.unwrap()))
            .collect()
            .await;
        assert_eq!(events, ["start 7", "a", "b", "end exit status 0"], "{what}");

        // A large, compressible message, gzip-enveloped by them when we accept it.
        let stream = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("big", &["200000"])),
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let encoding =
            stream.headers().get("connect-content-encoding").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(encoding.as_deref(), gzip.then_some("gzip"), "{what}");
        let big: Vec<String> = stream.map(|r| describe(&r.unwrap())).collect().await;
        assert_eq!(big, ["start 7".to_string(), "x".repeat(200_000)], "{what}");

        let mut s = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("fail-early", &[])),
            )
            .await
            .unwrap();
        let e = s.next().await.unwrap().unwrap_err();
        assert_eq!(
            (e.code(), e.status().unwrap().message()),
            (Code::NotFound, "process not found"),
            "{what}"
        );

        let mut s = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("fail-late", &[])),
            )
            .await
            .unwrap();
        assert!(s.next().await.unwrap().is_ok(), "{what}");
        assert_eq!(s.next().await.unwrap().unwrap_err().code(), Code::Internal, "{what}");

        let mut s = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("deadline", &[])).timeout(Duration::from_millis(45_000)),
            )
            .await
            .unwrap();
        s.next().await.unwrap().unwrap();
        let seen: u64 = describe(&s.next().await.unwrap().unwrap()).parse().unwrap();
        assert!(seen > 40_000 && seen <= 45_000, "{what}: they saw our Connect-Timeout-Ms ({seen})");

        let mut s = client
            .server_streaming::<_, StartResponse>(
                url,
                process_methods::START,
                Request::new(start("sleep", &[])).timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap();
        assert!(s.next().await.unwrap().is_ok());
        assert_eq!(s.next().await.unwrap().unwrap_err().code(), Code::DeadlineExceeded, "{what}");

        let signal = SendSignalRequest {
            process: Some(ProcessSelector { selector: Some(process_selector::Selector::Pid(404)) }),
            signal: Signal::Sigkill as i32,
        };
        let e = client
            .unary::<_, SendSignalResponse>(url, process_methods::SEND_SIGNAL, Request::new(signal))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.status().unwrap().message()),
            (Code::NotFound, "process with pid 404 not found"),
            "{what}"
        );

        let e = client
            .unary::<_, UpdateResponse>(
                url,
                process_methods::UPDATE,
                Request::new(UpdateRequest::default()).timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::DeadlineExceeded, "{what}");

        if http == "2" {
            let inputs = futures::stream::iter((0..5u8).map(|i| StreamInputRequest {
                event: Some(stream_input_request::Event::Data(stream_input_request::DataEvent {
                    input: Some(ProcessInput { input: Some(process_input::Input::Stdin(vec![i].into())) }),
                })),
            }));
            client
                .client_streaming::<_, StreamInputResponse, _>(
                    url,
                    process_methods::STREAM_INPUT,
                    Request::new(inputs),
                )
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let list = client
                .unary::<_, ListResponse>(url, process_methods::LIST, Request::new(ListRequest {}))
                .await
                .unwrap();
            assert_eq!(list.headers()["x-inputs"], "5", "{what}");
        }
    }
}
