//! Async Rust SDK for E2B sandboxes (work in progress: see issue 5).
