//! The SDK's one error type, mirroring the exception hierarchy of E2B's
//! official SDKs, and the stage of a call at which it failed.

use std::fmt;

/// Result alias used throughout the SDK.
///
/// # Example
///
/// ```
/// fn parse(id: &str) -> e2b::Result<&str> {
///     Ok(id)
/// }
/// assert_eq!(parse("abc").unwrap(), "abc");
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a call failed: which operation, and how far it had got.
///
/// # Example
///
/// ```
/// use e2b::{Phase, Stage};
///
/// let stage = Stage::new("kill sandbox", Phase::Send);
/// assert_eq!(stage.to_string(), "kill sandbox (sending the request)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stage {
    /// The SDK operation, e.g. `"create sandbox"` or `"read file"`.
    pub operation: &'static str,
    /// How far the operation had got.
    pub phase: Phase,
}

impl Stage {
    /// A stage of `operation`.
    ///
    /// # Example
    ///
    /// ```
    /// let stage = e2b::Stage::new("get sandbox info", e2b::Phase::Respond);
    /// assert_eq!(stage.phase, e2b::Phase::Respond);
    /// ```
    pub const fn new(operation: &'static str, phase: Phase) -> Self {
        Self { operation, phase }
    }

    /// The same operation at another phase.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{Phase, Stage};
    ///
    /// let sent = Stage::new("pause sandbox", Phase::Send);
    /// assert_eq!(sent.at(Phase::Decode).phase, Phase::Decode);
    /// ```
    pub const fn at(self, phase: Phase) -> Self {
        Self { operation: self.operation, phase }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.operation, self.phase)
    }
}

/// How far a call had got when it failed.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::Phase::Validate.to_string(), "validating the request");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Checking arguments, configuration and the sandbox's capabilities;
    /// nothing was sent.
    Validate,
    /// Connecting or sending; the server may or may not have seen the request.
    Send,
    /// The server answered with an error status.
    Respond,
    /// Reading or decoding a response the server sent with a success status.
    Decode,
    /// Streaming a response body after the server had accepted the request.
    Stream,
    /// Running a command inside the sandbox.
    Run,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Validate => "validating the request",
            Phase::Send => "sending the request",
            Phase::Respond => "the server answered with an error",
            Phase::Decode => "reading the response",
            Phase::Stream => "streaming the response body",
            Phase::Run => "running the command",
        })
    }
}

/// Everything that can go wrong in the SDK.
///
/// The variants mirror the exception classes of E2B's official SDKs
/// (`SandboxException` and its subclasses, `AuthenticationException` and
/// `GitAuthException`), plus transport, decoding and local I/O failures that
/// the official SDKs leave untyped. Variants that come from a call carry the
/// [`Stage`] at which it failed.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), e2b::Error> {
/// let client = e2b::Client::from_env()?;
/// match client.get_info("no-such-sandbox").await {
///     Ok(info) => println!("{} is {:?}", info.sandbox_id, info.state),
///     Err(e2b::Error::SandboxNotFound { message, .. }) => println!("gone: {message}"),
///     Err(other) => return Err(other),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A general failure reported by the control plane, envd or the SDK
    /// (`SandboxException`). The message starts with the HTTP status when
    /// there was one, e.g. `"409: sandbox is already paused"`.
    #[error("{stage}: {message}")]
    Sandbox {
        /// Where the call failed.
        stage: Stage,
        /// What went wrong.
        message: String,
    },

    /// The request, a command or a stream exceeded its time limit
    /// (`TimeoutException`).
    #[error("{stage}: timed out: {message}")]
    Timeout {
        /// Where the call failed.
        stage: Stage,
        /// Which limit was exceeded and how to raise it.
        message: String,
    },

    /// The sandbox no longer exists: the sandbox proxy answered 502 (killed,
    /// expired or paused), or the connection dropped and a health probe
    /// confirmed it. The official SDKs raise this as a `TimeoutException`,
    /// and [`Error::is_timeout`] treats it as one.
    #[error("{stage}: the sandbox is gone: {message}")]
    SandboxGone {
        /// Where the call failed.
        stage: Stage,
        /// The proxy's message and a hint about the sandbox timeout.
        message: String,
    },

    /// An argument was rejected, by the SDK before sending or by the server
    /// (`InvalidArgumentException`).
    #[error("{stage}: invalid argument: {message}")]
    InvalidArgument {
        /// Where the call failed.
        stage: Stage,
        /// What was wrong with it.
        message: String,
    },

    /// The sandbox's disk is full (`NotEnoughSpaceException`).
    #[error("{stage}: not enough space: {message}")]
    NotEnoughSpace {
        /// Where the call failed.
        stage: Stage,
        /// The server's message.
        message: String,
    },

    /// Something other than a file or sandbox was not found
    /// (`NotFoundException`).
    #[error("{stage}: not found: {message}")]
    NotFound {
        /// Where the call failed.
        stage: Stage,
        /// The server's message.
        message: String,
    },

    /// A file or directory inside the sandbox does not exist
    /// (`FileNotFoundException`).
    #[error("{stage}: file not found: {message}")]
    FileNotFound {
        /// Where the call failed.
        stage: Stage,
        /// The server's message, naming the path.
        message: String,
    },

    /// The control plane does not know the sandbox (`SandboxNotFoundException`).
    #[error("{stage}: sandbox not found: {message}")]
    SandboxNotFound {
        /// Where the call failed.
        stage: Stage,
        /// Which sandbox.
        message: String,
    },

    /// The sandbox's template (its envd) is too old for what was asked
    /// (`TemplateException`).
    #[error("{stage}: template too old: {message}")]
    Template {
        /// Where the call failed.
        stage: Stage,
        /// Which feature needs which envd version.
        message: String,
    },

    /// Too many requests (`RateLimitException`).
    #[error("{stage}: rate limited: {message}")]
    RateLimit {
        /// Where the call failed.
        stage: Stage,
        /// The server's message.
        message: String,
    },

    /// The API key or access token was missing, malformed or refused
    /// (`AuthenticationException`; not a sandbox error).
    #[error("{stage}: authentication failed: {message}")]
    Authentication {
        /// Where the call failed.
        stage: Stage,
        /// Why.
        message: String,
    },

    /// A git command failed for lack of (valid) credentials
    /// (`GitAuthException`, a kind of authentication error).
    #[error("git authentication failed: {message}")]
    GitAuth {
        /// What to do about it.
        message: String,
        /// The failed git command.
        #[source]
        source: Option<Box<Error>>,
    },

    /// A git push or pull had no upstream branch to work with
    /// (`GitUpstreamException`).
    #[error("git upstream missing: {message}")]
    GitUpstream {
        /// What to do about it.
        message: String,
        /// The failed git command, if one ran.
        #[source]
        source: Option<Box<Error>>,
    },

    /// A command exited with a non-zero code (`CommandExitException`).
    #[error("Command exited with code {exit_code} and error:\n{stderr}")]
    CommandExit {
        /// Everything the command wrote to stdout.
        stdout: String,
        /// Everything the command wrote to stderr.
        stderr: String,
        /// The exit code; -1 when a signal ended the command.
        exit_code: i32,
        /// envd's description of the failure, e.g. `"exit status 2"`.
        error: Option<String>,
    },

    /// The HTTP exchange failed: connecting, TLS, a dropped connection.
    #[error("{stage}: {source}")]
    Transport {
        /// Where the call failed.
        stage: Stage,
        /// The underlying HTTP error.
        #[source]
        source: reqwest::Error,
    },

    /// An envd RPC failed below the RPC level: connecting, a dropped stream,
    /// a broken Connect framing or an undecodable message.
    #[error("{stage}: {source}")]
    Rpc {
        /// Where the call failed.
        stage: Stage,
        /// The Connect client's error.
        #[source]
        source: e2b_connect::Error,
    },

    /// A server answered with something this SDK cannot understand.
    #[error("{stage}: unexpected response: {message}")]
    Decode {
        /// Where the call failed.
        stage: Stage,
        /// What was unexpected, with an excerpt of the body.
        message: String,
    },

    /// Local I/O failed, e.g. reading a file to upload.
    #[error("{stage}: {source}")]
    Io {
        /// Where the call failed.
        stage: Stage,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The stage at which the call failed, for errors that come from a call.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{Error, Phase, Stage};
    ///
    /// let err = Error::RateLimit { stage: Stage::new("list sandboxes", Phase::Respond), message: "slow down".into() };
    /// assert_eq!(err.stage().unwrap().operation, "list sandboxes");
    /// ```
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Sandbox { stage, .. }
            | Error::Timeout { stage, .. }
            | Error::SandboxGone { stage, .. }
            | Error::InvalidArgument { stage, .. }
            | Error::NotEnoughSpace { stage, .. }
            | Error::NotFound { stage, .. }
            | Error::FileNotFound { stage, .. }
            | Error::SandboxNotFound { stage, .. }
            | Error::Template { stage, .. }
            | Error::RateLimit { stage, .. }
            | Error::Authentication { stage, .. }
            | Error::Transport { stage, .. }
            | Error::Rpc { stage, .. }
            | Error::Decode { stage, .. }
            | Error::Io { stage, .. } => Some(*stage),
            Error::GitAuth { .. } | Error::GitUpstream { .. } | Error::CommandExit { .. } => None,
        }
    }

    /// Whether this is a timeout in the official SDKs' sense: a request,
    /// command or stream deadline, or a sandbox that is gone.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{Error, Phase, Stage};
    ///
    /// let gone = Error::SandboxGone { stage: Stage::new("read file", Phase::Respond), message: "not found".into() };
    /// assert!(gone.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::SandboxGone { .. })
    }

    /// Whether something was not found: a file, a sandbox or anything else.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{Error, Phase, Stage};
    ///
    /// let err = Error::FileNotFound { stage: Stage::new("read file", Phase::Respond), message: "/x".into() };
    /// assert!(err.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. } | Error::FileNotFound { .. } | Error::SandboxNotFound { .. })
    }

    /// Whether authentication failed (including git authentication).
    ///
    /// # Example
    ///
    /// ```
    /// let err = e2b::Error::GitAuth { message: "credentials required".into(), source: None };
    /// assert!(err.is_authentication());
    /// ```
    pub fn is_authentication(&self) -> bool {
        matches!(self, Error::Authentication { .. } | Error::GitAuth { .. })
    }

    /// Whether the official SDKs would raise this as a `SandboxException`
    /// (or a subclass): everything but authentication failures and the
    /// transport, decoding and local I/O errors they leave untyped.
    ///
    /// # Example
    ///
    /// ```
    /// let err = e2b::Error::CommandExit { stdout: String::new(), stderr: "boom".into(), exit_code: 1, error: None };
    /// assert!(err.is_sandbox_error());
    /// ```
    pub fn is_sandbox_error(&self) -> bool {
        !matches!(
            self,
            Error::Authentication { .. }
                | Error::GitAuth { .. }
                | Error::Transport { .. }
                | Error::Rpc { .. }
                | Error::Decode { .. }
                | Error::Io { .. }
        )
    }

    pub(crate) fn sandbox(stage: Stage, message: impl Into<String>) -> Self {
        Error::Sandbox { stage, message: message.into() }
    }

    pub(crate) fn invalid_argument(stage: Stage, message: impl Into<String>) -> Self {
        Error::InvalidArgument { stage, message: message.into() }
    }

    pub(crate) fn decode(stage: Stage, message: impl Into<String>) -> Self {
        Error::Decode { stage, message: message.into() }
    }

    pub(crate) fn request_timeout(stage: Stage) -> Self {
        Error::Timeout {
            stage,
            message: "Request timed out — the `request_timeout` option can be used to increase this timeout"
                .into(),
        }
    }

    pub(crate) fn sandbox_gone(stage: Stage, message: &str) -> Self {
        Error::SandboxGone {
            stage,
            message: format!(
                "{message}: This error is likely due to sandbox timeout. You can modify the sandbox \
                 timeout by passing `timeout` when creating the sandbox or calling `set_timeout` on \
                 the sandbox with the desired timeout."
            ),
        }
    }

    /// A transport error, classified: reqwest's own timeouts become
    /// [`Error::Timeout`].
    pub(crate) fn transport(stage: Stage, source: reqwest::Error) -> Self {
        if source.is_timeout() {
            return Error::request_timeout(stage);
        }
        Error::Transport { stage, source }
    }
}

/// At most this much of a response body is quoted in an error message.
const EXCERPT: usize = 512;

/// A printable excerpt of a response body for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]);
    let mut text = text.trim().to_owned();
    if body.len() > EXCERPT {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE: Stage = Stage::new("test op", Phase::Respond);

    #[test]
    fn messages_name_the_stage() {
        let err = Error::sandbox(STAGE, "409: already paused");
        assert_eq!(err.to_string(), "test op (the server answered with an error): 409: already paused");
        let err = Error::sandbox_gone(STAGE, "The sandbox was not found");
        assert!(
            err.to_string()
                .contains("The sandbox was not found: This error is likely due to sandbox timeout")
        );
        assert!(err.is_timeout() && err.is_sandbox_error());
    }

    #[test]
    fn hierarchy_helpers_match_the_official_classes() {
        let auth = Error::Authentication { stage: STAGE, message: "no key".into() };
        assert!(auth.is_authentication() && !auth.is_sandbox_error());
        let upstream = Error::GitUpstream { message: "none".into(), source: None };
        assert!(upstream.is_sandbox_error() && upstream.stage().is_none());
        let exit = Error::CommandExit {
            stdout: "o".into(),
            stderr: "e".into(),
            exit_code: 2,
            error: Some("x".into()),
        };
        assert_eq!(exit.to_string(), "Command exited with code 2 and error:\ne");
        for nf in [
            Error::NotFound { stage: STAGE, message: String::new() },
            Error::SandboxNotFound { stage: STAGE, message: String::new() },
        ] {
            assert!(nf.is_not_found());
        }
    }

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt(b"  short \n"), "short");
        let long = vec![b'a'; 2000];
        assert_eq!(excerpt(&long).chars().count(), EXCERPT + 1);
    }
}
