//! Paging through listings: page by page with [`Paginator::next_items`], or
//! item by item as an [`Iterator`].

use std::collections::VecDeque;
use std::fmt;

use e2b::{Result, SandboxInfo, SnapshotInfo};

use crate::runtime;

/// Pages through a listing: call [`next_items`](Self::next_items) while
/// [`has_next`](Self::has_next), or iterate over the items, which fetches
/// pages as needed (the iterator ends after the last page or the first
/// error).
///
/// # Example
///
/// ```no_run
/// # fn demo() -> Result<(), e2b_blocking::Error> {
/// let client = e2b_blocking::Client::from_env()?;
///
/// let mut pages = client.list(e2b_blocking::SandboxQuery::new().limit(50));
/// while pages.has_next() {
///     for sandbox in pages.next_items()? {
///         println!("{}", sandbox.sandbox_id);
///     }
/// }
///
/// let all = client.list(e2b_blocking::SandboxQuery::new()).collect::<Result<Vec<_>, _>>()?;
/// # let _ = all; Ok(()) }
/// ```
#[must_use = "a paginator does nothing unless pages are fetched"]
pub struct Paginator<T> {
    /// `None` only while a page is being fetched, or after a panic.
    inner: Option<e2b::Paginator<T>>,
    buffered: VecDeque<T>,
    failed: bool,
}

/// Pages of sandboxes, from [`Client::list`](crate::Client::list).
///
/// # Example
///
/// ```no_run
/// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
/// let pages: e2b_blocking::SandboxPaginator = client.list(e2b_blocking::SandboxQuery::new());
/// let ids = pages.map(|s| s.map(|s| s.sandbox_id)).collect::<Result<Vec<_>, _>>()?;
/// # let _ = ids; Ok(()) }
/// ```
pub type SandboxPaginator = Paginator<SandboxInfo>;

/// Pages of snapshots, from [`Client::list_snapshots`](crate::Client::list_snapshots).
///
/// # Example
///
/// ```no_run
/// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
/// let mut pages: e2b_blocking::SnapshotPaginator = client.list_snapshots(e2b_blocking::SnapshotQuery::new());
/// let first_page = pages.next_items()?;
/// # let _ = first_page; Ok(()) }
/// ```
pub type SnapshotPaginator = Paginator<SnapshotInfo>;

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("inner", &self.inner)
            .field("buffered", &self.buffered.len())
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    pub(crate) fn new(inner: e2b::Paginator<T>) -> Self {
        Self { inner: Some(inner), buffered: VecDeque::new(), failed: false }
    }

    /// Whether another page may exist. True until a page comes back without
    /// a next-page token.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) {
    /// let pages = client.list(e2b_blocking::SandboxQuery::new());
    /// assert!(pages.has_next());
    /// # }
    /// ```
    pub fn has_next(&self) -> bool {
        self.inner.as_ref().is_some_and(e2b::Paginator::has_next)
    }

    /// The token of the next page, to resume listing later with
    /// [`SandboxQuery::next_token`](crate::SandboxQuery::next_token).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let mut pages = client.list(e2b_blocking::SandboxQuery::new().limit(10));
    /// pages.next_items()?;
    /// if let Some(token) = pages.next_token() {
    ///     println!("resume with {token}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_token(&self) -> Option<&str> {
        self.inner.as_ref().and_then(e2b::Paginator::next_token)
    }

    /// The number of matching running sandboxes before paging, when the
    /// server reported it with the last page.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let mut pages = client.list(e2b_blocking::SandboxQuery::new());
    /// pages.next_items()?;
    /// println!("{:?} running", pages.total_running());
    /// # Ok(()) }
    /// ```
    pub fn total_running(&self) -> Option<u64> {
        self.inner.as_ref().and_then(e2b::Paginator::total_running)
    }

    /// Fetches the next page. Fails with
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when there is
    /// none ([`has_next`](Self::has_next) is false).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b_blocking::Client) -> Result<(), e2b_blocking::Error> {
    /// let mut pages = client.list_snapshots(e2b_blocking::SnapshotQuery::new());
    /// let first = pages.next_items()?;
    /// println!("{} snapshots on the first page", first.len());
    /// # Ok(()) }
    /// ```
    pub fn next_items(&mut self) -> Result<Vec<T>> {
        const OPERATION: &str = "Paginator::next_items";
        // Checked before the paginator moves to the runtime, so that a
        // refused call loses nothing.
        runtime::ensure_blocking_allowed(OPERATION)?;
        let Some(mut inner) = self.inner.take() else {
            return Err(e2b::Error::Sandbox {
                stage: e2b::Stage::new(OPERATION, e2b::Phase::Validate),
                message: "the paginator was lost when fetching a page panicked".to_owned(),
            });
        };
        let (inner, page) = runtime::block_on(OPERATION, async move {
            let page = inner.next_items().await;
            (inner, page)
        })?;
        self.inner = Some(inner);
        page
    }
}

impl<T: Send + 'static> Iterator for Paginator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(item) = self.buffered.pop_front() {
                return Some(Ok(item));
            }
            if !self.has_next() {
                return None;
            }
            match self.next_items() {
                Ok(items) => self.buffered.extend(items),
                Err(err) => {
                    self.failed = true;
                    return Some(Err(err));
                }
            }
        }
    }
}

impl<T: Send + 'static> std::iter::FusedIterator for Paginator<T> {}
