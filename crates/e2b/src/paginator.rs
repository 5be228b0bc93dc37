//! Paging through listings: page by page with [`Paginator::next_items`], or
//! item by item as a [`futures::Stream`].

use std::fmt;
use std::sync::Arc;

use futures::Stream;
use futures::future::BoxFuture;

use crate::error::{Error, Phase, Result, Stage};
use crate::sandbox::{SandboxInfo, SnapshotInfo};

/// One page of a listing.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// The token of the next page; `None` when this was the last.
    pub(crate) next_token: Option<String>,
    /// `X-Total-Running`, when the server sent it.
    pub(crate) total_running: Option<u64>,
}

type FetchPage<T> = Arc<dyn Fn(Option<String>) -> BoxFuture<'static, Result<Page<T>>> + Send + Sync>;

/// Pages through a listing: call [`next_items`](Self::next_items) while
/// [`has_next`](Self::has_next), or turn it into a stream of items.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// use futures::TryStreamExt as _;
///
/// let client = e2b::Client::from_env()?;
///
/// let mut pages = client.list(e2b::SandboxQuery::new().limit(50));
/// while pages.has_next() {
///     for sandbox in pages.next_items().await? {
///         println!("{}", sandbox.sandbox_id);
///     }
/// }
///
/// let all: Vec<e2b::SandboxInfo> = client.list(e2b::SandboxQuery::new()).into_stream().try_collect().await?;
/// # let _ = all; Ok(()) }
/// ```
pub struct Paginator<T> {
    fetch: FetchPage<T>,
    operation: &'static str,
    next_token: Option<String>,
    has_next: bool,
    total_running: Option<u64>,
}

/// Pages of sandboxes, from [`Client::list`](crate::Client::list).
///
/// # Example
///
/// ```
/// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
/// let mut pages: e2b::SandboxPaginator = client.list(e2b::SandboxQuery::new().limit(10));
/// while pages.has_next() {
///     for sandbox in pages.next_items().await? {
///         println!("{}", sandbox.sandbox_id);
///     }
/// }
/// # Ok(()) }
/// ```
pub type SandboxPaginator = Paginator<SandboxInfo>;

/// Pages of snapshots, from [`Client::list_snapshots`](crate::Client::list_snapshots).
///
/// # Example
///
/// ```
/// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
/// let mut pages: e2b::SnapshotPaginator = client.list_snapshots(e2b::SnapshotQuery::new());
/// let first = pages.next_items().await?;
/// # let _ = first; Ok(()) }
/// ```
pub type SnapshotPaginator = Paginator<SnapshotInfo>;

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("operation", &self.operation)
            .field("next_token", &self.next_token)
            .field("has_next", &self.has_next)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    pub(crate) fn new(
        operation: &'static str,
        first_token: Option<String>,
        fetch: impl Fn(Option<String>) -> BoxFuture<'static, Result<Page<T>>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            fetch: Arc::new(fetch),
            operation,
            next_token: first_token,
            has_next: true,
            total_running: None,
        }
    }

    /// Whether another page may exist. True until a page comes back without
    /// a next-page token.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(client: e2b::Client) {
    /// let pages = client.list(e2b::SandboxQuery::new());
    /// assert!(pages.has_next());
    /// # }
    /// ```
    pub fn has_next(&self) -> bool {
        self.has_next
    }

    /// The token of the next page, to resume listing later with
    /// [`SandboxQuery::next_token`](crate::SandboxQuery::next_token).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let mut pages = client.list(e2b::SandboxQuery::new().limit(10));
    /// pages.next_items().await?;
    /// if let Some(token) = pages.next_token() {
    ///     println!("resume with {token}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_token(&self) -> Option<&str> {
        self.next_token.as_deref()
    }

    /// The number of matching running sandboxes before paging, when the
    /// server reported it with the last page.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let mut pages = client.list(e2b::SandboxQuery::new());
    /// pages.next_items().await?;
    /// println!("{:?} running", pages.total_running());
    /// # Ok(()) }
    /// ```
    pub fn total_running(&self) -> Option<u64> {
        self.total_running
    }

    /// Fetches the next page. Fails with [`Error::InvalidArgument`] when
    /// there is none ([`has_next`](Self::has_next) is false).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// let mut pages = client.list_snapshots(e2b::SnapshotQuery::new());
    /// let first = pages.next_items().await?;
    /// println!("{} snapshots on the first page", first.len());
    /// # Ok(()) }
    /// ```
    pub async fn next_items(&mut self) -> Result<Vec<T>> {
        if !self.has_next {
            return Err(Error::invalid_argument(
                Stage::new(self.operation, Phase::Validate),
                "no more items to fetch: has_next() is false",
            ));
        }
        let page = (self.fetch)(self.next_token.clone()).await?;
        self.has_next = page.next_token.is_some();
        self.next_token = page.next_token;
        self.total_running = page.total_running.or(self.total_running);
        Ok(page.items)
    }

    /// All remaining items, fetching pages as the stream is polled. The
    /// stream ends after the last page or after the first error.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(client: e2b::Client) -> Result<(), e2b::Error> {
    /// use futures::TryStreamExt as _;
    ///
    /// let mut sandboxes = std::pin::pin!(client.list(e2b::SandboxQuery::new()).into_stream());
    /// while let Some(sandbox) = sandboxes.try_next().await? {
    ///     println!("{}", sandbox.sandbox_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_stream(self) -> impl Stream<Item = Result<T>> + Send + 'static {
        let state = (self, std::collections::VecDeque::new(), false);
        futures::stream::unfold(state, |(mut pages, mut buffered, failed)| async move {
            loop {
                if failed {
                    return None;
                }
                if let Some(item) = buffered.pop_front() {
                    return Some((Ok(item), (pages, buffered, false)));
                }
                if !pages.has_next() {
                    return None;
                }
                match pages.next_items().await {
                    Ok(items) => buffered.extend(items),
                    Err(err) => return Some((Err(err), (pages, buffered, true))),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use std::sync::Mutex;

    type Asked = Arc<Mutex<Vec<Option<String>>>>;

    /// Pages of `sizes` items, recording the tokens it was asked for.
    fn paginator(sizes: Vec<usize>, fail_at: Option<usize>) -> (Paginator<usize>, Asked) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        let pages = Paginator::new("list things", Some("start".into()), move |token: Option<String>| {
            seen.lock().unwrap().push(token.clone());
            let index = seen.lock().unwrap().len() - 1;
            let sizes = sizes.clone();
            Box::pin(async move {
                if Some(index) == fail_at {
                    return Err(Error::sandbox(Stage::new("list things", Phase::Respond), "500: boom"));
                }
                let items = (0..sizes[index]).map(|i| index * 100 + i).collect();
                let next_token = (index + 1 < sizes.len()).then(|| format!("t{}", index + 1));
                Ok(Page { items, next_token, total_running: Some(7) })
            }) as BoxFuture<'static, _>
        });
        (pages, asked)
    }

    #[tokio::test]
    async fn pages_until_no_token_then_refuses() {
        let (mut pages, asked) = paginator(vec![2, 1], None);
        assert!(pages.has_next());
        assert_eq!(pages.next_items().await.unwrap(), vec![0, 1]);
        assert_eq!(pages.next_token(), Some("t1"));
        assert_eq!(pages.total_running(), Some(7));
        assert_eq!(pages.next_items().await.unwrap(), vec![100]);
        assert!(!pages.has_next());
        let err = pages.next_items().await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }));
        assert_eq!(*asked.lock().unwrap(), vec![Some("start".to_string()), Some("t1".to_string())]);
    }

    #[tokio::test]
    async fn streams_items_across_pages_and_stops_after_an_error() {
        let (pages, _) = paginator(vec![2, 0, 3], None);
        let items: Vec<usize> = pages.into_stream().map(|r| r.unwrap()).collect().await;
        assert_eq!(items, vec![0, 1, 200, 201, 202]);

        let (pages, asked) = paginator(vec![1, 1, 1], Some(1));
        let results: Vec<Result<usize>> = pages.into_stream().collect().await;
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok() && results[1].is_err());
        assert_eq!(asked.lock().unwrap().len(), 2);
    }
}
