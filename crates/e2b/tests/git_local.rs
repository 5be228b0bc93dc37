//! The git module end to end with real git: its command lines run through a
//! `CommandRunner` that executes them with `/bin/bash -c` on this machine
//! (a stand-in for `commands.run` until the Connect client lands), so every
//! command line is proven to work with git 2.x and every parser is fed real
//! git output. Remote operations use local bare repositories and a
//! `git http-backend` server that requires HTTP basic auth.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use e2b::{CommandRequest, CommandResult, CommandRunner, ConfigScope, Error, Git, GitChange, ResetMode};
use futures::future::BoxFuture;

/// Runs command lines locally with an isolated `HOME`, recording requests.
struct LocalShell {
    home: PathBuf,
    seen: Mutex<Vec<CommandRequest>>,
}

impl CommandRunner for LocalShell {
    fn run(&self, request: CommandRequest) -> BoxFuture<'_, Result<CommandResult, Error>> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(request.clone());
            let mut command = tokio::process::Command::new("/bin/bash");
            command
                .arg("-c")
                .arg(&request.cmd)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", &self.home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .envs(&request.envs)
                .current_dir(request.cwd.as_deref().map(Path::new).unwrap_or(&self.home))
                .kill_on_drop(true);
            let output = command.output();
            let output = match request.timeout {
                Some(timeout) => tokio::time::timeout(timeout, output).await.expect("git finished in time"),
                None => output.await,
            }
            .expect("bash runs");
            let result = CommandResult {
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                exit_code: output.status.code().unwrap_or(-1),
                error: None,
            };
            if result.exit_code == 0 {
                Ok(result)
            } else {
                Err(Error::CommandExit {
                    stdout: result.stdout,
                    stderr: result.stderr,
                    exit_code: result.exit_code,
                    error: Some(format!("exit status {}", result.exit_code)),
                })
            }
        })
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    shell: Arc<LocalShell>,
    git: Git,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let shell = Arc::new(LocalShell { home, seen: Mutex::new(Vec::new()) });
        let git = Git::new(shell.clone());
        Fixture { dir, shell, git }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn write(&self, path: &str, text: &str) {
        let path = Path::new(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A repository with one commit on `main` and a local identity.
    async fn repo(&self, name: &str) -> String {
        let repo = self.path(name);
        self.git.init(&repo).initial_branch("main").await.unwrap();
        self.git
            .configure_user("Test", "test@example.com")
            .scope(ConfigScope::Local)
            .path(&repo)
            .await
            .unwrap();
        self.write(&format!("{repo}/README.md"), "hello\n");
        self.git.add(&repo).await.unwrap();
        self.git.commit(&repo, "initial").await.unwrap();
        repo
    }
}

#[tokio::test]
async fn a_repository_from_init_to_reset() {
    let f = Fixture::new();
    let repo = f.path("repo");
    f.git.init(&repo).initial_branch("main").await.unwrap();
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!(status.current_branch.as_deref(), Some("main"), "No commits yet on main");
    assert!(status.is_clean() && !status.detached);

    f.git
        .configure_user("Ann Example", "ann@example.com")
        .scope(ConfigScope::Local)
        .path(&repo)
        .await
        .unwrap();
    let name = f.git.get_config("user.name").scope(ConfigScope::Local).path(&repo).await.unwrap();
    assert_eq!(name.as_deref(), Some("Ann Example"));
    assert_eq!(f.git.get_config("user.name").await.unwrap(), None, "not set globally");
    assert_eq!(f.git.get_config("no.such").scope(ConfigScope::Local).path(&repo).await.unwrap(), None);

    f.write(&format!("{repo}/a.txt"), "a\n");
    f.write(&format!("{repo}/dir/b.txt"), "b\n");
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!((status.untracked_count(), status.staged_count()), (2, 0));
    assert!(status.file_status.iter().any(|s| s.name == "dir/"));

    f.git.add(&repo).files(["a.txt"]).await.unwrap();
    let status = f.git.status(&repo).await.unwrap();
    let a = status.file_status.iter().find(|s| s.name == "a.txt").unwrap();
    assert_eq!((a.status, a.index_status, a.staged), (GitChange::Added, 'A', true));

    f.git.add(&repo).await.unwrap();
    f.git.commit(&repo, "first 'quoted' commit").await.unwrap();
    assert!(f.git.status(&repo).await.unwrap().is_clean());
    let log = f.shell_run(&format!("git -C '{repo}' log -1 --format=%s%n%an")).await;
    assert_eq!(log, "first 'quoted' commit\nAnn Example\n");
    f.git.commit(&repo, "empty").allow_empty(true).author("Bot", "bot@example.com").await.unwrap();
    assert_eq!(f.shell_run(&format!("git -C '{repo}' log -1 --format=%an")).await, "Bot\n");
    let err = f.git.commit(&repo, "nothing to commit").await.unwrap_err();
    assert!(matches!(err, Error::CommandExit { exit_code: 1, .. }), "{err}");

    f.git.create_branch(&repo, "feature").await.unwrap();
    let branches = f.git.branches(&repo).await.unwrap();
    assert_eq!(branches.branches, ["feature", "main"]);
    assert_eq!(branches.current_branch.as_deref(), Some("feature"));
    f.git.checkout_branch(&repo, "main").await.unwrap();
    f.git.delete_branch(&repo, "feature").await.unwrap();
    assert_eq!(f.git.branches(&repo).await.unwrap().branches, ["main"]);

    f.write(&format!("{repo}/a.txt"), "changed\n");
    std::fs::remove_file(format!("{repo}/dir/b.txt")).unwrap();
    let status = f.git.status(&repo).await.unwrap();
    let kinds: HashMap<&str, GitChange> =
        status.file_status.iter().map(|s| (s.name.as_str(), s.status)).collect();
    assert_eq!(kinds["a.txt"], GitChange::Modified);
    assert_eq!(kinds["dir/b.txt"], GitChange::Deleted);
    assert_eq!(status.unstaged_count(), 2);
    f.git.restore(&repo, ["a.txt", "dir/b.txt"]).await.unwrap();
    assert!(f.git.status(&repo).await.unwrap().is_clean());

    f.write(&format!("{repo}/a.txt"), "staged\n");
    f.git.add(&repo).await.unwrap();
    f.git.restore(&repo, ["a.txt"]).staged(true).await.unwrap();
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!((status.staged_count(), status.unstaged_count()), (0, 1), "unstaged, still modified");
    f.git.restore(&repo, ["a.txt"]).source("HEAD").await.unwrap();
    assert!(f.git.status(&repo).await.unwrap().is_clean());

    run_in(&repo, "git mv a.txt renamed.txt");
    let status = f.git.status(&repo).await.unwrap();
    let renamed = &status.file_status[0];
    assert_eq!(
        (renamed.status, renamed.name.as_str(), renamed.renamed_from.as_deref()),
        (GitChange::Renamed, "renamed.txt", Some("a.txt"))
    );
    f.git.reset(&repo).mode(ResetMode::Hard).await.unwrap();
    assert!(f.git.status(&repo).await.unwrap().is_clean());
    f.git.reset(&repo).mode(ResetMode::Soft).target("HEAD~1").await.unwrap();
    assert!(f.git.status(&repo).await.unwrap().is_clean(), "the empty commit had no changes");
    f.write(&format!("{repo}/a.txt"), "second\n");
    f.write(&format!("{repo}/c.txt"), "c\n");
    f.git.add(&repo).await.unwrap();
    f.git.commit(&repo, "second").await.unwrap();
    f.git.reset(&repo).mode(ResetMode::Soft).target("HEAD~1").await.unwrap();
    assert_eq!(f.git.status(&repo).await.unwrap().staged_count(), 2);
    f.git.reset(&repo).paths(["a.txt"]).await.unwrap();
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!((status.staged_count(), status.unstaged_count()), (1, 1));
    f.git.reset(&repo).mode(ResetMode::Hard).await.unwrap();

    run_in(&repo, "git checkout --quiet --detach");
    let status = f.git.status(&repo).await.unwrap();
    assert!(status.detached && status.current_branch.is_none());
}

impl Fixture {
    async fn shell_run(&self, cmd: &str) -> String {
        self.shell.run(CommandRequest::new(cmd)).await.unwrap().stdout
    }
}

/// Runs a plain shell command in `repo`, for steps the git module has no
/// verb for (moving files, detaching HEAD, fetching).
fn run_in(repo: &str, cmd: &str) {
    let status =
        std::process::Command::new("/bin/bash").arg("-c").arg(cmd).current_dir(repo).status().unwrap();
    assert!(status.success(), "{cmd}");
}

#[tokio::test]
async fn remotes_push_pull_and_clone_between_local_repositories() {
    let f = Fixture::new();
    let origin = f.path("origin.git");
    f.git.init(&origin).bare(true).initial_branch("main").await.unwrap();
    assert!(Path::new(&origin).join("HEAD").exists() && !Path::new(&origin).join(".git").exists());
    let repo = f.repo("work").await;

    assert_eq!(f.git.remote_get(&repo, "origin").await.unwrap(), None);
    f.git.remote_add(&repo, "origin", "/nonexistent/first").await.unwrap();
    let err = f.git.remote_add(&repo, "origin", &origin).await.unwrap_err();
    assert!(
        matches!(err, Error::CommandExit { ref stderr, .. } if stderr.contains("already exists")),
        "{err}"
    );
    f.git.remote_add(&repo, "origin", &origin).overwrite(true).fetch(true).await.unwrap();
    assert_eq!(f.git.remote_get(&repo, "origin").await.unwrap().as_deref(), Some(origin.as_str()));

    let err = f.git.pull(&repo).await.unwrap_err();
    assert!(matches!(err, Error::GitUpstream { .. }), "no upstream yet: {err}");
    let err = f.git.push(&repo).await.unwrap_err();
    assert!(matches!(err, Error::GitUpstream { source: Some(_), .. }), "{err}");

    f.git.push(&repo).remote("origin").branch("main").await.unwrap();
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!(
        (status.current_branch.as_deref(), status.upstream.as_deref()),
        (Some("main"), Some("origin/main"))
    );

    let clone = f.path("clone");
    f.git.clone_repo(format!("file://{origin}")).path(&clone).branch("main").depth(1).await.unwrap();
    assert_eq!(std::fs::read_to_string(format!("{clone}/README.md")).unwrap(), "hello\n");
    f.git.configure_user("Other", "o@example.com").scope(ConfigScope::Local).path(&clone).await.unwrap();
    f.write(&format!("{clone}/new.txt"), "from the clone\n");
    f.git.add(&clone).await.unwrap();
    f.git.commit(&clone, "from clone").await.unwrap();
    f.git.push(&clone).await.unwrap();

    run_in(&repo, "git fetch --quiet");
    let status = f.git.status(&repo).await.unwrap();
    assert_eq!((status.ahead, status.behind), (0, 1));
    f.git.pull(&repo).await.unwrap();
    assert!(Path::new(&repo).join("new.txt").exists());
    f.git.pull(&repo).remote("origin").branch("main").await.unwrap();

    // Credentials need an http(s) remote; nothing is changed when refused.
    let err = f.git.push(&repo).credentials("u", "p").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert_eq!(f.git.remote_get(&repo, "origin").await.unwrap().as_deref(), Some(origin.as_str()));
    f.git.remote_add(&repo, "second", &origin).await.unwrap();
    let err = f.git.pull(&repo).credentials("u", "p").await.unwrap_err();
    assert!(err.to_string().contains("multiple remotes"), "{err}");
}

#[tokio::test]
async fn every_command_gets_the_options_and_no_terminal_prompts() {
    let f = Fixture::new();
    let repo = f.repo("r").await;
    f.git
        .status(&repo)
        .user("user")
        .cwd("/")
        .env("GIT_TRACE", "0")
        .timeout(std::time::Duration::from_secs(30))
        .request_timeout(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let seen = f.shell.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|r| r.envs.get("GIT_TERMINAL_PROMPT").map(String::as_str) == Some("0")));
    let last = seen.last().unwrap();
    assert_eq!(last.cmd, format!("'git' '-C' '{repo}' 'status' '--porcelain=1' '-b'"));
    assert_eq!(last.user.as_deref(), Some("user"));
    assert_eq!(last.cwd.as_deref(), Some("/"));
    assert_eq!(last.envs["GIT_TRACE"], "0");
    assert_eq!(last.timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(last.request_timeout, Some(std::time::Duration::from_secs(5)));
    f.git.status(&repo).env("GIT_TERMINAL_PROMPT", "1").await.unwrap();
    assert_eq!(f.shell.seen.lock().unwrap().last().unwrap().envs["GIT_TERMINAL_PROMPT"], "1");
}

#[tokio::test]
async fn global_identity_and_stored_credentials() {
    let f = Fixture::new();
    f.git.configure_user("Global Name", "g@example.com").await.unwrap();
    assert_eq!(f.git.get_config("user.email").await.unwrap().as_deref(), Some("g@example.com"));
    assert!(std::fs::read_to_string(f.shell.home.join(".gitconfig")).unwrap().contains("Global Name"));

    f.git.dangerously_authenticate("bot", "s3cr'et").host("git.example.com").await.unwrap();
    assert_eq!(f.git.get_config("credential.helper").await.unwrap().as_deref(), Some("store"));
    let stored = std::fs::read_to_string(f.shell.home.join(".git-credentials")).unwrap();
    assert_eq!(stored.trim(), "https://bot:s3cr%27et@git.example.com");

    for err in [
        f.git.dangerously_authenticate("", "p").await.unwrap_err(),
        f.git.configure_user("n", "").await.unwrap_err(),
        f.git.set_config("", "v").await.unwrap_err(),
        f.git.get_config("k").scope(ConfigScope::Local).await.unwrap_err(),
        f.git.remote_add("/r", "", "u").await.unwrap_err(),
        f.git.restore("/r", Vec::<String>::new()).await.unwrap_err(),
        f.git.restore("/r", ["a"]).staged(false).worktree(false).await.unwrap_err(),
        f.git.clone_repo("https://h/r").password("p").await.unwrap_err(),
        f.git.push("/r").credentials("", "p").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
}

/// A smart-HTTP git server (`git http-backend`) for the repositories under
/// `root`, requiring basic auth as `user:pass`. Records the Authorization
/// headers it saw.
async fn http_git_server(root: PathBuf, seen: Arc<Mutex<Vec<String>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |request: Request| {
        let (root, seen) = (root.clone(), seen.clone());
        async move {
            let (parts, body) = request.into_parts();
            let auth = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            seen.lock().unwrap().push(auth.clone().unwrap_or_default());
            // "dXNlcjpwYXNz" is base64("user:pass").
            if auth.as_deref() != Some("Basic dXNlcjpwYXNz") {
                let mut response = Response::new(Body::from("denied"));
                *response.status_mut() = http::StatusCode::UNAUTHORIZED;
                response.headers_mut().insert("www-authenticate", "Basic realm=\"git\"".parse().unwrap());
                return response;
            }
            let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
            let header =
                |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let mut child = tokio::process::Command::new("git")
                .arg("http-backend")
                .env("GIT_PROJECT_ROOT", &root)
                .env("GIT_HTTP_EXPORT_ALL", "1")
                .env("REQUEST_METHOD", parts.method.as_str())
                .env("PATH_INFO", parts.uri.path())
                .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
                .env("CONTENT_TYPE", header("content-type"))
                .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
                .env("GIT_PROTOCOL", header("git-protocol"))
                .env("REMOTE_USER", "user")
                .env("REMOTE_ADDR", "127.0.0.1")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut stdin, &body).await.unwrap();
            drop(stdin);
            let output = child.wait_with_output().await.unwrap();
            let split = output.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
            let split = split.or_else(|| output.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
            let (end, gap) = split.unwrap_or((output.stdout.len(), 0));
            let head = String::from_utf8_lossy(&output.stdout[..end]).into_owned();
            let mut response = Response::new(Body::from(output.stdout[end + gap..].to_vec()));
            for line in head.lines() {
                let Some((name, value)) = line.split_once(':') else { continue };
                if name.eq_ignore_ascii_case("status") {
                    let code: u16 = value.trim()[..3].parse().unwrap();
                    *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
                } else {
                    response.headers_mut().insert(
                        http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                        value.trim().parse().unwrap(),
                    );
                }
            }
            response
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn http_credentials_are_used_then_removed_and_failures_are_git_auth() {
    let f = Fixture::new();
    let root = f.dir.path().join("served");
    std::fs::create_dir_all(&root).unwrap();
    let served = root.join("project.git").to_string_lossy().into_owned();
    f.git.init(&served).bare(true).initial_branch("main").await.unwrap();
    let seed = f.repo("seed").await;
    f.git.remote_add(&seed, "origin", &served).await.unwrap();
    f.git.push(&seed).remote("origin").branch("main").await.unwrap();
    f.git.set_config("http.receivepack", "true").scope(ConfigScope::Local).path(&served).await.unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = http_git_server(root, seen.clone()).await;
    let url = format!("{base}/project.git");

    let err = f.git.clone_repo(&url).path(f.path("anon")).await.unwrap_err();
    assert!(
        matches!(err, Error::GitAuth { ref message, .. } if message.contains("requires credentials")),
        "{err}"
    );
    let err = f.git.clone_repo(&url).path(f.path("wrong")).credentials("user", "nope").await.unwrap_err();
    assert!(matches!(err, Error::GitAuth { .. }), "{err}");
    assert!(err.is_authentication());

    let clone = f.path("authed");
    f.git.clone_repo(&url).path(&clone).credentials("user", "pass").await.unwrap();
    assert!(Path::new(&clone).join("README.md").exists());
    assert_eq!(
        f.git.remote_get(&clone, "origin").await.unwrap().as_deref(),
        Some(url.as_str()),
        "credentials removed"
    );
    assert!(seen.lock().unwrap().iter().any(|a| a == "Basic dXNlcjpwYXNz"));

    // Without a path the directory comes from the URL, relative to the cwd.
    let home = f.shell.home.to_string_lossy().into_owned();
    f.git.clone_repo(&url).credentials("user", "pass").cwd(&home).await.unwrap();
    let derived = format!("{home}/project");
    assert_eq!(f.git.remote_get(&derived, "origin").await.unwrap().as_deref(), Some(url.as_str()));

    let kept = f.path("kept");
    f.git
        .clone_repo(&url)
        .path(&kept)
        .credentials("user", "pass")
        .dangerously_store_credentials(true)
        .await
        .unwrap();
    let stored = f.git.remote_get(&kept, "origin").await.unwrap().unwrap();
    assert!(stored.contains("user:pass@"), "{stored}");

    f.git.configure_user("C", "c@example.com").scope(ConfigScope::Local).path(&clone).await.unwrap();
    f.write(&format!("{clone}/pushed.txt"), "over http\n");
    f.git.add(&clone).await.unwrap();
    f.git.commit(&clone, "push over http").await.unwrap();
    let err = f.git.push(&clone).await.unwrap_err();
    assert!(matches!(err, Error::GitAuth { .. }), "{err}");
    f.git.push(&clone).credentials("user", "pass").await.unwrap();
    assert_eq!(
        f.git.remote_get(&clone, "origin").await.unwrap().as_deref(),
        Some(url.as_str()),
        "URL restored"
    );
    let err = f.git.push(&clone).remote("origin").credentials("user", "bad").await.unwrap_err();
    assert!(matches!(err, Error::CommandExit { .. }), "errors with credentials are not translated: {err}");
    assert_eq!(
        f.git.remote_get(&clone, "origin").await.unwrap().as_deref(),
        Some(url.as_str()),
        "restored after failure"
    );
    f.git.pull(&clone).credentials("user", "pass").await.unwrap();
    let log = f.shell_run(&format!("git -C '{served}' log -1 --format=%s main")).await;
    assert_eq!(log, "push over http\n");
}
