//! Every lifecycle method of the SDK against a test double of the control
//! plane that checks each request against `openapi/api.yml` and answers with
//! the status codes of PROTOCOL.md 3.3; plus the error mapping of 3.1 and 4,
//! retries, deadlines and debug mode.

mod support;

use std::time::Duration;

use e2b::{
    Error, Lifecycle, NetworkConfig, NetworkRule, OnTimeout, Phase, Sandbox, SandboxQuery, SandboxState,
    SnapshotQuery,
};
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use support::fake::{API_KEY, Fake, Recorded};

fn body(request: &Recorded) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

fn last(fake: &Fake) -> Recorded {
    fake.requests().pop().expect("a request was sent")
}

#[tokio::test]
async fn create_sends_only_what_was_chosen() {
    let fake = Fake::start().await;
    let sandbox = fake
        .client()
        .sandbox()
        .template("base")
        .timeout(Duration::from_secs(120))
        .metadata("owner", "ci")
        .env("FOO", "1")
        .create()
        .await
        .unwrap();

    let request = last(&fake);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/sandboxes"));
    assert_eq!(request.headers["x-api-key"], API_KEY);
    assert!(request.headers["user-agent"].to_str().unwrap().starts_with("e2b-rust-sdk/"));
    assert_eq!(
        body(&request),
        json!({"templateID": "base", "timeout": 120, "metadata": {"owner": "ci"}, "envVars": {"FOO": "1"},
               "secure": true, "allow_internet_access": true})
    );
    assert_eq!(sandbox.sandbox_id(), "sbx00000000000000001");
    assert_eq!(sandbox.envd_version().to_string(), "0.6.13");
    assert_eq!(sandbox.sandbox_domain(), "e2b.app");
    assert_eq!(sandbox.get_host(3000), "3000-sbx00000000000000001.e2b.app");
    assert!(sandbox.traffic_access_token().is_none());
    fake.assert_no_violations();
}

#[tokio::test]
async fn create_with_every_option() {
    let fake = Fake::start().await;
    fake.client()
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
        .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(true).auto_resume(true))
        .timeout(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        body(&last(&fake)),
        json!({
            "templateID": "base", "timeout": 300, "metadata": {}, "envVars": {}, "secure": false,
            "allow_internet_access": false, "autoPause": true, "autoPauseMemory": true,
            "autoResume": {"enabled": true},
            "network": {"allowOut": ["api.example.com"], "denyOut": ["0.0.0.0/0"],
                        "rules": {"api.example.com": [{"transform": {"headers": {"Authorization": "Bearer x"}}}]},
                        "allowPublicTraffic": true, "maskRequestHost": "localhost:${PORT}"}
        })
    );

    fake.client().sandbox().lifecycle(Lifecycle::new().on_timeout(OnTimeout::Kill)).await.unwrap();
    let sent = body(&last(&fake));
    assert_eq!(sent["autoPause"], json!(false));
    assert!(sent.get("autoPauseMemory").is_none() && sent.get("autoResume").is_none());

    #[allow(deprecated)]
    fake.client().sandbox().auto_pause(false).beta_create().await.unwrap();
    assert_eq!(body(&last(&fake))["autoPause"], json!(false));
    fake.assert_no_violations();
}

#[tokio::test]
async fn invalid_lifecycles_fail_before_anything_is_sent() {
    let fake = Fake::start().await;
    for lifecycle in [
        Lifecycle::new().auto_resume(true),
        Lifecycle::new().on_timeout(OnTimeout::Kill).keep_memory(false),
        Lifecycle::new().on_timeout(OnTimeout::Pause).keep_memory(false).auto_resume(true),
    ] {
        let err = fake.client().sandbox().lifecycle(lifecycle).create().await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { stage, .. } if stage.phase == Phase::Validate),
            "{err}"
        );
    }
    let err = fake
        .client()
        .sandbox()
        .lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause))
        .auto_pause(true)
        .create()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_template_with_an_ancient_envd_is_killed_and_refused() {
    let fake = Fake::start().await;
    fake.state().envd_version = "0.0.9".into();
    let err = fake.client().sandbox().create().await.unwrap_err();
    assert!(matches!(err, Error::Template { .. }), "{err}");
    assert!(err.to_string().contains("needs envd 0.1.0 or later"), "{err}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("DELETE", "/sandboxes/sbx00000000000000001")
    );
    assert!(fake.state().sandboxes.is_empty());
    fake.assert_no_violations();
}

#[tokio::test]
async fn connect_resumes_or_extends_and_knows_unknown_ids() {
    let fake = Fake::start().await;
    let client = fake.client();
    let sandbox = client.sandbox().create().await.unwrap();
    let id = sandbox.sandbox_id().to_owned();

    let again = client.connect(&id).timeout(Duration::from_secs(90)).await.unwrap();
    assert_eq!(again.sandbox_id(), id);
    let request = last(&fake);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", format!("/sandboxes/{id}/connect").as_str())
    );
    assert_eq!(body(&request), json!({"timeout": 90}));

    assert!(sandbox.pause().await.unwrap());
    let resumed = client.connect(&id).await.unwrap();
    assert_eq!(body(&last(&fake)), json!({"timeout": 300}));
    assert!(!fake.state().sandboxes[&id].paused);
    assert!(resumed.is_running().await.unwrap());

    assert!(sandbox.pause().await.unwrap());
    sandbox.resume().timeout(Duration::from_secs(30)).await.unwrap();
    assert!(!fake.state().sandboxes[&id].paused);

    let err = client.connect("nosuchsandbox000000").await.unwrap_err();
    assert!(
        matches!(err, Error::SandboxNotFound { ref message, .. } if message.contains("nosuchsandbox000000")),
        "{err}"
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn kill_set_timeout_and_get_info() {
    let fake = Fake::start().await;
    let client = fake.client();
    let sandbox = client.sandbox().metadata("k", "v").create().await.unwrap();
    let id = sandbox.sandbox_id().to_owned();

    sandbox.set_timeout(Duration::from_millis(59_500)).await.unwrap();
    let request = last(&fake);
    assert_eq!(request.path, format!("/sandboxes/{id}/timeout"));
    assert_eq!(body(&request), json!({"timeout": 60}));

    let info = sandbox.get_info().await.unwrap();
    assert_eq!(info.sandbox_id, id);
    assert_eq!(info.template_id, "base");
    assert_eq!(info.metadata["k"], "v");
    assert_eq!(info.state, SandboxState::Running);
    assert_eq!((info.cpu_count, info.memory_mb, info.disk_size_mb), (2, 512, 1024));
    assert_eq!(info.allow_internet_access, Some(true));
    assert_eq!(info.lifecycle.map(|l| l.on_timeout), Some(OnTimeout::Kill));
    assert!(info.end_at > info.started_at);

    assert!(sandbox.kill().await.unwrap());
    assert!(!sandbox.kill().await.unwrap());
    assert!(!client.kill(&id).await.unwrap());
    for err in [
        sandbox.set_timeout(Duration::from_secs(5)).await.unwrap_err(),
        sandbox.get_info().await.unwrap_err(),
        client.get_info(&id).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::SandboxNotFound { stage, .. } if stage.phase == Phase::Respond),
            "{err}"
        );
    }
    fake.assert_no_violations();
}

#[tokio::test]
async fn metrics_with_a_window_and_the_version_gate() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let all = sandbox.get_metrics().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].mem_total, 536_870_912);
    let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let end = chrono::Utc::now() - chrono::Duration::seconds(7);
    let windowed = sandbox.get_metrics().start(start).end(end).await.unwrap();
    assert_eq!(windowed.len(), 1);
    let request = last(&fake);
    assert_eq!(request.path, format!("/sandboxes/{}/metrics", sandbox.sandbox_id()));
    let mut query = request.query.clone();
    query.sort();
    assert_eq!(
        query,
        vec![("end".into(), end.timestamp().to_string()), ("start".into(), "1700000000".into())]
    );

    let err = fake.client().get_metrics("gone00000000000000").await.unwrap_err();
    assert!(matches!(err, Error::SandboxNotFound { .. }), "{err}");

    fake.state().envd_version = "0.1.4".into();
    let old = fake.client().sandbox().create().await.unwrap();
    let sent = fake.requests().len();
    let err = old.get_metrics().await.unwrap_err();
    assert!(matches!(err, Error::Template { .. }) && err.to_string().contains("0.1.5"), "{err}");
    assert_eq!(fake.requests().len(), sent, "the gate must stop the request");
    fake.assert_no_violations();
}

#[tokio::test]
async fn pause_reports_already_paused_and_sends_keep_memory() {
    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    assert!(sandbox.pause().keep_memory(false).await.unwrap());
    assert_eq!(body(&last(&fake)), json!({"memory": false}));
    assert!(!sandbox.pause().await.unwrap());
    assert_eq!(body(&last(&fake)), json!({"memory": true}));
    #[allow(deprecated)]
    let again = sandbox.beta_pause().await.unwrap();
    assert!(!again);
    assert!(!sandbox.is_running().await.unwrap(), "the proxy answers 502 for a paused sandbox");
    let err = fake.client().pause("gone00000000000000").await.unwrap_err();
    assert!(matches!(err, Error::SandboxNotFound { .. }));
    fake.assert_no_violations();
}

#[tokio::test]
async fn snapshots_are_created_listed_page_by_page_and_deleted() {
    let fake = Fake::start().await;
    let client = fake.client();
    let sandbox = client.sandbox().create().await.unwrap();
    let first = sandbox.create_snapshot().await.unwrap();
    assert_eq!(body(&last(&fake)), json!({}));
    assert!(first.snapshot_id.ends_with(":default") && first.names.is_empty());
    let named = sandbox.create_snapshot().name("golden").await.unwrap();
    assert_eq!(body(&last(&fake)), json!({"name": "golden"}));
    assert_eq!(
        (named.snapshot_id.as_str(), named.names.as_slice()),
        ("team/golden:default", &["golden".to_string()][..])
    );

    let mut pages = sandbox.list_snapshots();
    let mut seen = Vec::new();
    while pages.has_next() {
        seen.extend(pages.next_items().await.unwrap());
    }
    assert_eq!(seen, vec![named.clone(), first.clone()]);
    assert!(pages.next_items().await.is_err());

    let mut pages = client.list_snapshots(SnapshotQuery::new().limit(1));
    assert_eq!(pages.next_items().await.unwrap(), vec![named.clone()]);
    assert!(pages.has_next());
    assert_eq!(pages.next_token(), Some("1"));
    assert_eq!(last(&fake).query, vec![("limit".into(), "1".into())]);
    assert_eq!(pages.next_items().await.unwrap(), vec![first.clone()]);
    assert!(!pages.has_next());
    assert_eq!(last(&fake).query, vec![("limit".into(), "1".into()), ("nextToken".into(), "1".into())]);
    let streamed: Vec<e2b::SnapshotInfo> = client
        .list_snapshots(SnapshotQuery::new().name("golden").limit(1))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, vec![named.clone()]);

    assert!(client.delete_snapshot("team/golden:v2").await.unwrap());
    let request = last(&fake);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("DELETE", "/templates/team%2Fgolden%3Av2"));
    assert!(!client.delete_snapshot("team/golden:v2").await.unwrap());
    assert!(matches!(
        client.list_snapshots(SnapshotQuery::new().limit(0)).next_items().await,
        Err(Error::InvalidArgument { .. })
    ));
    let err = client.create_snapshot("gone00000000000000").await.unwrap_err();
    assert!(matches!(err, Error::SandboxNotFound { .. }));
    fake.assert_no_violations();
}

#[tokio::test]
async fn list_filters_pages_and_streams() {
    let fake = Fake::start().await;
    let client = fake.client();
    for (owner, app) in [("a b", "x/y&z=1"), ("a b", "other"), ("c", "x/y&z=1")] {
        client.sandbox().metadata("owner", owner).metadata("app", app).create().await.unwrap();
    }
    let paused = client.sandbox().metadata("owner", "a b").metadata("app", "x/y&z=1").create().await.unwrap();
    paused.pause().await.unwrap();

    let query = SandboxQuery::new().metadata("owner", "a b").metadata("app", "x/y&z=1");
    let mut pages = client.list(query.clone().state([SandboxState::Running, SandboxState::Paused]).limit(1));
    let first = pages.next_items().await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].sandbox_id, paused.sandbox_id(), "newest first");
    assert_eq!(first[0].state, SandboxState::Paused);
    assert_eq!(pages.total_running(), Some(1));
    let request = last(&fake);
    assert_eq!(request.path, "/v2/sandboxes");
    assert_eq!(
        request.query,
        vec![
            ("limit".to_string(), "1".to_string()),
            ("metadata".to_string(), "owner=a%2520b&app=x%2Fy%2526z%253D1".to_string()),
            ("state".to_string(), "running,paused".to_string()),
        ]
    );
    let second = pages.next_items().await.unwrap();
    assert_eq!(second[0].sandbox_id, "sbx00000000000000001");
    assert!(!pages.has_next());

    let running: Vec<e2b::SandboxInfo> = client
        .list(SandboxQuery::new().state([SandboxState::Running]))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(running.len(), 3);
    let oldest_first = client
        .list(SandboxQuery::new().order(e2b::ListOrder::Asc).template("base"))
        .next_items()
        .await
        .unwrap();
    assert_eq!(oldest_first[0].sandbox_id, "sbx00000000000000001");
    let request = last(&fake);
    assert_eq!(request.query, vec![("order".into(), "asc".into()), ("template".into(), "base".into())]);

    let after = chrono::Utc::now() - chrono::Duration::hours(1);
    client.list(SandboxQuery::new().started_after(after)).next_items().await.unwrap();
    let sent = &last(&fake).query[0];
    assert_eq!(sent.0, "startedAfter");
    assert_eq!(chrono::DateTime::parse_from_rfc3339(&sent.1).unwrap(), after);

    let resumed = client.list(SandboxQuery::new().next_token("2").limit(1)).next_items().await.unwrap();
    assert_eq!(resumed[0].sandbox_id, "sbx00000000000000002");
    let err = client.list(SandboxQuery::new().next_token("not-a-token")).next_items().await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, .. } if message == "400: Invalid next token"),
        "{err}"
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn api_errors_map_to_the_official_classes() {
    let fake = Fake::start().await;
    let client = fake.client();
    let id = client.sandbox().create().await.unwrap().sandbox_id().to_owned();

    fake.fail_next("get_sandbox", 401, r#"{"code":401,"message":"Invalid API key"}"#);
    let err = client.get_info(&id).await.unwrap_err();
    assert!(
        matches!(err, Error::Authentication { ref message, .. }
        if message == "401: Unauthorized, please check your credentials. - Invalid API key"),
        "{err}"
    );
    assert!(!err.is_sandbox_error());

    fake.fail_next("get_sandbox", 429, r#"{"code":429,"message":"slow down"}"#);
    let err = client.get_info(&id).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimit { ref message, .. }
        if message == "429: Rate limit exceeded, please try again later. - slow down"),
        "{err}"
    );

    fake.fail_next("kill_sandbox", 500, r#"{"code":500,"message":"boom"}"#);
    let err = client.kill(&id).await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, stage } if message == "500: boom" && stage.operation == "kill sandbox"),
        "{err}"
    );

    fake.fail_next("get_sandbox", 404, "no such thing\n");
    let err = client.get_info(&id).await.unwrap_err();
    assert!(matches!(err, Error::SandboxNotFound { .. }), "a plain-text 404 keeps its meaning: {err}");

    fake.fail_next("pause_sandbox", 403, "forbidden");
    let err = client.pause(&id).await.unwrap_err();
    assert!(matches!(err, Error::Sandbox { ref message, .. } if message == "403: forbidden"), "{err}");

    fake.fail_next("create_sandbox", 201, r#"{"code":400,"message":"template broken"}"#);
    let err = client.sandbox().create().await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, .. } if message == "template broken: Request failed"),
        "{err}"
    );

    fake.fail_next("get_sandbox", 200, "{not json");
    let err = client.get_info(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { stage, .. } if stage.phase == Phase::Decode), "{err}");

    fake.fail_next("create_sandbox", 200, r#"{"sandboxID":"x"}"#);
    let err = client.sandbox().create().await.unwrap_err();
    assert!(matches!(err, Error::Decode { ref message, .. } if message.contains("200")), "{err}");

    fake.fail_next(
        "create_sandbox",
        201,
        r#"{"templateID":"b","sandboxID":"x","clientID":"c","envdVersion":"banana"}"#,
    );
    let err = client.sandbox().create().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }) && err.to_string().contains("banana"), "{err}");
}

#[tokio::test]
async fn only_idempotent_calls_are_retried() {
    let fake = Fake::start().await;
    let client = fake.client();
    let id = client.sandbox().create().await.unwrap().sandbox_id().to_owned();
    fake.take_requests();

    fake.fail_next("get_sandbox", 503, r#"{"code":503,"message":"busy"}"#);
    fake.fail_next("get_sandbox", 502, "bad gateway");
    let info = client.get_info(&id).await.unwrap();
    assert_eq!(info.sandbox_id, id);
    assert_eq!(fake.take_requests().len(), 3, "two gateway errors, then success");

    fake.fail_next("create_sandbox", 503, r#"{"code":503,"message":"no capacity"}"#);
    let err = client.sandbox().create().await.unwrap_err();
    assert!(matches!(err, Error::Sandbox { ref message, .. } if message == "503: no capacity"), "{err}");
    assert_eq!(fake.take_requests().len(), 1, "a create is never repeated");

    fake.fail_next("pause_sandbox", 504, r#"{"code":504,"message":"slow"}"#);
    assert!(client.pause(&id).await.is_err());
    assert_eq!(fake.take_requests().len(), 1, "a pause is never repeated");

    for _ in 0..3 {
        fake.fail_next("get_sandbox", 503, r#"{"code":503,"message":"busy"}"#);
    }
    let err = client.get_info(&id).await.unwrap_err();
    assert!(matches!(err, Error::Sandbox { ref message, .. } if message == "503: busy"), "{err}");
    assert_eq!(fake.take_requests().len(), 3, "connection_retries(2) allows three attempts");
}

#[tokio::test]
async fn unreachable_servers_deadlines_and_missing_keys() {
    // Nothing listens on this port: the connection is refused, retried, and
    // reported as a transport error at the sending stage.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = e2b::ConnectionConfig::builder()
        .api_key(API_KEY)
        .api_url(&closed_url)
        .connection_retries(1)
        .build()
        .unwrap();
    let err = e2b::Client::new(config).get_info("x").await.unwrap_err();
    assert!(matches!(err, Error::Transport { stage, .. } if stage.phase == Phase::Send), "{err}");

    // A server that accepts and never answers: the request deadline fires.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let config = e2b::ConnectionConfig::builder()
        .api_key(API_KEY)
        .api_url(&silent_url)
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = e2b::Client::new(config).sandbox().create().await.unwrap_err();
    assert!(err.is_timeout() && err.to_string().contains("request_timeout"), "{err}");
    holder.abort();

    let fake = Fake::start().await;
    let no_key =
        e2b::ConnectionConfig::builder().environment::<_, &str, &str>([]).api_url(&fake.url).build().unwrap();
    let err = e2b::Client::new(no_key).list(SandboxQuery::new()).next_items().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { stage, .. } if stage.phase == Phase::Validate), "{err}");
    let bad_key = e2b::ConnectionConfig::builder()
        .environment([("E2B_API_KEY", "sk-123")])
        .api_url(&fake.url)
        .build()
        .unwrap();
    assert!(matches!(e2b::Client::new(bad_key).kill("x").await, Err(Error::Authentication { .. })));
    assert!(fake.requests().is_empty(), "nothing is sent without a usable key");
    let unchecked = e2b::ConnectionConfig::builder()
        .environment([("E2B_API_KEY", "sk-123"), ("E2B_VALIDATE_API_KEY", "false")])
        .api_url(&fake.url)
        .build()
        .unwrap();
    let err = e2b::Client::new(unchecked).kill("x").await.unwrap_err();
    assert!(
        matches!(err, Error::Authentication { ref message, .. } if message.contains("Invalid API key")),
        "{err}"
    );
}

#[tokio::test]
async fn debug_mode_skips_the_api_where_the_official_sdks_do() {
    let fake = Fake::start().await;
    let config = e2b::ConnectionConfig::builder()
        .environment([("E2B_DEBUG", "true"), ("E2B_API_KEY", API_KEY)])
        .api_url(&fake.url)
        .build()
        .unwrap();
    let client = e2b::Client::new(config);
    let sandbox = client.sandbox().template("whatever").create().await.unwrap();
    assert_eq!(sandbox.sandbox_id(), e2b::DEBUG_SANDBOX_ID);
    assert_eq!(sandbox.envd_version(), e2b::EnvdVersion::DEBUG);
    assert_eq!(sandbox.get_host(8080), "localhost:8080");
    let connected = client.connect("abc").await.unwrap();
    assert_eq!(connected.sandbox_id(), "abc");
    assert!(sandbox.kill().await.unwrap());
    sandbox.set_timeout(Duration::from_secs(1)).await.unwrap();
    assert!(sandbox.get_metrics().await.unwrap().is_empty());
    sandbox.resume().await.unwrap();
    assert!(fake.requests().is_empty(), "debug mode sends none of these");
    // get_info still asks the API.
    assert!(matches!(sandbox.get_info().await, Err(Error::SandboxNotFound { .. })));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn sandboxes_are_cheap_shared_handles() {
    fn assert_handle<T: Send + Sync + Clone + 'static>() {}
    assert_handle::<Sandbox>();
    assert_handle::<e2b::Client>();
    assert_handle::<e2b::Filesystem>();
    assert_handle::<e2b::Git>();
    assert_handle::<e2b::ConnectionConfig>();
    assert_handle::<e2b::Commands>();
    assert_handle::<e2b::Pty>();
    assert_handle::<e2b::CommandHandle>();
    assert_handle::<e2b::PtyHandle>();
    assert_handle::<e2b::WatchStopper>();
    // A watch's events have one reader: the handle is Send + Sync, its stopper clones.
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<e2b::WatchHandle>();

    let fake = Fake::start().await;
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let sandbox = sandbox.clone();
            tokio::spawn(async move { sandbox.get_info().await.map(|i| i.sandbox_id) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), sandbox.sandbox_id());
    }
    assert!(
        !format!("{sandbox:?}")
            .contains(fake.state().sandboxes.values().next().unwrap().token.as_deref().unwrap())
    );
    fake.assert_no_violations();
}
