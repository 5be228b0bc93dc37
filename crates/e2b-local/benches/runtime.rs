//! Runtime benchmark (`cargo xtask bench runtime`; needs root, like the runtime).
//!
//! Measures, in one run, medians and p99 of:
//! * baseline: a bare `unshare --user --mount --pid --net --uts --ipc --fork /bin/true`
//!   (namespace creation plus fork/exec, no filesystem, network or envd);
//! * create: `Runtime::create` of a `base` sandbox until envd answers `/health` and took
//!   `/init` (cached template);
//! * pause and resume (cgroup freezer);
//! * kill (everything removed);
//! * density: 200 idle sandboxes at once, host memory each (drop of `MemAvailable`) and
//!   the memory their cgroups are charged.
//!
//! Environment: `E2B_BENCH_ENVD` (default: the workspace's `target/debug/envd`, built if
//! missing), `E2B_LOCAL_TEST_TEMPLATES` (default `/var/lib/e2b-local-test/templates`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2b_local::runtime::{Runtime, RuntimeConfig, SandboxSpec};

fn envd() -> PathBuf {
    if let Some(p) = std::env::var_os("E2B_BENCH_ENVD") {
        return PathBuf::from(p);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "envd", "--bin", "envd"])
        .current_dir(&workspace)
        .status()
        .expect("cargo build -p envd");
    assert!(status.success());
    workspace.join("target/debug/envd")
}

struct Stats {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Stats {
    fn new(name: &'static str) -> Self {
        Self { name, samples: Vec::new() }
    }
    fn quantile(&self, q: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        let idx = ((s.len() as f64 - 1.0) * q).round() as usize;
        s[idx]
    }
    fn print(&self, baseline: Duration, aim: Option<Duration>) {
        let median = self.quantile(0.5);
        let p99 = self.quantile(0.99);
        let ratio = median.as_secs_f64() / baseline.as_secs_f64();
        let aim = aim
            .map(|a| {
                let verdict = if median <= a { "met" } else { "NOT met" };
                format!("  aim < {:?}: {verdict}", a)
            })
            .unwrap_or_default();
        println!(
            "{:<28} n={:<4} median {:>10.3?}  p99 {:>10.3?}  ratio vs baseline {:>6.2}x{aim}",
            self.name,
            self.samples.len(),
            median,
            p99,
            ratio
        );
    }
}

fn mem_available() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the runtime benchmark needs root");
        std::process::exit(1);
    }
    let rounds: usize = std::env::var("E2B_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let templates = std::env::var_os("E2B_LOCAL_TEST_TEMPLATES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/e2b-local-test/templates"));
    let root = PathBuf::from("/var/lib/e2b-local-test/bench");
    let config = RuntimeConfig::new(envd())
        .root(&root)
        .templates_dir(templates)
        .instance("bench")
        .address_pool("10.90.0.0/22".parse().unwrap());
    let rt = Runtime::new(config).await.expect("runtime").with_progress(e2b_local::cli::print_progress);
    rt.ensure_base_template().await.expect("base template");

    // Baseline: bare unshare + fork/exec.
    let mut baseline = Stats::new("baseline unshare+fork/exec");
    for _ in 0..rounds {
        let t = Instant::now();
        let ok = Command::new("unshare")
            .args(["--user", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "/bin/true"])
            .status()
            .unwrap()
            .success();
        baseline.samples.push(t.elapsed());
        assert!(ok);
    }
    let base = baseline.quantile(0.5);

    // Warm-up (blank disk image cache, page cache of the template).
    let warm = rt.create(SandboxSpec::template("base")).await.unwrap();
    rt.kill(&warm.id).await.unwrap();

    let mut create = Stats::new("create until /health+/init");
    let mut kill = Stats::new("kill");
    let mut pause = Stats::new("pause");
    let mut resume = Stats::new("resume");
    for _ in 0..rounds {
        let t = Instant::now();
        let sb = rt.create(SandboxSpec::template("base")).await.unwrap();
        create.samples.push(t.elapsed());
        let t = Instant::now();
        rt.pause(&sb.id).await.unwrap();
        pause.samples.push(t.elapsed());
        let t = Instant::now();
        rt.resume(&sb.id).await.unwrap();
        resume.samples.push(t.elapsed());
        let t = Instant::now();
        rt.kill(&sb.id).await.unwrap();
        kill.samples.push(t.elapsed());
    }

    // Density: 200 idle sandboxes.
    let count = 200;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = mem_available();
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(rt.create(SandboxSpec::template("base")).await.unwrap().id);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = mem_available();
    let mut charged = 0u64;
    for id in &ids {
        charged += rt.metrics(id).await.map(|m| m.mem_used + m.mem_cache).unwrap_or(0);
    }
    for id in &ids {
        rt.kill(id).await.unwrap();
    }
    rt.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&root);

    println!("\nruntime benchmark ({rounds} rounds; baseline median {base:?})");
    baseline.print(base, None);
    create.print(base, Some(Duration::from_millis(50)));
    pause.print(base, Some(Duration::from_millis(5)));
    resume.print(base, Some(Duration::from_millis(5)));
    kill.print(base, None);
    let per_host = before.saturating_sub(after) as f64 / count as f64 / (1024.0 * 1024.0);
    let per_cgroup = charged as f64 / count as f64 / (1024.0 * 1024.0);
    let verdict = if per_host < 10.0 { "met" } else { "NOT met" };
    println!(
        "density: {count} idle sandboxes: host MemAvailable drop {per_host:.2} MiB each (aim < 10 MiB: {verdict}); cgroup-charged {per_cgroup:.2} MiB each"
    );
}
