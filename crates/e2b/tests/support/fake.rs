//! A test double of E2B on one port: the control plane (stateful, answering
//! with the status codes of PROTOCOL.md 3.3) and, for requests carrying
//! `E2b-Sandbox-Id`, envd's `/health` and `/files` (until the real envd
//! exists). Every request is checked against `openapi/api.yml` or
//! `openapi/envd.yml` and recorded; every answer of the control plane is
//! checked against the document too. Violations are collected, not hidden:
//! tests assert there are none.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderMap, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::openapi::Spec;

/// The API key the double accepts.
pub const API_KEY: &str = "e2b_0123456789abcdef0123456789abcdef";

/// A request as it arrived.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The step marker in force when it arrived.
    pub step: String,
    pub method: String,
    /// The raw path, still percent-encoded.
    pub path: String,
    /// Decoded query pairs in arrival order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct FakeSandbox {
    pub template: String,
    pub metadata: BTreeMap<String, String>,
    pub env_vars: BTreeMap<String, String>,
    pub token: Option<String>,
    pub paused: bool,
    pub started_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub body: Value,
}

pub struct FakeSnapshot {
    pub id: String,
    pub names: Vec<String>,
    pub sandbox_id: String,
}

pub struct StoredFile {
    pub data: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
}

pub struct State {
    pub envd_version: String,
    pub domain: Option<String>,
    pub sandboxes: BTreeMap<String, FakeSandbox>,
    pub snapshots: Vec<FakeSnapshot>,
    pub files: BTreeMap<(String, String), StoredFile>,
    counter: u32,
    faults: Vec<(String, u16, String)>,
    step: String,
    pub requests: Vec<Recorded>,
    pub violations: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    api: Spec,
    envd: Spec,
    /// envd's RPCs, as the test scripts them.
    rpc: Mutex<e2b_connect::server::ConnectRouter>,
}

/// The running double.
pub struct Fake {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fake {
    pub async fn start() -> Fake {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                envd_version: "0.6.13".into(),
                domain: None,
                sandboxes: BTreeMap::new(),
                snapshots: Vec::new(),
                files: BTreeMap::new(),
                counter: 0,
                faults: Vec::new(),
                step: String::new(),
                requests: Vec::new(),
                violations: Vec::new(),
            }),
            api: Spec::load("api.yml"),
            envd: Spec::load("envd.yml"),
            rpc: Mutex::new(e2b_connect::server::ConnectRouter::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { url, shared, server }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    /// Serves envd's RPCs with `router` (for requests carrying
    /// `E2b-Sandbox-Id`, after the proxy's routing and token checks).
    pub fn serve_rpc(&self, router: e2b_connect::server::ConnectRouter) {
        *self.shared.rpc.lock().unwrap() = router;
    }

    /// The next call of `operation` answers `status` with `body` instead.
    pub fn fail_next(&self, operation: &str, status: u16, body: &str) {
        self.state().faults.push((operation.into(), status, body.into()));
    }

    /// Recorded requests, optionally only those of one step.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state().requests)
    }

    /// Panics with every recorded violation.
    pub fn assert_no_violations(&self) {
        let violations = self.state().violations.clone();
        assert!(
            violations.is_empty(),
            "requests or answers broke the OpenAPI contract:\n{}",
            violations.join("\n")
        );
    }

    /// A client configured for this double.
    pub fn config(&self) -> e2b::ConnectionConfig {
        e2b::ConnectionConfig::builder()
            .environment::<_, &str, &str>([])
            .api_key(API_KEY)
            .api_url(&self.url)
            .sandbox_url(&self.url)
            .connection_retries(2)
            .build()
            .unwrap()
    }

    pub fn client(&self) -> e2b::Client {
        e2b::Client::new(self.config())
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(serde_json::to_vec(body).unwrap()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response
}

fn empty_response(status: u16) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
}

fn error(status: u16, message: &str) -> (u16, Value) {
    (status, json!({"code": status, "message": message}))
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 30).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let method = parts.method.as_str().to_owned();

    if let Some(step) = path.strip_prefix("/__step/") {
        shared.state.lock().unwrap().step = step.to_owned();
        return empty_response(204);
    }

    let routed_rpc = {
        let mut state = shared.state.lock().unwrap();
        let step = state.step.clone();
        state.requests.push(Recorded {
            step,
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
        match parts.headers.get("e2b-sandbox-id").and_then(|v| v.to_str().ok()).map(str::to_owned) {
            Some(sandbox_id)
                if path.starts_with("/process.Process/") || path.starts_with("/filesystem.Filesystem/") =>
            {
                if let Some(refusal) = proxy_refusal(&state, &sandbox_id, &parts.headers) {
                    return refusal;
                }
                true
            }
            Some(sandbox_id) => {
                return envd(&shared, &mut state, &method, &path, &query, &parts.headers, &body, &sandbox_id);
            }
            None => false,
        }
    };
    if routed_rpc {
        let router = shared.rpc.lock().unwrap().clone();
        let request = http::Request::from_parts(parts, http_body_util::Full::new(body));
        return router.handle(request).await.map(Body::new);
    }

    let mut state = shared.state.lock().unwrap();
    let Some(operation) = shared.api.find(&method, &path) else {
        state.violations.push(format!("{method} {path}: no such operation in api.yml"));
        return json_response(404, &json!({"code": 404, "message": "no such operation"}));
    };
    let problems = shared.api.check_request(&operation, &query, &parts.headers, &body);
    state.violations.extend(problems);
    if parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return json_response(401, &json!({"code": 401, "message": "Invalid API key"}));
    }
    if let Some(index) = state.faults.iter().position(|(op, _, _)| *op == operation.id) {
        let (_, status, body) = state.faults.remove(index);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        return response;
    }
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer, headers) =
        control_plane(&mut state, &operation.id, &operation.path_params, &query, &json_body);
    let answer_bytes = match &answer {
        Some(value) => serde_json::to_vec(value).unwrap(),
        None => Vec::new(),
    };
    // The SDK maps 404 on delete to `false`; PROTOCOL.md 3.3 documents it
    // although the API document does not declare it.
    if !(operation.id == "delete_template" && status == 404) {
        let problems = shared.api.check_response(&operation, status, &answer_bytes);
        state.violations.extend(problems.into_iter().map(|p| format!("the double itself: {p}")));
    }
    let mut response = match answer {
        Some(value) => json_response(status, &value),
        None => empty_response(status),
    };
    for (name, value) in headers {
        response.headers_mut().insert(http::HeaderName::from_static(name), value.parse().unwrap());
    }
    response
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn sandbox_json(state: &State, id: &str, sandbox: &FakeSandbox) -> Value {
    let mut value = json!({
        "templateID": sandbox.template,
        "sandboxID": id,
        "clientID": "6532622b",
        "envdVersion": state.envd_version,
        "trafficAccessToken": null,
        "domain": state.domain,
    });
    if let Some(token) = &sandbox.token {
        value["envdAccessToken"] = json!(token);
    }
    value
}

fn detail_json(state: &State, id: &str, sandbox: &FakeSandbox, listed: bool) -> Value {
    let mut value = json!({
        "templateID": sandbox.template,
        "sandboxID": id,
        "clientID": "6532622b",
        "startedAt": rfc3339(sandbox.started_at),
        "endAt": rfc3339(sandbox.end_at),
        "cpuCount": 2,
        "memoryMB": 512,
        "diskSizeMB": 1024,
        "state": if sandbox.paused { "paused" } else { "running" },
        "envdVersion": state.envd_version,
        "metadata": sandbox.metadata,
    });
    if !listed {
        let object = value.as_object_mut().unwrap();
        if let Some(token) = &sandbox.token {
            object.insert("envdAccessToken".into(), json!(token));
        }
        object.insert(
            "allowInternetAccess".into(),
            sandbox.body.get("allow_internet_access").cloned().unwrap_or(json!(true)),
        );
        object.insert("domain".into(), json!(state.domain));
        if let Some(network) = sandbox.body.get("network") {
            object.insert("network".into(), network.clone());
        }
        let auto_pause = sandbox.body.get("autoPause").and_then(Value::as_bool).unwrap_or(false);
        let auto_resume =
            sandbox.body.pointer("/autoResume/enabled").and_then(Value::as_bool).unwrap_or(false);
        object.insert(
            "lifecycle".into(),
            json!({"autoResume": auto_resume, "onTimeout": if auto_pause { "pause" } else { "kill" }}),
        );
    }
    value
}

type Answer = (u16, Option<Value>, Vec<(&'static str, String)>);

fn control_plane(
    state: &mut State,
    operation: &str,
    params: &HashMap<String, String>,
    query: &[(String, String)],
    body: &Value,
) -> Answer {
    let now = Utc::now();
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let id = params.get("sandboxID").cloned().unwrap_or_default();
    let plain = |(status, value): (u16, Value)| (status, Some(value), Vec::new());
    let not_found = || plain(error(404, &format!("sandbox {id} not found")));
    match operation {
        "create_sandbox" => {
            state.counter += 1;
            let new_id = format!("sbx{:017}", state.counter);
            let secure = body.get("secure").and_then(Value::as_bool).unwrap_or(false);
            let timeout = body.get("timeout").and_then(Value::as_i64).unwrap_or(15);
            let strings = |key: &str| -> BTreeMap<String, String> {
                body.get(key)
                    .and_then(Value::as_object)
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let sandbox = FakeSandbox {
                template: body.get("templateID").and_then(Value::as_str).unwrap_or("base").to_owned(),
                metadata: strings("metadata"),
                env_vars: strings("envVars"),
                token: secure.then(|| {
                    format!("{:064x}", u128::from(state.counter).wrapping_mul(0x9e37_79b9_7f4a_7c15))
                }),
                paused: false,
                started_at: now,
                end_at: now + chrono::Duration::seconds(timeout),
                body: body.clone(),
            };
            let answer = sandbox_json(state, &new_id, &sandbox);
            state.sandboxes.insert(new_id, sandbox);
            (201, Some(answer), Vec::new())
        }
        "connect_sandbox" => {
            let timeout = body.get("timeout").and_then(Value::as_i64).unwrap_or(300);
            let Some(sandbox) = state.sandboxes.get_mut(&id) else { return not_found() };
            let until = now + chrono::Duration::seconds(timeout);
            let status = if sandbox.paused {
                sandbox.paused = false;
                sandbox.end_at = until;
                201
            } else {
                sandbox.end_at = sandbox.end_at.max(until);
                200
            };
            let sandbox = &state.sandboxes[&id];
            (status, Some(sandbox_json(state, &id, sandbox)), Vec::new())
        }
        "fork_sandbox" => {
            let Some(parent) = state.sandboxes.get(&id).cloned() else { return not_found() };
            let timeout = body.get("timeout").and_then(Value::as_i64).unwrap_or(15);
            let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
            let mut results = Vec::new();
            for _ in 0..count {
                state.counter += 1;
                let new_id = format!("sbx{:017}", state.counter);
                let sandbox = FakeSandbox {
                    token: parent.token.as_ref().map(|_| {
                        format!("{:064x}", u128::from(state.counter).wrapping_mul(0x9e37_79b9_7f4a_7c15))
                    }),
                    paused: false,
                    started_at: now,
                    end_at: now + chrono::Duration::seconds(timeout),
                    ..parent.clone()
                };
                results.push(json!({"sandbox": sandbox_json(state, &new_id, &sandbox)}));
                state.sandboxes.insert(new_id, sandbox);
            }
            (201, Some(Value::Array(results)), Vec::new())
        }
        "update_sandbox_network" => match state.sandboxes.get_mut(&id) {
            Some(sandbox) => {
                sandbox.body["network"] = body.clone();
                (204, None, Vec::new())
            }
            None => not_found(),
        },
        "kill_sandbox" => match state.sandboxes.remove(&id) {
            Some(_) => (204, None, Vec::new()),
            None => not_found(),
        },
        "set_sandbox_timeout" => {
            let timeout = body.get("timeout").and_then(Value::as_i64).unwrap_or(0);
            match state.sandboxes.get_mut(&id) {
                Some(sandbox) => {
                    sandbox.end_at = now + chrono::Duration::seconds(timeout);
                    (204, None, Vec::new())
                }
                None => not_found(),
            }
        }
        "get_sandbox" => match state.sandboxes.get(&id) {
            Some(sandbox) => (200, Some(detail_json(state, &id, sandbox, false)), Vec::new()),
            None => not_found(),
        },
        "get_sandbox_metrics" => {
            if !state.sandboxes.contains_key(&id) {
                return not_found();
            }
            let start = q("start").and_then(|s| s.parse::<i64>().ok()).unwrap_or(i64::MIN);
            let end = q("end").and_then(|s| s.parse::<i64>().ok()).unwrap_or(i64::MAX);
            let samples: Vec<Value> = [10, 5]
                .iter()
                .map(|ago| now - chrono::Duration::seconds(*ago))
                .filter(|t| (start..=end).contains(&t.timestamp()))
                .map(|t| {
                    json!({"timestamp": rfc3339(t), "timestampUnix": t.timestamp(), "cpuCount": 2, "cpuUsedPct": 12.5,
                           "memUsed": 100_000_000, "memTotal": 536_870_912, "memCache": 1_000_000,
                           "diskUsed": 200_000_000, "diskTotal": 1_073_741_824})
                })
                .collect();
            (200, Some(Value::Array(samples)), Vec::new())
        }
        "pause_sandbox" => match state.sandboxes.get_mut(&id) {
            Some(sandbox) if sandbox.paused => plain(error(409, "sandbox is already paused")),
            Some(sandbox) => {
                sandbox.paused = true;
                (204, None, Vec::new())
            }
            None => not_found(),
        },
        "create_snapshot" => {
            if !state.sandboxes.contains_key(&id) {
                return not_found();
            }
            state.counter += 1;
            let name = body.get("name").and_then(Value::as_str).map(str::to_owned);
            let snapshot = FakeSnapshot {
                id: match &name {
                    Some(name) => format!("team/{name}:default"),
                    None => format!("snap{:016}:default", state.counter),
                },
                names: name.into_iter().collect(),
                sandbox_id: id.clone(),
            };
            let answer = json!({"snapshotID": snapshot.id, "names": snapshot.names});
            state.snapshots.push(snapshot);
            (201, Some(answer), Vec::new())
        }
        "list_snapshots" => {
            let matching: Vec<Value> = state
                .snapshots
                .iter()
                .rev()
                .filter(|s| q("sandboxID").is_none_or(|id| s.sandbox_id == id))
                .filter(|s| q("name").is_none_or(|n| s.names.contains(&n) || s.id == n))
                .map(|s| json!({"snapshotID": s.id, "names": s.names}))
                .collect();
            page(matching, q("limit"), q("nextToken"), None)
        }
        "delete_template" => {
            let wanted = params.get("templateID").cloned().unwrap_or_default();
            let untagged = |id: &str| id.rsplit_once(':').map_or(id, |(base, _)| base).to_owned();
            let before = state.snapshots.len();
            state.snapshots.retain(|s| untagged(&s.id) != untagged(&wanted));
            if state.snapshots.len() < before {
                (204, None, Vec::new())
            } else {
                plain(error(404, &format!("template {wanted} not found")))
            }
        }
        "list_sandboxes" => {
            let mut filters = Vec::new();
            if let Some(metadata) = q("metadata") {
                let decoded = percent_decode_str(&metadata).decode_utf8_lossy().into_owned();
                for pair in decoded.split('&') {
                    let parts: Vec<&str> = pair.split('=').collect();
                    if parts.len() != 2 {
                        return plain(error(400, "invalid metadata filter"));
                    }
                    let unescape = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
                    filters.push((unescape(parts[0]), unescape(parts[1])));
                }
            }
            let states: Vec<String> =
                q("state").map(|s| s.split(',').map(str::to_owned).collect()).unwrap_or_default();
            let template = q("template");
            let asc = q("order").as_deref() == Some("asc");
            let mut matching: Vec<(&String, &FakeSandbox)> = state
                .sandboxes
                .iter()
                .filter(|(_, s)| filters.iter().all(|(k, v)| s.metadata.get(k) == Some(v)))
                .filter(|(_, s)| {
                    states.is_empty()
                        || states.iter().any(|st| st == if s.paused { "paused" } else { "running" })
                })
                .filter(|(_, s)| template.as_ref().is_none_or(|t| &s.template == t))
                .collect();
            if !asc {
                matching.reverse();
            }
            let running = matching.iter().filter(|(_, s)| !s.paused).count();
            let wants_running = states.is_empty() || states.iter().any(|s| s == "running");
            let items = matching.iter().map(|(id, s)| detail_json(state, id, s, true)).collect();
            page(items, q("limit"), q("nextToken"), wants_running.then_some(running))
        }
        other => plain(error(500, &format!("the double does not implement {other}"))),
    }
}

fn page(
    items: Vec<Value>,
    limit: Option<String>,
    token: Option<String>,
    total_running: Option<usize>,
) -> Answer {
    let limit: usize = limit.and_then(|l| l.parse().ok()).unwrap_or(100);
    let offset: usize = match token {
        Some(token) => match token.parse() {
            Ok(offset) => offset,
            Err(_) => return (400, Some(json!({"code": 400, "message": "Invalid next token"})), Vec::new()),
        },
        None => 0,
    };
    let end = (offset + limit).min(items.len());
    let slice = items.get(offset..end).map(<[Value]>::to_vec).unwrap_or_default();
    let mut headers = Vec::new();
    if end < items.len() {
        headers.push(("x-next-token", end.to_string()));
    }
    if let Some(running) = total_running {
        headers.push(("x-total-running", running.to_string()));
    }
    (200, Some(Value::Array(slice)), headers)
}

/// What the sandbox proxy and envd's token check say before an RPC reaches
/// envd: 502 for a sandbox that is not running, 401 for a wrong token.
fn proxy_refusal(state: &State, sandbox_id: &str, headers: &HeaderMap) -> Option<Response> {
    let Some(sandbox) = state.sandboxes.get(sandbox_id).filter(|s| !s.paused) else {
        return Some(json_response(
            502,
            &json!({"sandboxId": sandbox_id, "message": "The sandbox was not found", "code": 502}),
        ));
    };
    let sent = headers.get("x-access-token").and_then(|v| v.to_str().ok());
    match &sandbox.token {
        Some(token) if sent != Some(token.as_str()) => Some(json_response(
            401,
            &json!({"code": 401, "message": "unauthorized access, please provide a valid access token or method signing if supported"}),
        )),
        _ => None,
    }
}

fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).ok()?;
    Some(out)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn resolve_path(path: &str, user: &str) -> String {
    let home = if user == "root" { "/root".to_owned() } else { format!("/home/{user}") };
    if path.is_empty() {
        home
    } else if path.starts_with('/') {
        path.to_owned()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{home}/{rest}")
    } else {
        format!("{home}/{path}")
    }
}

#[allow(clippy::too_many_arguments)]
fn envd(
    shared: &Shared,
    state: &mut State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
    sandbox_id: &str,
) -> Response {
    match shared.envd.find(method, path) {
        Some(operation) => {
            let problems = shared.envd.check_request(&operation, query, headers, body);
            state.violations.extend(problems);
        }
        None => state.violations.push(format!("{method} {path}: no such operation in envd.yml")),
    }
    if headers.get("e2b-sandbox-port").and_then(|v| v.to_str().ok()) != Some("49983") {
        state.violations.push(format!("{method} {path}: E2b-Sandbox-Port is not 49983"));
    }
    let Some(sandbox) = state.sandboxes.get(sandbox_id).filter(|s| !s.paused) else {
        return json_response(
            502,
            &json!({"sandboxId": sandbox_id, "message": "The sandbox was not found", "code": 502}),
        );
    };
    if path == "/health" {
        return empty_response(204);
    }
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let user = q("username").unwrap_or_else(|| "user".into());
    if let Some(token) = &sandbox.token {
        let unauthorized = || {
            json_response(
                401,
                &json!({"code": 401, "message": "unauthorized access, please provide a valid access token or method signing if supported"}),
            )
        };
        match headers.get("x-access-token").and_then(|v| v.to_str().ok()) {
            Some(sent) if sent == token => {}
            Some(_) => return unauthorized(),
            None => {
                let operation = if method == "GET" {
                    e2b::signature::FileOperation::Read
                } else {
                    e2b::signature::FileOperation::Write
                };
                let expiration = q("signature_expiration").and_then(|e| e.parse::<u64>().ok());
                let expected = e2b::signature::sign_file_url(
                    &q("path").unwrap_or_default(),
                    operation,
                    q("username").as_deref(),
                    token,
                    expiration,
                );
                let expired = expiration.is_some_and(|e| (e as i64) < Utc::now().timestamp());
                if q("signature").as_deref() != Some(expected.as_str()) || expired {
                    return unauthorized();
                }
            }
        }
    }
    let sandbox_key = sandbox_id.to_owned();
    match method {
        "GET" => {
            let resolved = resolve_path(&q("path").unwrap_or_default(), &user);
            let Some(file) = state.files.get(&(sandbox_key, resolved.clone())) else {
                return json_response(
                    404,
                    &json!({"code": 404, "message": format!("path '{resolved}' does not exist")}),
                );
            };
            let accepts_gzip = headers
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
            let mut response = if accepts_gzip {
                let mut response = Response::new(Body::from(gzip(&file.data)));
                response.headers_mut().insert("content-encoding", "gzip".parse().unwrap());
                response
            } else {
                Response::new(Body::from(file.data.clone()))
            };
            response.headers_mut().insert("content-type", "application/octet-stream".parse().unwrap());
            response
        }
        "POST" => {
            let mut body = body.to_vec();
            match headers.get("content-encoding").and_then(|v| v.to_str().ok()) {
                None | Some("identity") => {}
                Some("gzip") => match gunzip(&body) {
                    Some(plain) => body = plain,
                    None => return json_response(400, &json!({"code": 400, "message": "bad gzip body"})),
                },
                Some(other) => {
                    return json_response(
                        400,
                        &json!({"code": 400, "message": format!("unsupported encoding {other}")}),
                    );
                }
            }
            let metadata: BTreeMap<String, String> = headers
                .iter()
                .filter_map(|(name, value)| {
                    let key = name.as_str().strip_prefix("x-metadata-")?;
                    Some((key.to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let content_type =
                headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let mut uploads: Vec<(String, Vec<u8>)> = Vec::new();
            if content_type.starts_with("application/octet-stream") {
                let Some(path) = q("path") else {
                    return json_response(400, &json!({"code": 400, "message": "path is required"}));
                };
                uploads.push((path, body));
            } else if content_type.starts_with("multipart/form-data") {
                match parse_multipart(&content_type, body) {
                    Ok(parts) => {
                        for part in parts.into_iter().filter(|p| p.name == "file") {
                            let destination = q("path").or(part.filename).unwrap_or_default();
                            uploads.push((destination, part.data));
                        }
                    }
                    Err(e) => return json_response(400, &json!({"code": 400, "message": e})),
                }
            } else {
                return json_response(400, &json!({"code": 400, "message": "unsupported content type"}));
            }
            let mut written = Vec::new();
            for (path, data) in uploads {
                let resolved = resolve_path(&path, &user);
                let name = resolved.rsplit('/').next().unwrap_or_default().to_owned();
                let mut entry = json!({"path": resolved, "name": name, "type": "file"});
                if !metadata.is_empty() {
                    entry["metadata"] = json!(metadata);
                }
                written.push(entry);
                state
                    .files
                    .insert((sandbox_key.clone(), resolved), StoredFile { data, metadata: metadata.clone() });
            }
            json_response(200, &Value::Array(written))
        }
        _ => json_response(405, &json!({"code": 405, "message": "method not allowed"})),
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Parses a multipart body with `multer`.
pub fn parse_multipart(content_type: &str, body: Vec<u8>) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(body)) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The double's handler runs inside the server's runtime; parse on a
    // helper thread with its own so that this stays synchronous.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let mut parts = Vec::new();
                    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
                        let name = field.name().unwrap_or_default().to_owned();
                        let filename = field.file_name().map(str::to_owned);
                        let content_type = field.content_type().map(|m| m.to_string());
                        let data = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
                        parts.push(Part { name, filename, content_type, data });
                    }
                    Ok(parts)
                })
            })
            .join()
            .map_err(|_| "multipart parser panicked".to_owned())?
    })
}
