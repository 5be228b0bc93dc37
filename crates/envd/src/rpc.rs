//! What every RPC reads from its request headers (user, deadline, keepalive
//! interval), and the server-stream type all streaming RPCs return.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::DropGuard;
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::settings::Settings;
use crate::users::{SystemUser, UserError, basic_auth_username};

/// Keepalive interval when the client names none (upstream's default).
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(90);

impl From<UserError> for Status {
    fn from(err: UserError) -> Self {
        match err {
            UserError::Lookup { .. } => Status::internal(err.to_string()),
            _ => Status::unauthenticated(err.to_string()),
        }
    }
}

/// The user an RPC acts as: `Authorization: Basic` names it, otherwise the
/// default user.
pub(crate) fn request_user(settings: &Settings, metadata: &MetadataMap) -> Result<SystemUser, Status> {
    let named = match metadata.get("authorization") {
        Some(value) => basic_auth_username(value.as_bytes())?,
        None => None,
    };
    let name = named.or_else(|| settings.default_user()).ok_or(UserError::NoUser)?;
    Ok(SystemUser::lookup(&name)?)
}

/// The request's deadline: `Connect-Timeout-Ms` (Connect), else
/// `grpc-timeout` (gRPC). Zero or negative means none; garbage is an error.
pub(crate) fn request_timeout(metadata: &MetadataMap) -> Result<Option<Duration>, Status> {
    if let Some(value) = metadata.get("connect-timeout-ms") {
        let text = value.to_str().unwrap_or("");
        let ms: i64 = text
            .trim()
            .parse()
            .map_err(|_| Status::invalid_argument(format!("invalid Connect-Timeout-Ms header {text:?}")))?;
        return Ok((ms > 0).then(|| Duration::from_millis(ms as u64)));
    }
    if let Some(value) = metadata.get("grpc-timeout") {
        let text = value.to_str().unwrap_or("");
        return parse_grpc_timeout(text)
            .map(Some)
            .ok_or_else(|| Status::invalid_argument(format!("invalid grpc-timeout header {text:?}")));
    }
    Ok(None)
}

fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `Keepalive-Ping-Interval` in seconds; 90 when absent or unusable.
pub(crate) fn keepalive_interval(metadata: &MetadataMap) -> Duration {
    metadata
        .get("keepalive-ping-interval")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_KEEPALIVE)
}

/// A server stream fed by a channel, with keepalive messages whenever the
/// interval passes without one, and an optional deadline after which it
/// fails with `deadline_exceeded`. Ends when the channel closes.
pub(crate) struct EventStream<I, T> {
    rx: mpsc::Receiver<I>,
    map: fn(I) -> Result<T, Status>,
    keepalive: fn() -> T,
    interval: Duration,
    ping: Pin<Box<Sleep>>,
    deadline: Option<Pin<Box<Sleep>>>,
    done: bool,
    /// Stops the producer when the client goes away, even if it is idle.
    _guard: Option<DropGuard>,
}

impl<I, T> EventStream<I, T> {
    pub(crate) fn new(
        rx: mpsc::Receiver<I>,
        map: fn(I) -> Result<T, Status>,
        keepalive: fn() -> T,
        interval: Duration,
        deadline: Option<Duration>,
    ) -> Self {
        EventStream {
            rx,
            map,
            keepalive,
            interval,
            ping: Box::pin(tokio::time::sleep(interval)),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep(d))),
            done: false,
            _guard: None,
        }
    }

    pub(crate) fn with_guard(mut self, guard: DropGuard) -> Self {
        self._guard = Some(guard);
        self
    }
}

impl<I, T> Stream for EventStream<I, T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the timers are boxed).
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            this.done = true;
            return Poll::Ready(Some(Err(Status::deadline_exceeded("the request's timeout elapsed"))));
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(item)) => {
                this.ping.as_mut().reset(Instant::now() + this.interval);
                let item = (this.map)(item);
                if item.is_err() {
                    this.done = true;
                }
                return Poll::Ready(Some(item));
            }
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if this.ping.as_mut().poll(cx).is_ready() {
            this.ping.as_mut().reset(Instant::now() + this.interval);
            return Poll::Ready(Some(Ok((this.keepalive)())));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn md(pairs: &[(&'static str, &'static str)]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn timeouts() {
        assert_eq!(request_timeout(&md(&[])).unwrap(), None);
        assert_eq!(
            request_timeout(&md(&[("connect-timeout-ms", "1500")])).unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(request_timeout(&md(&[("connect-timeout-ms", "0")])).unwrap(), None);
        assert_eq!(
            request_timeout(&md(&[("connect-timeout-ms", "abc")])).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(request_timeout(&md(&[("grpc-timeout", "2S")])).unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(
            request_timeout(&md(&[("grpc-timeout", "x")])).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(keepalive_interval(&md(&[("keepalive-ping-interval", "50")])), Duration::from_secs(50));
        assert_eq!(keepalive_interval(&md(&[("keepalive-ping-interval", "x")])), DEFAULT_KEEPALIVE);
    }

    #[tokio::test(start_paused = true)]
    async fn keepalives_fill_silence_and_deadline_ends_the_stream() {
        let (tx, rx) = mpsc::channel::<u32>(4);
        let mut stream =
            EventStream::new(rx, Ok, || 0, Duration::from_secs(10), Some(Duration::from_secs(25)));
        tx.send(7).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), 7);
        // Nothing for 10 s: a keepalive (0), twice, then the deadline.
        assert_eq!(stream.next().await.unwrap().unwrap(), 0);
        assert_eq!(stream.next().await.unwrap().unwrap(), 0);
        assert_eq!(stream.next().await.unwrap().unwrap_err().code(), tonic::Code::DeadlineExceeded);
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn closing_the_channel_ends_the_stream() {
        let (tx, rx) = mpsc::channel::<u32>(4);
        let mut stream = EventStream::new(rx, Ok, || 0, Duration::from_secs(10), None);
        tx.send(1).await.unwrap();
        drop(tx);
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);
        assert!(stream.next().await.is_none());
    }
}
