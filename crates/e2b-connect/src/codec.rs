//! Message codecs (JSON, binary protobuf), content types, and gzip.

use std::io::Read;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What this crate can send and receive: a prost message that also has the
/// protobuf canonical JSON mapping (every `e2b-proto` message qualifies).
pub trait Message: prost::Message + Serialize + DeserializeOwned + Default + Send + Sync + 'static {}

impl<T> Message for T where T: prost::Message + Serialize + DeserializeOwned + Default + Send + Sync + 'static {}

/// The message encoding of a call.
///
/// JSON is the default because it is what the official E2B SDKs use
/// (PROTOCOL.md 5.1); binary protobuf is smaller and faster.
///
/// ```
/// use e2b_connect::Codec;
/// assert_eq!(Codec::default(), Codec::Json);
/// assert_eq!(Codec::Proto.unary_content_type(), "application/proto");
/// assert_eq!(Codec::Json.stream_content_type(), "application/connect+json");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Protobuf canonical JSON.
    #[default]
    Json,
    /// Binary protobuf.
    Proto,
}

/// The kind of call a content type announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `application/<codec>`: a bare message.
    Unary,
    /// `application/connect+<codec>`: enveloped messages.
    Enveloped,
}

impl Codec {
    /// `Content-Type` of unary requests and responses.
    pub fn unary_content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Proto => "application/proto",
        }
    }

    /// `Content-Type` of streaming requests and responses.
    pub fn stream_content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/connect+json",
            Codec::Proto => "application/connect+proto",
        }
    }

    /// Recognises a Connect content type (parameters such as `charset` and
    /// letter case are ignored).
    pub(crate) fn parse_content_type(value: &str) -> Option<(Codec, Framing)> {
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some((Codec::Json, Framing::Unary)),
            "application/proto" => Some((Codec::Proto, Framing::Unary)),
            "application/connect+json" => Some((Codec::Json, Framing::Enveloped)),
            "application/connect+proto" => Some((Codec::Proto, Framing::Enveloped)),
            _ => None,
        }
    }

    /// Encodes a message.
    ///
    /// ```
    /// use e2b_connect::Codec;
    /// use e2b_proto::process::ConnectRequest;
    /// assert_eq!(&Codec::Json.encode(&ConnectRequest::default()).unwrap()[..], b"{}");
    /// ```
    pub fn encode<M: Message>(self, message: &M) -> Result<Bytes, String> {
        match self {
            Codec::Json => serde_json::to_vec(message).map(Bytes::from).map_err(|e| e.to_string()),
            Codec::Proto => Ok(message.encode_to_vec().into()),
        }
    }

    /// Decodes a message. An empty JSON body counts as `{}`.
    pub fn decode<M: Message>(self, data: &[u8]) -> Result<M, String> {
        match self {
            Codec::Json if data.iter().all(u8::is_ascii_whitespace) => Ok(M::default()),
            Codec::Json => serde_json::from_slice(data).map_err(|e| e.to_string()),
            Codec::Proto => M::decode(data).map_err(|e| e.to_string()),
        }
    }
}

/// Compresses with gzip.
pub(crate) fn gzip(data: &[u8]) -> Bytes {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::fast());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail").into()
}

/// Why a gzip payload could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GunzipError {
    #[error("decompressed message exceeds the limit of {0} bytes")]
    TooLarge(usize),
    #[error("invalid gzip data: {0}")]
    Invalid(std::io::Error),
}

/// Decompresses gzip, refusing to inflate past `limit` bytes (so a small
/// "zip bomb" cannot exhaust memory).
pub(crate) fn gunzip(data: &[u8], limit: usize) -> Result<Bytes, GunzipError> {
    let decoder = flate2::read::GzDecoder::new(data);
    let mut out = Vec::new();
    decoder.take(limit as u64 + 1).read_to_end(&mut out).map_err(GunzipError::Invalid)?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge(limit));
    }
    Ok(out.into())
}

/// A compression name from `Content-Encoding` / `Connect-Content-Encoding`:
/// `Ok(false)` for identity (or absent), `Ok(true)` for gzip, `Err` otherwise.
pub(crate) fn parse_encoding(value: Option<&http::HeaderValue>) -> Result<bool, String> {
    match value.map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "identity" => Ok(false),
        Some(v) if v == "gzip" => Ok(true),
        Some(v) => Err(v),
    }
}

/// Whether an `Accept-Encoding`-style header admits gzip.
pub(crate) fn accepts_gzip(value: Option<&http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else { return false };
    value.split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or_default().trim();
        let q_zero = it.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
        });
        name.eq_ignore_ascii_case("gzip") && !q_zero
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            Codec::parse_content_type("application/json; charset=utf-8"),
            Some((Codec::Json, Framing::Unary))
        );
        assert_eq!(
            Codec::parse_content_type("Application/Connect+Proto"),
            Some((Codec::Proto, Framing::Enveloped))
        );
        assert_eq!(Codec::parse_content_type("application/grpc"), None);
        assert_eq!(Codec::parse_content_type("text/plain"), None);
    }

    #[test]
    fn gzip_round_trip_and_bomb_limit() {
        let data = vec![b'a'; 100_000];
        let packed = gzip(&data);
        assert!(packed.len() < 1000);
        assert_eq!(gunzip(&packed, 100_000).unwrap().len(), 100_000);
        assert!(matches!(gunzip(&packed, 99_999), Err(GunzipError::TooLarge(_))));
        assert!(matches!(gunzip(b"not gzip", 10), Err(GunzipError::Invalid(_))));
    }

    #[test]
    fn accept_encoding_parsing() {
        let h = |s: &'static str| http::HeaderValue::from_static(s);
        assert!(accepts_gzip(Some(&h("gzip, deflate"))));
        assert!(accepts_gzip(Some(&h("zstd,gzip,br"))));
        assert!(!accepts_gzip(Some(&h("identity"))));
        assert!(!accepts_gzip(Some(&h("gzip;q=0"))));
        assert!(!accepts_gzip(None));
    }
}
