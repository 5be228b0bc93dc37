//! `cargo xtask bench connect`: e2b-connect over loopback, against the
//! official Connect implementation for Node measured in the same run.
//!
//! * unary JSON round trip (`process.Process/List`), HTTP/1.1: p50 / p99;
//!   ours = our client against our server, node = connect-node client against
//!   a connect-node server;
//! * server-streaming throughput with 64 KiB messages (binary): bytes/s;
//! * memory per idle pooled connection, client and server side together (ours: both in
//!   this process; node: a connect-node client process and server process).
//!
//! Numbers depend on the machine and its load; read the ratios.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2b_connect::Codec;
use e2b_connect::client::{Client, Request};
use e2b_proto::process::{
    ListRequest, ListResponse, ProcessConfig, StartRequest, StartResponse, process_methods,
};
use futures::StreamExt;
use prost::Message as _;

const UNARY_CALLS: usize = 20_000;
const STREAM_COUNT: usize = 16_384;
const STREAM_SIZE: usize = 64 * 1024;
const IDLE_CONNECTIONS: usize = 200;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

async fn rust_unary(url: &str) -> (Duration, Duration) {
    let client = Client::builder().build().unwrap();
    let call = || client.unary::<_, ListResponse>(url, process_methods::LIST, Request::new(ListRequest {}));
    for _ in 0..2000 {
        call().await.unwrap();
    }
    let mut latencies = Vec::with_capacity(UNARY_CALLS);
    for _ in 0..UNARY_CALLS {
        let t = Instant::now();
        call().await.unwrap();
        latencies.push(t.elapsed());
    }
    latencies.sort();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

async fn rust_stream(url: &str) -> f64 {
    let client = Client::builder().codec(Codec::Proto).build().unwrap();
    let request = StartRequest {
        process: Some(ProcessConfig {
            cmd: "stream".into(),
            args: vec![STREAM_COUNT.to_string(), STREAM_SIZE.to_string()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let t = Instant::now();
    let mut stream = client
        .server_streaming::<_, StartResponse>(url, process_methods::START, Request::new(request))
        .await
        .unwrap();
    let mut bytes = 0usize;
    while let Some(event) = stream.next().await {
        bytes += event.unwrap().encoded_len();
    }
    bytes as f64 / t.elapsed().as_secs_f64()
}

async fn idle_connection_memory(url: &str) -> f64 {
    let client = Client::builder().pool_max_idle_per_host(IDLE_CONNECTIONS * 2).build().unwrap();
    let before = rss_bytes();
    // Concurrent streams force one HTTP/1.1 connection each; when they end
    // the connections go back to the pool and stay idle.
    let calls = (0..IDLE_CONNECTIONS).map(|_| {
        let client = client.clone();
        let request = StartRequest {
            process: Some(ProcessConfig { cmd: "sleep".into(), ..Default::default() }),
            ..Default::default()
        };
        async move {
            let mut s = client
                .server_streaming::<_, StartResponse>(
                    url,
                    process_methods::START,
                    Request::new(request).timeout(Duration::from_millis(500)),
                )
                .await
                .unwrap();
            while s.next().await.is_some() {}
        }
    });
    futures::future::join_all(calls).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_bytes();
    (after.saturating_sub(before)) as f64 / IDLE_CONNECTIONS as f64
}

/// The connect-node peer installed, our scripts and descriptors beside it.
fn node_setup() -> Option<(std::path::PathBuf, String)> {
    let dir = e2b_tests::interop::node_packages(
        "connect-node",
        &["@connectrpc/connect@2.2.0", "@connectrpc/connect-node@2.2.0", "@bufbuild/protobuf@2.17.0"],
    )
    .ok()?;
    for (name, text) in [
        ("common.mjs", include_str!("../tests/node/common.mjs")),
        ("server.mjs", include_str!("../tests/node/server.mjs")),
        ("bench.mjs", include_str!("../tests/node/bench.mjs")),
    ] {
        std::fs::write(dir.join(name), text).ok()?;
    }
    let root = e2b_tests::reference::workspace_root();
    let fds = protox::compile(["process/process.proto", "filesystem/filesystem.proto"], [root.join("proto")])
        .ok()?;
    std::fs::write(dir.join("descriptors.bin"), fds.encode_to_vec()).ok()?;
    let descriptors = dir.join("descriptors.bin").display().to_string();
    Some((dir, descriptors))
}

/// A connect-node server (killed on drop) and its port.
struct NodeServer(std::process::Child, u16);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `node <script> <args>` in `dir` with stdin and stdout piped; returns the child
/// and the first line it printed.
fn spawn_node(dir: &std::path::Path, script: &str, args: &[String]) -> Option<(std::process::Child, String)> {
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut()?).read_line(&mut line).ok()?;
    Some((child, line))
}

fn node_server(dir: &std::path::Path, descriptors: &str) -> Option<NodeServer> {
    let (child, line) = spawn_node(dir, "server.mjs", &[descriptors.to_string(), "1.1".into()])?;
    // Killed on drop, also when it did not say its port.
    let mut server = NodeServer(child, 0);
    let port = serde_json::from_str::<serde_json::Value>(&line).ok()?["port"].as_u64()?;
    server.1 = u16::try_from(port).ok()?;
    Some(server)
}

fn node_baseline(dir: &std::path::Path, descriptors: &str) -> Option<serde_json::Value> {
    let server = node_server(dir, descriptors)?;
    let out = Command::new("node")
        .args([
            dir.join("bench.mjs").display().to_string(),
            format!("http://127.0.0.1:{}", server.1),
            descriptors.to_string(),
            UNARY_CALLS.to_string(),
            STREAM_COUNT.to_string(),
            STREAM_SIZE.to_string(),
        ])
        .current_dir(dir)
        .output()
        .ok();
    drop(server);
    serde_json::from_slice(&out?.stdout).ok()
}

/// Memory per idle pooled connection with connect-node on both sides: the client's own
/// growth plus the server process's, each a fresh process.
fn node_idle_memory(dir: &std::path::Path, descriptors: &str) -> Option<f64> {
    use std::io::Write as _;
    let server = node_server(dir, descriptors)?;
    let server_rss = |pid: u32| -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: u64 =
            status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    std::thread::sleep(Duration::from_millis(300));
    let before = server_rss(server.0.id())?;
    let args = [
        format!("http://127.0.0.1:{}", server.1),
        descriptors.to_string(),
        "idle".into(),
        IDLE_CONNECTIONS.to_string(),
    ];
    let (mut client, line) = spawn_node(dir, "bench.mjs", &args)?;
    let after = server_rss(server.0.id())?;
    let _ = client.stdin.take()?.write_all(b"");
    let _ = client.wait();
    let client_side =
        serde_json::from_str::<serde_json::Value>(&line).ok()?["client_bytes_per_connection"].as_f64()?;
    Some(client_side + after.saturating_sub(before) as f64 / IDLE_CONNECTIONS as f64)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (p50, p99, throughput, idle) = runtime.block_on(async {
        let server = common::serve().await;
        let url = server.url();
        let (p50, p99) = rust_unary(&url).await;
        let throughput = rust_stream(&url).await;
        let idle = idle_connection_memory(&url).await;
        (p50, p99, throughput, idle)
    });
    let setup = node_setup();
    let node = setup.as_ref().and_then(|(dir, descriptors)| node_baseline(dir, descriptors));
    let node_idle = setup.as_ref().and_then(|(dir, descriptors)| node_idle_memory(dir, descriptors));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "e2b-connect benchmark (loopback, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("unary JSON round trip, {UNARY_CALLS} calls, HTTP/1.1:");
    println!("  ours:  p50 {:8.1} µs   p99 {:8.1} µs", us(p50), us(p99));
    match &node {
        Some(n) => {
            let (np50, np99) =
                (n["p50_us"].as_f64().unwrap_or(f64::NAN), n["p99_us"].as_f64().unwrap_or(f64::NAN));
            println!("  node:  p50 {np50:8.1} µs   p99 {np99:8.1} µs");
            println!("  ratio ours/node: p50 {:.2}  p99 {:.2}", us(p50) / np50, us(p99) / np99);
        }
        None => println!("  node:  unavailable (npm install or node failed)"),
    }
    println!("server streaming, {STREAM_COUNT} x 64 KiB, binary:");
    println!("  ours:  {:8.2} GB/s", throughput / 1e9);
    if let Some(n) = &node {
        let nt = n["stream_bytes_per_s"].as_f64().unwrap_or(f64::NAN);
        println!("  node:  {:8.2} GB/s", nt / 1e9);
        println!("  ratio ours/node: {:.2}", throughput / nt);
    }
    println!("memory per idle pooled connection (client + server side, {IDLE_CONNECTIONS} connections):");
    println!("  ours:  {:8.1} KiB", idle / 1024.0);
    match node_idle {
        Some(n) => {
            println!("  node:  {:8.1} KiB", n / 1024.0);
            println!("  ratio ours/node: {:.2}", idle / n);
        }
        None => println!("  node:  unavailable"),
    }
}
