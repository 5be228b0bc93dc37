//! Connect error codes and their mapping to HTTP statuses and gRPC codes.

use std::fmt;
use std::str::FromStr;

/// A Connect error code: why an RPC failed.
///
/// ```
/// use e2b_connect::Code;
///
/// let code: Code = "not_found".parse().unwrap();
/// assert_eq!(code, Code::NotFound);
/// assert_eq!(code.http_status(), 404);
/// assert_eq!(code.to_string(), "not_found");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The operation was cancelled, typically by the caller.
    Canceled,
    /// An unknown error.
    Unknown,
    /// The client specified an invalid argument.
    InvalidArgument,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded,
    /// Some requested entity was not found.
    NotFound,
    /// The entity the client tried to create already exists.
    AlreadyExists,
    /// The caller lacks permission for the operation.
    PermissionDenied,
    /// Some resource (quota, disk space, rate) has been exhausted.
    ResourceExhausted,
    /// The system is not in a state required for the operation.
    FailedPrecondition,
    /// The operation was aborted, typically because of a concurrency issue.
    Aborted,
    /// The operation was attempted past the valid range.
    OutOfRange,
    /// The operation is not implemented or not supported.
    Unimplemented,
    /// An internal invariant was broken.
    Internal,
    /// The service is currently unavailable; retrying may help.
    Unavailable,
    /// Unrecoverable data loss or corruption.
    DataLoss,
    /// The request lacks valid authentication credentials.
    Unauthenticated,
}

const ALL: [(Code, &str, u16); 16] = [
    (Code::Canceled, "canceled", 499),
    (Code::Unknown, "unknown", 500),
    (Code::InvalidArgument, "invalid_argument", 400),
    (Code::DeadlineExceeded, "deadline_exceeded", 504),
    (Code::NotFound, "not_found", 404),
    (Code::AlreadyExists, "already_exists", 409),
    (Code::PermissionDenied, "permission_denied", 403),
    (Code::ResourceExhausted, "resource_exhausted", 429),
    (Code::FailedPrecondition, "failed_precondition", 400),
    (Code::Aborted, "aborted", 409),
    (Code::OutOfRange, "out_of_range", 400),
    (Code::Unimplemented, "unimplemented", 501),
    (Code::Internal, "internal", 500),
    (Code::Unavailable, "unavailable", 503),
    (Code::DataLoss, "data_loss", 500),
    (Code::Unauthenticated, "unauthenticated", 401),
];

impl Code {
    /// Every code, in the order of their gRPC numbers.
    pub const ALL: [Code; 16] = {
        let mut out = [Code::Unknown; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = ALL[i].0;
            i += 1;
        }
        out
    };

    /// The code's wire name, e.g. `"invalid_argument"`.
    pub fn as_str(self) -> &'static str {
        ALL[self.index()].1
    }

    /// The HTTP status a Connect server answers unary errors with.
    pub fn http_status(self) -> u16 {
        ALL[self.index()].2
    }

    fn index(self) -> usize {
        ALL.iter().position(|(c, _, _)| *c == self).expect("every code is in the table")
    }

    /// The code a client derives from an HTTP status when the body carries no
    /// Connect error, using E2B's table (PROTOCOL.md 5.1), which differs from
    /// the Connect specification's for 404 and 409: an E2B proxy or envd
    /// answering 404 means "not found", not "unimplemented".
    ///
    /// ```
    /// use e2b_connect::Code;
    /// assert_eq!(Code::from_http_status(502), Code::Unavailable);
    /// assert_eq!(Code::from_http_status(404), Code::NotFound);
    /// assert_eq!(Code::from_http_status(418), Code::Unknown);
    /// ```
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            409 => Code::AlreadyExists,
            413 | 429 => Code::ResourceExhausted,
            499 => Code::Canceled,
            500 => Code::Internal,
            501 | 505 => Code::Unimplemented,
            502 | 503 => Code::Unavailable,
            504 => Code::DeadlineExceeded,
            _ => Code::Unknown,
        }
    }

    /// The equivalent gRPC code.
    pub fn to_grpc(self) -> tonic::Code {
        match self {
            Code::Canceled => tonic::Code::Cancelled,
            Code::Unknown => tonic::Code::Unknown,
            Code::InvalidArgument => tonic::Code::InvalidArgument,
            Code::DeadlineExceeded => tonic::Code::DeadlineExceeded,
            Code::NotFound => tonic::Code::NotFound,
            Code::AlreadyExists => tonic::Code::AlreadyExists,
            Code::PermissionDenied => tonic::Code::PermissionDenied,
            Code::ResourceExhausted => tonic::Code::ResourceExhausted,
            Code::FailedPrecondition => tonic::Code::FailedPrecondition,
            Code::Aborted => tonic::Code::Aborted,
            Code::OutOfRange => tonic::Code::OutOfRange,
            Code::Unimplemented => tonic::Code::Unimplemented,
            Code::Internal => tonic::Code::Internal,
            Code::Unavailable => tonic::Code::Unavailable,
            Code::DataLoss => tonic::Code::DataLoss,
            Code::Unauthenticated => tonic::Code::Unauthenticated,
        }
    }

    /// The equivalent Connect code of a gRPC code (`Ok` has none: `None`).
    pub fn from_grpc(code: tonic::Code) -> Option<Code> {
        Some(match code {
            tonic::Code::Ok => return None,
            tonic::Code::Cancelled => Code::Canceled,
            tonic::Code::Unknown => Code::Unknown,
            tonic::Code::InvalidArgument => Code::InvalidArgument,
            tonic::Code::DeadlineExceeded => Code::DeadlineExceeded,
            tonic::Code::NotFound => Code::NotFound,
            tonic::Code::AlreadyExists => Code::AlreadyExists,
            tonic::Code::PermissionDenied => Code::PermissionDenied,
            tonic::Code::ResourceExhausted => Code::ResourceExhausted,
            tonic::Code::FailedPrecondition => Code::FailedPrecondition,
            tonic::Code::Aborted => Code::Aborted,
            tonic::Code::OutOfRange => Code::OutOfRange,
            tonic::Code::Unimplemented => Code::Unimplemented,
            tonic::Code::Internal => Code::Internal,
            tonic::Code::Unavailable => Code::Unavailable,
            tonic::Code::DataLoss => Code::DataLoss,
            tonic::Code::Unauthenticated => Code::Unauthenticated,
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a Connect code name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Connect error code")]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .find(|(_, name, _)| *name == s)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_grpc_round_trip() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>().unwrap(), code);
            assert_eq!(Code::from_grpc(code.to_grpc()), Some(code));
        }
        assert_eq!(Code::from_grpc(tonic::Code::Ok), None);
        assert!("cancelled".parse::<Code>().is_err());
    }

    #[test]
    fn server_side_statuses_follow_the_connect_table() {
        let table = [
            ("canceled", 499),
            ("unknown", 500),
            ("invalid_argument", 400),
            ("deadline_exceeded", 504),
            ("not_found", 404),
            ("already_exists", 409),
            ("permission_denied", 403),
            ("resource_exhausted", 429),
            ("failed_precondition", 400),
            ("aborted", 409),
            ("out_of_range", 400),
            ("unimplemented", 501),
            ("internal", 500),
            ("unavailable", 503),
            ("data_loss", 500),
            ("unauthenticated", 401),
        ];
        for (name, status) in table {
            assert_eq!(name.parse::<Code>().unwrap().http_status(), status, "{name}");
        }
    }
}
