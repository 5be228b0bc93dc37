//! RPC errors ([`Status`]) and the client's error type ([`Error`]).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::Code;

/// Boxed error used for transport failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An RPC error as Connect carries it: a code, a message, typed details and
/// metadata (HTTP headers for unary calls, end-of-stream metadata for streams).
///
/// ```
/// use e2b_connect::{Code, Status};
///
/// let status = Status::new(Code::NotFound, "process with pid 7 not found");
/// assert_eq!(status.to_string(), "not_found: process with pid 7 not found");
/// assert_eq!(
///     status.to_json(),
///     serde_json::json!({"code": "not_found", "message": "process with pid 7 not found"}),
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    // Boxed: errors travel in `Result`s on every hot path, keep them small.
    inner: Box<StatusInner>,
}

#[derive(Clone, Debug, PartialEq)]
struct StatusInner {
    code: Code,
    message: String,
    details: Vec<ErrorDetail>,
    metadata: HeaderMap,
}

/// One error detail: a protobuf message (by type name) and its binary value.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDetail {
    /// Fully qualified protobuf type name, e.g. `google.rpc.RetryInfo`.
    pub type_name: String,
    /// The binary-encoded message.
    pub value: Bytes,
    /// An optional JSON rendering, for humans only.
    pub debug: Option<serde_json::Value>,
}

/// The JSON form of an error (Connect's unary error body and the `error` of an
/// end-of-stream message).
#[derive(Serialize, Deserialize)]
pub(crate) struct ErrorJson {
    pub(crate) code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) details: Vec<DetailJson>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DetailJson {
    #[serde(rename = "type")]
    pub(crate) type_name: String,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) debug: Option<serde_json::Value>,
}

impl Status {
    /// A status with a code and message, no details or metadata.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Status::from_parts(code, message.into(), Vec::new(), HeaderMap::new())
    }

    fn from_parts(code: Code, message: String, details: Vec<ErrorDetail>, metadata: HeaderMap) -> Self {
        Status { inner: Box::new(StatusInner { code, message, details, metadata }) }
    }

    /// The error code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The human-readable message (may be empty).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Typed error details.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.inner.details
    }

    /// Headers or trailers that came with the error.
    pub fn metadata(&self) -> &HeaderMap {
        &self.inner.metadata
    }

    /// Adds a detail.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.inner.details.push(detail);
        self
    }

    /// Replaces the metadata.
    pub fn with_metadata(mut self, metadata: HeaderMap) -> Self {
        self.inner.metadata = metadata;
        self
    }

    /// The Connect JSON form: `{"code": ..., "message": ..., "details": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_error_json()).expect("error JSON always serializes")
    }

    pub(crate) fn to_error_json(&self) -> ErrorJson {
        ErrorJson {
            code: self.inner.code.as_str().to_owned(),
            message: self.inner.message.clone(),
            details: self
                .inner
                .details
                .iter()
                .map(|d| DetailJson {
                    type_name: d.type_name.clone(),
                    value: base64::engine::general_purpose::STANDARD_NO_PAD.encode(&d.value),
                    debug: d.debug.clone(),
                })
                .collect(),
        }
    }

    /// Parses the JSON form; `None` when `code` is not a valid Connect code.
    pub(crate) fn from_error_json(json: ErrorJson) -> Option<Status> {
        let code = json.code.parse().ok()?;
        let details = json
            .details
            .into_iter()
            .filter_map(|d| {
                Some(ErrorDetail {
                    value: decode_base64(&d.value)?.into(),
                    type_name: d.type_name,
                    debug: d.debug,
                })
            })
            .collect();
        Some(Status::from_parts(code, json.message, details, HeaderMap::new()))
    }
}

/// Connect sends details unpadded; accept padded and URL-safe forms too.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = text.trim_end_matches('=');
    STANDARD_NO_PAD.decode(trimmed).or_else(|_| URL_SAFE_NO_PAD.decode(trimmed)).ok()
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StatusInner { code, message, .. } = &*self.inner;
        if message.is_empty() { write!(f, "{code}") } else { write!(f, "{code}: {message}") }
    }
}

impl std::error::Error for Status {}

/// `google.rpc.Status`, as gRPC carries details in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "bytes", tag = "2")]
    value: Bytes,
}

impl From<tonic::Status> for Status {
    /// Keeps code, message, details and metadata. gRPC's `Ok` (which is not
    /// an error) becomes `unknown`.
    fn from(status: tonic::Status) -> Self {
        let code = Code::from_grpc(status.code()).unwrap_or(Code::Unknown);
        let details = if status.details().is_empty() {
            Vec::new()
        } else {
            match <RpcStatus as prost::Message>::decode(status.details()) {
                Ok(rpc) => rpc
                    .details
                    .into_iter()
                    .map(|any| ErrorDetail {
                        type_name: any.type_url.rsplit('/').next().unwrap_or_default().to_owned(),
                        value: any.value,
                        debug: None,
                    })
                    .collect(),
                Err(_) => Vec::new(),
            }
        };
        let mut metadata = status.metadata().clone().into_headers();
        for reserved in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
            metadata.remove(reserved);
        }
        Status::from_parts(code, status.message().to_owned(), details, metadata)
    }
}

impl From<Status> for tonic::Status {
    fn from(status: Status) -> Self {
        let StatusInner { code, message, details, metadata } = *status.inner;
        let details = RpcStatus {
            code: code.to_grpc() as i32,
            message: message.clone(),
            details: details
                .iter()
                .map(|d| Any {
                    type_url: format!("type.googleapis.com/{}", d.type_name),
                    value: d.value.clone(),
                })
                .collect(),
        };
        let bytes = if details.details.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(prost::Message::encode_to_vec(&details))
        };
        tonic::Status::with_details_and_metadata(
            code.to_grpc(),
            message,
            bytes,
            tonic::metadata::MetadataMap::from_headers(metadata),
        )
    }
}

/// Why a client call failed, and at which stage.
///
/// Every variant has a Connect [`Code`] ([`Error::code`]), so callers can map
/// errors uniformly, while still telling a server's answer
/// ([`Error::Status`]) from a connection that failed ([`Error::Transport`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server (or a proxy in front of it) answered with an error.
    #[error("{0}")]
    Status(Status),
    /// Connecting, sending or receiving failed at the transport level.
    #[error("transport error: {0}")]
    Transport(#[source] BoxError),
    /// The client-side deadline elapsed.
    #[error("deadline of {0:?} exceeded")]
    Timeout(Duration),
    /// The peer broke the Connect protocol (bad framing, content type, ...).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A message could not be encoded or decoded.
    #[error("codec error: {0}")]
    Codec(String),
    /// A message exceeded the configured maximum size.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Size of the offending message (at least).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The request could not be built (bad URL, header, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client configuration is invalid (CA bundle, user agent, ...).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The Connect code that best describes the failure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use e2b_connect::{Code, Error};
    /// assert_eq!(Error::Timeout(Duration::from_secs(1)).code(), Code::DeadlineExceeded);
    /// ```
    pub fn code(&self) -> Code {
        match self {
            Error::Status(s) => s.code(),
            Error::Transport(_) => Code::Unavailable,
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::Protocol(_) => Code::Internal,
            Error::Codec(_) => Code::Internal,
            Error::MessageTooLarge { .. } => Code::ResourceExhausted,
            Error::InvalidRequest(_) | Error::Config(_) => Code::InvalidArgument,
        }
    }

    /// The server's error, when there is one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Status(s) => Some(s),
            _ => None,
        }
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Error::Status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonic_round_trip_keeps_details_and_metadata() {
        let mut metadata = HeaderMap::new();
        metadata.insert("x-trace", "abc".parse().unwrap());
        let status = Status::new(Code::ResourceExhausted, "disk full")
            .with_detail(ErrorDetail {
                type_name: "google.rpc.QuotaFailure".into(),
                value: Bytes::from_static(b"\x01\x02"),
                debug: None,
            })
            .with_metadata(metadata);
        let back = Status::from(tonic::Status::from(status.clone()));
        assert_eq!(back, status);
    }

    #[test]
    fn json_details_are_unpadded_base64() {
        let status = Status::new(Code::Internal, "x").with_detail(ErrorDetail {
            type_name: "t".into(),
            value: Bytes::from_static(b"ab"),
            debug: None,
        });
        assert_eq!(status.to_json()["details"][0]["value"], "YWI");
        let json: ErrorJson = serde_json::from_value(
            serde_json::json!({"code":"internal","details":[{"type":"t","value":"YWI="}]}),
        )
        .unwrap();
        assert_eq!(Status::from_error_json(json).unwrap().details()[0].value, Bytes::from_static(b"ab"));
    }
}
