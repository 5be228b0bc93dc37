//! The hand-written layer over the generated clients: request hooks that make
//! the wire match E2B's where progenitor's output differs.
//!
//! * progenitor adds an `api-version` header to every request. E2B's SDKs do
//!   not send it and servers must not depend on it, so it is removed.
//! * Array query parameters declared `style: form, explode: false` (the list
//!   filter `state`, the batch metrics `sandbox_ids`) must travel as one
//!   comma-joined value (`state=running,paused`); progenitor repeats the key.

use progenitor_client::{ClientHooks, Error, OperationInfo};

/// `(operationId, parameter)` pairs whose array values are joined with commas.
const COMMA_JOINED: &[(&str, &str)] =
    &[("list_sandboxes", "state"), ("get_sandboxes_metrics", "sandbox_ids")];

fn fix_request(request: &mut reqwest::Request, info: &OperationInfo) {
    request.headers_mut().remove("api-version");

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
}
