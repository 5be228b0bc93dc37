//! Terminals: create with every option, type, resize, read the output as
//! callbacks and as an iterator, disconnect, reattach, kill.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2b_blocking::{OutputIter, PtySize};

use crate::{client, sandbox};

/// Reads the terminal until its output contains `needle`.
fn read_until(output: &mut OutputIter<bytes::Bytes>, needle: &str) -> String {
    let mut seen = String::new();
    for chunk in output {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if seen.contains(needle) {
            return seen;
        }
    }
    panic!("the terminal ended before printing {needle:?}:\n{seen}");
}

#[test]
fn terminals() {
    const TEST: &str = "terminals";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let pty = sandbox.pty();
    let size = PtySize { rows: 24, cols: 80 };

    let data = Arc::new(Mutex::new(Vec::new()));
    let sink = data.clone();
    let terminal = pty
        .create(size)
        .user("user")
        .cwd("/tmp")
        .env("MARK", "pty-ok")
        .timeout(Duration::ZERO)
        .request_timeout(Duration::from_secs(30))
        .on_data(move |bytes| sink.lock().unwrap().extend_from_slice(bytes))
        .send()
        .unwrap();
    let mut output = terminal.output();
    // The typed line is echoed; only the command's output has the joined
    // words.
    terminal.send_stdin("echo $MARK-$(pwd)-$(whoami)\n").unwrap();
    read_until(&mut output, "pty-ok-/tmp-user");
    terminal.resize(PtySize { rows: 40, cols: 100 }).unwrap();
    terminal.send_stdin("stty size\n").unwrap();
    read_until(&mut output, "40 100");
    pty.resize(terminal.pid(), PtySize { rows: 50, cols: 120 }).unwrap();
    pty.send_stdin(terminal.pid(), "stty size\n").unwrap();
    read_until(&mut output, "50 120");
    assert!(!data.lock().unwrap().is_empty(), "on_data saw the output too");

    // Disconnect and reattach; the shell lives on.
    terminal.disconnect();
    let reattached = Arc::new(Mutex::new(Vec::new()));
    let sink = reattached.clone();
    let again = pty
        .connect(terminal.pid())
        .timeout(Duration::ZERO)
        .request_timeout(Duration::from_secs(30))
        .on_data(move |bytes| sink.lock().unwrap().extend_from_slice(bytes))
        .send()
        .unwrap();
    assert_eq!(again.pid(), terminal.pid());
    let mut output = again.output();
    again.send_stdin(&b"echo $((6 * 7))-again\n"[..]).unwrap();
    read_until(&mut output, "42-again");
    again.send_stdin("exit 0\n").unwrap();
    let result = again.wait().unwrap();
    assert_eq!((result.exit_code, result.stdout.as_str()), (0, ""));
    assert!(!reattached.lock().unwrap().is_empty());

    // Kill, through the handle and by pid.
    let doomed = pty.create(size).send().unwrap();
    assert!(doomed.kill().unwrap());
    assert!(doomed.wait().is_err());
    let doomed = pty.create(size).send().unwrap();
    assert!(pty.kill(doomed.pid()).unwrap());
    assert!(doomed.wait().is_err());
    assert!(!pty.kill(999_999).unwrap(), "no such process");
}
