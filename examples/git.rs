//! Git in a sandbox: a repository made, committed to, branched and inspected, with typed
//! results (clone and push work the same against a remote, with credentials that are not
//! left behind).
//!
//! ```text
//! cargo run -p e2b-examples --example git
//! ```

#[tokio::main]
async fn main() -> Result<(), e2b::Error> {
    let sandbox = e2b::Sandbox::builder().create().await?;
    let git = sandbox.git();
    let repo = "/home/user/project";

    git.init(repo).initial_branch("main").await?;
    git.configure_user("Ada Lovelace", "ada@example.com").await?;
    sandbox.files().write(format!("{repo}/README.md"), "# project\n").await?;

    let status = git.status(repo).await?;
    for file in &status.file_status {
        println!("before commit: {file:?}");
    }
    git.add(repo).all(true).await?;
    git.commit(repo, "first commit").await?;
    // create_branch also checks the new branch out, as `git checkout -b` does.
    git.create_branch(repo, "feature").await?;
    git.checkout_branch(repo, "main").await?;

    let branches = git.branches(repo).await?;
    println!("branches {:?}, current {:?}", branches.branches, branches.current_branch);
    let log = sandbox.commands().run("git log --oneline").cwd(repo).await?;
    print!("log: {}", log.stdout);

    sandbox.kill().await?;
    println!("done");
    Ok(())
}
