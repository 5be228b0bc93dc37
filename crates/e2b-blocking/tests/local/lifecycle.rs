//! Sandbox and Client lifecycle calls: create (all builder options),
//! information, timeouts, metrics, listings, snapshots, pause and resume,
//! connect, kill; and the calls configured from the environment.

use std::collections::HashSet;
use std::time::Duration;

use e2b_blocking::{
    EnvdFeature, Error, Lifecycle, NetworkConfig, OnTimeout, SandboxQuery, SandboxState, SnapshotQuery,
};

use crate::{Killed, client, config};

#[test]
fn one_sandbox_through_its_whole_life() {
    const TEST: &str = "one_sandbox_through_its_whole_life";
    let Some(client) = client(TEST) else { return };
    let sandbox = Killed(
        client
            .sandbox()
            .template("base")
            .timeout(Duration::from_secs(120))
            .metadata("test", TEST)
            .env("GREETING", "hello")
            .envs([("A", "1"), ("B", "2")])
            .secure(true)
            .allow_internet_access(true)
            .network(NetworkConfig::new())
            .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Kill))
            .request_timeout(Duration::from_secs(120))
            .create()
            .expect("the sandbox is created"),
    );
    let id = sandbox.sandbox_id().to_owned();

    // Local accessors.
    assert!(!id.is_empty());
    assert!(!sandbox.sandbox_domain().is_empty());
    assert!(sandbox.envd_version().supports(EnvdFeature::FileMetadata), "{}", sandbox.envd_version());
    let _ = sandbox.traffic_access_token();
    assert_eq!(sandbox.client().config().api_key(), client.config().api_key());
    assert_eq!(sandbox.config().api_url(), client.config().api_url());
    assert_eq!(sandbox.as_async().sandbox_id(), id);
    assert!(sandbox.get_host(8080).contains(&id), "{}", sandbox.get_host(8080));
    assert!(sandbox.get_mcp_url().ends_with("/mcp"));
    let download = sandbox.download_url("/home/user/a b.txt").user("user").build().unwrap();
    assert!(download.contains("/files?path=%2Fhome%2Fuser%2Fa%20b.txt"), "{download}");
    let upload = sandbox.upload_url("/tmp/in.csv").expires_in(Duration::from_secs(60)).build().unwrap();
    assert!(upload.contains("signature_expiration="), "{upload}");

    // The environment reached the sandbox.
    assert!(sandbox.is_running().unwrap());
    let env = sandbox.commands().run("echo $GREETING $A $B").send().unwrap();
    assert_eq!(env.stdout, "hello 1 2\n");
    assert_eq!(sandbox.get_mcp_token().unwrap(), None);

    // Information and timeouts, through the sandbox and the client.
    let info = sandbox.get_info().unwrap();
    assert_eq!(info.sandbox_id, id);
    assert_eq!(info.metadata.get("test").map(String::as_str), Some(TEST));
    assert_eq!(info.state, SandboxState::Running);
    sandbox.set_timeout(Duration::from_secs(600)).unwrap();
    let extended = client.get_info(&id).unwrap();
    assert!(extended.end_at > info.end_at, "{} then {}", info.end_at, extended.end_at);
    client.set_timeout(&id, Duration::from_secs(900)).unwrap();
    assert!(client.get_info(&id).unwrap().end_at > extended.end_at);

    // Metrics.
    let now = chrono::Utc::now();
    let samples = sandbox
        .get_metrics()
        .start(now - chrono::Duration::minutes(5))
        .end(now + chrono::Duration::minutes(5))
        .request_timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    for sample in &samples {
        assert!(sample.cpu_count > 0, "{sample:?}");
    }
    client.get_metrics(&id).send().unwrap();

    // Listings: page by page, and as an iterator.
    let mut pages = client.list(SandboxQuery::new().metadata("test", TEST).limit(1));
    assert!(pages.has_next());
    let first = pages.next_items().unwrap();
    assert_eq!(first.iter().map(|s| s.sandbox_id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let _ = (pages.next_token(), pages.total_running());
    let listed: Vec<String> = client
        .list(SandboxQuery::new().metadata("test", TEST).state([SandboxState::Running]))
        .map(|s| s.map(|s| s.sandbox_id))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(listed, [id.as_str()]);
    let mut exhausted = client.list(SandboxQuery::new().metadata("test", "no-such-test"));
    assert!(exhausted.next().is_none());
    assert!(!exhausted.has_next());
    assert!(matches!(exhausted.next_items(), Err(Error::InvalidArgument { .. })));

    // Snapshots: create, list, delete.
    let named = sandbox
        .create_snapshot()
        .name(format!("blocking-{id}"))
        .request_timeout(Duration::from_secs(300))
        .send()
        .unwrap();
    let unnamed = client.create_snapshot(&id).send().unwrap();
    let mine: HashSet<String> = sandbox.list_snapshots().map(|s| s.unwrap().snapshot_id).collect();
    assert!(mine.contains(&named.snapshot_id) && mine.contains(&unnamed.snapshot_id), "{mine:?}");
    let by_query: HashSet<String> = client
        .list_snapshots(SnapshotQuery::new().sandbox_id(&id).limit(10))
        .map(|s| s.unwrap().snapshot_id)
        .collect();
    assert_eq!(by_query, mine);
    assert!(client.delete_snapshot(&named.snapshot_id).unwrap());
    assert!(client.delete_snapshot(&unnamed.snapshot_id).unwrap());
    assert!(!client.delete_snapshot(&unnamed.snapshot_id).unwrap());

    // Pause and resume, three ways; the files survive.
    sandbox.files().write("/home/user/kept.txt", "kept").send().unwrap();
    assert!(sandbox.pause().keep_memory(true).request_timeout(Duration::from_secs(300)).send().unwrap());
    assert_eq!(client.get_info(&id).unwrap().state, SandboxState::Paused);
    assert!(!client.pause(&id).send().unwrap(), "a second pause is a no-op");
    let resumed =
        sandbox.resume().timeout(Duration::from_secs(300)).request_timeout(Duration::from_secs(300));
    let resumed = resumed.send().unwrap();
    assert_eq!(resumed.sandbox_id(), id);
    assert_eq!(sandbox.files().read("/home/user/kept.txt").text().unwrap(), "kept");

    assert!(client.pause(&id).keep_memory(false).send().unwrap());
    let connected = client
        .connect(&id)
        .timeout(Duration::from_secs(300))
        .request_timeout(Duration::from_secs(300))
        .send()
        .unwrap();
    assert_eq!(connected.sandbox_id(), id);
    assert_eq!(connected.files().read("/home/user/kept.txt").text().unwrap(), "kept");

    #[allow(deprecated)]
    {
        assert!(sandbox.beta_pause().unwrap());
        assert!(!client.beta_pause(&id).unwrap());
    }
    client.connect(&id).send().unwrap();
    assert!(sandbox.is_running().unwrap());

    // Kill: once for real, then it is gone.
    assert!(sandbox.kill().unwrap());
    assert!(!client.kill(&id).unwrap());
    assert!(matches!(client.get_info(&id), Err(Error::SandboxNotFound { .. })));
}

#[test]
fn builder_variants_and_failures() {
    const TEST: &str = "builder_variants_and_failures";
    let Some(client) = client(TEST) else { return };

    // The beta API, pausing on timeout, from a builder given the client.
    let builder = e2b_blocking::Sandbox::builder().client(client.clone()).metadata("test", TEST);
    #[allow(deprecated)]
    let beta = Killed(builder.auto_pause(true).beta_create().unwrap());
    assert_eq!(beta.config().api_key(), client.as_async().config().api_key());
    assert!(beta.is_running().unwrap());
    if let Some(lifecycle) = beta.get_info().unwrap().lifecycle {
        assert_eq!(lifecycle.on_timeout, OnTimeout::Pause);
    }
    assert!(beta.kill().unwrap());

    // An invalid lifecycle fails before anything is sent.
    let invalid = client.sandbox().lifecycle(Lifecycle::new().auto_resume(true)).create();
    assert!(matches!(invalid, Err(Error::InvalidArgument { .. })), "{invalid:?}");

    // An MCP gateway that cannot start (the base template has none): the
    // error says so, and the new sandbox is killed.
    let mcp = client
        .sandbox()
        .template("base")
        .metadata("test", TEST)
        .mcp(serde_json::json!({"example": {}}))
        .create();
    match mcp {
        Err(Error::Sandbox { message, .. }) => assert!(message.contains("MCP gateway"), "{message}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(sandbox) => {
            let _killed = Killed(sandbox);
            panic!("the MCP gateway cannot start in the base template");
        }
    }
    let left: Vec<_> = client
        .list(SandboxQuery::new().metadata("test", TEST).state([SandboxState::Running]))
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// The environment variable that makes [`from_env_child`] run.
const CHILD: &str = "E2B_BLOCKING_FROM_ENV_CHILD";

#[test]
fn configured_from_the_environment() {
    const TEST: &str = "configured_from_the_environment";
    let Some(server) = e2b_local::testkit::shared_server(TEST) else { return };
    // The calls that read the environment run in a child process (this
    // one's environment is shared by every test), against this server.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lifecycle::from_env_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, TEST)
        .env("E2B_API_KEY", server.api_key())
        .env("E2B_API_URL", server.api_url())
        .env("E2B_SANDBOX_URL", server.sandbox_url())
        .env_remove("E2B_DOMAIN")
        .env_remove("E2B_DEBUG")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child did not run:\n{stdout}\n{stderr}");

    // It killed what it created.
    let client = e2b_blocking::Client::new(config(server.api_url(), server.sandbox_url(), server.api_key()));
    let left: Vec<_> =
        client.list(SandboxQuery::new().metadata("test", TEST)).collect::<Result<_, _>>().unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Run by [`configured_from_the_environment`] in a child process.
#[test]
#[ignore = "run by configured_from_the_environment"]
fn from_env_child() {
    let Ok(test) = std::env::var(CHILD) else { return };
    let client = e2b_blocking::Client::from_env().unwrap();
    let sandbox = Killed(e2b_blocking::Sandbox::builder().metadata("test", &test).create().unwrap());
    let again = e2b_blocking::Sandbox::connect(sandbox.sandbox_id()).send().unwrap();
    assert_eq!(again.sandbox_id(), sandbox.sandbox_id());
    assert_eq!(client.get_info(sandbox.sandbox_id()).unwrap().metadata["test"], test);
}
