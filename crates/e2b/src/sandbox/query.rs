//! Filters and paging options for listing sandboxes and snapshots.

use chrono::{DateTime, Utc};

use super::info::SandboxState;

/// Sort order of a sandbox listing, by start time, applied across the whole
/// result before paging.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::ListOrder::Asc.as_str(), "asc");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListOrder {
    /// Oldest first.
    Asc,
    /// Newest first (the server's default).
    Desc,
}

impl ListOrder {
    /// The wire name.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::ListOrder::Desc.as_str(), "desc");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ListOrder::Asc => "asc",
            ListOrder::Desc => "desc",
        }
    }
}

/// Which sandboxes to list, and how to page through them.
///
/// Without a state filter both running and paused sandboxes are listed.
/// Metadata filters must all match.
///
/// # Example
///
/// ```
/// use e2b::{ListOrder, SandboxQuery, SandboxState};
///
/// let query = SandboxQuery::new()
///     .metadata("owner", "ci")
///     .state([SandboxState::Running])
///     .template("base")
///     .order(ListOrder::Asc)
///     .limit(20);
/// # let _ = query;
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct SandboxQuery {
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) state: Vec<SandboxState>,
    pub(crate) started_after: Option<DateTime<Utc>>,
    pub(crate) template: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) order: Option<ListOrder>,
    pub(crate) next_token: Option<String>,
}

impl SandboxQuery {
    /// No filters: all sandboxes, newest first, the server's page size.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::SandboxQuery::new(), e2b::SandboxQuery::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Only sandboxes whose metadata has `key` = `value` (repeat for more;
    /// a repeated key replaces the earlier value).
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().metadata("user", "abc").metadata("app", "prod");
    /// # let _ = query;
    /// ```
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((key, value)),
        }
        self
    }

    /// Only sandboxes in these states.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().state([e2b::SandboxState::Paused]);
    /// # let _ = query;
    /// ```
    pub fn state(mut self, states: impl IntoIterator<Item = SandboxState>) -> Self {
        self.state = states.into_iter().collect();
        self
    }

    /// Only sandboxes started after this moment.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().started_after(chrono::Utc::now() - chrono::Duration::hours(1));
    /// # let _ = query;
    /// ```
    pub fn started_after(mut self, time: DateTime<Utc>) -> Self {
        self.started_after = Some(time);
        self
    }

    /// Only sandboxes of this template (ID or alias, without a tag).
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().template("base");
    /// # let _ = query;
    /// ```
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Page size, 1 to 100 (server default 100).
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().limit(10);
    /// # let _ = query;
    /// ```
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sort order.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().order(e2b::ListOrder::Asc);
    /// # let _ = query;
    /// ```
    pub fn order(mut self, order: ListOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Start from this page token (from an earlier paginator's
    /// [`next_token`](crate::Paginator::next_token)).
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SandboxQuery::new().next_token("opaque-token");
    /// # let _ = query;
    /// ```
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }
}

/// Which snapshots to list, and how to page through them (newest first).
///
/// # Example
///
/// ```
/// let query = e2b::SnapshotQuery::new().sandbox_id("abc123").limit(10);
/// # let _ = query;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct SnapshotQuery {
    pub(crate) sandbox_id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) next_token: Option<String>,
}

impl SnapshotQuery {
    /// All snapshots.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::SnapshotQuery::new(), e2b::SnapshotQuery::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Only snapshots taken from this sandbox.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SnapshotQuery::new().sandbox_id("abc");
    /// # let _ = query;
    /// ```
    pub fn sandbox_id(mut self, sandbox_id: impl Into<String>) -> Self {
        self.sandbox_id = Some(sandbox_id.into());
        self
    }

    /// Only snapshots with this name or ID (optionally with a `:tag`).
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SnapshotQuery::new().name("my-snap:v2");
    /// # let _ = query;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Page size, 1 to 100.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SnapshotQuery::new().limit(5);
    /// # let _ = query;
    /// ```
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Start from this page token.
    ///
    /// # Example
    ///
    /// ```
    /// let query = e2b::SnapshotQuery::new().next_token("opaque");
    /// # let _ = query;
    /// ```
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }
}

/// Characters Python's `quote` keeps: unreserved plus `/`.
const QUOTE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');
/// Characters Python's `quote_plus` keeps (it also turns spaces into `+`,
/// but none are left after `QUOTE`).
const QUOTE_PLUS: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The `metadata` query value: each key and value percent-encoded, then
/// form-encoded as `k=v&k2=v2` (exactly what E2B's SDKs send, so the server
/// decodes it the same way).
pub(crate) fn encode_metadata(metadata: &[(String, String)]) -> String {
    use percent_encoding::utf8_percent_encode as enc;
    metadata
        .iter()
        .map(|(k, v)| {
            let (k, v) = (enc(k, QUOTE).to_string(), enc(v, QUOTE).to_string());
            format!("{}={}", enc(&k, QUOTE_PLUS), enc(&v, QUOTE_PLUS))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn metadata_encoding_matches_the_official_sdk() {
        // urllib.parse.urlencode({quote(k): quote(v)}) in Python 3.11.
        assert_eq!(encode_metadata(&pairs(&[("user", "abc"), ("app", "prod")])), "user=abc&app=prod");
        assert_eq!(encode_metadata(&pairs(&[("a b", "c/d&e=f")])), "a%2520b=c%2Fd%2526e%253Df");
        assert_eq!(
            encode_metadata(&pairs(&[("ключ", "ü+~")])),
            "%25D0%25BA%25D0%25BB%25D1%258E%25D1%2587=%25C3%25BC%252B~"
        );
        assert_eq!(encode_metadata(&[]), "");
    }

    #[test]
    fn repeated_metadata_keys_replace() {
        let q = SandboxQuery::new().metadata("a", "1").metadata("b", "2").metadata("a", "3");
        assert_eq!(q.metadata, pairs(&[("a", "3"), ("b", "2")]));
    }
}
