//! Runs an interop script (Python or Node) against the test server, with a deadline.
//! Shared by `interop_python.rs` and `interop_js.rs` through `#[path]`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use e2b_local::testkit::TestServer;

/// A script's whole run, sandboxes included, must finish within this.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(420);

/// `tests/interop/<name>`.
pub(crate) fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop").join(name)
}

struct Output {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.status.map_or("killed after the deadline".to_string(), |s| s.to_string());
        write!(f, "status: {status}\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `program script` with only the server's three variables pointing the SDK anywhere
/// (E2B_DEBUG / E2B_DOMAIN cleared), and panics with the script's whole output unless it
/// exits 0 with `OK` as its last stdout line. A script still running after
/// [`SCRIPT_DEADLINE`] is killed and fails the test.
pub(crate) fn assert_script_ok(program: &Path, script: &Path, server: &TestServer) {
    let name = script.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let mut child = Command::new(program)
        .arg(script)
        .env("E2B_API_URL", server.api_url())
        .env("E2B_SANDBOX_URL", server.sandbox_url())
        .env("E2B_API_KEY", server.api_key())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("E2B_DEBUG")
        .env_remove("E2B_DOMAIN")
        .env_remove("E2B_ACCESS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} {}: {e}", program.display(), script.display()));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the script") {
            break Some(status);
        }
        if start.elapsed() > SCRIPT_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(out.status.is_some_and(|s| s.success()), "{name} failed:\n{out}");
    assert_eq!(out.stdout.lines().last(), Some("OK"), "{name} did not finish:\n{out}");
    eprintln!("{name}: OK\n{}", out.stdout);
}
