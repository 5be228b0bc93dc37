//! Project automation, run as `cargo xtask <command>`.
//!
//! * `codegen [--check]`: regenerates the checked-in code of the protocol crates
//!   (`e2b-proto` from `proto/`, `e2b-api` from `openapi/`). With `--check` nothing
//!   is written; any drift is printed as a diff and the command fails.
//! * `msrv`: fails when a dependency in `Cargo.lock` declares a `rust-version`
//!   newer than the workspace's.
//! * `bench <connect|envd|sdk|runtime|local>`: runs that benchmark (release build);
//!   each prints medians, p99 and ratios against a baseline measured in the
//!   same run. Benchmarks are never tests: the machines are shared and noisy.
//! * `test [cargo test args]`: the project's whole test suite (README's test
//!   command): every crate's unit, integration and doc tests.

mod bench;
mod codegen;
mod msrv;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(args[1..].iter().any(|a| a == "--check")),
        Some("msrv") => msrv::run(),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <codegen [--check] | msrv | test [args] | bench <name>>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
