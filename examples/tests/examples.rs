//! Every example runs, as a user would run it, against the real local server
//! (`e2b-local`'s testkit, reached through E2B_API_URL / E2B_SANDBOX_URL / E2B_API_KEY),
//! and prints what it promises.
//!
//! Without a host that can run sandboxes the test prints `SKIPPED` and passes, except
//! under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The examples' binaries, built if needed.
fn examples_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "e2b-examples", "--examples"])
        .current_dir(workspace)
        .status()
        .expect("running cargo build --examples");
    assert!(status.success(), "building the examples failed");
    // target/debug/deps/<this test> -> target/debug/examples
    let exe = std::env::current_exe().expect("this test's path");
    exe.parent().and_then(Path::parent).expect("the profile directory").join("examples")
}

#[test]
fn every_example_runs_against_the_local_server() {
    let Some(server) = e2b_local::testkit::shared_server("every_example_runs_against_the_local_server")
    else {
        return;
    };
    let dir = examples_dir();
    let expectations: [(&str, &[&str]); 7] = [
        ("quickstart", &["python says 42", "best score 42", "ls failed with 2"]),
        ("blocking_quickstart", &["python says 42", "hello from a blocking program", "sandbox(es) listed"]),
        ("streaming", &["[stdout] tick 3", "[stderr] warning", "[stream] 5", "the server answered 200"]),
        ("pty", &["sizes seen: 24x80 true, 40x120 true"]),
        ("git", &["current Some(\"main\")", "feature", "first commit"]),
        ("files_and_watch", &["b.txt: first", "big.bin 1048576 bytes", "exists: false", "Create"]),
        (
            "pause_resume_snapshots",
            &["paused: Paused", "after resume: step 1 done", "from the snapshot: step 1 done", "Some(Pause)"],
        ),
    ];
    for (name, wanted) in expectations {
        let mut command = Command::new(dir.join(name));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("E2B_") {
                command.env_remove(key);
            }
        }
        let output = command.envs(server.env()).output().unwrap_or_else(|e| panic!("running {name}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name} failed ({}):\n{stdout}\n{stderr}", output.status);
        assert!(stdout.ends_with("done\n"), "{name} did not finish:\n{stdout}\n{stderr}");
        for line in wanted {
            assert!(stdout.contains(line), "{name} should print {line:?}:\n{stdout}");
        }
    }
}
