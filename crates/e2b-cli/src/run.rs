//! `e2b run`: create a sandbox, run one command in it with its output streamed, kill it.

use std::process::ExitCode;
use std::time::Duration;

use crate::args::{Global, RunArgs};
use crate::exec::stream_command;
use crate::target::Target;
use crate::{CliError, Result};

pub(crate) async fn run(global: &Global, args: RunArgs) -> Result<ExitCode> {
    let target = Target::ephemeral(global).await?;
    let outcome = run_in(&target, &args).await;
    // The sandbox is already killed (or was never made); now the server, if it is ours.
    let closed = target.close().await;
    let code = outcome?;
    closed?;
    Ok(code)
}

async fn run_in(target: &Target, args: &RunArgs) -> Result<ExitCode> {
    let prepare = async {
        target.prepare_template(&args.template).await?;
        let sandbox = target
            .client
            .sandbox()
            .template(&args.template)
            .timeout(Duration::from_secs(args.timeout))
            .metadata("created-by", "e2b run")
            .create()
            .await?;
        Ok::<_, CliError>(sandbox)
    };
    let sandbox = tokio::select! {
        sandbox = prepare => sandbox?,
        _ = tokio::signal::ctrl_c() => return Err(CliError::Interrupted),
    };
    let result = stream_command(&sandbox, &args.options, false).await;
    if let Err(e) = sandbox.kill().await {
        eprintln!("e2b: could not kill sandbox {}: {e}", sandbox.sandbox_id());
    }
    result
}
