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
