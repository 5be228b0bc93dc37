//! Local server benchmark (`cargo xtask bench local`; needs root, like the server).
//!
//! One run, one in-process server (release build, the release `e2b-local` binary as envd,
//! the shared test template cache), and every number next to a baseline from the same run:
//!
//! * create to first command result: `Sandbox.create()` + `commands.run("true")` with the
//!   official Python SDK (`e2b==2.45.1`, timed inside one Python process so its start-up
//!   is not counted) and with our Rust SDK; medians and p99 (aim: Rust p50 under 100 ms;
//!   E2B cloud's measured median is 440 ms);
//! * 50 concurrent creates with the Rust SDK: p50 and p99 of each create, and the wall time;
//! * proxy overhead per envd call: the same Connect call (`Stat`) through the server's envd
//!   router and straight to the sandbox's envd, interleaved (aim: under 0.2 ms).
//!
//! Optional argument: a scale factor for iteration counts (default 1).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2b::{Client, ConnectionConfig};
use e2b_local::runtime::{Ipv4Cidr, RuntimeConfig, SandboxId};
use e2b_local::server::{LocalServer, ServerConfig};

fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    s[((s.len() as f64 - 1.0) * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn line(name: &str, samples: &[Duration], baseline: Option<Duration>) {
    let (p50, p99) = (quantile(samples, 0.5), quantile(samples, 0.99));
    let ratio = baseline
        .map(|b| format!("  ({:.2}x baseline)", p50.as_secs_f64() / b.as_secs_f64()))
        .unwrap_or_default();
    println!("  {name:<44} p50 {:8.2} ms   p99 {:8.2} ms{ratio}", ms(p50), ms(p99));
}

fn client(api_url: &str, sandbox_url: &str, key: &str) -> Client {
    Client::new(
        ConnectionConfig::builder()
            .environment(std::iter::empty::<(String, String)>())
            .api_url(api_url)
            .sandbox_url(sandbox_url)
            .api_key(key)
            .build()
            .expect("a valid configuration"),
    )
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the local server benchmark needs root (it runs sandboxes)");
        std::process::exit(1);
    }
    let scale: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(bench(scale));
}

async fn bench(scale: usize) {
    let pid = std::process::id();
    let instance = format!("b{}", pid % 100_000);
    let pool: Ipv4Cidr = format!("10.97.{}.0/22", (pid % 64) * 4).parse().unwrap();
    let root = PathBuf::from(e2b_local::testkit::TEST_ROOT).join("runs").join(&instance);
    // The release e2b-local binary is envd too, when started under that name.
    let envd = PathBuf::from(env!("CARGO_BIN_EXE_e2b-local"));
    let config = RuntimeConfig::new(envd)
        .root(&root)
        .templates_dir(e2b_local::testkit::templates_dir())
        .instance(&instance)
        .address_pool(pool);
    let any = "127.0.0.1:0".parse().unwrap();
    let server = LocalServer::start(
        ServerConfig::new(config)
            .api_addr(any)
            .sandbox_addr(any)
            .parallel_creates(64)
            .on_template_progress(e2b_local::cli::print_progress),
    )
    .await
    .expect("the server starts");
    server.runtime().ensure_base_template().await.expect("the base template");
    let (api_url, sandbox_url, key) = (server.api_url(), server.sandbox_url(), server.api_key().to_string());
    let rust = client(&api_url, &sandbox_url, &key);

    println!(
        "local server benchmark (release build, {} CPUs, shared host: compare ratios, not absolutes)\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // ------------------------------------------------ create to first command
    let n = 20 * scale;
    for _ in 0..3 {
        let sandbox = rust.sandbox().create().await.unwrap();
        sandbox.commands().run("true").await.unwrap();
        sandbox.kill().await.unwrap();
    }
    let mut rust_samples = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let sandbox = rust.sandbox().create().await.unwrap();
        sandbox.commands().run("true").await.unwrap();
        rust_samples.push(t.elapsed());
        sandbox.kill().await.unwrap();
    }
    let python_samples = python_create_to_first_result(&api_url, &sandbox_url, &key, n);
    println!("create to first command result (n = {n})");
    match &python_samples {
        Ok(samples) => line("official Python SDK (baseline)", samples, None),
        Err(why) => println!("  official Python SDK: not measured ({why})"),
    }
    let baseline = python_samples.as_ref().ok().map(|s| quantile(s, 0.5));
    line("Rust SDK", &rust_samples, baseline);
    let p50 = quantile(&rust_samples, 0.5);
    let verdict = if p50 < Duration::from_millis(100) { "met" } else { "NOT met" };
    println!("  -> aim: Rust p50 under 100 ms: {verdict}; E2B cloud's measured median is 440 ms\n");

    // ------------------------------------------------------ concurrent creates
    let concurrent = 50;
    let started = Instant::now();
    let creates = (0..concurrent).map(|_| {
        let rust = rust.clone();
        async move {
            let t = Instant::now();
            let sandbox = rust.sandbox().create().await.unwrap();
            (t.elapsed(), sandbox)
        }
    });
    let results = futures::future::join_all(creates).await;
    let wall = started.elapsed();
    let samples: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    println!("{concurrent} concurrent creates");
    line("each create (baseline: one create alone)", &samples, Some(quantile(&rust_samples, 0.5)));
    println!("  {:<44} {:8.2} ms", "all of them (wall)", ms(wall));
    let kills = results.iter().map(|(_, sandbox)| sandbox.kill());
    futures::future::join_all(kills).await;
    println!();

    // --------------------------------------------------------- proxy overhead
    let sandbox = rust.sandbox().create().await.unwrap();
    let info = server.runtime().info(&SandboxId::parse(sandbox.sandbox_id()).unwrap()).await.unwrap();
    let direct = client(&api_url, &format!("http://{}", info.envd), &key);
    let direct_sandbox = direct.connect(sandbox.sandbox_id()).await.unwrap();
    let calls = 1000 * scale;
    let (mut routed, mut straight) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for i in 0..calls + 50 {
        let t = Instant::now();
        sandbox.files().get_info("/home/user").await.unwrap();
        let via_router = t.elapsed();
        let t = Instant::now();
        direct_sandbox.files().get_info("/home/user").await.unwrap();
        let to_envd = t.elapsed();
        if i >= 50 {
            routed.push(via_router);
            straight.push(to_envd);
        }
    }
    println!("proxy overhead per envd call (Stat, n = {calls}, interleaved)");
    line("straight to the sandbox's envd (baseline)", &straight, None);
    line("through the envd router", &routed, Some(quantile(&straight, 0.5)));
    let overhead = quantile(&routed, 0.5).saturating_sub(quantile(&straight, 0.5));
    let verdict = if overhead < Duration::from_micros(200) { "met" } else { "NOT met" };
    println!("  -> router overhead {:.3} ms (aim: under 0.2 ms): {verdict}", ms(overhead));
    sandbox.kill().await.unwrap();

    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

/// The official Python SDK's create + first command, timed inside one Python process.
fn python_create_to_first_result(
    api_url: &str,
    sandbox_url: &str,
    key: &str,
    n: usize,
) -> Result<Vec<Duration>, String> {
    const SCRIPT: &str = r#"
import json, os, sys, time
from e2b import Sandbox
n = int(sys.argv[1])
for _ in range(3):
    s = Sandbox.create(); s.commands.run("true"); s.kill()
samples = []
for _ in range(n):
    t = time.perf_counter()
    s = Sandbox.create()
    s.commands.run("true")
    samples.append(time.perf_counter() - t)
    s.kill()
print(json.dumps(samples), flush=True)
os._exit(0)
"#;
    let python: PathBuf = e2b_tests::interop::python_e2b().map_err(|e| e.to_string())?;
    let out = Command::new(&python)
        .args(["-c", SCRIPT, &n.to_string()])
        .env("E2B_API_URL", api_url)
        .env("E2B_SANDBOX_URL", sandbox_url)
        .env("E2B_API_KEY", key)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let seconds: Vec<f64> =
        serde_json::from_str(text.lines().last().unwrap_or_default()).map_err(|e| e.to_string())?;
    Ok(seconds.into_iter().map(Duration::from_secs_f64).collect())
}
