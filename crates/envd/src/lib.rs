//! envd, the daemon inside every sandbox, wire-compatible with E2B's.
//!
//! One port (49983 by default) serves
//! * `process.Process` and `filesystem.Filesystem` over gRPC and Connect
//!   (JSON and binary), the RPCs every E2B SDK uses to run commands, open
//!   terminals and work with files;
//! * plain HTTP: `GET`/`POST /files` (streamed downloads and atomic
//!   uploads), `/health`, `/init`, `/envs` and `/metrics`;
//!
//! over HTTP/1.1 and h2c. It reports version [`ENVD_VERSION`], so SDKs enable
//! every feature they gate on envd's version.
//!
//! Run it as the `envd` binary (see `envd --help`), or embed it:
//!
//! ```no_run
//! # async fn run() -> Result<(), envd::Error> {
//! let envd = envd::Envd::new(envd::Config::new().port(0).default_user("user"))?;
//! let listener = envd.bind().await?;
//! println!("listening on {}", listener.local_addr().unwrap());
//! envd.serve(listener).await
//! # }
//! ```
//!
//! Security: with an access token configured (or set by `/init`), every
//! request must carry `X-Access-Token`, except `GET /health`, `POST /init`
//! (which authenticates its body) and `/files`, which accepts a `v1_` URL
//! signature instead. Processes run as the requested user (`setgid`,
//! supplementary groups, `setuid`), which needs envd to run as root.

#![warn(missing_docs)]

mod auth;
mod body;
pub mod cli;
mod config;
mod filesystem;
mod http;
mod paths;
mod process;
mod rpc;
mod server;
mod settings;
mod users;

pub use crate::config::{Config, DEFAULT_PORT, ENVD_VERSION};
pub use crate::filesystem::{FilesystemService, WatchDirStream};
pub use crate::process::{ProcessEventStream, ProcessService};
pub use crate::server::{Envd, EnvdService, Error, VERSION_HEADER};
pub use crate::settings::Init;
