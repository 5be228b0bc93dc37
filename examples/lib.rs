//! Runnable examples of the `e2b` (async) and `e2b-blocking` SDKs; this library is empty.
//!
//! Each example reads its connection from the environment, as the official SDKs do:
//! `E2B_API_KEY` for E2B's cloud, or `E2B_API_URL`, `E2B_SANDBOX_URL` and `E2B_API_KEY` as
//! printed by `e2b local serve` for a local server.
//!
//! ```text
//! cargo run -p e2b-examples --example quickstart
//! ```
