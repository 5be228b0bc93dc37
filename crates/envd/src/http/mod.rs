//! envd's plain-HTTP endpoints: `/health`, `/init`, `/envs`, `/metrics` and
//! `/files`.

mod error;
pub(crate) mod files;
mod metrics;
mod stored_gzip;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::value::RawValue;

pub(crate) use self::error::HttpError;
use self::metrics::CpuSampler;
use crate::settings::{Init, InitOutcome, Settings};

/// What the HTTP handlers share.
#[derive(Debug)]
pub(crate) struct HttpState {
    pub(crate) settings: Arc<Settings>,
    pub(crate) version: String,
    pub(crate) sync_clock: bool,
    cpu: CpuSampler,
}

pub(crate) fn router(settings: Arc<Settings>, version: String, sync_clock: bool) -> Router {
    let state = Arc::new(HttpState { settings, version, sync_clock, cpu: CpuSampler::new() });
    Router::new()
        .route("/health", get(health))
        .route("/init", post(init))
        .route("/envs", get(envs))
        .route("/metrics", get(metrics::metrics))
        .route("/files", get(files::download).post(files::upload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

fn version_header(state: &HttpState) -> HeaderValue {
    HeaderValue::from_str(&state.version).unwrap_or(HeaderValue::from_static("0.0.0"))
}

async fn health(State(state): State<Arc<HttpState>>) -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (crate::VERSION_HEADER, version_header(&state)),
        ],
    )
        .into_response()
}

async fn envs(State(state): State<Arc<HttpState>>) -> Response {
    axum::Json(state.settings.env()).into_response()
}

/// `POST /init`'s body. Unknown fields (lifecycleID, hyperloopIP,
/// volumeMounts, caBundle) are accepted and ignored: they configure parts
/// of the upstream VM that do not exist here.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitBody {
    env_vars: Option<BTreeMap<String, String>>,
    access_token: Option<Box<RawValue>>,
    timestamp: Option<String>,
    default_user: Option<String>,
    default_workdir: Option<String>,
}

fn plain(status: StatusCode, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.to_owned()).into_response()
}

#[tracing::instrument(name = "POST /init", skip_all)]
async fn init(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: InitBody = if body.iter().all(u8::is_ascii_whitespace) {
        InitBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(parsed) => parsed,
            Err(e) => return HttpError::bad_request(format!("invalid init request: {e}")).into_response(),
        }
    };
    let token = match parsed.access_token.as_deref().map(RawValue::get) {
        None | Some("null") => None,
        // The raw text, so escapes (backslashes) are refused, not decoded.
        Some(raw) => match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(token) if !token.is_empty() && !token.contains('\\') => Some(token.to_owned()),
            _ => {
                return HttpError::bad_request("accessToken must be a non-empty string without escapes")
                    .into_response();
            }
        },
    };
    let timestamp = match parsed.timestamp.as_deref() {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                return HttpError::bad_request(format!("invalid timestamp {text:?}: {e}")).into_response();
            }
        },
    };

    // /init authenticates itself: the token it carries (or the header) must
    // be the current one, unless none has been set yet.
    if let Some(current) = state.settings.access_token() {
        let by_body = token.as_deref().is_some_and(|t| current.matches(t));
        let by_header =
            headers.get("x-access-token").and_then(|v| v.to_str().ok()).is_some_and(|t| current.matches(t));
        if !by_body && !by_header {
            return plain(StatusCode::UNAUTHORIZED, "unauthorized: the access token does not match");
        }
    }

    let mut init = Init::new();
    init.env_vars = parsed.env_vars;
    init.access_token = token;
    init.default_user = parsed.default_user;
    init.default_workdir = parsed.default_workdir.map(Into::into);
    init.timestamp = timestamp;
    if state.settings.apply(init) == InitOutcome::Applied
        && state.sync_clock
        && let Some(at) = timestamp
    {
        sync_clock(at);
    }
    (
        StatusCode::NO_CONTENT,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (crate::VERSION_HEADER, version_header(&state)),
        ],
    )
        .into_response()
}

/// Sets the system clock to `at` when it is more than 50 ms behind or more
/// than 5 s ahead (a resumed VM's clock is stale).
fn sync_clock(at: DateTime<Utc>) {
    let drift = Utc::now() - at;
    let behind = drift < -chrono::Duration::milliseconds(50);
    let ahead = drift > chrono::Duration::seconds(5);
    if !(behind || ahead) {
        return;
    }
    let spec = nix::sys::time::TimeSpec::new(at.timestamp(), i64::from(at.timestamp_subsec_nanos()));
    if let Err(e) = nix::time::clock_settime(nix::time::ClockId::CLOCK_REALTIME, spec) {
        tracing::warn!(%e, "could not set the system clock");
    }
}
