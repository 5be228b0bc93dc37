//! Interop: the official E2B JS SDK, **unchanged** (npm `e2b@2.45.0`, the first release
//! after the reference commit whose Python SDK is 2.45.1; `engines` admits Node >=20.18.1),
//! run by Node 20 against the local server, pointed at it only through `E2B_API_URL`,
//! `E2B_SANDBOX_URL` and `E2B_API_KEY`.
//!
//! `js_sdk_round` runs `tests/interop/js_round.mjs`: create with metadata and envs (env seen
//! by a command), getInfo, commands.run (stdout/stderr, onStdout, CommandExitError,
//! background + wait), files.write + files.read (text and binary), files.list/exists,
//! Sandbox.list with a metadata filter and pagination, connect, and kill (instance, by id,
//! twice, unknown id). The script asserts real results, kills every sandbox it created and
//! prints `OK` last; the test fails with its full output otherwise. It proves the JS SDK's
//! own HTTP stack (undici fetch, connect-web) works against the server, not just Python's.

#[path = "interop/runner.rs"]
mod runner;

use e2b_local::testkit::shared_server;

/// The JS SDK version the test installs.
const JS_E2B: &str = "e2b@2.45.0";

#[test]
fn js_sdk_round() {
    let Some(server) = shared_server("js_sdk_round") else { return };
    let dir = e2b_tests::interop::node_packages("js-e2b", &[JS_E2B]).expect("installing the official JS SDK");
    // ES modules resolve `e2b` from the script's own folder: run a copy next to node_modules.
    let copy = dir.join("js_round.mjs");
    std::fs::copy(runner::script("js_round.mjs"), &copy).expect("copying the script");
    runner::assert_script_ok("node".as_ref(), &copy, server);
}
