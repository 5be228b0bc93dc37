//! Async quickstart: create a sandbox, run code, move a file in and out, kill it.
//!
//! ```text
//! cargo run -p e2b-examples --example quickstart
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    // The `base` template, for ten minutes at most; configured from E2B_* variables.
    let sandbox = e2b::Sandbox::builder().timeout(Duration::from_secs(600)).create().await?;
    println!("sandbox {}", sandbox.sandbox_id());

    let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").await?;
    print!("python says {}", result.stdout);

    sandbox.files().write("/home/user/data.csv", "name,score\nada,36\ngrace,42\n").await?;
    let script = "import csv; print(max(int(r['score']) for r in csv.DictReader(open('data.csv'))))";
    let best = sandbox.commands().run(format!("python3 -c \"{script}\"")).cwd("/home/user").await?;
    print!("best score {}", best.stdout);

    // A non-zero exit is an error that carries the output.
    match sandbox.commands().run("ls /nonexistent").await {
        Err(e2b::Error::CommandExit { exit_code, stderr, .. }) => {
            println!("ls failed with {exit_code}: {}", stderr.trim())
        }
        other => println!("unexpected: {other:?}"),
    }

    sandbox.kill().await?;
    println!("done");
    Ok(())
}
