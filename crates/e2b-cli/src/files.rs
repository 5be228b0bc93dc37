//! `e2b files put|get|ls`: files in and out of a sandbox, streamed (never held in memory
//! whole), with a progress bar on a terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use e2b::{Sandbox, WriteData};
use futures::TryStreamExt as _;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;

use crate::args::{FilesCommand, Global};
use crate::progress::{self, Counted};
use crate::target::Target;
use crate::{CliError, Result, output};

pub(crate) async fn run(global: &Global, command: FilesCommand) -> Result<ExitCode> {
    let target = Target::persistent(global).await?;
    match command {
        FilesCommand::Put { sandbox_id, local, remote, user } => {
            let sandbox = target.client.connect(&sandbox_id).await?;
            let info = put(&sandbox, &local, &remote, user).await?;
            if global.json {
                output::print_json(&json!({"path": info.path, "name": info.name}));
            } else {
                println!("{}", info.path);
            }
        }
        FilesCommand::Get { sandbox_id, remote, local, user } => {
            let sandbox = target.client.connect(&sandbox_id).await?;
            let local = local.unwrap_or_else(|| default_local_name(&remote));
            let bytes = get(&sandbox, &remote, &local, user).await?;
            if local != Path::new("-") {
                if global.json {
                    output::print_json(&json!({"path": local, "bytes": bytes}));
                } else {
                    println!("{}", local.display());
                }
            }
        }
        FilesCommand::Ls { sandbox_id, path, depth, user } => {
            let sandbox = target.client.connect(&sandbox_id).await?;
            let mut request = sandbox.files().list(path).depth(depth);
            if let Some(user) = user {
                request = request.user(user);
            }
            output::entries(global.json, &request.await?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn put(sandbox: &Sandbox, local: &Path, remote: &str, user: Option<String>) -> Result<e2b::WriteInfo> {
    let mut bar = None;
    let data = if local == Path::new("-") {
        WriteData::reader(tokio::io::stdin())
    } else {
        let file = tokio::fs::File::open(local).await.map_err(|e| CliError::file("opening", local, e))?;
        let len = file.metadata().await.map_err(|e| CliError::file("reading", local, e))?.len();
        let shown = progress::transfer(&format!("upload {}", local.display()), Some(len));
        bar = Some(shown.clone());
        WriteData::reader(Counted::new(file, shown))
    };
    let mut request = sandbox.files().write(remote, data);
    if let Some(user) = user {
        request = request.user(user);
    }
    let result = tokio::select! {
        result = request.send() => result.map_err(CliError::from),
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// Downloads `remote` to `local` (`-`: stdout). A file is written under a temporary name
/// next to its destination and renamed when complete, so a failed download leaves nothing.
async fn get(sandbox: &Sandbox, remote: &str, local: &Path, user: Option<String>) -> Result<u64> {
    let mut request = sandbox.files().read(remote);
    if let Some(user) = user {
        request = request.user(user);
    }
    let mut stream = request.stream().await?;
    if local == Path::new("-") {
        let mut out = tokio::io::stdout();
        let mut total = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            out.write_all(&chunk).await.map_err(|e| CliError::file("writing", "<stdout>", e))?;
            total += chunk.len() as u64;
        }
        out.flush().await.map_err(|e| CliError::file("writing", "<stdout>", e))?;
        return Ok(total);
    }
    let partial = partial_path(local);
    let bar = progress::transfer(&format!("download {remote}"), stream.size_hint());
    let copied = async {
        let mut file =
            tokio::fs::File::create(&partial).await.map_err(|e| CliError::file("creating", &partial, e))?;
        let mut total = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            file.write_all(&chunk).await.map_err(|e| CliError::file("writing", &partial, e))?;
            total += chunk.len() as u64;
            bar.inc(chunk.len() as u64);
        }
        file.sync_all().await.map_err(|e| CliError::file("writing", &partial, e))?;
        tokio::fs::rename(&partial, local).await.map_err(|e| CliError::file("renaming into", local, e))?;
        Ok::<_, CliError>(total)
    };
    let result = tokio::select! {
        result = copied => result,
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
    };
    bar.finish_and_clear();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn default_local_name(remote: &str) -> PathBuf {
    let name = remote.trim_end_matches('/').rsplit('/').next().filter(|n| !n.is_empty() && *n != "..");
    PathBuf::from(name.unwrap_or("download"))
}

fn partial_path(local: &Path) -> PathBuf {
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    local.with_file_name(format!(".{name}.e2b-partial-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_named_after_the_remote_file() {
        assert_eq!(default_local_name("/home/user/data.csv"), PathBuf::from("data.csv"));
        assert_eq!(default_local_name("notes.txt"), PathBuf::from("notes.txt"));
        assert_eq!(default_local_name("/"), PathBuf::from("download"));
        assert_eq!(default_local_name("/tmp/.."), PathBuf::from("download"));
    }

    #[test]
    fn partial_files_sit_beside_the_destination() {
        let partial = partial_path(Path::new("/tmp/out/data.csv"));
        assert_eq!(partial.parent(), Some(Path::new("/tmp/out")));
        assert!(partial.file_name().unwrap().to_string_lossy().starts_with(".data.csv.e2b-partial-"));
    }
}
