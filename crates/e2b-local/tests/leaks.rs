//! Leak and crash-recovery tests.
//!
//! Proves: creating and killing 200 sandboxes (20 at a time, concurrently) leaves no mount,
//! loop device, cgroup, network namespace, veth, nftables element or chain, process, fd or
//! directory behind; and a runtime that "crashes" (is dropped with running and paused
//! sandboxes) leaves leftovers that the next runtime with the same root and instance sweeps
//! away at start-up, after which it works normally.

mod support;

use e2b_local::runtime::SandboxSpec;
use support::{TestRuntime, assert_no_leftovers, baseline, exec, host_ready};

/// The leftover checks look at the whole process and host (fds, network namespaces), so the
/// tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_kill_200_sandboxes_leaves_nothing() {
    if !host_ready("create_and_kill_200_sandboxes_leaves_nothing") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let t = TestRuntime::start(6).await;
    // Build/load the template before measuring the baseline.
    t.runtime.ensure_base_template().await.unwrap();
    let before = baseline();
    for round in 0..10 {
        let creates = (0..20).map(|_| t.runtime.create(SandboxSpec::template("base")));
        let sandboxes: Vec<_> = futures::future::join_all(creates)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(t.runtime.list().await.len(), 20);
        if round == 0 {
            let out = exec(&sandboxes[0], "user", "echo alive").await;
            assert_eq!(out.stdout, "alive\n");
        }
        let kills = sandboxes.iter().map(|s| t.runtime.kill(&s.id));
        for r in futures::future::join_all(kills).await {
            r.unwrap();
        }
    }
    assert!(t.runtime.list().await.is_empty());
    assert_no_leftovers(&t, &before).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_sweep_removes_what_a_crashed_runtime_left() {
    if !host_ready("startup_sweep_removes_what_a_crashed_runtime_left") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let before = baseline();
    {
        let crashed = TestRuntime::start(7).await;
        crashed.runtime.ensure_base_template().await.unwrap();
        let a = crashed.runtime.create(SandboxSpec::template("base")).await.unwrap();
        let b = crashed
            .runtime
            .create(SandboxSpec::template("base").network(
                e2b_local::runtime::NetworkPolicy::default().deny_out("203.0.113.0/24".parse().unwrap()),
            ))
            .await
            .unwrap();
        crashed.runtime.pause(&b.id).await.unwrap();
        exec(&a, "user", "sleep 1000 >/dev/null 2>&1 &").await;
        // The "crash": the runtime goes away without killing anything.
        drop(crashed);
    }
    let t = TestRuntime::start(7).await;
    assert!(t.runtime.list().await.is_empty());
    assert_no_leftovers(&t, &before).await;
    // And it works normally afterwards.
    let sb = t.runtime.create(SandboxSpec::template("base")).await.unwrap();
    assert_eq!(exec(&sb, "user", "echo ok").await.stdout, "ok\n");
    t.runtime.kill(&sb.id).await.unwrap();
    assert_no_leftovers(&t, &before).await;
    t.finish().await;
}
