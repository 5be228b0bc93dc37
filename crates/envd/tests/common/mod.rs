//! Shared test harness: a real envd on a loopback port, gRPC clients, a
//! plain HTTP client, throw-away system users and process helpers.
//!
//! Every test starts its own envd (port 0), so tests run in parallel
//! without sharing state. The tests need root, as CI has: envd switches
//! users and the tests create users with `useradd`.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use e2b_proto::filesystem::filesystem_client::FilesystemClient;
use e2b_proto::process::process_client::ProcessClient;
use e2b_proto::process::process_event::{EndEvent, Event, data_event};
use e2b_proto::process::{ProcessConfig, StartRequest, StartResponse};
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// A running envd.
pub struct TestEnvd {
    pub addr: SocketAddr,
    pub envd: envd::Envd,
    task: JoinHandle<()>,
}

impl Drop for TestEnvd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestEnvd {
    /// Starts envd with `config` on a free loopback port.
    pub async fn start(config: envd::Config) -> Self {
        let config = config.bind([127, 0, 0, 1].into()).port(0);
        let envd = envd::Envd::new(config).expect("envd starts");
        let listener = envd.bind().await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = envd.clone();
        let task = tokio::spawn(async move {
            server.serve(listener).await.expect("serve");
        });
        TestEnvd { addr, envd, task }
    }

    /// envd with upstream defaults (default user root).
    pub async fn default() -> Self {
        Self::start(envd::Config::new()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn process(&self) -> ProcessClient<Channel> {
        ProcessClient::new(self.channel().await)
    }

    pub async fn fs(&self) -> FilesystemClient<Channel> {
        FilesystemClient::new(self.channel().await)
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url("")).unwrap().connect().await.expect("gRPC connect")
    }
}

/// `Authorization: Basic` for `user`.
pub fn basic(user: &str) -> tonic::metadata::MetadataValue<tonic::metadata::Ascii> {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))).parse().unwrap()
}

/// A request with extra metadata.
pub fn request<T>(message: T, metadata: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().unwrap());
    }
    request
}

/// A request acting as `user`.
pub fn as_user<T>(message: T, user: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", basic(user));
    request
}

/// `bash -l -c <script>`, as the SDKs run commands, with stdin off.
pub fn bash(script: &str) -> StartRequest {
    StartRequest {
        process: Some(ProcessConfig {
            cmd: "/bin/bash".into(),
            args: vec!["-l".into(), "-c".into(), script.into()],
            ..Default::default()
        }),
        stdin: Some(false),
        ..Default::default()
    }
}

/// What a process stream delivered.
#[derive(Debug, Default)]
pub struct Collected {
    /// Event kinds in arrival order: "start", "stdout", "stderr", "pty",
    /// "end", "keepalive".
    pub kinds: Vec<&'static str>,
    pub pid: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub pty: Vec<u8>,
    pub end: Option<EndEvent>,
    pub error: Option<tonic::Status>,
}

impl Collected {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Kinds without keepalives and with runs of data collapsed.
    pub fn shape(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for kind in self.kinds.iter().copied().filter(|k| *k != "keepalive") {
            if out.last() != Some(&kind) {
                out.push(kind);
            }
        }
        out
    }

    pub fn push(&mut self, event: Option<Event>) {
        match event {
            Some(Event::Start(start)) => {
                self.kinds.push("start");
                self.pid = Some(start.pid);
            }
            Some(Event::Data(data)) => match data.output {
                Some(data_event::Output::Stdout(b)) => {
                    self.kinds.push("stdout");
                    self.stdout.extend_from_slice(&b);
                }
                Some(data_event::Output::Stderr(b)) => {
                    self.kinds.push("stderr");
                    self.stderr.extend_from_slice(&b);
                }
                Some(data_event::Output::Pty(b)) => {
                    self.kinds.push("pty");
                    self.pty.extend_from_slice(&b);
                }
                None => self.kinds.push("empty-data"),
            },
            Some(Event::End(end)) => {
                self.kinds.push("end");
                self.end = Some(end);
            }
            Some(Event::Keepalive(_)) => self.kinds.push("keepalive"),
            None => self.kinds.push("empty"),
        }
    }
}

/// Reads a Start stream to its end (bounded by `limit`).
pub async fn collect(stream: tonic::Streaming<StartResponse>, limit: Duration) -> Collected {
    collect_events(stream.map(|r| r.map(|m| m.event.and_then(|e| e.event))), limit).await
}

pub async fn collect_events(
    stream: impl futures::Stream<Item = Result<Option<Event>, tonic::Status>>,
    limit: Duration,
) -> Collected {
    let mut out = Collected::default();
    let reading = async {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => out.push(event),
                Err(status) => {
                    out.error = Some(status);
                    break;
                }
            }
        }
    };
    tokio::time::timeout(limit, reading).await.expect("the stream ended in time");
    out
}

/// Runs `script` as `user` (default user when `None`) and collects it.
pub async fn run(envd: &TestEnvd, script: &str, user: Option<&str>) -> Collected {
    let mut client = envd.process().await;
    let request = match user {
        Some(user) => as_user(bash(script), user),
        None => tonic::Request::new(bash(script)),
    };
    let stream = client.start(request).await.expect("start").into_inner();
    collect(stream, Duration::from_secs(60)).await
}

/// Whether a process with `pid` exists (zombies count as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Polls `condition` until it holds (or panics after `limit`).
pub async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Zombie children of this test process.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(me) {
            out.push(pid);
        }
    }
    out
}

// ------------------------------------------------------------------ HTTP

pub type HttpClient = Client<HttpConnector, http_body_util::combinators::BoxBody<Bytes, std::io::Error>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A finished HTTP exchange.
#[derive(Debug)]
pub struct HttpReply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl HttpReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn full(body: impl Into<Bytes>) -> http_body_util::combinators::BoxBody<Bytes, std::io::Error> {
    Full::new(body.into()).map_err(|never| match never {}).boxed()
}

pub async fn send(
    request: http::Request<http_body_util::combinators::BoxBody<Bytes, std::io::Error>>,
) -> HttpReply {
    let response = http_client().request(request).await.expect("HTTP request");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("HTTP body").to_bytes();
    HttpReply { status: parts.status, headers: parts.headers, body }
}

pub async fn get(url: &str, headers: &[(&str, &str)]) -> HttpReply {
    let mut builder = http::Request::get(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(builder.body(full(Bytes::new())).unwrap()).await
}

pub async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> HttpReply {
    let mut builder = http::Request::post(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(builder.body(full(body)).unwrap()).await
}

/// A multipart/form-data body with `file` parts `(filename, content)`.
pub fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "envd-test-boundary-5f0c";
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Percent-encodes a query value with nothing kept safe (as the SDKs do).
pub fn q(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

// ----------------------------------------------------------------- users

/// A system user created for one test (with a home directory and a
/// supplementary group), removed on drop.
pub struct TestUser {
    pub name: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub home: std::path::PathBuf,
}

fn run_tool(program: &str, args: &[&str]) {
    // useradd and friends lock /etc/passwd; parallel tests retry.
    for attempt in 0..50 {
        let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        if out.status.success() {
            return;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if attempt < 49 && (stderr.contains("lock") || out.status.code() == Some(10)) {
            std::thread::sleep(Duration::from_millis(50 + attempt * 10));
            continue;
        }
        panic!("{program} {args:?} failed: {stderr}");
    }
}

impl TestUser {
    pub fn create() -> Self {
        let suffix: u32 = rand_u32();
        let name = format!("envdt{suffix:08x}");
        let group = format!("envdg{suffix:08x}");
        run_tool("groupadd", &[&group]);
        run_tool("useradd", &["-m", "-s", "/bin/bash", "-G", &group, &name]);
        let user = nix::unistd::User::from_name(&name).unwrap().expect("user exists");
        TestUser { uid: user.uid.as_raw(), gid: user.gid.as_raw(), home: user.dir, name, group }
    }

    pub fn supplementary_gid(&self) -> u32 {
        nix::unistd::Group::from_name(&self.group).unwrap().unwrap().gid.as_raw()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // `-f`: remove even if a test left one of its processes behind.
        run_tool("userdel", &["-r", "-f", &self.name]);
        let _ = Command::new("groupdel").arg(&self.group).status();
    }
}

pub fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}
