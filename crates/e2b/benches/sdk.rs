//! `cargo xtask bench sdk`: the Rust SDK against the official Python SDK
//! (`e2b==2.45.1`), both talking to the same server in the same run.
//!
//! Measured, for each SDK:
//! * `commands.run("true")` round trip: p50 / p99;
//! * `files.write` + `files.read` of 1 KiB: p50 / p99 of the pair;
//! * `files.write` + `files.read` of 100 MiB: throughput;
//! * streaming 100 MiB of stdout from a command: throughput.
//!
//! The server is a lean stand-in for E2B (control plane, `/files`, and
//! envd's `process.Process/Start` as Connect JSON frames encoded once) that
//! serves downloads from memory, drains uploads and replays command output,
//! so that the numbers are the SDKs' costs, not a sandbox's. It runs on its own threads; the
//! Python SDK runs in its own process. Once envd lands, point both SDKs at
//! it instead (`E2B_SANDBOX_URL`). Numbers depend on the machine and its
//! load: read the ratios.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use e2b_proto::process::process_methods;
use futures::StreamExt as _;
use serde_json::{Value, json};

const SMALL: usize = 1024;
const LARGE: usize = 100 << 20;
const RUN_ITERATIONS: usize = 300;
const SMALL_ITERATIONS: usize = 300;
const LARGE_ITERATIONS: usize = 3;
const CHUNK: usize = 32 * 1024;
const API_KEY: &str = "e2b_00000000000000000000000000000000";

/// One Connect envelope around a JSON message.
fn envelope(flags: u8, message: &Value) -> Bytes {
    let json = serde_json::to_vec(message).unwrap();
    let mut frame = Vec::with_capacity(5 + json.len());
    frame.push(flags);
    frame.extend_from_slice(&u32::try_from(json.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&json);
    Bytes::from(frame)
}

/// `process.Process/Start`: `true` ends at once; `stream N` first writes N
/// bytes of stdout in envd-sized chunks. The frames are encoded once and
/// reused, as cheap for the server as Connect allows.
async fn start(request: Request) -> Response {
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
    let message: Value = serde_json::from_slice(body.get(5..).unwrap_or_default()).unwrap_or(Value::Null);
    let command = message.pointer("/process/args/2").and_then(Value::as_str).unwrap_or_default();
    let total: usize = command.strip_prefix("stream ").and_then(|n| n.parse().ok()).unwrap_or(0);
    let data = |size: usize| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; size]);
        envelope(0, &json!({"event": {"data": {"stdout": encoded}}}))
    };
    let full = data(CHUNK);
    let mut frames = vec![envelope(0, &json!({"event": {"start": {"pid": 1}}}))];
    frames.extend((0..total / CHUNK).map(|_| full.clone()));
    if !total.is_multiple_of(CHUNK) {
        frames.push(data(total % CHUNK));
    }
    frames.push(envelope(0, &json!({"event": {"end": {"exited": true, "status": "exit status 0"}}})));
    frames.push(envelope(2, &json!({})));
    // A short answer goes out in one write, as a server that buffers would.
    let body = if total == 0 {
        Body::from(frames.concat())
    } else {
        Body::from_stream(futures::stream::iter(frames.into_iter().map(Ok::<_, std::convert::Infallible>)))
    };
    let mut response = Response::new(body);
    response.headers_mut().insert("content-type", "application/connect+json".parse().unwrap());
    response
}

fn json_response(status: u16, value: &Value) -> Response {
    let mut response = Response::new(Body::from(serde_json::to_vec(value).unwrap()));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response
}

async fn serve(content: Bytes, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == process_methods::START {
        return start(request).await;
    }
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    match (request.method().as_str(), path.as_str()) {
        ("POST", "/sandboxes") => json_response(
            201,
            &json!({"templateID": "base", "sandboxID": "benchsandbox0000000001", "clientID": "6532622b",
                    "envdVersion": "0.6.13", "trafficAccessToken": null, "domain": null}),
        ),
        // Downloads come from memory prepared up front and uploads are
        // drained, not stored, so that the server costs both SDKs as little
        // as possible and the ratios show the SDKs.
        ("GET", "/files") => match query.get("path").map(String::as_str) {
            Some("/bench/small") => Response::new(Body::from(content.slice(..SMALL))),
            Some("/bench/large") => Response::new(Body::from(content)),
            _ => json_response(404, &json!({"code": 404, "message": "not found"})),
        },
        ("POST", "/files") => {
            let mut body = request.into_body().into_data_stream();
            while let Some(chunk) = body.next().await {
                if chunk.is_err() {
                    return json_response(400, &json!({"code": 400, "message": "broken upload"}));
                }
            }
            let path = query.get("path").cloned().unwrap_or_default();
            json_response(200, &json!([{"path": path, "name": path, "type": "file"}]))
        }
        _ => json_response(404, &json!({"code": 404, "message": format!("no route {path}")})),
    }
}

/// Starts the server on its own runtime thread; returns its URL.
fn start_server() -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
            let content = Bytes::from(vec![b'd'; LARGE]);
            let app = axum::Router::new().fallback(move |request: Request| serve(content.clone(), request));
            axum::serve(listener, app).await.unwrap();
        });
    });
    receiver.recv().unwrap()
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

async fn rust_numbers(url: &str) -> Numbers {
    let config = e2b::ConnectionConfig::builder()
        .environment::<_, &str, &str>([])
        .api_key(API_KEY)
        .api_url(url)
        .sandbox_url(url)
        .build()
        .unwrap();
    let sandbox = e2b::Client::new(config).sandbox().secure(false).create().await.unwrap();
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
        files.write("/bench/small", small.clone()).await.unwrap();
        let read = files.read("/bench/small").bytes().await.unwrap();
        pair.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(read.len(), SMALL);
    }
    let large = Bytes::from(vec![b'l'; LARGE]);
    let started = Instant::now();
    for _ in 0..LARGE_ITERATIONS {
        files.write("/bench/large", large.clone()).await.unwrap();
        let read = files.read("/bench/large").bytes().await.unwrap();
        assert_eq!(read.len(), LARGE);
    }
    let large_mib_s =
        (2 * LARGE_ITERATIONS * LARGE) as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..LARGE_ITERATIONS {
        let result = commands.run(format!("stream {LARGE}")).timeout(Duration::ZERO).await.unwrap();
        assert_eq!(result.stdout.len(), LARGE);
    }
    let stream_mib_s = (LARGE_ITERATIONS * LARGE) as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64();
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

SMALL, LARGE = int(os.environ["SMALL"]), int(os.environ["LARGE"])
RUNS, SMALLS, LARGES = int(os.environ["RUNS"]), int(os.environ["SMALLS"]), int(os.environ["LARGES"])
sbx = Sandbox.create(secure=False)
for _ in range(20):
    sbx.commands.run("true")
run = []
for _ in range(RUNS):
    t = time.perf_counter(); sbx.commands.run("true"); run.append((time.perf_counter() - t) * 1e3)
small = b"s" * SMALL
pair = []
for _ in range(SMALLS):
    t = time.perf_counter()
    sbx.files.write("/bench/small", small)
    assert len(sbx.files.read("/bench/small", format="bytes")) == SMALL
    pair.append((time.perf_counter() - t) * 1e3)
large = b"l" * LARGE
t = time.perf_counter()
for _ in range(LARGES):
    sbx.files.write("/bench/large", large)
    assert len(sbx.files.read("/bench/large", format="bytes")) == LARGE
large_rate = 2 * LARGES * LARGE / 2**20 / (time.perf_counter() - t)
t = time.perf_counter()
for _ in range(LARGES):
    assert len(sbx.commands.run(f"stream {LARGE}", timeout=0).stdout) == LARGE
stream_rate = LARGES * LARGE / 2**20 / (time.perf_counter() - t)
print(json.dumps({"run_p50": pct(run, .5), "run_p99": pct(run, .99), "small_p50": pct(pair, .5),
                  "small_p99": pct(pair, .99), "large_mib_s": large_rate, "stream_mib_s": stream_rate}))
"#;

fn python_numbers(url: &str) -> Numbers {
    let python = e2b_tests::interop::python_e2b().expect("installing the official Python SDK");
    let sizes = [SMALL.to_string(), LARGE.to_string()];
    let counts = [RUN_ITERATIONS.to_string(), SMALL_ITERATIONS.to_string(), LARGE_ITERATIONS.to_string()];
    let output = e2b_tests::interop::run_python(
        &python,
        PYTHON,
        &[
            ("E2B_API_URL", url),
            ("E2B_SANDBOX_URL", url),
            ("E2B_API_KEY", API_KEY),
            ("NO_PROXY", "*"),
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
    let url = start_server();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let rust = runtime.block_on(rust_numbers(&url));
    let python = python_numbers(&url);

    println!("e2b SDK benchmark: Rust vs the official Python SDK (e2b==2.45.1), same server, same run");
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
