//! Blocking calls made inside an async runtime are refused with a typed
//! error before anything is sent, never a deadlock; no server needed.
//!
//! The client points at a port nobody listens on, so a call that did reach
//! the network would fail differently (a transport error).

use e2b_blocking::{
    Client, ConnectionConfig, Error, IN_ASYNC_RUNTIME, Phase, PtySize, Sandbox, SandboxQuery, SnapshotQuery,
    is_in_async_runtime,
};

/// Nothing listens on the discard port of the loopback interface.
const NOWHERE: &str = "http://127.0.0.1:9";

fn client() -> Client {
    let config = ConnectionConfig::builder()
        .api_key("e2b_0123456789abcdef")
        .api_url(NOWHERE)
        .sandbox_url(NOWHERE)
        .connection_retries(0)
        .build()
        .expect("a valid configuration");
    Client::new(config)
}

/// A sandbox that needs no server: debug mode sends nothing to create it.
fn debug_sandbox() -> Sandbox {
    let config = ConnectionConfig::builder()
        .debug(true)
        .sandbox_url(NOWHERE)
        .connection_retries(0)
        .build()
        .expect("a valid configuration");
    Client::new(config).sandbox().create().expect("debug sandboxes are created locally")
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Error>, operation: &str) {
    let err = result.expect_err("a blocking call inside a runtime must fail");
    assert!(is_in_async_runtime(&err), "{operation}: not the in-runtime error: {err:?}");
    match &err {
        Error::Sandbox { stage, message } => {
            assert_eq!(stage.operation, operation);
            assert_eq!(stage.phase, Phase::Validate);
            assert_eq!(message, IN_ASYNC_RUNTIME);
        }
        other => panic!("{operation}: unexpected variant {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{operation} (validating the request): e2b-blocking called from inside an async runtime; use \
             the async `e2b` crate there"
        )
    );
}

/// Every kind of control-plane call.
fn control_plane_calls() {
    let client = client();
    assert_refused(client.kill("i1"), "Client::kill");
    assert_refused(client.set_timeout("i1", std::time::Duration::from_secs(60)), "Client::set_timeout");
    assert_refused(client.get_info("i1"), "Client::get_info");
    assert_refused(client.delete_snapshot("s1"), "Client::delete_snapshot");
    #[allow(deprecated)]
    let paused = client.beta_pause("i1");
    assert_refused(paused, "Client::beta_pause");
    assert_refused(client.get_metrics("i1").send(), "GetMetrics::send");
    assert_refused(client.pause("i1").send(), "PauseSandbox::send");
    assert_refused(client.create_snapshot("i1").send(), "CreateSnapshot::send");
    assert_refused(client.connect("i1").send(), "ConnectSandbox::send");
    assert_refused(client.sandbox().create(), "SandboxBuilder::create");

    // A refused page fetch loses nothing: the paginator still has its page.
    let mut pages = client.list(SandboxQuery::new());
    assert_refused(pages.next_items(), "Paginator::next_items");
    assert!(pages.has_next());
    // The iterator yields the error once, then ends.
    let mut snapshots = client.list_snapshots(SnapshotQuery::new());
    assert_refused(snapshots.next().expect("an error item"), "Paginator::next_items");
    assert!(snapshots.next().is_none());
}

/// Every kind of sandbox call, on a debug sandbox created outside.
fn sandbox_calls(sandbox: &Sandbox) {
    assert_refused(sandbox.kill(), "Sandbox::kill");
    assert_refused(sandbox.is_running(), "Sandbox::is_running");
    assert_refused(sandbox.get_info(), "Sandbox::get_info");
    assert_refused(sandbox.get_mcp_token(), "Sandbox::get_mcp_token");
    assert_refused(sandbox.resume().send(), "ResumeSandbox::send");
    assert_refused(sandbox.files().read("/etc/hosts").text(), "ReadRequest::text");
    assert_refused(sandbox.files().read("/etc/hosts").stream(), "ReadRequest::stream");
    assert_refused(sandbox.files().write("/tmp/x", "x").send(), "WriteRequest::send");
    assert_refused(sandbox.files().list("/").send(), "ListRequest::send");
    assert_refused(sandbox.files().watch_dir("/").send(), "WatchDirRequest::send");
    assert_refused(sandbox.commands().run("true").send(), "RunCommand::send");
    assert_refused(sandbox.commands().run("true").spawn(), "RunCommand::spawn");
    assert_refused(sandbox.commands().list(), "Commands::list");
    assert_refused(sandbox.pty().create(PtySize { rows: 24, cols: 80 }).send(), "CreatePty::send");
    assert_refused(sandbox.git().status("/").send(), "StatusRequest::send");
    // Building a URL needs no runtime, so it works anywhere.
    assert!(sandbox.download_url("/a").build().is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn refused_inside_a_current_thread_runtime() {
    control_plane_calls();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_inside_a_multi_thread_runtime() {
    control_plane_calls();
    // A blocking task of the runtime has the runtime's context too.
    tokio::task::spawn_blocking(control_plane_calls).await.unwrap();
}

#[test]
fn refused_on_every_handle_inside_a_runtime() {
    let sandbox = debug_sandbox();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { sandbox_calls(&sandbox) });
}

#[test]
fn outside_a_runtime_the_call_is_made() {
    // The same call, outside: it reaches the (absent) server and fails with
    // a transport error of its own operation.
    let err = client().get_info("i1").unwrap_err();
    assert!(!is_in_async_runtime(&err), "{err:?}");
    assert_eq!(err.stage().map(|s| s.operation), Some("get sandbox info"));

    // Debug mode answers locally, through the runtime.
    let sandbox = debug_sandbox();
    assert_eq!(sandbox.sandbox_id(), e2b_blocking::DEBUG_SANDBOX_ID);
    assert!(sandbox.kill().unwrap());
    assert!(sandbox.get_metrics().send().unwrap().is_empty());
}

#[test]
fn calls_from_many_threads_share_the_runtime() {
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| client().get_info("i1").unwrap_err().stage().map(|s| s.operation)))
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), Some("get sandbox info"));
    }
}
