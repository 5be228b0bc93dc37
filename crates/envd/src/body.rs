//! Request bodies envd can still drain after a handler gave up on them.
//!
//! A handler that refuses a request early (a missing token, a bad upload
//! path) never reads the body. HTTP/1.1 clients that are still sending it
//! then see the connection closed under them and report a broken pipe
//! instead of the refusal; the official Python SDK turns that into a
//! network error rather than, say, an `AuthenticationException`. Like Go's
//! `net/http`, envd reads and discards a bounded remainder before
//! answering an error, so the client gets the answer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

type Slot<B> = Arc<Mutex<Option<Pin<Box<B>>>>>;

/// The body a handler sees; reading it reads the shared original.
pub(crate) struct Retained<B> {
    slot: Slot<B>,
}

/// What stays with the dispatcher: the same body, for draining.
pub(crate) struct Remainder<B> {
    slot: Slot<B>,
}

/// Splits `body` into the handler's view and the dispatcher's.
pub(crate) fn retain<B>(body: B) -> (Retained<B>, Remainder<B>) {
    let slot = Arc::new(Mutex::new(Some(Box::pin(body))));
    (Retained { slot: Arc::clone(&slot) }, Remainder { slot })
}

fn lock<B>(slot: &Slot<B>) -> std::sync::MutexGuard<'_, Option<Pin<Box<B>>>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl<B: Body> Body for Retained<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match lock(&self.slot).as_mut() {
            Some(body) => body.as_mut().poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        lock(&self.slot).as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        lock(&self.slot).as_ref().map(|b| b.size_hint()).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl<B: Body> Remainder<B> {
    /// Reads and discards what is left of the body, up to `limit` bytes
    /// and `time`.
    pub(crate) async fn drain(self, limit: usize, time: Duration) {
        let Some(mut body) = lock(&self.slot).take() else { return };
        if body.is_end_stream() {
            return;
        }
        let reading = async {
            let mut seen = 0usize;
            while seen <= limit {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            seen += bytes::Buf::remaining(data);
                        }
                    }
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(time, reading).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn the_handler_reads_through_and_the_rest_can_be_drained() {
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
            (0..4).map(|i| Ok(Frame::data(Bytes::from(vec![i as u8; 10])))).collect();
        let (mut handler, rest) = retain(StreamBody::new(futures::stream::iter(chunks)));
        let first = handler.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first.len(), 10);
        drop(handler);
        rest.drain(1024, Duration::from_secs(1)).await;

        let (handler, rest) = retain(Full::new(Bytes::from_static(b"abc")));
        assert_eq!(handler.collect().await.unwrap().to_bytes(), "abc");
        rest.drain(1024, Duration::from_secs(1)).await;
    }
}
