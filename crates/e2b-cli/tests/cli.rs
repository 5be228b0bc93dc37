//! The `e2b` binary as a user runs it, against the real local server (`e2b-local`'s
//! testkit, reached through E2B_API_URL / E2B_SANDBOX_URL / E2B_API_KEY), against a server
//! `e2b local serve` announced, and with the in-process server of `e2b run`.
//!
//! Without a host that can run sandboxes the tests print `SKIPPED` and pass, except under
//! `CI=true`.

use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2b_local::testkit::{self, TestServer};
use serde_json::Value;

/// `e2b` with no E2B_* configuration of the caller's leaking in.
fn e2b() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2b"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("E2B_") {
            command.env_remove(name);
        }
    }
    command.env("E2B_LOCAL_NO_INSTALL", "1").stdin(Stdio::null());
    command
}

/// `e2b` pointed at the shared test server.
fn e2b_at(server: &TestServer) -> Command {
    let mut command = e2b();
    command.envs(server.env());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("running e2b")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and expects success; returns stdout.
fn ok(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn json(command: &mut Command) -> Value {
    let out = ok(command.arg("--json"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// A sandbox made with `e2b sandbox create`, killed with `e2b sandbox kill` on drop.
struct CliSandbox<'a> {
    server: &'a TestServer,
    id: String,
}

impl<'a> CliSandbox<'a> {
    fn create(server: &'a TestServer, test: &str) -> Self {
        let id = ok(e2b_at(server).args(["sandbox", "create", "--metadata", &format!("test={test}")]));
        let id = id.trim().to_string();
        assert!(!id.is_empty() && !id.contains(char::is_whitespace), "one ID on stdout: {id:?}");
        Self { server, id }
    }
}

impl Drop for CliSandbox<'_> {
    fn drop(&mut self) {
        let _ = run(e2b_at(self.server).args(["sandbox", "kill", &self.id]));
    }
}

#[test]
fn sandbox_lifecycle_from_the_command_line() {
    let Some(server) = testkit::shared_server("sandbox_lifecycle_from_the_command_line") else { return };
    let sandbox = CliSandbox::create(server, "cli-lifecycle");
    let id = sandbox.id.as_str();

    let listed = json(e2b_at(server).args(["sandbox", "list", "--metadata", "test=cli-lifecycle"]));
    let ids: Vec<&str> =
        listed.as_array().unwrap().iter().map(|s| s["sandboxID"].as_str().unwrap()).collect();
    assert_eq!(ids, [id]);
    // Not a terminal: tab-separated rows, no header, no colour codes.
    let plain = ok(e2b_at(server).args(["sandbox", "list", "--metadata", "test=cli-lifecycle"]));
    assert!(plain.starts_with(&format!("{id}\tbase\trunning\t")), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "no escape codes off a terminal: {plain:?}");

    let info = json(e2b_at(server).args(["sandbox", "info", id]));
    assert_eq!(info["state"], "running");
    assert_eq!(info["metadata"]["test"], "cli-lifecycle");

    ok(e2b_at(server).args(["sandbox", "set-timeout", id, "900"]));
    let metrics = json(e2b_at(server).args(["sandbox", "metrics", id]));
    assert!(metrics.is_array(), "{metrics}");

    ok(e2b_at(server).args(["exec", id, "--", "sh", "-c", "echo kept > /home/user/state.txt"]));
    let paused = ok(e2b_at(server).args(["sandbox", "pause", id]));
    assert_eq!(paused.trim(), format!("paused {id}"));
    assert_eq!(json(e2b_at(server).args(["sandbox", "info", id]))["state"], "paused");
    let resumed = json(e2b_at(server).args(["sandbox", "resume", id, "--timeout", "600"]));
    assert_eq!(resumed["state"], "running");
    assert_eq!(ok(e2b_at(server).args(["exec", id, "--", "cat", "/home/user/state.txt"])), "kept\n");

    let snapshot = json(e2b_at(server).args(["sandbox", "snapshot", id, "--name", "cli-snap"]));
    let snapshot_id = snapshot["snapshotID"].as_str().unwrap().to_string();
    let snapshots = json(e2b_at(server).args(["sandbox", "snapshots", "--sandbox", id]));
    assert!(
        snapshots.as_array().unwrap().iter().any(|s| s["snapshotID"] == snapshot_id.as_str()),
        "{snapshots}"
    );
    let from_snapshot =
        ok(e2b_at(server).args(["run", "--template", &snapshot_id, "--", "cat", "/home/user/state.txt"]));
    assert_eq!(from_snapshot, "kept\n");
    ok(e2b_at(server).args(["sandbox", "delete-snapshot", &snapshot_id]));

    let killed = ok(e2b_at(server).args(["sandbox", "kill", id]));
    assert_eq!(killed.trim(), format!("killed {id}"));
    let again = run(e2b_at(server).args(["sandbox", "kill", id]));
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains(id), "{}", text(&again.stderr));
    let gone = run(e2b_at(server).args(["sandbox", "info", id]));
    assert_eq!(gone.status.code(), Some(1));
    assert!(text(&gone.stderr).contains("not found"), "{}", text(&gone.stderr));
}

#[test]
fn exec_streams_output_and_returns_the_exit_code() {
    let Some(server) = testkit::shared_server("exec_streams_output_and_returns_the_exit_code") else {
        return;
    };
    let sandbox = CliSandbox::create(server, "cli-exec");
    let id = sandbox.id.as_str();

    let output =
        run(e2b_at(server).args(["exec", id, "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 7"]));
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(text(&output.stdout), "to-out\n");
    assert_eq!(text(&output.stderr), "to-err\n");

    // Arguments reach the command as they were given, quotes and all.
    let echoed = ok(e2b_at(server).args(["exec", id, "--", "printf", "%s|", "it's", "a b", "$HOME"]));
    assert_eq!(echoed, "it's|a b|$HOME|");

    let options = ok(e2b_at(server)
        .args(["exec", id, "--user", "root", "--cwd", "/tmp", "-e", "GREETING=hi", "--"])
        .args(["sh", "-c", "echo $(whoami) $(pwd) $GREETING"]));
    assert_eq!(options, "root /tmp hi\n");

    // stdin forwarded with --interactive, closed at EOF.
    let mut child = e2b_at(server)
        .args(["exec", "--interactive", id, "--", "wc", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&[b'x'; 100_000]).unwrap();
    let counted = child.wait_with_output().unwrap();
    assert!(counted.status.success());
    assert_eq!(text(&counted.stdout).trim(), "100000");

    let missing = run(e2b_at(server).args(["exec", "nosuchsandbox0000000", "--", "true"]));
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("nosuchsandbox0000000"), "{}", text(&missing.stderr));
}

#[test]
fn files_go_in_and_out_whole() {
    let Some(server) = testkit::shared_server("files_go_in_and_out_whole") else { return };
    let sandbox = CliSandbox::create(server, "cli-files");
    let id = sandbox.id.as_str();
    let dir = tempfile::tempdir().unwrap();

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let local = dir.path().join("data.bin");
    std::fs::write(&local, &data).unwrap();
    let put = ok(e2b_at(server).args(["files", "put", id]).arg(&local).arg("/home/user/in/data.bin"));
    assert_eq!(put.trim(), "/home/user/in/data.bin");

    let listing = json(e2b_at(server).args(["files", "ls", id, "/home/user/in"]));
    let entry = &listing.as_array().unwrap()[0];
    assert_eq!(entry["name"], "data.bin");
    assert_eq!(entry["size"], data.len());
    assert_eq!(entry["owner"], "user");

    let back = dir.path().join("back.bin");
    ok(e2b_at(server).args(["files", "get", id, "/home/user/in/data.bin"]).arg(&back));
    assert!(std::fs::read(&back).unwrap() == data, "the download equals the upload");
    let named =
        ok(e2b_at(server).current_dir(dir.path()).args(["files", "get", id, "/home/user/in/data.bin"]));
    assert_eq!(named.trim(), "data.bin");
    assert!(std::fs::read(dir.path().join("data.bin")).unwrap() == data);

    // Standard input and output.
    let mut child =
        e2b_at(server).args(["files", "put", id, "-", "notes.txt"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"from stdin\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(ok(e2b_at(server).args(["files", "get", id, "/home/user/notes.txt", "-"])), "from stdin\n");

    // A failed download leaves no file behind.
    let absent = dir.path().join("absent.bin");
    let failed = run(e2b_at(server).args(["files", "get", id, "/home/user/nope.bin"]).arg(&absent));
    assert_eq!(failed.status.code(), Some(1));
    assert!(text(&failed.stderr).contains("nope.bin"), "{}", text(&failed.stderr));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "only data.bin and back.bin: {left:?}");
    let unreadable =
        run(e2b_at(server).args(["files", "put", id]).arg(dir.path().join("missing")).arg("/tmp/x"));
    assert_eq!(unreadable.status.code(), Some(1));
    assert!(text(&unreadable.stderr).contains("missing"), "{}", text(&unreadable.stderr));
}

#[test]
fn connect_without_a_terminal_runs_piped_input() {
    let Some(server) = testkit::shared_server("connect_without_a_terminal_runs_piped_input") else { return };
    let sandbox = CliSandbox::create(server, "cli-connect-pipe");
    let mut child = e2b_at(server)
        .args(["connect", &sandbox.id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"echo hi-$((6*7))\nexit 5\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(5), "the shell's exit code");
    assert!(text(&output.stdout).contains("hi-42"), "{}", text(&output.stdout));
}

/// Opens a pseudo-terminal pair of the given size.
fn open_pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let size = nix::pty::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
    (pty.master, pty.slave)
}

/// Reads from the pty master until `needle` appears (or panics after a minute).
fn read_until(master: &mut std::fs::File, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "{needle:?} never appeared in: {seen:?}");
        match master.read(&mut buf) {
            Ok(0) => panic!("the terminal closed before {needle:?}: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading the terminal: {e} (so far: {seen:?})"),
        }
    }
}

#[test]
fn connect_on_a_terminal_is_raw_sized_and_follows_resizes() {
    let Some(server) = testkit::shared_server("connect_on_a_terminal") else { return };
    let sandbox = CliSandbox::create(server, "cli-connect-tty");
    let (master, slave) = open_pty(30, 100);
    let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let mut child = e2b_at(server)
        .args(["connect", &sandbox.id])
        .stdin(stdio(&slave))
        .stdout(stdio(&slave))
        .stderr(stdio(&slave))
        .spawn()
        .unwrap();
    drop(slave);
    let raw_master = master.as_raw_fd();
    let mut master = std::fs::File::from(master);
    let mut seen = String::new();

    master.write_all(b"stty size; echo size-$((1+1))\r").unwrap();
    read_until(&mut master, &mut seen, "size-2");
    assert!(seen.contains("30 100"), "the remote terminal has our size: {seen:?}");

    let bigger = nix::pty::Winsize { ws_row: 50, ws_col: 132, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, on a pty master we own.
    assert_eq!(unsafe { libc::ioctl(raw_master, libc::TIOCSWINSZ, &bigger) }, 0);
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGWINCH) };
    // The resize is asynchronous: ask until the shell sees it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    loop {
        round += 1;
        master.write_all(format!("stty size; echo round-{round}-done\r").as_bytes()).unwrap();
        read_until(&mut master, &mut seen, &format!("round-{round}-done"));
        if seen.contains("50 132") {
            break;
        }
        assert!(Instant::now() < deadline, "the resize never arrived: {seen:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Raw mode: Ctrl-C goes to the remote shell (it interrupts `sleep`), not to e2b.
    master.write_all(b"sleep 100\r").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    master.write_all(&[0x03]).unwrap();
    master.write_all(b"echo after-$((2*3))\r").unwrap();
    read_until(&mut master, &mut seen, "after-6");
    assert!(child.try_wait().unwrap().is_none(), "Ctrl-C did not end e2b connect");

    master.write_all(b"exit 3\r").unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(3));
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A state directory for a test, sharing the tests' template cache (no second `base` build).
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("e2b-cli-state").tempdir_in("/var/tmp").unwrap();
    // Like /var/lib/e2b-local: traversable, as the runtime's state root must be.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(testkit::templates_dir(), dir.path().join("templates")).unwrap();
    dir
}

#[test]
fn run_starts_a_server_in_process_and_leaves_nothing() {
    if !testkit::host_ready("run_starts_a_server_in_process") {
        return;
    }
    // The template cache must hold `base` already (the shared server builds it).
    let Some(_) = testkit::shared_server("run_starts_a_server_in_process") else { return };
    let state = state_dir();
    let output = run(e2b().arg("--state-dir").arg(state.path()).args(["run", "--"]).args([
        "python3",
        "-c",
        "import sys; print(6*7); print('oops', file=sys.stderr); sys.exit(4)",
    ]));
    assert_eq!(text(&output.stdout), "42\n");
    assert!(text(&output.stderr).contains("oops"), "{}", text(&output.stderr));
    assert_eq!(output.status.code(), Some(4), "the command's exit code");
    let embedded: Vec<_> = std::fs::read_dir(state.path().join("embedded")).unwrap().flatten().collect();
    assert!(embedded.is_empty(), "the in-process server removed its state: {embedded:?}");

    let unknown =
        run(e2b().arg("--state-dir").arg(state.path()).args(["run", "--template", "nope", "--", "true"]));
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("nope"), "{}", text(&unknown.stderr));

    // Commands whose sandboxes must outlive them need a server that outlives them too.
    let lonely = run(e2b().arg("--state-dir").arg(state.path()).args(["sandbox", "list"]));
    assert_eq!(lonely.status.code(), Some(1));
    assert!(text(&lonely.stderr).contains("e2b local serve"), "{}", text(&lonely.stderr));
}

/// `e2b local serve` as a child process, stopped with SIGTERM on drop.
struct Served {
    child: Child,
}

impl Served {
    fn start(state: &Path) -> Self {
        let pid = std::process::id();
        let mut child = e2b()
            .arg("--state-dir")
            .arg(state)
            .args(["local", "serve", "--api-port", "0", "--sandbox-port", "0"])
            .args(["--instance", &format!("s{}", pid % 100_000)])
            .args(["--address-pool", &format!("10.98.{}.0/22", (pid % 64) * 4)])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting e2b local serve");
        let mut out = child.stdout.take().unwrap();
        let mut printed = String::new();
        let mut buf = [0u8; 1024];
        while !printed.contains("E2B_API_KEY=") {
            let n = out.read(&mut buf).unwrap();
            assert!(n > 0, "e2b local serve exited: {printed}");
            printed.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Self { child }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[test]
fn commands_find_the_server_local_serve_announced() {
    let Some(_) = testkit::shared_server("commands_find_the_server_local_serve_announced") else { return };
    let state = state_dir();
    let served = Served::start(state.path());
    let announced = state.path().join("server.json");
    let mode = std::fs::metadata(&announced).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600, "it holds the API key");

    let at = |args: &[&str]| {
        let mut command = e2b();
        command.arg("--state-dir").arg(state.path()).args(args);
        command
    };
    let id = ok(&mut at(&["sandbox", "create", "--metadata", "test=announced"])).trim().to_string();
    assert_eq!(ok(&mut at(&["exec", &id, "--", "echo", "found"])), "found\n");
    // `run` uses the running server instead of starting its own.
    assert_eq!(ok(&mut at(&["run", "--", "hostname"])).trim().len(), 20, "a sandbox ID as hostname");
    let listed = json(&mut at(&["sandbox", "list", "--metadata", "test=announced"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert!(!state.path().join("embedded").exists(), "no in-process server was started");

    drop(served);
    assert!(!announced.exists(), "the announcement is withdrawn at shutdown");
    let after = run(&mut at(&["sandbox", "list"]));
    assert_eq!(after.status.code(), Some(1), "{}", text(&after.stdout));
}
