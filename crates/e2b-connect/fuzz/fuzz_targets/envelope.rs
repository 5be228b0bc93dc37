//! Feeds arbitrary bytes, in arbitrary chunks, to the envelope decoder and the
//! end-of-stream parser: they must return values or errors, never panic,
//! hang or allocate without bound.
//!
//! Run: `cargo fuzz run envelope` in crates/e2b-connect (needs cargo-fuzz).
#![no_main]

use e2b_connect::envelope::{EndStream, EnvelopeDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a chunk size, so splits are explored too.
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    let mut decoder = EnvelopeDecoder::new(64 * 1024);
    for piece in rest.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_envelope() {
                Ok(Some(envelope)) => {
                    if envelope.is_end_stream() {
                        let _ = EndStream::parse(&envelope.data);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish();
    let _ = EndStream::parse(rest);
});
