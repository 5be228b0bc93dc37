//! Nothing leaks: clients that go away mid-stream, watches that are dropped
//! or removed, terminals and pipes of ended processes all release their
//! file descriptors and tasks, and no zombie remains.
//!
//! One test in its own binary, so descriptor counts are not disturbed by
//! other tests running in parallel. Run with
//! `cargo test -p envd --test cleanup` (as root).

mod common;

use std::time::Duration;

use common::*;
use e2b_proto::filesystem::{CreateWatcherRequest, RemoveWatcherRequest, WatchDirRequest};
use e2b_proto::process::{ListRequest, ProcessConfig, Pty, StartRequest, pty};
use futures::StreamExt;

/// Open descriptors of this process whose link target starts with `kind`.
fn fds(kind: &str) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with(kind)))
        .count()
}

/// Terminal masters (`/dev/ptmx`, or `/dev/pts/ptmx` where that is used).
fn masters() -> usize {
    fds("/dev/ptmx") + fds("/dev/pts/ptmx")
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_leaks() {
    let envd = TestEnvd::default().await;
    let mut process = envd.process().await;
    let mut fs = envd.fs().await;
    let (inotify0, pipes0, ptmx0) = (fds("anon_inode:inotify"), fds("pipe:"), masters());

    // A client that reads a little of a flood, then goes away mid-stream:
    // the process is not left blocked on a full queue.
    let mut stream = process.start(bash("head -c 200000000 /dev/zero")).await.unwrap().into_inner();
    let mut first = Collected::default();
    while first.stdout.len() < 1_000_000 {
        first.push(stream.next().await.unwrap().unwrap().event.and_then(|e| e.event));
    }
    let pid = first.pid.unwrap();
    drop(stream);
    eventually(Duration::from_secs(60), "the flood finishes without a reader", || !alive(pid)).await;

    // Watches: a dropped WatchDir stream and a removed polled watcher both
    // close their inotify instances.
    let dir = tempfile::tempdir().unwrap();
    let mut watch = fs
        .watch_dir(WatchDirRequest {
            path: dir.path().display().to_string(),
            recursive: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    watch.next().await.unwrap().unwrap();
    let id = fs
        .create_watcher(CreateWatcherRequest { path: dir.path().display().to_string(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .watcher_id;
    assert_eq!(fds("anon_inode:inotify"), inotify0 + 2);
    drop(watch);
    fs.remove_watcher(RemoveWatcherRequest { watcher_id: id }).await.unwrap();
    eventually(Duration::from_secs(5), "inotify descriptors closed", || {
        fds("anon_inode:inotify") == inotify0
    })
    .await;

    // A terminal session that ends closes its master.
    let request = StartRequest {
        process: Some(ProcessConfig {
            cmd: "/bin/sh".into(),
            args: vec!["-c".into(), "sleep 0.3; echo x".into()],
            ..Default::default()
        }),
        pty: Some(Pty { size: Some(pty::Size { cols: 80, rows: 24 }) }),
        ..Default::default()
    };
    let stream = process.start(request).await.unwrap().into_inner();
    assert_eq!(masters(), ptmx0 + 1, "the session holds one master");
    let out = collect(stream, Duration::from_secs(10)).await;
    assert!(out.end.is_some());
    eventually(Duration::from_secs(5), "terminal master closed", || masters() == ptmx0).await;

    // Every pipe of every process is closed once it ended, and nothing is
    // listed or left as a zombie.
    for script in ["true", "cat", "exit 9"] {
        let mut request = bash(script);
        request.stdin = Some(true);
        let mut stream = process.start(request).await.unwrap().into_inner();
        let mut c = Collected::default();
        c.push(stream.next().await.unwrap().unwrap().event.and_then(|e| e.event));
        let pid = c.pid.unwrap();
        if script == "cat" {
            process
                .close_stdin(e2b_proto::process::CloseStdinRequest {
                    process: Some(e2b_proto::process::ProcessSelector {
                        selector: Some(e2b_proto::process::process_selector::Selector::Pid(pid)),
                    }),
                })
                .await
                .unwrap();
        }
        collect(stream, Duration::from_secs(10)).await;
    }
    eventually(Duration::from_secs(5), "pipes closed", || fds("pipe:") == pipes0).await;
    assert!(process.list(ListRequest {}).await.unwrap().into_inner().processes.is_empty());
    assert!(zombie_children().is_empty(), "zombies: {:?}", zombie_children());
}
