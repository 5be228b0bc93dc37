//! [`EnvdRequest`]: a call to envd whose only option is its request timeout, awaited
//! directly (`commands.kill(pid).await`) or after setting it
//! (`commands.kill(pid).request_timeout(d).await`).

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::Result;

type Send<T> = Box<dyn FnOnce(Option<Duration>) -> BoxFuture<'static, Result<T>> + std::marker::Send>;

/// A call to envd that takes only a request timeout; from methods such as
/// [`Commands::kill`](crate::Commands::kill) or [`Pty::resize`](crate::Pty::resize).
/// Await it, or call [`send`](Self::send).
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox, pid: u32) -> Result<(), e2b::Error> {
/// use std::time::Duration;
///
/// sandbox.commands().kill(pid).request_timeout(Duration::from_secs(5)).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited"]
pub struct EnvdRequest<T> {
    operation: &'static str,
    request_timeout: Option<Duration>,
    send: Send<T>,
}

impl<T> fmt::Debug for EnvdRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvdRequest")
            .field("operation", &self.operation)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> EnvdRequest<T> {
    pub(crate) fn new<F, Fut>(operation: &'static str, send: F) -> Self
    where
        F: FnOnce(Option<Duration>) -> Fut + std::marker::Send + 'static,
        Fut: std::future::Future<Output = Result<T>> + std::marker::Send + 'static,
    {
        Self { operation, request_timeout: None, send: Box::new(move |timeout| Box::pin(send(timeout))) }
    }

    /// How long to wait for envd's answer (default: the configuration's request timeout;
    /// `Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let running = sandbox.commands().list().request_timeout(std::time::Duration::from_secs(3)).await?;
    /// # let _ = running; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let running = sandbox.commands().list().send().await?;
    /// # let _ = running; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<T> {
        (self.send)(self.request_timeout).await
    }
}

impl<T: std::marker::Send + 'static> IntoFuture for EnvdRequest<T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'static, Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        (self.send)(self.request_timeout)
    }
}
