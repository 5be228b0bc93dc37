//! Credentials in git URLs, and recognising authentication and upstream
//! failures in git's output.

use super::command::invalid;
use crate::error::{Error, Result};

/// A URL split the way Python's `urlparse` does for `scheme://netloc/rest`.
struct UrlParts<'a> {
    scheme: &'a str,
    netloc: &'a str,
    /// Path, query and fragment, unchanged.
    rest: &'a str,
}

fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid_scheme {
        return None;
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some(UrlParts { scheme, netloc: &after[..end], rest: &after[end..] })
}

fn is_http(parts: &UrlParts<'_>) -> bool {
    parts.scheme.eq_ignore_ascii_case("http") || parts.scheme.eq_ignore_ascii_case("https")
}

/// `url` with `username:password@` in front of the host. The credentials
/// are inserted as given, not percent-encoded (as E2B's SDKs do).
pub(crate) fn with_credentials(
    operation: &'static str,
    url: &str,
    username: &str,
    password: &str,
) -> Result<String> {
    match split_url(url).filter(is_http) {
        Some(parts) => Ok(format!(
            "{}://{username}:{password}@{}{}",
            parts.scheme.to_ascii_lowercase(),
            parts.netloc,
            parts.rest
        )),
        None => Err(invalid(operation, "Only http(s) Git URLs support username/password credentials.")),
    }
}

/// `url` without credentials: the host (lower-cased) and port only.
/// Non-http(s) URLs and URLs without credentials come back unchanged.
pub(crate) fn strip_credentials(url: &str) -> String {
    let Some(parts) = split_url(url).filter(is_http) else {
        return url.to_owned();
    };
    let Some((userinfo, host_port)) = parts.netloc.rsplit_once('@') else {
        return url.to_owned();
    };
    if userinfo.is_empty() || userinfo == ":" {
        return url.to_owned();
    }
    format!("{}://{}{}", parts.scheme.to_ascii_lowercase(), host_port.to_ascii_lowercase(), parts.rest)
}

/// The directory `git clone` creates for `url`: its last path segment
/// without a `.git` suffix. Only for http(s) URLs.
pub(crate) fn derive_repo_dir(url: &str) -> Option<String> {
    let parts = split_url(url).filter(is_http)?;
    let path_end = parts.rest.find(['?', '#']).unwrap_or(parts.rest.len());
    let path = parts.rest[..path_end].trim_end_matches('/');
    let last = path.rsplit('/').next().filter(|s| !s.is_empty())?;
    let dir = last.strip_suffix(".git").unwrap_or(last);
    Some(dir.to_owned())
}

const AUTH_FAILURES: &[&str] = &[
    "authentication failed",
    "terminal prompts disabled",
    "could not read username",
    "invalid username or password",
    "access denied",
    "permission denied",
    "not authorized",
];

const UPSTREAM_FAILURES: &[&str] = &[
    "has no upstream branch",
    "no upstream branch",
    "no upstream configured",
    "no tracking information for the current branch",
    "no tracking information",
    "set the remote as upstream",
    "set the upstream branch",
    "please specify which branch you want to merge with",
];

fn command_output(err: &Error) -> Option<String> {
    match err {
        Error::CommandExit { stdout, stderr, .. } => Some(format!("{stderr}\n{stdout}").to_lowercase()),
        _ => None,
    }
}

/// Whether a failed git command failed for lack of valid credentials.
pub(crate) fn is_auth_failure(err: &Error) -> bool {
    command_output(err).is_some_and(|output| AUTH_FAILURES.iter().any(|s| output.contains(s)))
}

/// Whether a failed git command failed for lack of an upstream branch.
pub(crate) fn is_missing_upstream(err: &Error) -> bool {
    command_output(err).is_some_and(|output| UPSTREAM_FAILURES.iter().any(|s| output.contains(s)))
}

pub(crate) fn auth_error(action: &str, missing_password: bool, source: Error) -> Error {
    let message = if missing_password {
        format!("Git {action} requires a password/token for private repositories.")
    } else {
        format!("Git {action} requires credentials for private repositories.")
    };
    Error::GitAuth { message, source: Some(Box::new(source)) }
}

pub(crate) fn upstream_error(action: &str, source: Option<Error>) -> Error {
    let message = if action == "push" {
        "Git push failed because no upstream branch is configured. Set upstream once with \
         set_upstream(true) (and optional remote/branch), or pass remote and branch explicitly."
    } else {
        "Git pull failed because no upstream branch is configured. Pass remote and branch explicitly, \
         or set upstream once (push with set_upstream(true) or run: git branch --set-upstream-to=origin/<branch> <branch>)."
    };
    Error::GitUpstream { message: message.to_owned(), source: source.map(Box::new) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_credentials_verbatim() {
        assert_eq!(
            with_credentials("op", "https://github.com/o/r.git", "u", "p@:/").unwrap(),
            "https://u:p@:/@github.com/o/r.git"
        );
        assert_eq!(
            with_credentials("op", "http://h:8080/r?x=1#f", "u", "p").unwrap(),
            "http://u:p@h:8080/r?x=1#f"
        );
        assert_eq!(with_credentials("op", "HTTPS://H/r", "u", "p").unwrap(), "https://u:p@H/r");
        for bad in ["ssh://git@h/r", "git@github.com:o/r.git", "/local/repo", "file:///x"] {
            let err = with_credentials("op", bad, "u", "p").unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}");
        }
    }

    #[test]
    fn strips_credentials_keeping_host_and_port() {
        assert_eq!(strip_credentials("https://u:p@GitHub.com/o/r.git"), "https://github.com/o/r.git");
        assert_eq!(strip_credentials("https://u:p@h:8443/o/r"), "https://h:8443/o/r");
        assert_eq!(strip_credentials("https://tok@h/o/r"), "https://h/o/r");
        assert_eq!(strip_credentials("https://u:p@x@h/r"), "https://h/r");
        assert_eq!(strip_credentials("https://h/o/r"), "https://h/o/r");
        assert_eq!(strip_credentials("https://H/o/r"), "https://H/o/r");
        assert_eq!(strip_credentials("ssh://u:p@h/r"), "ssh://u:p@h/r");
        assert_eq!(strip_credentials("https://u:p@[::1]:9/r"), "https://[::1]:9/r");
    }

    #[test]
    fn derives_the_clone_directory() {
        assert_eq!(derive_repo_dir("https://github.com/o/repo.git").as_deref(), Some("repo"));
        assert_eq!(derive_repo_dir("https://github.com/o/repo/").as_deref(), Some("repo"));
        assert_eq!(derive_repo_dir("https://h/o/r.git?x=1#y").as_deref(), Some("r"));
        assert_eq!(derive_repo_dir("https://h/"), None);
        assert_eq!(derive_repo_dir("https://h"), None);
        assert_eq!(derive_repo_dir("git@github.com:o/r.git"), None);
    }

    fn exit(stdout: &str, stderr: &str) -> Error {
        Error::CommandExit { stdout: stdout.into(), stderr: stderr.into(), exit_code: 128, error: None }
    }

    #[test]
    fn recognises_failures() {
        assert!(is_auth_failure(&exit("", "fatal: Authentication failed for 'https://h/r'")));
        assert!(is_auth_failure(&exit("remote: Permission DENIED", "")));
        assert!(is_auth_failure(&exit(
            "",
            "fatal: could not read Username for 'https://github.com': terminal prompts disabled"
        )));
        assert!(!is_auth_failure(&exit("", "fatal: repository not found")));
        assert!(is_missing_upstream(&exit("", "fatal: The current branch main has no upstream branch.")));
        assert!(is_missing_upstream(&exit("There is no tracking information for the current branch.", "")));
        assert!(!is_missing_upstream(&exit("", "error: failed to push some refs")));
        let other = Error::Sandbox {
            stage: crate::Stage::new("x", crate::Phase::Run),
            message: "authentication failed".into(),
        };
        assert!(!is_auth_failure(&other));
    }

    #[test]
    fn errors_keep_their_cause() {
        let err = auth_error("push", true, exit("", "denied"));
        assert!(err.to_string().contains("Git push requires a password/token"));
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.is_authentication());
        let err = upstream_error("pull", None);
        assert!(matches!(err, Error::GitUpstream { .. }) && err.is_sandbox_error());
    }
}
