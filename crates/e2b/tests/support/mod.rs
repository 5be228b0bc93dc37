//! Shared by the integration tests; each test binary uses a different part,
//! and the items are `pub` only to be shared between these modules.
#![allow(dead_code, unreachable_pub)]

pub mod fake;
pub mod openapi;
pub mod rpc;
