//! The local E2B-compatible server.
//!
//! * [`runtime`]: the sandbox runtime (issue 6): creates, pauses, snapshots and destroys
//!   real isolated sandboxes on one Linux machine, each running envd as its first process.
//!
//! The control plane and envd router (issue 7) build on [`runtime::Runtime`].

pub mod runtime;
