//! `e2b`: the command line of the E2B Rust SDK.
//!
//! ```text
//! e2b run -- python3 -c 'print(6*7)'          # a local sandbox, no account needed
//! e2b local serve                             # a local server that other tools can use
//! e2b sandbox create --timeout 600            # prints the new sandbox's ID
//! e2b exec <id> -- ls -la /home/user          # streams output, exits with its code
//! e2b connect <id>                            # an interactive terminal
//! e2b files put <id> data.csv /home/user/data.csv
//! ```
//!
//! The binary is also envd: started under the name `envd` (as local sandboxes start it),
//! it runs the in-sandbox daemon, so a local server needs no second program.

mod args;
mod error;
mod exec;
mod files;
mod host;
mod output;
mod progress;
mod run;
mod sandbox;
mod target;
mod terminal;

use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command, LocalCommand};
pub(crate) use error::{CliError, Result};

fn main() -> ExitCode {
    if e2b_local::started_as_envd() {
        return envd::cli::main();
    }
    let cli = Cli::parse();
    if let Command::Local(LocalCommand::Serve(args)) = &cli.command {
        e2b_local::cli::init_logging(&args.log);
    } else if let Ok(filter) = std::env::var("E2B_LOG") {
        e2b_local::cli::init_logging(&filter);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("e2b: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(dispatch(cli));
    // Background tasks (a server's connections, a stream nobody reads any more) must not
    // keep the process alive once the command is done.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn dispatch(cli: Cli) -> ExitCode {
    let global = cli.global;
    let result = match cli.command {
        Command::Run(args) => run::run(&global, args).await,
        Command::Sandbox(command) => sandbox::run(&global, command).await,
        Command::Exec(args) => exec::exec(&global, args).await,
        Command::Connect(args) => terminal::connect(&global, args).await,
        Command::Files(command) => files::run(&global, command).await,
        Command::Local(LocalCommand::Serve(args)) => return e2b_local::cli::serve(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::FAILURE
        }
    }
}
