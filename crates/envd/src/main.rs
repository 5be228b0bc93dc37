//! The `envd` binary: the daemon inside each sandbox.

fn main() -> std::process::ExitCode {
    envd::cli::main()
}
