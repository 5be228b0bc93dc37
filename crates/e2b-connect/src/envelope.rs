//! Connect's envelope framing for streaming calls, and the end-of-stream
//! message.
//!
//! An envelope is one flag byte, a 4-byte big-endian length and that many
//! bytes of payload. Flag `0x01` marks a compressed payload, `0x02` the final
//! end-of-stream message, whose payload is JSON:
//! `{"error": {"code": ..., "message": ...}, "metadata": {"key": ["value"]}}`
//! (both keys optional). These functions are pure and total: any input yields
//! a value or an [`EnvelopeError`], never a panic (a fuzz target checks it).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::Status;
use crate::error::ErrorJson;

/// The payload is compressed with the stream's negotiated encoding.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// This is the end-of-stream message.
pub const FLAG_END_STREAM: u8 = 0x02;

const HEADER_LEN: usize = 5;

/// One framed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Flag bits ([`FLAG_COMPRESSED`], [`FLAG_END_STREAM`]).
    pub flags: u8,
    /// The payload, as framed (still compressed if flagged so).
    pub data: Bytes,
}

impl Envelope {
    /// Whether the payload is compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Whether this is the end-of-stream message.
    pub fn is_end_stream(&self) -> bool {
        self.flags & FLAG_END_STREAM != 0
    }
}

/// Malformed framing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The declared payload length exceeds the limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Declared size.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Flag bits other than compressed / end-of-stream were set.
    #[error("unknown envelope flags {0:#04x}")]
    UnknownFlags(u8),
    /// The stream ended in the middle of an envelope.
    #[error("stream ended inside an envelope ({have} of {need} bytes)")]
    Truncated {
        /// Bytes received.
        have: usize,
        /// Bytes the envelope needed.
        need: usize,
    },
    /// The end-of-stream payload is not valid JSON of the expected shape.
    #[error("invalid end-of-stream message: {0}")]
    InvalidEndStream(String),
}

/// Appends one envelope to `dst`.
///
/// ```
/// use bytes::BytesMut;
/// use e2b_connect::envelope::{encode, FLAG_END_STREAM};
///
/// let mut buf = BytesMut::new();
/// encode(FLAG_END_STREAM, b"{}", &mut buf);
/// assert_eq!(&buf[..], b"\x02\x00\x00\x00\x02{}");
/// ```
pub fn encode(flags: u8, payload: &[u8], dst: &mut BytesMut) {
    dst.reserve(HEADER_LEN + payload.len());
    dst.put_u8(flags);
    dst.put_u32(u32::try_from(payload.len()).expect("payloads above 4 GiB are rejected earlier"));
    dst.put_slice(payload);
}

/// Incremental envelope decoder: feed it body chunks, take whole envelopes.
///
/// ```
/// use bytes::Bytes;
/// use e2b_connect::envelope::EnvelopeDecoder;
///
/// let mut decoder = EnvelopeDecoder::new(1024);
/// decoder.push(Bytes::from_static(b"\x00\x00\x00\x00\x02h"));
/// assert!(decoder.next_envelope().unwrap().is_none()); // waiting for one more byte
/// decoder.push(Bytes::from_static(b"i"));
/// assert_eq!(&decoder.next_envelope().unwrap().unwrap().data[..], b"hi");
/// decoder.finish().unwrap();
/// ```
#[derive(Debug)]
pub struct EnvelopeDecoder {
    buf: BytesMut,
    max_size: usize,
}

impl EnvelopeDecoder {
    /// A decoder that refuses payloads larger than `max_size` bytes.
    pub fn new(max_size: usize) -> Self {
        EnvelopeDecoder { buf: BytesMut::new(), max_size }
    }

    /// Adds received bytes.
    pub fn push(&mut self, chunk: impl AsRef<[u8]>) {
        self.buf.extend_from_slice(chunk.as_ref());
    }

    /// The next complete envelope, `Ok(None)` if more bytes are needed.
    pub fn next_envelope(&mut self) -> Result<Option<Envelope>, EnvelopeError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let flags = self.buf[0];
        if flags & !(FLAG_COMPRESSED | FLAG_END_STREAM) != 0 {
            return Err(EnvelopeError::UnknownFlags(flags));
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        // Checked before buffering, so a hostile length cannot make us allocate.
        if len > self.max_size {
            return Err(EnvelopeError::TooLarge { size: len, limit: self.max_size });
        }
        if self.buf.len() < HEADER_LEN + len {
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let data = self.buf.split_to(len).freeze();
        Ok(Some(Envelope { flags, data }))
    }

    /// Call at the end of the body: fails if a partial envelope is left.
    pub fn finish(&self) -> Result<(), EnvelopeError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let need = if self.buf.len() < HEADER_LEN {
            HEADER_LEN
        } else {
            HEADER_LEN + u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize
        };
        Err(EnvelopeError::Truncated { have: self.buf.len(), need })
    }
}

/// The final message of a stream: its error, if it failed, and trailers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndStream {
    /// Present when the stream failed.
    pub error: Option<Status>,
    /// Trailing metadata.
    pub metadata: HeaderMap,
}

#[derive(Serialize, Deserialize, Default)]
struct EndStreamJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, Vec<String>>,
}

impl EndStream {
    /// Parses an end-of-stream payload. An error whose code is not a Connect
    /// code is reported as `unknown`, as the Connect specification asks.
    ///
    /// ```
    /// use e2b_connect::{Code, envelope::EndStream};
    ///
    /// let end = EndStream::parse(br#"{"error":{"code":"deadline_exceeded","message":"late"}}"#).unwrap();
    /// assert_eq!(end.error.unwrap().code(), Code::DeadlineExceeded);
    /// assert!(EndStream::parse(b"{}").unwrap().error.is_none());
    /// ```
    pub fn parse(payload: &[u8]) -> Result<EndStream, EnvelopeError> {
        let json: EndStreamJson =
            serde_json::from_slice(payload).map_err(|e| EnvelopeError::InvalidEndStream(e.to_string()))?;
        let mut metadata = HeaderMap::new();
        for (key, values) in json.metadata {
            let name = HeaderName::from_bytes(key.as_bytes())
                .map_err(|_| EnvelopeError::InvalidEndStream(format!("invalid metadata key {key:?}")))?;
            for value in values {
                let value = HeaderValue::from_str(&value).map_err(|_| {
                    EnvelopeError::InvalidEndStream(format!("invalid metadata value for {key}"))
                })?;
                metadata.append(name.clone(), value);
            }
        }
        let error = json.error.map(|e| {
            let message = e.message.clone();
            Status::from_error_json(e)
                .unwrap_or_else(|| Status::new(crate::Code::Unknown, message))
                .with_metadata(metadata.clone())
        });
        Ok(EndStream { error, metadata })
    }

    /// Encodes the payload of an end-of-stream message.
    ///
    /// ```
    /// use e2b_connect::envelope::EndStream;
    /// assert_eq!(&EndStream::default().encode()[..], b"{}");
    /// ```
    pub fn encode(&self) -> Bytes {
        let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in &self.metadata {
            if let Ok(v) = value.to_str() {
                metadata.entry(name.as_str().to_owned()).or_default().push(v.to_owned());
            }
        }
        let json = EndStreamJson { error: self.error.as_ref().map(Status::to_error_json), metadata };
        serde_json::to_vec(&json).expect("end-of-stream JSON always serializes").into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    fn frames(parts: &[(u8, &[u8])]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        for (flags, data) in parts {
            encode(*flags, data, &mut buf);
        }
        buf.to_vec()
    }

    #[test]
    fn rejects_oversize_unknown_flags_and_truncation() {
        let mut d = EnvelopeDecoder::new(3);
        d.push(frames(&[(0, b"abcd")]));
        assert_eq!(d.next_envelope(), Err(EnvelopeError::TooLarge { size: 4, limit: 3 }));

        let mut d = EnvelopeDecoder::new(10);
        d.push([0x80, 0, 0, 0, 0]);
        assert_eq!(d.next_envelope(), Err(EnvelopeError::UnknownFlags(0x80)));

        let mut d = EnvelopeDecoder::new(10);
        d.push([0, 0, 0, 0, 5, b'a']);
        assert_eq!(d.next_envelope(), Ok(None));
        assert_eq!(d.finish(), Err(EnvelopeError::Truncated { have: 6, need: 10 }));

        // A huge declared length does not allocate, it is refused.
        let mut d = EnvelopeDecoder::new(1 << 20);
        d.push([0, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(d.next_envelope(), Err(EnvelopeError::TooLarge { .. })));
    }

    #[test]
    fn end_stream_round_trip_with_error_and_metadata() {
        let mut metadata = HeaderMap::new();
        metadata.append("x-a", "1".parse().unwrap());
        metadata.append("x-a", "2".parse().unwrap());
        let end = EndStream {
            error: Some(Status::new(Code::NotFound, "gone").with_metadata(metadata.clone())),
            metadata,
        };
        let payload = end.encode();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
            serde_json::json!({"error":{"code":"not_found","message":"gone"},"metadata":{"x-a":["1","2"]}})
        );
        assert_eq!(EndStream::parse(&payload).unwrap(), end);
    }

    #[test]
    fn end_stream_with_unknown_code_is_unknown() {
        let end = EndStream::parse(br#"{"error":{"code":"teapot","message":"m"}}"#).unwrap();
        assert_eq!(end.error.unwrap().code(), Code::Unknown);
        assert!(EndStream::parse(b"not json").is_err());
        assert!(EndStream::parse(br#"{"metadata":{"bad key":["v"]}}"#).is_err());
    }

    proptest! {
        /// Any sequence of envelopes, split into arbitrary chunks, decodes to
        /// the same envelopes.
        #[test]
        fn chunked_decoding_round_trips(
            msgs in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..300)), 0..8),
            cuts in proptest::collection::vec(1usize..64, 1..40),
        ) {
            let parts: Vec<(u8, &[u8])> = msgs.iter().map(|(f, d)| (*f, d.as_slice())).collect();
            let wire = frames(&parts);
            let mut d = EnvelopeDecoder::new(1024);
            let mut out = Vec::new();
            let (mut pos, mut i) = (0, 0);
            while pos < wire.len() {
                let end = (pos + cuts[i % cuts.len()]).min(wire.len());
                d.push(&wire[pos..end]);
                pos = end;
                i += 1;
                while let Some(env) = d.next_envelope().unwrap() {
                    out.push((env.flags, env.data.to_vec()));
                }
            }
            d.finish().unwrap();
            prop_assert_eq!(out, msgs);
        }

        /// Arbitrary bytes never panic the decoders.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut d = EnvelopeDecoder::new(256);
            d.push(&bytes);
            while let Ok(Some(env)) = d.next_envelope() {
                let _ = EndStream::parse(&env.data);
            }
            let _ = d.finish();
            let _ = EndStream::parse(&bytes);
        }
    }
}
