//! The JSON error body of every plain-HTTP endpoint.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// An HTTP error answered as `{"code": <status>, "message": "<text>"}`.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError { status, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// `application/json; charset=utf-8`, as upstream labels its errors.
pub(crate) const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        tracing::info!(status = self.status.as_u16(), message = %self.message, "request failed");
        let body = serde_json::json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, [(header::CONTENT_TYPE, JSON_UTF8)], body.to_string()).into_response()
    }
}
