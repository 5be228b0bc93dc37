//! The local server under faults, driven by our Rust SDK and by raw HTTP:
//! bad requests get `{code, message}` errors and leave nothing behind; a sandbox killed
//! during a command gives the client a typed "sandbox gone" error; 50 concurrent creates
//! all succeed; a server killed (SIGKILL) in the middle of a stream and restarted cleans
//! up what it left, says why the old sandboxes are gone, and keeps its snapshots and key.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2b::{Client, ConnectionConfig, Error, SandboxQuery};
use e2b_local::testkit::{self, TestServer};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

fn client_for(api_url: &str, sandbox_url: &str, key: &str) -> Client {
    Client::new(
        ConnectionConfig::builder()
            .api_url(api_url)
            .sandbox_url(sandbox_url)
            .api_key(key)
            .build()
            .expect("a valid configuration"),
    )
}

fn client(server: &TestServer) -> Client {
    client_for(server.api_url(), server.sandbox_url(), server.api_key())
}

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.api_url()));
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An error answer is JSON with the status repeated in `code` and a `message`.
fn assert_error(answer: &(u16, Value), status: u16, message_part: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    assert_eq!(answer.1["code"], json!(status), "{answer:?}");
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(message_part), "message {message:?} should mention {message_part:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_clear_errors_and_leave_nothing() {
    let Some(server) = testkit::shared_server("bad_requests_get_clear_errors_and_leave_nothing") else {
        return;
    };
    let key = Some(server.api_key());
    use reqwest::Method as M;

    assert_error(&call(server, M::GET, "/v2/sandboxes", None, None).await, 401, "X-API-Key");
    assert_error(&call(server, M::GET, "/v2/sandboxes", Some("e2b_00"), None).await, 401, "invalid API key");
    assert_eq!(call(server, M::GET, "/health", None, None).await.0, 204);

    let tag = r#""metadata":{"test":"bad-requests"}"#;
    assert_error(
        &call(server, M::POST, "/sandboxes", key, Some(r#"{"templateID":"#)).await,
        400,
        "invalid request body",
    );
    assert_error(&call(server, M::POST, "/sandboxes", key, Some("[1,2]")).await, 400, "invalid request body");
    let unknown = format!(r#"{{"templateID":"no-such-template",{tag}}}"#);
    assert_error(&call(server, M::POST, "/sandboxes", key, Some(&unknown)).await, 404, "no-such-template");
    let unknown_snapshot = format!(r#"{{"templateID":"nope:v1",{tag}}}"#);
    assert_error(&call(server, M::POST, "/sandboxes", key, Some(&unknown_snapshot)).await, 404, "nope:v1");
    let zero = format!(r#"{{"templateID":"base","timeout":0,{tag}}}"#);
    assert_error(&call(server, M::POST, "/sandboxes", key, Some(&zero)).await, 400, "timeout");
    let huge = format!(r#"{{"templateID":"base","timeout":99999999,{tag}}}"#);
    assert_error(&call(server, M::POST, "/sandboxes", key, Some(&huge)).await, 400, "maximum");
    let bad_cidr = format!(r#"{{"templateID":"base","network":{{"denyOut":["example.com"]}},{tag}}}"#);
    assert_error(&call(server, M::POST, "/sandboxes", key, Some(&bad_cidr)).await, 400, "example.com");

    assert_error(&call(server, M::GET, "/sandboxes/..%2Fetc", key, None).await, 400, "invalid sandbox ID");
    assert_error(
        &call(server, M::DELETE, "/sandboxes/NOT-VALID!", key, None).await,
        400,
        "invalid sandbox ID",
    );
    let absent = "aaaaaaaaaaaaaaaaaaaa";
    assert_error(&call(server, M::GET, &format!("/sandboxes/{absent}"), key, None).await, 404, absent);
    assert_error(&call(server, M::DELETE, &format!("/sandboxes/{absent}"), key, None).await, 404, absent);
    assert_error(&call(server, M::POST, &format!("/sandboxes/{absent}/pause"), key, None).await, 404, absent);
    let timeout = Some(r#"{"timeout":10}"#);
    assert_error(
        &call(server, M::POST, &format!("/sandboxes/{absent}/connect"), key, timeout).await,
        404,
        absent,
    );
    assert_error(&call(server, M::GET, "/v2/sandboxes?limit=0", key, None).await, 400, "limit");
    assert_error(&call(server, M::GET, "/v2/sandboxes?state=sleeping", key, None).await, 400, "state");
    assert_error(&call(server, M::GET, "/v2/sandboxes?nextToken=%21%21", key, None).await, 400, "next token");
    assert_error(&call(server, M::DELETE, "/templates/never-made", key, None).await, 404, "never-made");
    assert_error(&call(server, M::GET, "/no/such/endpoint", key, None).await, 404, "no such endpoint");

    // The envd router: unknown sandbox and half the routing headers.
    let router = reqwest::Client::new();
    let gone = router
        .get(format!("{}/health", server.sandbox_url()))
        .header("E2b-Sandbox-Id", absent)
        .header("E2b-Sandbox-Port", "49983")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 502);
    let body: Value = gone.json().await.unwrap();
    assert_eq!(body, json!({"sandboxId": absent, "message": "The sandbox was not found", "code": 502}));
    let half = router
        .get(format!("{}/health", server.sandbox_url()))
        .header("E2b-Sandbox-Id", absent)
        .send()
        .await
        .unwrap();
    assert_eq!(half.status().as_u16(), 400);

    // None of the refused creates left a sandbox behind.
    let left: Vec<_> = client(server)
        .list(SandboxQuery::new().metadata("test", "bad-requests"))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "refused creates left sandboxes: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_refreshes_and_batch_metrics_answer_like_e2b() {
    let Some(server) = testkit::shared_server("logs_refreshes_and_batch_metrics_answer_like_e2b") else {
        return;
    };
    let key = Some(server.api_key());
    use reqwest::Method as M;
    let client = client(server);
    let sandbox = client.sandbox().metadata("test", "rest-of-api").create().await.unwrap();
    let id = sandbox.sandbox_id().to_string();
    sandbox.commands().run("echo logged").await.unwrap();

    // Refreshes extend the lifetime (never shorten it): 204, endAt later.
    let end = |info: &Value| chrono::DateTime::parse_from_rfc3339(info["endAt"].as_str().unwrap()).unwrap();
    let before = call(server, M::GET, &format!("/sandboxes/{id}"), key, None).await;
    let refreshed =
        call(server, M::POST, &format!("/sandboxes/{id}/refreshes"), key, Some(r#"{"duration":3600}"#)).await;
    assert_eq!(refreshed.0, 204, "{refreshed:?}");
    let after = call(server, M::GET, &format!("/sandboxes/{id}"), key, None).await;
    assert!(end(&after.1) > end(&before.1), "{before:?} then {after:?}");
    let shorter =
        call(server, M::POST, &format!("/sandboxes/{id}/refreshes"), key, Some(r#"{"duration":1}"#)).await;
    assert_eq!(shorter.0, 204);
    let still = call(server, M::GET, &format!("/sandboxes/{id}"), key, None).await;
    assert_eq!(end(&still.1), end(&after.1), "a refresh never shortens the lifetime");
    assert_error(
        &call(server, M::POST, "/sandboxes/aaaaaaaaaaaaaaaaaaaa/refreshes", key, Some("{}")).await,
        404,
        "aaaaaaaaaaaaaaaaaaaa",
    );

    // Logs: envd's own log lines, v1 and v2 (limit, direction, level, cursor, search).
    let v1 = call(server, M::GET, &format!("/sandboxes/{id}/logs?limit=50"), key, None).await;
    assert_eq!(v1.0, 200, "{v1:?}");
    let lines = v1.1["logs"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.len() <= 50, "{v1:?}");
    assert!(lines.iter().all(|l| l["line"].is_string() && l["timestamp"].is_string()), "{v1:?}");
    assert_eq!(v1.1["logEntries"].as_array().unwrap().len(), lines.len());
    let v2 = call(server, M::GET, &format!("/v2/sandboxes/{id}/logs"), key, None).await;
    assert_eq!(v2.0, 200, "{v2:?}");
    let all = v2.1["logs"].as_array().unwrap().clone();
    assert!(!all.is_empty());
    let entry = &all[0];
    assert!(
        entry["timestamp"].is_string() && entry["message"].is_string() && entry["level"].is_string(),
        "{entry}"
    );
    let two =
        call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?limit=2&direction=backward"), key, None).await;
    let two = two.1["logs"].as_array().unwrap().clone();
    assert_eq!(two.len(), 2.min(all.len()));
    assert_eq!(two[0], all[all.len() - 1], "backward starts at the newest entry");
    let errors = call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?level=error"), key, None).await;
    assert!(errors.1["logs"].as_array().unwrap().iter().all(|e| e["level"] == "error"), "{errors:?}");
    let future_ms = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let later = call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?cursor={future_ms}"), key, None).await;
    assert_eq!(later.1["logs"], json!([]), "nothing after a cursor in the future");
    let nothing =
        call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?search=no-such-text-xyz"), key, None).await;
    assert_eq!(nothing.1["logs"], json!([]));
    assert_error(
        &call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?level=loud"), key, None).await,
        400,
        "level",
    );
    assert_error(
        &call(server, M::GET, &format!("/v2/sandboxes/{id}/logs?direction=up"), key, None).await,
        400,
        "direction",
    );

    // Batch metrics: running sandboxes by ID; unknown IDs are left out.
    let mut metrics = Value::Null;
    for _ in 0..100 {
        let answer = call(
            server,
            M::GET,
            &format!("/sandboxes/metrics?sandbox_ids={id},aaaaaaaaaaaaaaaaaaaa"),
            key,
            None,
        )
        .await;
        assert_eq!(answer.0, 200, "{answer:?}");
        metrics = answer.1;
        if metrics["sandboxes"].get(&id).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sample = &metrics["sandboxes"][&id];
    assert!(
        sample["cpuCount"].as_u64().unwrap() >= 1 && sample["memTotal"].as_u64().unwrap() > 0,
        "{metrics}"
    );
    assert!(metrics["sandboxes"].get("aaaaaaaaaaaaaaaaaaaa").is_none(), "{metrics}");
    assert_error(&call(server, M::GET, "/sandboxes/metrics", key, None).await, 400, "sandbox_ids");

    assert!(client.kill(&id).await.unwrap());
}

/// A server in the sandbox that switches protocols (`Upgrade: echo`) and then echoes
/// every byte, as a WebSocket server would carry frames.
const ECHO_UPGRADE_SERVER: &str = r#"
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8010)); s.listen()
while True:
    c, _ = s.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(1024)
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
    while True:
        data = c.recv(4096)
        if not data:
            break
        c.sendall(data)
    c.close()
"#;

/// One raw exchange with the router: `request`, then whatever arrives until `until`.
async fn raw_exchange(addr: &str, request: &str, until: &str) -> (tokio::net::TcpStream, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(until) {
        let n = tokio::time::timeout(Duration::from_secs(30), socket.read(&mut buf))
            .await
            .expect("the router answers")
            .unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    (socket, String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrades_pass_through_and_traffic_wakes_an_auto_resume_sandbox() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Some(server) = testkit::shared_server("upgrades_pass_through") else { return };
    let client = client(server);
    let sandbox = client
        .sandbox()
        .metadata("test", "upgrades")
        .lifecycle(e2b::Lifecycle::new().on_timeout(e2b::OnTimeout::Pause).auto_resume(true))
        .create()
        .await
        .unwrap();
    sandbox.files().write("/home/user/echo.py", ECHO_UPGRADE_SERVER).await.unwrap();
    sandbox.commands().run("python3 /home/user/echo.py").timeout(Duration::ZERO).spawn().await.unwrap();
    let router = server.sandbox_url().trim_start_matches("http://").to_string();
    let host = sandbox.get_host(8010);
    let request =
        format!("GET /chat HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");

    // The server in the sandbox may need a moment to listen.
    let mut switched = None;
    for _ in 0..100 {
        let (socket, head) = raw_exchange(&router, &request, "\r\n\r\n").await;
        if head.starts_with("HTTP/1.1 101") {
            switched = Some((socket, head));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut socket, head) = switched.expect("the upgrade went through the router");
    assert!(head.to_ascii_lowercase().contains("upgrade: echo"), "{head}");
    for message in ["ping", "a longer message, both ways"] {
        socket.write_all(message.as_bytes()).await.unwrap();
        let mut back = vec![0u8; message.len()];
        tokio::time::timeout(Duration::from_secs(30), socket.read_exact(&mut back)).await.unwrap().unwrap();
        assert_eq!(back, message.as_bytes());
    }
    drop(socket);

    // Paused with auto_resume: a request to one of its ports wakes it up.
    assert!(sandbox.pause().await.unwrap());
    assert_eq!(client.get_info(sandbox.sandbox_id()).await.unwrap().state, e2b::SandboxState::Paused);
    let (_, head) = raw_exchange(&router, &request, "\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "traffic resumed the sandbox: {head}");
    assert_eq!(client.get_info(sandbox.sandbox_id()).await.unwrap().state, e2b::SandboxState::Running);

    // Without auto_resume a paused sandbox stays paused: 502.
    let plain = client.sandbox().metadata("test", "upgrades").create().await.unwrap();
    assert!(plain.pause().await.unwrap());
    let plain_request =
        format!("GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", plain.get_host(8010));
    let (_, head) = raw_exchange(&router, &plain_request, "}").await;
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert_eq!(client.get_info(plain.sandbox_id()).await.unwrap().state, e2b::SandboxState::Paused);
    assert!(client.kill(plain.sandbox_id()).await.unwrap());
    assert!(client.kill(sandbox.sandbox_id()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_a_sandbox_during_a_command_is_a_typed_sandbox_gone_error() {
    let Some(server) = testkit::shared_server("killing_a_sandbox_during_a_command") else { return };
    let client = client(server);
    let sandbox = client.sandbox().create().await.unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    let handle = sandbox
        .commands()
        .run("echo started; sleep 600")
        .on_stdout(move |s| sink.lock().unwrap().push_str(s))
        .spawn()
        .await
        .unwrap();
    while !seen.lock().unwrap().contains("started") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(client.kill(sandbox.sandbox_id()).await.unwrap());
    let err = tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the wait ends when the sandbox is killed")
        .expect_err("a killed sandbox cannot finish the command");
    assert!(matches!(err, Error::SandboxGone { .. }), "expected SandboxGone, got {err:?}");
    // Later calls say the same, and the control plane no longer knows it.
    let again = sandbox.commands().run("true").send().await.expect_err("the sandbox is gone");
    assert!(matches!(again, Error::SandboxGone { .. }), "expected SandboxGone, got {again:?}");
    let info = client.get_info(sandbox.sandbox_id()).await.expect_err("killed");
    assert!(matches!(info, Error::SandboxNotFound { .. }), "{info:?}");
    assert!(!client.kill(sandbox.sandbox_id()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_all_succeed() {
    let Some(server) = testkit::shared_server("fifty_concurrent_creates_all_succeed") else { return };
    let client = client(server);
    let creates = (0..50).map(|i| {
        let client = client.clone();
        async move {
            let sandbox = client.sandbox().metadata("test", "fifty").create().await?;
            let out = sandbox.commands().run(format!("echo {i}")).send().await?;
            Ok::<_, Error>((sandbox, out.stdout))
        }
    });
    let results = futures::future::join_all(creates).await;
    let mut ids = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok((sandbox, stdout)) => {
                assert_eq!(stdout, format!("{i}\n"));
                ids.insert(sandbox.sandbox_id().to_string());
            }
            Err(e) => failures.push(format!("{i}: {e}")),
        }
    }
    let listed: Vec<_> =
        client.list(SandboxQuery::new().metadata("test", "fifty")).into_stream().try_collect().await.unwrap();
    let kills = ids.iter().map(|id| client.kill(id));
    let killed = futures::future::join_all(kills).await;
    assert!(failures.is_empty(), "creates failed: {failures:#?}");
    assert_eq!(ids.len(), 50);
    assert_eq!(listed.len(), 50);
    assert!(killed.iter().all(|k| matches!(k, Ok(true))), "{killed:?}");
}

/// The `e2b-local` binary as a child process with its own state, instance and pool.
struct ServerProcess {
    child: Child,
    api_url: String,
    sandbox_url: String,
    api_key: String,
}

impl ServerProcess {
    fn start(state: &Path, instance: &str, pool: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_e2b-local"))
            .args(["serve", "--api-port", "0", "--sandbox-port", "0", "--instance", instance])
            .args(["--address-pool", pool])
            .arg("--state-dir")
            .arg(state)
            .arg("--templates-dir")
            .arg(testkit::templates_dir())
            .arg("--envd")
            .arg(testkit::envd_path())
            .env_remove("E2B_LOCAL_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting e2b-local");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut value = |name: &str| loop {
            let line = lines.next().expect("e2b-local printed its URLs").unwrap();
            if let Some(v) = line.trim().strip_prefix(name) {
                return v.to_string();
            }
        };
        let api_url = value("E2B_API_URL=");
        let sandbox_url = value("E2B_SANDBOX_URL=");
        let api_key = value("E2B_API_KEY=");
        Self { child, api_url, sandbox_url, api_key }
    }

    fn client(&self) -> Client {
        client_for(&self.api_url, &self.sandbox_url, &self.api_key)
    }

    fn signal(&mut self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child we started and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        self.child.wait().expect("waiting for e2b-local");
    }
}

impl Drop for ServerProcess {
    /// A failed assertion must not leave the server (and its sandboxes) running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
        }
    }
}

/// Processes on the host whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(marker)
        {
            found.push(pid);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_stream_cleans_up_at_restart_and_keeps_snapshots() {
    if !testkit::host_ready("a_server_killed_mid_stream") {
        return;
    }
    let pid = std::process::id();
    let instance = format!("c{}", pid % 100_000);
    let pool = format!("10.99.{}.0/22", (pid % 64) * 4);
    let state = PathBuf::from(testkit::TEST_ROOT).join("runs").join(&instance);
    let _ = std::fs::remove_dir_all(&state);
    // Declared before the servers, so dropped (removed) after they stopped, also on failure.
    let _state = RemovedOnDrop(state.clone());

    let mut first = ServerProcess::start(&state, &instance, &pool);
    let client = first.client();
    let sandbox = client.sandbox().create().await.unwrap();
    sandbox.files().write("/home/user/kept.txt", "survives").await.unwrap();
    let snapshot = sandbox.create_snapshot().name("restart-test").send().await.unwrap();
    let marker = format!("sleep 987.{pid}");
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    let handle = sandbox
        .commands()
        .run(format!("echo streaming; {marker}"))
        .on_stdout(move |s| sink.lock().unwrap().push_str(s))
        .spawn()
        .await
        .unwrap();
    while !seen.lock().unwrap().contains("streaming") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!processes_with(&marker).is_empty(), "the command runs");

    first.signal(libc::SIGKILL);
    let err = tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the stream ends when the server dies")
        .expect_err("the stream was cut");
    assert!(
        matches!(err, Error::SandboxGone { .. } | Error::Rpc { .. } | Error::Transport { .. }),
        "a cut stream is a transport-level error, got {err:?}"
    );

    let mut second = ServerProcess::start(&state, &instance, &pool);
    assert_eq!(second.api_key, first.api_key, "the key is kept in the database");
    let client = second.client();
    assert!(processes_with(&marker).is_empty(), "the restart ended the old sandbox's processes");
    let gone = client.get_info(sandbox.sandbox_id()).await.expect_err("the old sandbox was cleaned up");
    assert!(matches!(gone, Error::SandboxNotFound { .. }), "expected SandboxNotFound, got {gone:?}");
    // The SDK words a 404 as the official ones do; the server's own message says why.
    let answer = reqwest::Client::new()
        .get(format!("{}/sandboxes/{}", second.api_url, sandbox.sandbox_id()))
        .header("X-API-Key", &second.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let body: Value = answer.json().await.unwrap();
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("server stopped"), "the reason is recorded: {body}");
    let snapshots: Vec<_> =
        client.list_snapshots(e2b::SnapshotQuery::new()).into_stream().try_collect().await.unwrap();
    assert!(snapshots.iter().any(|s| s.snapshot_id == snapshot.snapshot_id), "{snapshots:?}");
    let restored = client.sandbox().template(&snapshot.snapshot_id).create().await.unwrap();
    assert_eq!(restored.files().read("/home/user/kept.txt").text().await.unwrap(), "survives");
    assert!(client.delete_snapshot(&snapshot.snapshot_id).await.unwrap());

    second.signal(libc::SIGTERM);
}

/// A directory removed when the guard is dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_given_by_flag_is_accepted_only_while_given() {
    use e2b_local::runtime::RuntimeConfig;
    use e2b_local::server::{LocalServer, ServerConfig};
    if !testkit::host_ready("a_key_given_by_flag") {
        return;
    }
    let pid = std::process::id();
    let instance = format!("y{}", pid % 100_000);
    let pool: e2b_local::runtime::Ipv4Cidr = format!("10.96.{}.0/22", (pid % 64) * 4).parse().unwrap();
    let state = PathBuf::from(testkit::TEST_ROOT).join("runs").join(&instance);
    let _state = RemovedOnDrop(state.clone());
    let config = |key: Option<&str>| {
        let runtime = RuntimeConfig::new(testkit::envd_path())
            .root(&state)
            .templates_dir(testkit::templates_dir())
            .instance(&instance)
            .address_pool(pool);
        let any = "127.0.0.1:0".parse().unwrap();
        let config = ServerConfig::new(runtime).api_addr(any).sandbox_addr(any);
        match key {
            Some(key) => config.api_key(key),
            None => config,
        }
    };
    let status = |api_url: String, key: &str| {
        let key = key.to_string();
        async move {
            reqwest::Client::new()
                .get(format!("{api_url}/v2/sandboxes"))
                .header("X-API-Key", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let given = "e2b_0123456789abcdef0123456789abcdef";

    let generated = LocalServer::start(config(None)).await.unwrap();
    let remembered = generated.api_key().to_string();
    generated.shutdown().await.unwrap();

    let flagged = LocalServer::start(config(Some(given))).await.unwrap();
    assert_eq!(flagged.api_key(), given);
    assert_eq!(status(flagged.api_url(), given).await, 200);
    assert_eq!(status(flagged.api_url(), &remembered).await, 401, "only the given key while it is given");
    flagged.shutdown().await.unwrap();

    let again = LocalServer::start(config(None)).await.unwrap();
    assert_eq!(again.api_key(), remembered, "the generated key is remembered");
    assert_eq!(status(again.api_url(), given).await, 401, "a key given once is not remembered");
    assert_eq!(status(again.api_url(), &remembered).await, 200);
    again.shutdown().await.unwrap();
}
