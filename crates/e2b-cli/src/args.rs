//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Run code in E2B sandboxes: on E2B's cloud, on a self-hosted E2B, or on this machine.
///
/// With neither E2B_API_KEY nor E2B_API_URL set, `e2b` works locally: it uses the server
/// that `e2b local serve` runs, and `e2b run` starts one in-process when none runs.
/// With them set, it talks to that server or to E2B's cloud (E2B_DOMAIN, E2B_SANDBOX_URL
/// and E2B_ACCESS_TOKEN are honoured as the official SDKs do).
#[derive(Debug, Parser)]
#[command(name = "e2b", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// Print machine-readable JSON instead of tables and text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// State directory of the local server (where `e2b local serve` announces itself and
    /// where templates are cached).
    #[arg(long, global = true, default_value = e2b_local::runtime::DEFAULT_ROOT, env = "E2B_LOCAL_STATE")]
    pub(crate) state_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a sandbox, run one command in it, print its output, and kill it.
    ///
    /// The exit code is the command's. Locally, the first run builds the `base` template
    /// (Debian with python3, node, git; a few minutes, once).
    Run(RunArgs),

    /// Manage sandboxes: create, list, inspect, kill, pause, resume, metrics, snapshots.
    #[command(subcommand)]
    Sandbox(SandboxCommand),

    /// Run a command in a running sandbox, streaming its output; exits with its exit code.
    Exec(ExecArgs),

    /// Open an interactive terminal in a running sandbox.
    Connect(ConnectArgs),

    /// Copy files into and out of a sandbox, and list its directories.
    #[command(subcommand)]
    Files(FilesCommand),

    /// The local E2B-compatible server.
    #[command(subcommand)]
    Local(LocalCommand),
}

/// Options of a command run in a sandbox.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommandOptions {
    /// User to run as (default: the sandbox's default user, `user` on E2B templates).
    #[arg(long, short)]
    pub(crate) user: Option<String>,

    /// Working directory.
    #[arg(long)]
    pub(crate) cwd: Option<String>,

    /// Environment variable for the command, as NAME=VALUE (repeatable).
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE", value_parser = key_value)]
    pub(crate) envs: Vec<(String, String)>,

    /// Longest the command may run, in seconds (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) command_timeout: u64,

    /// The command and its arguments (joined with shell quoting, run by bash).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Template (or snapshot) to create the sandbox from.
    #[arg(long, short, default_value = e2b::DEFAULT_TEMPLATE)]
    pub(crate) template: String,

    /// Sandbox lifetime in seconds (it is killed after the command anyway).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) timeout: u64,

    #[command(flatten)]
    pub(crate) options: CommandOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Sandbox ID.
    pub(crate) sandbox_id: String,

    /// Forward this program's standard input to the command.
    #[arg(long, short)]
    pub(crate) interactive: bool,

    #[command(flatten)]
    pub(crate) options: CommandOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Sandbox ID.
    pub(crate) sandbox_id: String,

    /// User the shell runs as.
    #[arg(long, short)]
    pub(crate) user: Option<String>,

    /// Working directory of the shell.
    #[arg(long)]
    pub(crate) cwd: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Create a sandbox and print its ID; it lives until its timeout or `kill`.
    Create(CreateArgs),
    /// List sandboxes.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show one sandbox.
    Info {
        /// Sandbox ID.
        sandbox_id: String,
    },
    /// Kill sandboxes.
    Kill {
        /// Sandbox IDs.
        #[arg(required = true)]
        sandbox_ids: Vec<String>,
    },
    /// Pause a sandbox (memory and files are kept).
    Pause {
        /// Sandbox ID.
        sandbox_id: String,
    },
    /// Resume a paused sandbox.
    Resume {
        /// Sandbox ID.
        sandbox_id: String,
        /// New lifetime in seconds, from now.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Set a sandbox's remaining lifetime.
    SetTimeout {
        /// Sandbox ID.
        sandbox_id: String,
        /// Seconds from now.
        seconds: u64,
    },
    /// Show a sandbox's resource usage.
    Metrics {
        /// Sandbox ID.
        sandbox_id: String,
    },
    /// Snapshot a sandbox; new sandboxes can be created from the snapshot's ID.
    Snapshot {
        /// Sandbox ID.
        sandbox_id: String,
        /// A name for the snapshot.
        #[arg(long)]
        name: Option<String>,
    },
    /// List snapshots.
    Snapshots {
        /// Only the snapshots of this sandbox.
        #[arg(long)]
        sandbox: Option<String>,
    },
    /// Delete a snapshot.
    DeleteSnapshot {
        /// Snapshot ID.
        snapshot_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Template (or snapshot) to create the sandbox from.
    #[arg(long, short, default_value = e2b::DEFAULT_TEMPLATE)]
    pub(crate) template: String,

    /// Lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) timeout: u64,

    /// Metadata, as KEY=VALUE (repeatable).
    #[arg(long = "metadata", short, value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) metadata: Vec<(String, String)>,

    /// Environment variable for everything run in the sandbox, as NAME=VALUE (repeatable).
    #[arg(long = "env", short, value_name = "NAME=VALUE", value_parser = key_value)]
    pub(crate) envs: Vec<(String, String)>,

    /// Pause instead of kill when the lifetime ends (resumed by the next connect).
    #[arg(long)]
    pub(crate) auto_pause: bool,

    /// Deny all outbound internet access.
    #[arg(long)]
    pub(crate) no_internet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only sandboxes in these states (running, paused; comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = sandbox_state)]
    pub(crate) state: Vec<e2b::SandboxState>,

    /// Only sandboxes with this metadata, as KEY=VALUE (repeatable; all must match).
    #[arg(long = "metadata", short, value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) metadata: Vec<(String, String)>,

    /// At most this many sandboxes.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FilesCommand {
    /// Upload a local file (or `-` for standard input) to a path in the sandbox.
    Put {
        /// Sandbox ID.
        sandbox_id: String,
        /// Local file, or `-`.
        local: PathBuf,
        /// Destination path in the sandbox (parents are created).
        remote: String,
        /// User that owns the file.
        #[arg(long, short)]
        user: Option<String>,
    },
    /// Download a file from the sandbox (to standard output with `-`).
    Get {
        /// Sandbox ID.
        sandbox_id: String,
        /// Path in the sandbox.
        remote: String,
        /// Local destination (default: the file's name in the current directory), or `-`.
        local: Option<PathBuf>,
        /// User whose permissions apply.
        #[arg(long, short)]
        user: Option<String>,
    },
    /// List a directory in the sandbox.
    Ls {
        /// Sandbox ID.
        sandbox_id: String,
        /// Directory (default: the user's home).
        #[arg(default_value = ".")]
        path: String,
        /// How many levels deep to list.
        #[arg(long, default_value_t = 1)]
        depth: u32,
        /// User whose permissions apply.
        #[arg(long, short)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LocalCommand {
    /// Serve the local E2B-compatible API and sandbox endpoint until interrupted.
    Serve(e2b_local::cli::ServeArgs),
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not of the form KEY=VALUE")),
    }
}

fn sandbox_state(s: &str) -> Result<e2b::SandboxState, String> {
    match s {
        "running" => Ok(e2b::SandboxState::Running),
        "paused" => Ok(e2b::SandboxState::Paused),
        _ => Err(format!("unknown state {s:?} (running or paused)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn key_values_need_a_key() {
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
    }

    #[test]
    fn run_takes_the_command_after_the_separator() {
        let cli = Cli::try_parse_from(["e2b", "run", "--", "python3", "-c", "print(6*7)"]).unwrap();
        let Command::Run(run) = cli.command else { panic!("not run") };
        assert_eq!(run.template, "base");
        assert_eq!(run.options.command, ["python3", "-c", "print(6*7)"]);
        assert!(Cli::try_parse_from(["e2b", "run"]).is_err(), "a command is required");
    }
}
