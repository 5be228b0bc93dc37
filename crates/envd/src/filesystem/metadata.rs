//! User metadata of files: `user.e2b.<key>` extended attributes.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;

use xattr::FileExt;

/// The extended-attribute namespace of user metadata.
pub(crate) const PREFIX: &str = "user.e2b.";
/// Longest key, prefix excluded (the kernel limits names to 255 bytes).
pub(crate) const MAX_KEY: usize = 246;
/// Largest total of keys (prefix included) and values.
pub(crate) const MAX_TOTAL: usize = 4096;

/// Why metadata from `X-Metadata-*` headers was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MetadataError {
    #[error("metadata key {0:?} must be 1 to 246 printable ASCII characters")]
    BadKey(String),
    #[error("metadata value for {0:?} must be printable ASCII")]
    BadValue(String),
    #[error("metadata exceeds {MAX_TOTAL} bytes in total")]
    TooLarge,
}

fn printable(s: &[u8]) -> bool {
    s.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// Collects `X-Metadata-<key>: <value>` headers: keys lower-cased, the
/// first value of a repeated key wins, limits enforced.
pub(crate) fn from_headers(headers: &http::HeaderMap) -> Result<Vec<(String, Vec<u8>)>, MetadataError> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0;
    for (name, value) in headers {
        // Header names are already lower-case in `http`.
        let Some(key) = name.as_str().strip_prefix("x-metadata-") else { continue };
        if key.is_empty() || key.len() > MAX_KEY || !printable(key.as_bytes()) {
            return Err(MetadataError::BadKey(key.to_owned()));
        }
        if !printable(value.as_bytes()) {
            return Err(MetadataError::BadValue(key.to_owned()));
        }
        if out.iter().any(|(k, _)| k == key) {
            continue;
        }
        total += PREFIX.len() + key.len() + value.len();
        if total > MAX_TOTAL {
            return Err(MetadataError::TooLarge);
        }
        out.push((key.to_owned(), value.as_bytes().to_vec()));
    }
    Ok(out)
}

/// Writes metadata onto an open file; `false` when the filesystem has no
/// user xattrs (the file is kept, the metadata silently dropped).
pub(crate) fn write(file: &File, metadata: &[(String, Vec<u8>)]) -> io::Result<bool> {
    for (key, value) in metadata {
        match file.set_xattr(format!("{PREFIX}{key}"), value) {
            Ok(()) => {}
            Err(e) if unsupported(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn unsupported(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM))
}

/// Reads the metadata of `path` (following symlinks); empty when there is
/// none or the filesystem has no xattrs.
pub(crate) fn read(path: &Path) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(names) = xattr::list_deref(path) else { return out };
    for name in names {
        let Some(key) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
        if let Ok(Some(value)) = xattr::get_deref(path, &name) {
            out.insert(key.to_owned(), String::from_utf8_lossy(&value).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn header_rules() {
        let got = from_headers(&headers(&[
            ("X-Metadata-Source", "ci"),
            ("x-metadata-source", "2"),
            ("Other", "x"),
        ]))
        .unwrap();
        assert_eq!(got, vec![("source".to_owned(), b"ci".to_vec())]);
        let long = "k".repeat(MAX_KEY + 1);
        assert!(matches!(
            from_headers(&headers(&[(&format!("x-metadata-{long}"), "v")])),
            Err(MetadataError::BadKey(_))
        ));
        let big = "v".repeat(3000);
        assert_eq!(
            from_headers(&headers(&[("x-metadata-a", &big), ("x-metadata-b", &big)])),
            Err(MetadataError::TooLarge)
        );
    }
}
