//! The [Connect protocol](https://connectrpc.com/docs/protocol) over hyper,
//! as E2B's envd speaks it: a client and a server.
//!
//! * [`client`]: Connect calls over one pooled hyper client (HTTP/1.1, h2c,
//!   TLS with ALPN, proxies).
//! * [`server`]: serves tonic service implementations over Connect (JSON and
//!   binary, unary, server- and client-streaming), next to tonic's gRPC on the
//!   same port.
//! * [`envelope`]: the streaming framing and end-of-stream message.
//! * [`Code`], [`Status`], [`Error`]: errors, mapped both ways to HTTP
//!   statuses and gRPC codes.

#![warn(missing_docs)]

pub mod client;
mod code;
mod codec;
pub mod envelope;
mod error;
pub mod server;

pub use code::{Code, UnknownCode};
pub use codec::{Codec, Message};
pub use error::{BoxError, Error, ErrorDetail, Status};
