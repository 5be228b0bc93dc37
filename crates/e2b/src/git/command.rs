//! Git command lines exactly as E2B's SDKs build them: every word
//! single-quoted, joined with spaces.

use std::fmt;
use std::str::FromStr;

use super::credentials::{derive_repo_dir, strip_credentials, with_credentials};
use crate::error::{Error, Phase, Result, Stage};

/// Quotes one shell word: `'…'`, with each `'` written as `'"'"'`.
pub(crate) fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r#"'"'"'"#))
}

/// `git [-C <repo>] <args…>`, every word quoted.
pub(crate) fn git_command(args: &[String], repo: Option<&str>) -> String {
    let mut words: Vec<&str> = vec!["git"];
    if let Some(repo) = repo.filter(|r| !r.is_empty()) {
        words.extend(["-C", repo]);
    }
    words.extend(args.iter().map(String::as_str));
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn strings<const N: usize>(words: [&str; N]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

pub(crate) fn invalid(operation: &'static str, message: impl Into<String>) -> Error {
    Error::invalid_argument(Stage::new(operation, Phase::Validate), message)
}

/// Modes of `git reset`.
///
/// # Example
///
/// ```
/// use e2b::ResetMode;
///
/// assert_eq!("hard".parse::<ResetMode>()?, ResetMode::Hard);
/// assert!("sideways".parse::<ResetMode>().is_err());
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetMode {
    /// `--soft`
    Soft,
    /// `--mixed`
    Mixed,
    /// `--hard`
    Hard,
    /// `--merge`
    Merge,
    /// `--keep`
    Keep,
}

impl ResetMode {
    /// The mode's name.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::ResetMode::Keep.as_str(), "keep");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ResetMode::Soft => "soft",
            ResetMode::Mixed => "mixed",
            ResetMode::Hard => "hard",
            ResetMode::Merge => "merge",
            ResetMode::Keep => "keep",
        }
    }
}

impl fmt::Display for ResetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResetMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "soft" => Ok(ResetMode::Soft),
            "mixed" => Ok(ResetMode::Mixed),
            "hard" => Ok(ResetMode::Hard),
            "merge" => Ok(ResetMode::Merge),
            "keep" => Ok(ResetMode::Keep),
            _ => Err(invalid("git reset", "Reset mode must be one of soft, mixed, hard, merge, keep.")),
        }
    }
}

/// Where `git config` reads and writes.
///
/// # Example
///
/// ```
/// use e2b::ConfigScope;
///
/// assert_eq!(" Local ".parse::<ConfigScope>()?, ConfigScope::Local);
/// # Ok::<(), e2b::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConfigScope {
    /// The user's `~/.gitconfig` (the default).
    #[default]
    Global,
    /// One repository's config; needs the repository path.
    Local,
    /// `/etc/gitconfig`.
    System,
}

impl ConfigScope {
    /// The `git config` flag.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::ConfigScope::System.flag(), "--system");
    /// ```
    pub const fn flag(self) -> &'static str {
        match self {
            ConfigScope::Global => "--global",
            ConfigScope::Local => "--local",
            ConfigScope::System => "--system",
        }
    }
}

impl FromStr for ConfigScope {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "global" => Ok(ConfigScope::Global),
            "local" => Ok(ConfigScope::Local),
            "system" => Ok(ConfigScope::System),
            _ => Err(invalid("git config", "Git config scope must be one of: global, local, system.")),
        }
    }
}

/// The flag and the `-C` repository for a config scope.
pub(crate) fn config_scope<'a>(
    operation: &'static str,
    scope: ConfigScope,
    path: Option<&'a str>,
) -> Result<(&'static str, Option<&'a str>)> {
    match scope {
        ConfigScope::Local => match path.filter(|p| !p.is_empty()) {
            Some(path) => Ok((scope.flag(), Some(path))),
            None => Err(invalid(operation, "Repository path is required when scope is local.")),
        },
        _ => Ok((scope.flag(), None)),
    }
}

/// What `clone` runs, and how to clean up afterwards.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ClonePlan {
    pub(crate) args: Vec<String>,
    /// The repository to reset `origin` in, when credentials must be removed.
    pub(crate) strip: Option<(String, String)>,
}

pub(crate) struct CloneSpec<'a> {
    pub(crate) url: &'a str,
    pub(crate) path: Option<&'a str>,
    pub(crate) branch: Option<&'a str>,
    pub(crate) depth: Option<u32>,
    pub(crate) username: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    pub(crate) store_credentials: bool,
}

pub(crate) fn clone_plan(spec: &CloneSpec<'_>) -> Result<ClonePlan> {
    const OP: &str = "git clone";
    let clone_url = match (spec.username, spec.password) {
        (Some(user), Some(pass)) if !user.is_empty() && !pass.is_empty() => {
            with_credentials(OP, spec.url, user, pass)?
        }
        _ => spec.url.to_owned(),
    };
    let sanitized = strip_credentials(&clone_url);
    let should_strip = !spec.store_credentials && sanitized != clone_url;
    let strip = if should_strip {
        let repo =
            spec.path.filter(|p| !p.is_empty()).map(str::to_owned).or_else(|| derive_repo_dir(spec.url));
        match repo {
            Some(repo) => Some((repo, sanitized)),
            None => {
                return Err(invalid(
                    OP,
                    "A destination path is required when using credentials without storing them.",
                ));
            }
        }
    } else {
        None
    };
    let mut args = vec!["clone".to_owned(), clone_url];
    if let Some(branch) = spec.branch.filter(|b| !b.is_empty()) {
        args.extend(strings(["--branch", branch, "--single-branch"]));
    }
    if let Some(depth) = spec.depth.filter(|d| *d > 0) {
        args.extend(["--depth".to_owned(), depth.to_string()]);
    }
    if let Some(path) = spec.path.filter(|p| !p.is_empty()) {
        args.push(path.to_owned());
    }
    Ok(ClonePlan { args, strip })
}

pub(crate) fn init_args(path: &str, bare: bool, initial_branch: Option<&str>) -> Vec<String> {
    let mut args = strings(["init"]);
    if let Some(branch) = initial_branch.filter(|b| !b.is_empty()) {
        args.extend(strings(["--initial-branch", branch]));
    }
    if bare {
        args.push("--bare".to_owned());
    }
    args.push(path.to_owned());
    args
}

pub(crate) fn remote_add_args(name: &str, url: &str, fetch: bool) -> Result<Vec<String>> {
    if name.is_empty() || url.is_empty() {
        return Err(invalid("git remote add", "Both remote name and URL are required to add a git remote."));
    }
    let mut args = strings(["remote", "add"]);
    if fetch {
        args.push("-f".to_owned());
    }
    args.extend(strings([name, url]));
    Ok(args)
}

/// `add || set-url`, and with `fetch`, `(add || set-url) && fetch`.
pub(crate) fn remote_add_overwrite_command(repo: &str, name: &str, url: &str, fetch: bool) -> Result<String> {
    let add = git_command(&remote_add_args(name, url, fetch)?, Some(repo));
    let set_url = git_command(&strings(["remote", "set-url", name, url]), Some(repo));
    let command = format!("{add} || {set_url}");
    Ok(if fetch {
        format!("({command}) && {}", git_command(&strings(["fetch", name]), Some(repo)))
    } else {
        command
    })
}

pub(crate) fn remote_get_command(repo: &str, name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(invalid("git remote get-url", "Remote name is required."));
    }
    Ok(format!("{} || true", git_command(&strings(["remote", "get-url", name]), Some(repo))))
}

pub(crate) fn remote_set_url_args(name: &str, url: &str) -> Vec<String> {
    strings(["remote", "set-url", name, url])
}

pub(crate) fn remote_get_url_args(name: &str) -> Vec<String> {
    strings(["remote", "get-url", name])
}

pub(crate) fn has_upstream_args() -> Vec<String> {
    strings(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"])
}

pub(crate) fn status_args() -> Vec<String> {
    strings(["status", "--porcelain=1", "-b"])
}

pub(crate) fn branches_args() -> Vec<String> {
    strings(["branch", "--format=%(refname:short)\t%(HEAD)"])
}

pub(crate) fn create_branch_args(branch: &str) -> Vec<String> {
    strings(["checkout", "-b", branch])
}

pub(crate) fn checkout_branch_args(branch: &str) -> Vec<String> {
    strings(["checkout", branch])
}

pub(crate) fn delete_branch_args(branch: &str, force: bool) -> Vec<String> {
    strings(["branch", if force { "-D" } else { "-d" }, branch])
}

pub(crate) fn add_args(files: &[String], all: bool) -> Vec<String> {
    let mut args = strings(["add"]);
    if files.is_empty() {
        args.push(if all { "-A" } else { "." }.to_owned());
    } else {
        args.push("--".to_owned());
        args.extend(files.iter().cloned());
    }
    args
}

pub(crate) fn commit_args(
    message: &str,
    author_name: Option<&str>,
    author_email: Option<&str>,
    allow_empty: bool,
) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(name) = author_name.filter(|n| !n.is_empty()) {
        args.extend(["-c".to_owned(), format!("user.name={name}")]);
    }
    if let Some(email) = author_email.filter(|e| !e.is_empty()) {
        args.extend(["-c".to_owned(), format!("user.email={email}")]);
    }
    args.extend(strings(["commit", "-m", message]));
    if allow_empty {
        args.push("--allow-empty".to_owned());
    }
    args
}

pub(crate) fn reset_args(mode: Option<ResetMode>, target: Option<&str>, paths: &[String]) -> Vec<String> {
    let mut args = strings(["reset"]);
    if let Some(mode) = mode {
        args.push(format!("--{mode}"));
    }
    if let Some(target) = target.filter(|t| !t.is_empty()) {
        args.push(target.to_owned());
    }
    if !paths.is_empty() {
        args.push("--".to_owned());
        args.extend(paths.iter().cloned());
    }
    args
}

pub(crate) fn restore_args(
    paths: &[String],
    staged: Option<bool>,
    worktree: Option<bool>,
    source: Option<&str>,
) -> Result<Vec<String>> {
    const OP: &str = "git restore";
    if paths.is_empty() {
        return Err(invalid(OP, "At least one path is required."));
    }
    let (staged, worktree) = match (staged, worktree) {
        (None, None) => (false, true),
        (Some(true), None) => (true, false),
        (None, Some(worktree)) => (false, worktree),
        (Some(staged), None) => (staged, false),
        (Some(staged), Some(worktree)) => (staged, worktree),
    };
    if !staged && !worktree {
        return Err(invalid(OP, "At least one of staged or worktree must be true."));
    }
    let mut args = strings(["restore"]);
    if worktree {
        args.push("--worktree".to_owned());
    }
    if staged {
        args.push("--staged".to_owned());
    }
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        args.extend(strings(["--source", source]));
    }
    args.push("--".to_owned());
    args.extend(paths.iter().cloned());
    Ok(args)
}

/// `push [--set-upstream] [remote] [branch]`; `--set-upstream` only with a
/// remote.
pub(crate) fn push_args(remote: Option<&str>, branch: Option<&str>, set_upstream: bool) -> Vec<String> {
    let mut args = strings(["push"]);
    let remote = remote.filter(|r| !r.is_empty());
    if set_upstream && remote.is_some() {
        args.push("--set-upstream".to_owned());
    }
    args.extend(remote.map(str::to_owned));
    args.extend(branch.filter(|b| !b.is_empty()).map(str::to_owned));
    args
}

pub(crate) fn pull_args(remote: Option<&str>, branch: Option<&str>) -> Vec<String> {
    let mut args = strings(["pull"]);
    args.extend(remote.filter(|r| !r.is_empty()).map(str::to_owned));
    args.extend(branch.filter(|b| !b.is_empty()).map(str::to_owned));
    args
}

pub(crate) fn config_set_args(flag: &str, key: &str, value: &str) -> Vec<String> {
    strings(["config", flag, key, value])
}

pub(crate) fn config_get_command(flag: &str, key: &str, repo: Option<&str>) -> String {
    format!("{} || true", git_command(&strings(["config", flag, "--get", key]), repo))
}

/// `printf %s '<credential input>' | 'git' 'credential' 'approve'`.
pub(crate) fn credential_approve_command(
    username: &str,
    password: &str,
    host: &str,
    protocol: &str,
) -> String {
    let host = if host.trim().is_empty() { "github.com" } else { host.trim() };
    let protocol = if protocol.trim().is_empty() { "https" } else { protocol.trim() };
    let input = format!("protocol={protocol}\nhost={host}\nusername={username}\npassword={password}\n\n");
    format!("printf %s {} | {}", quote(&input), git_command(&strings(["credential", "approve"]), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: Vec<String>, repo: Option<&str>) -> String {
        git_command(&args, repo)
    }

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(quote("$HOME `x` \"q\" \\"), r#"'$HOME `x` "q" \'"#);
        assert_eq!(quote("a\nb"), "'a\nb'");
    }

    #[test]
    fn status_and_branches() {
        assert_eq!(
            cmd(status_args(), Some("/home/user/repo")),
            "'git' '-C' '/home/user/repo' 'status' '--porcelain=1' '-b'"
        );
        assert_eq!(
            cmd(branches_args(), Some("r")),
            "'git' '-C' 'r' 'branch' '--format=%(refname:short)\t%(HEAD)'"
        );
        assert_eq!(cmd(create_branch_args("feat"), Some("r")), "'git' '-C' 'r' 'checkout' '-b' 'feat'");
        assert_eq!(cmd(checkout_branch_args("main"), Some("r")), "'git' '-C' 'r' 'checkout' 'main'");
        assert_eq!(cmd(delete_branch_args("old", false), Some("r")), "'git' '-C' 'r' 'branch' '-d' 'old'");
        assert_eq!(cmd(delete_branch_args("old", true), Some("r")), "'git' '-C' 'r' 'branch' '-D' 'old'");
        assert_eq!(
            cmd(has_upstream_args(), Some("r")),
            "'git' '-C' 'r' 'rev-parse' '--abbrev-ref' '--symbolic-full-name' '@{u}'"
        );
    }

    #[test]
    fn clone_lines() {
        let spec = |url, path, branch, depth, username, password, store| CloneSpec {
            url,
            path,
            branch,
            depth,
            username,
            password,
            store_credentials: store,
        };
        let plan =
            clone_plan(&spec("https://github.com/o/r.git", None, None, None, None, None, false)).unwrap();
        assert_eq!(cmd(plan.args, None), "'git' 'clone' 'https://github.com/o/r.git'");
        assert_eq!(plan.strip, None);

        let plan = clone_plan(&spec("https://h/o/r", Some("/w/r"), Some("dev"), Some(1), None, None, false))
            .unwrap();
        assert_eq!(
            cmd(plan.args, None),
            "'git' 'clone' 'https://h/o/r' '--branch' 'dev' '--single-branch' '--depth' '1' '/w/r'"
        );

        let plan =
            clone_plan(&spec("https://GitHub.com/o/r.git", None, None, None, Some("u"), Some("p@ss"), false))
                .unwrap();
        assert_eq!(cmd(plan.args, None), "'git' 'clone' 'https://u:p@ss@GitHub.com/o/r.git'");
        assert_eq!(plan.strip, Some(("r".to_string(), "https://github.com/o/r.git".to_string())));

        let plan =
            clone_plan(&spec("https://h:8443/o/r/", Some("dst"), None, None, Some("u"), Some("p"), false))
                .unwrap();
        assert_eq!(plan.strip, Some(("dst".to_string(), "https://h:8443/o/r/".to_string())));

        let plan = clone_plan(&spec("https://h/o/r", None, None, None, Some("u"), Some("p"), true)).unwrap();
        assert_eq!(plan.strip, None);
        assert_eq!(plan.args[1], "https://u:p@h/o/r");

        // A username alone is ignored.
        let plan = clone_plan(&spec("https://h/o/r", None, None, None, Some("u"), None, false)).unwrap();
        assert_eq!(plan.args[1], "https://h/o/r");

        // Credentials need http(s), and stripping needs a directory.
        assert!(clone_plan(&spec("git@h:o/r.git", None, None, None, Some("u"), Some("p"), false)).is_err());
        let err = clone_plan(&spec("https://h/", None, None, None, Some("u"), Some("p"), false)).unwrap_err();
        assert!(err.to_string().contains("A destination path is required"), "{err}");
        // Credentials already in the URL are stripped too.
        let plan = clone_plan(&spec("https://x:y@h/o/r.git", None, None, None, None, None, false)).unwrap();
        assert_eq!(plan.strip, Some(("r".to_string(), "https://h/o/r.git".to_string())));
    }

    #[test]
    fn init_lines() {
        assert_eq!(cmd(init_args("/w/r", false, None), None), "'git' 'init' '/w/r'");
        assert_eq!(
            cmd(init_args("/w/r", true, Some("main")), None),
            "'git' 'init' '--initial-branch' 'main' '--bare' '/w/r'"
        );
    }

    #[test]
    fn remote_lines() {
        assert_eq!(
            cmd(remote_add_args("origin", "https://h/r", false).unwrap(), Some("r")),
            "'git' '-C' 'r' 'remote' 'add' 'origin' 'https://h/r'"
        );
        assert_eq!(
            cmd(remote_add_args("up", "u", true).unwrap(), Some("r")),
            "'git' '-C' 'r' 'remote' 'add' '-f' 'up' 'u'"
        );
        assert!(remote_add_args("", "u", false).is_err());
        assert!(remote_add_args("o", "", false).is_err());
        assert_eq!(
            remote_add_overwrite_command("r", "o", "u", false).unwrap(),
            "'git' '-C' 'r' 'remote' 'add' 'o' 'u' || 'git' '-C' 'r' 'remote' 'set-url' 'o' 'u'"
        );
        assert_eq!(
            remote_add_overwrite_command("r", "o", "u", true).unwrap(),
            "('git' '-C' 'r' 'remote' 'add' '-f' 'o' 'u' || 'git' '-C' 'r' 'remote' 'set-url' 'o' 'u') \
             && 'git' '-C' 'r' 'fetch' 'o'"
        );
        assert_eq!(remote_get_command("r", "o").unwrap(), "'git' '-C' 'r' 'remote' 'get-url' 'o' || true");
        assert!(remote_get_command("r", "").is_err());
        assert_eq!(cmd(remote_get_url_args("o"), Some("r")), "'git' '-C' 'r' 'remote' 'get-url' 'o'");
        assert_eq!(
            cmd(remote_set_url_args("o", "u"), Some("r")),
            "'git' '-C' 'r' 'remote' 'set-url' 'o' 'u'"
        );
    }

    #[test]
    fn add_commit_reset_restore_lines() {
        assert_eq!(cmd(add_args(&[], true), Some("r")), "'git' '-C' 'r' 'add' '-A'");
        assert_eq!(cmd(add_args(&[], false), Some("r")), "'git' '-C' 'r' 'add' '.'");
        assert_eq!(
            cmd(add_args(&v(&["a b", "-x"]), true), Some("r")),
            "'git' '-C' 'r' 'add' '--' 'a b' '-x'"
        );

        assert_eq!(
            cmd(commit_args("msg", None, None, false), Some("r")),
            "'git' '-C' 'r' 'commit' '-m' 'msg'"
        );
        assert_eq!(
            cmd(commit_args("it's done", Some("Ann"), Some("a@x.io"), true), Some("r")),
            r#"'git' '-C' 'r' '-c' 'user.name=Ann' '-c' 'user.email=a@x.io' 'commit' '-m' 'it'"'"'s done' '--allow-empty'"#
        );
        assert_eq!(
            cmd(commit_args("m", None, Some("e@x"), false), Some("r")),
            "'git' '-C' 'r' '-c' 'user.email=e@x' 'commit' '-m' 'm'"
        );

        assert_eq!(cmd(reset_args(None, None, &[]), Some("r")), "'git' '-C' 'r' 'reset'");
        assert_eq!(
            cmd(reset_args(Some(ResetMode::Hard), Some("HEAD~1"), &v(&["a", "b"])), Some("r")),
            "'git' '-C' 'r' 'reset' '--hard' 'HEAD~1' '--' 'a' 'b'"
        );
        for (text, mode) in [
            ("soft", ResetMode::Soft),
            ("mixed", ResetMode::Mixed),
            ("hard", ResetMode::Hard),
            ("merge", ResetMode::Merge),
            ("keep", ResetMode::Keep),
        ] {
            assert_eq!(text.parse::<ResetMode>().unwrap(), mode);
            assert_eq!(reset_args(Some(mode), None, &[])[1], format!("--{text}"));
        }
        assert!(matches!("HARD".parse::<ResetMode>(), Err(Error::InvalidArgument { .. })));

        let paths = v(&["f.txt"]);
        let restore = |staged, worktree, source| {
            cmd(restore_args(&paths, staged, worktree, source).unwrap(), Some("r"))
        };
        assert_eq!(restore(None, None, None), "'git' '-C' 'r' 'restore' '--worktree' '--' 'f.txt'");
        assert_eq!(restore(Some(true), None, None), "'git' '-C' 'r' 'restore' '--staged' '--' 'f.txt'");
        assert_eq!(restore(None, Some(true), None), "'git' '-C' 'r' 'restore' '--worktree' '--' 'f.txt'");
        assert_eq!(
            restore(Some(true), Some(true), Some("HEAD~2")),
            "'git' '-C' 'r' 'restore' '--worktree' '--staged' '--source' 'HEAD~2' '--' 'f.txt'"
        );
        assert_eq!(
            restore(Some(false), Some(true), None),
            "'git' '-C' 'r' 'restore' '--worktree' '--' 'f.txt'"
        );
        assert!(restore_args(&paths, Some(false), Some(false), None).is_err());
        assert!(restore_args(&paths, Some(false), None, None).is_err());
        assert!(restore_args(&paths, None, Some(false), None).is_err());
        assert!(restore_args(&[], None, None, None).is_err());
    }

    #[test]
    fn push_pull_lines() {
        assert_eq!(cmd(push_args(None, None, true), Some("r")), "'git' '-C' 'r' 'push'");
        assert_eq!(cmd(push_args(None, Some("main"), true), Some("r")), "'git' '-C' 'r' 'push' 'main'");
        assert_eq!(
            cmd(push_args(Some("origin"), Some("main"), true), Some("r")),
            "'git' '-C' 'r' 'push' '--set-upstream' 'origin' 'main'"
        );
        assert_eq!(cmd(push_args(Some("origin"), None, false), Some("r")), "'git' '-C' 'r' 'push' 'origin'");
        assert_eq!(cmd(pull_args(None, None), Some("r")), "'git' '-C' 'r' 'pull'");
        assert_eq!(cmd(pull_args(Some("o"), Some("b")), Some("r")), "'git' '-C' 'r' 'pull' 'o' 'b'");
    }

    #[test]
    fn config_lines() {
        assert_eq!(config_scope("op", ConfigScope::Global, Some("/r")).unwrap(), ("--global", None));
        assert_eq!(config_scope("op", ConfigScope::System, None).unwrap(), ("--system", None));
        assert_eq!(config_scope("op", ConfigScope::Local, Some("/r")).unwrap(), ("--local", Some("/r")));
        assert!(config_scope("op", ConfigScope::Local, None).is_err());
        assert!(config_scope("op", ConfigScope::Local, Some("")).is_err());
        for (text, scope) in [
            ("global", ConfigScope::Global),
            (" SYSTEM", ConfigScope::System),
            ("Local\n", ConfigScope::Local),
        ] {
            assert_eq!(text.parse::<ConfigScope>().unwrap(), scope);
        }
        assert!("user".parse::<ConfigScope>().is_err());
        assert_eq!(
            cmd(config_set_args("--global", "user.name", "A B"), None),
            "'git' 'config' '--global' 'user.name' 'A B'"
        );
        assert_eq!(
            config_get_command("--local", "core.bare", Some("/r")),
            "'git' '-C' '/r' 'config' '--local' '--get' 'core.bare' || true"
        );
    }

    #[test]
    fn credential_approval_line() {
        assert_eq!(
            credential_approve_command("me", "t'k", "", " "),
            "printf %s 'protocol=https\nhost=github.com\nusername=me\npassword=t'\"'\"'k\n\n' | 'git' 'credential' 'approve'"
        );
        assert!(
            credential_approve_command("u", "p", "gitlab.com", "http")
                .contains("protocol=http\nhost=gitlab.com\n")
        );
    }
}
