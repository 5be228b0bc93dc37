//! The background runtime: one thread that owns a tokio runtime and drives
//! the async SDK's futures for every blocking call.
//!
//! A blocking call checks that it is not on a thread with a tokio runtime
//! (where blocking could starve or deadlock that runtime, or this one when
//! called from one of its own callbacks), sends its future to the runtime,
//! and waits for the answer on a channel.

use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use e2b::{Error, Phase, Result, Stage};
use futures::FutureExt as _;
use tokio::sync::oneshot;

/// The message of the error a blocking call returns when it is made from a
/// thread that runs a tokio runtime.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = e2b_blocking::Client::new(e2b_blocking::ConnectionConfig::builder().api_key("e2b_0").build().unwrap());
/// match client.kill("i1b2c3d4e5f6g7h8j9k0") {
///     Err(e2b_blocking::Error::Sandbox { message, .. }) => assert_eq!(message, e2b_blocking::IN_ASYNC_RUNTIME),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
pub const IN_ASYNC_RUNTIME: &str =
    "e2b-blocking called from inside an async runtime; use the async `e2b` crate there";

/// The name of the thread that owns the runtime.
pub(crate) const RUNTIME_THREAD: &str = "e2b-blocking-runtime";

/// The name of the runtime's worker threads, which run the SDK's tasks and
/// the callbacks given to builders.
pub(crate) const WORKER_THREAD: &str = "e2b-blocking-worker";

/// Worker threads: two, so that a slow callback does not stall every other
/// call in the process.
const WORKERS: usize = 2;

/// A tokio runtime owned by a background thread.
pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Runtime {
    /// Starts the owning thread and its runtime.
    pub(crate) fn start() -> io::Result<Self> {
        let (handle_tx, handle_rx) = std_mpsc::sync_channel(1);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(RUNTIME_THREAD.to_owned()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name(WORKER_THREAD)
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = handle_tx.send(Err(err));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(runtime.handle().clone()));
            // Runs until stopped (or, for the process-wide runtime, until
            // the process exits); a dropped sender also stops it.
            runtime.block_on(async move {
                let _ = stop_rx.await;
            });
            // Cancels every task without waiting for blocking reads of
            // uploads, which may never end.
            runtime.shutdown_background();
        })?;
        let handle = match handle_rx.recv() {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("the runtime thread exited before starting its runtime")),
        };
        Ok(Self { handle, stop: Mutex::new(Some(stop_tx)), thread: Mutex::new(Some(thread)) })
    }

    /// Stops the runtime: every task is cancelled, and calls still waiting
    /// return an error. Waits for the owning thread to exit.
    pub(crate) fn stop(&self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut stop| stop.take()) {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut thread| thread.take())
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }

    /// Whether the owning thread is still running.
    #[cfg(test)]
    pub(crate) fn is_running(&self) -> bool {
        self.thread.lock().ok().and_then(|thread| thread.as_ref().map(|t| !t.is_finished())).unwrap_or(false)
    }

    /// Runs `future` on the runtime and waits for its output. Fails without
    /// running it when called from inside an async runtime, and when the
    /// runtime has stopped. A panic in the future is resumed here.
    pub(crate) fn block_on<F>(&self, operation: &'static str, future: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ensure_blocking_allowed(operation)?;
        let (tx, rx) = std_mpsc::sync_channel(1);
        // The task is dropped unrun if the runtime has shut down, which drops
        // the sender and ends the wait below.
        drop(self.handle.spawn(async move {
            let outcome = AssertUnwindSafe(future).catch_unwind().await;
            let _ = tx.send(outcome);
        }));
        match rx.recv() {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(stopped(operation)),
        }
    }

    /// [`block_on`](Self::block_on) for a fallible future.
    pub(crate) fn run<F, T>(&self, operation: &'static str, future: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.block_on(operation, future)?
    }

    /// A handle on the runtime.
    #[cfg(test)]
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The process-wide runtime, started on first use. It lives as long as the
/// process: the SDK's HTTP connection pools are process-wide too, and their
/// connections belong to the runtime that opened them.
pub(crate) fn global(operation: &'static str) -> Result<&'static Runtime> {
    static GLOBAL: OnceLock<std::result::Result<Runtime, (io::ErrorKind, String)>> = OnceLock::new();
    match GLOBAL.get_or_init(|| Runtime::start().map_err(|err| (err.kind(), err.to_string()))) {
        Ok(runtime) => Ok(runtime),
        Err((kind, message)) => Err(Error::Io {
            stage: Stage::new(operation, Phase::Validate),
            source: io::Error::new(*kind, format!("starting the e2b-blocking runtime failed: {message}")),
        }),
    }
}

/// Runs `future` on the process-wide runtime and waits for its output.
pub(crate) fn run<F, T>(operation: &'static str, future: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    ensure_blocking_allowed(operation)?;
    global(operation)?.run(operation, future)
}

/// Runs an infallible `future` on the process-wide runtime.
pub(crate) fn block_on<F>(operation: &'static str, future: F) -> Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    ensure_blocking_allowed(operation)?;
    global(operation)?.block_on(operation, future)
}

/// Fails when the current thread runs a tokio runtime (including this
/// crate's own, where callbacks run): blocking there could deadlock.
pub(crate) fn ensure_blocking_allowed(operation: &'static str) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(in_async_runtime(operation));
    }
    Ok(())
}

/// The error of a blocking call made from inside an async runtime.
pub(crate) fn in_async_runtime(operation: &'static str) -> Error {
    Error::Sandbox { stage: Stage::new(operation, Phase::Validate), message: IN_ASYNC_RUNTIME.to_owned() }
}

fn stopped(operation: &'static str) -> Error {
    Error::Sandbox {
        stage: Stage::new(operation, Phase::Run),
        message: "the e2b-blocking runtime stopped before the call finished".to_owned(),
    }
}

/// Whether `error` is the one a blocking call returns from inside an async
/// runtime.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = e2b_blocking::Client::new(e2b_blocking::ConnectionConfig::builder().api_key("e2b_0").build().unwrap());
/// // Blocking inside an async runtime is refused, never deadlocks:
/// let err = client.kill("i1b2c3d4e5f6g7h8j9k0").unwrap_err();
/// assert!(e2b_blocking::is_in_async_runtime(&err));
/// # }
/// ```
pub fn is_in_async_runtime(error: &Error) -> bool {
    matches!(error, Error::Sandbox { stage, message } if stage.phase == Phase::Validate && message == IN_ASYNC_RUNTIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn runs_futures_on_the_worker_threads() {
        let runtime = Runtime::start().unwrap();
        assert!(runtime.is_running());
        let name =
            runtime.block_on("test", async { std::thread::current().name().map(str::to_owned) }).unwrap();
        assert_eq!(name.as_deref(), Some(WORKER_THREAD));
        let slept = runtime
            .run("test", async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok(7)
            })
            .unwrap();
        assert_eq!(slept, 7);
        let err = runtime
            .run("test", async {
                Err::<(), _>(Error::NotFound {
                    stage: Stage::new("test", Phase::Respond),
                    message: "no".into(),
                })
            })
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
    }

    #[test]
    fn stopping_ends_the_thread_and_fails_later_calls() {
        let runtime = Runtime::start().unwrap();
        runtime.stop();
        assert!(!runtime.is_running());
        let err = runtime.block_on("after stop", async { 1 }).unwrap_err();
        assert!(matches!(&err, Error::Sandbox { stage, .. } if stage.operation == "after stop"));
        assert!(!is_in_async_runtime(&err));
        // Stopping twice is harmless.
        runtime.stop();
    }

    #[test]
    fn stopping_releases_calls_that_are_waiting() {
        let runtime = Arc::new(Runtime::start().unwrap());
        let (started_tx, started_rx) = std_mpsc::channel();
        let waiting = {
            let runtime = runtime.clone();
            std::thread::spawn(move || {
                runtime.block_on("never ends", async move {
                    let _ = started_tx.send(());
                    futures::future::pending::<()>().await
                })
            })
        };
        started_rx.recv().unwrap();
        runtime.stop();
        let err = waiting.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::Sandbox { stage, .. } if stage.phase == Phase::Run));
    }

    #[test]
    fn dropping_the_runtime_stops_its_thread() {
        let runtime = Runtime::start().unwrap();
        let handle = runtime.handle().clone();
        drop(runtime);
        // The tasks of a stopped runtime never run.
        let (tx, rx) = std_mpsc::channel::<()>();
        drop(handle.spawn(async move {
            let _ = tx.send(());
        }));
        assert!(rx.recv().is_err());
    }

    #[test]
    fn panics_reach_the_caller() {
        let runtime = Runtime::start().unwrap();
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on("panics", async { panic!("boom in the SDK") })
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"boom in the SDK"));
        // The runtime survives the panic.
        assert_eq!(runtime.block_on("after", async { 2 }).unwrap(), 2);
    }

    #[test]
    fn the_global_runtime_is_started_once() {
        let first = global("test").unwrap() as *const Runtime;
        let second = global("test").unwrap() as *const Runtime;
        assert_eq!(first, second);
        assert_eq!(run("test", async { Ok(3) }).unwrap(), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn refused_inside_a_current_thread_runtime() {
        let err = run("inside", async { Ok(()) }).unwrap_err();
        assert!(is_in_async_runtime(&err));
        assert_eq!(err.to_string(), format!("inside (validating the request): {IN_ASYNC_RUNTIME}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_inside_a_multi_thread_runtime() {
        let runtime = Runtime::start().unwrap();
        let err = runtime.block_on("inside", async {}).unwrap_err();
        assert!(is_in_async_runtime(&err));
        // Also from a blocking task of that runtime, which has its context.
        let err = tokio::task::spawn_blocking(|| block_on("spawn_blocking", async {})).await.unwrap();
        assert!(is_in_async_runtime(&err.unwrap_err()));
    }

    #[test]
    fn refused_inside_its_own_runtime() {
        // E.g. from a callback, which runs on a worker thread: an error
        // instead of a deadlock.
        let runtime = Arc::new(Runtime::start().unwrap());
        let inner = runtime.clone();
        let nested = runtime
            .block_on(
                "outer",
                async move { inner.block_on("nested", async { 1 }).map_err(|e| e.to_string()) },
            )
            .unwrap();
        assert_eq!(nested.unwrap_err(), format!("nested (validating the request): {IN_ASYNC_RUNTIME}"));
    }
}
