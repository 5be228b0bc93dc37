//! envd benchmark (not a test): `cargo xtask bench envd`.
//!
//! Every number is printed next to a baseline measured in the same run on
//! the same machine, so the ratios stay meaningful on a shared, noisy host:
//!
//! * `commands.run("true")` round trip (Connect JSON over HTTP/1.1, as the
//!   SDKs) vs the host's own fork+exec of `/bin/true`; also the same Start
//!   of `/bin/true` without the login shell, and the login shell on the host;
//! * 100 MiB upload and download through `/files` vs `cp` of the same file
//!   on the same disk;
//! * stdout streaming throughput (JSON, as the SDKs, and binary) vs reading
//!   the same command's stdout pipe directly;
//! * idle RSS of the `envd` binary vs a `sleep` process.
//!
//! Optional argument: a scale factor for iteration counts (default 1).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2b_connect::Codec;
use e2b_connect::client::{Client, Request};
use e2b_proto::process::process_event::{Event, data_event};
use e2b_proto::process::{ProcessConfig, StartRequest, StartResponse, process_methods};
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn start_request(cmd: &str, args: &[&str]) -> Request<StartRequest> {
    Request::new(StartRequest {
        process: Some(ProcessConfig {
            cmd: cmd.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    })
}

/// Runs one Start to its end; returns stdout bytes seen.
async fn run_to_end(client: &Client, base: &str, request: Request<StartRequest>) -> u64 {
    let mut stream = client
        .server_streaming::<_, StartResponse>(base, process_methods::START, request)
        .await
        .expect("start");
    let mut bytes = 0u64;
    let mut ended = false;
    while let Some(message) = stream.next().await {
        match message.expect("stream").event.and_then(|e| e.event) {
            Some(Event::Data(d)) => {
                if let Some(data_event::Output::Stdout(b)) = d.output {
                    bytes += b.len() as u64;
                }
            }
            Some(Event::End(_)) => ended = true,
            _ => {}
        }
    }
    assert!(ended, "the command ended");
    bytes
}

fn time_host<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let scale: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(bench(scale));
}

async fn bench(scale: usize) {
    let envd = envd::Envd::new(envd::Config::new().bind([127, 0, 0, 1].into()).port(0)).unwrap();
    let listener = envd.bind().await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = envd.clone();
    tokio::spawn(async move { server.serve(listener).await });
    let base = format!("http://{addr}");
    let json = Client::builder().build().unwrap();
    let proto = Client::builder().codec(Codec::Proto).build().unwrap();

    println!(
        "envd benchmark (release build, {} CPUs, shared host: compare ratios, not absolutes)\n",
        num_cpus()
    );

    // ---------------------------------------------------------- round trip
    let n = 60 * scale;
    for _ in 0..5 {
        run_to_end(&json, &base, start_request("/bin/bash", &["-l", "-c", "true"])).await;
    }
    let host_true = median(time_host(n, || {
        Command::new("/bin/true").status().unwrap();
    }));
    let host_bash = median(time_host(n, || {
        Command::new("/bin/bash").args(["-l", "-c", "true"]).status().unwrap();
    }));
    let mut run_true = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        run_to_end(&json, &base, start_request("/bin/bash", &["-l", "-c", "true"])).await;
        run_true.push(t.elapsed());
    }
    let mut direct_true = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        run_to_end(&json, &base, start_request("/bin/true", &[])).await;
        direct_true.push(t.elapsed());
    }
    let (run_med, run_p99, direct_med) = (median(run_true.clone()), p99(run_true), median(direct_true));
    println!("round trip (median of {n})");
    println!("  host fork+exec /bin/true            {:8.3} ms   (baseline)", ms(host_true));
    println!("  host bash -l -c true                {:8.3} ms", ms(host_bash));
    println!(
        "  envd Start /bin/true                {:8.3} ms   ({:+.3} ms vs baseline)",
        ms(direct_med),
        ms(direct_med) - ms(host_true)
    );
    println!(
        "  envd commands.run(\"true\")           {:8.3} ms   ({:+.3} ms vs baseline, {:.1}x; p99 {:.3} ms)",
        ms(run_med),
        ms(run_med) - ms(host_true),
        run_med.as_secs_f64() / host_true.as_secs_f64(),
        ms(run_p99)
    );
    println!(
        "    of which the login shell (host bash -l -c true minus /bin/true): {:.3} ms; envd's part {:+.3} ms",
        ms(host_bash) - ms(host_true),
        ms(run_med) - ms(host_bash)
    );
    println!(
        "  -> envd's own overhead per command: {:.3} ms (aim: within 2 ms of the host)\n",
        ms(direct_med) - ms(host_true)
    );

    // ------------------------------------------------------- file transfer
    let dir =
        tempfile::tempdir_in(std::env::var("CARGO_TARGET_TMPDIR").unwrap_or_else(|_| "/var/tmp".into()))
            .unwrap_or_else(|_| tempfile::tempdir_in("/var/tmp").unwrap());
    let size: u64 = 100 << 20;
    let src = dir.path().join("src.bin");
    {
        let mut f = std::fs::File::create(&src).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..(size >> 20) {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
        f.sync_all().unwrap();
    }
    let reps = 5 * scale;
    let dst = dir.path().join("dst.bin");
    let cp = median(time_host(reps, || {
        let _ = std::fs::remove_file(&dst);
        assert!(Command::new("cp").arg(&src).arg(&dst).status().unwrap().success());
    }));
    let http: HttpClient<_, http_body_util::combinators::BoxBody<Bytes, std::io::Error>> =
        HttpClient::builder(TokioExecutor::new()).build_http();
    let up_path = dir.path().join("uploaded.bin");
    let mut uploads = Vec::new();
    for _ in 0..reps {
        let _ = std::fs::remove_file(&up_path);
        // The client reads the file on a thread of its own in 1 MiB pieces: a client as
        // cheap as can be, so that the number is envd's (the two share two cores).
        let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
        let source = src.clone();
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut file = std::fs::File::open(source).unwrap();
            loop {
                let mut chunk = vec![0u8; 1 << 20];
                match file.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        chunk.truncate(n);
                        if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = sender.blocking_send(Err(e));
                        break;
                    }
                }
            }
        });
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk.map(http_body::Frame::data), receiver))
        });
        let request = http::Request::post(format!("{base}/files?path={}", up_path.display()))
            .header("content-type", "application/octet-stream")
            .header("content-length", size)
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .unwrap();
        let t = Instant::now();
        let response = http.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
        uploads.push(t.elapsed());
    }
    assert_eq!(std::fs::metadata(&up_path).unwrap().len(), size);
    let upload = median(uploads);
    let download = |encoding: &'static str| {
        let http = http.clone();
        let url = format!("{base}/files?path={}", src.display());
        async move {
            let mut samples = Vec::new();
            for _ in 0..reps {
                let request = http::Request::get(&url)
                    .header("accept-encoding", encoding)
                    .body(Full::new(Bytes::new()).map_err(|never| match never {}).boxed())
                    .unwrap();
                let t = Instant::now();
                let response = http.request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                let mut body = response.into_body();
                let mut received = 0u64;
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.unwrap().into_data() {
                        received += data.len() as u64;
                    }
                }
                assert!(received > 0);
                samples.push(t.elapsed());
            }
            median(samples)
        }
    };
    let download_identity = download("identity").await;
    let download_gzip = download("gzip").await;
    println!("100 MiB transfer (median of {reps}; random data)");
    println!("  cp on the same disk                 {:8.1} MB/s   (baseline)", mbps(size, cp));
    println!(
        "  POST /files (octet-stream)          {:8.1} MB/s   ({:.2}x cp)",
        mbps(size, upload),
        cp.as_secs_f64() / upload.as_secs_f64()
    );
    println!(
        "  GET /files (identity)               {:8.1} MB/s   ({:.2}x cp)",
        mbps(size, download_identity),
        cp.as_secs_f64() / download_identity.as_secs_f64()
    );
    println!(
        "  GET /files (gzip, as SDKs ask)      {:8.1} MB/s   ({:.2}x cp; incompressible data)",
        mbps(size, download_gzip),
        cp.as_secs_f64() / download_gzip.as_secs_f64()
    );
    println!("  -> aim: at least 0.5x cp\n");

    // ----------------------------------------------------- stdout streaming
    let stream_bytes: u64 = 512 << 20;
    let command = format!("head -c {stream_bytes} /dev/zero");
    let direct = median(time_host(3, || {
        let mut child =
            Command::new("/bin/sh").args(["-c", &command]).stdout(Stdio::piped()).spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let n = std::io::copy(&mut out, &mut std::io::sink()).unwrap();
        assert_eq!(n, stream_bytes);
        child.wait().unwrap();
    }));
    let mut stream_json = Vec::new();
    let mut stream_proto = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(run_to_end(&json, &base, start_request("/bin/sh", &["-c", &command])).await, stream_bytes);
        stream_json.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(
            run_to_end(&proto, &base, start_request("/bin/sh", &["-c", &command])).await,
            stream_bytes
        );
        stream_proto.push(t.elapsed());
    }
    let (sj, sp) = (median(stream_json), median(stream_proto));
    println!("stdout streaming, 512 MiB (median of 3)");
    println!("  host pipe read                      {:8.1} MB/s   (baseline)", mbps(stream_bytes, direct));
    println!(
        "  envd Start, Connect JSON (SDKs)     {:8.1} MB/s   ({:.2}x baseline)",
        mbps(stream_bytes, sj),
        direct.as_secs_f64() / sj.as_secs_f64()
    );
    println!(
        "  envd Start, Connect binary          {:8.1} MB/s   ({:.2}x baseline)",
        mbps(stream_bytes, sp),
        direct.as_secs_f64() / sp.as_secs_f64()
    );
    println!("  -> aim: over 200 MB/s\n");

    // ------------------------------------------------------------ idle RSS
    let rss = idle_rss();
    let mut sleep = Command::new("sleep").arg("30").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let sleep_rss = rss_kib(sleep.id());
    let _ = sleep.kill();
    let _ = sleep.wait();
    println!("idle RSS");
    println!("  sleep(1)                            {:8.1} MiB   (baseline)", sleep_rss as f64 / 1024.0);
    println!("  envd binary, after one request      {:8.1} MiB   (aim: under 10 MiB)", rss as f64 / 1024.0);
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Starts the release `envd` binary, makes one request, waits, reads RSS.
fn idle_rss() -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_envd"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--log", "info"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("envd logs its address").unwrap();
        if let Some(addr) = line.split_whitespace().find_map(|w| w.strip_prefix("addr=")) {
            break addr.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut socket = std::net::TcpStream::connect(&addr).unwrap();
    socket.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut socket, &mut reply);
    assert!(reply.starts_with("HTTP/1.1 204"), "{reply}");
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    rss
}
