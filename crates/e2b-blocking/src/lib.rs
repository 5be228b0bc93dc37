//! Blocking Rust SDK for [E2B](https://e2b.dev) sandboxes: the whole API of
//! the async [`e2b`] crate, for code that does not run an async runtime.
//!
//! Like reqwest's `blocking` module, it drives the async SDK on one
//! background thread that owns a tokio runtime (with two worker threads,
//! started on first use, for the life of the process); every blocking call
//! hands its future to that runtime and waits for the answer on a channel. Nothing is reimplemented: each method
//! delegates to its async twin, so behaviour, errors, retries and `tracing`
//! spans are the async SDK's.
//!
//! # Quickstart
//!
//! Set `E2B_API_KEY` (and, for a local or self-hosted server, `E2B_API_URL`
//! / `E2B_SANDBOX_URL` or `E2B_DOMAIN`), then:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), e2b_blocking::Error> {
//! // Create a sandbox from the `base` template that lives for ten minutes.
//! let sandbox = e2b_blocking::Sandbox::builder().timeout(Duration::from_secs(600)).create()?;
//!
//! // Run code, move files in and out.
//! let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").send()?;
//! assert_eq!(result.stdout, "42\n");
//! sandbox.files().write("/home/user/input.csv", "a,b\n1,2\n").send()?;
//! let csv = sandbox.files().read("/home/user/input.csv").text()?;
//! assert!(csv.starts_with("a,b"));
//!
//! // Follow a background command's output as it arrives.
//! let build = sandbox.commands().run("for i in 1 2 3; do echo step $i; sleep 1; done").spawn()?;
//! for chunk in build.output() {
//!     println!("{:?}", chunk?);
//! }
//! build.wait()?;
//!
//! // Manage its life: inspect, extend, pause, snapshot, kill.
//! let info = sandbox.get_info()?;
//! println!("{} runs until {}", info.sandbox_id, info.end_at);
//! sandbox.set_timeout(Duration::from_secs(1800))?;
//! sandbox.kill()?;
//! # Ok(()) }
//! ```
//!
//! Operations on sandboxes you only know by ID, and listings, go through a
//! [`Client`]; listings are iterators that fetch pages as needed:
//!
//! ```no_run
//! # fn main() -> Result<(), e2b_blocking::Error> {
//! use e2b_blocking::{SandboxQuery, SandboxState};
//!
//! let config = e2b_blocking::ConnectionConfig::builder().api_key("e2b_…").build()?;
//! let client = e2b_blocking::Client::new(config);
//! for sandbox in client.list(SandboxQuery::new().state([SandboxState::Running])) {
//!     client.kill(&sandbox?.sandbox_id)?;
//! }
//! # Ok(()) }
//! ```
//!
//! # From async to blocking
//!
//! * Handles ([`Sandbox`], [`Client`], [`Filesystem`], [`Commands`],
//!   [`Pty`], [`Git`]) wrap their async twins; `as_async` and `From`
//!   convert between the two.
//! * Builders keep the async option names and end in the call that runs
//!   them: `.send()`, `.create()`, `.spawn()`, `.text()`, ….
//! * Streams become iterators: listings ([`Paginator`]), directory watches
//!   ([`WatchHandle`]), command and terminal output ([`OutputIter`]) and
//!   file downloads ([`FileStream`], also a [`std::io::Read`]). Uploads
//!   take any [`std::io::Read`] ([`WriteData::reader`]).
//! * Callbacks (`on_stdout`, `on_stderr`, `on_data`, `on_event`, `on_exit`)
//!   are the async SDK's: they run on the runtime's worker threads, so keep
//!   them short.
//! * Plain data (errors, configuration, info structs, queries, options) is
//!   the async crate's, re-exported.
//!
//! # Inside an async runtime
//!
//! Blocking there could starve or deadlock the runtime, so every blocking
//! call made on a thread that runs a tokio runtime (including tokio's
//! blocking threads, and the callbacks above) returns [`Error::Sandbox`] with the message
//! [`IN_ASYNC_RUNTIME`] instead, before doing anything; check for it with
//! [`is_in_async_runtime`]. Use the async [`e2b`] crate there.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), e2b_blocking::Error> {
//! let client = e2b_blocking::Client::new(e2b_blocking::ConnectionConfig::builder().api_key("e2b_0").build()?);
//! let err = client.get_info("i1b2c3d4e5f6g7h8j9k0").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "Client::get_info (validating the request): e2b-blocking called from inside an async runtime; \
//!      use the async `e2b` crate there"
//! );
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
pub mod commands;
pub mod filesystem;
pub mod git;
mod iter;
mod paginator;
mod pty;
mod runtime;
mod sandbox;

pub use client::{Client, ConnectSandbox, CreateSnapshot, ForkSandbox, GetMetrics, PauseSandbox};
pub use commands::{CommandHandle, CommandRunner, Commands, ConnectCommand, RunCommand};
pub use e2b::{CommandOutput, CommandRequest, CommandResult, ProcessInfo};
pub use e2b::{ConfigScope, GitBranches, GitChange, GitFileStatus, GitStatus, PtySize, ResetMode, signature};
pub use e2b::{
    ConnectionConfig, ConnectionConfigBuilder, DEFAULT_DOMAIN, DEFAULT_REQUEST_TIMEOUT, ENVD_PORT,
    SDK_USER_AGENT,
};
pub use e2b::{
    DEBUG_SANDBOX_ID, DEFAULT_MCP_TEMPLATE, DEFAULT_TEMPLATE, EgressProxy, FileUrl, Lifecycle, LifecycleInfo,
    ListOrder, MCP_PORT, NetworkConfig, NetworkRule, NetworkUpdate, OnTimeout, SandboxInfo, SandboxMetrics,
    SandboxQuery, SandboxState, SnapshotInfo, SnapshotQuery, VolumeMount,
};
pub use e2b::{EnvdFeature, EnvdVersion, Error, Phase, Result, Stage, WatchStopper};
pub use filesystem::{
    EntryInfo, FileStream, FileType, Filesystem, FilesystemEvent, FilesystemEventType, ReadRequest,
    WatchHandle, WriteData, WriteEntry, WriteInfo,
};
pub use git::Git;
pub use iter::OutputIter;
pub use paginator::{Paginator, SandboxPaginator, SnapshotPaginator};
pub use pty::{ConnectPty, CreatePty, Pty, PtyHandle};
pub use runtime::{IN_ASYNC_RUNTIME, is_in_async_runtime};
pub use sandbox::{ResumeSandbox, Sandbox, SandboxBuilder};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    #[test]
    fn handles_are_send_and_sync_and_iterators_send() {
        send_sync::<Client>();
        send_sync::<Sandbox>();
        send_sync::<Filesystem>();
        send_sync::<Commands>();
        send_sync::<CommandHandle>();
        send_sync::<Pty>();
        send_sync::<PtyHandle>();
        send_sync::<Git>();
        send_sync::<Error>();
        send::<SandboxPaginator>();
        send::<SnapshotPaginator>();
        send::<FileStream>();
        send::<WatchHandle>();
        send::<OutputIter<CommandOutput>>();
        send::<OutputIter<bytes::Bytes>>();
        send::<SandboxBuilder>();
        send::<RunCommand>();
        send::<WriteData>();
    }
}
