//! Incremental gzip in both directions, so that compressed transfers stream
//! chunk by chunk instead of being buffered whole.

use std::io::{self, Write as _};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::{GzDecoder, GzEncoder};
use futures::{Stream, StreamExt as _};

/// Decompresses a gzip body fed chunk by chunk.
pub(crate) struct Gunzip {
    decoder: GzDecoder<Vec<u8>>,
}

impl Gunzip {
    pub(crate) fn new() -> Self {
        Self { decoder: GzDecoder::new(Vec::new()) }
    }

    /// Feeds compressed bytes; returns what could be decompressed so far.
    pub(crate) fn push(&mut self, compressed: &[u8]) -> io::Result<Bytes> {
        self.decoder.write_all(compressed)?;
        Ok(Bytes::from(std::mem::take(self.decoder.get_mut())))
    }

    /// Ends the body; fails if it was truncated or corrupt.
    pub(crate) fn finish(self) -> io::Result<Bytes> {
        self.decoder.finish().map(Bytes::from)
    }
}

/// Compresses a whole buffer.
pub(crate) fn gzip_bytes(data: &[u8]) -> io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), Compression::default());
    encoder.write_all(data)?;
    encoder.finish().map(Bytes::from)
}

/// Compresses a stream of chunks as it is read.
pub(crate) fn gzip_stream<S>(chunks: S) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    let state = (Box::pin(chunks), Some(GzEncoder::new(Vec::new(), Compression::default())));
    futures::stream::unfold(state, |(mut chunks, mut encoder)| async move {
        loop {
            let active = encoder.as_mut()?;
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    if let Err(err) = active.write_all(&chunk) {
                        return Some((Err(err), (chunks, None)));
                    }
                    let out = std::mem::take(active.get_mut());
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), (chunks, encoder)));
                    }
                }
                Some(Err(err)) => return Some((Err(err), (chunks, None))),
                None => {
                    let finished = encoder.take().map(|e| e.finish().map(Bytes::from));
                    return finished.map(|result| (result, (chunks, None)));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn gunzip_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn decodes_any_chunking() {
        let plain: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let compressed = gzip_bytes(&plain).unwrap();
        for chunk in [1, 7, 1000, compressed.len()] {
            let mut gunzip = Gunzip::new();
            let mut out = Vec::new();
            for piece in compressed.chunks(chunk) {
                out.extend_from_slice(&gunzip.push(piece).unwrap());
            }
            out.extend_from_slice(&gunzip.finish().unwrap());
            assert_eq!(out, plain, "chunk size {chunk}");
        }
    }

    #[test]
    fn truncated_or_corrupt_bodies_fail() {
        let compressed = gzip_bytes(b"hello world").unwrap();
        let mut gunzip = Gunzip::new();
        gunzip.push(&compressed[..compressed.len() - 4]).unwrap();
        assert!(gunzip.finish().is_err());
        let mut gunzip = Gunzip::new();
        assert!(gunzip.push(b"definitely not gzip").is_err() || gunzip.finish().is_err());
    }

    #[tokio::test]
    async fn compresses_streams() {
        let chunks: Vec<io::Result<Bytes>> =
            (0..50).map(|i| Ok(Bytes::from(vec![i as u8; 10_000]))).collect();
        let compressed: Vec<Bytes> =
            gzip_stream(futures::stream::iter(chunks)).map(|c| c.unwrap()).collect().await;
        let joined: Vec<u8> = compressed.concat();
        let expected: Vec<u8> = (0..50).flat_map(|i| vec![i as u8; 10_000]).collect();
        assert_eq!(gunzip_all(&joined), expected);

        let empty: Vec<Bytes> = gzip_stream(futures::stream::empty()).map(|c| c.unwrap()).collect().await;
        assert!(gunzip_all(&empty.concat()).is_empty());

        let failing =
            futures::stream::iter(vec![Ok(Bytes::from_static(b"a")), Err(io::Error::other("disk"))]);
        let results: Vec<io::Result<Bytes>> = gzip_stream(failing).collect().await;
        assert!(results.last().unwrap().is_err());
    }
}
