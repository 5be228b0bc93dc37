//! Support code for the cross-crate tests in `tests/tests/`, and for other
//! crates' interop tests (as a dev-dependency): installing real peers.
//!
//! The conformance checks compare this project's own schemas (`proto/`,
//! `openapi/`) with E2B's upstream definitions, which exist only beside the
//! project (`../shared/reference`), never inside it.

pub mod interop;
pub mod openapi_diff;
pub mod proto_diff;
pub mod reference;
