//! The `e2b-local` binary: `e2b-local serve` runs the local E2B-compatible server.

fn main() -> std::process::ExitCode {
    e2b_local::cli::main()
}
