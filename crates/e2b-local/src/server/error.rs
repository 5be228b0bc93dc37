//! Errors of the local server: [`ServerError`] for starting and stopping it, [`ApiError`]
//! for what one request answers (`{"code", "message"}`, as E2B's API does).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::runtime::RuntimeError;

/// Why the local server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The sandbox runtime failed (host not supported, bad configuration, ...).
    #[error("sandbox runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The state database could not be opened or written.
    #[error("state database {path}: {source}")]
    Database {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The configuration is invalid (e.g. an API key not of the form `e2b_<hex>`).
    #[error("invalid server configuration: {0}")]
    Config(String),
}

/// An error answer of the control-plane API: HTTP status plus `{"code","message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn sandbox_not_found(id: &str) -> Self {
        Self::not_found(format!("sandbox \"{id}\" not found"))
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        let status = match &e {
            RuntimeError::SandboxNotFound(_)
            | RuntimeError::SnapshotNotFound(_)
            | RuntimeError::TemplateNotFound(_) => StatusCode::NOT_FOUND,
            RuntimeError::InvalidSpec(_) => StatusCode::BAD_REQUEST,
            RuntimeError::InvalidState { .. } => StatusCode::CONFLICT,
            RuntimeError::PoolExhausted(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.to_string())
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Runtime(e) => e.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}
