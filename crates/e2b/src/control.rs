//! Calls to the control plane through the generated `e2b_api::control`
//! client: headers, deadlines, retries, tracing and the error mapping that
//! E2B's SDKs apply to every REST answer.

use std::future::Future;
use std::time::Duration;

use e2b_api::control::{Client as ApiClient, types};
use e2b_api::{RequestExtras, ResponseValue};
use reqwest::header::HeaderMap;
use tracing::Instrument as _;

use crate::config::ConnectionConfig;
use crate::error::{Error, Phase, Stage, excerpt};
use crate::retry::{self, Failure, Idempotency};

/// The error type of the generated client.
pub(crate) type ApiError = e2b_api::Error<types::Error>;

/// One control-plane call.
pub(crate) struct ApiCall {
    pub(crate) operation: &'static str,
    pub(crate) idempotency: Idempotency,
    pub(crate) sandbox_id: Option<String>,
    /// The whole call's deadline, retries included; `None` for none.
    pub(crate) timeout: Option<Duration>,
    /// A body that replaces the generated one (see `e2b_api::RequestExtras`).
    pub(crate) json_body: Option<serde_json::Value>,
}

impl ApiCall {
    pub(crate) fn new(operation: &'static str, idempotency: Idempotency, config: &ConnectionConfig) -> Self {
        Self { operation, idempotency, sandbox_id: None, timeout: config.request_timeout(), json_body: None }
    }

    pub(crate) fn sandbox(mut self, sandbox_id: &str) -> Self {
        self.sandbox_id = Some(sandbox_id.to_owned());
        self
    }

    /// Overrides the deadline when the caller set one (`ZERO` = none).
    pub(crate) fn timeout(mut self, timeout: Option<Duration>) -> Self {
        if let Some(timeout) = timeout {
            self.timeout = (!timeout.is_zero()).then_some(timeout);
        }
        self
    }

    pub(crate) fn json_body(mut self, body: serde_json::Value) -> Self {
        self.json_body = Some(body);
        self
    }

    fn stage(&self, phase: Phase) -> Stage {
        Stage::new(self.operation, phase)
    }
}

/// A successful answer.
pub(crate) struct ApiResponse<T> {
    pub(crate) headers: HeaderMap,
    pub(crate) value: T,
}

/// A failed call, before the method-specific mapping of statuses.
#[derive(Debug)]
pub(crate) enum ApiFailure {
    /// The server answered with an error status.
    Status { stage: Stage, status: u16, message: String },
    /// Anything else, already mapped.
    Error(Error),
}

impl ApiFailure {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ApiFailure::Status { status, .. } => Some(*status),
            ApiFailure::Error(_) => None,
        }
    }

    /// The generic mapping of E2B's SDKs: 401 authentication, 429 rate
    /// limit, anything else a sandbox error quoting status and message.
    pub(crate) fn into_error(self) -> Error {
        match self {
            ApiFailure::Error(err) => err,
            ApiFailure::Status { stage, status, message } => {
                let suffix = if message.is_empty() { String::new() } else { format!(" - {message}") };
                match status {
                    401 => Error::Authentication {
                        stage,
                        message: format!("401: Unauthorized, please check your credentials.{suffix}"),
                    },
                    429 => Error::RateLimit {
                        stage,
                        message: format!("429: Rate limit exceeded, please try again later.{suffix}"),
                    },
                    _ => Error::sandbox(stage, format!("{status}: {message}")),
                }
            }
        }
    }

    /// Like [`into_error`](Self::into_error), with 404 meaning the sandbox
    /// does not exist.
    pub(crate) fn into_error_404_sandbox(self, sandbox_id: &str) -> Error {
        match self {
            ApiFailure::Status { stage, status: 404, .. } => {
                Error::SandboxNotFound { stage, message: format!("Sandbox {sandbox_id} not found") }
            }
            other => other.into_error(),
        }
    }
}

impl From<Error> for ApiFailure {
    fn from(err: Error) -> Self {
        ApiFailure::Error(err)
    }
}

/// Runs `send` against the control plane with the config's headers, the
/// call's deadline, retries and a tracing span.
pub(crate) async fn call<T, F, Fut>(
    config: &ConnectionConfig,
    call: ApiCall,
    send: F,
) -> Result<ApiResponse<T>, ApiFailure>
where
    F: Fn(ApiClient) -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, ApiError>>,
{
    let headers = config.api_headers(call.operation)?;
    let client = ApiClient::new_with_client(config.api_url(), config.http_client().clone());
    let extras = RequestExtras { headers, json_body: call.json_body.clone() };
    let span = tracing::info_span!(
        "e2b.api",
        operation = call.operation,
        sandbox_id = call.sandbox_id.as_deref(),
        status = tracing::field::Empty,
        attempts = tracing::field::Empty,
    );
    let retries = config.connection_retries();
    let attempts = async {
        let mut attempt = 0;
        loop {
            let result = e2b_api::with_request_extras(extras.clone(), send(client.clone())).await;
            let (failure, kind) = match result {
                Ok(response) => {
                    tracing::Span::current().record("status", response.status().as_u16());
                    tracing::Span::current().record("attempts", attempt + 1);
                    let headers = response.headers().clone();
                    return Ok(ApiResponse { headers, value: response.into_inner() });
                }
                Err(err) => classify(&call, err).await,
            };
            if !retry::should_retry(call.idempotency, kind, attempt, retries) {
                if let Some(status) = failure.status() {
                    tracing::Span::current().record("status", status);
                }
                tracing::Span::current().record("attempts", attempt + 1);
                tracing::debug!(?failure, "control-plane call failed");
                return Err(failure);
            }
            let delay = retry::backoff(attempt);
            tracing::debug!(?failure, ?delay, attempt, "retrying control-plane call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    };
    match call.timeout {
        Some(timeout) => match tokio::time::timeout(timeout, attempts).instrument(span).await {
            Ok(result) => result,
            Err(_) => Err(ApiFailure::Error(Error::request_timeout(call.stage(Phase::Send)))),
        },
        None => attempts.instrument(span).await,
    }
}

/// Maps a generated-client error to a failure and how retrying sees it.
async fn classify(call: &ApiCall, err: ApiError) -> (ApiFailure, Failure) {
    let sent = call.stage(Phase::Send);
    match err {
        e2b_api::Error::InvalidRequest(message) => {
            (Error::invalid_argument(call.stage(Phase::Validate), message).into(), Failure::Final)
        }
        e2b_api::Error::CommunicationError(source) | e2b_api::Error::InvalidUpgrade(source) => {
            let kind = if source.is_connect() {
                Failure::Connect
            } else if source.is_timeout() {
                Failure::Final
            } else {
                Failure::Dropped
            };
            (Error::transport(sent, source).into(), kind)
        }
        e2b_api::Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let message = response.into_inner().message;
            (
                ApiFailure::Status { stage: call.stage(Phase::Respond), status, message },
                Failure::Status(status),
            )
        }
        e2b_api::Error::ResponseBodyError(source) => {
            let kind = if source.is_timeout() { Failure::Final } else { Failure::Dropped };
            (Error::transport(call.stage(Phase::Decode), source).into(), kind)
        }
        e2b_api::Error::InvalidResponsePayload(body, source) => {
            // A success status whose body is an error object is an error
            // (the official SDKs raise "<message>: Request failed").
            let err = match serde_json::from_slice::<types::Error>(&body) {
                Ok(api_error) => Error::sandbox(
                    call.stage(Phase::Decode),
                    format!("{}: Request failed", api_error.message),
                ),
                Err(_) => Error::decode(
                    call.stage(Phase::Decode),
                    format!("the body does not match the API schema ({source}): {}", excerpt(&body)),
                ),
            };
            (err.into(), Failure::Final)
        }
        e2b_api::Error::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            if response.status().is_success() {
                let err =
                    Error::decode(call.stage(Phase::Decode), format!("unexpected success status {status}"));
                return (err.into(), Failure::Final);
            }
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(source) => {
                    return (Error::transport(call.stage(Phase::Decode), source).into(), Failure::Dropped);
                }
            };
            // The e2b-api hook has normalized error bodies to {code, message}.
            let message = serde_json::from_slice::<types::Error>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| excerpt(&body));
            (
                ApiFailure::Status { stage: call.stage(Phase::Respond), status, message },
                Failure::Status(status),
            )
        }
        e2b_api::Error::Custom(message) => (Error::sandbox(sent, message).into(), Failure::Final),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, message: &str) -> ApiFailure {
        ApiFailure::Status { stage: Stage::new("op", Phase::Respond), status, message: message.into() }
    }

    #[test]
    fn generic_mapping_matches_the_official_sdks() {
        let err = status(401, "bad key").into_error();
        assert!(matches!(err, Error::Authentication { ref message, .. }
            if message == "401: Unauthorized, please check your credentials. - bad key"));
        let err = status(401, "").into_error();
        assert!(matches!(err, Error::Authentication { ref message, .. }
            if message == "401: Unauthorized, please check your credentials."));
        let err = status(429, "slow").into_error();
        assert!(matches!(err, Error::RateLimit { ref message, .. }
            if message == "429: Rate limit exceeded, please try again later. - slow"));
        for code in [400, 403, 409, 500, 502, 503, 504] {
            let err = status(code, "why").into_error();
            assert!(matches!(err, Error::Sandbox { ref message, .. } if *message == format!("{code}: why")));
        }
        let err = status(404, "nope").into_error_404_sandbox("abc");
        assert!(
            matches!(err, Error::SandboxNotFound { ref message, .. } if message == "Sandbox abc not found")
        );
        assert!(matches!(status(500, "x").into_error_404_sandbox("abc"), Error::Sandbox { .. }));
    }
}
