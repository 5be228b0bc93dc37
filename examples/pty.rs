//! A terminal: an interactive shell driven by a program (what `e2b connect` does for you).
//!
//! ```text
//! cargo run -p e2b-examples --example pty
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    let sandbox = e2b::Sandbox::builder().create().await?;
    let screen = Arc::new(Mutex::new(Vec::new()));
    let sink = screen.clone();
    let terminal = sandbox
        .pty()
        .create(e2b::PtySize { rows: 24, cols: 80 })
        .on_data(move |bytes| sink.lock().unwrap().extend_from_slice(bytes))
        .await?;

    terminal.send_stdin("stty size; echo answer-$((6*7))\n").await?;
    wait_for(&screen, "answer-42").await;
    terminal.resize(e2b::PtySize { rows: 40, cols: 120 }).await?;
    terminal.send_stdin("stty size\n").await?;
    wait_for(&screen, "40 120").await;
    terminal.send_stdin("exit\n").await?;
    terminal.wait().await?;

    let text = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    println!(
        "the terminal showed {} bytes; sizes seen: 24x80 {}, 40x120 {}",
        text.len(),
        text.contains("24 80"),
        text.contains("40 120")
    );
    sandbox.kill().await?;
    println!("done");
    Ok(())
}

/// Polls the captured screen until `needle` appears (for at most ten seconds).
async fn wait_for(screen: &Mutex<Vec<u8>>, needle: &str) {
    for _ in 0..200 {
        if String::from_utf8_lossy(&screen.lock().unwrap()).contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("{needle:?} did not appear");
}
