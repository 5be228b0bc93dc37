//! Files: write (from memory or streamed from a local file), read, list, stat, rename,
//! remove; and watch a directory for changes as a `Stream`.
//!
//! ```text
//! cargo run -p e2b-examples --example files_and_watch
//! ```

use std::time::Duration;

use futures::StreamExt as _;

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    let sandbox = e2b::Sandbox::builder().create().await?;
    let files = sandbox.files();

    files.make_dir("/home/user/inbox").await?;
    // Watch before changing anything; events arrive as a stream (or via on_event).
    let mut watch = files.watch_dir("/home/user/inbox").recursive(true).await?;

    files.write("/home/user/inbox/a.txt", "first\n").await?;
    // Large files are streamed, never held in memory whole: any AsyncRead or a local file.
    let local = std::env::temp_dir().join(format!("e2b-example-{}.bin", std::process::id()));
    std::fs::write(&local, vec![7u8; 1 << 20]).expect("writing a local file");
    files.write("/home/user/inbox/big.bin", e2b::WriteData::file(&local)).await?;
    let _ = std::fs::remove_file(&local);
    files.rename("/home/user/inbox/a.txt", "/home/user/inbox/b.txt").await?;

    for entry in files.list("/home/user/inbox").await? {
        println!("{} {} bytes", entry.name, entry.size);
    }
    println!("b.txt: {}", files.read("/home/user/inbox/b.txt").text().await?.trim());
    println!("exists: {}", files.exists("/home/user/inbox/a.txt").await?);
    files.remove("/home/user/inbox/big.bin").await?;

    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(2), watch.next()).await {
        if let Ok(event) = event {
            seen.push(format!("{:?} {}", event.event_type, event.name));
        }
    }
    watch.stop();
    println!("events: {seen:?}");

    sandbox.kill().await?;
    println!("done");
    Ok(())
}
