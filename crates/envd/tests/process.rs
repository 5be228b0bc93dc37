//! `process.Process` over gRPC against a real envd: spawn semantics, users,
//! working directories, environment, stdin, PTYs, event order, fan-out,
//! reconnects, timeouts, signals and every documented error code.
//!
//! Run with `cargo test -p envd --test process` (as root).

mod common;

use std::time::Duration;

use common::*;
use e2b_proto::process::process_input::Input;
use e2b_proto::process::process_selector::Selector;
use e2b_proto::process::stream_input_request::{self, Event as InputEvent};
use e2b_proto::process::{
    CloseStdinRequest, ConnectRequest, ListRequest, ProcessConfig, ProcessInput, ProcessSelector, Pty,
    SendInputRequest, SendSignalRequest, Signal, StartRequest, StreamInputRequest, UpdateRequest, pty,
};
use futures::StreamExt;
use tonic::Code;

fn pid(pid: u32) -> Option<ProcessSelector> {
    Some(ProcessSelector { selector: Some(Selector::Pid(pid)) })
}

fn stdin_of(pid_: u32, data: &str) -> SendInputRequest {
    SendInputRequest {
        process: pid(pid_),
        input: Some(ProcessInput { input: Some(Input::Stdin(data.as_bytes().to_vec().into())) }),
    }
}

fn with_stdin(mut request: StartRequest) -> StartRequest {
    request.stdin = Some(true);
    request
}

/// Reads the first event of a started stream, which must be `start`.
async fn first_pid(stream: &mut tonic::Streaming<e2b_proto::process::StartResponse>) -> u32 {
    let first = stream.next().await.expect("a first event").expect("no error");
    let mut c = Collected::default();
    c.push(first.event.and_then(|e| e.event));
    assert_eq!(c.kinds, ["start"], "start must come first");
    c.pid.unwrap()
}

/// The canonical run: start, output, then the end event with Go's texts.
#[tokio::test(flavor = "multi_thread")]
async fn start_streams_start_then_output_then_end() {
    let envd = TestEnvd::default().await;
    let out = run(&envd, "echo hi; echo oops >&2", None).await;
    assert_eq!(out.kinds.first(), Some(&"start"));
    assert_eq!(out.kinds.last(), Some(&"end"));
    assert_eq!(out.stdout(), "hi\n");
    assert_eq!(out.stderr(), "oops\n");
    let end = out.end.unwrap();
    assert_eq!((end.exit_code, end.exited, end.status.as_str(), end.error), (0, true, "exit status 0", None));
    assert!(out.error.is_none());
}

/// Non-zero exits and signals: exit code, `exited`, status and error texts.
#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_and_signal_deaths() {
    let envd = TestEnvd::default().await;
    let end = run(&envd, "exit 3", None).await.end.unwrap();
    assert_eq!((end.exit_code, end.exited), (3, true));
    assert_eq!(end.status, "exit status 3");
    assert_eq!(end.error.as_deref(), Some("exit status 3"));

    let end = run(&envd, "kill -KILL $$", None).await.end.unwrap();
    assert_eq!((end.exit_code, end.exited), (-1, false));
    assert_eq!(end.status, "signal: killed");
    assert_eq!(end.error.as_deref(), Some("signal: killed"));

    let end = run(&envd, "kill -TERM $$", None).await.end.unwrap();
    assert_eq!((end.exit_code, end.status.as_str()), (-1, "signal: terminated"));
}

/// The reported pid is the command's own (the wrapper `exec`s), the process
/// leads its own group, and has upstream's OOM score.
#[tokio::test(flavor = "multi_thread")]
async fn pid_is_the_commands_and_it_leads_a_group() {
    let envd = TestEnvd::default().await;
    let out = run(&envd, "echo $$; cut -d' ' -f5 /proc/$$/stat; cat /proc/self/oom_score_adj", None).await;
    let lines: Vec<String> = out.stdout().lines().map(|l| l.trim().to_owned()).collect();
    assert_eq!(lines[0], out.pid.unwrap().to_string());
    assert_eq!(lines[1], lines[0], "its own process group");
    // `cat` inherits the score set before exec.
    assert_eq!(lines[2], "100");
}

/// A command that cannot be executed fails like a shell: start, a message
/// on stderr, exit 127.
#[tokio::test(flavor = "multi_thread")]
async fn missing_command_fails_like_a_shell() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let request = StartRequest {
        process: Some(ProcessConfig { cmd: "/no/such/binary".into(), ..Default::default() }),
        stdin: Some(false),
        ..Default::default()
    };
    let out = collect(client.start(request).await.unwrap().into_inner(), Duration::from_secs(20)).await;
    assert_eq!(out.shape(), ["start", "stderr", "end"]);
    assert_eq!(out.end.unwrap().exit_code, 127);
}

/// `stdin: false` connects /dev/null; absent or true connects a pipe.
#[tokio::test(flavor = "multi_thread")]
async fn stdin_flag_selects_dev_null_or_a_pipe() {
    let envd = TestEnvd::default().await;
    let out = run(&envd, "readlink /proc/self/fd/0; cat", None).await;
    assert_eq!(out.stdout(), "/dev/null\n", "cat got EOF at once");

    let mut client = envd.process().await;
    let mut request = bash("cat");
    request.stdin = None; // historic clients: a pipe
    let mut stream = client.start(request).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    client.send_input(stdin_of(pid_, "ping\n")).await.unwrap();
    client.close_stdin(CloseStdinRequest { process: pid(pid_) }).await.unwrap();
    // Idempotent.
    client.close_stdin(CloseStdinRequest { process: pid(pid_) }).await.unwrap();
    let out = collect(stream, Duration::from_secs(20)).await;
    assert_eq!(out.stdout(), "ping\n");
    assert_eq!(out.end.unwrap().exit_code, 0);
}

/// The end event waits until output reaches EOF: a background grandchild
/// holding stdout delays it, and its late output arrives before `end`.
#[tokio::test(flavor = "multi_thread")]
async fn end_comes_after_output_eof() {
    let envd = TestEnvd::default().await;
    let out = run(&envd, "(sleep 0.7; echo late) & echo early", None).await;
    assert_eq!(out.stdout(), "early\nlate\n");
    assert_eq!(out.kinds.last(), Some(&"end"));
}

/// SIGKILL through SendSignal stops output reading, so a grandchild that
/// keeps the pipe open does not delay the end event.
#[tokio::test(flavor = "multi_thread")]
async fn kill_does_not_wait_for_grandchildren_holding_output() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut stream = client.start(bash("sleep 30 & echo $!; wait")).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let mut first = Collected::default();
    while !first.stdout().ends_with('\n') {
        first.push(stream.next().await.unwrap().unwrap().event.and_then(|e| e.event));
    }
    let grandchild: i32 = first.stdout().trim().parse().unwrap();
    client
        .send_signal(SendSignalRequest { process: pid(pid_), signal: Signal::Sigkill as i32 })
        .await
        .unwrap();
    let out = collect(stream, Duration::from_secs(10)).await;
    let end = out.end.expect("end arrives without waiting for the sleeping grandchild");
    assert_eq!((end.exit_code, end.status.as_str()), (-1, "signal: killed"));
    assert!(alive(grandchild as u32), "the grandchild still holds the pipe");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(grandchild), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
}

/// Connect-Timeout-Ms on Start kills the process when it elapses, even if
/// the client is long gone, and ends the stream with deadline_exceeded.
#[tokio::test(flavor = "multi_thread")]
async fn start_timeout_kills_the_process() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut stream =
        client.start(request(bash("sleep 60"), &[("connect-timeout-ms", "600")])).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let out = collect(stream, Duration::from_secs(10)).await;
    let code = out.error.map(|s| s.code());
    assert!(code == Some(Code::DeadlineExceeded) || out.end.is_some(), "{:?}", out.kinds);
    eventually(Duration::from_secs(5), "the timed-out process is killed", || !alive(pid_)).await;

    // The same with the client disconnecting right after start.
    let mut stream =
        client.start(request(bash("sleep 60"), &[("connect-timeout-ms", "800")])).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(alive(pid_), "disconnecting does not kill");
    eventually(Duration::from_secs(5), "killed at the deadline without a client", || !alive(pid_)).await;

    // A malformed header is refused before anything runs.
    let err = client.start(request(bash("true"), &[("connect-timeout-ms", "soon")])).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

/// Without a timeout a process outlives its client's disconnect.
#[tokio::test(flavor = "multi_thread")]
async fn disconnect_leaves_the_process_running() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut stream = client.start(bash("sleep 30")).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid_));
    let listed = client.list(ListRequest {}).await.unwrap().into_inner().processes;
    assert!(listed.iter().any(|p| p.pid == pid_));
    client
        .send_signal(SendSignalRequest { process: pid(pid_), signal: Signal::Sigkill as i32 })
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "killed", || !alive(pid_)).await;
}

/// Output goes to every attached stream; output produced while nobody is
/// attached is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn fan_out_and_drop_when_unattached() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let script = "while read line; do echo \"got $line\"; done";
    let mut start = client.start(with_stdin(bash(script))).await.unwrap().into_inner();
    let pid_ = first_pid(&mut start).await;

    // Detach the only stream, then produce output nobody sees.
    drop(start);
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.send_input(stdin_of(pid_, "lost\n")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Two streams attach; both see the next output, neither the lost one.
    let mut a = client.connect(ConnectRequest { process: pid(pid_) }).await.unwrap().into_inner();
    let mut b = client.connect(ConnectRequest { process: pid(pid_) }).await.unwrap().into_inner();
    for stream in [&mut a, &mut b] {
        let first = stream.next().await.unwrap().unwrap().event.unwrap().event;
        let mut c = Collected::default();
        c.push(first);
        assert_eq!(
            (c.kinds.as_slice(), c.pid),
            (["start"].as_slice(), Some(pid_)),
            "Connect starts with start"
        );
    }
    client.send_input(stdin_of(pid_, "seen\n")).await.unwrap();
    client.close_stdin(CloseStdinRequest { process: pid(pid_) }).await.unwrap();
    let map = |s: tonic::Streaming<e2b_proto::process::ConnectResponse>| {
        s.map(|r| r.map(|m| m.event.and_then(|e| e.event)))
    };
    let (a, b) = tokio::join!(
        collect_events(map(a), Duration::from_secs(10)),
        collect_events(map(b), Duration::from_secs(10))
    );
    for out in [a, b] {
        assert_eq!(out.stdout(), "got seen\n");
        assert_eq!(out.end.unwrap().exit_code, 0);
    }
}

/// A reader that does not read slows the process down instead of losing
/// output or buffering without bound.
#[tokio::test(flavor = "multi_thread")]
async fn slow_reader_back_pressures_without_loss() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let total = 64 * 1024 * 1024;
    let mut stream = client.start(bash(&format!("head -c {total} /dev/zero"))).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(alive(pid_), "the writer is blocked while nobody reads");
    let out = collect(stream, Duration::from_secs(120)).await;
    assert_eq!(out.stdout.len(), total, "nothing lost");
    assert_eq!(out.end.unwrap().exit_code, 0);
}

/// A process flooding stdout with nobody attached runs to completion: its
/// output is dropped, not buffered, and it is never blocked.
#[tokio::test(flavor = "multi_thread")]
async fn stdout_flood_without_reader_completes() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut stream =
        client.start(bash("head -c 300000000 /dev/zero; echo done >&2")).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    drop(stream);
    eventually(Duration::from_secs(60), "the flooding process finishes", || !alive(pid_)).await;
    // Its end is kept for a late Connect.
    let out = collect_events(
        client
            .connect(ConnectRequest { process: pid(pid_) })
            .await
            .unwrap()
            .into_inner()
            .map(|r| r.map(|m| m.event.and_then(|e| e.event))),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(out.shape(), ["start", "end"]);
}

/// Connect after the end: start plus the kept end event; unknown pids and
/// tags are not_found (carried in the stream's error).
#[tokio::test(flavor = "multi_thread")]
async fn late_connect_gets_the_kept_end() {
    let envd = TestEnvd::default().await;
    let out = run(&envd, "exit 4", None).await;
    let pid_ = out.pid.unwrap();
    let mut client = envd.process().await;
    let stream = client.connect(ConnectRequest { process: pid(pid_) }).await.unwrap().into_inner();
    let late =
        collect_events(stream.map(|r| r.map(|m| m.event.and_then(|e| e.event))), Duration::from_secs(5))
            .await;
    assert_eq!(late.kinds, ["start", "end"]);
    assert_eq!(late.pid, Some(pid_));
    assert_eq!(late.end.unwrap().exit_code, 4);

    let err = client.connect(ConnectRequest { process: pid(u32::MAX - 1) }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("not found"), "{}", err.message());
    let err = client
        .connect(ConnectRequest {
            process: Some(ProcessSelector { selector: Some(Selector::Tag("nope".into())) }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

/// Keepalive events fill silences of the requested interval.
#[tokio::test(flavor = "multi_thread")]
async fn keepalives_follow_the_requested_interval() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let stream = client
        .start(request(bash("sleep 2.5"), &[("keepalive-ping-interval", "1")]))
        .await
        .unwrap()
        .into_inner();
    let out = collect(stream, Duration::from_secs(20)).await;
    assert!(out.kinds.iter().filter(|k| **k == "keepalive").count() >= 1, "{:?}", out.kinds);
    assert_eq!(out.shape(), ["start", "end"]);
}

/// List reports live processes with their original config and tag; ended
/// ones disappear. Tags select processes.
#[tokio::test(flavor = "multi_thread")]
async fn list_and_tags() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut request = bash("sleep 30");
    request.tag = Some("my-tag".into());
    if let Some(p) = request.process.as_mut() {
        p.envs.insert("FOO".into(), "bar".into());
        p.cwd = Some("/tmp".into());
    }
    let mut stream = client.start(request).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let listed = client.list(ListRequest {}).await.unwrap().into_inner().processes;
    let info = listed.iter().find(|p| p.pid == pid_).expect("listed");
    assert_eq!(info.tag.as_deref(), Some("my-tag"));
    let config = info.config.as_ref().unwrap();
    assert_eq!(config.cmd, "/bin/bash");
    assert_eq!(config.args, ["-l", "-c", "sleep 30"]);
    assert_eq!(config.envs.get("FOO").map(String::as_str), Some("bar"));
    assert_eq!(config.cwd.as_deref(), Some("/tmp"));

    let by_tag = Some(ProcessSelector { selector: Some(Selector::Tag("my-tag".into())) });
    client.send_signal(SendSignalRequest { process: by_tag, signal: Signal::Sigterm as i32 }).await.unwrap();
    let out = collect(stream, Duration::from_secs(10)).await;
    assert_eq!(out.end.unwrap().status, "signal: terminated");
    let listed = client.list(ListRequest {}).await.unwrap().into_inner().processes;
    assert!(listed.iter().all(|p| p.pid != pid_), "ended processes leave the list");
}

/// The error codes of the unary calls.
#[tokio::test(flavor = "multi_thread")]
async fn unary_error_codes() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let missing = pid(u32::MAX - 7);
    fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
        r.unwrap_err().code()
    }

    assert_eq!(code(client.send_input(stdin_of(u32::MAX - 7, "x")).await), Code::NotFound);
    assert_eq!(
        code(client.close_stdin(CloseStdinRequest { process: missing.clone() }).await),
        Code::NotFound
    );
    assert_eq!(
        code(client.send_signal(SendSignalRequest { process: missing.clone(), signal: 9 }).await),
        Code::NotFound
    );
    assert_eq!(code(client.update(UpdateRequest { process: missing, pty: None }).await), Code::NotFound);
    assert_eq!(code(client.send_input(SendInputRequest::default()).await), Code::InvalidArgument);

    // A process without stdin, and not a terminal.
    let mut stream = client.start(bash("sleep 30")).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let err = client.send_input(stdin_of(pid_, "x")).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Internal, "stdin not enabled or closed"));
    let pty_input = SendInputRequest {
        process: pid(pid_),
        input: Some(ProcessInput { input: Some(Input::Pty(b"x".to_vec().into())) }),
    };
    assert_eq!(code(client.send_input(pty_input).await), Code::Internal);
    let resize =
        UpdateRequest { process: pid(pid_), pty: Some(Pty { size: Some(pty::Size { cols: 10, rows: 10 }) }) };
    assert_eq!(code(client.update(resize).await), Code::Internal);
    assert_eq!(
        code(
            client
                .send_signal(SendSignalRequest { process: pid(pid_), signal: Signal::Unspecified as i32 })
                .await
        ),
        Code::Unimplemented
    );
    assert_eq!(
        code(client.send_input(SendInputRequest { process: pid(pid_), input: None }).await),
        Code::Unimplemented
    );
    client
        .send_signal(SendSignalRequest { process: pid(pid_), signal: Signal::Sigkill as i32 })
        .await
        .unwrap();
    collect(stream, Duration::from_secs(10)).await;

    // Start without a process config.
    assert_eq!(code(client.start(StartRequest::default()).await), Code::InvalidArgument);
}

/// Working directory rules: default workdir, home, relative to home, `~`,
/// other users' homes refused, missing directories refused before start.
#[tokio::test(flavor = "multi_thread")]
async fn cwd_rules() {
    let user = TestUser::create();
    let envd = TestEnvd::start(envd::Config::new().default_user(&user.name)).await;
    let home = user.home.display().to_string();
    std::fs::create_dir(user.home.join("sub")).unwrap();

    let pwd = |cwd: Option<&str>| {
        let mut request = bash("pwd");
        request.process.as_mut().unwrap().cwd = cwd.map(Into::into);
        request
    };
    let mut client = envd.process().await;
    let run_pwd = |r| {
        let mut client = client.clone();
        async move { collect(client.start(r).await.unwrap().into_inner(), Duration::from_secs(20)).await.stdout() }
    };
    assert_eq!(run_pwd(pwd(None)).await, format!("{home}\n"), "no cwd: the user's home");
    assert_eq!(run_pwd(pwd(Some("sub"))).await, format!("{home}/sub\n"), "relative to home");
    assert_eq!(run_pwd(pwd(Some("~/sub/.."))).await, format!("{home}\n"));
    assert_eq!(run_pwd(pwd(Some("/tmp"))).await, "/tmp\n");

    envd.envd.apply_init(envd::Init::new().default_workdir("/tmp"));
    assert_eq!(run_pwd(pwd(None)).await, "/tmp\n", "no cwd: the default workdir");
    assert_eq!(run_pwd(pwd(Some("sub"))).await, format!("{home}/sub\n"), "relative paths stay home-relative");

    let err = client.start(pwd(Some("/no/such/dir"))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "cwd '/no/such/dir' does not exist");
    let err = client.start(pwd(Some("~root/x"))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

/// Processes run as the requested user with its groups, in a clean
/// environment: PATH, HOME, USER, LOGNAME, SHELL, envd's defaults, then the
/// request's variables.
#[tokio::test(flavor = "multi_thread")]
async fn user_identity_and_environment() {
    let user = TestUser::create();
    // Something in the test process's environment that must not leak.
    let envd =
        TestEnvd::start(envd::Config::new().env("E2B_SANDBOX_ID", "sbx1").env("SHADOWED", "default")).await;
    envd.envd.apply_init(envd::Init::new().env_var("FROM_INIT", "yes"));

    let mut start = bash("id -u; id -g; id -G; echo $HOME $USER $LOGNAME $SHELL; env | sort");
    start.process.as_mut().unwrap().envs.insert("SHADOWED".into(), "request".into());
    let mut client = envd.process().await;
    let out = collect(
        client.start(as_user(start, &user.name)).await.unwrap().into_inner(),
        Duration::from_secs(20),
    )
    .await;
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], user.uid.to_string());
    assert_eq!(lines[1], user.gid.to_string());
    assert!(lines[2].split(' ').any(|g| g == user.supplementary_gid().to_string()), "supplementary groups");
    assert_eq!(lines[3], format!("{} {} {} /bin/bash", user.home.display(), user.name, user.name));
    let env: Vec<&str> = lines[4..].to_vec();
    for expected in ["E2B_SANDBOX=true", "E2B_SANDBOX_ID=sbx1", "FROM_INIT=yes", "SHADOWED=request"] {
        assert!(env.contains(&expected), "{expected} missing from {env:?}");
    }
    assert!(env.iter().any(|e| e.starts_with("PATH=")));
    assert!(!env.iter().any(|e| e.starts_with("CARGO")), "envd's own environment is not inherited");

    // Root by default; an unknown user is unauthenticated.
    assert_eq!(run(&envd, "id -u", None).await.stdout(), "0\n");
    let err = client.start(as_user(bash("true"), "no-such-user-xyz")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client.start(request(bash("true"), &[("authorization", "Basic !!!")])).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // The default user from /init applies to requests without a user.
    envd.envd.apply_init(envd::Init::new().default_user(&user.name));
    assert_eq!(run(&envd, "whoami", None).await.stdout(), format!("{}\n", user.name));
}

/// PTY sessions: output as `pty` bytes, input through `pty`, resize,
/// TERM, and the errors of mixing up stdin and terminal input.
#[tokio::test(flavor = "multi_thread")]
async fn pty_sessions() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let request = StartRequest {
        process: Some(ProcessConfig {
            cmd: "/bin/bash".into(),
            args: vec!["--norc".into(), "--noprofile".into(), "-i".into()],
            ..Default::default()
        }),
        pty: Some(Pty { size: Some(pty::Size { cols: 91, rows: 17 }) }),
        ..Default::default()
    };
    let mut stream = client.start(request).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let pty_in = |data: &str| SendInputRequest {
        process: pid(pid_),
        input: Some(ProcessInput { input: Some(Input::Pty(data.as_bytes().to_vec().into())) }),
    };
    client.send_input(pty_in("stty size; echo T=$TERM\n")).await.unwrap();
    // Read until both answers appeared.
    let mut seen = Vec::new();
    let until = |seen: &Vec<u8>, needle: &str| String::from_utf8_lossy(seen).contains(needle);
    while !until(&seen, "T=xterm-256color") {
        let event =
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
        let mut c = Collected::default();
        c.push(event.event.and_then(|e| e.event));
        assert!(c.stdout.is_empty() && c.stderr.is_empty(), "a terminal only produces pty output");
        seen.extend_from_slice(&c.pty);
    }
    assert!(until(&seen, "17 91"), "{}", String::from_utf8_lossy(&seen));

    let resize = UpdateRequest {
        process: pid(pid_),
        pty: Some(Pty { size: Some(pty::Size { cols: 120, rows: 40 }) }),
    };
    client.update(resize).await.unwrap();
    client.send_input(pty_in("stty size\n")).await.unwrap();
    seen.clear();
    while !until(&seen, "40 120") {
        let event =
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
        let mut c = Collected::default();
        c.push(event.event.and_then(|e| e.event));
        seen.extend_from_slice(&c.pty);
    }

    let err = client.send_input(stdin_of(pid_, "x")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "stdin input to a terminal");
    let err = client.close_stdin(CloseStdinRequest { process: pid(pid_) }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unknown, "close_stdin on a terminal");

    client.send_input(pty_in("exit 5\n")).await.unwrap();
    let out = collect(stream, Duration::from_secs(10)).await;
    assert_eq!(out.end.unwrap().exit_code, 5);
}

/// StreamInput: a start message naming the process, then data; keepalives
/// are ignored; data before start is refused.
#[tokio::test(flavor = "multi_thread")]
async fn stream_input_feeds_stdin() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut stream = client.start(with_stdin(bash("cat"))).await.unwrap().into_inner();
    let pid_ = first_pid(&mut stream).await;
    let data = |s: &str| StreamInputRequest {
        event: Some(InputEvent::Data(stream_input_request::DataEvent {
            input: Some(ProcessInput { input: Some(Input::Stdin(s.as_bytes().to_vec().into())) }),
        })),
    };
    let messages = vec![
        StreamInputRequest {
            event: Some(InputEvent::Start(stream_input_request::StartEvent { process: pid(pid_) })),
        },
        data("one "),
        StreamInputRequest { event: Some(InputEvent::Keepalive(stream_input_request::KeepAlive {})) },
        data("two\n"),
    ];
    client.stream_input(futures::stream::iter(messages)).await.unwrap();
    client.close_stdin(CloseStdinRequest { process: pid(pid_) }).await.unwrap();
    let out = collect(stream, Duration::from_secs(10)).await;
    assert_eq!(out.stdout(), "one two\n");

    let err = client.stream_input(futures::stream::iter(vec![data("x")])).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

/// Bad input to Start: invalid environment names and NUL bytes are clear
/// errors, and nothing is left running.
#[tokio::test(flavor = "multi_thread")]
async fn start_rejects_bad_input() {
    let envd = TestEnvd::default().await;
    let mut client = envd.process().await;
    let mut request = bash("true");
    request.process.as_mut().unwrap().envs.insert("A=B".into(), "x".into());
    assert_eq!(client.start(request).await.unwrap_err().code(), Code::InvalidArgument);
    let request = bash("echo a\0b");
    assert_eq!(client.start(request).await.unwrap_err().code(), Code::InvalidArgument);
    assert!(client.list(ListRequest {}).await.unwrap().into_inner().processes.is_empty());
}

/// After all of the above kinds of runs, no zombie is left behind.
#[tokio::test(flavor = "multi_thread")]
async fn no_zombies_after_runs() {
    let envd = TestEnvd::default().await;
    for script in ["true", "exit 1", "kill -9 $$", "(sleep 0.2 &) ; echo x"] {
        let out = run(&envd, script, None).await;
        let pid_ = out.pid.unwrap();
        eventually(Duration::from_secs(5), "reaped", || !zombie_children().contains(&pid_)).await;
    }
}
