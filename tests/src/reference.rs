//! Locating the workspace and the reference definitions beside it.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// Where the reference definitions are: `$E2B_REFERENCE_DIR`, else
/// `../shared/reference` next to the workspace. `None` when absent.
pub fn reference_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("E2B_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared/reference"),
    };
    dir.join("openapi.yml").is_file().then_some(dir)
}

/// Whether we run in CI, where a missing reference is an error, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}
