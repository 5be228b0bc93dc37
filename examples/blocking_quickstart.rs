//! Blocking quickstart: the same API without async, for scripts and synchronous code.
//!
//! ```text
//! cargo run -p e2b-examples --example blocking_quickstart
//! ```

use std::time::Duration;

fn main() -> Result<(), e2b_blocking::Error> {
    let sandbox = e2b_blocking::Sandbox::builder().timeout(Duration::from_secs(600)).create()?;
    println!("sandbox {}", sandbox.sandbox_id());

    let result = sandbox.commands().run("python3 -c 'print(6 * 7)'").send()?;
    print!("python says {}", result.stdout);

    sandbox.files().write("/home/user/hello.txt", "hello from a blocking program\n").send()?;
    print!("{}", sandbox.files().read("/home/user/hello.txt").text()?);

    // Listings are iterators that fetch pages as they go.
    let client = sandbox.client();
    let running = client.list(e2b_blocking::SandboxQuery::new()).filter_map(Result::ok).count();
    println!("{running} sandbox(es) listed");

    sandbox.kill()?;
    println!("done");
    Ok(())
}
