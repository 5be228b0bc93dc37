//! The hand-written layer over the generated clients: request hooks that make
//! the wire match E2B's where progenitor's output differs.
//!
//! * progenitor adds an `api-version` header to every request. E2B's SDKs do
//!   not send it and servers must not depend on it, so it is removed.
//! * Array query parameters declared `style: form, explode: false` (the list
//!   filter `state`, the batch metrics `sandbox_ids`) must travel as one
//!   comma-joined value (`state=running,paused`); progenitor repeats the key.
//! * progenitor's path encoding leaves `:` and the other sub-delimiters raw,
//!   but a template or snapshot ID (`team/name:tag`) must travel as one fully
//!   escaped path segment, as E2B's SDKs send it (`team%2Fname%3Atag`).
//! * The generated builders cannot add per-client headers (API key, user
//!   agent, extra API headers) to a caller-supplied `reqwest::Client`, and
//!   they serialize fields that have a schema default even when the caller
//!   never set them. Callers therefore scope [`RequestExtras`] over a call
//!   with [`with_request_extras`]; the hook applies them to every request made
//!   inside that scope.
//! * The generated code decodes an error body only when it carries both
//!   `code` and `message`; any other error body (a plain-text 404 from a
//!   gateway, `{"message": ...}` alone) would surface as a payload-decoding
//!   failure that has lost its status. Such bodies are rewritten into
//!   `{"code": <status>, "message": <text>}` so the status survives.

use std::future::Future;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};

/// `(operationId, parameter)` pairs whose array values are joined with commas.
const COMMA_JOINED: &[(&str, &str)] =
    &[("list_sandboxes", "state"), ("get_sandboxes_metrics", "sandbox_ids")];

/// Operations whose last path segment is an ID that must be escaped whole.
const WHOLE_SEGMENT_ID: &[&str] = &["delete_template"];

/// Everything except RFC 3986 unreserved characters, like Python's
/// `quote(value, safe="")` and JS's `encodeURIComponent` for ASCII.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Error bodies larger than this are cut before they are normalized; an
/// error message never needs more, and a misbehaving server must not make
/// the client buffer without bound.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Per-call additions to the requests of the generated clients.
///
/// Scoped over a future with [`with_request_extras`]; requests made outside
/// any scope are sent as generated.
#[derive(Clone, Debug, Default)]
pub struct RequestExtras {
    /// Headers to set on every request, replacing generated headers of the
    /// same name.
    pub headers: HeaderMap,
    /// A JSON body that replaces the generated one (for bodies whose schema
    /// defaults progenitor would otherwise always serialize).
    pub json_body: Option<serde_json::Value>,
}

tokio::task_local! {
    static EXTRAS: RequestExtras;
}

/// Runs `future` with `extras` applied to every request the generated
/// clients make while it runs.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use e2b_api::{RequestExtras, with_request_extras};
///
/// let client = e2b_api::control::Client::new("http://localhost:3000");
/// let mut extras = RequestExtras::default();
/// extras.headers.insert("x-api-key", "e2b_0123".parse()?);
/// let info = with_request_extras(extras, client.get_sandbox().sandbox_id("abc").send()).await?;
/// println!("{}", info.template_id);
/// # Ok(()) }
/// ```
pub async fn with_request_extras<F: Future>(extras: RequestExtras, future: F) -> F::Output {
    EXTRAS.scope(extras, future).await
}

fn apply_extras(request: &mut reqwest::Request) {
    let _ = EXTRAS.try_with(|extras| {
        for name in extras.headers.keys() {
            request.headers_mut().remove(name);
            for value in extras.headers.get_all(name) {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        if let Some(body) = &extras.json_body
            && request.body().is_some()
        {
            // Serializing a `Value` cannot fail.
            let bytes = serde_json::to_vec(body).unwrap_or_default();
            *request.body_mut() = Some(bytes.into());
        }
    });
}

fn join_form_arrays(request: &mut reqwest::Request, info: &OperationInfo) {
    let joined: Vec<&str> =
        COMMA_JOINED.iter().filter(|(op, _)| *op == info.operation_id).map(|(_, param)| *param).collect();
    if joined.is_empty() {
        return;
    }
    let pairs: Vec<(String, String)> =
        request.url().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if joined.contains(&key.as_str())
            && let Some((_, existing)) = out.iter_mut().find(|(k, _)| *k == key)
        {
            existing.push(',');
            existing.push_str(&value);
            continue;
        }
        out.push((key, value));
    }
    let url = request.url_mut();
    url.set_query(None);
    if !out.is_empty() {
        url.query_pairs_mut().extend_pairs(out);
    }
}

fn escape_whole_segment_id(request: &mut reqwest::Request, info: &OperationInfo) {
    if !WHOLE_SEGMENT_ID.contains(&info.operation_id) {
        return;
    }
    let path = request.url().path().to_owned();
    let Some((prefix, last)) = path.rsplit_once('/') else {
        return;
    };
    let decoded = percent_decode_str(last).decode_utf8_lossy();
    let escaped = utf8_percent_encode(&decoded, COMPONENT).to_string();
    request.url_mut().set_path(&format!("{prefix}/{escaped}"));
}

fn fix_request(request: &mut reqwest::Request, info: &OperationInfo) {
    request.headers_mut().remove("api-version");
    join_form_arrays(request, info);
    escape_whole_segment_id(request, info);
    apply_extras(request);
}

/// The `{"code", "message"}` form of an error body, or `None` when the body
/// already has it.
fn normalized_error_body(status: u16, body: &[u8]) -> Option<Vec<u8>> {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let mut object = match parsed {
        Some(serde_json::Value::Object(object)) => object,
        _ => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            let value = serde_json::json!({ "code": status, "message": text });
            return Some(serde_json::to_vec(&value).unwrap_or_default());
        }
    };
    let has_code = object.get("code").is_some_and(|c| c.as_i64().is_some_and(|c| i32::try_from(c).is_ok()));
    let has_message = object.get("message").is_some_and(serde_json::Value::is_string);
    if has_code && has_message {
        return None;
    }
    if !has_message {
        let text = String::from_utf8_lossy(body).trim().to_owned();
        object.insert("message".into(), serde_json::Value::String(text));
    }
    object.insert("code".into(), serde_json::Value::from(status));
    Some(serde_json::to_vec(&serde_json::Value::Object(object)).unwrap_or_default())
}

async fn normalize_error_response(mut response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    let mut headers = response.headers().clone();
    let body = match normalized_error_body(status.as_u16(), &body) {
        Some(normalized) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.remove(CONTENT_ENCODING);
            normalized
        }
        None => body,
    };
    headers.remove(CONTENT_LENGTH);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = response.version();
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

macro_rules! wire_hooks {
    ($client:path) => {
        impl ClientHooks<()> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &OperationInfo,
            ) -> Result<(), Error<E>> {
                fix_request(request, info);
                Ok(())
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                _info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                let response = self.client().execute(request).await?;
                normalize_error_response(response).await
            }
        }
    };
}

wire_hooks!(crate::control::Client);
wire_hooks!(crate::envd::Client);

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(url: &str, op: &'static str) -> reqwest::Request {
        let mut request = reqwest::Client::new().get(url).header("api-version", "0.1.0").build().unwrap();
        fix_request(&mut request, &OperationInfo { operation_id: op });
        request
    }

    #[test]
    fn joins_form_arrays_and_drops_api_version() {
        let r = fixed(
            "http://x/v2/sandboxes?limit=5&state=running&state=paused&metadata=a%3Db",
            "list_sandboxes",
        );
        assert_eq!(r.url().query(), Some("limit=5&state=running%2Cpaused&metadata=a%3Db"));
        assert!(r.headers().get("api-version").is_none());
    }

    #[test]
    fn leaves_other_operations_alone() {
        let r = fixed("http://x/snapshots?name=a&name=b", "list_snapshots");
        assert_eq!(r.url().query(), Some("name=a&name=b"));
    }

    #[test]
    fn escapes_template_ids_as_one_segment() {
        // What progenitor produces for "team/my snap:v2": "/" and " " escaped, ":" raw.
        let r = fixed("http://x/api/templates/team%2Fmy%20snap:v2", "delete_template");
        assert_eq!(r.url().path(), "/api/templates/team%2Fmy%20snap%3Av2");
        let r = fixed("http://x/templates/abc123:default", "delete_template");
        assert_eq!(r.url().path(), "/templates/abc123%3Adefault");
        let r = fixed("http://x/sandboxes/a:b", "kill_sandbox");
        assert_eq!(r.url().path(), "/sandboxes/a:b");
    }

    #[tokio::test]
    async fn extras_replace_headers_and_json_body_inside_their_scope() {
        let mut extras = RequestExtras::default();
        extras.headers.insert("x-api-key", HeaderValue::from_static("e2b_1"));
        extras.headers.insert("user-agent", HeaderValue::from_static("test/1"));
        extras.json_body = Some(serde_json::json!({"templateID": "base"}));
        let build = || {
            reqwest::Client::new()
                .post("http://x/sandboxes")
                .header("user-agent", "generated")
                .json(&serde_json::json!({"templateID": "base", "autoPause": false}))
                .build()
                .unwrap()
        };
        let inside = with_request_extras(extras, async {
            let mut request = build();
            fix_request(&mut request, &OperationInfo { operation_id: "create_sandbox" });
            request
        })
        .await;
        assert_eq!(inside.headers()["x-api-key"], "e2b_1");
        assert_eq!(inside.headers().get_all("user-agent").iter().count(), 1);
        assert_eq!(inside.headers()["user-agent"], "test/1");
        assert_eq!(inside.body().unwrap().as_bytes().unwrap(), br#"{"templateID":"base"}"#);

        let mut outside = build();
        fix_request(&mut outside, &OperationInfo { operation_id: "create_sandbox" });
        assert!(outside.headers().get("x-api-key").is_none());
        assert_eq!(outside.headers()["user-agent"], "generated");
    }

    #[test]
    fn error_bodies_keep_their_status() {
        let value = |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
        assert_eq!(normalized_error_body(404, br#"{"code":404,"message":"gone"}"#), None);
        assert_eq!(
            value(normalized_error_body(404, b"not found\n").unwrap()),
            serde_json::json!({"code": 404, "message": "not found"})
        );
        assert_eq!(
            value(
                normalized_error_body(502, br#"{"sandboxId":"x","message":"The sandbox was not found"}"#)
                    .unwrap()
            ),
            serde_json::json!({"code": 502, "sandboxId": "x", "message": "The sandbox was not found"})
        );
        assert_eq!(
            value(normalized_error_body(409, br#"{"code":"conflict"}"#).unwrap()),
            serde_json::json!({"code": 409, "message": r#"{"code":"conflict"}"#})
        );
        assert_eq!(
            value(normalized_error_body(500, b"").unwrap()),
            serde_json::json!({"code": 500, "message": ""})
        );
    }

    #[tokio::test]
    async fn normalizes_a_plain_text_error_response() {
        let response = http::Response::builder()
            .status(404)
            .header("content-type", "text/plain")
            .header("content-length", "9")
            .body("not found")
            .unwrap();
        let response = normalize_error_response(reqwest::Response::from(response)).await.unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"code": 404, "message": "not found"}));

        let ok = http::Response::builder().status(200).body("[]").unwrap();
        let ok = normalize_error_response(reqwest::Response::from(ok)).await.unwrap();
        assert_eq!(ok.text().await.unwrap(), "[]");
    }
}
