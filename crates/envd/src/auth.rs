//! The access token and the v1 URL signatures made with it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The secret that guards a secure sandbox's envd.
///
/// Comparisons run in constant time (for equal lengths), so response timing
/// does not reveal how much of a guess was right.
#[derive(Clone)]
pub(crate) struct AccessToken(String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// What a signed URL allows: `read` for downloads, `write` for uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Write,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
        }
    }
}

/// Why a `/files` request was not authorised.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SignatureError {
    #[error("access token present in header but does not match")]
    HeaderMismatch,
    #[error("missing signature query parameter")]
    Missing,
    #[error("invalid signature")]
    Invalid,
    #[error("signature is already expired")]
    Expired,
}

impl AccessToken {
    pub(crate) fn new(token: impl Into<String>) -> Self {
        AccessToken(token.into())
    }

    /// Whether `candidate` is this token.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }

    /// The `v1_` signature of `path` for `operation` by `username` (empty
    /// when absent), optionally bound to an expiry in Unix seconds.
    pub(crate) fn sign(
        &self,
        path: &str,
        operation: Operation,
        username: &str,
        expiration: Option<i64>,
    ) -> String {
        let mut hasher = Sha256::new();
        hasher.update(path.as_bytes());
        hasher.update(b":");
        hasher.update(operation.as_str().as_bytes());
        hasher.update(b":");
        hasher.update(username.as_bytes());
        hasher.update(b":");
        hasher.update(self.0.as_bytes());
        if let Some(expiration) = expiration {
            hasher.update(b":");
            hasher.update(expiration.to_string().as_bytes());
        }
        format!("v1_{}", STANDARD_NO_PAD.encode(hasher.finalize()))
    }

    /// Authorises a `/files` request: a token header, when present, must be
    /// this token (the signature is then ignored); otherwise the signature
    /// must match and must not have expired at `now` (Unix seconds).
    pub(crate) fn authorize_transfer(
        &self,
        header_token: Option<&str>,
        request: &SignedRequest<'_>,
        now: i64,
    ) -> Result<(), SignatureError> {
        if let Some(token) = header_token {
            return if self.matches(token) { Ok(()) } else { Err(SignatureError::HeaderMismatch) };
        }
        let signature = request.signature.ok_or(SignatureError::Missing)?;
        let expected =
            self.sign(request.path, request.operation, request.username.unwrap_or(""), request.expiration);
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Err(SignatureError::Invalid);
        }
        match request.expiration {
            Some(expiration) if expiration < now => Err(SignatureError::Expired),
            _ => Ok(()),
        }
    }
}

/// The parts of a `/files` URL that a signature covers.
#[derive(Debug)]
pub(crate) struct SignedRequest<'a> {
    /// The `path` query value exactly as sent.
    pub(crate) path: &'a str,
    pub(crate) operation: Operation,
    pub(crate) username: Option<&'a str>,
    pub(crate) signature: Option<&'a str>,
    pub(crate) expiration: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published test vectors (token `tok123`).
    #[test]
    fn signatures_match_the_protocol_vectors() {
        let token = AccessToken::new("tok123");
        assert_eq!(
            token.sign("/home/user/a.txt", Operation::Read, "", None),
            "v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M"
        );
        assert_eq!(
            token.sign("/home/user/a.txt", Operation::Write, "user", Some(1_700_000_000)),
            "v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM"
        );
    }

    #[test]
    fn transfer_authorisation_rules() {
        let token = AccessToken::new("tok123");
        let mut req = SignedRequest {
            path: "/home/user/a.txt",
            operation: Operation::Write,
            username: Some("user"),
            signature: Some("v1_kCwu4usVZBCSzXHSFPk291ud3zHmpwR9v0nRPaSmYqM"),
            expiration: Some(1_700_000_000),
        };
        assert_eq!(token.authorize_transfer(None, &req, 1_600_000_000), Ok(()));
        assert_eq!(token.authorize_transfer(None, &req, 1_700_000_001), Err(SignatureError::Expired));
        // A header token wins over the signature, in both directions.
        assert_eq!(token.authorize_transfer(Some("tok123"), &req, 1_800_000_000), Ok(()));
        assert_eq!(
            token.authorize_transfer(Some("nope"), &req, 1_600_000_000),
            Err(SignatureError::HeaderMismatch)
        );
        // The signature covers the operation, user and expiry.
        req.operation = Operation::Read;
        assert_eq!(token.authorize_transfer(None, &req, 0), Err(SignatureError::Invalid));
        req.operation = Operation::Write;
        req.username = None;
        assert_eq!(token.authorize_transfer(None, &req, 0), Err(SignatureError::Invalid));
        req.username = Some("user");
        req.expiration = Some(1_700_000_001);
        assert_eq!(token.authorize_transfer(None, &req, 0), Err(SignatureError::Invalid));
        req.signature = None;
        assert_eq!(token.authorize_transfer(None, &req, 0), Err(SignatureError::Missing));
    }

    #[test]
    fn token_comparison() {
        let token = AccessToken::new("abc");
        assert!(token.matches("abc"));
        assert!(!token.matches("abd"));
        assert!(!token.matches("ab"));
        assert!(!token.matches(""));
    }
}
