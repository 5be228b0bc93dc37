//! Forking: a running sandbox is checkpointed in place and `count` new sandboxes start
//! from that checkpoint; each fork succeeds or fails on its own.

use std::time::Duration;

use e2b_api::control::{Client as ApiClient, types};

use super::Sandbox;
use crate::client::{Client, lifetime_seconds, send_on_await};
use crate::control::{self, ApiCall, ApiFailure};
use crate::error::{Error, Phase, Result, Stage};
use crate::retry::Idempotency;

const OPERATION: &str = "fork sandbox";

/// Forks a sandbox; from [`Client::fork`] or [`Sandbox::fork`]. Resolves to one entry per
/// requested fork: the new sandbox, or why that fork failed to start (a failure of the
/// whole request, such as an unknown sandbox, is the outer error).
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// for fork in sandbox.fork().count(2).await? {
///     let fork = fork?;
///     println!("forked into {}", fork.sandbox_id());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ForkSandbox {
    client: Client,
    sandbox_id: String,
    timeout: Option<Duration>,
    count: u32,
    request_timeout: Option<Duration>,
}

impl ForkSandbox {
    pub(crate) fn new(client: Client, sandbox_id: String) -> Self {
        Self { client, sandbox_id, timeout: None, count: 1, request_timeout: None }
    }

    /// Lifetime of each fork (default 300 s).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let forks = sandbox.fork().timeout(std::time::Duration::from_secs(600)).await?;
    /// # let _ = forks; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many forks to start (default 1, at least 1).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let forks = sandbox.fork().count(3).await?;
    /// assert_eq!(forks.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// The deadline of this request (`Duration::ZERO` for none).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let forks = sandbox.fork().request_timeout(std::time::Duration::from_secs(120)).await?;
    /// # let _ = forks; Ok(()) }
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
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let forks = client.fork("i1b2c3d4e5f6g7h8j9k0").send().await?;
    /// # let _ = forks; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<Result<Sandbox>>> {
        let count = std::num::NonZeroU32::new(self.count).ok_or_else(|| {
            Error::invalid_argument(Stage::new(OPERATION, Phase::Validate), "count must be at least 1")
        })?;
        let config = self.client.config();
        let sandbox_id = self.sandbox_id.as_str();
        // Not idempotent: a repeated request would start more forks.
        let call = ApiCall::new(OPERATION, Idempotency::NonIdempotent, config)
            .sandbox(sandbox_id)
            .timeout(self.request_timeout);
        let body = &types::SandboxForkRequest { count, timeout: lifetime_seconds(self.timeout) };
        let response = control::call(config, call, |api: ApiClient| async move {
            api.fork_sandbox().sandbox_id(sandbox_id).body(body.clone()).send().await
        })
        .await
        .map_err(|failure| match failure {
            // The server's message says what was not found (E2B's SDKs keep it here).
            ApiFailure::Status { stage, status: 404, message } if !message.is_empty() => {
                Error::SandboxNotFound { stage, message }
            }
            other => other.into_error_404_sandbox(sandbox_id),
        })?;
        Ok(response.value.into_iter().map(|result| self.fork_result(result)).collect())
    }

    fn fork_result(&self, result: types::SandboxForkResult) -> Result<Sandbox> {
        let stage = Stage::new(OPERATION, Phase::Respond);
        match (result.sandbox, result.error) {
            (Some(sandbox), None) => Sandbox::from_api(self.client.clone(), sandbox, OPERATION),
            (_, Some(error)) if error.code == 404 => {
                Err(Error::NotFound { stage, message: format!("{}: {}", error.code, error.message) })
            }
            (_, Some(error)) => Err(ApiFailure::Status {
                stage,
                status: u16::try_from(error.code).unwrap_or(500),
                message: error.message,
            }
            .into_error()),
            (None, None) => Err(Error::sandbox(stage, "Failed to start forked sandbox")),
        }
    }
}

send_on_await!(ForkSandbox => Vec<Result<Sandbox>>);
