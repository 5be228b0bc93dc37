//! Which server a command talks to.
//!
//! 1. With `E2B_API_KEY` or `E2B_API_URL` set: that server, or E2B's cloud, configured from
//!    the environment exactly as the official SDKs are.
//! 2. Otherwise a local server that `e2b local serve` announced in the state directory.
//! 3. Otherwise, for commands whose sandbox ends with them (`e2b run`), a server started
//!    in this process, shut down (its sandboxes killed) when the command ends. Commands
//!    that leave a sandbox behind refuse instead: the sandbox would die with the process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2b::{Client, ConnectionConfig};
use e2b_local::cli::Announcement;
use e2b_local::runtime::{Ipv4Cidr, RuntimeConfig};
use e2b_local::server::{LocalServer, ServerConfig};

use crate::args::Global;
use crate::{CliError, Result, host, progress};

/// Where embedded servers keep their per-process state, below the state directory.
const EMBEDDED_DIR: &str = "embedded";

/// A client, and the in-process server behind it if there is one.
pub(crate) struct Target {
    pub(crate) client: Client,
    embedded: Option<Embedded>,
}

impl Target {
    /// The server for a command that needs sandboxes to outlive it.
    pub(crate) async fn persistent(global: &Global) -> Result<Self> {
        match existing_server(global).await? {
            Some(client) => Ok(Self { client, embedded: None }),
            None => Err(CliError::NoServer { state_dir: global.state_dir.clone() }),
        }
    }

    /// The server for a command whose sandboxes end with it: an in-process one if no other.
    pub(crate) async fn ephemeral(global: &Global) -> Result<Self> {
        if let Some(client) = existing_server(global).await? {
            return Ok(Self { client, embedded: None });
        }
        let embedded = Embedded::start(&global.state_dir).await?;
        let client = embedded.client()?;
        Ok(Self { client, embedded: Some(embedded) })
    }

    /// Builds `template` first if this is an in-process server and it is `base`, so that
    /// the build shows its progress and the create request does not wait for it.
    pub(crate) async fn prepare_template(&self, template: &str) -> Result<()> {
        if let Some(embedded) = &self.embedded
            && template == e2b::DEFAULT_TEMPLATE
        {
            embedded.server.runtime().ensure_base_template().await.map_err(|e| {
                CliError::Server(e2b_local::server::ServerError::Config(format!(
                    "building the base template: {e}"
                )))
            })?;
        }
        Ok(())
    }

    /// Stops the in-process server, if any (its sandboxes are killed).
    pub(crate) async fn close(self) -> Result<()> {
        match self.embedded {
            Some(embedded) => embedded.stop().await,
            None => Ok(()),
        }
    }
}

/// A client of a server that runs without this process: the one the environment names,
/// else the one `e2b local serve` announced.
async fn existing_server(global: &Global) -> Result<Option<Client>> {
    if let Some(client) = configured_client()? {
        return Ok(Some(client));
    }
    Ok(announced_client(&global.state_dir).await)
}

/// The client the environment configures, if it names a server.
fn configured_client() -> Result<Option<Client>> {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("E2B_API_KEY") || set("E2B_API_URL") {
        return Ok(Some(Client::from_env()?));
    }
    Ok(None)
}

/// A client for the server `e2b local serve` announced, if it answers.
async fn announced_client(state_dir: &Path) -> Option<Client> {
    let found = Announcement::read(state_dir)?;
    let client = local_client(&found.api_url, &found.sandbox_url, &found.api_key).ok()?;
    // One cheap authenticated call: the file may be left from a server whose pid was reused.
    let mut probe = client.list(e2b::SandboxQuery::new().limit(1));
    match tokio::time::timeout(Duration::from_secs(3), probe.next_items()).await {
        Ok(Ok(_)) => Some(client),
        _ => None,
    }
}

fn local_client(api_url: &str, sandbox_url: &str, api_key: &str) -> Result<Client> {
    let config = ConnectionConfig::builder()
        .environment(std::iter::empty::<(String, String)>())
        .api_url(api_url)
        .sandbox_url(sandbox_url)
        .api_key(api_key)
        .build()?;
    Ok(Client::new(config))
}

/// A local server running in this process, with state of its own (so that it never
/// touches what another server on the machine owns) and the shared template cache.
struct Embedded {
    server: LocalServer,
    root: PathBuf,
}

impl Embedded {
    async fn start(state_dir: &Path) -> Result<Self> {
        host::ensure_ready()?;
        let pid = std::process::id();
        let instance = embedded_instance(pid);
        let embedded_dir = state_dir.join(EMBEDDED_DIR);
        sweep_dead_instances(&embedded_dir, state_dir).await;
        let root = embedded_dir.join(&instance);
        std::fs::create_dir_all(&root).map_err(|e| CliError::file("creating", &root, e))?;
        std::fs::write(root.join("pid"), pid.to_string())
            .map_err(|e| CliError::file("writing", root.join("pid"), e))?;
        let config = runtime_config(state_dir, &root, &instance, embedded_pool(pid))?;
        let any = "127.0.0.1:0".parse().expect("a literal address");
        let server = LocalServer::start(
            ServerConfig::new(config)
                .api_addr(any)
                .sandbox_addr(any)
                .on_template_progress(progress::template),
        )
        .await;
        match server {
            Ok(server) => Ok(Self { server, root }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&root);
                Err(e.into())
            }
        }
    }

    fn client(&self) -> Result<Client> {
        local_client(&self.server.api_url(), &self.server.sandbox_url(), self.server.api_key())
    }

    async fn stop(self) -> Result<()> {
        let result = self.server.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.root);
        Ok(result?)
    }
}

fn runtime_config(state_dir: &Path, root: &Path, instance: &str, pool: Ipv4Cidr) -> Result<RuntimeConfig> {
    // This program is envd too (see main): sandboxes run the envd of this very build.
    let envd = match std::env::var_os("E2B_LOCAL_ENVD") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .map_err(|e| CliError::Host(format!("cannot find this program's own executable: {e}")))?,
    };
    Ok(RuntimeConfig::new(envd)
        .root(root)
        .templates_dir(state_dir.join("templates"))
        .instance(instance)
        .address_pool(pool))
}

/// Instance names are 1-6 of `[a-z0-9]`: `e` and the pid in base 36 (at most 5 digits
/// for Linux's largest pid, 2^22).
fn embedded_instance(pid: u32) -> String {
    let mut digits = Vec::new();
    let mut n = pid;
    loop {
        digits.push(char::from_digit(n % 36, 36).expect("a base-36 digit"));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    std::iter::once('e').chain(digits.into_iter().rev()).collect()
}

/// A /22 of 10.89.0.0/16 per process, away from `e2b local serve`'s default 10.88.0.0/16.
fn embedded_pool(pid: u32) -> Ipv4Cidr {
    format!("10.89.{}.0/22", (pid % 64) * 4).parse().expect("a valid pool")
}

/// Removes what in-process servers of processes that no longer run left behind (killed by
/// a signal, say): each such runtime is started once, which sweeps its leftovers, then
/// shut down and its directory removed.
async fn sweep_dead_instances(embedded_dir: &Path, state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(embedded_dir) else { return };
    for entry in entries.flatten() {
        let root = entry.path();
        let instance = entry.file_name().to_string_lossy().into_owned();
        let pid: Option<u32> =
            std::fs::read_to_string(root.join("pid")).ok().and_then(|p| p.trim().parse().ok());
        if pid.is_some_and(e2b_local::cli::process_exists) {
            continue;
        }
        let pool = embedded_pool(pid.unwrap_or(0));
        let Ok(config) = runtime_config(state_dir, &root, &instance, pool) else { continue };
        match e2b_local::runtime::Runtime::new(config).await {
            Ok(runtime) => {
                let _ = runtime.shutdown().await;
            }
            Err(e) => tracing::warn!("cleaning up after {instance}: {e}"),
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_fit_the_runtime_rules() {
        assert_eq!(embedded_instance(0), "e0");
        assert_eq!(embedded_instance(35), "ez");
        assert_eq!(embedded_instance(36), "e10");
        let largest = embedded_instance(1 << 22);
        assert!(largest.len() <= 6, "{largest}");
        assert!(largest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn pools_stay_inside_their_range() {
        for pid in [0, 1, 63, 64, 4_194_304] {
            let pool = embedded_pool(pid).to_string();
            assert!(pool.starts_with("10.89.") && pool.ends_with(".0/22"), "{pool}");
        }
    }
}
