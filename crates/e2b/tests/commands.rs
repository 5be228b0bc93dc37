//! Commands, PTYs and git through `Sandbox::git`, over envd's Connect RPCs,
//! against the test double with scripted envd answers served by the real
//! Connect server adapter (`e2b-connect`). The scripts follow PROTOCOL.md
//! 6.2/6.3 (start first, data, end after output, end-of-stream errors);
//! the tests check both what the SDK sends and what it makes of the
//! answers. (The real envd replaces the scripts once it lands.)

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2b::{Error, Phase, PtySize};
use e2b_connect::server::ConnectRouter;
use e2b_proto::process::{self as pb, process_methods as methods};
use futures::StreamExt as _;
use serde_json::json;
use support::fake::Fake;
use support::rpc::{
    calls, connect_response, end, header, keepalive, message, paced, pty, start, start_response, stderr,
    stdout,
};

type Events = Vec<Result<pb::StartResponse, tonic::Status>>;

/// Every `Start` answers with `script(request)`, paced by `pause`.
fn starts(
    script: impl Fn(&pb::StartRequest) -> Events + Send + Sync + 'static,
    pause: Duration,
) -> ConnectRouter {
    let script = Arc::new(script);
    ConnectRouter::new().server_streaming(methods::START, move |request: tonic::Request<pb::StartRequest>| {
        let events = script(request.get_ref());
        async move { Ok(tonic::Response::new(paced(events, pause))) }
    })
}

fn ok(events: Vec<e2b_proto::process::process_event::Event>) -> Events {
    events.into_iter().map(|e| Ok(start_response(e))).collect()
}

async fn sandbox(fake: &Fake) -> e2b::Sandbox {
    fake.client().sandbox().create().await.unwrap()
}

#[tokio::test]
async fn a_foreground_run_sends_the_official_request_and_collects_output() {
    let fake = Fake::start().await;
    let euro = "€".as_bytes();
    fake.serve_rpc(starts(
        move |_| {
            ok(vec![
                start(7),
                stdout(b"hel"),
                keepalive(),
                stdout(b"lo "),
                stderr(b"warn\n"),
                stdout(&euro[..1]),
                stdout(&[euro[1], euro[2], b'\n']),
                end(0),
            ])
        },
        Duration::from_millis(2),
    ));
    let sandbox = sandbox(&fake).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let collected = seen.clone();
    let result = sandbox
        .commands()
        .run("echo hi")
        .env("A", "1")
        .cwd("/tmp")
        .user("root")
        .on_stdout(move |text| collected.lock().unwrap().push(text.to_owned()))
        .await
        .unwrap();
    assert_eq!(
        (result.stdout.as_str(), result.stderr.as_str(), result.exit_code),
        ("hello €\n", "warn\n", 0)
    );
    assert_eq!(result.error, None);
    assert_eq!(seen.lock().unwrap().concat(), "hello €\n");

    let request = calls(&fake.requests(), methods::START).pop().unwrap();
    assert_eq!(
        message(&request),
        json!({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "echo hi"], "envs": {"A": "1"}, "cwd": "/tmp"},
               "stdin": false})
    );
    assert_eq!(header(&request, "content-type").as_deref(), Some("application/connect+json"));
    assert_eq!(header(&request, "authorization").as_deref(), Some("Basic cm9vdDo="));
    assert_eq!(header(&request, "keepalive-ping-interval").as_deref(), Some("50"));
    assert_eq!(header(&request, "connect-timeout-ms").as_deref(), Some("60000"));
    assert_eq!(header(&request, "e2b-sandbox-port").as_deref(), Some("49983"));
    assert_eq!(header(&request, "e2b-sandbox-id").as_deref(), Some(sandbox.sandbox_id()));
    assert!(header(&request, "x-access-token").is_some());
    assert_eq!(header(&request, "connect-protocol-version").as_deref(), Some("1"));

    // Without a user, envd >= 0.4.0 decides; no timeout means no header.
    sandbox.commands().run("true").timeout(Duration::ZERO).stdin(true).await.unwrap();
    let request = calls(&fake.requests(), methods::START).pop().unwrap();
    assert_eq!(header(&request, "authorization"), None);
    assert_eq!(header(&request, "connect-timeout-ms"), None);
    assert_eq!(message(&request)["stdin"], json!(true));
    assert!(message(&request)["process"].get("envs").is_none());
}

#[tokio::test]
async fn a_non_zero_exit_is_command_exit() {
    let fake = Fake::start().await;
    fake.serve_rpc(starts(
        |_| ok(vec![start(3), stdout(b"partial"), stderr(b"boom\n"), end(2)]),
        Duration::ZERO,
    ));
    let sandbox = sandbox(&fake).await;
    let err = sandbox.commands().run("false").await.unwrap_err();
    match &err {
        Error::CommandExit { stdout, stderr, exit_code, error } => {
            assert_eq!((stdout.as_str(), stderr.as_str(), *exit_code), ("partial", "boom\n", 2));
            assert_eq!(error.as_deref(), Some("exit status 2"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "Command exited with code 2 and error:\nboom\n");
    assert!(err.is_sandbox_error());
}

#[tokio::test]
async fn background_commands_stream_output_and_can_be_killed() {
    let fake = Fake::start().await;
    let killed = Arc::new(tokio::sync::Notify::new());
    let signals = Arc::new(Mutex::new(Vec::new()));
    let (on_kill, seen) = (killed.clone(), signals.clone());
    let router = ConnectRouter::new()
        .server_streaming(methods::START, move |_request: tonic::Request<pb::StartRequest>| {
            let killed = killed.clone();
            async move {
                let head =
                    futures::stream::iter(ok(vec![start(9), stdout(b"1\n"), stderr(b"e\n"), stdout(b"2\n")]));
                let tail = futures::stream::once(async move {
                    killed.notified().await;
                    Ok(start_response(end(-1)))
                });
                Ok(tonic::Response::new(head.chain(tail)))
            }
        })
        .unary(methods::SEND_SIGNAL, move |request: tonic::Request<pb::SendSignalRequest>| {
            let (on_kill, seen) = (on_kill.clone(), seen.clone());
            async move {
                let pid = match request.get_ref().process.as_ref().and_then(|p| p.selector.clone()) {
                    Some(pb::process_selector::Selector::Pid(pid)) => pid,
                    _ => 0,
                };
                seen.lock().unwrap().push((pid, request.get_ref().signal));
                if pid != 9 {
                    return Err(tonic::Status::not_found(format!("process with pid {pid} not found")));
                }
                on_kill.notify_one();
                Ok(tonic::Response::new(pb::SendSignalResponse {}))
            }
        });
    fake.serve_rpc(router);
    let sandbox = sandbox(&fake).await;
    let handle = sandbox.commands().run("long job").spawn().await.unwrap();
    assert_eq!(handle.pid(), 9);
    // Wait until all three chunks are in, then the stream starts with them.
    while handle.stdout() != "1\n2\n" || handle.stderr() != "e\n" {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut output = handle.output();
    let backlog = [output.next().await.unwrap(), output.next().await.unwrap()];
    assert_eq!(
        backlog,
        [e2b::CommandOutput::Stdout("1\n2\n".into()), e2b::CommandOutput::Stderr("e\n".into())]
    );
    assert_eq!(handle.stdout(), "1\n2\n");
    assert_eq!(handle.exit_code(), None);
    assert!(handle.kill().await.unwrap());
    let err = handle.wait().await.unwrap_err();
    assert!(
        matches!(err, Error::CommandExit { exit_code: -1, ref error, .. } if error.as_deref() == Some("signal: killed")),
        "{err}"
    );
    assert_eq!(handle.exit_code(), Some(-1));
    assert!(output.next().await.is_none(), "the output ends with the command");
    assert!(handle.output().next().await.is_none(), "only the first caller gets the output");
    assert!(!sandbox.commands().kill(12345).await.unwrap());
    assert_eq!(
        *signals.lock().unwrap(),
        vec![(9, pb::Signal::Sigkill as i32), (12345, pb::Signal::Sigkill as i32)]
    );
    let kill = calls(&fake.requests(), methods::SEND_SIGNAL).remove(0);
    assert_eq!(message(&kill), json!({"process": {"pid": 9}, "signal": "SIGNAL_SIGKILL"}));
    assert_eq!(header(&kill, "content-type").as_deref(), Some("application/json"));
    assert_eq!(header(&kill, "authorization"), None);
}

#[tokio::test]
async fn stdin_list_and_reattaching() {
    let fake = Fake::start().await;
    let router = ConnectRouter::new()
        .unary(methods::SEND_INPUT, |_: tonic::Request<pb::SendInputRequest>| async {
            Ok(tonic::Response::new(pb::SendInputResponse {}))
        })
        .unary(methods::CLOSE_STDIN, |_: tonic::Request<pb::CloseStdinRequest>| async {
            Ok(tonic::Response::new(pb::CloseStdinResponse {}))
        })
        .unary(methods::LIST, |_: tonic::Request<pb::ListRequest>| async {
            Ok(tonic::Response::new(pb::ListResponse {
                processes: vec![pb::ProcessInfo {
                    config: Some(pb::ProcessConfig {
                        cmd: "/bin/bash".into(),
                        args: vec!["-l".into(), "-c".into(), "sleep 5".into()],
                        envs: [("A".to_string(), "1".to_string())].into(),
                        cwd: Some("/tmp".into()),
                    }),
                    pid: 42,
                    tag: None,
                }],
            }))
        })
        .server_streaming(methods::CONNECT, |request: tonic::Request<pb::ConnectRequest>| async move {
            match request.get_ref().process.as_ref().and_then(|p| p.selector.clone()) {
                Some(pb::process_selector::Selector::Pid(42)) => {}
                _ => return Err(tonic::Status::not_found("process with pid 7 not found")),
            }
            let events =
                vec![start(42), stdout(b"late\n"), end(0)].into_iter().map(|e| Ok(connect_response(e)));
            Ok(tonic::Response::new(futures::stream::iter(events.collect::<Vec<_>>())))
        });
    fake.serve_rpc(router);
    let sandbox = sandbox(&fake).await;
    let commands = sandbox.commands();
    commands.send_stdin(42, "hi").await.unwrap();
    commands.close_stdin(42).await.unwrap();
    let requests = fake.requests();
    assert_eq!(
        message(&calls(&requests, methods::SEND_INPUT)[0]),
        json!({"process": {"pid": 42}, "input": {"stdin": "aGk="}})
    );
    assert_eq!(message(&calls(&requests, methods::CLOSE_STDIN)[0]), json!({"process": {"pid": 42}}));

    let processes = commands.list().await.unwrap();
    assert_eq!(processes.len(), 1);
    let p = &processes[0];
    assert_eq!(
        (p.pid, p.cmd.as_str(), p.cwd.as_deref(), p.tag.as_ref()),
        (42, "/bin/bash", Some("/tmp"), None)
    );
    assert_eq!(p.args, ["-l", "-c", "sleep 5"]);
    assert_eq!(p.envs["A"], "1");

    let handle = commands.connect(42).timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(handle.wait().await.unwrap().stdout, "late\n");
    let connect = calls(&fake.requests(), methods::CONNECT).pop().unwrap();
    assert_eq!(message(&connect), json!({"process": {"pid": 42}}));
    assert_eq!(header(&connect, "authorization"), None, "connect sends no user");
    assert_eq!(header(&connect, "connect-timeout-ms").as_deref(), Some("5000"));
    let err = commands.connect(7).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { ref message, .. } if message.contains("pid 7")), "{err}");
}

#[tokio::test]
async fn failures_map_to_typed_errors() {
    let fake = Fake::start().await;
    fake.serve_rpc(starts(
        |request| match request.process.as_ref().map(|p| p.args[2].as_str()) {
            Some("bad cwd") => vec![Err(tonic::Status::invalid_argument("cwd '/nope' does not exist"))],
            Some("no end") => ok(vec![start(1), stdout(b"x")]),
            Some("no start") => ok(vec![stdout(b"x"), end(0)]),
            Some("silent") => vec![],
            _ => ok(vec![start(1), end(0)]),
        },
        Duration::ZERO,
    ));
    let sandbox = sandbox(&fake).await;
    let run = |cmd: &str| sandbox.commands().run(cmd).send();

    let err = run("bad cwd").await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { ref message, .. } if message == "cwd '/nope' does not exist"),
        "{err}"
    );
    let err = run("no end").await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, .. } if message.contains("without an end event")),
        "{err}"
    );
    let err = run("no start").await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, .. } if message.contains("expected a start event")),
        "{err}"
    );

    // A start that never comes: the request timeout bounds the wait.
    let slow = Fake::start().await;
    slow.serve_rpc(ConnectRouter::new().server_streaming(
        methods::START,
        |_: tonic::Request<pb::StartRequest>| async {
            Ok(tonic::Response::new(futures::stream::pending::<Result<pb::StartResponse, tonic::Status>>()))
        },
    ));
    let stuck = slow.client().sandbox().create().await.unwrap();
    let err = stuck.commands().run("x").request_timeout(Duration::from_millis(200)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { stage, .. } if stage.phase == Phase::Send), "{err}");
    // A command that outlives its timeout: the stream deadline fires.
    let hanging = Fake::start().await;
    hanging.serve_rpc(ConnectRouter::new().server_streaming(
        methods::START,
        |_: tonic::Request<pb::StartRequest>| async {
            let head = futures::stream::iter(ok(vec![start(5)]));
            Ok(tonic::Response::new(head.chain(futures::stream::pending())))
        },
    ));
    let sandbox2 = hanging.client().sandbox().create().await.unwrap();
    let err = sandbox2.commands().run("sleep 100").timeout(Duration::from_millis(300)).await.unwrap_err();
    assert!(err.is_timeout() && err.to_string().contains("`timeout`"), "{err}");

    // Disconnecting leaves the process alone.
    let handle = sandbox2.commands().run("sleep 100").timeout(Duration::ZERO).spawn().await.unwrap();
    handle.disconnect();
    let err = handle.wait().await.unwrap_err();
    assert!(err.to_string().contains("disconnected"), "{err}");
    assert!(calls(&hanging.requests(), methods::SEND_SIGNAL).is_empty());

    // The proxy refuses a wrong token (envd's 401) and a dead sandbox (502).
    let forged = fake.client().connect(sandbox.sandbox_id()).await.unwrap();
    fake.state().sandboxes.get_mut(sandbox.sandbox_id()).unwrap().token = Some("rotated".into());
    let err = forged.commands().run("true").await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err}");
    sandbox.kill().await.unwrap();
    let err = sandbox.commands().run("true").await.unwrap_err();
    assert!(
        matches!(err, Error::SandboxGone { ref message, .. } if message.starts_with("The sandbox was not found")),
        "{err}"
    );
    let err = sandbox.commands().list().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn older_envds_get_what_they_understand() {
    let fake = Fake::start().await;
    fake.serve_rpc(starts(|_| ok(vec![start(1), end(0)]), Duration::ZERO));
    fake.state().envd_version = "0.2.9".into();
    let ancient = sandbox(&fake).await;
    let err = ancient.commands().run("x").stdin(false).await.unwrap_err();
    assert!(matches!(err, Error::Sandbox { stage, .. } if stage.phase == Phase::Validate), "{err}");
    ancient.commands().run("x").await.unwrap();
    let request = calls(&fake.requests(), methods::START).pop().unwrap();
    assert_eq!(
        header(&request, "authorization").as_deref(),
        Some("Basic dXNlcjo="),
        "envd < 0.4.0 gets `user`"
    );
    let err = ancient.commands().close_stdin(1).await.unwrap_err();
    assert!(err.to_string().contains("0.5.2"), "{err}");
}

#[tokio::test]
async fn terminals_send_raw_bytes_both_ways() {
    let fake = Fake::start().await;
    let router = starts(
        |_| ok(vec![start(77), pty(b"$ "), pty(b"\x1b[1mbold\x1b[0m"), end(0)]),
        Duration::from_millis(2),
    )
    .unary(methods::SEND_INPUT, |_: tonic::Request<pb::SendInputRequest>| async {
        Ok(tonic::Response::new(pb::SendInputResponse {}))
    })
    .unary(methods::UPDATE, |_: tonic::Request<pb::UpdateRequest>| async {
        Ok(tonic::Response::new(pb::UpdateResponse {}))
    });
    fake.serve_rpc(router);
    let sandbox = sandbox(&fake).await;
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let terminal = sandbox
        .pty()
        .create(PtySize { rows: 24, cols: 80 })
        .env("TERM", "vt100")
        .on_data(move |bytes| sink.lock().unwrap().extend_from_slice(bytes))
        .await
        .unwrap();
    assert_eq!(terminal.pid(), 77);
    terminal.send_stdin(&b"ls\n"[..]).await.unwrap();
    terminal.resize(PtySize { rows: 50, cols: 132 }).await.unwrap();
    let result = terminal.wait().await.unwrap();
    assert_eq!((result.stdout.as_str(), result.exit_code), ("", 0));
    assert_eq!(*received.lock().unwrap(), b"$ \x1b[1mbold\x1b[0m");

    let requests = fake.requests();
    let start_request = calls(&requests, methods::START).pop().unwrap();
    assert_eq!(
        message(&start_request),
        json!({"process": {"cmd": "/bin/bash", "args": ["-i", "-l"],
                           "envs": {"TERM": "vt100", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}},
               "pty": {"size": {"cols": 80, "rows": 24}}})
    );
    assert_eq!(
        message(&calls(&requests, methods::SEND_INPUT)[0]),
        json!({"process": {"pid": 77}, "input": {"pty": "bHMK"}})
    );
    assert_eq!(
        message(&calls(&requests, methods::UPDATE)[0]),
        json!({"process": {"pid": 77}, "pty": {"size": {"cols": 132, "rows": 50}}})
    );
}

#[tokio::test]
async fn git_runs_through_the_sandbox_commands() {
    let fake = Fake::start().await;
    fake.serve_rpc(starts(
        |_| ok(vec![start(5), stdout(b"## main...origin/main [ahead 1]\n M a.txt\n"), end(0)]),
        Duration::ZERO,
    ));
    let sandbox = sandbox(&fake).await;
    let status = sandbox.git().status("/home/user/repo").await.unwrap();
    assert_eq!((status.current_branch.as_deref(), status.ahead), (Some("main"), 1));
    assert_eq!(status.file_status[0].name, "a.txt");
    let request = calls(&fake.requests(), methods::START).pop().unwrap();
    assert_eq!(
        message(&request),
        json!({"process": {"cmd": "/bin/bash",
                           "args": ["-l", "-c", "'git' '-C' '/home/user/repo' 'status' '--porcelain=1' '-b'"],
                           "envs": {"GIT_TERMINAL_PROMPT": "0"}},
               "stdin": false})
    );
    assert_eq!(header(&request, "connect-timeout-ms"), None, "git commands have no deadline by default");
}

#[tokio::test]
async fn an_mcp_sandbox_starts_its_gateway_or_is_killed() {
    let fake = Fake::start().await;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = tokens.clone();
    fake.serve_rpc(starts(
        move |request| {
            let process = request.process.clone().unwrap_or_default();
            seen.lock().unwrap().push(process.envs.get("GATEWAY_ACCESS_TOKEN").cloned().unwrap_or_default());
            if process.args[2].contains("\"fail\"") {
                ok(vec![start(2), stderr(b"bad config"), end(1)])
            } else {
                ok(vec![start(1), end(0)])
            }
        },
        Duration::ZERO,
    ));
    let config = json!({"github": {"token": "t"}});
    let sandbox = fake.client().sandbox().mcp(config).await.unwrap();
    let requests = fake.requests();
    let create = requests.iter().find(|r| r.path == "/sandboxes").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        (body["templateID"].clone(), body["mcp"].clone()),
        (json!("mcp-gateway"), json!({"github": {"token": "t"}}))
    );
    let start_request = calls(&requests, methods::START).pop().unwrap();
    assert_eq!(
        message(&start_request)["process"]["args"][2],
        json!(r#"mcp-gateway --config '{"github": {"token": "t"}}'"#)
    );
    assert_eq!(header(&start_request, "authorization").as_deref(), Some("Basic cm9vdDo="));
    let token = tokens.lock().unwrap()[0].clone();
    assert_eq!(token.len(), 36, "a UUID");
    assert_eq!(sandbox.get_mcp_token().await.unwrap(), Some(token));

    let err = fake.client().sandbox().template("custom").mcp(json!({"fail": true})).await.unwrap_err();
    assert!(
        matches!(err, Error::Sandbox { ref message, .. } if message == "Failed to start MCP gateway: bad config"),
        "{err}"
    );
    assert_eq!(fake.state().sandboxes.len(), 1, "the sandbox with the failed gateway was killed");
    let err = fake.client().sandbox().mcp(json!(["not", "an object"])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    fake.assert_no_violations();
}

#[tokio::test]
async fn the_output_stream_joins_live_output_without_losing_or_repeating_chunks() {
    let fake = Fake::start().await;
    let chunks: Vec<Vec<u8>> = (0..200).map(|i| format!("line {i}\n").into_bytes()).collect();
    let expected: String = chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    fake.serve_rpc(starts(
        move |_| {
            let mut events = vec![start(4)];
            events.extend(chunks.iter().map(|c| stdout(c)));
            events.push(end(0));
            ok(events)
        },
        Duration::from_micros(200),
    ));
    let sandbox = sandbox(&fake).await;
    let handle = sandbox.commands().run("many lines").spawn().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let streamed: String = handle
        .output()
        .map(|chunk| match chunk {
            e2b::CommandOutput::Stdout(text) => text,
            e2b::CommandOutput::Stderr(text) => panic!("unexpected stderr {text}"),
        })
        .collect()
        .await;
    assert_eq!(streamed, expected);
    assert_eq!(handle.wait().await.unwrap().stdout, expected);
    // After the end, the stream is the whole backlog.
    let late = sandbox.commands().run("many lines").spawn().await.unwrap();
    late.wait().await.unwrap();
    let all: Vec<e2b::CommandOutput> = late.output().collect().await;
    assert_eq!(all, [e2b::CommandOutput::Stdout(expected)]);
}

/// `list`, `kill`, `send_stdin`, `close_stdin` and the terminal calls take a request
/// timeout, sent as `Connect-Timeout-Ms` and enforced by the SDK: an envd that does not
/// answer in time is a typed timeout, not a hang.
#[tokio::test]
async fn process_calls_take_a_request_timeout() {
    let fake = Fake::start().await;
    let stall = || async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Err::<tonic::Response<pb::ListResponse>, _>(tonic::Status::internal("unreachable"))
    };
    fake.serve_rpc(
        ConnectRouter::new()
            .unary(methods::LIST, move |_: tonic::Request<pb::ListRequest>| stall())
            .unary(methods::SEND_SIGNAL, |_: tonic::Request<pb::SendSignalRequest>| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(tonic::Response::new(pb::SendSignalResponse {}))
            })
            .unary(methods::SEND_INPUT, |_: tonic::Request<pb::SendInputRequest>| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(tonic::Response::new(pb::SendInputResponse {}))
            })
            .unary(methods::UPDATE, |_: tonic::Request<pb::UpdateRequest>| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(tonic::Response::new(pb::UpdateResponse {}))
            }),
    );
    let sandbox = sandbox(&fake).await;
    let short = Duration::from_millis(300);
    let commands = sandbox.commands();
    let pty = sandbox.pty();
    let outcomes = [
        ("list", commands.list().request_timeout(short).await.map(drop)),
        ("kill", commands.kill(9).request_timeout(short).await.map(drop)),
        ("send_stdin", commands.send_stdin(9, "x").request_timeout(short).await),
        ("pty send_stdin", pty.send_stdin(9, "x").request_timeout(short).await),
        ("pty resize", pty.resize(9, PtySize { rows: 1, cols: 1 }).request_timeout(short).await),
        ("pty kill", pty.kill(9).request_timeout(short).await.map(drop)),
    ];
    for (what, outcome) in outcomes {
        assert!(matches!(outcome, Err(Error::Timeout { .. })), "{what}: {outcome:?}");
    }
    let list = calls(&fake.requests(), methods::LIST).remove(0);
    let sent: u64 = header(&list, "connect-timeout-ms").expect("the timeout is sent").parse().unwrap();
    assert!(sent <= 300, "{sent}");
}

/// A caller-supplied Connect client carries envd's RPCs (its message size limit applies).
#[tokio::test]
async fn an_injected_rpc_client_carries_the_rpcs() {
    let fake = Fake::start().await;
    fake.serve_rpc(ConnectRouter::new().unary(methods::LIST, |_: tonic::Request<pb::ListRequest>| async {
        let process = pb::ProcessInfo { pid: 1, tag: Some("x".repeat(100)), ..Default::default() };
        Ok(tonic::Response::new(pb::ListResponse { processes: vec![process] }))
    }));
    let tiny = e2b::e2b_connect::client::Client::builder().max_message_size(32).build().unwrap();
    let config = e2b::ConnectionConfig::builder()
        .environment::<_, &str, &str>([])
        .api_key(support::fake::API_KEY)
        .api_url(&fake.url)
        .sandbox_url(&fake.url)
        .rpc_client(tiny)
        .build()
        .unwrap();
    let sandbox = e2b::Client::new(config).sandbox().create().await.unwrap();
    let err = sandbox.commands().list().await.expect_err("the answer exceeds the injected client's limit");
    assert!(format!("{err:?}").contains("MessageTooLarge"), "{err:?}");
    // The default client takes the same answer.
    let sandbox = fake.client().connect(sandbox.sandbox_id()).await.unwrap();
    assert_eq!(sandbox.commands().list().await.unwrap().len(), 1);
}
