//! What can go wrong in a command, said so that the user knows what to do next.

use std::path::PathBuf;

/// A failed `e2b` command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The SDK call failed (the message names the operation and the stage).
    #[error(transparent)]
    Sdk(#[from] e2b::Error),

    /// The in-process local server could not start or stop.
    #[error("local server: {0}")]
    Server(#[from] e2b_local::server::ServerError),

    /// The host cannot run local sandboxes.
    #[error("this machine cannot run local sandboxes: {0}")]
    Host(String),

    /// Nothing to talk to: no cloud configuration and no local server running.
    #[error(
        "no E2B server to talk to: start a local one with `e2b local serve` (state directory {}), \
         or set E2B_API_KEY for E2B's cloud (E2B_API_URL for a self-hosted one)",
        state_dir.display()
    )]
    NoServer { state_dir: PathBuf },

    /// A local file could not be read or written.
    #[error("{context} {}: {source}", path.display())]
    File {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The terminal could not be set up or read.
    #[error("terminal: {0}")]
    Terminal(std::io::Error),

    /// Interrupted by the user (Ctrl-C); what was started has been cleaned up.
    #[error("interrupted")]
    Interrupted,
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub(crate) fn file(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::File { context, path: path.into(), source }
    }
}
