//! `cargo xtask bench sdk`: the Rust SDK against the official Python SDK
//! (`e2b==2.45.1`), both talking to the same server and envd in the same run.
//!
//! Measured, for each SDK:
//! * `commands.run("true")` round trip: p50 / p99;
//! * `files.write` + `files.read` of 1 KiB: p50 / p99 of the pair;
//! * `files.write` + `files.read` of 100 MiB: throughput;
//! * streaming 100 MiB of stdout from a command (`head -c … /dev/zero`): throughput.
//!
//! The server is this workspace's local server (`e2b-local`'s testkit) with a release
//! build of envd in real `base` sandboxes, one per SDK, so that each number is an SDK
//! plus the envd it would talk to in production (a login shell in a small Debian, files
//! on the sandbox's disk). Needs root, as the local server does. The Python SDK runs in
//! its own process. Numbers depend on the machine and its load: read the ratios.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

const SMALL: usize = 1024;
const LARGE: usize = 100 << 20;
const RUN_ITERATIONS: usize = 300;
const SMALL_ITERATIONS: usize = 300;
const LARGE_ITERATIONS: usize = 3;
/// Where both SDKs put their files, inside their sandbox.
const DIR: &str = "/home/user/bench";

/// The release envd, built if needed.
fn release_envd() -> std::path::PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "--release", "-p", "envd", "--bin", "envd"])
        .current_dir(&workspace)
        .status()
        .expect("cargo build --release -p envd");
    assert!(status.success(), "building the release envd failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("release").join("envd")
}

#[derive(Debug, Default)]
struct Numbers {
    run_p50: f64,
    run_p99: f64,
    small_p50: f64,
    small_p99: f64,
    large_mib_s: f64,
    stream_mib_s: f64,
}

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)]
}

async fn rust_numbers(server: &e2b_local::testkit::TestServer) -> Numbers {
    let config = e2b::ConnectionConfig::builder()
        .environment::<_, &str, &str>([])
        .api_url(server.api_url())
        .sandbox_url(server.sandbox_url())
        .api_key(server.api_key())
        .build()
        .unwrap();
    let sandbox =
        e2b::Client::new(config).sandbox().timeout(Duration::from_secs(3600)).create().await.unwrap();
    let dir = DIR;
    sandbox.files().make_dir(dir).await.unwrap();
    let commands = sandbox.commands();
    let files = sandbox.files();
    for _ in 0..20 {
        commands.run("true").await.unwrap();
    }
    let mut run = Vec::new();
    for _ in 0..RUN_ITERATIONS {
        let started = Instant::now();
        commands.run("true").await.unwrap();
        run.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let small = Bytes::from(vec![b's'; SMALL]);
    let mut pair = Vec::new();
    for _ in 0..SMALL_ITERATIONS {
        let started = Instant::now();
        files.write(format!("{dir}/small"), small.clone()).await.unwrap();
        let read = files.read(format!("{dir}/small")).bytes().await.unwrap();
        pair.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(read.len(), SMALL);
    }
    let large = Bytes::from(vec![b'l'; LARGE]);
    let started = Instant::now();
    for _ in 0..LARGE_ITERATIONS {
        files.write(format!("{dir}/large"), large.clone()).await.unwrap();
        let read = files.read(format!("{dir}/large")).bytes().await.unwrap();
        assert_eq!(read.len(), LARGE);
    }
    let large_mib_s =
        (2 * LARGE_ITERATIONS * LARGE) as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..LARGE_ITERATIONS {
        let result =
            commands.run(format!("head -c {LARGE} /dev/zero")).timeout(Duration::ZERO).await.unwrap();
        assert_eq!(result.stdout.len(), LARGE);
    }
    let stream_mib_s = (LARGE_ITERATIONS * LARGE) as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64();
    sandbox.kill().await.unwrap();
    Numbers {
        run_p50: percentile(&mut run, 0.5),
        run_p99: percentile(&mut run, 0.99),
        small_p50: percentile(&mut pair, 0.5),
        small_p99: percentile(&mut pair, 0.99),
        large_mib_s,
        stream_mib_s,
    }
}

const PYTHON: &str = r#"
import json, os, time
from e2b import Sandbox

def pct(samples, q):
    samples = sorted(samples)
    return samples[min(int(len(samples) * q), len(samples) - 1)]

SMALL, LARGE, DIR = int(os.environ["SMALL"]), int(os.environ["LARGE"]), os.environ["DIR"]
RUNS, SMALLS, LARGES = int(os.environ["RUNS"]), int(os.environ["SMALLS"]), int(os.environ["LARGES"])
sbx = Sandbox.create(timeout=3600)
sbx.files.make_dir(DIR)
for _ in range(20):
    sbx.commands.run("true")
run = []
for _ in range(RUNS):
    t = time.perf_counter(); sbx.commands.run("true"); run.append((time.perf_counter() - t) * 1e3)
small = b"s" * SMALL
pair = []
for _ in range(SMALLS):
    t = time.perf_counter()
    sbx.files.write(f"{DIR}/small", small)
    assert len(sbx.files.read(f"{DIR}/small", format="bytes")) == SMALL
    pair.append((time.perf_counter() - t) * 1e3)
large = b"l" * LARGE
t = time.perf_counter()
for _ in range(LARGES):
    sbx.files.write(f"{DIR}/large", large)
    assert len(sbx.files.read(f"{DIR}/large", format="bytes")) == LARGE
large_rate = 2 * LARGES * LARGE / 2**20 / (time.perf_counter() - t)
t = time.perf_counter()
for _ in range(LARGES):
    assert len(sbx.commands.run(f"head -c {LARGE} /dev/zero", timeout=0).stdout) == LARGE
stream_rate = LARGES * LARGE / 2**20 / (time.perf_counter() - t)
sbx.kill()
print(json.dumps({"run_p50": pct(run, .5), "run_p99": pct(run, .99), "small_p50": pct(pair, .5),
                  "small_p99": pct(pair, .99), "large_mib_s": large_rate, "stream_mib_s": stream_rate}), flush=True)
os._exit(0)
"#;

fn python_numbers(server: &e2b_local::testkit::TestServer) -> Numbers {
    let python = e2b_tests::interop::python_e2b().expect("installing the official Python SDK");
    let sizes = [SMALL.to_string(), LARGE.to_string()];
    let counts = [RUN_ITERATIONS.to_string(), SMALL_ITERATIONS.to_string(), LARGE_ITERATIONS.to_string()];
    let output = e2b_tests::interop::run_python(
        &python,
        PYTHON,
        &[
            ("E2B_API_URL", server.api_url()),
            ("E2B_SANDBOX_URL", server.sandbox_url()),
            ("E2B_API_KEY", server.api_key()),
            ("NO_PROXY", "*"),
            ("DIR", DIR),
            ("SMALL", &sizes[0]),
            ("LARGE", &sizes[1]),
            ("RUNS", &counts[0]),
            ("SMALLS", &counts[1]),
            ("LARGES", &counts[2]),
        ],
    )
    .expect("the Python benchmark ran");
    let v: Value = serde_json::from_str(output.trim().lines().last().unwrap()).unwrap();
    let f = |k: &str| v[k].as_f64().unwrap();
    Numbers {
        run_p50: f("run_p50"),
        run_p99: f("run_p99"),
        small_p50: f("small_p50"),
        small_p99: f("small_p99"),
        large_mib_s: f("large_mib_s"),
        stream_mib_s: f("stream_mib_s"),
    }
}

fn main() {
    // SAFETY: no other thread runs yet; the testkit reads this when it starts the server.
    unsafe { std::env::set_var("E2B_TEST_ENVD", release_envd()) };
    let Some(server) = e2b_local::testkit::shared_server("sdk benchmark") else {
        eprintln!("the SDK benchmark needs a host that can run local sandboxes (root, mmdebstrap, nftables)");
        std::process::exit(1);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let rust = runtime.block_on(rust_numbers(server));
    let python = python_numbers(server);

    println!("e2b SDK benchmark: Rust vs the official Python SDK (e2b==2.45.1), same local server, same run");
    println!("{:<34} {:>12} {:>12} {:>10}  target", "", "rust", "python", "ratio");
    let latency = |name: &str, r: f64, p: f64| {
        println!("{name:<34} {r:>10.3}ms {p:>10.3}ms {:>9.2}x  <= 0.5x (Rust/Python)", r / p);
    };
    let throughput = |name: &str, r: f64, p: f64| {
        println!("{name:<34} {r:>8.0}MiB/s {p:>8.0}MiB/s {:>9.2}x  >= 2x (Rust/Python)", r / p);
    };
    latency("commands.run(\"true\") p50", rust.run_p50, python.run_p50);
    latency("commands.run(\"true\") p99", rust.run_p99, python.run_p99);
    latency("write+read 1 KiB p50", rust.small_p50, python.small_p50);
    latency("write+read 1 KiB p99", rust.small_p99, python.small_p99);
    throughput("write+read 100 MiB", rust.large_mib_s, python.large_mib_s);
    throughput("stream 100 MiB of stdout", rust.stream_mib_s, python.stream_mib_s);
}
