//! Incremental UTF-8 decoding of output that arrives in arbitrary chunks.

/// Decodes a byte stream to text chunk by chunk: a multi-byte character
/// split across chunks is kept until it is complete; invalid bytes become
/// U+FFFD.
#[derive(Debug, Default)]
pub(crate) struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Decodes what can be decoded of `pending + chunk`.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> String {
        // The common case: whole characters only, nothing pending.
        if self.pending.is_empty()
            && let Ok(text) = std::str::from_utf8(chunk)
        {
            return text.to_owned();
        }
        self.pending.extend_from_slice(chunk);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // The prefix was just validated.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// Flushes an incomplete trailing sequence as U+FFFD.
    pub(crate) fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            return String::new();
        }
        self.pending.clear();
        char::REPLACEMENT_CHARACTER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_survive_chunk_boundaries() {
        let text = "añ€😀z";
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            for second in split..=bytes.len() {
                let mut decoder = Utf8Decoder::default();
                let mut out = decoder.push(&bytes[..split]);
                out += &decoder.push(&bytes[split..second]);
                out += &decoder.push(&bytes[second..]);
                out += &decoder.finish();
                assert_eq!(out, text, "split at {split}/{second}");
            }
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut decoder = Utf8Decoder::default();
        assert_eq!(decoder.push(b"a\xffb\xc3"), "a\u{fffd}b");
        assert_eq!(decoder.push(b"("), "\u{fffd}(");
        assert_eq!(decoder.push(b"\xe2\x82"), "");
        assert_eq!(decoder.finish(), "\u{fffd}");
        assert_eq!(decoder.finish(), "");
    }
}
