//! Lifecycle of real sandboxes from the `base` template, with the workspace's envd as pid 1.
//!
//! Proves: `create` returns once envd answers `/health` and `/init` was applied (default user
//! `user`, env vars); hostname is the sandbox id; pause freezes everything (envd stops
//! answering) and resume brings it back with state intact; metrics come from host counters;
//! a snapshot keeps files written before it and a sandbox created from it sees them;
//! kill removes the sandbox.

mod support;

use std::time::Duration;

use e2b_local::runtime::{EnvdInit, MemoryCapture, Resources, RuntimeError, SandboxSpec, SandboxState};
use support::{TestRuntime, envd_answers, exec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_pause_resume_snapshot_restore_kill() {
    let Some(t) = TestRuntime::for_test("create_pause_resume_snapshot_restore_kill", 1).await else {
        return;
    };
    let rt = &t.runtime;

    let sb = rt
        .create(
            SandboxSpec::template("base")
                .envd_init(Some(EnvdInit::default().env("GREETING", "hello")))
                .label("owner", "test"),
        )
        .await
        .expect("create");
    assert_eq!(sb.state, SandboxState::Running);
    assert_eq!(sb.resources, Resources::default());

    let out = exec(&sb, "user", "whoami; hostname; echo $GREETING; pwd; id -u").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, ["user", sb.id.as_str(), "hello", "/home/user", "1000"], "{out:?}");
    let out = exec(&sb, "root", "whoami; echo state > /home/user/before-snapshot").await;
    assert_eq!(out.stdout.trim(), "root", "{out:?}");

    // Pause: processes are frozen, envd does not answer; resume: it does again.
    rt.pause(&sb.id).await.expect("pause");
    assert_eq!(rt.info(&sb.id).await.unwrap().state, SandboxState::Paused);
    assert!(!envd_answers(sb.envd, Duration::from_millis(500)).await, "paused envd answered");
    assert!(matches!(rt.pause(&sb.id).await, Err(RuntimeError::InvalidState { .. })));
    rt.resume(&sb.id).await.expect("resume");
    assert!(envd_answers(sb.envd, Duration::from_secs(5)).await);
    assert_eq!(exec(&sb, "user", "cat /home/user/before-snapshot").await.stdout, "state\n");

    // Metrics from host-side counters.
    exec(&sb, "user", "head -c 20000000 /dev/urandom | sha256sum >/dev/null").await;
    let m = rt.metrics(&sb.id).await.expect("metrics");
    assert_eq!(m.cpu_count, 2);
    assert_eq!(m.mem_total, 512 * 1024 * 1024);
    assert!(m.mem_used > 0 && m.mem_used < m.mem_total, "{m:?}");
    assert!(m.cpu_used_pct > 0.0, "{m:?}");
    assert!(m.disk_total > 3 * 1024 * 1024 * 1024, "{m:?}");
    assert!(m.disk_used > 0, "{m:?}");
    assert!(m.pids >= 1, "{m:?}");

    // Snapshot: filesystem copy; memory is reported as not captured on this host kind.
    let snap = rt.snapshot(&sb.id).await.expect("snapshot");
    assert_eq!(rt.info(&sb.id).await.unwrap().state, SandboxState::Running);
    match &snap.memory {
        MemoryCapture::FilesystemOnly { reason } => assert!(!reason.is_empty()),
        MemoryCapture::Captured => {}
    }
    exec(&sb, "user", "echo after > /home/user/after-snapshot").await;
    assert!(rt.snapshots().await.unwrap().iter().any(|s| s.id == snap.id));

    let restored = rt.create(SandboxSpec::snapshot(snap.id.clone())).await.expect("create from snapshot");
    assert_eq!(restored.snapshot.as_ref(), Some(&snap.id));
    let out = exec(
        &restored,
        "user",
        "cat /home/user/before-snapshot; test -e /home/user/after-snapshot && echo LEAK; hostname",
    )
    .await;
    assert_eq!(out.stdout, format!("state\n{}\n", restored.id), "{out:?}");

    // A snapshot in use cannot be deleted; after kill it can.
    assert!(rt.delete_snapshot(&snap.id).await.is_err());
    rt.kill(&restored.id).await.expect("kill restored");

    let listed: Vec<_> = rt.list().await.into_iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![sb.id.clone()]);
    // A paused sandbox can be snapshotted under a chosen id (it stays paused) and killed.
    rt.pause(&sb.id).await.expect("pause");
    let named = e2b_local::runtime::SnapshotId::parse("lifecycle-snap:v1").unwrap();
    let _ = rt.delete_snapshot(&named).await;
    let snap2 = rt.snapshot_as(&sb.id, named.clone()).await.expect("snapshot while paused");
    assert_eq!(snap2.id, named);
    assert_eq!(rt.info(&sb.id).await.unwrap().state, SandboxState::Paused);
    assert!(rt.snapshot_as(&sb.id, named.clone()).await.is_err(), "duplicate snapshot id");
    rt.kill(&sb.id).await.expect("kill while paused");
    rt.delete_snapshot(&named).await.expect("delete named snapshot");
    assert!(matches!(rt.info(&sb.id).await, Err(RuntimeError::SandboxNotFound(_))));
    assert!(matches!(rt.kill(&sb.id).await, Err(RuntimeError::SandboxNotFound(_))));
    assert!(!envd_answers(sb.envd, Duration::from_millis(300)).await);
    rt.delete_snapshot(&snap.id).await.expect("delete snapshot");
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_typed_error_and_leaves_nothing() {
    let Some(t) = TestRuntime::for_test("bad_input_is_a_typed_error_and_leaves_nothing", 2).await else {
        return;
    };
    let rt = &t.runtime;
    assert!(matches!(
        rt.create(SandboxSpec::template("no-such-template")).await,
        Err(RuntimeError::TemplateNotFound(_))
    ));
    assert!(matches!(rt.create(SandboxSpec::template("../etc")).await, Err(RuntimeError::InvalidSpec(_))));
    let zero_cpu = Resources { cpu_count: 0, ..Resources::default() };
    assert!(matches!(
        rt.create(SandboxSpec::template("base").resources(zero_cpu)).await,
        Err(RuntimeError::InvalidSpec(_))
    ));
    let missing = e2b_local::runtime::SnapshotId::parse("nope:default").unwrap();
    assert!(matches!(
        rt.create(SandboxSpec::snapshot(missing)).await,
        Err(RuntimeError::SnapshotNotFound(_))
    ));
    assert!(rt.list().await.is_empty());
    assert!(rt.host_resources().cgroups.is_empty());
    let sandboxes = std::fs::read_dir(t.root.join("sandboxes")).unwrap().count();
    assert_eq!(sandboxes, 0);
    t.finish().await;
}

/// Proves: when envd dies on its own (here: SIGKILL from the host), the runtime notices,
/// publishes `RuntimeEvent::Exited` with the signal, keeps the sandbox listed as exited, and
/// `kill` still removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envd_death_is_reported_and_cleaned_up() {
    let Some(t) = TestRuntime::for_test("envd_death_is_reported_and_cleaned_up", 12).await else {
        return;
    };
    let rt = &t.runtime;
    let mut events = rt.events();
    let sb = rt.create(SandboxSpec::template("base")).await.unwrap();
    // SAFETY: kill(2) of the sandbox's init, which this test process created.
    assert_eq!(unsafe { libc::kill(sb.pid as i32, libc::SIGKILL) }, 0);
    let state = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(e2b_local::runtime::RuntimeEvent::Exited { id, state }) = events.recv().await
                && id == sb.id
            {
                return state;
            }
        }
    })
    .await
    .expect("an Exited event");
    assert_eq!(state, SandboxState::Exited { code: None, signal: Some(libc::SIGKILL), oom_killed: false });
    assert_eq!(rt.info(&sb.id).await.unwrap().state, state);
    assert!(matches!(rt.pause(&sb.id).await, Err(RuntimeError::InvalidState { .. })));
    rt.kill(&sb.id).await.unwrap();
    assert!(rt.list().await.is_empty());
    t.finish().await;
}
