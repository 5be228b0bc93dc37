//! Signed file URLs (v1): the signature envd accepts instead of the access
//! token on `GET /files` and `POST /files`.
//!
//! ```
//! use e2b::signature::{FileOperation, sign_file_url};
//!
//! let signature = sign_file_url("/tmp/out.csv", FileOperation::Write, Some("user"), "tok", Some(1_900_000_000));
//! assert!(signature.starts_with("v1_"));
//! ```

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What a signed file URL allows.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::signature::FileOperation::Read.as_str(), "read");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileOperation {
    /// Downloading (`GET /files`).
    Read,
    /// Uploading (`POST /files`).
    Write,
}

impl FileOperation {
    /// The operation's name inside the signed text.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::signature::FileOperation::Write.as_str(), "write");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FileOperation::Read => "read",
            FileOperation::Write => "write",
        }
    }
}

/// The v1 signature of a file URL: `"v1_"` + unpadded standard base64 of
/// SHA-256 over `path:operation:username:token[:expiration]`.
///
/// `path` is the `path` query value exactly as sent, `username` the
/// `username` query value (empty when absent) and `expiration` absolute Unix
/// seconds.
///
/// # Example
///
/// ```
/// use e2b::signature::{FileOperation, sign_file_url};
///
/// let signature = sign_file_url("/home/user/a.txt", FileOperation::Read, None, "tok123", None);
/// assert_eq!(signature, "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M");
/// ```
pub fn sign_file_url(
    path: &str,
    operation: FileOperation,
    username: Option<&str>,
    access_token: &str,
    expiration: Option<u64>,
) -> String {
    let username = username.unwrap_or("");
    let raw = match expiration {
        Some(expiration) => format!("{path}:{}:{username}:{access_token}:{expiration}", operation.as_str()),
        None => format!("{path}:{}:{username}:{access_token}", operation.as_str()),
    };
    let digest = Sha256::digest(raw.as_bytes());
    format!("v1_{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_protocol_test_vectors() {
        assert_eq!(
            sign_file_url("/home/user/a.txt", FileOperation::Read, None, "tok123", None),
            "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M"
        );
        assert_eq!(
            sign_file_url(
                "/home/user/a.txt",
                FileOperation::Write,
                Some("user"),
                "tok123",
                Some(1_700_000_000)
            ),
            "v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM"
        );
    }

    #[test]
    fn an_empty_username_equals_no_username() {
        assert_eq!(
            sign_file_url("a", FileOperation::Read, Some(""), "t", None),
            sign_file_url("a", FileOperation::Read, None, "t", None)
        );
        assert_ne!(
            sign_file_url("a", FileOperation::Read, None, "t", None),
            sign_file_url("a", FileOperation::Write, None, "t", None)
        );
    }
}
