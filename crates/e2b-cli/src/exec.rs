//! `e2b exec`: a command in a running sandbox, its output streamed as it comes, its exit
//! code returned. `e2b run` uses the same streaming.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use e2b::{CommandHandle, Sandbox};
use tokio::io::AsyncReadExt as _;

use crate::args::{CommandOptions, ExecArgs, Global};
use crate::target::Target;
use crate::{CliError, Result};

pub(crate) async fn exec(global: &Global, args: ExecArgs) -> Result<ExitCode> {
    let target = Target::persistent(global).await?;
    let sandbox = target.client.connect(&args.sandbox_id).await?;
    stream_command(&sandbox, &args.options, args.interactive).await
}

/// Runs `options.command` in `sandbox`, copying its stdout and stderr to ours as they
/// arrive (and our stdin to it with `forward_stdin`); returns its exit code. Ctrl-C kills
/// the command.
pub(crate) async fn stream_command(
    sandbox: &Sandbox,
    options: &CommandOptions,
    forward_stdin: bool,
) -> Result<ExitCode> {
    let mut run = sandbox
        .commands()
        .run(shell_join(&options.command))
        .envs(options.envs.iter().cloned())
        .timeout(Duration::from_secs(options.command_timeout))
        .stdin(forward_stdin)
        .on_stdout(|text| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        })
        .on_stderr(|text| {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        });
    if let Some(user) = &options.user {
        run = run.user(user);
    }
    if let Some(cwd) = &options.cwd {
        run = run.cwd(cwd);
    }
    let handle = run.spawn().await?;
    let stdin_task = forward_stdin.then(|| tokio::spawn(copy_stdin(sandbox.clone(), handle.pid())));
    let outcome = tokio::select! {
        result = handle.wait() => Ok(result),
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
    };
    if let Some(task) = stdin_task {
        task.abort();
    }
    match outcome {
        Ok(result) => exit_code(result),
        Err(interrupted) => {
            let _ = kill_quietly(&handle).await;
            Err(interrupted)
        }
    }
}

/// The process's exit code for a command's result: its own code, or the error.
fn exit_code(result: e2b::Result<e2b::CommandResult>) -> Result<ExitCode> {
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e2b::Error::CommandExit { exit_code, error, .. }) => {
            // -1: ended by a signal; shells report that as 128 + signal, which we don't know.
            if exit_code < 0 {
                let why = error.unwrap_or_else(|| "killed by a signal".into());
                eprintln!("e2b: the command was ended: {why}");
                return Ok(ExitCode::from(137));
            }
            Ok(ExitCode::from(u8::try_from(exit_code).unwrap_or(1)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn kill_quietly(handle: &CommandHandle) -> e2b::Result<bool> {
    tokio::time::timeout(Duration::from_secs(5), handle.kill()).await.unwrap_or(Ok(false))
}

/// Copies our stdin to the command's until EOF, then closes the command's stdin.
async fn copy_stdin(sandbox: Sandbox, pid: u32) {
    let commands = sandbox.commands();
    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if commands.send_stdin(pid, buf[..n].to_vec()).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = commands.close_stdin(pid).await;
}

/// Joins arguments into one shell command line, quoting where the shell would split or
/// expand (envd runs commands with `bash -l -c`).
pub(crate) fn shell_join(args: &[String]) -> String {
    args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain =
        !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if plain { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(args: &[&str]) -> String {
        shell_join(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_survive_the_shell() {
        assert_eq!(join(&["python3", "-c", "print(6*7)"]), "python3 -c 'print(6*7)'");
        assert_eq!(join(&["echo", "it's", ""]), r"echo 'it'\''s' ''");
        assert_eq!(join(&["ls", "-la", "/home/user"]), "ls -la /home/user");
        assert_eq!(join(&["echo", "$HOME"]), "echo '$HOME'");
    }

    #[test]
    fn exit_codes_pass_through() {
        let exit = |code| {
            Err(e2b::Error::CommandExit {
                stdout: String::new(),
                stderr: String::new(),
                exit_code: code,
                error: None,
            })
        };
        assert_eq!(exit_code(exit(3)).unwrap(), ExitCode::from(3));
        assert_eq!(exit_code(exit(-1)).unwrap(), ExitCode::from(137));
        assert_eq!(exit_code(Ok(e2b::CommandResult::default())).unwrap(), ExitCode::SUCCESS);
    }
}
