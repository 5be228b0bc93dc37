//! Commands: foreground and background runs with every option, stdin,
//! output as callbacks and as an iterator, list, kill, disconnect and
//! reattach, the blocking `CommandRunner`, and blocking calls refused where
//! they would deadlock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use e2b_blocking::{CommandOutput, CommandRequest, CommandRunner, Error, is_in_async_runtime};

use crate::{client, sandbox};

fn collector() -> (Arc<Mutex<String>>, impl FnMut(&str) + Send + 'static) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    (text, move |chunk: &str| sink.lock().unwrap().push_str(chunk))
}

#[test]
fn commands_in_the_foreground_and_background() {
    const TEST: &str = "commands_in_the_foreground_and_background";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let commands = sandbox.commands();

    // The foreground, with every option and both callbacks.
    let (stdout, on_stdout) = collector();
    let (stderr, on_stderr) = collector();
    let result = commands
        .run("echo $X$Y; echo oops >&2; pwd; whoami")
        .env("X", "1")
        .envs([("Y", "2")])
        .user("root")
        .cwd("/tmp")
        .timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(30))
        .on_stdout(on_stdout)
        .on_stderr(on_stderr)
        .send()
        .unwrap();
    assert_eq!(
        (result.stdout.as_str(), result.stderr.as_str(), result.exit_code),
        ("12\n/tmp\nroot\n", "oops\n", 0)
    );
    assert_eq!(*stdout.lock().unwrap(), result.stdout);
    assert_eq!(*stderr.lock().unwrap(), result.stderr);
    match commands.run("echo out; exit 3").send() {
        Err(Error::CommandExit { stdout, exit_code, .. }) => {
            assert_eq!((stdout.as_str(), exit_code), ("out\n", 3))
        }
        other => panic!("expected a command exit error, got {other:?}"),
    }

    // The background, with stdin.
    let cat = commands.run("cat").stdin(true).spawn().unwrap();
    commands.send_stdin(cat.pid(), "hello\n").unwrap();
    commands.send_stdin(cat.pid(), Bytes::from_static(b"bytes\n")).unwrap();
    commands.close_stdin(cat.pid()).unwrap();
    let result = cat.wait().unwrap();
    assert_eq!(result.stdout, "hello\nbytes\n");
    assert_eq!(
        (cat.stdout(), cat.stderr(), cat.exit_code(), cat.error()),
        (result.stdout, String::new(), Some(0), None)
    );

    // Output as an iterator: everything, once.
    let counter = commands.run("for i in 1 2 3; do echo $i; done; echo e >&2").spawn().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    for chunk in counter.output() {
        match chunk.unwrap() {
            CommandOutput::Stdout(text) => out.push_str(&text),
            CommandOutput::Stderr(text) => err.push_str(&text),
        }
    }
    assert_eq!((out.as_str(), err.as_str()), ("1\n2\n3\n", "e\n"));
    assert_eq!(counter.output().count(), 0, "only the first call gets the output");
    counter.wait().unwrap();

    let failing = commands.run("exit 4").spawn().unwrap();
    assert!(matches!(failing.wait(), Err(Error::CommandExit { exit_code: 4, .. })));
    assert_eq!((failing.exit_code(), failing.error().as_deref()), (Some(4), Some("exit status 4")));

    // List, disconnect, reattach, kill.
    let sleeper = commands.run("echo started; sleep 600").timeout(Duration::ZERO).spawn().unwrap();
    let pid = sleeper.pid();
    let listed = commands.list().unwrap();
    let process = listed.iter().find(|p| p.pid == pid).expect("the sleeper is listed");
    assert!(process.args.iter().any(|a| a.contains("sleep 600")), "{process:?}");
    sleeper.disconnect();
    assert!(sleeper.wait().is_err(), "a disconnected handle does not wait");
    let (_, on_stdout) = collector();
    let (_, on_stderr) = collector();
    let again = commands
        .connect(pid)
        .timeout(Duration::ZERO)
        .request_timeout(Duration::from_secs(30))
        .on_stdout(on_stdout)
        .on_stderr(on_stderr)
        .send()
        .unwrap();
    assert_eq!(again.pid(), pid);
    assert!(again.kill().unwrap());
    assert!(again.wait().is_err(), "a killed command does not succeed");
    assert!(!commands.kill(999_999).unwrap(), "no such process");
    let other = commands.run("sleep 600").spawn().unwrap();
    assert!(commands.kill(other.pid()).unwrap());

    // The blocking runner, for git and other helpers.
    let ran =
        CommandRunner::run(&commands, CommandRequest::new("echo $R; pwd").env("R", "runner").cwd("/tmp"));
    assert_eq!(ran.unwrap().stdout, "runner\n/tmp\n");
    let failed = CommandRunner::run(&commands, CommandRequest::new("exit 5"));
    assert!(matches!(failed, Err(Error::CommandExit { exit_code: 5, .. })));
}

#[test]
fn blocking_where_it_would_deadlock_is_refused() {
    const TEST: &str = "blocking_where_it_would_deadlock_is_refused";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let commands = sandbox.commands();

    // Callbacks run on the runtime's threads: a blocking call there is
    // refused instead of deadlocking the runtime.
    let refused = Arc::new(Mutex::new(Vec::new()));
    let (seen, inner) = (refused.clone(), commands.clone());
    commands
        .run("echo x")
        .on_stdout(move |_| seen.lock().unwrap().push(inner.list().map_err(|e| is_in_async_runtime(&e))))
        .send()
        .unwrap();
    assert_eq!(*refused.lock().unwrap(), [Err(true)]);

    // So is a call from a caller's own async runtime.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let inside = runtime.block_on(async { sandbox.files().read("/etc/hostname").text() });
    assert!(is_in_async_runtime(&inside.unwrap_err()));
    let mut output = commands.run("echo y").spawn().unwrap().output();
    let item = runtime.block_on(async { output.next() });
    assert!(is_in_async_runtime(&item.expect("an error item").unwrap_err()));
    assert!(output.next().is_none(), "the iterator ends after the error");

    // Outside, the same calls work, from many threads at once.
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let commands = commands.clone();
            std::thread::spawn(move || commands.run(format!("echo {i}")).send().map(|r| r.stdout))
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap().unwrap(), format!("{i}\n"));
    }
}
