//! The `e2b-local` command line. [`ServeArgs`] and [`serve`] are public so that the `e2b`
//! CLI offers the same `local serve` command without repeating it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::runtime::{DEFAULT_ROOT, Ipv4Cidr, RuntimeConfig, TemplateProgress};
use crate::server::{DEFAULT_API_PORT, DEFAULT_SANDBOX_PORT, LocalServer, ServerConfig, ServerError};

/// The local E2B-compatible server: E2B's control-plane API and sandbox endpoint on one
/// Linux machine, sandboxes isolated with namespaces (no KVM, no Docker).
#[derive(Debug, Parser)]
#[command(name = "e2b-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the control-plane API and the envd router until interrupted.
    Serve(ServeArgs),
}

/// Flags of `e2b-local serve` (and `e2b local serve`).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port of the control-plane REST API (point E2B_API_URL at it).
    #[arg(long, default_value_t = DEFAULT_API_PORT, env = "E2B_LOCAL_API_PORT")]
    pub api_port: u16,

    /// Port of the envd router, the one sandbox endpoint (point E2B_SANDBOX_URL at it).
    #[arg(long, default_value_t = DEFAULT_SANDBOX_PORT, env = "E2B_LOCAL_SANDBOX_PORT")]
    pub sandbox_port: u16,

    /// Address both ports listen on.
    #[arg(long, default_value = "127.0.0.1", env = "E2B_LOCAL_BIND")]
    pub bind: IpAddr,

    /// API key to accept, of the form e2b_<hex>: the only one accepted while given, and not
    /// remembered. Without it, the key made on first start (kept in the state database) is
    /// used. Printed at start.
    #[arg(long, env = "E2B_LOCAL_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// State directory: database, sandbox disks, snapshots, templates.
    #[arg(long, default_value = DEFAULT_ROOT, env = "E2B_LOCAL_STATE")]
    pub state_dir: PathBuf,

    /// Template directory (default: <state-dir>/templates).
    #[arg(long, env = "E2B_LOCAL_TEMPLATES")]
    pub templates_dir: Option<PathBuf>,

    /// Runtime instance name (1-6 of [a-z0-9]); servers sharing a machine need distinct ones.
    #[arg(long, default_value = "0", env = "E2B_LOCAL_INSTANCE")]
    pub instance: String,

    /// IPv4 range sandbox addresses come from (each sandbox takes a /30).
    #[arg(long, default_value = "10.88.0.0/16", env = "E2B_LOCAL_ADDRESS_POOL")]
    pub address_pool: Ipv4Cidr,

    /// Longest sandbox lifetime a request may ask for, in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub max_timeout: u64,

    /// envd binary run inside sandboxes (default: `envd` next to this program, else this
    /// program itself, which runs envd when started under that name).
    #[arg(long, env = "E2B_LOCAL_ENVD")]
    pub envd: Option<PathBuf>,

    /// Domain reported to SDKs, which build `get_host` names `<port>-<sandboxID>.<domain>`
    /// from it; they must reach the sandbox port. Default: localhost:<sandbox-port>
    /// (`*.localhost` reaches this machine in browsers and curl).
    #[arg(long, env = "E2B_LOCAL_DOMAIN")]
    pub domain: Option<String>,

    /// Let setuid programs such as `sudo` raise privileges inside sandboxes (the `base`
    /// template's user has passwordless sudo, as on E2B). Off by default: sandbox processes
    /// run with no_new_privs, and commands needing root run as user `root` through envd.
    /// Either way sandbox root is an unprivileged user on the host.
    #[arg(long, env = "E2B_LOCAL_ALLOW_SUDO")]
    pub allow_sudo: bool,

    /// Log filter, in tracing-subscriber's EnvFilter syntax.
    #[arg(long, default_value = "info", env = "E2B_LOCAL_LOG")]
    pub log: String,
}

impl ServeArgs {
    /// The server configuration these flags describe.
    ///
    /// ```no_run
    /// use clap::Parser;
    /// # #[derive(Parser)] struct Cli { #[command(flatten)] serve: e2b_local::cli::ServeArgs }
    /// let config = Cli::parse().serve.config()?;
    /// # Ok::<(), e2b_local::server::ServerError>(())
    /// ```
    pub fn config(&self) -> Result<ServerConfig, ServerError> {
        let envd = match &self.envd {
            Some(path) => path.clone(),
            None => crate::envd_binary()?,
        };
        let mut runtime = RuntimeConfig::new(envd)
            .root(&self.state_dir)
            .instance(&self.instance)
            .address_pool(self.address_pool)
            .no_new_privs(!self.allow_sudo);
        if let Some(dir) = &self.templates_dir {
            runtime = runtime.templates_dir(dir);
        }
        let mut config = ServerConfig::new(runtime)
            .api_addr(SocketAddr::new(self.bind, self.api_port))
            .sandbox_addr(SocketAddr::new(self.bind, self.sandbox_port))
            .max_timeout(Duration::from_secs(self.max_timeout))
            .on_template_progress(print_progress);
        if let Some(key) = &self.api_key {
            config = config.api_key(key);
        }
        if let Some(domain) = &self.domain {
            config = config.domain(domain);
        }
        Ok(config)
    }
}

/// Prints template build progress to stderr (the first sandbox builds `base`).
pub fn print_progress(progress: TemplateProgress) {
    match progress {
        TemplateProgress::Started { name, reason } => eprintln!("building template {name:?}: {reason}"),
        TemplateProgress::Step { name, message } => eprintln!("  [{name}] {message}"),
        TemplateProgress::Finished { name, seconds } => {
            eprintln!("template {name:?} built in {seconds:.0} s")
        }
        _ => {}
    }
}

/// Runs the server until SIGINT or SIGTERM, then kills its sandboxes and exits.
///
/// ```no_run
/// # async fn demo(args: e2b_local::cli::ServeArgs) {
/// let code = e2b_local::cli::serve(args).await;
/// # }
/// ```
pub async fn serve(args: ServeArgs) -> ExitCode {
    match serve_inner(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("e2b-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_inner(args: ServeArgs) -> Result<(), ServerError> {
    let server = LocalServer::start(args.config()?).await?;
    let announcement = Announcement {
        api_url: server.api_url(),
        sandbox_url: server.sandbox_url(),
        api_key: server.api_key().to_string(),
        pid: std::process::id(),
    };
    if let Err(e) = announcement.write(&args.state_dir) {
        tracing::warn!("cannot announce the server in {}: {e}", args.state_dir.display());
    }
    println!("E2B local server ready");
    println!("  E2B_API_URL={}", server.api_url());
    println!("  E2B_SANDBOX_URL={}", server.sandbox_url());
    println!("  E2B_API_KEY={}", server.api_key());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ServerError::Config(format!("installing the SIGTERM handler: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    announcement.withdraw(&args.state_dir);
    server.shutdown().await
}

/// What a serving `e2b-local serve` tells other programs on the machine (the `e2b` CLI
/// finds it this way): `<state-dir>/server.json`, readable by root only since it holds
/// the API key; written once the server listens, removed when it stops.
///
/// ```no_run
/// use e2b_local::cli::Announcement;
/// if let Some(server) = Announcement::read(e2b_local::runtime::DEFAULT_ROOT.as_ref()) {
///     println!("E2B_API_URL={} (pid {})", server.api_url, server.pid);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Announcement {
    /// `E2B_API_URL` of the server.
    pub api_url: String,
    /// `E2B_SANDBOX_URL` of the server.
    pub sandbox_url: String,
    /// `E2B_API_KEY` it accepts.
    pub api_key: String,
    /// The serving process.
    pub pid: u32,
}

impl Announcement {
    /// File name of the announcement in the state directory.
    pub const FILE_NAME: &'static str = "server.json";

    /// The announcement in `state_dir`, if there is one and its process still runs.
    ///
    /// ```no_run
    /// let found = e2b_local::cli::Announcement::read("/var/lib/e2b-local".as_ref());
    /// ```
    pub fn read(state_dir: &std::path::Path) -> Option<Self> {
        let bytes = std::fs::read(state_dir.join(Self::FILE_NAME)).ok()?;
        let found: Self = serde_json::from_slice(&bytes).ok()?;
        process_exists(found.pid).then_some(found)
    }

    /// Writes the announcement atomically (a reader never sees half of it).
    fn write(&self, state_dir: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(state_dir)?;
        let partial = state_dir.join(format!(".{}.{}", Self::FILE_NAME, self.pid));
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
        file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&partial, state_dir.join(Self::FILE_NAME))
    }

    /// Removes the announcement if it is still this one (another server may have replaced it).
    fn withdraw(&self, state_dir: &std::path::Path) {
        let path = state_dir.join(Self::FILE_NAME);
        let current = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Self>(&b).ok());
        if current.as_ref() == Some(self) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether a process with this pid exists (it may belong to another user).
///
/// ```
/// assert!(e2b_local::cli::process_exists(std::process::id()));
/// ```
pub fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let signalled = unsafe { libc::kill(pid, 0) } == 0;
    signalled || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Installs the stderr log subscriber with `filter` (EnvFilter syntax).
pub fn init_logging(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The `e2b-local` program (envd instead, when started under that name).
pub fn main() -> ExitCode {
    if crate::started_as_envd() {
        return envd::cli::main();
    }
    let cli = Cli::parse();
    let Command::Serve(args) = cli.command;
    init_logging(&args.log);
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(e) => {
            eprintln!("e2b-local: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
