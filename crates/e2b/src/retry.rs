//! When and how long to wait before retrying a failed request.
//!
//! A request that never reached the server (the connection could not be
//! established) is always safe to repeat. Anything else is repeated only for
//! idempotent calls, and only for failures that are usually transient: a
//! dropped connection or a gateway error (502/503/504) from the control
//! plane.

use std::time::Duration;

/// Whether repeating a call could change its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Safe to repeat: reads, deletes, setting an absolute value.
    Idempotent,
    /// Not safe: creating things.
    NonIdempotent,
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection could not be established; nothing was sent.
    Connect,
    /// The connection failed after the request may have been sent.
    Dropped,
    /// The server answered with this status.
    Status(u16),
    /// Anything else (deadlines, decoding, client-side checks).
    Final,
}

const BASE_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Whether attempt number `attempt` (0-based) that failed with `failure`
/// should be followed by another, given `retries` allowed retries.
pub(crate) fn should_retry(idempotency: Idempotency, failure: Failure, attempt: u32, retries: u32) -> bool {
    if attempt >= retries {
        return false;
    }
    match failure {
        Failure::Connect => true,
        Failure::Dropped => idempotency == Idempotency::Idempotent,
        Failure::Status(status) => idempotency == Idempotency::Idempotent && matches!(status, 502..=504),
        Failure::Final => false,
    }
}

/// Exponential backoff with full jitter: a random delay up to
/// `BASE_DELAY * 2^attempt`, capped at `MAX_DELAY`, so that clients that
/// failed together do not retry together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_DELAY.saturating_mul(1u32 << attempt.min(16)).min(MAX_DELAY);
    ceiling.mul_f64(rand::random::<f64>().max(0.1))
}

/// Runs `attempt` again after each failure that `dropped` says was a dropped connection,
/// as far as [`should_retry`] allows for `idempotency`, sleeping [`backoff`] between tries
/// and never sleeping past `deadline`. Returns the last attempt's result.
pub(crate) async fn after_dropped_connections<T, E, Fut>(
    idempotency: Idempotency,
    retries: u32,
    deadline: Option<std::time::Instant>,
    mut attempt: impl FnMut() -> Fut,
    dropped: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    E: std::fmt::Display,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 0;
    loop {
        let err = match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let delay = backoff(tries);
        let in_time = deadline.is_none_or(|d| std::time::Instant::now() + delay < d);
        if !(dropped(&err) && in_time && should_retry(idempotency, Failure::Dropped, tries, retries)) {
            return Err(err);
        }
        tracing::debug!(attempt = tries, error = %err, "retrying after a dropped connection");
        tokio::time::sleep(delay).await;
        tries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_calls_retry_after_sending() {
        use Failure::*;
        use Idempotency::*;
        assert!(should_retry(NonIdempotent, Connect, 0, 3));
        assert!(!should_retry(NonIdempotent, Dropped, 0, 3));
        assert!(!should_retry(NonIdempotent, Status(503), 0, 3));
        assert!(should_retry(Idempotent, Dropped, 2, 3));
        for status in [502, 503, 504] {
            assert!(should_retry(Idempotent, Status(status), 0, 3));
        }
        for status in [400, 401, 404, 409, 429, 500] {
            assert!(!should_retry(Idempotent, Status(status), 0, 3));
        }
        assert!(!should_retry(Idempotent, Final, 0, 3));
        assert!(!should_retry(Idempotent, Connect, 3, 3));
        assert!(!should_retry(Idempotent, Connect, 0, 0));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..40 {
            let delay = backoff(attempt);
            let ceiling = BASE_DELAY.saturating_mul(1u32 << attempt.min(16)).min(MAX_DELAY);
            assert!(delay <= ceiling && delay >= ceiling.mul_f64(0.1), "{attempt}: {delay:?}");
        }
    }
}
