//! Async streams as blocking iterators: each `next` moves the stream to the
//! runtime, polls it once there, and moves it back.

use std::fmt;

use e2b::Result;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _};

use crate::runtime;

/// The next item of the stream in `slot`, waiting for it on the runtime.
/// The slot is emptied when the stream ends or the call fails (from inside
/// an async runtime), so that the iterator is fused.
pub(crate) fn next_blocking<S>(slot: &mut Option<S>, operation: &'static str) -> Option<Result<S::Item>>
where
    S: Stream + Unpin + Send + 'static,
    S::Item: Send + 'static,
{
    let mut stream = slot.take()?;
    let polled = runtime::block_on(operation, async move {
        let item = stream.next().await;
        (stream, item)
    });
    match polled {
        Ok((stream, Some(item))) => {
            *slot = Some(stream);
            Some(Ok(item))
        }
        Ok((_, None)) => None,
        Err(err) => Some(Err(err)),
    }
}

/// The live output of a command ([`CommandOutput`](crate::CommandOutput)
/// chunks) or a terminal (raw bytes), as an iterator that waits for each
/// chunk and ends with the process; from
/// [`CommandHandle::output`](crate::CommandHandle::output) and
/// [`PtyHandle::output`](crate::PtyHandle::output).
///
/// Items are `Err` only when the iterator is used from inside an async
/// runtime (see [`is_in_async_runtime`](crate::is_in_async_runtime)); the
/// iterator ends after an error.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let handle = sandbox.commands().run("for i in 1 2 3; do echo $i; done").spawn()?;
/// for chunk in handle.output() {
///     if let e2b_blocking::CommandOutput::Stdout(text) = chunk? {
///         print!("{text}");
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "an iterator does nothing unless consumed"]
pub struct OutputIter<T> {
    stream: Option<BoxStream<'static, T>>,
    operation: &'static str,
}

impl<T> fmt::Debug for OutputIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputIter").field("finished", &self.stream.is_none()).finish()
    }
}

impl<T: Send + 'static> OutputIter<T> {
    pub(crate) fn new(stream: impl Stream<Item = T> + Send + 'static, operation: &'static str) -> Self {
        Self { stream: Some(stream.boxed()), operation }
    }
}

impl<T: Send + 'static> Iterator for OutputIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        next_blocking(&mut self.stream, self.operation)
    }
}

impl<T: Send + 'static> std::iter::FusedIterator for OutputIter<T> {}
