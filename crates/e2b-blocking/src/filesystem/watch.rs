//! Watching a directory: events as an [`Iterator`] and/or callbacks, until
//! stopped.

use std::fmt;
use std::time::Duration;

use e2b::{Error, FilesystemEvent, Result, WatchStopper};

use crate::iter::next_blocking;
use crate::runtime;

/// Starts watching a directory; from
/// [`Filesystem::watch_dir`](super::Filesystem::watch_dir). Finish with
/// [`send`](Self::send) for a [`WatchHandle`].
///
/// Callbacks run on the runtime's worker threads: keep them short, and do
/// not call blocking methods of this crate from them (those return an
/// error there; use the iterator instead).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// use std::time::Duration;
///
/// let watch = sandbox
///     .files()
///     .watch_dir("/home/user/project")
///     .recursive(true)
///     .timeout(Duration::ZERO)
///     .on_event(|event| println!("{} {}", event.event_type.as_str(), event.name))
///     .on_exit(|error| println!("watch ended: {error:?}"))
///     .send()?;
/// // … later:
/// watch.stop();
/// # Ok(()) }
/// ```
#[must_use = "a watch does nothing until it is sent"]
pub struct WatchDirRequest {
    inner: e2b::filesystem::WatchDirRequest,
}

impl fmt::Debug for WatchDirRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::filesystem::WatchDirRequest> for WatchDirRequest {
    fn from(inner: e2b::filesystem::WatchDirRequest) -> Self {
        Self { inner }
    }
}

impl WatchDirRequest {
    /// Watch subdirectories too (envd 0.1.4).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/srv").recursive(true).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn recursive(self, recursive: bool) -> Self {
        Self { inner: self.inner.recursive(recursive) }
    }

    /// Attach the entry's information to create, write and chmod events
    /// (envd 0.6.3).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/srv").include_entry(true).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn include_entry(self, include: bool) -> Self {
        Self { inner: self.inner.include_entry(include) }
    }

    /// Allow watching a directory on a network filesystem (envd 0.6.4).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/mnt/nfs").allow_network_mounts(true).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn allow_network_mounts(self, allow: bool) -> Self {
        Self { inner: self.inner.allow_network_mounts(allow) }
    }

    /// Act as this user.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/root").user("root").send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn user(self, user: impl Into<String>) -> Self {
        Self { inner: self.inner.user(user) }
    }

    /// How long the watch lasts (default 60 s; `Duration::ZERO` for ever).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").timeout(std::time::Duration::from_secs(600)).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How long to wait for envd to confirm the watch.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Called with every event (events also arrive on the handle's
    /// iterator), on a worker thread of the runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").on_event(|e| println!("{}", e.name)).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn on_event(self, callback: impl FnMut(&FilesystemEvent) + Send + 'static) -> Self {
        Self { inner: self.inner.on_event(callback) }
    }

    /// Called once when the watch ends: with the error if it failed, with
    /// `None` when it was stopped or ended normally.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").on_exit(|err| eprintln!("ended: {err:?}")).send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn on_exit(self, callback: impl FnOnce(Option<&Error>) + Send + 'static) -> Self {
        Self { inner: self.inner.on_exit(callback) }
    }

    /// Starts the watch once envd confirms it.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").send()?;
    /// # let _ = watch; Ok(()) }
    /// ```
    pub fn send(self) -> Result<WatchHandle> {
        runtime::run("WatchDirRequest::send", self.inner.send())
            .map(|inner| WatchHandle { stopper: inner.stopper(), inner: Some(inner) })
    }
}

/// A running directory watch: an [`Iterator`] of events that waits for
/// each one and ends after the first error, or when the watch ends.
/// Dropping it stops the watch.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let mut watch = sandbox.files().watch_dir("/home/user").send()?;
/// sandbox.files().write("/home/user/new.txt", "x").send()?;
/// if let Some(event) = watch.next() {
///     let event = event?;
///     println!("{} {}", event.event_type.as_str(), event.name);
/// }
/// watch.stop();
/// # Ok(()) }
/// ```
pub struct WatchHandle {
    /// `None` once the events have ended.
    inner: Option<e2b::WatchHandle>,
    stopper: e2b::WatchStopper,
}

impl fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchHandle").field("inner", &self.inner).finish()
    }
}

impl WatchHandle {
    /// Stops watching: ends the events and calls `on_exit(None)` if the
    /// watch had not ended already. Events already received can still be
    /// read from the iterator. Needs no runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/tmp").send()?;
    /// watch.stop();
    /// # Ok(()) }
    /// ```
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// A handle that stops this watch from another thread while this one is iterated.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let watch = sandbox.files().watch_dir("/home/user").send()?;
    /// let stopper = watch.stopper();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(10));
    ///     stopper.stop();
    /// });
    /// for event in watch {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stopper(&self) -> WatchStopper {
        self.stopper.clone()
    }
}

impl Iterator for WatchHandle {
    type Item = Result<FilesystemEvent>;

    fn next(&mut self) -> Option<Result<FilesystemEvent>> {
        let event = next_blocking(&mut self.inner, "WatchHandle::next")?;
        Some(event.and_then(|event| event))
    }
}

impl std::iter::FusedIterator for WatchHandle {}
