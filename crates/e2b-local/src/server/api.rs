//! The control-plane REST API (`openapi/api.yml`), with E2B's exact success codes, error
//! bodies and quirks (PROTOCOL.md section 3).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use e2b_api::control::types as api;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::{Connected, Entry, State};

type Shared = AxumState<Arc<State>>;
type ApiResult<T = Response> = Result<T, ApiError>;

pub(crate) fn router(state: Arc<State>) -> Router {
    let authed = Router::new()
        .route("/sandboxes", post(create).get(list_v1))
        .route("/v2/sandboxes", get(list_v2))
        .route("/sandboxes/metrics", get(batch_metrics))
        .route("/sandboxes/{id}", get(info).delete(kill))
        .route("/sandboxes/{id}/logs", get(logs_v1))
        .route("/v2/sandboxes/{id}/logs", get(logs_v2))
        .route("/sandboxes/{id}/metrics", get(metrics))
        .route("/sandboxes/{id}/pause", post(pause))
        .route("/sandboxes/{id}/resume", post(resume))
        .route("/sandboxes/{id}/connect", post(connect))
        .route("/sandboxes/{id}/fork", post(fork))
        .route("/sandboxes/{id}/timeout", post(set_timeout))
        .route("/sandboxes/{id}/refreshes", post(refresh))
        .route("/sandboxes/{id}/network", put(update_network))
        .route("/sandboxes/{id}/snapshots", post(create_snapshot))
        .route("/snapshots", get(list_snapshots))
        .route("/templates/{id}", axum::routing::delete(delete_template))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key));
    Router::new()
        .route("/health", get(|| async { StatusCode::NO_CONTENT }))
        .merge(authed)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
        .layer(middleware::from_fn(trace))
}

async fn trace(request: Request, next: Next) -> Response {
    let span = tracing::info_span!("api", method = %request.method(), path = %request.uri().path());
    let start = std::time::Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed_ms = start.elapsed().as_secs_f64() * 1e3, "api request");
    response
}

async fn require_key(AxumState(state): Shared, request: Request, next: Next) -> Response {
    let key = request.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    match key {
        None => ApiError::new(StatusCode::UNAUTHORIZED, "missing X-API-Key header").into_response(),
        Some(key) if !state.is_valid_key(key) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid API key").into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// A JSON body; an empty body is the type's default when `empty_ok` (old SDKs send none
/// for pause).
fn body<T: DeserializeOwned + Default>(bytes: &Bytes, empty_ok: bool) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(T::default());
        }
        return Err(ApiError::bad_request("request body is missing"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn required_body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    (status, axum::Json(value)).into_response()
}

async fn create(AxumState(state): Shared, bytes: Bytes) -> ApiResult {
    let req: api::NewSandbox = required_body(&bytes)?;
    let sandbox = state.create(req).await?;
    Ok(json(StatusCode::CREATED, &sandbox))
}

async fn info(AxumState(state): Shared, Path(id): Path<String>) -> ApiResult {
    let entry = state.get(&id)?;
    Ok(json(StatusCode::OK, &state.detail(&entry)))
}

async fn kill(AxumState(state): Shared, Path(id): Path<String>) -> ApiResult {
    let entry = state.get(&id)?;
    state.kill(&entry, "killed").await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn pause(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let _req: api::SandboxPauseRequest = body(&bytes, true)?;
    let entry = state.get(&id)?;
    state.pause(&entry).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resume(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::ResumedSandbox = body(&bytes, true)?;
    let entry = state.get(&id)?;
    if let Some(auto_pause) = req.auto_pause {
        entry.record.lock().unwrap_or_else(|p| p.into_inner()).auto_pause = auto_pause;
    }
    state.resume(&entry, i64::from(req.timeout)).await?;
    Ok(json(StatusCode::CREATED, &state.sandbox_response(&entry)))
}

async fn connect(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::ConnectSandbox = required_body(&bytes)?;
    let entry = state.get(&id)?;
    let status = match state.connect(&entry, i64::from(req.timeout)).await? {
        Connected::WasRunning => StatusCode::OK,
        Connected::Resumed => StatusCode::CREATED,
    };
    Ok(json(status, &state.sandbox_response(&entry)))
}

async fn set_timeout(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::SandboxTimeoutRequest = required_body(&bytes)?;
    let entry = state.get(&id)?;
    state.set_timeout(&entry, i64::from(req.timeout))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn refresh(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::SandboxRefreshRequest = body(&bytes, true)?;
    let entry = state.get(&id)?;
    state.refresh(&entry, req.duration)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn update_network(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::SandboxNetworkUpdateConfig = body(&bytes, true)?;
    let entry = state.get(&id)?;
    state.update_network(&entry, req).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn fork(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::SandboxForkRequest = body(&bytes, true)?;
    let entry = state.get(&id)?;
    if req.count.get() > 100 {
        return Err(ApiError::bad_request("count must be at most 100"));
    }
    let results = state.fork(&entry, req.count.get(), i64::from(req.timeout)).await?;
    Ok(json(StatusCode::CREATED, &results))
}

async fn create_snapshot(AxumState(state): Shared, Path(id): Path<String>, bytes: Bytes) -> ApiResult {
    let req: api::SandboxSnapshotRequest = body(&bytes, true)?;
    let entry = state.get(&id)?;
    let row = state.snapshot(&entry, req.name.as_deref(), false).await?;
    Ok(json(StatusCode::CREATED, &api::SnapshotInfo { names: row.names, snapshot_id: row.id }))
}

async fn delete_template(AxumState(state): Shared, Path(id): Path<String>) -> ApiResult {
    if state.delete_snapshots(&id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("template \"{id}\" not found")))
    }
}

fn limit(pairs: &[(String, String)]) -> ApiResult<usize> {
    match param(pairs, "limit") {
        None => Ok(100),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!("limit must be between 1 and 100, got {text:?}"))),
        },
    }
}

/// One page of `items` after the opaque `nextToken` (the last key of the previous page);
/// returns the page and the token of the next one, if more items exist.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    limit: usize,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => {
            let after = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("Invalid next token"))?;
            items.iter().position(|i| key(i) == after).map(|p| p + 1).unwrap_or(items.len())
        }
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more {
        rest.last().map(|last| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(last)))
    } else {
        None
    };
    Ok((rest, next))
}

/// `metadata` arrives encoded three times: the official SDKs percent-encode each key and
/// value, form-encode the pairs as `k=v&k2=v2` (encoding the `%` of the first pass again),
/// and send that string as one query value (PROTOCOL.md 3.5). `value` is the query value
/// decoded once; it is unescaped once more, split on `&` and `=`, and each side unescaped.
fn metadata_filter(value: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(Vec::new()) };
    let once = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
    let mut pairs = Vec::new();
    for pair in once.split('&') {
        let parts: Vec<&str> = pair.split('=').collect();
        let [k, v] = parts[..] else {
            return Err(ApiError::bad_request(format!(
                "invalid metadata filter {pair:?}: expected key=value"
            )));
        };
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        pairs.push((decode(k), decode(v)));
    }
    Ok(pairs)
}

struct Filter {
    metadata: Vec<(String, String)>,
    running: bool,
    paused: bool,
    template: Option<String>,
    started_after: Option<DateTime<Utc>>,
}

impl Filter {
    fn parse(pairs: &[(String, String)]) -> ApiResult<Self> {
        let metadata = metadata_filter(param(pairs, "metadata"))?;
        let (mut running, mut paused) = (false, false);
        let states: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == "state")
            .flat_map(|(_, v)| v.split(','))
            .filter(|s| !s.is_empty())
            .collect();
        if states.is_empty() {
            (running, paused) = (true, true);
        }
        for s in states {
            match s {
                "running" => running = true,
                "paused" => paused = true,
                other => return Err(ApiError::bad_request(format!("invalid state {other:?}"))),
            }
        }
        let template = param(pairs, "template").filter(|t| !t.is_empty()).map(str::to_string);
        if template.as_deref().is_some_and(|t| t.contains(':')) {
            return Err(ApiError::bad_request("template filter must not contain a tag"));
        }
        let started_after = match param(pairs, "startedAfter").filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| ApiError::bad_request(format!("invalid startedAfter {text:?}")))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Self { metadata, running, paused, template, started_after })
    }

    fn matches(&self, entry: &Entry) -> bool {
        let r = entry.record();
        (if r.paused { self.paused } else { self.running })
            && self.metadata.iter().all(|(k, v)| r.metadata.get(k) == Some(v))
            && self.template.as_ref().is_none_or(|t| &r.template_id == t || r.alias.as_ref() == Some(t))
            && self.started_after.is_none_or(|t| r.started_at > t)
    }
}

async fn list_v2(AxumState(state): Shared, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let filter = Filter::parse(&pairs)?;
    let limit = limit(&pairs)?;
    let ascending = match param(&pairs, "order") {
        None | Some("desc") | Some("") => false,
        Some("asc") => true,
        Some(other) => return Err(ApiError::bad_request(format!("invalid order {other:?}"))),
    };
    let mut entries: Vec<_> = state.all().into_iter().filter(|e| filter.matches(e)).collect();
    entries.sort_by_key(|e| (e.record().started_at, e.id.clone()));
    if !ascending {
        entries.reverse();
    }
    let total_running = entries.iter().filter(|e| !e.record().paused).count();
    let key = |e: &Arc<Entry>| format!("{}__{}", e.record().started_at.to_rfc3339(), e.id);
    let (entries, next) = page(entries, key, param(&pairs, "nextToken"), limit)?;
    let listed: Vec<api::ListedSandbox> = entries.iter().map(|e| state.listed(e)).collect();
    let mut response = json(StatusCode::OK, &listed);
    set_next_token(response.headers_mut(), next);
    if filter.running {
        response.headers_mut().insert("x-total-running", HeaderValue::from(total_running));
    }
    Ok(response)
}

/// The 1.x SDKs' listing: running sandboxes only, no paging.
async fn list_v1(AxumState(state): Shared, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let filter = Filter {
        metadata: metadata_filter(param(&pairs, "metadata"))?,
        running: true,
        paused: false,
        template: None,
        started_after: None,
    };
    let mut entries: Vec<_> = state.all().into_iter().filter(|e| filter.matches(e)).collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.record().started_at));
    let listed: Vec<api::ListedSandbox> = entries.iter().map(|e| state.listed(e)).collect();
    Ok(json(StatusCode::OK, &listed))
}

fn set_next_token(headers: &mut HeaderMap, next: Option<String>) {
    if let Some(token) = next.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("x-next-token", token);
    }
}

async fn list_snapshots(AxumState(state): Shared, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let limit = limit(&pairs)?;
    let sandbox = param(&pairs, "sandboxID").filter(|s| !s.is_empty());
    let name = param(&pairs, "name").filter(|s| !s.is_empty());
    let rows: Vec<_> = state
        .visible_snapshots()?
        .into_iter()
        .filter(|r| sandbox.is_none_or(|s| r.sandbox_id == s))
        .filter(|r| {
            name.is_none_or(|n| if n.contains(':') { r.id == n } else { r.id.split(':').next() == Some(n) })
        })
        .collect();
    let (rows, next) = page(rows, |r| r.id.clone(), param(&pairs, "nextToken"), limit)?;
    let infos: Vec<api::SnapshotInfo> =
        rows.into_iter().map(|r| api::SnapshotInfo { names: r.names, snapshot_id: r.id }).collect();
    let mut response = json(StatusCode::OK, &infos);
    set_next_token(response.headers_mut(), next);
    Ok(response)
}

async fn metrics(AxumState(state): Shared, Path(id): Path<String>, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let bound = |name: &str| -> ApiResult<Option<i64>> {
        param(&pairs, name)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid {name} {v:?}"))))
            .transpose()
    };
    let (start, end) = (bound("start")?, bound("end")?);
    let entry = state.get(&id)?;
    if !entry.record().paused {
        state.sample(&entry).await?;
    }
    let samples: Vec<api::SandboxMetric> = state
        .history(&entry)
        .into_iter()
        .filter(|m| start.is_none_or(|s| m.timestamp_unix >= s) && end.is_none_or(|e| m.timestamp_unix <= e))
        .collect();
    Ok(json(StatusCode::OK, &samples))
}

async fn batch_metrics(AxumState(state): Shared, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "sandbox_ids")
        .flat_map(|(_, v)| v.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("sandbox_ids is required"));
    }
    if ids.len() > 100 {
        return Err(ApiError::bad_request("at most 100 sandbox_ids"));
    }
    let mut sandboxes = HashMap::new();
    for id in ids {
        if let Some(entry) = state.lookup(&id).filter(|e| !e.record().paused)
            && let Ok(sample) = state.sample(&entry).await
        {
            sandboxes.insert(id, sample);
        }
    }
    Ok(json(StatusCode::OK, &api::SandboxesWithMetrics { sandboxes }))
}

/// envd's output lines as log entries: the timestamp envd printed when it has one.
fn log_entries(state: &State, entry: &Entry, limit: usize) -> ApiResult<Vec<api::SandboxLogEntry>> {
    let lines = state.runtime.logs(&entry.id, limit)?;
    Ok(lines
        .into_iter()
        .map(|line| {
            let timestamp = line
                .split_whitespace()
                .next()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            let level = if line.contains(" ERROR ") {
                api::LogLevel::Error
            } else if line.contains(" WARN ") {
                api::LogLevel::Warn
            } else if line.contains(" DEBUG ") {
                api::LogLevel::Debug
            } else {
                api::LogLevel::Info
            };
            api::SandboxLogEntry { fields: HashMap::new(), level, message: line, timestamp }
        })
        .collect())
}

fn log_limit(pairs: &[(String, String)]) -> ApiResult<usize> {
    match param(pairs, "limit").filter(|v| !v.is_empty()) {
        None => Ok(1000),
        Some(v) => v.parse::<usize>().map_err(|_| ApiError::bad_request(format!("invalid limit {v:?}"))),
    }
}

async fn logs_v1(AxumState(state): Shared, Path(id): Path<String>, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let entry = state.get(&id)?;
    let start_ms = param(&pairs, "start").and_then(|v| v.parse::<i64>().ok());
    let entries: Vec<_> = log_entries(&state, &entry, log_limit(&pairs)?)?
        .into_iter()
        .filter(|e| start_ms.is_none_or(|s| e.timestamp.timestamp_millis() >= s))
        .collect();
    let logs =
        entries.iter().map(|e| api::SandboxLog { line: e.message.clone(), timestamp: e.timestamp }).collect();
    Ok(json(StatusCode::OK, &api::SandboxLogs { log_entries: entries, logs }))
}

async fn logs_v2(AxumState(state): Shared, Path(id): Path<String>, RawQuery(raw): RawQuery) -> ApiResult {
    let pairs = query(raw);
    let entry = state.get(&id)?;
    let search = param(&pairs, "search").filter(|s| !s.is_empty());
    let cursor = match param(&pairs, "cursor").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            Some(v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid cursor {v:?}")))?)
        }
    };
    let backward = match param(&pairs, "direction") {
        None | Some("" | "forward") => false,
        Some("backward") => true,
        Some(other) => return Err(ApiError::bad_request(format!("invalid direction {other:?}"))),
    };
    let min_level = match param(&pairs, "level").filter(|v| !v.is_empty()) {
        None => api::LogLevel::Debug,
        Some(level) => level
            .parse::<api::LogLevel>()
            .map_err(|_| ApiError::bad_request(format!("invalid level {level:?}")))?,
    };
    let limit = log_limit(&pairs)?;
    // All of the retained log, filtered, then the page: `limit` entries from the cursor on
    // (forward) or up to it (backward, newest first).
    let mut logs: Vec<_> = log_entries(&state, &entry, usize::MAX)?
        .into_iter()
        .filter(|e| search.is_none_or(|s| e.message.contains(s)))
        // LogLevel is ordered by severity.
        .filter(|e| e.level >= min_level)
        .filter(|e| {
            let at = e.timestamp.timestamp_millis();
            cursor.is_none_or(|c| if backward { at <= c } else { at >= c })
        })
        .collect();
    if backward {
        logs.reverse();
    }
    logs.truncate(limit);
    Ok(json(StatusCode::OK, &api::SandboxLogsV2Response { logs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_filters_are_decoded_like_the_sdks_encode_them() {
        let pairs = query(Some("metadata=user%3Dabc%26app%3Dprod".into()));
        let filter = metadata_filter(param(&pairs, "metadata")).unwrap();
        assert_eq!(filter, vec![("user".into(), "abc".into()), ("app".into(), "prod".into())]);
        // {"k=": "v&"} as e2b==2.45.1 sends it: quote() each side, urlencode() the pairs
        // (quote_plus of the quoted text), then the query encoding of the whole value.
        let pairs = query(Some("metadata=k%25253D%3Dv%252526".into()));
        let filter = metadata_filter(param(&pairs, "metadata")).unwrap();
        assert_eq!(filter, vec![("k=".into(), "v&".into())]);
        assert!(metadata_filter(Some("novalue")).is_err());
    }

    #[test]
    fn pages_carry_a_token_only_when_more_items_exist() {
        let items: Vec<u32> = (0..5).collect();
        let key = |i: &u32| i.to_string();
        let (first, next) = page(items.clone(), key, None, 2).unwrap();
        assert_eq!(first, vec![0, 1]);
        let (second, next) = page(items.clone(), key, next.as_deref(), 2).unwrap();
        assert_eq!(second, vec![2, 3]);
        let (third, next) = page(items.clone(), key, next.as_deref(), 2).unwrap();
        assert_eq!(third, vec![4]);
        assert!(next.is_none());
        assert!(page(items, key, Some("!!"), 2).is_err());
    }
}
