//! Lifecycle: pause a sandbox and resume it with its state intact, snapshot it and start a
//! new sandbox from the snapshot, and let a sandbox pause itself when its time is up.
//!
//! ```text
//! cargo run -p e2b-examples --example pause_resume_snapshots
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    let client = e2b::Client::from_env()?;
    let sandbox = client.sandbox().create().await?;
    sandbox.files().write("/home/user/progress.txt", "step 1 done\n").await?;

    sandbox.pause().await?;
    println!("paused: {:?}", client.get_info(sandbox.sandbox_id()).await?.state);
    let resumed = client.connect(sandbox.sandbox_id()).timeout(Duration::from_secs(300)).await?;
    print!("after resume: {}", resumed.files().read("/home/user/progress.txt").text().await?);

    let snapshot = resumed.create_snapshot().await?;
    println!("snapshot {}", snapshot.snapshot_id);
    let copy = client.sandbox().template(&snapshot.snapshot_id).create().await?;
    print!("from the snapshot: {}", copy.files().read("/home/user/progress.txt").text().await?);
    copy.kill().await?;
    client.delete_snapshot(&snapshot.snapshot_id).await?;
    resumed.kill().await?;

    // Paused instead of killed when the timeout ends; connecting resumes it.
    let napping = client
        .sandbox()
        .timeout(Duration::from_secs(60))
        .lifecycle(e2b::Lifecycle::new().on_timeout(e2b::OnTimeout::Pause).auto_resume(true))
        .create()
        .await?;
    println!("on timeout: {:?}", napping.get_info().await?.lifecycle.map(|l| l.on_timeout));
    napping.kill().await?;
    println!("done");
    Ok(())
}
