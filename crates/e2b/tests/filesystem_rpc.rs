//! The RPC half of the filesystem (list, exists, get_info, remove, rename,
//! make_dir, watch_dir) against the test double with scripted envd answers
//! served by the real Connect server adapter. Checks the requests (message,
//! user, deadline and keepalive headers), the mapping of answers to typed
//! results, errors and version gates. (The real envd replaces the scripts
//! once it lands.)

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2b::{Error, FileType, FilesystemEventType, Phase};
use e2b_connect::server::ConnectRouter;
use e2b_proto::filesystem::{self as pb, filesystem_methods as methods, watch_dir_response::Event};
use futures::StreamExt as _;
use serde_json::json;
use support::fake::Fake;
use support::rpc::{calls, header, message, paced};

fn entry(name: &str, kind: pb::FileType) -> pb::EntryInfo {
    pb::EntryInfo {
        name: name.into(),
        r#type: kind as i32,
        path: format!("/home/user/{name}"),
        size: 12,
        mode: 0o644,
        permissions: "-rw-r--r--".into(),
        owner: "user".into(),
        group: "user".into(),
        modified_time: Some(e2b_proto::well_known::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        symlink_target: None,
        metadata: Default::default(),
    }
}

fn filesystem() -> ConnectRouter {
    ConnectRouter::new()
        .unary(methods::LIST_DIR, |request: tonic::Request<pb::ListDirRequest>| async move {
            if request.get_ref().path == "/missing" {
                return Err(tonic::Status::not_found("path '/missing' does not exist"));
            }
            Ok(tonic::Response::new(pb::ListDirResponse {
                entries: vec![
                    entry("a.txt", pb::FileType::File),
                    entry("dir", pb::FileType::Directory),
                    entry("broken", pb::FileType::Unspecified),
                ],
            }))
        })
        .unary(methods::STAT, |request: tonic::Request<pb::StatRequest>| async move {
            match request.get_ref().path.as_str() {
                "/home/user/a.txt" => Ok(tonic::Response::new(pb::StatResponse {
                    entry: Some(entry("a.txt", pb::FileType::File)),
                })),
                "/denied" => Err(tonic::Status::permission_denied("no")),
                path => Err(tonic::Status::not_found(format!("path '{path}' does not exist"))),
            }
        })
        .unary(methods::REMOVE, |_: tonic::Request<pb::RemoveRequest>| async {
            Ok(tonic::Response::new(pb::RemoveResponse {}))
        })
        .unary(methods::MOVE, |request: tonic::Request<pb::MoveRequest>| async move {
            let mut moved = entry("b.txt", pb::FileType::File);
            moved.path = request.get_ref().destination.clone();
            Ok(tonic::Response::new(pb::MoveResponse { entry: Some(moved) }))
        })
        .unary(methods::MAKE_DIR, |request: tonic::Request<pb::MakeDirRequest>| async move {
            if request.get_ref().path == "/exists" {
                return Err(tonic::Status::already_exists("directory '/exists' already exists"));
            }
            Ok(tonic::Response::new(pb::MakeDirResponse {
                entry: Some(entry("new", pb::FileType::Directory)),
            }))
        })
}

#[tokio::test]
async fn metadata_operations() {
    let fake = Fake::start().await;
    fake.serve_rpc(filesystem());
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let files = sandbox.files();

    let entries = files.list("/home/user").depth(2).user("root").await.unwrap();
    let names: Vec<(&str, Option<FileType>)> =
        entries.iter().map(|e| (e.name.as_str(), e.file_type)).collect();
    assert_eq!(
        names,
        [("a.txt", Some(FileType::File)), ("dir", Some(FileType::Dir))],
        "unknown types are skipped"
    );
    let a = &entries[0];
    assert_eq!((a.size, a.mode, a.permissions.as_str(), a.owner.as_str()), (12, 0o644, "-rw-r--r--", "user"));
    assert_eq!(a.modified_time.unwrap().timestamp(), 1_700_000_000);
    let request = calls(&fake.requests(), methods::LIST_DIR).pop().unwrap();
    assert_eq!(message(&request), json!({"path": "/home/user", "depth": 2}));
    assert_eq!(header(&request, "authorization").as_deref(), Some("Basic cm9vdDo="));
    assert_eq!(header(&request, "connect-timeout-ms").as_deref(), Some("60000"), "the request timeout");
    assert_eq!(header(&request, "content-type").as_deref(), Some("application/json"));

    files.list("/x").request_timeout(Duration::from_secs(3)).await.unwrap();
    let request = calls(&fake.requests(), methods::LIST_DIR).pop().unwrap();
    assert_eq!(message(&request), json!({"path": "/x", "depth": 1}));
    assert_eq!(header(&request, "connect-timeout-ms").as_deref(), Some("3000"));
    let sent = fake.requests().len();
    assert!(
        matches!(files.list("/x").depth(0).await, Err(Error::InvalidArgument { stage, .. }) if stage.phase == Phase::Validate)
    );
    assert_eq!(fake.requests().len(), sent);
    assert!(matches!(files.list("/missing").await, Err(Error::FileNotFound { .. })));

    assert!(files.exists("/home/user/a.txt").await.unwrap());
    assert!(!files.exists("/nope").await.unwrap());
    assert!(
        matches!(files.exists("/denied").await, Err(Error::Sandbox { ref message, .. }) if message == "permission_denied: no")
    );
    let info = files.get_info("/home/user/a.txt").await.unwrap();
    assert_eq!(info.path, "/home/user/a.txt");
    let err = files.get_info("/nope").await.unwrap_err();
    assert!(
        matches!(err, Error::FileNotFound { ref message, .. } if message == "path '/nope' does not exist"),
        "{err}"
    );

    files.remove("/tmp/x").await.unwrap();
    let moved = files.rename("/tmp/a.txt", "/tmp/b.txt").await.unwrap();
    assert_eq!(moved.path, "/tmp/b.txt");
    assert!(files.make_dir("/new").await.unwrap());
    assert!(!files.make_dir("/exists").await.unwrap());
    let requests = fake.requests();
    assert_eq!(message(&calls(&requests, methods::REMOVE)[0]), json!({"path": "/tmp/x"}));
    assert_eq!(
        message(&calls(&requests, methods::MOVE)[0]),
        json!({"source": "/tmp/a.txt", "destination": "/tmp/b.txt"})
    );
    assert_eq!(message(&calls(&requests, methods::MAKE_DIR)[0]), json!({"path": "/new"}));
    assert!(calls(&requests, methods::MOVE)[0].headers.get("authorization").is_none());
    fake.assert_no_violations();
}

fn watch_event(name: &str, kind: pb::EventType, with_entry: bool) -> pb::WatchDirResponse {
    pb::WatchDirResponse {
        event: Some(Event::Filesystem(pb::FilesystemEvent {
            name: name.into(),
            r#type: kind as i32,
            entry: with_entry.then(|| entry(name, pb::FileType::File)),
        })),
    }
}

#[tokio::test]
async fn watching_delivers_events_to_the_stream_and_callbacks() {
    let fake = Fake::start().await;
    fake.serve_rpc(ConnectRouter::new().server_streaming(
        methods::WATCH_DIR,
        |_: tonic::Request<pb::WatchDirRequest>| async {
            let events = vec![
                Ok(pb::WatchDirResponse { event: Some(Event::Start(pb::watch_dir_response::StartEvent {})) }),
                Ok(watch_event("new.txt", pb::EventType::Create, true)),
                Ok(pb::WatchDirResponse {
                    event: Some(Event::Keepalive(pb::watch_dir_response::KeepAlive {})),
                }),
                Ok(watch_event("sub/new.txt", pb::EventType::Write, false)),
                Ok(watch_event("odd", pb::EventType::Unspecified, false)),
                Err(tonic::Status::deadline_exceeded("watch timed out")),
            ];
            Ok(tonic::Response::new(paced(events, Duration::from_millis(5))))
        },
    ));
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let exits = Arc::new(Mutex::new(Vec::new()));
    let (events, ends) = (seen.clone(), exits.clone());
    let mut watch = sandbox
        .files()
        .watch_dir("/home/user")
        .recursive(true)
        .include_entry(true)
        .timeout(Duration::from_secs(30))
        .on_event(move |e| events.lock().unwrap().push(e.name.clone()))
        .on_exit(move |err| ends.lock().unwrap().push(err.map(|e| e.to_string())))
        .await
        .unwrap();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!((first.name.as_str(), first.event_type), ("new.txt", FilesystemEventType::Create));
    assert_eq!(first.entry.unwrap().name, "new.txt");
    let second = watch.next().await.unwrap().unwrap();
    assert_eq!(
        (second.name.as_str(), second.event_type, second.entry),
        ("sub/new.txt", FilesystemEventType::Write, None)
    );
    let failure = watch.next().await.unwrap().unwrap_err();
    assert!(failure.is_timeout(), "{failure}");
    assert!(watch.next().await.is_none());
    assert_eq!(*seen.lock().unwrap(), ["new.txt", "sub/new.txt"]);
    let exits = exits.lock().unwrap().clone();
    assert_eq!(exits.len(), 1);
    assert!(exits[0].as_deref().unwrap().contains("watch timed out"));
    watch.stop();
    assert_eq!(exits.len(), 1, "on_exit runs once");

    let request = calls(&fake.requests(), methods::WATCH_DIR).pop().unwrap();
    assert_eq!(message(&request), json!({"path": "/home/user", "recursive": true, "includeEntry": true}));
    assert_eq!(header(&request, "keepalive-ping-interval").as_deref(), Some("50"));
    assert_eq!(header(&request, "connect-timeout-ms").as_deref(), Some("30000"));
    assert_eq!(header(&request, "content-type").as_deref(), Some("application/connect+json"));
}

#[tokio::test]
async fn stopping_a_watch_and_its_gates() {
    let fake = Fake::start().await;
    fake.serve_rpc(ConnectRouter::new().server_streaming(
        methods::WATCH_DIR,
        |request: tonic::Request<pb::WatchDirRequest>| async move {
            if request.get_ref().path == "/file.txt" {
                return Err(tonic::Status::invalid_argument("path /file.txt not a directory"));
            }
            let start =
                pb::WatchDirResponse { event: Some(Event::Start(pb::watch_dir_response::StartEvent {})) };
            Ok(tonic::Response::new(futures::stream::iter(vec![Ok(start)]).chain(futures::stream::pending())))
        },
    ));
    let sandbox = fake.client().sandbox().create().await.unwrap();
    let exits = Arc::new(Mutex::new(Vec::new()));
    let ends = exits.clone();
    let mut watch = sandbox
        .files()
        .watch_dir("/tmp")
        .on_exit(move |err| ends.lock().unwrap().push(err.is_some()))
        .await
        .unwrap();
    assert_eq!(
        header(&calls(&fake.requests(), methods::WATCH_DIR)[0], "connect-timeout-ms").as_deref(),
        Some("60000")
    );
    watch.stop();
    watch.stop();
    assert_eq!(*exits.lock().unwrap(), [false], "stop reports a clean end, once");
    assert!(watch.next().await.is_none());

    let err = sandbox.files().watch_dir("/file.txt").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    sandbox.files().watch_dir("/tmp").timeout(Duration::ZERO).await.unwrap();
    assert_eq!(
        header(&calls(&fake.requests(), methods::WATCH_DIR).pop().unwrap(), "connect-timeout-ms"),
        None
    );

    for (version, request) in [
        ("0.1.3", sandbox_with(&fake, "0.1.3").await.files().watch_dir("/tmp").recursive(true)),
        ("0.6.2", sandbox_with(&fake, "0.6.2").await.files().watch_dir("/tmp").include_entry(true)),
        ("0.6.3", sandbox_with(&fake, "0.6.3").await.files().watch_dir("/tmp").allow_network_mounts(true)),
    ] {
        let sent = calls(&fake.requests(), methods::WATCH_DIR).len();
        let err = request.await.unwrap_err();
        assert!(matches!(err, Error::Template { .. }), "{version}: {err}");
        assert_eq!(calls(&fake.requests(), methods::WATCH_DIR).len(), sent, "{version}: nothing sent");
    }
}

async fn sandbox_with(fake: &Fake, envd_version: &str) -> e2b::Sandbox {
    fake.state().envd_version = envd_version.into();
    fake.client().sandbox().create().await.unwrap()
}

/// A TCP front for the double that closes the first `drops` connections as soon as they
/// are accepted (a connection that breaks before the request is answered) and relays
/// the rest. Returns its URL and the number of connections it accepted.
async fn flaky_front(target: String, drops: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let target = target.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            if count.fetch_add(1, Ordering::SeqCst) < drops {
                drop(client);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (url, accepted)
}

/// Reads (Stat, ListDir, downloads) are repeated after a dropped connection; calls that
/// change something are not, and fail with the transport error.
#[tokio::test]
async fn reads_are_retried_after_a_dropped_connection_and_writes_are_not() {
    use std::sync::atomic::Ordering;
    let fake = Fake::start().await;
    fake.serve_rpc(filesystem().unary(
        e2b_proto::process::process_methods::SEND_INPUT,
        |_: tonic::Request<e2b_proto::process::SendInputRequest>| async {
            Ok(tonic::Response::new(e2b_proto::process::SendInputResponse {}))
        },
    ));
    let created = fake.client().sandbox().create().await.unwrap();
    created.files().write("/home/user/a.txt", "content").await.unwrap();
    let sandbox_id = created.sandbox_id().to_string();
    // A configuration (and so a connection pool) per case: each starts without connections.
    let through = |url: &str| {
        let config = e2b::ConnectionConfig::builder()
            .environment::<_, &str, &str>([])
            .api_key(support::fake::API_KEY)
            .api_url(&fake.url)
            .sandbox_url(url)
            .connection_retries(3)
            .build()
            .unwrap();
        e2b::Client::new(config)
    };

    let (url, accepted) = flaky_front(fake.url.clone(), 2).await;
    let sandbox = through(&url).connect(&sandbox_id).await.unwrap();
    let info = sandbox.files().get_info("/home/user/a.txt").await.expect("Stat is retried");
    assert_eq!(info.name, "a.txt");
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "two dropped connections, then one that worked");

    let (url, accepted) = flaky_front(fake.url.clone(), 1).await;
    let sandbox = through(&url).connect(&sandbox_id).await.unwrap();
    assert_eq!(
        sandbox.files().read("/home/user/a.txt").text().await.expect("downloads are retried"),
        "content"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    let (url, _) = flaky_front(fake.url.clone(), 1).await;
    let sandbox = through(&url).connect(&sandbox_id).await.unwrap();
    let err = sandbox.commands().send_stdin(42, "once").await.expect_err("input is not sent twice");
    assert!(matches!(err, Error::Rpc { .. } | Error::Transport { .. }), "{err:?}");
    let sent = calls(&fake.requests(), e2b_proto::process::process_methods::SEND_INPUT);
    assert!(sent.is_empty(), "the dropped attempt reached nobody, and it was not repeated");
}
