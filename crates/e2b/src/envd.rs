//! The plain-HTTP side of envd (`/health`, `/files`): base URL, the headers
//! every envd request carries, the default user, and the mapping of envd's
//! and the sandbox proxy's answers to errors.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use tracing::Instrument as _;

use crate::config::{ConnectionConfig, ENVD_PORT};
use crate::error::{Error, Phase, Result, Stage, excerpt};
use crate::version::{EnvdFeature, EnvdVersion};

/// The user older envds need to be told explicitly.
const LEGACY_DEFAULT_USER: &str = "user";

/// How long the probe that tells a dead sandbox from a network hiccup waits.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a 404 from envd means for the calling operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotFoundMeans {
    /// A file or directory is missing.
    File,
    /// Something else is missing.
    Other,
}

/// Connection details of one sandbox's envd.
#[derive(Clone, Debug)]
pub(crate) struct Envd {
    pub(crate) base_url: String,
    sandbox_id: String,
    /// Routing and auth headers, plus the SDK's user agent.
    headers: HeaderMap,
    http: reqwest::Client,
    /// The Connect client for RPCs (it sends its own user agent).
    pub(crate) rpc: e2b_connect::client::Client,
    version: EnvdVersion,
    request_timeout: Option<Duration>,
    /// How often an idempotent call is repeated after a dropped connection.
    pub(crate) retries: u32,
}

impl Envd {
    pub(crate) fn new(
        config: &ConnectionConfig,
        sandbox_id: &str,
        sandbox_domain: Option<&str>,
        access_token: Option<&str>,
        version: EnvdVersion,
    ) -> Result<Self> {
        let stage = Stage::new("connect to sandbox", Phase::Decode);
        let value = |what: &str, text: &str| {
            HeaderValue::from_str(text).map_err(|_| {
                Error::decode(stage, format!("the {what} contains characters not allowed in a header"))
            })
        };
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, config.user_agent());
        headers.insert(HeaderName::from_static("e2b-sandbox-id"), value("sandbox ID", sandbox_id)?);
        headers.insert(HeaderName::from_static("e2b-sandbox-port"), HeaderValue::from(ENVD_PORT));
        if let Some(token) = access_token {
            headers.insert(HeaderName::from_static("x-access-token"), value("envd access token", token)?);
        }
        Ok(Self {
            base_url: config.envd_url(sandbox_id, sandbox_domain),
            sandbox_id: sandbox_id.to_owned(),
            headers,
            http: config.http_client().clone(),
            rpc: config.rpc_client().clone(),
            version,
            request_timeout: config.request_timeout(),
            retries: config.connection_retries(),
        })
    }

    pub(crate) fn version(&self) -> EnvdVersion {
        self.version
    }

    pub(crate) fn sandbox_id(&self) -> &str {
        &self.sandbox_id
    }

    /// The request timeout to use: the call's (`ZERO` = none), else the
    /// config's.
    pub(crate) fn request_timeout(&self, call: Option<Duration>) -> Option<Duration> {
        match call {
            Some(timeout) => (!timeout.is_zero()).then_some(timeout),
            None => self.request_timeout,
        }
    }

    /// The user to send: the caller's, else `user` for envds that cannot
    /// pick the default themselves, else none.
    pub(crate) fn effective_user(&self, user: Option<String>) -> Option<String> {
        user.or_else(|| {
            (!self.version.supports(EnvdFeature::DefaultUser)).then(|| LEGACY_DEFAULT_USER.to_owned())
        })
    }

    /// The routing and auth headers, without the user agent.
    pub(crate) fn routing_headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().filter(|(name, _)| **name != USER_AGENT)
    }

    /// A request to `path` with the sandbox's routing and auth headers.
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url)).headers(self.headers.clone())
    }

    /// `GET /health`: true on success, false when the proxy says the sandbox
    /// is gone (502), an error otherwise.
    pub(crate) async fn is_running(&self, timeout: Option<Duration>) -> Result<bool> {
        let stage = Stage::new("check sandbox health", Phase::Send);
        let span = tracing::info_span!(
            "e2b.envd",
            operation = stage.operation,
            sandbox_id = self.sandbox_id(),
            path = "/health",
            status = tracing::field::Empty,
        );
        async move {
            let mut request = self.request(Method::GET, "/health");
            if let Some(timeout) = timeout {
                request = request.timeout(timeout);
            }
            let response = request.send().await.map_err(|e| Error::transport(stage, e))?;
            tracing::Span::current().record("status", response.status().as_u16());
            if response.status() == StatusCode::BAD_GATEWAY {
                return Ok(false);
            }
            if response.status().is_success() {
                return Ok(true);
            }
            Err(self.error_from_response(response, stage.operation, NotFoundMeans::Other).await)
        }
        .instrument(span)
        .await
    }

    /// Maps an envd error answer as E2B's SDKs do: 400 invalid argument,
    /// 401 authentication, 404 not found, 429 rate limit, 502 sandbox gone,
    /// 507 not enough space, anything else a sandbox error.
    pub(crate) async fn error_from_response(
        &self,
        response: reqwest::Response,
        operation: &'static str,
        not_found: NotFoundMeans,
    ) -> Error {
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        error_from_status(Stage::new(operation, Phase::Respond), status, &body, not_found)
    }

    /// Maps a transport failure. A connection that dropped mid-request may
    /// mean the sandbox died: probe `/health`, and if the proxy says the
    /// sandbox is gone, say so.
    pub(crate) async fn transport_error(&self, stage: Stage, source: reqwest::Error) -> Error {
        let dropped = !source.is_timeout() && !source.is_connect() && !source.is_builder();
        if dropped && matches!(self.is_running(Some(HEALTH_PROBE_TIMEOUT)).await, Ok(false)) {
            return Error::sandbox_gone(
                stage,
                &format!(
                    "the connection dropped and the sandbox {} was killed or reached its end of life",
                    self.sandbox_id
                ),
            );
        }
        Error::transport(stage, source)
    }
}

/// The message of an envd error body: the JSON `message`, else the text.
fn message_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| excerpt(body))
}

pub(crate) fn error_from_status(stage: Stage, status: u16, body: &[u8], not_found: NotFoundMeans) -> Error {
    let message = message_of(body);
    match status {
        400 => Error::InvalidArgument { stage, message },
        401 => Error::Authentication { stage, message },
        404 if not_found == NotFoundMeans::File => Error::FileNotFound { stage, message },
        404 => Error::NotFound { stage, message },
        429 => {
            Error::RateLimit { stage, message: format!("{message}: The requests are being rate limited.") }
        }
        502 => Error::sandbox_gone(stage, &message),
        507 => Error::NotEnoughSpace { stage, message },
        _ => Error::sandbox(stage, format!("{status}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE: Stage = Stage::new("read file", Phase::Respond);

    #[test]
    fn maps_envd_statuses_like_the_official_sdk() {
        let e = |status, body: &str, nf| error_from_status(STAGE, status, body.as_bytes(), nf);
        assert!(matches!(e(400, r#"{"code":400,"message":"bad path"}"#, NotFoundMeans::File),
            Error::InvalidArgument { ref message, .. } if message == "bad path"));
        assert!(matches!(e(401, "{}", NotFoundMeans::File), Error::Authentication { .. }));
        assert!(matches!(e(404, r#"{"message":"path '/x' does not exist"}"#, NotFoundMeans::File),
            Error::FileNotFound { ref message, .. } if message == "path '/x' does not exist"));
        assert!(matches!(e(404, "nope", NotFoundMeans::Other), Error::NotFound { .. }));
        assert!(matches!(e(429, "busy", NotFoundMeans::File),
            Error::RateLimit { ref message, .. } if message == "busy: The requests are being rate limited."));
        let gone = e(
            502,
            r#"{"sandboxId":"x","message":"The sandbox was not found","code":502}"#,
            NotFoundMeans::File,
        );
        assert!(matches!(gone, Error::SandboxGone { ref message, .. }
            if message.starts_with("The sandbox was not found: This error is likely due to sandbox timeout")));
        assert!(matches!(e(507, "full", NotFoundMeans::File), Error::NotEnoughSpace { .. }));
        assert!(matches!(e(500, "oops", NotFoundMeans::File),
            Error::Sandbox { ref message, .. } if message == "500: oops"));
        assert!(matches!(e(418, "", NotFoundMeans::File),
            Error::Sandbox { ref message, .. } if message == "418: "));
    }

    fn envd(version: EnvdVersion, token: Option<&str>) -> Envd {
        let config = ConnectionConfig::builder()
            .environment([("E2B_SANDBOX_URL", "http://127.0.0.1:9")])
            .build()
            .unwrap();
        Envd::new(&config, "sbx1", None, token, version).unwrap()
    }

    #[test]
    fn requests_carry_routing_and_auth_headers() {
        let request =
            envd(EnvdVersion::new(0, 6, 13), Some("tok")).request(Method::GET, "/files").build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/files");
        assert_eq!(request.headers()["e2b-sandbox-id"], "sbx1");
        assert_eq!(request.headers()["e2b-sandbox-port"], "49983");
        assert_eq!(request.headers()["x-access-token"], "tok");
        assert!(request.headers()["user-agent"].to_str().unwrap().starts_with("e2b-rust-sdk/"));
        let request = envd(EnvdVersion::new(0, 6, 13), None).request(Method::GET, "/health").build().unwrap();
        assert!(request.headers().get("x-access-token").is_none());
        let config = ConnectionConfig::builder().build().unwrap();
        let err = Envd::new(&config, "sbx", None, Some("bad\ntoken"), EnvdVersion::DEBUG).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }

    #[test]
    fn old_envds_get_the_user_named() {
        assert_eq!(envd(EnvdVersion::new(0, 3, 9), None).effective_user(None).as_deref(), Some("user"));
        assert_eq!(envd(EnvdVersion::new(0, 4, 0), None).effective_user(None), None);
        assert_eq!(
            envd(EnvdVersion::new(0, 1, 0), None).effective_user(Some("root".into())).as_deref(),
            Some("root")
        );
    }
}
