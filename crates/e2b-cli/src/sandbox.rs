//! `e2b sandbox …`: the lifecycle of sandboxes that outlive the command.

use std::process::ExitCode;
use std::time::Duration;

use e2b::{Lifecycle, OnTimeout, SandboxQuery, SnapshotQuery};
use futures::TryStreamExt as _;
use serde_json::json;

use crate::args::{CreateArgs, Global, ListArgs, SandboxCommand};
use crate::output;
use crate::target::Target;
use crate::{CliError, Result};

pub(crate) async fn run(global: &Global, command: SandboxCommand) -> Result<ExitCode> {
    let target = Target::persistent(global).await?;
    let client = &target.client;
    let json = global.json;
    match command {
        SandboxCommand::Create(args) => create(&target, json, args).await?,
        SandboxCommand::List(args) => list(&target, json, args).await?,
        SandboxCommand::Info { sandbox_id } => output::sandbox(json, &client.get_info(&sandbox_id).await?),
        SandboxCommand::Kill { sandbox_ids } => {
            let mut missing = Vec::new();
            for id in &sandbox_ids {
                if client.kill(id).await? {
                    say(json, &json!({"sandboxID": id, "killed": true}), &format!("killed {id}"));
                } else {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                return Err(not_found(&missing));
            }
        }
        SandboxCommand::Pause { sandbox_id } => {
            let paused = client.pause(&sandbox_id).await?;
            let text = if paused {
                format!("paused {sandbox_id}")
            } else {
                format!("{sandbox_id} was already paused")
            };
            say(json, &json!({"sandboxID": sandbox_id, "paused": true}), &text);
        }
        SandboxCommand::Resume { sandbox_id, timeout } => {
            let mut connect = client.connect(&sandbox_id);
            if let Some(seconds) = timeout {
                connect = connect.timeout(Duration::from_secs(seconds));
            }
            let sandbox = connect.await?;
            output::sandbox(json, &sandbox.get_info().await?);
        }
        SandboxCommand::SetTimeout { sandbox_id, seconds } => {
            client.set_timeout(&sandbox_id, Duration::from_secs(seconds)).await?;
            output::sandbox(json, &client.get_info(&sandbox_id).await?);
        }
        SandboxCommand::Metrics { sandbox_id } => {
            output::metrics(json, &client.get_metrics(&sandbox_id).await?);
        }
        SandboxCommand::Snapshot { sandbox_id, name } => {
            let mut request = client.create_snapshot(&sandbox_id);
            if let Some(name) = name {
                request = request.name(name);
            }
            let snapshot = request.await?;
            say(
                json,
                &json!({"snapshotID": snapshot.snapshot_id, "names": snapshot.names}),
                &snapshot.snapshot_id,
            );
        }
        SandboxCommand::Snapshots { sandbox } => {
            let mut query = SnapshotQuery::new();
            if let Some(id) = sandbox {
                query = query.sandbox_id(id);
            }
            let snapshots: Vec<_> = client.list_snapshots(query).into_stream().try_collect().await?;
            output::snapshots(json, &snapshots);
        }
        SandboxCommand::DeleteSnapshot { snapshot_id } => {
            if !client.delete_snapshot(&snapshot_id).await? {
                return Err(not_found(&[snapshot_id]));
            }
            say(
                json,
                &json!({"snapshotID": snapshot_id, "deleted": true}),
                &format!("deleted {snapshot_id}"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn create(target: &Target, json: bool, args: CreateArgs) -> Result<()> {
    let mut builder = target
        .client
        .sandbox()
        .template(&args.template)
        .timeout(Duration::from_secs(args.timeout))
        .envs(args.envs);
    for (key, value) in args.metadata {
        builder = builder.metadata(key, value);
    }
    if args.no_internet {
        builder = builder.allow_internet_access(false);
    }
    if args.auto_pause {
        builder = builder.lifecycle(Lifecycle::new().on_timeout(OnTimeout::Pause).auto_resume(true));
    }
    let sandbox = builder.create().await?;
    if json {
        output::sandbox(true, &sandbox.get_info().await?);
    } else {
        println!("{}", sandbox.sandbox_id());
    }
    Ok(())
}

async fn list(target: &Target, json: bool, args: ListArgs) -> Result<()> {
    let mut query = SandboxQuery::new();
    if !args.state.is_empty() {
        query = query.state(args.state);
    }
    for (key, value) in args.metadata {
        query = query.metadata(key, value);
    }
    let stream = target.client.list(query).into_stream();
    let sandboxes: Vec<_> = match args.limit {
        Some(limit) => futures::StreamExt::take(stream, limit).try_collect().await?,
        None => stream.try_collect().await?,
    };
    output::sandboxes(json, &sandboxes);
    Ok(())
}

/// Prints `text`, or `value` with `--json`.
fn say(json: bool, value: &serde_json::Value, text: &str) {
    if json {
        output::print_json(value);
    } else {
        println!("{text}");
    }
}

fn not_found(ids: &[String]) -> CliError {
    CliError::Sdk(e2b::Error::NotFound {
        stage: e2b::Stage::new("e2b sandbox", e2b::Phase::Respond),
        message: format!("not found: {}", ids.join(", ")),
    })
}
