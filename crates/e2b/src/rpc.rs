//! envd's Connect RPCs: the sandbox's routing and auth headers, the acting
//! user, keepalive, deadlines, and the mapping of RPC failures to SDK errors
//! (PROTOCOL.md 5.1).

use std::time::Duration;

use base64::Engine as _;
use e2b_connect::client::{Request, Streaming};
use e2b_connect::{Code, Message, Status};
use futures::StreamExt as _;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tracing::Instrument as _;

use crate::envd::{Envd, NotFoundMeans};
use crate::error::{Error, Phase, Result, Stage};
use crate::retry::{self, Idempotency};

/// Seconds between keepalive events envd sends on long streams.
const KEEPALIVE_PING_INTERVAL: &str = "50";

/// One RPC: what it is for, who acts, and what a missing thing means.
#[derive(Clone, Debug)]
pub(crate) struct RpcCall {
    pub(crate) operation: &'static str,
    /// The user to authenticate as, already resolved (see
    /// [`Envd::effective_user`]); `None` sends no user.
    pub(crate) user: Option<String>,
    pub(crate) not_found: NotFoundMeans,
    /// Whether the call may be repeated after a dropped connection.
    pub(crate) idempotency: Idempotency,
}

impl RpcCall {
    pub(crate) fn new(operation: &'static str, user: Option<String>, not_found: NotFoundMeans) -> Self {
        Self { operation, user, not_found, idempotency: Idempotency::NonIdempotent }
    }

    /// Marks a read that is safe to repeat.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    fn stage(&self, phase: Phase) -> Stage {
        Stage::new(self.operation, phase)
    }
}

/// `Basic base64("<user>:")`: envd takes the user from the name and ignores
/// the password.
fn basic_auth(user: &str) -> Option<HeaderValue> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:"));
    HeaderValue::from_str(&format!("Basic {encoded}")).ok()
}

impl Envd {
    fn rpc_request<T>(
        &self,
        message: T,
        call: &RpcCall,
        timeout: Option<Duration>,
        keepalive: bool,
    ) -> Request<T> {
        let mut request = Request::new(message).timeout(timeout.unwrap_or(Duration::ZERO));
        let headers = request.headers_mut();
        for (name, value) in self.routing_headers() {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(value) = call.user.as_deref().and_then(basic_auth) {
            headers.insert(AUTHORIZATION, value);
        }
        if keepalive {
            headers.insert("keepalive-ping-interval", HeaderValue::from_static(KEEPALIVE_PING_INTERVAL));
        }
        request
    }

    /// A unary RPC bounded by the request timeout.
    pub(crate) async fn unary<Req: Message + Clone, Resp: Message>(
        &self,
        path: &'static str,
        message: Req,
        call: &RpcCall,
        request_timeout: Option<Duration>,
    ) -> Result<Resp> {
        self.unary_unless(path, message, call, request_timeout, None)
            .await?
            .ok_or_else(|| Error::sandbox(call.stage(Phase::Respond), "no answer"))
    }

    /// A unary RPC where an error with code `expected` is an answer too:
    /// `Ok(None)` (e.g. `not_found` for "does it exist?").
    pub(crate) async fn unary_unless<Req: Message + Clone, Resp: Message>(
        &self,
        path: &'static str,
        message: Req,
        call: &RpcCall,
        request_timeout: Option<Duration>,
        expected: Option<Code>,
    ) -> Result<Option<Resp>> {
        let timeout = self.request_timeout(request_timeout);
        let span = tracing::info_span!(
            "e2b.envd",
            operation = call.operation,
            rpc = path,
            sandbox_id = self.sandbox_id()
        );
        // A dropped connection is repeated for reads, with backoff, within the deadline.
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let send = || {
            let request = self.rpc_request(message.clone(), call, timeout, false);
            self.rpc.unary::<Req, Resp>(&self.base_url, path, request).instrument(span.clone())
        };
        let dropped = |err: &e2b_connect::Error| matches!(err, e2b_connect::Error::Transport(_));
        match retry::after_dropped_connections(call.idempotency, self.retries, deadline, send, dropped).await
        {
            Ok(response) => Ok(Some(response.into_message())),
            Err(e2b_connect::Error::Status(status)) if Some(status.code()) == expected => Ok(None),
            Err(err) => Err(self.rpc_error(call.stage(Phase::Respond), err, call.not_found).await),
        }
    }

    /// Opens a server stream and waits for its first message: the stream is
    /// bounded by `timeout` as a whole (sent as `Connect-Timeout-Ms`), the
    /// wait for the first message by the request timeout.
    pub(crate) async fn open_stream<Req: Message, Resp: Message>(
        &self,
        path: &'static str,
        message: Req,
        call: &RpcCall,
        timeout: Option<Duration>,
        request_timeout: Option<Duration>,
    ) -> Result<(Resp, Streaming<Resp>)> {
        let first_deadline = self.request_timeout(request_timeout);
        let span = tracing::info_span!(
            "e2b.envd",
            operation = call.operation,
            rpc = path,
            sandbox_id = self.sandbox_id()
        );
        let request = self.rpc_request(message, call, timeout, true);
        let open = async {
            let mut stream = self.rpc.server_streaming::<Req, Resp>(&self.base_url, path, request).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok(Ok((first, stream))),
                Some(Err(err)) => Err(err),
                None => Ok(Err(Error::sandbox(
                    call.stage(Phase::Stream),
                    "the stream ended before its first event",
                ))),
            }
        }
        .instrument(span);
        let opened = match first_deadline {
            Some(deadline) => match tokio::time::timeout(deadline, open).await {
                Ok(opened) => opened,
                Err(_) => return Err(Error::request_timeout(call.stage(Phase::Send))),
            },
            None => open.await,
        };
        match opened {
            Ok(result) => result,
            Err(err) => Err(self.rpc_error(call.stage(Phase::Respond), err, call.not_found).await),
        }
    }

    /// Maps a Connect client error. A dropped connection may mean the
    /// sandbox died: probe `/health` and say so when it did.
    pub(crate) async fn rpc_error(
        &self,
        stage: Stage,
        err: e2b_connect::Error,
        not_found: NotFoundMeans,
    ) -> Error {
        match err {
            e2b_connect::Error::Status(status) => error_from_status(stage, &status, not_found),
            e2b_connect::Error::Timeout(timeout) => {
                deadline_exceeded(stage, &format!("deadline of {timeout:?} exceeded"))
            }
            e2b_connect::Error::Transport(_) => {
                if matches!(self.is_running(Some(Duration::from_secs(5))).await, Ok(false)) {
                    return Error::SandboxGone {
                        stage,
                        message: format!(
                            "{err}: The sandbox was killed or reached its end of life while the request was in flight."
                        ),
                    };
                }
                Error::Rpc { stage, source: err }
            }
            other => Error::Rpc { stage, source: other },
        }
    }
}

fn deadline_exceeded(stage: Stage, message: &str) -> Error {
    Error::Timeout {
        stage,
        message: format!(
            "{message}: This error is likely due to exceeding `timeout` — the total time a long running request \
             (like a process or a directory watch) can be active — or `request_timeout`. You can change them \
             on the request; `Duration::ZERO` disables them."
        ),
    }
}

/// The official SDKs' mapping of RPC error codes.
pub(crate) fn error_from_status(stage: Stage, status: &Status, not_found: NotFoundMeans) -> Error {
    let message = status.message().to_owned();
    match status.code() {
        Code::InvalidArgument => Error::InvalidArgument { stage, message },
        Code::Unauthenticated => Error::Authentication { stage, message },
        Code::NotFound if not_found == NotFoundMeans::File => Error::FileNotFound { stage, message },
        Code::NotFound => Error::NotFound { stage, message },
        Code::Unavailable => Error::sandbox_gone(stage, &message),
        Code::ResourceExhausted => Error::RateLimit {
            stage,
            message: format!("{message}: Rate limit exceeded, please try again later."),
        },
        Code::Canceled => Error::Timeout {
            stage,
            message: format!(
                "{message}: The request was cancelled by the server or a proxy while it was in flight — for \
                 example when the sandbox is paused or shut down."
            ),
        },
        Code::DeadlineExceeded => deadline_exceeded(stage, &message),
        code => Error::sandbox(stage, format!("{code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE: Stage = Stage::new("op", Phase::Respond);

    #[test]
    fn codes_map_like_the_official_sdks() {
        let e = |code, nf| error_from_status(STAGE, &Status::new(code, "why"), nf);
        assert!(matches!(e(Code::InvalidArgument, NotFoundMeans::Other), Error::InvalidArgument { .. }));
        assert!(matches!(e(Code::Unauthenticated, NotFoundMeans::Other), Error::Authentication { .. }));
        assert!(matches!(e(Code::NotFound, NotFoundMeans::File), Error::FileNotFound { .. }));
        assert!(matches!(e(Code::NotFound, NotFoundMeans::Other), Error::NotFound { .. }));
        let gone = e(Code::Unavailable, NotFoundMeans::Other);
        assert!(
            matches!(gone, Error::SandboxGone { ref message, .. } if message.starts_with("why: This error is likely due to sandbox timeout"))
        );
        assert!(matches!(e(Code::ResourceExhausted, NotFoundMeans::Other), Error::RateLimit { .. }));
        assert!(e(Code::Canceled, NotFoundMeans::Other).is_timeout());
        let deadline = e(Code::DeadlineExceeded, NotFoundMeans::Other);
        assert!(matches!(deadline, Error::Timeout { ref message, .. } if message.contains("`timeout`")));
        assert!(
            matches!(e(Code::Internal, NotFoundMeans::Other), Error::Sandbox { ref message, .. } if message == "internal: why")
        );
        assert!(
            matches!(e(Code::AlreadyExists, NotFoundMeans::Other), Error::Sandbox { ref message, .. } if message == "already_exists: why")
        );
    }

    #[test]
    fn users_travel_as_basic_auth() {
        assert_eq!(basic_auth("user").unwrap(), "Basic dXNlcjo=");
        assert_eq!(basic_auth("root").unwrap(), "Basic cm9vdDo=");
    }
}
