//! envd versions and the features that need a minimum version.
//!
//! A sandbox reports its envd version when it is created or connected; the
//! SDK checks it before using a feature older daemons lack, so the failure is
//! a clear [`Error::Template`] naming the version needed instead of an
//! obscure server error.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Phase, Result, Stage};

/// A version of envd, the daemon inside each sandbox, e.g. `0.6.13`.
///
/// Parsing is lenient like Python's `packaging.version`: a leading `v` and
/// anything after the numeric release (`-rc1`, `+build`) are ignored, and
/// missing components count as zero.
///
/// # Example
///
/// ```
/// use e2b::EnvdVersion;
///
/// let v: EnvdVersion = "0.5.7".parse()?;
/// assert!(v >= EnvdVersion::new(0, 5, 0));
/// assert_eq!(v.to_string(), "0.5.7");
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvdVersion {
    /// Major component.
    pub major: u32,
    /// Minor component.
    pub minor: u32,
    /// Patch component.
    pub patch: u32,
}

impl EnvdVersion {
    /// The version treated as current in debug mode: every feature is on.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(e2b::EnvdVersion::DEBUG.supports(e2b::EnvdFeature::FileMetadata));
    /// ```
    pub const DEBUG: EnvdVersion = EnvdVersion::new(99, 99, 99);

    /// A version from its components.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::EnvdVersion::new(0, 4, 0).to_string(), "0.4.0");
    /// ```
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }

    /// Whether this envd has `feature`.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{EnvdFeature, EnvdVersion};
    ///
    /// assert!(!EnvdVersion::new(0, 5, 6).supports(EnvdFeature::OctetStreamUpload));
    /// assert!(EnvdVersion::new(0, 5, 7).supports(EnvdFeature::OctetStreamUpload));
    /// ```
    pub fn supports(&self, feature: EnvdFeature) -> bool {
        *self >= feature.min_version()
    }

    /// `Ok` when this envd has `feature`; otherwise an [`Error::Template`]
    /// naming the feature, the version it needs and the version present.
    ///
    /// # Example
    ///
    /// ```
    /// use e2b::{EnvdFeature, EnvdVersion};
    ///
    /// let err = EnvdVersion::new(0, 6, 0).require(EnvdFeature::FileMetadata, "write file").unwrap_err();
    /// assert!(err.to_string().contains("needs envd 0.6.2 or later"));
    /// ```
    pub fn require(&self, feature: EnvdFeature, operation: &'static str) -> Result<()> {
        if self.supports(feature) {
            return Ok(());
        }
        Err(Error::Template {
            stage: Stage::new(operation, Phase::Validate),
            message: format!(
                "{} needs envd {} or later, but this sandbox runs envd {}; rebuild the template to update it",
                feature.description(),
                feature.min_version(),
                self
            ),
        })
    }
}

impl fmt::Display for EnvdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for EnvdVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = || {
            Error::decode(
                Stage::new("parse envd version", Phase::Decode),
                format!("{text:?} is not a version"),
            )
        };
        let trimmed = text.trim();
        let trimmed = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
        let release_end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
        let release = &trimmed[..release_end];
        if release.is_empty() || release.starts_with('.') {
            return Err(invalid());
        }
        let mut parts = [0u32; 3];
        for (index, part) in release.trim_end_matches('.').split('.').enumerate() {
            let value: u32 = part.parse().map_err(|_| invalid())?;
            if let Some(slot) = parts.get_mut(index) {
                *slot = value;
            }
        }
        Ok(EnvdVersion::new(parts[0], parts[1], parts[2]))
    }
}

/// envd features that need a minimum version.
///
/// # Example
///
/// ```
/// use e2b::EnvdFeature;
///
/// assert_eq!(EnvdFeature::CloseStdin.min_version().to_string(), "0.5.2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvdFeature {
    /// Anything at all: older sandboxes are unusable with this SDK.
    Usable,
    /// Recursive directory watching.
    RecursiveWatch,
    /// Sandbox metrics.
    Metrics,
    /// Disk figures in sandbox metrics.
    DiskMetrics,
    /// Starting a command with stdin explicitly closed.
    StdinControl,
    /// envd choosing the default user (older SDKs send `user`).
    DefaultUser,
    /// Closing a command's stdin.
    CloseStdin,
    /// Raw `application/octet-stream` and gzip-compressed uploads.
    OctetStreamUpload,
    /// User metadata on uploaded files.
    FileMetadata,
    /// Entry information in watch events.
    WatchIncludeEntry,
    /// Watching directories on network mounts.
    WatchNetworkMounts,
}

impl EnvdFeature {
    /// The first envd version that has this feature.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::EnvdFeature::DefaultUser.min_version(), e2b::EnvdVersion::new(0, 4, 0));
    /// ```
    pub const fn min_version(self) -> EnvdVersion {
        match self {
            EnvdFeature::Usable => EnvdVersion::new(0, 1, 0),
            EnvdFeature::RecursiveWatch => EnvdVersion::new(0, 1, 4),
            EnvdFeature::Metrics => EnvdVersion::new(0, 1, 5),
            EnvdFeature::DiskMetrics => EnvdVersion::new(0, 2, 4),
            EnvdFeature::StdinControl => EnvdVersion::new(0, 3, 0),
            EnvdFeature::DefaultUser => EnvdVersion::new(0, 4, 0),
            EnvdFeature::CloseStdin => EnvdVersion::new(0, 5, 2),
            EnvdFeature::OctetStreamUpload => EnvdVersion::new(0, 5, 7),
            EnvdFeature::FileMetadata => EnvdVersion::new(0, 6, 2),
            EnvdFeature::WatchIncludeEntry => EnvdVersion::new(0, 6, 3),
            EnvdFeature::WatchNetworkMounts => EnvdVersion::new(0, 6, 4),
        }
    }

    /// What the feature is, for error messages.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::EnvdFeature::FileMetadata.description(), "file metadata");
    /// ```
    pub const fn description(self) -> &'static str {
        match self {
            EnvdFeature::Usable => "this SDK",
            EnvdFeature::RecursiveWatch => "recursive watching",
            EnvdFeature::Metrics => "sandbox metrics",
            EnvdFeature::DiskMetrics => "disk metrics",
            EnvdFeature::StdinControl => "starting a command without stdin",
            EnvdFeature::DefaultUser => "the sandbox's default user",
            EnvdFeature::CloseStdin => "closing stdin",
            EnvdFeature::OctetStreamUpload => "octet-stream and gzip uploads",
            EnvdFeature::FileMetadata => "file metadata",
            EnvdFeature::WatchIncludeEntry => "entry information in watch events",
            EnvdFeature::WatchNetworkMounts => "watching network mounts",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> EnvdVersion {
        text.parse().unwrap()
    }

    #[test]
    fn parses_like_packaging_version() {
        assert_eq!(v("0.6.13"), EnvdVersion::new(0, 6, 13));
        assert_eq!(v("v0.2"), EnvdVersion::new(0, 2, 0));
        assert_eq!(v("1"), EnvdVersion::new(1, 0, 0));
        assert_eq!(v("0.5.7-rc1"), EnvdVersion::new(0, 5, 7));
        assert_eq!(v(" 0.1.0+build.5 "), EnvdVersion::new(0, 1, 0));
        assert_eq!(v("1.2.3.4"), EnvdVersion::new(1, 2, 3));
        for bad in ["", "abc", ".1", "x1.2", "99999999999.0.0"] {
            assert!(bad.parse::<EnvdVersion>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn orders_numerically() {
        assert!(v("0.10.0") > v("0.9.9"));
        assert!(v("0.5.10") > v("0.5.7"));
        assert!(EnvdVersion::DEBUG.supports(EnvdFeature::WatchNetworkMounts));
    }

    #[test]
    fn every_gate_is_exact() {
        let gates = [
            (EnvdFeature::Usable, "0.1.0"),
            (EnvdFeature::RecursiveWatch, "0.1.4"),
            (EnvdFeature::Metrics, "0.1.5"),
            (EnvdFeature::DiskMetrics, "0.2.4"),
            (EnvdFeature::StdinControl, "0.3.0"),
            (EnvdFeature::DefaultUser, "0.4.0"),
            (EnvdFeature::CloseStdin, "0.5.2"),
            (EnvdFeature::OctetStreamUpload, "0.5.7"),
            (EnvdFeature::FileMetadata, "0.6.2"),
            (EnvdFeature::WatchIncludeEntry, "0.6.3"),
            (EnvdFeature::WatchNetworkMounts, "0.6.4"),
        ];
        for (feature, min) in gates {
            let min = v(min);
            assert_eq!(feature.min_version(), min);
            assert!(min.supports(feature));
            let below = if min.patch > 0 {
                EnvdVersion::new(min.major, min.minor, min.patch - 1)
            } else {
                EnvdVersion::new(min.major, min.minor - 1, 99)
            };
            let err = below.require(feature, "op").unwrap_err();
            assert!(matches!(err, Error::Template { .. }));
            let text = err.to_string();
            assert!(text.contains(&format!("needs envd {min} or later")), "{text}");
            assert!(text.contains(&format!("runs envd {below}")), "{text}");
        }
    }
}
