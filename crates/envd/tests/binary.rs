//! The `envd` binary: its command line, SIGTERM handling, and life as PID 1
//! of a PID namespace (reaping orphans that get re-parented to it).
//!
//! Run with `cargo test -p envd --test binary` (as root; the namespace test
//! uses `unshare` from util-linux).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use e2b_proto::process::process_client::ProcessClient;
use futures::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const ENVD: &str = env!("CARGO_BIN_EXE_envd");

/// A running binary and the address it reported.
struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(prefix: &[&str]) -> Running {
    let mut command = if prefix.is_empty() { Command::new(ENVD) } else { Command::new(prefix[0]) };
    if !prefix.is_empty() {
        command.args(&prefix[1..]).arg(ENVD);
    }
    let mut child = command
        .args(["--port", "0", "--bind", "127.0.0.1", "--log", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("envd starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split_whitespace().find_map(|w| w.strip_prefix("addr="))
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(20)).expect("envd reported its address");
    Running { child, addr }
}

async fn client(addr: &str) -> ProcessClient<tonic::transport::Channel> {
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    ProcessClient::new(channel)
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--help` documents every flag.
#[test]
fn help_documents_every_flag() {
    let out = Command::new(ENVD).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--port",
        "--bind",
        "--user",
        "--workdir",
        "--env",
        "--access-token",
        "--reap-orphans",
        "--sync-clock",
        "--log",
        "--version",
    ] {
        assert!(help.contains(flag), "{flag} is not documented:\n{help}");
    }
    let version = Command::new(ENVD).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(version.stdout).unwrap().trim(), "envd 0.6.13");
    let bad = Command::new(ENVD).args(["--env", "novalue"]).output().unwrap();
    assert!(!bad.status.success(), "a malformed --env is refused");
}

/// SIGTERM: envd stops serving, terminates the processes it started, and
/// exits cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_envd_and_its_processes() {
    let mut envd = start(&[]);
    let mut client = client(&envd.addr).await;
    let mut stream = client.start(bash("sleep 60")).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    let mut c = Collected::default();
    c.push(first.event.and_then(|e| e.event));
    let pid = c.pid.unwrap();
    assert!(alive(pid));
    kill(Pid::from_raw(envd.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut envd.child, Duration::from_secs(20));
        (status, envd)
    })
    .await
    .unwrap()
    .0
    .expect("envd exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    eventually(Duration::from_secs(5), "the user process was terminated", || !alive(pid)).await;
}

/// Children of `pid` (from the host's /proc).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(list.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) == Some("Z"))
        .unwrap_or(false)
}

/// As PID 1 of a PID namespace (the sandbox runtime's setup) envd reaps
/// orphans re-parented to it, and still handles SIGTERM, which the kernel
/// would otherwise not deliver to an init without a handler.
#[tokio::test(flavor = "multi_thread")]
async fn pid_one_reaps_orphans_and_handles_sigterm() {
    let mut envd = start(&["unshare", "--pid", "--fork", "--kill-child"]);
    let unshare = envd.child.id();
    let inner = children(unshare).into_iter().next().expect("envd runs below unshare");
    let mut client = client(&envd.addr).await;
    // Each subshell forks a sleeper and exits: the sleepers are orphans
    // whose new parent is envd.
    // (Their output goes elsewhere, so the command's end does not wait.)
    let script = "for i in 1 2 3 4 5; do (sleep 1 >/dev/null 2>&1 &); done; echo spawned";
    let out = collect(client.start(bash(script)).await.unwrap().into_inner(), Duration::from_secs(20)).await;
    assert_eq!(out.stdout(), "spawned\n");
    // While they sleep, they are envd's children...
    assert!(children(inner).len() >= 5, "orphans were re-parented to envd: {:?}", children(inner));
    // ...and once they exit, none is left as a zombie.
    eventually(Duration::from_secs(10), "orphans are reaped", || {
        children(inner).iter().all(|&c| !is_zombie(c)) && children(inner).is_empty()
    })
    .await;

    kill(Pid::from_raw(inner as i32), Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut envd.child, Duration::from_secs(20));
        (status, envd)
    })
    .await
    .unwrap()
    .0;
    assert!(status.is_some(), "envd as PID 1 exits on SIGTERM");
}
