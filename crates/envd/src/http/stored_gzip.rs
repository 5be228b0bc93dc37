//! gzip without compression: data framed as "stored" deflate blocks.
//!
//! A client that asks for gzip gets a valid gzip stream, but deflating
//! data that does not compress (media, archives, random bytes) only burns
//! CPU. Framing it as stored blocks costs a CRC and a copy, an order of
//! magnitude faster than a deflate encoder at level 0.

use flate2::Crc;

/// gzip member header: magic, deflate, no flags, no mtime, no extra flags,
/// unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
/// The largest stored block.
const MAX_BLOCK: usize = u16::MAX as usize;

/// An incremental stored-gzip encoder.
#[derive(Default)]
pub(crate) struct StoredGzip {
    crc: Crc,
    started: bool,
}

impl StoredGzip {
    /// Frames `data` (the gzip header precedes the first call's output).
    pub(crate) fn encode(&mut self, data: &[u8]) -> Vec<u8> {
        let blocks = data.len().div_ceil(MAX_BLOCK);
        let mut out = Vec::with_capacity(data.len() + blocks * 5 + HEADER.len());
        if !self.started {
            out.extend_from_slice(&HEADER);
            self.started = true;
        }
        self.crc.update(data);
        for block in data.chunks(MAX_BLOCK) {
            push_block(&mut out, block, false);
        }
        out
    }

    /// The final (empty) block and the CRC/length trailer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER.len() + 13);
        if !self.started {
            out.extend_from_slice(&HEADER);
            self.started = true;
        }
        push_block(&mut out, &[], true);
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
        out
    }
}

fn push_block(out: &mut Vec<u8>, block: &[u8], last: bool) {
    let len = block.len() as u16;
    // BFINAL in bit 0, BTYPE 00 (stored); the rest of the byte is padding.
    out.push(u8::from(last));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(block);
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn decodes_with_a_standard_decoder() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let mut encoder = StoredGzip::default();
        let mut out = Vec::new();
        for chunk in data.chunks(100_000) {
            out.extend(encoder.encode(chunk));
        }
        out.extend(encoder.finish());
        assert_eq!(gunzip(&out), data);
        assert!(gunzip(&StoredGzip::default().finish()).is_empty());
        let mut empty_chunks = StoredGzip::default();
        let mut out = empty_chunks.encode(&[]);
        out.extend(empty_chunks.finish());
        assert!(gunzip(&out).is_empty());
    }
}
