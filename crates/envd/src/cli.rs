//! The `envd` command line: what the `envd` binary runs.
//!
//! It lives in the library so that other binaries (the local server, the `e2b` CLI) can
//! be multi-call: started under the name `envd` they run this instead of themselves,
//! which lets the local server run envd inside sandboxes without a second binary.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use tokio::signal::unix::{SignalKind, signal};

/// Whether to reap orphaned processes.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Reap {
    /// Only when running as PID 1 (the init of a PID namespace).
    Auto,
    /// Always (envd is the subreaper of everything below it).
    Always,
    /// Never: only envd's own children are waited for.
    Never,
}

/// envd: runs processes, serves files and watches directories for E2B
/// SDKs, on one port, over gRPC, Connect and plain HTTP.
#[derive(Debug, Parser)]
#[command(name = "envd", version = crate::ENVD_VERSION)]
struct Args {
    /// Port to listen on.
    #[arg(long, short, default_value_t = crate::DEFAULT_PORT, env = "ENVD_PORT")]
    port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", env = "ENVD_BIND")]
    bind: IpAddr,

    /// Default user of requests that name none (upstream's built-in default
    /// is root; E2B templates use "user").
    #[arg(long, default_value = "root", env = "ENVD_USER")]
    user: String,

    /// Default working directory of processes (and meaning of an empty
    /// path); without it, the user's home.
    #[arg(long, env = "ENVD_WORKDIR")]
    workdir: Option<PathBuf>,

    /// Variable for every process's environment, as KEY=VALUE (repeatable).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,

    /// Access token required in X-Access-Token (or as URL signature key).
    /// Prefer the environment variable: command lines are visible to all.
    #[arg(long, env = "ENVD_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,

    /// When to reap orphaned processes.
    #[arg(long, value_enum, default_value_t = Reap::Auto)]
    reap_orphans: Reap,

    /// Let /init's timestamp set the system clock (only inside a VM).
    #[arg(long)]
    sync_clock: bool,

    /// Log filter, in tracing-subscriber's EnvFilter syntax.
    #[arg(long, default_value = "info", env = "ENVD_LOG")]
    log: String,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// Runs envd with the process's command-line arguments (`envd --help` lists them) and
/// returns the process exit code.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     envd::cli::main()
/// }
/// ```
pub fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("envd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_args(args))
}

async fn run_args(args: Args) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let mut config = crate::Config::new().port(args.port).bind(args.bind).default_user(args.user);
    if let Some(workdir) = args.workdir {
        config = config.default_workdir(workdir);
    }
    for (key, value) in args.env {
        config = config.env(key, value);
    }
    if let Some(token) = args.access_token {
        config = config.access_token(token);
    }
    config = match args.reap_orphans {
        Reap::Auto => config,
        Reap::Always => config.reap_orphans(true),
        Reap::Never => config.reap_orphans(false),
    };
    config = config.sync_clock(args.sync_clock);

    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: crate::Config) -> Result<(), Box<dyn std::error::Error>> {
    let envd = crate::Envd::new(config)?;
    let listener = envd.bind().await?;
    tracing::info!(addr = %listener.local_addr()?, version = crate::ENVD_VERSION, "envd listening");
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    };
    envd.serve_with_shutdown(listener, shutdown).await?;
    envd.stop_processes(Duration::from_secs(2)).await;
    Ok(())
}
