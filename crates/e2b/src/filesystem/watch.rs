//! Watching a directory: envd's `WatchDir` stream, delivered as a
//! [`futures::Stream`] and/or to callbacks, until stopped.

use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use e2b_proto::filesystem::{self as pb, filesystem_methods as methods, watch_dir_response::Event};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt as _};
use tokio::sync::mpsc;

use super::Filesystem;
use super::entry::FilesystemEvent;
use crate::envd::NotFoundMeans;
use crate::error::{Error, Phase, Result, Stage};
use crate::rpc::RpcCall;
use crate::version::EnvdFeature;

const OPERATION: &str = "watch directory";

/// A watch lasts this long unless told otherwise.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::filesystem::DEFAULT_WATCH_TIMEOUT.as_secs(), 60);
/// ```
pub const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(60);

type OnEvent = Box<dyn FnMut(&FilesystemEvent) + Send>;
type OnExit = Box<dyn FnOnce(Option<&Error>) + Send>;

/// Starts watching a directory; from [`Filesystem::watch_dir`]. Await it
/// for a [`WatchHandle`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use std::time::Duration;
///
/// let watch = sandbox
///     .files()
///     .watch_dir("/home/user/project")
///     .recursive(true)
///     .timeout(Duration::ZERO)
///     .on_event(|event| println!("{} {}", event.event_type.as_str(), event.name))
///     .on_exit(|error| println!("watch ended: {error:?}"))
///     .await?;
/// // … later:
/// watch.stop();
/// # Ok(()) }
/// ```
#[must_use = "a watch does nothing until it is awaited"]
pub struct WatchDirRequest {
    fs: Filesystem,
    path: String,
    user: Option<String>,
    request_timeout: Option<Duration>,
    timeout: Option<Duration>,
    recursive: bool,
    include_entry: bool,
    allow_network_mounts: bool,
    on_event: Option<OnEvent>,
    on_exit: Option<OnExit>,
}

impl fmt::Debug for WatchDirRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchDirRequest")
            .field("path", &self.path)
            .field("recursive", &self.recursive)
            .field("include_entry", &self.include_entry)
            .finish_non_exhaustive()
    }
}

impl WatchDirRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self {
            fs,
            path,
            user: None,
            request_timeout: None,
            timeout: None,
            recursive: false,
            include_entry: false,
            allow_network_mounts: false,
            on_event: None,
            on_exit: None,
        }
    }

    /// Watch subdirectories too (envd 0.1.4).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/srv").recursive(true).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }

    /// Attach the entry's information to create, write and chmod events
    /// (envd 0.6.3).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/srv").include_entry(true).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn include_entry(mut self, include: bool) -> Self {
        self.include_entry = include;
        self
    }

    /// Allow watching a directory on a network filesystem (envd 0.6.4).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/mnt/nfs").allow_network_mounts(true).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn allow_network_mounts(mut self, allow: bool) -> Self {
        self.allow_network_mounts = allow;
        self
    }

    /// Act as this user.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/root").user("root").await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// How long the watch lasts (default 60 s; `Duration::ZERO` for ever).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").timeout(std::time::Duration::from_secs(600)).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for envd to confirm the watch.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").request_timeout(std::time::Duration::from_secs(5)).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Called with every event (events also arrive on the handle's stream).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").on_event(|e| println!("{}", e.name)).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn on_event(mut self, callback: impl FnMut(&FilesystemEvent) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(callback));
        self
    }

    /// Called once when the watch ends: with the error if it failed, with
    /// `None` when it was stopped or ended normally.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").on_exit(|err| eprintln!("ended: {err:?}")).await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn on_exit(mut self, callback: impl FnOnce(Option<&Error>) + Send + 'static) -> Self {
        self.on_exit = Some(Box::new(callback));
        self
    }

    /// Starts the watch once envd confirms it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").send().await?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<WatchHandle> {
        let envd = self.fs.sandbox.envd.clone();
        let version = envd.version();
        if self.recursive {
            version.require(EnvdFeature::RecursiveWatch, OPERATION)?;
        }
        if self.include_entry {
            version.require(EnvdFeature::WatchIncludeEntry, OPERATION)?;
        }
        if self.allow_network_mounts {
            version.require(EnvdFeature::WatchNetworkMounts, OPERATION)?;
        }
        let timeout = match self.timeout {
            Some(timeout) if timeout.is_zero() => None,
            Some(timeout) => Some(timeout),
            None => Some(DEFAULT_WATCH_TIMEOUT),
        };
        let call = RpcCall::new(OPERATION, envd.effective_user(self.user), NotFoundMeans::File);
        let request = pb::WatchDirRequest {
            path: self.path,
            recursive: self.recursive,
            include_entry: self.include_entry,
            allow_network_mounts: self.allow_network_mounts,
        };
        let (first, mut stream) = envd
            .open_stream::<_, pb::WatchDirResponse>(
                methods::WATCH_DIR,
                request,
                &call,
                timeout,
                self.request_timeout,
            )
            .await?;
        if !matches!(first.event, Some(Event::Start(_))) {
            return Err(Error::sandbox(
                Stage::new(OPERATION, Phase::Stream),
                format!("failed to start watching: expected a start event, got {first:?}"),
            ));
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let on_exit = Arc::new(Mutex::new(self.on_exit));
        let exit = on_exit.clone();
        let mut on_event = self.on_event;
        let task = tokio::spawn(async move {
            let failure = loop {
                match stream.next().await {
                    Some(Ok(response)) => {
                        let Some(Event::Filesystem(event)) = response.event else { continue };
                        let Some(event) = FilesystemEvent::from_proto(event) else { continue };
                        if let Some(callback) = on_event.as_mut() {
                            callback(&event);
                        }
                        let _ = sender.send(Ok(event));
                    }
                    Some(Err(err)) => {
                        break Some(
                            envd.rpc_error(Stage::new(OPERATION, Phase::Stream), err, NotFoundMeans::File)
                                .await,
                        );
                    }
                    None => break None,
                }
            };
            if let Some(callback) = exit.lock().ok().and_then(|mut c| c.take()) {
                callback(failure.as_ref());
            }
            if let Some(failure) = failure {
                let _ = sender.send(Err(failure));
            }
        });
        Ok(WatchHandle { events: receiver, stopper: WatchStopper { task: task.abort_handle(), on_exit } })
    }
}

impl IntoFuture for WatchDirRequest {
    type Output = Result<WatchHandle>;
    type IntoFuture = BoxFuture<'static, Result<WatchHandle>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A running directory watch: a [`Stream`] of events (ending after the
/// first error, or when the watch ends). Dropping it stops the watch.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use futures::TryStreamExt as _;
///
/// let mut watch = sandbox.files().watch_dir("/home/user").await?;
/// sandbox.files().write("/home/user/new.txt", "x").await?;
/// if let Some(event) = watch.try_next().await? {
///     println!("{} {}", event.event_type.as_str(), event.name);
/// }
/// watch.stop();
/// # Ok(()) }
/// ```
pub struct WatchHandle {
    events: mpsc::UnboundedReceiver<Result<FilesystemEvent>>,
    stopper: WatchStopper,
}

impl fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchHandle").field("running", &!self.stopper.is_stopped()).finish_non_exhaustive()
    }
}

impl WatchHandle {
    /// Stops watching: closes the stream and calls `on_exit(None)` if the
    /// watch had not ended already. Events already received can still be
    /// read from the stream.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").await?;
    /// watch.stop();
    /// # Ok(()) }
    /// ```
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// A handle that stops this watch from elsewhere (another task, a signal handler),
    /// while this one is read as a stream. The handle itself is not `Clone`: its events
    /// have one reader.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// use futures::StreamExt as _;
    ///
    /// let mut watch = sandbox.files().watch_dir("/home/user").await?;
    /// let stopper = watch.stopper();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    ///     stopper.stop();
    /// });
    /// while let Some(event) = watch.next().await {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stopper(&self) -> WatchStopper {
        self.stopper.clone()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        // Nobody reads the events any more.
        self.stopper.task.abort();
    }
}

/// Stops a directory watch; from [`WatchHandle::stopper`]. Cheap to clone.
///
/// # Example
///
/// ```no_run
/// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// let watch = sandbox.files().watch_dir("/tmp").await?;
/// let stopper = watch.stopper();
/// stopper.stop();
/// assert!(stopper.is_stopped());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WatchStopper {
    task: tokio::task::AbortHandle,
    on_exit: Arc<Mutex<Option<OnExit>>>,
}

impl fmt::Debug for WatchStopper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStopper").field("stopped", &self.is_stopped()).finish_non_exhaustive()
    }
}

impl WatchStopper {
    /// Stops the watch, as [`WatchHandle::stop`] does.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(watch: e2b::WatchHandle) {
    /// watch.stopper().stop();
    /// # }
    /// ```
    pub fn stop(&self) {
        self.task.abort();
        if let Some(callback) = self.on_exit.lock().ok().and_then(|mut c| c.take()) {
            callback(None);
        }
    }

    /// Whether the watch has ended (stopped, failed, or timed out).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(watch: e2b::WatchHandle) {
    /// let stopper = watch.stopper();
    /// println!("still watching: {}", !stopper.is_stopped());
    /// # }
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.task.is_finished()
    }
}

impl Stream for WatchHandle {
    type Item = Result<FilesystemEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}
