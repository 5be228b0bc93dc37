//! Wire parity with the official Python SDK (`e2b==2.45.1`, installed by
//! `e2b_tests::interop::python_e2b()`).
//!
//! The same sequence of control-plane and file operations is run twice
//! against fresh instances of the recording test double: once by a Python
//! script using the official SDK, once by the Rust SDK. The test proves that
//! for every operation the Rust SDK sends the same requests: method, raw
//! path, query parameters (decoded), significant headers (API key, routing
//! and access-token headers, content type and encoding, file metadata) and
//! body (JSON compared as values, multipart compared part by part, raw
//! uploads compared after decompression, RPC messages compared as JSON after
//! removing the Connect envelope). envd's RPCs are answered by the same
//! script in both runs. It also proves that the signed file URLs both SDKs
//! build are identical (with an expiry: the same URL, each signature checked). (Not
//! compared: `watch_dir`, which the synchronous Python SDK implements by polling
//! `CreateWatcher` instead of streaming, and the MCP gateway's start, whose access token
//! is random.)

mod support;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use e2b::{
    ConfigScope, Lifecycle, NetworkConfig, NetworkRule, NetworkUpdate, OnTimeout, ResetMode, SandboxQuery,
    SandboxState, SnapshotQuery, WriteData, WriteEntry,
};
use e2b_connect::server::ConnectRouter;
use serde_json::{Value, json};
use support::fake::{API_KEY, Fake, Recorded, parse_multipart};

const SCRIPT: &str = r#"
import datetime, io, json, os, urllib.request
from e2b import PtySize, Sandbox, SandboxQuery, SandboxState
from e2b.sandbox.filesystem.filesystem import WriteEntry

BASE = os.environ["E2B_API_URL"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def step(name):
    opener.open(urllib.request.Request(BASE + "/__step/" + name, method="POST")).read()

step("create_basic")
sbx = Sandbox.create(template="base", timeout=120, metadata={"owner": "ci"}, envs={"FOO": "1"})
step("create_full")
Sandbox.create(
    secure=False,
    allow_internet_access=False,
    network={
        "allow_out": ["api.example.com"],
        "deny_out": ["0.0.0.0/0"],
        "rules": {"api.example.com": [{"transform": {"headers": {"Authorization": "Bearer x"}}}]},
        "allow_public_traffic": True,
        "mask_request_host": "localhost:${PORT}",
    },
    lifecycle={"on_timeout": "pause", "auto_resume": True},
)
step("create_filesystem_only_pause")
Sandbox.create(lifecycle={"on_timeout": {"action": "pause", "keep_memory": False}}, timeout=0)
step("create_kill")
Sandbox.create(lifecycle={"on_timeout": "kill"})
step("connect")
Sandbox.connect(sbx.sandbox_id, timeout=90)
step("set_timeout")
sbx.set_timeout(60)
step("get_info")
sbx.get_info()
Sandbox.get_info(sbx.sandbox_id)
step("metrics")
sbx.get_metrics(
    start=datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc),
    end=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
)
sbx.get_metrics()
step("pause")
sbx.pause(keep_memory=False)
sbx.pause()
step("resume")
sbx.connect()
step("beta_pause")
sbx.beta_pause()
sbx.connect()
step("fork")
sbx.fork(count=2, timeout=60)
step("update_network")
sbx.update_network({"allow_out": ["10.0.0.0/8"], "deny_out": ["0.0.0.0/0"], "allow_internet_access": False})
sbx.update_network({})
step("snapshots")
sbx.create_snapshot()
sbx.create_snapshot(name="golden")
pages = Sandbox.list_snapshots(sandbox_id=sbx.sandbox_id, limit=1)
pages.next_items()
pages.next_items()
Sandbox.list_snapshots(name="golden").next_items()
Sandbox.delete_snapshot("team/golden:default")
Sandbox.delete_snapshot("team/golden:default")
step("list")
pages = Sandbox.list(
    query=SandboxQuery(metadata={"owner": "ci", "a b": "c/d&e=f"}, state=[SandboxState.RUNNING, SandboxState.PAUSED]),
    limit=1,
)
pages.next_items()
Sandbox.list(query=SandboxQuery(metadata={"owner": "ci"})).next_items()
Sandbox.list(
    query=SandboxQuery(started_after=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), template="base"),
    order="asc",
).next_items()
step("files_write")
sbx.files.write("/home/user/a.txt", "hello")
sbx.files.write("/home/user/b.bin", b"\x00\x01\x02", use_octet_stream=True)
sbx.files.write("c.txt", "zip me please " * 20, gzip=True)
sbx.files.write("/home/user/m.txt", "meta", metadata={"source": "ci", "Owner": "bot"})
sbx.files.write_files([WriteEntry(path="/x/1.txt", data="one"), WriteEntry(path="/x/2.json", data=b"{}")])
sbx.files.write("/home/user/stream.bin", io.BytesIO(b"streamed bytes" * 100))
sbx.files.write("/home/user/as-root.txt", "r", user="root")
step("files_read")
sbx.files.read("/home/user/a.txt")
sbx.files.read("/home/user/a.txt", format="bytes", gzip=True)
sbx.files.read("/home/user/a.txt", user="root", format="bytes")
try:
    sbx.files.read("/home/user/missing.txt")
except Exception:
    pass
step("commands_run")
sbx.commands.run("echo hi", envs={"A": "1"}, cwd="/tmp", user="root")
step("commands_background")
h = sbx.commands.run("sleep 30", background=True, timeout=0)
h.kill()
step("commands_misc")
sbx.commands.send_stdin(42, "hi")
sbx.commands.close_stdin(42)
sbx.commands.list()
sbx.commands.kill(12345)
sbx.commands.connect(42).wait()
step("pty")
t = sbx.pty.create(PtySize(rows=24, cols=80), timeout=0)
sbx.pty.send_stdin(t.pid, b"ls\n")
sbx.pty.resize(t.pid, PtySize(rows=50, cols=132))
sbx.pty.kill(t.pid)
step("filesystem_rpc")
sbx.files.list("/home/user", depth=2)
sbx.files.exists("/home/user/a.txt")
sbx.files.exists("/nope")
sbx.files.get_info("/home/user/a.txt")
sbx.files.make_dir("/new")
sbx.files.rename("/tmp/a.txt", "/tmp/b.txt")
sbx.files.remove("/tmp/x")
step("git")
sbx.git.status("/home/user/repo")
sbx.git.init("/home/user/new", initial_branch="main")
sbx.git.init("/home/user/bare", bare=True)
sbx.git.remote_add("/home/user/repo", "origin", "https://example.com/r.git", fetch=True)
sbx.git.remote_get("/home/user/repo", "origin")
sbx.git.branches("/home/user/repo")
sbx.git.create_branch("/home/user/repo", "feature")
sbx.git.checkout_branch("/home/user/repo", "main")
sbx.git.delete_branch("/home/user/repo", "feature", force=True)
sbx.git.add("/home/user/repo", files=["a.txt", "b c.txt"], all=False)
sbx.git.add("/home/user/repo")
sbx.git.commit("/home/user/repo", "it's done", author_name="A B", author_email="a@b.c", allow_empty=True)
sbx.git.reset("/home/user/repo", mode="hard", target="HEAD~1")
sbx.git.restore("/home/user/repo", ["a.txt"], staged=True, source="HEAD")
sbx.git.set_config("user.name", "Bot", scope="local", path="/home/user/repo")
sbx.git.get_config("user.name")
sbx.git.configure_user("Bot", "bot@example.com")
step("health")
sbx.is_running()
step("kill")
sbx.kill()
Sandbox.kill(sbx.sandbox_id)
step("done")
print(json.dumps({
    "download": sbx.download_url("/home/user/a b.txt"),
    "download_user": sbx.download_url("rel/path.txt", user="root"),
    "upload": sbx.upload_url("/home/user/in.csv"),
    "download_expiring": sbx.download_url("/home/user/a.txt", user="user", use_signature_expiration=3600),
}), flush=True)
# Skip interpreter finalization: the SDK's native HTTP client (pyqwest) can crash there
# (SIGSEGV/SIGABRT) after everything succeeded.
os._exit(0)
"#;

/// The same operations with the Rust SDK; returns the signed URLs.
async fn rust_operations(fake: &Fake) -> Value {
    let http = reqwest::Client::new();
    let step = |name: &str| {
        let request = http.post(format!("{}/__step/{name}", fake.url));
        async move {
            request.send().await.unwrap();
        }
    };
    let client = fake.client();

    step("create_basic").await;
    let sbx = client
        .sandbox()
        .template("base")
        .timeout(Duration::from_secs(120))
        .metadata("owner", "ci")
        .env("FOO", "1")
        .create()
        .await
        .unwrap();
    step("create_full").await;
    client
        .sandbox()
        .secure(false)
        .allow_internet_access(false)
        .network(
            NetworkConfig::new()
                .allow_out(["api.example.com"])
                .deny_out(["0.0.0.0/0"])
                .rule("api.example.com", NetworkRule::headers([("Authorization", "Bearer x")]))
                .allow_public_traffic(true)
                .mask_request_host("localhost:${PORT}"),
        )
        .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true))
        .create()
        .await
        .unwrap();
    step("create_filesystem_only_pause").await;
    client
        .sandbox()
        .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false))
        .timeout(Duration::ZERO)
        .create()
        .await
        .unwrap();
    step("create_kill").await;
    client.sandbox().lifecycle(Lifecycle::new().on_timeout(OnTimeout::Kill)).create().await.unwrap();
    step("connect").await;
    client.connect(sbx.sandbox_id()).timeout(Duration::from_secs(90)).await.unwrap();
    step("set_timeout").await;
    sbx.set_timeout(Duration::from_secs(60)).await.unwrap();
    step("get_info").await;
    sbx.get_info().await.unwrap();
    client.get_info(sbx.sandbox_id()).await.unwrap();
    step("metrics").await;
    sbx.get_metrics()
        .start(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
        .end(chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().to_utc())
        .await
        .unwrap();
    sbx.get_metrics().await.unwrap();
    step("pause").await;
    assert!(sbx.pause().keep_memory(false).await.unwrap());
    assert!(!sbx.pause().await.unwrap());
    step("resume").await;
    sbx.resume().await.unwrap();
    step("beta_pause").await;
    #[allow(deprecated)]
    sbx.beta_pause().await.unwrap();
    sbx.resume().await.unwrap();
    step("fork").await;
    let forks = sbx.fork().count(2).timeout(Duration::from_secs(60)).await.unwrap();
    assert!(forks.iter().all(Result::is_ok), "{forks:?}");
    step("update_network").await;
    let update =
        NetworkUpdate::new().allow_out(["10.0.0.0/8"]).deny_out(["0.0.0.0/0"]).allow_internet_access(false);
    sbx.update_network(&update).await.unwrap();
    sbx.update_network(&NetworkUpdate::new()).await.unwrap();
    step("snapshots").await;
    sbx.create_snapshot().await.unwrap();
    sbx.create_snapshot().name("golden").await.unwrap();
    let mut pages = client.list_snapshots(SnapshotQuery::new().sandbox_id(sbx.sandbox_id()).limit(1));
    pages.next_items().await.unwrap();
    pages.next_items().await.unwrap();
    client.list_snapshots(SnapshotQuery::new().name("golden")).next_items().await.unwrap();
    assert!(client.delete_snapshot("team/golden:default").await.unwrap());
    assert!(!client.delete_snapshot("team/golden:default").await.unwrap());
    step("list").await;
    let query = SandboxQuery::new()
        .metadata("owner", "ci")
        .metadata("a b", "c/d&e=f")
        .state([SandboxState::Running, SandboxState::Paused])
        .limit(1);
    client.list(query).next_items().await.unwrap();
    client.list(SandboxQuery::new().metadata("owner", "ci")).next_items().await.unwrap();
    let after = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z").unwrap().to_utc();
    client
        .list(SandboxQuery::new().started_after(after).template("base").order(e2b::ListOrder::Asc))
        .next_items()
        .await
        .unwrap();
    step("files_write").await;
    let files = sbx.files();
    files.write("/home/user/a.txt", "hello").await.unwrap();
    files.write("/home/user/b.bin", &b"\x00\x01\x02"[..]).use_octet_stream(true).await.unwrap();
    files.write("c.txt", "zip me please ".repeat(20)).gzip(true).await.unwrap();
    files.write("/home/user/m.txt", "meta").metadata("source", "ci").metadata("Owner", "bot").await.unwrap();
    files
        .write_files([WriteEntry::new("/x/1.txt", "one"), WriteEntry::new("/x/2.json", &b"{}"[..])])
        .await
        .unwrap();
    files
        .write(
            "/home/user/stream.bin",
            WriteData::reader(std::io::Cursor::new(b"streamed bytes".repeat(100))),
        )
        .await
        .unwrap();
    files.write("/home/user/as-root.txt", "r").user("root").await.unwrap();
    step("files_read").await;
    files.read("/home/user/a.txt").text().await.unwrap();
    files.read("/home/user/a.txt").gzip(true).bytes().await.unwrap();
    files.read("/home/user/a.txt").user("root").bytes().await.unwrap();
    assert!(files.read("/home/user/missing.txt").text().await.is_err());
    step("commands_run").await;
    sbx.commands().run("echo hi").env("A", "1").cwd("/tmp").user("root").await.unwrap();
    step("commands_background").await;
    let handle = sbx.commands().run("sleep 30").timeout(Duration::ZERO).spawn().await.unwrap();
    handle.kill().await.unwrap();
    step("commands_misc").await;
    let commands = sbx.commands();
    commands.send_stdin(42, "hi").await.unwrap();
    commands.close_stdin(42).await.unwrap();
    commands.list().await.unwrap();
    assert!(!commands.kill(12345).await.unwrap());
    commands.connect(42).await.unwrap().wait().await.unwrap();
    step("pty").await;
    let terminal =
        sbx.pty().create(e2b::PtySize { rows: 24, cols: 80 }).timeout(Duration::ZERO).await.unwrap();
    sbx.pty().send_stdin(terminal.pid(), &b"ls\n"[..]).await.unwrap();
    sbx.pty().resize(terminal.pid(), e2b::PtySize { rows: 50, cols: 132 }).await.unwrap();
    sbx.pty().kill(terminal.pid()).await.unwrap();
    step("filesystem_rpc").await;
    files.list("/home/user").depth(2).await.unwrap();
    assert!(files.exists("/home/user/a.txt").await.unwrap());
    assert!(!files.exists("/nope").await.unwrap());
    files.get_info("/home/user/a.txt").await.unwrap();
    files.make_dir("/new").await.unwrap();
    files.rename("/tmp/a.txt", "/tmp/b.txt").await.unwrap();
    files.remove("/tmp/x").await.unwrap();
    step("git").await;
    let git = sbx.git();
    let repo = "/home/user/repo";
    git.status(repo).await.unwrap();
    git.init("/home/user/new").initial_branch("main").await.unwrap();
    git.init("/home/user/bare").bare(true).await.unwrap();
    git.remote_add(repo, "origin", "https://example.com/r.git").fetch(true).await.unwrap();
    git.remote_get(repo, "origin").await.unwrap();
    git.branches(repo).await.unwrap();
    git.create_branch(repo, "feature").await.unwrap();
    git.checkout_branch(repo, "main").await.unwrap();
    git.delete_branch(repo, "feature").force(true).await.unwrap();
    git.add(repo).files(["a.txt", "b c.txt"]).all(false).await.unwrap();
    git.add(repo).await.unwrap();
    git.commit(repo, "it's done").author("A B", "a@b.c").allow_empty(true).await.unwrap();
    git.reset(repo).mode(ResetMode::Hard).target("HEAD~1").await.unwrap();
    git.restore(repo, ["a.txt"]).staged(true).source("HEAD").await.unwrap();
    git.set_config("user.name", "Bot").scope(ConfigScope::Local).path(repo).await.unwrap();
    git.get_config("user.name").await.unwrap();
    git.configure_user("Bot", "bot@example.com").await.unwrap();
    step("health").await;
    assert!(sbx.is_running().await.unwrap());
    step("kill").await;
    assert!(sbx.kill().await.unwrap());
    assert!(!client.kill(sbx.sandbox_id()).await.unwrap());
    step("done").await;
    json!({
        "download": sbx.download_url("/home/user/a b.txt").build().unwrap(),
        "download_user": sbx.download_url("rel/path.txt").user("root").build().unwrap(),
        "upload": sbx.upload_url("/home/user/in.csv").build().unwrap(),
        "download_expiring": sbx
            .download_url("/home/user/a.txt")
            .user("user")
            .expires_in(Duration::from_secs(3600))
            .build()
            .unwrap(),
    })
}

/// Scripted envd RPCs, the same for both runs.
fn envd_rpcs() -> ConnectRouter {
    use e2b_proto::filesystem::{self as fs, filesystem_methods as fsm};
    use e2b_proto::process::{self as pb, process_methods as pm};
    use support::rpc::{connect_response, end, start, start_response, stdout};
    let entry = |name: &str| fs::EntryInfo {
        name: name.into(),
        r#type: fs::FileType::File as i32,
        path: format!("/home/user/{name}"),
        ..Default::default()
    };
    let pid = |selector: Option<&pb::ProcessSelector>| match selector.and_then(|s| s.selector.clone()) {
        Some(pb::process_selector::Selector::Pid(pid)) => pid,
        _ => 0,
    };
    ConnectRouter::new()
        .server_streaming(pm::START, |_: tonic::Request<pb::StartRequest>| async {
            let events: Vec<Result<pb::StartResponse, tonic::Status>> = vec![
                Ok(start_response(start(42))),
                Ok(start_response(stdout(b"## main\n"))),
                Ok(start_response(end(0))),
            ];
            Ok(tonic::Response::new(futures::stream::iter(events)))
        })
        .server_streaming(pm::CONNECT, |_: tonic::Request<pb::ConnectRequest>| async {
            let events: Vec<Result<pb::ConnectResponse, tonic::Status>> =
                vec![Ok(connect_response(start(42))), Ok(connect_response(end(0)))];
            Ok(tonic::Response::new(futures::stream::iter(events)))
        })
        .unary(pm::SEND_SIGNAL, move |request: tonic::Request<pb::SendSignalRequest>| async move {
            if pid(request.get_ref().process.as_ref()) == 12345 {
                return Err(tonic::Status::not_found("process with pid 12345 not found"));
            }
            Ok(tonic::Response::new(pb::SendSignalResponse {}))
        })
        .unary(pm::SEND_INPUT, |_: tonic::Request<pb::SendInputRequest>| async {
            Ok(tonic::Response::new(pb::SendInputResponse {}))
        })
        .unary(pm::CLOSE_STDIN, |_: tonic::Request<pb::CloseStdinRequest>| async {
            Ok(tonic::Response::new(pb::CloseStdinResponse {}))
        })
        .unary(pm::UPDATE, |_: tonic::Request<pb::UpdateRequest>| async {
            Ok(tonic::Response::new(pb::UpdateResponse {}))
        })
        .unary(pm::LIST, |_: tonic::Request<pb::ListRequest>| async {
            Ok(tonic::Response::new(pb::ListResponse::default()))
        })
        .unary(fsm::LIST_DIR, move |_: tonic::Request<fs::ListDirRequest>| async move {
            Ok(tonic::Response::new(fs::ListDirResponse { entries: vec![entry("a.txt")] }))
        })
        .unary(fsm::STAT, move |request: tonic::Request<fs::StatRequest>| async move {
            if request.get_ref().path == "/nope" {
                return Err(tonic::Status::not_found("path '/nope' does not exist"));
            }
            Ok(tonic::Response::new(fs::StatResponse { entry: Some(entry("a.txt")) }))
        })
        .unary(fsm::MAKE_DIR, move |_: tonic::Request<fs::MakeDirRequest>| async move {
            Ok(tonic::Response::new(fs::MakeDirResponse { entry: Some(entry("new")) }))
        })
        .unary(fsm::MOVE, move |_: tonic::Request<fs::MoveRequest>| async move {
            Ok(tonic::Response::new(fs::MoveResponse { entry: Some(entry("b.txt")) }))
        })
        .unary(fsm::REMOVE, |_: tonic::Request<fs::RemoveRequest>| async {
            Ok(tonic::Response::new(fs::RemoveResponse {}))
        })
        .server_streaming(fsm::WATCH_DIR, |_: tonic::Request<fs::WatchDirRequest>| async {
            use fs::watch_dir_response::{Event, StartEvent};
            use futures::StreamExt as _;
            let start: Result<fs::WatchDirResponse, tonic::Status> =
                Ok(fs::WatchDirResponse { event: Some(Event::Start(StartEvent {})) });
            // Started, then quiet until the client stops watching.
            let events = futures::stream::iter([start]).chain(futures::stream::pending());
            Ok(tonic::Response::new(Box::pin(events)
                as std::pin::Pin<
                    Box<dyn futures::Stream<Item = Result<fs::WatchDirResponse, tonic::Status>> + Send>,
                >))
        })
}

/// What must match between the two SDKs' requests.
#[derive(Debug, PartialEq)]
struct Normalized {
    method: String,
    path: String,
    query: BTreeMap<String, Vec<String>>,
    headers: BTreeMap<String, String>,
    body: Body,
}

#[derive(Debug, PartialEq)]
enum Body {
    Empty,
    Json(Value),
    /// (form name, file name, data) per part.
    Multipart(Vec<(String, Option<String>, Vec<u8>)>),
    Raw(Vec<u8>),
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).expect("a valid gzip body");
    out
}

fn normalize(request: &Recorded) -> Normalized {
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap_or("").to_owned());
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in &request.query {
        // Python sends a local-offset ISO string, Rust RFC 3339 in UTC: the
        // instant is what matters.
        let value = if key == "startedAfter" {
            chrono::DateTime::parse_from_rfc3339(value)
                .map(|t| t.to_utc().to_rfc3339())
                .unwrap_or(value.clone())
        } else {
            value.clone()
        };
        query.entry(key.clone()).or_default().push(value);
    }
    let mut headers = BTreeMap::new();
    for name in [
        "x-api-key",
        "e2b-sandbox-id",
        "e2b-sandbox-port",
        "x-access-token",
        "content-encoding",
        "authorization",
        "keepalive-ping-interval",
        "connect-timeout-ms",
        "connect-protocol-version",
    ] {
        // `identity` is no encoding at all (older Connect clients say so).
        if let Some(value) = header(name).filter(|v| !(name == "content-encoding" && v == "identity")) {
            headers.insert(name.to_owned(), value);
        }
    }
    for (name, value) in &request.headers {
        if name.as_str().starts_with("x-metadata-") {
            headers.insert(name.as_str().to_owned(), value.to_str().unwrap_or("").to_owned());
        }
    }
    let content_type = header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !request.body.is_empty() {
        headers.insert("content-type".into(), media.clone());
    }
    if header("accept-encoding").as_deref() == Some("gzip") {
        headers.insert("accept-encoding".into(), "gzip".into());
    }
    let mut bytes = request.body.to_vec();
    if header("content-encoding").as_deref() == Some("gzip") {
        bytes = gunzip(&bytes);
    }
    let body = if bytes.is_empty() {
        Body::Empty
    } else if media == "application/json" {
        Body::Json(serde_json::from_slice(&bytes).expect("a JSON body"))
    } else if media == "application/connect+json" {
        Body::Json(support::rpc::message(request))
    } else if media == "multipart/form-data" {
        let parts = parse_multipart(&content_type, bytes).expect("a multipart body");
        Body::Multipart(parts.into_iter().map(|p| (p.name, p.filename, p.data)).collect())
    } else {
        Body::Raw(bytes)
    };
    Normalized { method: request.method.clone(), path: request.path.clone(), query, headers, body }
}

/// Runs `script` with the official Python SDK against a fresh double serving
/// [`envd_rpcs`]; returns the double (with the recorded requests) and the script's output.
async fn python_against_a_double(script: &'static str) -> (Fake, String) {
    let python = tokio::task::spawn_blocking(e2b_tests::interop::python_e2b)
        .await
        .unwrap()
        .expect("installing the official Python SDK (e2b==2.45.1) into .interop/");
    let fake = Fake::start().await;
    fake.serve_rpc(envd_rpcs());
    let url = fake.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        e2b_tests::interop::run_python(
            &python,
            script,
            &[
                ("E2B_API_URL", url.as_str()),
                ("E2B_SANDBOX_URL", url.as_str()),
                ("E2B_API_KEY", API_KEY),
                ("E2B_DOMAIN", ""),
                ("E2B_DEBUG", "false"),
                ("NO_PROXY", "*"),
                ("no_proxy", "*"),
            ],
        )
    })
    .await
    .unwrap()
    .expect("the Python script ran");
    (fake, output)
}

/// A signed URL without its `signature` and `signature_expiration` parameters, and those
/// two values.
fn split_signature(url: &str) -> (String, (u64, String)) {
    let parsed = url::Url::parse(url).expect("a URL");
    let mut rest = parsed.clone();
    let mut expiration = 0;
    let mut signature = String::new();
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "signature" => {
                signature = v.into_owned();
                None
            }
            "signature_expiration" => {
                expiration = v.parse().expect("a Unix time");
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    rest.query_pairs_mut().clear().extend_pairs(kept);
    (rest.to_string(), (expiration, signature))
}

fn by_step(requests: &[Recorded]) -> BTreeMap<String, Vec<&Recorded>> {
    let mut steps: BTreeMap<String, Vec<&Recorded>> = BTreeMap::new();
    for request in requests {
        steps.entry(request.step.clone()).or_default().push(request);
    }
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_sends_what_the_official_python_sdk_sends() {
    let (python_fake, output) = python_against_a_double(SCRIPT).await;
    let python_urls: Value = serde_json::from_str(output.trim().lines().last().unwrap()).unwrap();

    let rust_fake = Fake::start().await;
    rust_fake.serve_rpc(envd_rpcs());
    let rust_urls = rust_operations(&rust_fake).await;

    let python_requests = python_fake.requests();
    let rust_requests = rust_fake.requests();
    let python_steps = by_step(&python_requests);
    let rust_steps = by_step(&rust_requests);
    assert_eq!(
        python_steps.keys().collect::<Vec<_>>(),
        rust_steps.keys().collect::<Vec<_>>(),
        "both runs cover the same steps"
    );
    let mut mismatches = Vec::new();
    for (step, python) in &python_steps {
        let rust = &rust_steps[step];
        if python.len() != rust.len() {
            let list =
                |rs: &[&Recorded]| rs.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>();
            mismatches.push(format!(
                "{step}: Python sent {} requests {:?}, Rust {} {:?}",
                python.len(),
                list(python),
                rust.len(),
                list(rust)
            ));
            continue;
        }
        for (index, (p, r)) in python.iter().zip(rust).enumerate() {
            let (p, r) = (normalize(p), normalize(r));
            if p != r {
                mismatches.push(format!("{step} #{index}:\n  Python: {p:?}\n  Rust:   {r:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "wire differences:\n{}", mismatches.join("\n"));
    if std::env::var_os("E2B_PARITY_DUMP").is_some() {
        for request in &python_requests {
            eprintln!("{} {:?}", request.step, normalize(request));
        }
    }
    assert_eq!(python_requests.len(), 79, "every operation above was compared");
    // URLs with an expiry are signed at different instants: compare them without the
    // signature, expiries within a minute of each other, and each signature recomputed.
    let (mut python_urls, mut rust_urls) = (python_urls, rust_urls);
    let python_expiring = python_urls.as_object_mut().unwrap().remove("download_expiring").unwrap();
    let rust_expiring = rust_urls.as_object_mut().unwrap().remove("download_expiring").unwrap();
    let (python_rest, python_exp) = split_signature(python_expiring.as_str().unwrap());
    let (rust_rest, rust_exp) = split_signature(rust_expiring.as_str().unwrap());
    assert_eq!(
        python_rest.replace(&python_fake.url, "<envd>"),
        rust_rest.replace(&rust_fake.url, "<envd>"),
        "signed URL with expiry"
    );
    assert!(python_exp.0.abs_diff(rust_exp.0) < 60, "expiries {python_exp:?} and {rust_exp:?}");
    // The first sandbox of each run has the double's first token.
    let token = format!("{:064x}", 1u128.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    for (exp, signature) in [python_exp, rust_exp] {
        let expected = e2b::signature::sign_file_url(
            "/home/user/a.txt",
            e2b::signature::FileOperation::Read,
            Some("user"),
            &token,
            Some(exp),
        );
        assert_eq!(signature, expected, "a valid v1 signature with expiry");
    }
    let relative = |urls: &Value, base: &str| urls.to_string().replace(base, "<envd>");
    assert_eq!(relative(&python_urls, &python_fake.url), relative(&rust_urls, &rust_fake.url), "signed URLs");
    python_fake.assert_no_violations();
    rust_fake.assert_no_violations();
}

/// The async Python SDK streams `WatchDir` (the sync one polls instead): the Rust SDK's
/// watch sends the same request.
const ASYNC_WATCH_SCRIPT: &str = r#"
import asyncio, json, os, urllib.request
from e2b import AsyncSandbox

BASE = os.environ["E2B_API_URL"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def step(name):
    opener.open(urllib.request.Request(BASE + "/__step/" + name, method="POST")).read()

async def main():
    sbx = await AsyncSandbox.create()
    step("watch")
    handle = await sbx.files.watch_dir("/home/user/w", lambda e: None, recursive=True, include_entry=True)
    await handle.stop()
    handle = await sbx.files.watch_dir("/tmp", lambda e: None, user="root")
    await handle.stop()
    step("done")
    print("{}", flush=True)

asyncio.run(main())
# Skip interpreter finalization: the SDK's native HTTP client (pyqwest) can crash there
# (SIGSEGV/SIGABRT) after everything succeeded.
os._exit(0)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_dir_sends_what_the_async_python_sdk_sends() {
    let (python_fake, _) = python_against_a_double(ASYNC_WATCH_SCRIPT).await;

    let rust_fake = Fake::start().await;
    rust_fake.serve_rpc(envd_rpcs());
    let sbx = rust_fake.client().sandbox().create().await.unwrap();
    let http = reqwest::Client::new();
    http.post(format!("{}/__step/watch", rust_fake.url)).send().await.unwrap();
    let files = sbx.files();
    files.watch_dir("/home/user/w").recursive(true).include_entry(true).await.unwrap().stop();
    files.watch_dir("/tmp").user("root").await.unwrap().stop();
    http.post(format!("{}/__step/done", rust_fake.url)).send().await.unwrap();

    let watch = |fake: &Fake| -> Vec<Normalized> {
        fake.requests().iter().filter(|r| r.step == "watch").map(normalize).collect()
    };
    let (python, rust) = (watch(&python_fake), watch(&rust_fake));
    assert_eq!(python.len(), 2, "{python:?}");
    assert_eq!(python, rust);
}
