//! Streaming output: follow a long command as it prints, via callbacks and as a `Stream`,
//! and run a server in the background.
//!
//! ```text
//! cargo run -p e2b-examples --example streaming
//! ```

use std::time::Duration;

use futures::StreamExt as _;

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    let sandbox = e2b::Sandbox::builder().create().await?;

    // Callbacks see each piece of output as it arrives.
    let result = sandbox
        .commands()
        .run("for i in 1 2 3; do echo tick $i; sleep 0.2; done; echo warning >&2")
        .on_stdout(|text| print!("[stdout] {text}"))
        .on_stderr(|text| print!("[stderr] {text}"))
        .await?;
    println!("exit code {}", result.exit_code);

    // Or as a stream of chunks, from a command started in the background.
    let handle = sandbox.commands().run("seq 1 5").spawn().await?;
    let mut output = handle.output();
    while let Some(chunk) = output.next().await {
        // A chunk is whatever arrived at once: one line, or several.
        if let e2b::CommandOutput::Stdout(text) = chunk {
            for line in text.lines() {
                println!("[stream] {line}");
            }
        }
    }
    handle.wait().await?;

    // A long-running server: no command timeout, stopped when we are done.
    let server = sandbox
        .commands()
        .run("python3 -m http.server 8000")
        .cwd("/home/user")
        .timeout(Duration::ZERO)
        .spawn()
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page =
        sandbox.commands().run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/").await?;
    println!("the server answered {}", page.stdout);
    server.kill().await?;

    sandbox.kill().await?;
    println!("done");
    Ok(())
}
