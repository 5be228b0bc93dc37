//! Interop: the official E2B Python SDK, **unchanged** (PyPI `e2b==2.45.1`, pinned in
//! `e2b_tests::interop::PYTHON_E2B`), against the local server, pointed at it only through
//! `E2B_API_URL`, `E2B_SANDBOX_URL` and `E2B_API_KEY`.
//!
//! * `python_sdk_sync_round` runs `tests/interop/python_sync.py` (`from e2b import Sandbox`):
//!   create with metadata and envs, list with metadata/state filters and pagination, get_info,
//!   connect, commands (foreground, background, stdin, kill, CommandExitException), files (all
//!   of read/write/list/exists/get_info/remove/rename/make_dir, gzip, metadata), pty,
//!   watch_dir over the CreateWatcher family, pause + resume via `Sandbox.connect`, snapshots
//!   (create from one, list, delete), metrics, set_timeout, timeout expiry, kill, and the
//!   secure sandbox's signed URLs and access-token enforcement (401s).
//! * `python_sdk_async_round` runs `tests/interop/python_async.py` (`AsyncSandbox`): the same
//!   main round, with the streaming WatchDir RPC and concurrent calls.
//!
//! Each script asserts real results, kills every sandbox it created, and prints `OK` last;
//! the test fails with the script's full output otherwise. Both tests share the process-wide
//! server, so they also show that concurrent clients do not disturb each other.

#[path = "interop/runner.rs"]
mod runner;

use e2b_local::testkit::shared_server;

fn python_round(test: &str, script_name: &str) {
    let Some(server) = shared_server(test) else { return };
    let python = e2b_tests::interop::python_e2b().expect("installing the official Python SDK");
    runner::assert_script_ok(&python, &runner::script(script_name), server);
}

#[test]
fn python_sdk_sync_round() {
    python_round("python_sdk_sync_round", "python_sync.py");
}

#[test]
fn python_sdk_async_round() {
    python_round("python_sdk_async_round", "python_async.py");
}
