//! Links that download from or upload to a sandbox without the SDK: signed
//! with the sandbox's access token when it is secure.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Sandbox;
use crate::client::seconds;
use crate::error::{Error, Phase, Result, Stage};
use crate::signature::{FileOperation, sign_file_url};

/// Query values are escaped like Python's `quote(value, safe="")`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A file URL under construction; from [`Sandbox::download_url`] or
/// [`Sandbox::upload_url`]. Finish with [`build`](Self::build).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
/// use std::time::Duration;
///
/// let link = sandbox.download_url("/home/user/report.pdf").expires_in(Duration::from_secs(600)).build()?;
/// println!("valid for ten minutes: {link}");
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call `build` to get the URL"]
pub struct FileUrl {
    sandbox: Sandbox,
    path: String,
    operation: FileOperation,
    user: Option<String>,
    expires_in: Option<Duration>,
}

impl FileUrl {
    pub(crate) fn new(sandbox: Sandbox, path: String, operation: FileOperation) -> Self {
        Self { sandbox, path, operation, user: None, expires_in: None }
    }

    /// Act as this user (ownership, relative paths).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let link = sandbox.upload_url("/root/in.csv").user("root").build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Make the signature expire after this long. Only secure sandboxes sign
    /// their links; for others, [`build`](Self::build) fails with
    /// [`Error::InvalidArgument`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let link = sandbox.download_url("a.txt").expires_in(std::time::Duration::from_secs(60)).build()?;
    /// # let _ = link; Ok(()) }
    /// ```
    pub fn expires_in(mut self, duration: Duration) -> Self {
        self.expires_in = Some(duration);
        self
    }

    /// The URL: `<envd>/files?path=…[&username=…][&signature=…][&signature_expiration=…]`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let link = sandbox.download_url("/home/user/a.txt").build()?;
    /// assert!(link.contains("/files?path=%2Fhome%2Fuser%2Fa.txt"));
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<String> {
        let operation = match self.operation {
            FileOperation::Read => "build download URL",
            FileOperation::Write => "build upload URL",
        };
        let inner = &self.sandbox.inner;
        let token = inner.envd_access_token.as_deref();
        if token.is_none() && self.expires_in.is_some() {
            return Err(Error::invalid_argument(
                Stage::new(operation, Phase::Validate),
                "a signature expiration can only be used with a secure sandbox",
            ));
        }
        let username = inner.envd.effective_user(self.user).filter(|u| !u.is_empty());
        let mut query: Vec<(&str, String)> = Vec::new();
        if !self.path.is_empty() {
            query.push(("path", self.path.clone()));
        }
        if let Some(username) = &username {
            query.push(("username", username.clone()));
        }
        if let Some(token) = token {
            let expiration =
                self.expires_in.map(|d| unix_now().saturating_add(seconds(d).unsigned_abs().into()));
            let signature = sign_file_url(&self.path, self.operation, username.as_deref(), token, expiration);
            query.push(("signature", signature));
            if let Some(expiration) = expiration {
                query.push(("signature_expiration", expiration.to_string()));
            }
        }
        let base = self.sandbox.config().envd_direct_url(&inner.id, inner.domain.as_deref());
        let mut url = format!("{base}/files");
        for (index, (key, value)) in query.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.extend(utf8_percent_encode(value, QUERY_VALUE));
        }
        Ok(url)
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
