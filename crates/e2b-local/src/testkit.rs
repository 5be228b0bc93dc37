//! A local server for tests (feature `testkit`): one per test process, started on first
//! use on a runtime thread of its own (so it outlives every `#[tokio::test]` runtime and
//! serves blocking tests too), and shut down when the process exits: sandboxes killed,
//! its state directory removed.
//!
//! * Host requirements are checked first: without root or the tools, a test prints
//!   `SKIPPED: <why>` and gets `None`; with `CI=true` it panics with that message instead.
//! * envd is the workspace's real binary (`target/debug/envd`, built on demand), or
//!   `E2B_TEST_ENVD`.
//! * Templates are shared by all test processes (`base` is built once, in minutes):
//!   `E2B_LOCAL_TEST_TEMPLATES`, default `/var/lib/e2b-local-test/templates`. Each process
//!   has its own instance name, address pool and state root, derived from its pid.
//!
//! ```no_run
//! let Some(server) = e2b_local::testkit::shared_server("my_test") else { return };
//! println!("E2B_API_URL={}", server.api_url());
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

use crate::runtime::{Ipv4Cidr, RuntimeConfig};
use crate::server::{LocalServer, ServerConfig};

/// Where test state lives.
pub const TEST_ROOT: &str = "/var/lib/e2b-local-test";

/// The process-wide test server.
#[derive(Debug)]
pub struct TestServer {
    api_url: String,
    sandbox_url: String,
    api_key: String,
    stop: Mutex<Option<mpsc::Sender<()>>>,
    done: Mutex<Option<mpsc::Receiver<()>>>,
}

impl TestServer {
    /// `E2B_API_URL` of the server.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// `E2B_SANDBOX_URL` of the server.
    pub fn sandbox_url(&self) -> &str {
        &self.sandbox_url
    }

    /// `E2B_API_KEY` of the server.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The three environment variables that point E2B's SDKs at this server.
    pub fn env(&self) -> [(&'static str, &str); 3] {
        [
            ("E2B_API_URL", self.api_url()),
            ("E2B_SANDBOX_URL", self.sandbox_url()),
            ("E2B_API_KEY", self.api_key()),
        ]
    }
}

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// The process-wide local server, or `None` (test skipped) when the host cannot run
/// sandboxes outside CI.
pub fn shared_server(test: &str) -> Option<&'static TestServer> {
    if !host_ready(test) {
        return None;
    }
    Some(SERVER.get_or_init(start_shared))
}

/// Whether the host can run sandboxes; panics with the reason under `CI=true`.
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

/// The workspace's envd binary (built if needed), or `E2B_TEST_ENVD`.
pub fn envd_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("E2B_TEST_ENVD") {
            return PathBuf::from(p);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let path = target.join("debug").join("envd");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "envd", "--bin", "envd"])
            .current_dir(&workspace)
            .status()
            .expect("running cargo build -p envd");
        assert!(status.success(), "`cargo build -p envd --bin envd` failed: tests need the real envd");
        assert!(path.is_file(), "envd not found at {}", path.display());
        path
    })
    .clone()
}

/// The template directory all test processes share.
pub fn templates_dir() -> PathBuf {
    std::env::var_os("E2B_LOCAL_TEST_TEMPLATES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(TEST_ROOT).join("templates"))
}

/// A runtime configuration of its own for this process: instance `k<pid>`, a /22 address
/// pool and a state root derived from the pid.
pub fn process_runtime_config() -> RuntimeConfig {
    let pid = std::process::id();
    let instance = format!("k{}", pid % 100_000);
    let pool: Ipv4Cidr =
        format!("10.{}.{}.0/22", 100 + pid % 100, (pid / 100 % 64) * 4).parse().expect("a valid pool");
    RuntimeConfig::new(envd_path())
        .root(Path::new(TEST_ROOT).join("runs").join(&instance))
        .templates_dir(templates_dir())
        .instance(instance)
        .address_pool(pool)
        .health_timeout(Duration::from_secs(30))
}

fn start_shared() -> TestServer {
    let config = process_runtime_config();
    let root = config.root_dir().to_path_buf();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("e2b-local-testkit".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let any = "127.0.0.1:0".parse().expect("an address");
                let started = LocalServer::start(
                    ServerConfig::new(config)
                        .api_addr(any)
                        .sandbox_addr(any)
                        .on_template_progress(crate::cli::print_progress),
                )
                .await;
                let server = match started {
                    Ok(server) => server,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                // Build (or check) `base` before any test creates a sandbox: the first
                // build takes minutes, longer than a create request may wait.
                if let Err(e) = server.runtime().ensure_base_template().await {
                    let _ = ready_tx.send(Err(format!("building the base template: {e}")));
                    let _ = server.shutdown().await;
                    return;
                }
                let urls = (server.api_url(), server.sandbox_url(), server.api_key().to_string());
                let _ = ready_tx.send(Ok(urls));
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                if let Err(e) = server.shutdown().await {
                    eprintln!("testkit: shutting the local server down: {e}");
                }
                let _ = std::fs::remove_dir_all(&root);
                let _ = done_tx.send(());
            });
        })
        .expect("spawning the testkit thread");
    let (api_url, sandbox_url, api_key) = match ready_rx.recv() {
        Ok(Ok(urls)) => urls,
        Ok(Err(e)) => panic!("the local test server did not start: {e}"),
        Err(_) => panic!("the local test server thread died while starting"),
    };
    // SAFETY: registering a plain `extern "C"` function without captured state.
    unsafe { libc::atexit(stop_at_exit) };
    TestServer {
        api_url,
        sandbox_url,
        api_key,
        stop: Mutex::new(Some(stop_tx)),
        done: Mutex::new(Some(done_rx)),
    }
}

/// At process exit: stop the server and wait (bounded) until its sandboxes are gone.
extern "C" fn stop_at_exit() {
    let Some(server) = SERVER.get() else { return };
    if let Some(stop) = server.stop.lock().ok().and_then(|mut s| s.take()) {
        let _ = stop.send(());
    }
    if let Some(done) = server.done.lock().ok().and_then(|mut d| d.take()) {
        let _ = done.recv_timeout(Duration::from_secs(120));
    }
}
