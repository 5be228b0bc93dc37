//! Async Rust SDK for [E2B](https://e2b.dev) sandboxes: isolated machines
//! for running untrusted, AI-generated code.
//!
//! It works unchanged against E2B's cloud, a self-hosted E2B, and this
//! project's local server, and speaks the same wire protocol as E2B's
//! official SDKs.
//!
//! # Quickstart
//!
//! Set `E2B_API_KEY` (and, for a local or self-hosted server, `E2B_API_URL`
//! / `E2B_SANDBOX_URL` or `E2B_DOMAIN`), then:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), e2b::Error> {
//! // Create a sandbox from the `base` template that lives for ten minutes.
//! let sandbox = e2b::Sandbox::builder().timeout(Duration::from_secs(600)).create().await?;
//!
//! // Run code, move files in and out.
//! let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").await?;
//! assert_eq!(result.stdout, "42\n");
//! sandbox.files().write("/home/user/input.csv", "a,b\n1,2\n").await?;
//! let csv = sandbox.files().read("/home/user/input.csv").text().await?;
//! assert!(csv.starts_with("a,b"));
//!
//! // Manage its life: inspect, extend, pause, snapshot, kill.
//! let info = sandbox.get_info().await?;
//! println!("{} runs until {}", info.sandbox_id, info.end_at);
//! sandbox.set_timeout(Duration::from_secs(1800)).await?;
//! sandbox.kill().await?;
//! # Ok(()) }
//! ```
//!
//! Operations on sandboxes you only know by ID, and listings, go through a
//! [`Client`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), e2b::Error> {
//! use futures::TryStreamExt as _;
//!
//! let client = e2b::Client::from_env()?;
//! let running: Vec<e2b::SandboxInfo> = client
//!     .list(e2b::SandboxQuery::new().state([e2b::SandboxState::Running]))
//!     .into_stream()
//!     .try_collect()
//!     .await?;
//! for sandbox in running {
//!     client.kill(&sandbox.sandbox_id).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! # What is where
//!
//! * [`Sandbox`]: lifecycle (create, connect, pause, snapshots, metrics,
//!   signed file URLs) and the entry points below; [`Client`] for
//!   operations by sandbox ID and listings.
//! * [`Filesystem`] ([`Sandbox::files`]): read, write (streaming, gzip,
//!   metadata), list, stat, remove, rename, make-dir, watch.
//! * [`Commands`] ([`Sandbox::commands`]): run in the foreground or the
//!   background, stdin, list, kill, reattach.
//! * [`Pty`] ([`Sandbox::pty`]): interactive terminals.
//! * [`Git`] ([`Sandbox::git`]): clone, commit, push, … with credentials
//!   that are not left behind.
//!
//! # Design
//!
//! * Handles ([`Sandbox`], [`Client`], [`Filesystem`], [`Commands`],
//!   [`Git`]) are `Send + Sync + Clone` and cheap to clone.
//! * Operations with options return builders that run when awaited.
//! * Every failure is an [`Error`] that mirrors the official SDKs' exception
//!   classes and names the [`Stage`] at which the call failed.
//! * Every request runs in a `tracing` span (`e2b.api`, `e2b.envd`,
//!   `e2b.git`).
//! * Idempotent control-plane calls retry dropped connections and gateway
//!   errors with backoff; nothing is retried that could run twice.

#![warn(missing_docs)]

mod client;
pub mod commands;
mod config;
mod control;
mod envd;
mod envd_request;
mod error;
pub mod filesystem;
pub mod git;
mod paginator;
mod pty;
mod retry;
mod rpc;
mod sandbox;
pub mod signature;
mod version;

pub use client::{Client, ConnectSandbox, CreateSnapshot, GetMetrics, PauseSandbox};
pub use commands::{
    CommandHandle, CommandOutput, CommandRequest, CommandResult, CommandRunner, Commands, ConnectCommand,
    ProcessInfo, RunCommand,
};
pub use config::{
    ConnectionConfig, ConnectionConfigBuilder, DEFAULT_DOMAIN, DEFAULT_REQUEST_TIMEOUT, ENVD_PORT,
    SDK_USER_AGENT,
};
/// The Connect client crate, for [`ConnectionConfigBuilder::rpc_client`].
pub use e2b_connect;
pub use envd_request::EnvdRequest;
pub use error::{Error, Phase, Result, Stage};
pub use filesystem::{
    EntryInfo, FileStream, FileType, Filesystem, FilesystemEvent, FilesystemEventType, ReadRequest,
    WatchHandle, WatchStopper, WriteData, WriteEntry, WriteInfo,
};
pub use git::{ConfigScope, Git, GitBranches, GitChange, GitFileStatus, GitStatus, ResetMode};
pub use paginator::{Paginator, SandboxPaginator, SnapshotPaginator};
pub use pty::{ConnectPty, CreatePty, Pty, PtyHandle, PtySize};
pub use sandbox::{
    DEBUG_SANDBOX_ID, DEFAULT_MCP_TEMPLATE, DEFAULT_TEMPLATE, EgressProxy, FileUrl, ForkSandbox, Lifecycle,
    LifecycleInfo, ListOrder, MCP_PORT, NetworkConfig, NetworkRule, NetworkUpdate, OnTimeout, ResumeSandbox,
    Sandbox, SandboxBuilder, SandboxInfo, SandboxMetrics, SandboxQuery, SandboxState, SnapshotInfo,
    SnapshotQuery, VolumeMount,
};
pub use version::{EnvdFeature, EnvdVersion};
