//! Shared helpers of the runtime tests.
//!
//! * Host requirements are checked up front: without root (or the tools) a test prints why
//!   and returns, except with `CI=true`, where it fails with that message.
//! * envd is the workspace's real binary (`target/<profile>/envd`, built on demand with
//!   `cargo build -p envd`), or `E2B_TEST_ENVD` if set.
//! * All tests share one template directory so `base` is built once (minutes, needs the
//!   Debian mirror): `E2B_LOCAL_TEST_TEMPLATES`, default `/var/lib/e2b-local-test/templates`.
//!   Each test has its own state root below `/var/lib/e2b-local-test/runs/`, its own
//!   instance name and its own address pool, and removes them at the end.
//! * Commands run inside sandboxes through envd's real `process.Process/Start` (Connect
//!   JSON streaming), as an SDK would.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use bytes::{Buf, Bytes};
use e2b_local::runtime::{Ipv4Cidr, Runtime, RuntimeConfig, SandboxInfo};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

pub const TEST_ROOT: &str = "/var/lib/e2b-local-test";

/// Whether the host can run sandboxes; panics with the reason under CI.
pub fn host_ready(test: &str) -> bool {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".to_string());
    }
    for tool in ["nft", "mmdebstrap", "mkfs.ext4"] {
        let found =
            ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().any(|d| Path::new(d).join(tool).exists());
        if !found {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test} needs {} (run as root after `apt-get install nftables mmdebstrap e2fsprogs`)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

/// Path of the real envd binary, building it if needed (once per test binary).
pub fn envd_path() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(find_envd).clone()
}

fn find_envd() -> PathBuf {
    if let Some(p) = std::env::var_os("E2B_TEST_ENVD") {
        return PathBuf::from(p);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let path = target.join("debug").join("envd");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "envd", "--bin", "envd"])
        .current_dir(&workspace)
        .status()
        .expect("running cargo build -p envd");
    assert!(
        status.success(),
        "`cargo build -p envd --bin envd` failed: the runtime tests need the workspace's real envd binary"
    );
    assert!(path.is_file(), "envd not found at {}", path.display());
    path
}

pub fn templates_dir() -> PathBuf {
    std::env::var_os("E2B_LOCAL_TEST_TEMPLATES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(TEST_ROOT).join("templates"))
}

/// A runtime for one test: own root, instance `t<n>` and pool `10.89.<4n>.0/22`.
pub struct TestRuntime {
    pub runtime: Runtime,
    pub root: PathBuf,
    pub instance: String,
}

impl TestRuntime {
    pub fn config(n: u8) -> RuntimeConfig {
        let instance = format!("t{n}");
        let root = Path::new(TEST_ROOT).join("runs").join(&instance);
        let pool: Ipv4Cidr = format!("10.89.{}.0/22", u32::from(n) * 4).parse().unwrap();
        RuntimeConfig::new(envd_path())
            .root(root)
            .templates_dir(templates_dir())
            .instance(instance)
            .address_pool(pool)
            .health_timeout(Duration::from_secs(30))
    }

    /// The runtime `t<n>` for the named test, or `None` (test skipped) when the host is not
    /// ready outside CI.
    pub async fn for_test(test: &str, n: u8) -> Option<Self> {
        if host_ready(test) { Some(Self::start(n).await) } else { None }
    }

    pub async fn start(n: u8) -> Self {
        Self::start_with(Self::config(n)).await
    }

    pub async fn start_with(config: RuntimeConfig) -> Self {
        let root = config.root_dir().to_path_buf();
        let instance = config.instance_name().to_string();
        let runtime = Runtime::new(config)
            .await
            .expect("starting the runtime")
            .with_progress(|p| eprintln!("template: {p:?}"));
        Self { runtime, root, instance }
    }

    /// Kills everything and removes the state root.
    pub async fn finish(self) {
        self.runtime.shutdown().await.expect("shutdown");
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Result of a command run through envd.
#[derive(Debug, Default)]
pub struct Output {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub status: String,
}

/// Runs `bash -c script` as `user` through envd's `process.Process/Start`.
pub async fn exec(sandbox: &SandboxInfo, user: &str, script: &str) -> Output {
    exec_at(sandbox.envd, user, script).await
}

/// `process.Process/Start` over Connect JSON streaming, as the E2B SDKs call it.
pub async fn exec_at(addr: SocketAddr, user: &str, script: &str) -> Output {
    let body = serde_json::json!({
        "process": {"cmd": "/bin/bash", "args": ["-c", script]},
    });
    let json = serde_json::to_vec(&body).unwrap();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(json.len() as u32).to_be_bytes());
    framed.extend_from_slice(&json);
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect envd");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:"));
    let req = hyper::Request::post("/process.Process/Start")
        .header("host", addr.to_string())
        .header("content-type", "application/connect+json")
        .header("connect-protocol-version", "1")
        .header("authorization", format!("Basic {auth}"))
        .body(Full::new(Bytes::from(framed)))
        .unwrap();
    let resp = sender.send_request(req).await.expect("Start request");
    assert_eq!(resp.status(), 200, "Start status");
    let mut body = resp.into_body().collect().await.unwrap().to_bytes();
    let mut out = Output::default();
    let b64 = base64::engine::general_purpose::STANDARD;
    while body.remaining() >= 5 {
        let flags = body.get_u8();
        let len = body.get_u32() as usize;
        let msg: serde_json::Value = serde_json::from_slice(&body.split_to(len)).unwrap();
        if flags & 2 != 0 {
            if let Some(err) = msg.get("error") {
                panic!("envd stream error: {err}");
            }
            break;
        }
        let event = &msg["event"];
        if let Some(data) = event.get("data") {
            if let Some(s) = data.get("stdout").and_then(|v| v.as_str()) {
                out.stdout += &String::from_utf8_lossy(&b64.decode(s).unwrap());
            }
            if let Some(s) = data.get("stderr").and_then(|v| v.as_str()) {
                out.stderr += &String::from_utf8_lossy(&b64.decode(s).unwrap());
            }
        }
        if let Some(end) = event.get("end") {
            out.exit_code = end.get("exitCode").and_then(|v| v.as_i64()).unwrap_or(0) as i32;
            out.status = end.get("status").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        }
    }
    out
}

/// Whether anything answers on the address within `wait`.
pub async fn envd_answers(addr: SocketAddr, wait: Duration) -> bool {
    tokio::time::timeout(wait, async {
        let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
            return false;
        };
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await
        else {
            return false;
        };
        tokio::spawn(conn);
        let req = hyper::Request::get("/health")
            .header("host", addr.to_string())
            .body(Full::new(Bytes::new()))
            .unwrap();
        matches!(sender.send_request(req).await, Ok(r) if r.status() == 204)
    })
    .await
    .unwrap_or(false)
}

/// What exists on the host before a test, to compare with afterwards.
pub struct Baseline {
    netns: std::collections::BTreeSet<String>,
    fds: usize,
}

fn netns_in_use() -> std::collections::BTreeSet<String> {
    let mut set = std::collections::BTreeSet::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(link) = std::fs::read_link(e.path().join("ns/net")) {
            set.insert(link.to_string_lossy().into_owned());
        }
    }
    set
}

fn own_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

pub fn baseline() -> Baseline {
    Baseline { netns: netns_in_use(), fds: own_fds() }
}

/// Asserts that nothing of the runtime `t` remains: mounts, loop devices, cgroups, network
/// namespaces, veths, nftables elements and chains, processes, fds, sandbox directories.
pub async fn assert_no_leftovers(t: &TestRuntime, before: &Baseline) {
    let root = t.root.display().to_string();
    // Loop devices detach asynchronously once the last mount reference is gone.
    let mut loops = Vec::new();
    for _ in 0..100 {
        loops = std::fs::read_dir("/sys/block")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("loop/backing_file")).ok())
            .filter(|b| b.starts_with(&root))
            .collect();
        if loops.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(loops.is_empty(), "loop devices left: {loops:?}");
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect();
    assert!(mounts.is_empty(), "mounts left: {mounts:#?}");
    let res = t.runtime.host_resources();
    assert!(res.cgroups.is_empty(), "cgroups left: {:?}", res.cgroups);
    assert!(!res.nft_listing.contains("elements ="), "nft elements left: {}", res.nft_listing);
    assert!(!res.nft_listing.contains("chain sb_"), "nft chains left: {}", res.nft_listing);
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout).to_string();
    assert!(!links.contains(&format!(": {}", res.interface_prefix)), "veths left: {links}");
    // Network namespaces: none beyond those that existed before.
    let mut extra = Vec::new();
    for _ in 0..100 {
        extra = netns_in_use().difference(&before.netns).cloned().collect();
        if extra.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(extra.is_empty(), "network namespaces in use by new processes: {extra:?}");
    // Processes: none in the sandbox uid ranges.
    let mut strays = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(status) = std::fs::read_to_string(e.path().join("status"))
            && let Some(uid) = status.lines().find_map(|l| l.strip_prefix("Uid:"))
            && uid.split_whitespace().any(|u| u.parse::<u64>().unwrap_or(0) >= 0x1000_0000)
        {
            strays.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(strays.is_empty(), "sandbox processes left: {strays:?}");
    let dirs: Vec<_> =
        std::fs::read_dir(t.root.join("sandboxes")).unwrap().flatten().map(|e| e.path()).collect();
    assert!(dirs.is_empty(), "sandbox directories left: {dirs:?}");
    let fds = own_fds();
    assert!(fds <= before.fds + 8, "fds grew from {} to {fds}", before.fds);
}
