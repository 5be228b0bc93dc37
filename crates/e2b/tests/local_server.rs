//! The async SDK against the real local server (`e2b-local`'s testkit: real sandboxes,
//! real envd, the real control plane), for what the blocking facade's suite does not
//! already drive through these same methods: streams (listings, watches, downloads,
//! command output), uploads from readers and files, forks, network updates, a sandbox
//! that pauses itself at its timeout and resumes on connect, `get_host` routing, and the
//! typed error of a sandbox killed under a running command.
//!
//! Without a host that can run sandboxes the tests print `SKIPPED` and pass, except under
//! `CI=true`.

use std::time::Duration;

use e2b::{
    Client, CommandOutput, ConnectionConfig, Error, FilesystemEventType, Lifecycle, NetworkUpdate, OnTimeout,
    Sandbox, SandboxQuery, SandboxState, WriteData,
};
use futures::{StreamExt as _, TryStreamExt as _};

fn client(test: &str) -> Option<Client> {
    let server = e2b_local::testkit::shared_server(test)?;
    let config = ConnectionConfig::builder()
        .api_url(server.api_url())
        .sandbox_url(server.sandbox_url())
        .api_key(server.api_key())
        .build()
        .expect("a valid configuration");
    Some(Client::new(config))
}

/// Kills the sandbox when dropped, also when the test fails.
struct Killed(Sandbox);

impl Drop for Killed {
    fn drop(&mut self) {
        let sandbox = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let _ = runtime.block_on(sandbox.kill());
        })
        .join();
    }
}

impl std::ops::Deref for Killed {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

async fn sandbox(client: &Client, test: &str) -> Killed {
    Killed(client.sandbox().metadata("test", test).create().await.expect("the sandbox is created"))
}

#[tokio::test(flavor = "multi_thread")]
async fn listings_are_streams_and_pages() {
    const TEST: &str = "listings_are_streams_and_pages";
    let Some(client) = client(TEST) else { return };
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(sandbox(&client, TEST).await);
    }
    let query = || SandboxQuery::new().metadata("test", TEST);
    let streamed: Vec<_> = client.list(query().limit(2)).into_stream().try_collect().await.unwrap();
    assert_eq!(streamed.len(), 3, "the stream follows the pages");
    let mut pages = client.list(query().limit(2));
    assert!(pages.has_next());
    assert_eq!(pages.next_items().await.unwrap().len(), 2);
    assert!(pages.has_next());
    assert_eq!(pages.next_items().await.unwrap().len(), 1);
    assert!(!pages.has_next());
    let mut ids: Vec<_> = streamed.iter().map(|s| s.sandbox_id.clone()).collect();
    ids.sort();
    let mut expected: Vec<_> = made.iter().map(|s| s.sandbox_id().to_string()).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn files_stream_in_and_out_and_watches_are_streams() {
    const TEST: &str = "files_stream_in_and_out_and_watches_are_streams";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST).await;
    let files = sandbox.files();
    files.make_dir("/home/user/w").await.unwrap();
    let mut watch = files.watch_dir("/home/user/w").recursive(true).await.unwrap();

    // From any AsyncRead, and from a local file: streamed.
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
    files
        .write("/home/user/w/reader.bin", WriteData::reader(std::io::Cursor::new(data.clone())))
        .await
        .unwrap();
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), &data[..1000]).unwrap();
    files.write("/home/user/w/file.bin", WriteData::file(local.path())).await.unwrap();

    let mut stream = files.read("/home/user/w/reader.bin").gzip(false).stream().await.unwrap();
    assert_eq!(stream.size_hint(), Some(data.len() as u64));
    let mut back = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        back.extend_from_slice(&chunk);
    }
    assert!(back == data, "the streamed download equals the upload");
    assert_eq!(files.read("/home/user/w/file.bin").bytes().await.unwrap().len(), 1000);

    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|(t, n): &(FilesystemEventType, String)| *t == FilesystemEventType::Write && n == "file.bin")
    {
        let event = tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("an event arrives")
            .expect("the watch is open")
            .unwrap();
        seen.push((event.event_type, event.name));
    }
    assert!(seen.iter().any(|(t, n)| *t == FilesystemEventType::Create && n == "reader.bin"), "{seen:?}");
    watch.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn command_output_is_a_stream_in_order() {
    const TEST: &str = "command_output_is_a_stream_in_order";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST).await;
    let handle = sandbox
        .commands()
        .run("for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.05; done")
        .spawn()
        .await
        .unwrap();
    let chunks: Vec<CommandOutput> = handle.output().collect().await;
    let stdout: String = chunks
        .iter()
        .filter_map(|c| if let CommandOutput::Stdout(t) = c { Some(t.as_str()) } else { None })
        .collect();
    let stderr: String = chunks
        .iter()
        .filter_map(|c| if let CommandOutput::Stderr(t) = c { Some(t.as_str()) } else { None })
        .collect();
    assert_eq!(stdout, "out1\nout2\nout3\n");
    assert_eq!(stderr, "err1\nerr2\nerr3\n");
    assert_eq!(handle.wait().await.unwrap().exit_code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn forks_start_from_a_checkpoint_of_the_running_sandbox() {
    const TEST: &str = "forks_start_from_a_checkpoint_of_the_running_sandbox";
    let Some(client) = client(TEST) else { return };
    let parent = sandbox(&client, TEST).await;
    parent.files().write("/home/user/state.txt", "before the fork").await.unwrap();
    let before = parent.get_info().await.unwrap();

    let forks = parent.fork().count(2).timeout(Duration::from_secs(120)).await.unwrap();
    assert_eq!(forks.len(), 2);
    let forks: Vec<Killed> = forks.into_iter().map(|f| Killed(f.expect("each fork starts"))).collect();
    assert_ne!(forks[0].sandbox_id(), forks[1].sandbox_id());
    for fork in &forks {
        assert_ne!(fork.sandbox_id(), parent.sandbox_id());
        assert_eq!(fork.files().read("/home/user/state.txt").text().await.unwrap(), "before the fork");
        fork.files().write("/home/user/state.txt", "changed in a fork").await.unwrap();
    }
    // The parent kept running, with its ID, lifetime and files.
    let after = parent.get_info().await.unwrap();
    assert_eq!((after.state, after.end_at), (SandboxState::Running, before.end_at));
    assert_eq!(parent.files().read("/home/user/state.txt").text().await.unwrap(), "before the fork");

    let err = client.fork("nosuchsandbox0000000").await.expect_err("no such sandbox");
    assert!(matches!(err, Error::SandboxNotFound { .. }), "{err:?}");
    let err = parent.fork().count(0).await.expect_err("count 0");
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn network_updates_replace_the_egress_rules() {
    const TEST: &str = "network_updates_replace_the_egress_rules";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST).await;
    let update = NetworkUpdate::new().deny_out(["0.0.0.0/0"]).allow_out(["192.0.2.0/24"]);
    sandbox.update_network(&update).await.unwrap();
    let network = sandbox.get_info().await.unwrap().network.expect("the network is reported");
    assert_eq!(network.deny_out.as_deref(), Some(&["0.0.0.0/0".to_string()][..]));
    assert_eq!(network.allow_out.as_deref(), Some(&["192.0.2.0/24".to_string()][..]));

    // The update replaces everything: an empty one clears the lists.
    client.update_network(sandbox.sandbox_id(), &NetworkUpdate::new()).await.unwrap();
    let network = sandbox.get_info().await.unwrap().network;
    assert!(
        network.as_ref().is_none_or(|n| n.deny_out.as_deref().unwrap_or_default().is_empty()),
        "{network:?}"
    );

    let bad = NetworkUpdate::new().deny_out(["example.com"]);
    let err = sandbox.update_network(&bad).await.expect_err("deny rules take no domain names");
    assert!(matches!(err, Error::Sandbox { .. } | Error::InvalidArgument { .. }), "{err:?}");
    let err =
        client.update_network("nosuchsandbox0000000", &NetworkUpdate::new()).await.expect_err("unknown");
    assert!(matches!(err, Error::SandboxNotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_that_pauses_at_its_timeout_resumes_on_connect() {
    const TEST: &str = "a_sandbox_that_pauses_at_its_timeout_resumes_on_connect";
    let Some(client) = client(TEST) else { return };
    let sandbox = Killed(
        client
            .sandbox()
            .metadata("test", TEST)
            .timeout(Duration::from_secs(2))
            .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true))
            .create()
            .await
            .unwrap(),
    );
    sandbox.files().write("/home/user/kept.txt", "kept across the pause").await.unwrap();
    let id = sandbox.sandbox_id().to_string();
    // Wait (bounded) until the server has paused it.
    let mut state = SandboxState::Running;
    for _ in 0..600 {
        state = client.get_info(&id).await.unwrap().state;
        if state == SandboxState::Paused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, SandboxState::Paused, "paused, not killed, when its time was up");
    let paused: Vec<_> = client
        .list(SandboxQuery::new().metadata("test", TEST).state([SandboxState::Paused]))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(paused.len(), 1);

    let resumed = client.connect(&id).timeout(Duration::from_secs(120)).await.unwrap();
    assert_eq!(client.get_info(&id).await.unwrap().state, SandboxState::Running);
    assert_eq!(resumed.files().read("/home/user/kept.txt").text().await.unwrap(), "kept across the pause");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_host_reaches_a_port_of_the_sandbox() {
    const TEST: &str = "get_host_reaches_a_port_of_the_sandbox";
    let Some(client) = client(TEST) else { return };
    let server = e2b_local::testkit::shared_server(TEST).unwrap();
    let sandbox = sandbox(&client, TEST).await;
    sandbox.files().write("/home/user/www/index.html", "served from the sandbox").await.unwrap();
    let http = sandbox
        .commands()
        .run("python3 -m http.server 8000 --bind 0.0.0.0")
        .cwd("/home/user/www")
        .timeout(Duration::ZERO)
        .spawn()
        .await
        .unwrap();
    let host = sandbox.get_host(8000);
    // The server reports its router as the domain: `*.localhost` names reach it.
    let router_port = server.sandbox_url().rsplit(':').next().unwrap();
    assert_eq!(host, format!("8000-{}.localhost:{router_port}", sandbox.sandbox_id()));
    // The router takes the sandbox and port from the Host header alone.
    let mut answer = None;
    for _ in 0..100 {
        let response = reqwest_like_get(server.sandbox_url(), &host).await;
        if response.0 == 200 {
            answer = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = answer.expect("the server in the sandbox answered through the router");
    assert_eq!((status, body.as_str()), (200, "served from the sandbox"));
    http.kill().await.unwrap();
}

/// GET `base/index.html` with `Host: host`, over a plain hyper-free TCP exchange.
async fn reqwest_like_get(base: &str, host: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let Ok(mut socket) = tokio::net::TcpStream::connect(addr).await else { return (0, String::new()) };
    let request = format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if socket.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = socket.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_killed_under_a_command_is_a_typed_error() {
    const TEST: &str = "a_sandbox_killed_under_a_command_is_a_typed_error";
    let Some(client) = client(TEST) else { return };
    let sandbox = client.sandbox().metadata("test", TEST).create().await.unwrap();
    let handle = sandbox.commands().run("sleep 600").spawn().await.unwrap();
    assert!(client.kill(sandbox.sandbox_id()).await.unwrap());
    let err = tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the wait ends")
        .expect_err("the command cannot finish");
    assert!(matches!(err, Error::SandboxGone { .. }), "{err:?}");
    assert!(!sandbox.is_running().await.unwrap());
    let err = sandbox.files().read("/etc/hostname").text().await.expect_err("gone");
    assert!(matches!(err, Error::SandboxGone { .. }), "{err:?}");
}
