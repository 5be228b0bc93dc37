//! Git in a sandbox: every request, against local repositories (a bare one
//! stands in for the remote), and git over the blocking `CommandRunner`.

use std::sync::Arc;
use std::time::Duration;

use e2b_blocking::{ConfigScope, Error, Git, ResetMode};

use crate::{client, sandbox};

const REPO: &str = "/home/user/repo";
const ORIGIN: &str = "/home/user/origin.git";
const CLONE: &str = "/home/user/clone";

#[test]
fn git_requests() {
    const TEST: &str = "git_requests";
    let Some(client) = client(TEST) else { return };
    let sandbox = sandbox(&client, TEST);
    let git = sandbox.git();
    let files = sandbox.files();

    // A repository, its identity and config, with the options every request takes.
    git.init(REPO)
        .initial_branch("main")
        .bare(false)
        .env("GIT_TRACE", "0")
        .user("user")
        .cwd("/home/user")
        .timeout(Duration::from_secs(120))
        .request_timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    git.configure_user("Blocking Bot", "bot@example.com")
        .scope(ConfigScope::Local)
        .path(REPO)
        .send()
        .unwrap();
    git.configure_user("Global Bot", "global@example.com").send().unwrap();
    git.set_config("core.autocrlf", "false").scope(ConfigScope::Local).path(REPO).send().unwrap();
    let local = |key: &str| git.get_config(key).scope(ConfigScope::Local).path(REPO).send().unwrap();
    assert_eq!(local("core.autocrlf").as_deref(), Some("false"));
    assert_eq!(local("user.name").as_deref(), Some("Blocking Bot"));
    assert_eq!(git.get_config("user.email").send().unwrap().as_deref(), Some("global@example.com"));
    assert_eq!(git.get_config("no.such-key").send().unwrap(), None);

    // Commits.
    files.write(format!("{REPO}/README.md"), "hi\n").send().unwrap();
    assert!(!git.status(REPO).send().unwrap().is_clean());
    git.add(REPO).send().unwrap();
    assert_eq!(git.status(REPO).send().unwrap().staged_count(), 1);
    git.commit(REPO, "Initial").author("Author", "author@example.com").send().unwrap();
    git.commit(REPO, "Empty")
        .allow_empty(true)
        .author_name("B")
        .author_email("b@example.com")
        .send()
        .unwrap();
    let status = git.status(REPO).send().unwrap();
    assert!(status.is_clean());
    assert_eq!(status.current_branch.as_deref(), Some("main"));

    // Branches.
    git.create_branch(REPO, "feature").send().unwrap();
    let branches = git.branches(REPO).send().unwrap();
    assert_eq!(branches.current_branch.as_deref(), Some("feature"));
    assert!(branches.branches.iter().any(|b| b == "main"), "{branches:?}");
    git.checkout_branch(REPO, "main").send().unwrap();
    git.delete_branch(REPO, "feature").force(true).send().unwrap();
    assert_eq!(git.branches(REPO).send().unwrap().branches, ["main"]);

    // Undoing changes: restore (work tree, index), reset.
    let readme = format!("{REPO}/README.md");
    files.write(&readme, "changed\n").send().unwrap();
    git.restore(REPO, ["README.md"]).worktree(true).source("HEAD").send().unwrap();
    assert_eq!(files.read(&readme).text().unwrap(), "hi\n");
    files.write(&readme, "staged\n").send().unwrap();
    git.add(REPO).files(["README.md"]).send().unwrap();
    git.restore(REPO, ["README.md"]).staged(true).send().unwrap();
    assert_eq!(git.status(REPO).send().unwrap().staged_count(), 0);
    git.add(REPO).all(false).send().unwrap();
    git.reset(REPO).paths(["README.md"]).send().unwrap();
    assert_eq!(git.status(REPO).send().unwrap().staged_count(), 0);
    git.reset(REPO).mode(ResetMode::Hard).target("HEAD").send().unwrap();
    assert!(git.status(REPO).send().unwrap().is_clean());
    assert_eq!(files.read(&readme).text().unwrap(), "hi\n");

    // Remotes, push, clone, pull.
    git.init(ORIGIN).bare(true).initial_branch("main").send().unwrap();
    git.remote_add(REPO, "origin", "/nowhere").send().unwrap();
    git.remote_add(REPO, "origin", ORIGIN).overwrite(true).fetch(true).send().unwrap();
    assert_eq!(git.remote_get(REPO, "origin").send().unwrap().as_deref(), Some(ORIGIN));
    assert_eq!(git.remote_get(REPO, "nope").send().unwrap(), None);
    git.push(REPO).remote("origin").branch("main").set_upstream(true).send().unwrap();
    git.clone_repo(format!("file://{ORIGIN}")).path(CLONE).branch("main").depth(1).send().unwrap();
    files.write(&readme, "second\n").send().unwrap();
    git.add(REPO).send().unwrap();
    git.commit(REPO, "Second").send().unwrap();
    git.push(REPO).send().unwrap();
    git.pull(CLONE).remote("origin").branch("main").send().unwrap();
    assert_eq!(files.read(format!("{CLONE}/README.md")).text().unwrap(), "second\n");
    git.pull(CLONE).send().unwrap();

    // Credentials: only for http(s) remotes, checked before they are used.
    let invalid = |result: Result<e2b_blocking::CommandResult, Error>| {
        assert!(matches!(result, Err(Error::InvalidArgument { .. })), "{result:?}");
    };
    invalid(git.clone_repo(format!("file://{ORIGIN}")).path("/tmp/c1").credentials("u", "p").send());
    invalid(git.clone_repo("https://example.com/r.git").password("token-only").send());
    invalid(
        git.clone_repo(format!("file://{ORIGIN}"))
            .path("/tmp/c2")
            .username("u")
            .password("p")
            .dangerously_store_credentials(true)
            .send(),
    );
    invalid(git.push(REPO).remote("origin").credentials("u", "p").send());
    invalid(git.pull(CLONE).remote("origin").credentials("u", "p").send());
    git.dangerously_authenticate("someone", "s3cret")
        .host("git.example.com")
        .protocol("https")
        .send()
        .unwrap();
    let stored = files.read("/home/user/.git-credentials").text().unwrap();
    assert!(stored.contains("https://someone:s3cret@git.example.com"), "{stored}");

    // Git over any blocking runner, here the sandbox's commands.
    let over_runner = Git::new(Arc::new(sandbox.commands()));
    assert!(over_runner.status(REPO).send().unwrap().is_clean());
    let failed = over_runner.status("/home/user/not-a-repo").send();
    assert!(failed.is_err(), "{failed:?}");
}
