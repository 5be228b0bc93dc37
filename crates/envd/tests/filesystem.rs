//! `filesystem.Filesystem` over gRPC against a real envd: EntryInfo
//! details, symlinks, ListDir depth walks, MakeDir/Move/Remove semantics,
//! WatchDir and the polled watcher family, and their error codes.
//!
//! Run with `cargo test -p envd --test filesystem` (as root).

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use common::*;
use e2b_proto::filesystem::watch_dir_response::Event as WatchEvent;
use e2b_proto::filesystem::{
    CreateWatcherRequest, EntryInfo, EventType, FileType, FilesystemEvent, GetWatcherEventsRequest,
    ListDirRequest, MakeDirRequest, MoveRequest, RemoveRequest, RemoveWatcherRequest, StatRequest,
    WatchDirRequest, WatchDirResponse,
};
use futures::StreamExt;
use tonic::Code;

fn s(path: &Path) -> String {
    path.display().to_string()
}

async fn stat(envd: &TestEnvd, path: &str) -> Result<EntryInfo, tonic::Status> {
    let mut fs = envd.fs().await;
    fs.stat(StatRequest { path: path.into() }).await.map(|r| r.into_inner().entry.unwrap())
}

/// EntryInfo of files, directories and symlinks, exactly as upstream
/// reports them.
#[tokio::test(flavor = "multi_thread")]
async fn stat_entry_info() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"hello").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    xattr::set(&file, "user.e2b.source", b"ci").unwrap();

    let entry = stat(&envd, &s(&file)).await.unwrap();
    assert_eq!(entry.name, "a.txt");
    assert_eq!(entry.path, s(&file));
    assert_eq!(entry.r#type, FileType::File as i32);
    assert_eq!(entry.size, 5);
    assert_eq!(entry.mode, 0o640);
    assert_eq!(entry.permissions, "-rw-r-----");
    assert_eq!((entry.owner.as_str(), entry.group.as_str()), ("root", "root"));
    assert_eq!(entry.symlink_target, None);
    assert_eq!(entry.metadata.get("source").map(String::as_str), Some("ci"));
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let reported = entry.modified_time.unwrap();
    let expected = e2b_proto::well_known::Timestamp::from(mtime);
    assert_eq!((reported.seconds, reported.nanos), (expected.seconds, expected.nanos), "ns precision");

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let entry = stat(&envd, &s(&sub)).await.unwrap();
    assert_eq!((entry.r#type, entry.permissions.as_str()), (FileType::Directory as i32, "drwxr-xr-x"));

    // A symlink is described by its target, with the resolved target path.
    let link = dir.path().join("link");
    symlink("sub/../a.txt", &link).unwrap();
    let entry = stat(&envd, &s(&link)).await.unwrap();
    assert_eq!(entry.r#type, FileType::File as i32);
    assert_eq!(entry.mode, 0o640, "the target's permission bits");
    assert_eq!(entry.permissions, "Lrwxrwxrwx", "the link's own mode string");
    let real = std::fs::canonicalize(&file).unwrap();
    assert_eq!(entry.symlink_target.as_deref(), Some(s(&real).as_str()));

    let broken = dir.path().join("broken");
    symlink("/no/such/target", &broken).unwrap();
    let entry = stat(&envd, &s(&broken)).await.unwrap();
    assert_eq!(entry.r#type, FileType::Unspecified as i32);
    assert_eq!(entry.symlink_target.as_deref(), Some(s(&broken).as_str()), "unresolvable: the link itself");

    assert_eq!(stat(&envd, "/no/such/file").await.unwrap_err().code(), Code::NotFound);
    assert_eq!(stat(&envd, "~nobody/x").await.unwrap_err().code(), Code::InvalidArgument);
}

/// Relative paths resolve against the acting user's home (not the workdir),
/// and entries carry the owner's names.
#[tokio::test(flavor = "multi_thread")]
async fn relative_paths_and_owners() {
    let user = TestUser::create();
    let envd = TestEnvd::start(envd::Config::new().default_workdir("/tmp")).await;
    let mut fs = envd.fs().await;
    let entry = fs
        .make_dir(as_user(MakeDirRequest { path: "made/deep".into() }, &user.name))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!(entry.path, s(&user.home.join("made/deep")));
    assert_eq!((entry.owner.as_str(), entry.r#type), (user.name.as_str(), FileType::Directory as i32));
    for dir in ["made", "made/deep"] {
        let meta = std::fs::metadata(user.home.join(dir)).unwrap();
        assert_eq!(
            (std::os::unix::fs::MetadataExt::uid(&meta), meta.permissions().mode() & 0o777),
            (user.uid, 0o755)
        );
    }
    let entry =
        fs.stat(as_user(StatRequest { path: "~/made".into() }, &user.name)).await.unwrap().into_inner();
    assert_eq!(entry.entry.unwrap().path, s(&user.home.join("made")));
}

/// MakeDir: existing directory → already_exists, existing file →
/// invalid_argument, a file in the way of the parents → invalid_argument.
#[tokio::test(flavor = "multi_thread")]
async fn make_dir_errors() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fs = envd.fs().await;
    let path = s(&dir.path().join("x"));
    fs.make_dir(MakeDirRequest { path: path.clone() }).await.unwrap();
    assert_eq!(fs.make_dir(MakeDirRequest { path }).await.unwrap_err().code(), Code::AlreadyExists);
    std::fs::write(dir.path().join("f"), b"").unwrap();
    let err = fs.make_dir(MakeDirRequest { path: s(&dir.path().join("f")) }).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = fs.make_dir(MakeDirRequest { path: s(&dir.path().join("f/sub")) }).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "a path component is a file");
}

/// Move creates the destination's parents and replaces a file; a missing
/// source is not_found. Remove is recursive, and a missing path is fine.
#[tokio::test(flavor = "multi_thread")]
async fn move_and_remove() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fs = envd.fs().await;
    std::fs::write(dir.path().join("a"), b"new").unwrap();
    std::fs::create_dir_all(dir.path().join("to/there")).unwrap();
    std::fs::write(dir.path().join("to/there/b"), b"old").unwrap();
    let entry = fs
        .r#move(MoveRequest {
            source: s(&dir.path().join("a")),
            destination: s(&dir.path().join("to/there/b")),
        })
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!(entry.path, s(&dir.path().join("to/there/b")));
    assert_eq!(std::fs::read(dir.path().join("to/there/b")).unwrap(), b"new");
    fs.r#move(MoveRequest { source: s(&dir.path().join("to")), destination: s(&dir.path().join("x/y/z")) })
        .await
        .unwrap();
    assert!(dir.path().join("x/y/z/there/b").is_file());
    let err = fs
        .r#move(MoveRequest { source: s(&dir.path().join("gone")), destination: s(&dir.path().join("q")) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    fs.remove(RemoveRequest { path: s(&dir.path().join("x")) }).await.unwrap();
    assert!(!dir.path().join("x").exists());
    fs.remove(RemoveRequest { path: s(&dir.path().join("x")) }).await.unwrap();
    // A symlink is removed, not its target.
    std::fs::create_dir(dir.path().join("keep")).unwrap();
    std::fs::write(dir.path().join("keep/f"), b"").unwrap();
    symlink(dir.path().join("keep"), dir.path().join("ln")).unwrap();
    fs.remove(RemoveRequest { path: s(&dir.path().join("ln")) }).await.unwrap();
    assert!(dir.path().join("keep/f").exists());
}

fn names(entries: &[EntryInfo], root: &Path) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.path.strip_prefix(&format!("{}/", s(root))).unwrap_or(&e.path).to_owned())
        .collect()
}

/// ListDir: depth, lexical depth-first order, root excluded, symlinked
/// directories listed but not entered, a symlinked root resolved while
/// paths keep the requested form, errors.
#[tokio::test(flavor = "multi_thread")]
async fn list_dir_walks() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for d in ["root/b/bb", "root/a", "other"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    for f in ["root/c.txt", "root/a/x", "root/b/bb/deep", "other/o"] {
        std::fs::write(dir.path().join(f), b"1").unwrap();
    }
    symlink(dir.path().join("other"), root.join("d-link")).unwrap();
    let fs = envd.fs().await;
    let list = |path: String, depth| {
        let mut fs = fs.clone();
        async move { fs.list_dir(ListDirRequest { path, depth }).await.map(|r| r.into_inner().entries) }
    };

    let one = list(s(&root), 0).await.unwrap();
    assert_eq!(names(&one, &root), ["a", "b", "c.txt", "d-link"], "depth 0 means 1");
    let link = one.iter().find(|e| e.name == "d-link").unwrap();
    assert_eq!(link.r#type, FileType::Directory as i32);
    assert_eq!(
        link.symlink_target.as_deref(),
        Some(s(&std::fs::canonicalize(dir.path().join("other")).unwrap()).as_str())
    );

    let two = list(s(&root), 2).await.unwrap();
    assert_eq!(
        names(&two, &root),
        ["a", "a/x", "b", "b/bb", "c.txt", "d-link"],
        "symlinked dirs are not entered"
    );
    let three = list(s(&root), 3).await.unwrap();
    assert!(names(&three, &root).contains(&"b/bb/deep".to_owned()));

    // A symlinked root: walked for real, reported under the requested path.
    let via = dir.path().join("via");
    symlink(&root, &via).unwrap();
    let entries = list(s(&via), 1).await.unwrap();
    assert_eq!(entries[0].path, s(&via.join("a")));

    assert_eq!(list(s(&dir.path().join("none")), 1).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(list(s(&root.join("c.txt")), 1).await.unwrap_err().code(), Code::InvalidArgument);
    let loop_a = dir.path().join("loop-a");
    symlink(dir.path().join("loop-b"), &loop_a).unwrap();
    symlink(&loop_a, dir.path().join("loop-b")).unwrap();
    assert_eq!(list(s(&loop_a), 1).await.unwrap_err().code(), Code::FailedPrecondition);
    drop(fs);
}

/// A name that is not UTF-8 does not break a listing: it is reported with
/// replacement characters.
#[tokio::test(flavor = "multi_thread")]
async fn list_dir_with_invalid_utf8_names() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
    std::fs::write(dir.path().join(bad), b"x").unwrap();
    std::fs::write(dir.path().join("good"), b"x").unwrap();
    let mut fs = envd.fs().await;
    let entries =
        fs.list_dir(ListDirRequest { path: s(dir.path()), depth: 1 }).await.unwrap().into_inner().entries;
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["bad-\u{fffd}-name", "good"]);
}

async fn next_watch(stream: &mut tonic::Streaming<WatchDirResponse>) -> Option<FilesystemEvent> {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a watch event in time");
        match item?.expect("no stream error").event? {
            WatchEvent::Filesystem(event) => return Some(event),
            WatchEvent::Keepalive(_) => continue,
            WatchEvent::Start(_) => panic!("start twice"),
        }
    }
}

fn kind(event: &FilesystemEvent) -> EventType {
    EventType::try_from(event.r#type).unwrap()
}

/// WatchDir: `start` first, then create/write/chmod/rename/remove events
/// named relative to the root, nested names when recursive, entries when
/// asked for.
#[tokio::test(flavor = "multi_thread")]
async fn watch_dir_events() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fs = envd.fs().await;
    let mut stream = fs
        .watch_dir(WatchDirRequest {
            path: s(dir.path()),
            recursive: true,
            include_entry: true,
            allow_network_mounts: false,
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first.event, Some(WatchEvent::Start(_))));

    std::fs::write(dir.path().join("f"), b"data").unwrap();
    let created = next_watch(&mut stream).await.unwrap();
    assert_eq!((created.name.as_str(), kind(&created)), ("f", EventType::Create));
    let entry = created.entry.expect("include_entry");
    assert_eq!(entry.path, s(&dir.path().join("f")));
    let written = next_watch(&mut stream).await.unwrap();
    assert_eq!((written.name.as_str(), kind(&written)), ("f", EventType::Write));

    std::fs::set_permissions(dir.path().join("f"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let chmod = next_watch(&mut stream).await.unwrap();
    assert_eq!((chmod.name.as_str(), kind(&chmod)), ("f", EventType::Chmod));

    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let sub = next_watch(&mut stream).await.unwrap();
    assert_eq!((sub.name.as_str(), kind(&sub)), ("sub", EventType::Create));
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::write(dir.path().join("sub/nested"), b"").unwrap();
    let nested = next_watch(&mut stream).await.unwrap();
    assert_eq!((nested.name.as_str(), kind(&nested)), ("sub/nested", EventType::Create));

    std::fs::rename(dir.path().join("f"), dir.path().join("g")).unwrap();
    let mut renamed = Vec::new();
    while renamed.len() < 2 {
        let e = next_watch(&mut stream).await.unwrap();
        if e.name == "sub/nested" {
            continue; // its close/write may still be queued
        }
        renamed.push((e.name.clone(), kind(&e), e.entry.is_some()));
    }
    assert_eq!(renamed, [("f".into(), EventType::Rename, false), ("g".into(), EventType::Create, true)]);

    std::fs::remove_file(dir.path().join("g")).unwrap();
    let removed = next_watch(&mut stream).await.unwrap();
    assert_eq!(
        (removed.name.as_str(), kind(&removed), removed.entry.is_none()),
        ("g", EventType::Remove, true)
    );
}

/// In a recursive watch, a directory renamed within the tree reports its
/// later changes under the new name, and one moved out is no longer
/// watched.
#[tokio::test(flavor = "multi_thread")]
async fn watch_follows_directory_moves() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/deep")).unwrap();
    let mut fs = envd.fs().await;
    let mut stream = fs
        .watch_dir(WatchDirRequest { path: s(dir.path()), recursive: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(stream.next().await.unwrap().unwrap().event, Some(WatchEvent::Start(_))));
    std::fs::rename(dir.path().join("a"), dir.path().join("b")).unwrap();
    let moved = [next_watch(&mut stream).await.unwrap(), next_watch(&mut stream).await.unwrap()];
    assert_eq!(
        moved.iter().map(|e| (e.name.as_str(), kind(e))).collect::<Vec<_>>(),
        [("a", EventType::Rename), ("b", EventType::Create)]
    );
    std::fs::write(dir.path().join("b/deep/f"), b"x").unwrap();
    let created = next_watch(&mut stream).await.unwrap();
    assert_eq!((created.name.as_str(), kind(&created)), ("b/deep/f", EventType::Create), "the new name");

    std::fs::rename(dir.path().join("b"), outside.path().join("gone")).unwrap();
    let mut names = Vec::new();
    loop {
        let e = next_watch(&mut stream).await.unwrap();
        let done = e.name == "b" && kind(&e) == EventType::Rename;
        names.push(e.name);
        if done {
            break;
        }
    }
    std::fs::write(outside.path().join("gone/deep/g"), b"x").unwrap();
    std::fs::write(dir.path().join("marker"), b"x").unwrap();
    let next = next_watch(&mut stream).await.unwrap();
    assert_eq!(next.name, "marker", "nothing from the moved-out directory (after {names:?})");
}

/// A non-recursive watch sees only direct children; files, missing paths
/// are refused with the documented codes.
#[tokio::test(flavor = "multi_thread")]
async fn watch_dir_scope_and_errors() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut fs = envd.fs().await;
    let mut stream = fs
        .watch_dir(WatchDirRequest { path: s(dir.path()), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(stream.next().await.unwrap().unwrap().event, Some(WatchEvent::Start(_))));
    std::fs::write(dir.path().join("sub/hidden"), b"").unwrap();
    std::fs::write(dir.path().join("top"), b"").unwrap();
    let event = next_watch(&mut stream).await.unwrap();
    assert_eq!(event.name, "top", "nested changes are not reported without recursive");
    assert!(event.entry.is_none(), "no entry unless asked for");

    // Silence is filled with keepalives at the requested interval.
    let quiet_request = WatchDirRequest { path: s(&dir.path().join("sub")), ..Default::default() };
    let mut quiet =
        fs.watch_dir(request(quiet_request, &[("keepalive-ping-interval", "1")])).await.unwrap().into_inner();
    assert!(matches!(quiet.next().await.unwrap().unwrap().event, Some(WatchEvent::Start(_))));
    let next = tokio::time::timeout(Duration::from_secs(5), quiet.next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(next.event, Some(WatchEvent::Keepalive(_))), "{next:?}");

    let err = fs
        .watch_dir(WatchDirRequest { path: s(&dir.path().join("top")), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = fs
        .watch_dir(WatchDirRequest { path: s(&dir.path().join("none")), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

/// The polled family used by the sync SDK: create, drain, remove; unknown
/// ids are not_found.
#[tokio::test(flavor = "multi_thread")]
async fn polled_watchers() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fs = envd.fs().await;
    let id = fs
        .create_watcher(CreateWatcherRequest {
            path: s(dir.path()),
            recursive: false,
            include_entry: false,
            allow_network_mounts: false,
        })
        .await
        .unwrap()
        .into_inner()
        .watcher_id;
    assert!(id.starts_with('w'));
    std::fs::write(dir.path().join("one"), b"1").unwrap();
    std::fs::remove_file(dir.path().join("one")).unwrap();
    let mut events = Vec::new();
    for _ in 0..100 {
        let batch = fs
            .get_watcher_events(GetWatcherEventsRequest { watcher_id: id.clone() })
            .await
            .unwrap()
            .into_inner()
            .events;
        events.extend(batch.into_iter().map(|e| (e.name, kind_of(e.r#type))));
        if events.iter().any(|(_, k)| *k == EventType::Remove) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(
        events,
        [
            ("one".into(), EventType::Create),
            ("one".into(), EventType::Write),
            ("one".into(), EventType::Remove)
        ]
    );
    let again = fs.get_watcher_events(GetWatcherEventsRequest { watcher_id: id.clone() }).await.unwrap();
    assert!(again.into_inner().events.is_empty(), "drained");
    fs.remove_watcher(RemoveWatcherRequest { watcher_id: id.clone() }).await.unwrap();
    let err = fs.get_watcher_events(GetWatcherEventsRequest { watcher_id: id.clone() }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = fs.remove_watcher(RemoveWatcherRequest { watcher_id: id }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = fs
        .create_watcher(CreateWatcherRequest { path: s(&dir.path().join("none")), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

fn kind_of(raw: i32) -> EventType {
    EventType::try_from(raw).unwrap()
}

/// An upload lands under a watch as the file's create and write, with no
/// trace of the temporary file it was written to.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_appear_as_create_and_write() {
    let envd = TestEnvd::default().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fs = envd.fs().await;
    let mut stream = fs
        .watch_dir(WatchDirRequest { path: s(dir.path()), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(stream.next().await.unwrap().unwrap().event, Some(WatchEvent::Start(_))));
    let url = envd.url(&format!("/files?path={}", q(&s(&dir.path().join("up.txt")))));
    let reply = post(&url, &[("content-type", "application/octet-stream")], "payload").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let a = next_watch(&mut stream).await.unwrap();
    let b = next_watch(&mut stream).await.unwrap();
    assert_eq!(
        [(a.name.as_str(), kind(&a)), (b.name.as_str(), kind(&b))],
        [("up.txt", EventType::Create), ("up.txt", EventType::Write)]
    );
    let c = tokio::time::timeout(Duration::from_millis(300), next_watch(&mut stream)).await;
    assert!(c.is_err(), "nothing else (no temp file names): {c:?}");
}
