//! README.md's two commands stay true.
//!
//! * The main job: its command, taken from README.md as written, runs on a clean checkout of
//!   this repository's HEAD (a fresh `git clone`, built in a target directory of its own,
//!   with no E2B_* variables and the default local state directory) and prints `42`. This
//!   is what a new user does on a fresh machine: it builds the CLI, installs missing host
//!   tools, builds the `base` template if it is not cached, creates a local sandbox, runs
//!   Python in it, and removes everything.
//! * The test command: `.ci/run` ends by running exactly the command README.md shows.
//!
//! The main job needs root (it runs sandboxes); without it the test prints `SKIPPED`,
//! except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// The first line of the ```sh block that follows the HTML comment starting with `marker`.
fn command_after(readme: &str, marker: &str) -> String {
    let start = readme.find(marker).unwrap_or_else(|| panic!("README.md has no {marker:?} comment"));
    let rest = &readme[start..];
    let block = rest.find("```sh\n").unwrap_or_else(|| panic!("no ```sh block after {marker:?}"));
    let line = rest[block + "```sh\n".len()..].lines().next().unwrap_or_default().trim();
    assert!(!line.is_empty() && !line.starts_with("```"), "an empty block after {marker:?}");
    line.to_string()
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).expect("reading README.md")
}

#[test]
fn ci_runs_the_readme_test_command() {
    let command = command_after(&readme(), "<!-- all tests");
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).expect("reading .ci/run");
    let last = ci.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with('#'));
    assert_eq!(last, Some(command.as_str()), ".ci/run must end with README.md's test command");
}

#[test]
fn the_main_job_prints_42_on_a_clean_checkout() {
    let command = command_after(&readme(), "<!-- main job");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let why = "the README main job needs root (it runs local sandboxes)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let root = workspace();
    let work = root.join("target").join("readme-main-job");
    let checkout = work.join("checkout");
    let _ = std::fs::remove_dir_all(&checkout);
    std::fs::create_dir_all(&work).expect("creating the work directory");
    // (safe.directory: the checkout CI clones from may belong to another user.)
    let cloned = Command::new("git")
        .args(["-c", "safe.directory=*", "clone", "--quiet", "--no-hardlinks"])
        .arg(&root)
        .arg(&checkout)
        .status()
        .expect("running git clone");
    assert!(cloned.success(), "git clone of the workspace failed");

    let mut shell = Command::new("sh");
    shell.arg("-c").arg(&command).current_dir(&checkout);
    for (name, _) in std::env::vars_os() {
        // None of this test run's sandbox configuration leaks in: a new user has none.
        if name.to_string_lossy().starts_with("E2B_") {
            shell.env_remove(name);
        }
    }
    // A target directory of the checkout's own, kept between runs so that a developer's
    // second run is incremental.
    shell.env("CARGO_TARGET_DIR", work.join("target"));
    let output = shell.output().expect("running the main job");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&checkout);
    assert!(
        output.status.success(),
        "`{command}` failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert_eq!(stdout, "42\n", "`{command}` prints the command's output and nothing else (stderr: {stderr})");
}
