//! Parsing `git status --porcelain=1 -b` and `git branch --format=…`.

/// What happened to a file, derived from its two porcelain status letters.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::GitChange::Modified.as_str(), "modified");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GitChange {
    /// Unmerged (a conflict).
    Conflict,
    /// Renamed.
    Renamed,
    /// Copied.
    Copied,
    /// Deleted.
    Deleted,
    /// Added.
    Added,
    /// Modified.
    Modified,
    /// Type changed (e.g. file to symlink).
    TypeChange,
    /// Not tracked.
    Untracked,
    /// Anything else.
    Unknown,
}

impl GitChange {
    /// The official SDKs' name for it.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitChange::TypeChange.as_str(), "typechange");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            GitChange::Conflict => "conflict",
            GitChange::Renamed => "renamed",
            GitChange::Copied => "copied",
            GitChange::Deleted => "deleted",
            GitChange::Added => "added",
            GitChange::Modified => "modified",
            GitChange::TypeChange => "typechange",
            GitChange::Untracked => "untracked",
            GitChange::Unknown => "unknown",
        }
    }

    fn from_letters(index: char, worktree: char) -> Self {
        let has = |c: char| index == c || worktree == c;
        [
            ('U', GitChange::Conflict),
            ('R', GitChange::Renamed),
            ('C', GitChange::Copied),
            ('D', GitChange::Deleted),
            ('A', GitChange::Added),
            ('M', GitChange::Modified),
            ('T', GitChange::TypeChange),
            ('?', GitChange::Untracked),
        ]
        .into_iter()
        .find(|(letter, _)| has(*letter))
        .map_or(GitChange::Unknown, |(_, change)| change)
    }
}

/// One changed file in a [`GitStatus`].
///
/// # Example
///
/// ```no_run
/// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
/// for file in git.status("/home/user/repo").await?.file_status {
///     println!("{} {} (staged: {})", file.status.as_str(), file.name, file.staged);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitFileStatus {
    /// The path (the new one for renames), as git prints it.
    pub name: String,
    /// What happened to it.
    pub status: GitChange,
    /// The index (staged) status letter.
    pub index_status: char,
    /// The work-tree status letter.
    pub working_tree_status: char,
    /// Whether the change is staged.
    pub staged: bool,
    /// The old path of a rename or copy.
    pub renamed_from: Option<String>,
}

/// A repository's state: branch, upstream, divergence and changed files.
///
/// # Example
///
/// ```no_run
/// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
/// let status = git.status("/home/user/repo").await?;
/// if !status.is_clean() {
///     println!("{} changes on {:?}, {} ahead", status.total_count(), status.current_branch, status.ahead);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitStatus {
    /// The checked-out branch; `None` when detached.
    pub current_branch: Option<String>,
    /// Its upstream, e.g. `origin/main`.
    pub upstream: Option<String>,
    /// Commits ahead of the upstream.
    pub ahead: u32,
    /// Commits behind the upstream.
    pub behind: u32,
    /// Whether HEAD is detached.
    pub detached: bool,
    /// The changed files.
    pub file_status: Vec<GitFileStatus>,
}

impl GitStatus {
    /// No changes at all.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(e2b::GitStatus::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.file_status.is_empty()
    }

    /// Any change at all.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(!e2b::GitStatus::default().has_changes());
    /// ```
    pub fn has_changes(&self) -> bool {
        !self.is_clean()
    }

    /// Any staged change.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(!e2b::GitStatus::default().has_staged());
    /// ```
    pub fn has_staged(&self) -> bool {
        self.file_status.iter().any(|f| f.staged)
    }

    /// Any untracked file.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(!e2b::GitStatus::default().has_untracked());
    /// ```
    pub fn has_untracked(&self) -> bool {
        self.untracked_count() > 0
    }

    /// Any conflict.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(!e2b::GitStatus::default().has_conflicts());
    /// ```
    pub fn has_conflicts(&self) -> bool {
        self.conflict_count() > 0
    }

    /// The number of changed files.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitStatus::default().total_count(), 0);
    /// ```
    pub fn total_count(&self) -> usize {
        self.file_status.len()
    }

    /// The number of staged changes.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitStatus::default().staged_count(), 0);
    /// ```
    pub fn staged_count(&self) -> usize {
        self.file_status.iter().filter(|f| f.staged).count()
    }

    /// The number of unstaged changes (total minus staged).
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitStatus::default().unstaged_count(), 0);
    /// ```
    pub fn unstaged_count(&self) -> usize {
        self.total_count() - self.staged_count()
    }

    /// The number of untracked files.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitStatus::default().untracked_count(), 0);
    /// ```
    pub fn untracked_count(&self) -> usize {
        self.file_status.iter().filter(|f| f.status == GitChange::Untracked).count()
    }

    /// The number of conflicts.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(e2b::GitStatus::default().conflict_count(), 0);
    /// ```
    pub fn conflict_count(&self) -> usize {
        self.file_status.iter().filter(|f| f.status == GitChange::Conflict).count()
    }
}

/// A repository's local branches.
///
/// # Example
///
/// ```no_run
/// # async fn demo(git: e2b::Git) -> Result<(), e2b::Error> {
/// let branches = git.branches("/home/user/repo").await?;
/// println!("on {:?} of {:?}", branches.current_branch, branches.branches);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitBranches {
    /// Every local branch.
    pub branches: Vec<String>,
    /// The checked-out one, if any.
    pub current_branch: Option<String>,
}

fn normalize_branch(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("HEAD (detached at ") {
        return rest.replace("HEAD (detached at ", "").trim_end_matches(')').to_owned();
    }
    raw.replace("HEAD (no branch)", "HEAD")
        .replace("No commits yet on ", "")
        .replace("Initial commit on ", "")
}

/// The integer after `word` up to the next comma, or 0.
fn count_after(segment: &str, word: &str) -> u32 {
    segment
        .split_once(word)
        .and_then(|(_, rest)| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn parse_status(output: &str) -> GitStatus {
    let lines: Vec<&str> = output.split('\n').filter(|l| !l.trim().is_empty()).map(str::trim_end).collect();
    let mut status = GitStatus::default();
    let Some(first) = lines.first() else {
        return status;
    };
    if let Some(info) = first.strip_prefix("## ") {
        let (branch_part, tracking) = match info.find(" [") {
            Some(at) => {
                let tracking = &info[at + 2..];
                // Everything up to the final character (the closing "]").
                let tracking = match tracking.char_indices().last() {
                    Some((last, _)) => &tracking[..last],
                    None => tracking,
                };
                (&info[..at], Some(tracking))
            }
            None => (info, None),
        };
        let normalized = normalize_branch(branch_part);
        let detached = branch_part.starts_with("HEAD (detached at ")
            || branch_part.contains("detached")
            || normalized.starts_with("HEAD");
        if detached {
            status.detached = true;
        } else if let Some((branch, upstream)) = normalized.split_once("...") {
            status.current_branch = Some(branch.to_owned()).filter(|b| !b.is_empty());
            status.upstream = Some(upstream.to_owned()).filter(|u| !u.is_empty());
        } else {
            status.current_branch = Some(normalized).filter(|b| !b.is_empty());
        }
        if let Some(tracking) = tracking {
            status.ahead = count_after(tracking, "ahead");
            status.behind = count_after(tracking, "behind");
        }
    }
    for line in &lines[1..] {
        if let Some(name) = line.strip_prefix("?? ") {
            status.file_status.push(GitFileStatus {
                name: name.to_owned(),
                status: GitChange::Untracked,
                index_status: '?',
                working_tree_status: '?',
                staged: false,
                renamed_from: None,
            });
            continue;
        }
        let mut chars = line.chars();
        let (Some(index), Some(worktree), Some(_)) = (chars.next(), chars.next(), chars.next()) else {
            continue;
        };
        let path = chars.as_str();
        let (renamed_from, name) = match path.split_once(" -> ") {
            Some((from, to)) => (Some(from.to_owned()), to.to_owned()),
            None => (None, path.to_owned()),
        };
        status.file_status.push(GitFileStatus {
            name,
            status: GitChange::from_letters(index, worktree),
            index_status: index,
            working_tree_status: worktree,
            staged: index != ' ' && index != '?',
            renamed_from,
        });
    }
    status
}

pub(crate) fn parse_branches(output: &str) -> GitBranches {
    let mut branches = GitBranches::default();
    for line in output.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        let mut fields = line.split('\t');
        let name = fields.next().unwrap_or_default().to_owned();
        if fields.next() == Some("*") {
            branches.current_branch = Some(name.clone());
        }
        branches.branches.push(name);
    }
    branches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(
        name: &str,
        status: GitChange,
        x: char,
        y: char,
        staged: bool,
        from: Option<&str>,
    ) -> GitFileStatus {
        GitFileStatus {
            name: name.into(),
            status,
            index_status: x,
            working_tree_status: y,
            staged,
            renamed_from: from.map(Into::into),
        }
    }

    #[test]
    fn branch_header_forms() {
        let s = parse_status("## main...origin/main [ahead 2, behind 1]\n");
        assert_eq!((s.current_branch.as_deref(), s.upstream.as_deref()), (Some("main"), Some("origin/main")));
        assert_eq!((s.ahead, s.behind, s.detached), (2, 1, false));

        let s = parse_status("## feature/x...origin/feature/x [behind 12]");
        assert_eq!((s.ahead, s.behind), (0, 12));

        let s = parse_status("## main");
        assert_eq!((s.current_branch.as_deref(), s.upstream), (Some("main"), None));

        let s = parse_status("## No commits yet on trunk\n");
        assert_eq!(s.current_branch.as_deref(), Some("trunk"));
        let s = parse_status("## Initial commit on master");
        assert_eq!(s.current_branch.as_deref(), Some("master"));

        for detached in ["## HEAD (no branch)", "## HEAD (detached at 1a2b3c)", "## something detached here"]
        {
            let s = parse_status(detached);
            assert!(s.detached && s.current_branch.is_none() && s.upstream.is_none(), "{detached}");
        }

        let s = parse_status("## main...origin/main [gone]");
        assert_eq!((s.ahead, s.behind, s.upstream.as_deref()), (0, 0, Some("origin/main")));
        let s = parse_status("## main...origin/main [ahead x]");
        assert_eq!(s.ahead, 0);
        let s = parse_status("## ...origin/main");
        assert_eq!((s.current_branch, s.upstream.as_deref()), (None, Some("origin/main")));
    }

    #[test]
    fn file_lines() {
        let output = "## main\n M src/lib.rs\nM  staged.rs\nA  new.rs\n D gone.rs\nR  old.rs -> new name.rs\n\
                      C  a -> b\nUU both.rs\n T link\n?? untracked dir/\n!! ignored\nX\n  \nMM both.txt\r\n";
        let s = parse_status(output);
        assert_eq!(
            s.file_status,
            vec![
                file("src/lib.rs", GitChange::Modified, ' ', 'M', false, None),
                file("staged.rs", GitChange::Modified, 'M', ' ', true, None),
                file("new.rs", GitChange::Added, 'A', ' ', true, None),
                file("gone.rs", GitChange::Deleted, ' ', 'D', false, None),
                file("new name.rs", GitChange::Renamed, 'R', ' ', true, Some("old.rs")),
                file("b", GitChange::Copied, 'C', ' ', true, Some("a")),
                file("both.rs", GitChange::Conflict, 'U', 'U', true, None),
                file("link", GitChange::TypeChange, ' ', 'T', false, None),
                file("untracked dir/", GitChange::Untracked, '?', '?', false, None),
                file("ignored", GitChange::Unknown, '!', '!', true, None),
                file("both.txt", GitChange::Modified, 'M', 'M', true, None),
            ]
        );
        assert_eq!(s.total_count(), 11);
        assert_eq!(s.staged_count(), 7);
        assert_eq!(s.unstaged_count(), 4);
        assert_eq!(s.untracked_count(), 1);
        assert_eq!(s.conflict_count(), 1);
        assert!(s.has_changes() && s.has_staged() && s.has_untracked() && s.has_conflicts() && !s.is_clean());
    }

    #[test]
    fn first_line_is_always_skipped_and_precedence_holds() {
        let s = parse_status(" M not-a-header.rs\n M second.rs");
        assert_eq!(s.file_status.len(), 1);
        assert_eq!(s.file_status[0].name, "second.rs");
        assert!(s.current_branch.is_none());
        assert_eq!(GitChange::from_letters('R', 'U'), GitChange::Conflict);
        assert_eq!(GitChange::from_letters('A', 'D'), GitChange::Deleted);
        assert_eq!(GitChange::from_letters('A', 'M'), GitChange::Added);
        assert_eq!(parse_status(""), GitStatus::default());
        assert_eq!(parse_status("\n\n  \n"), GitStatus::default());
        let s = parse_status("## main\n M ü/ñ.txt");
        assert_eq!(s.file_status[0].name, "ü/ñ.txt");
    }

    #[test]
    fn branches() {
        let b = parse_branches("feature\t \nmain\t*\n  \nrelease/1.0\t\n");
        assert_eq!(b.branches, vec!["feature", "main", "release/1.0"]);
        assert_eq!(b.current_branch.as_deref(), Some("main"));
        let b = parse_branches("");
        assert_eq!(b, GitBranches::default());
        let b = parse_branches("(HEAD detached at abc)\t*\nmain\t ");
        assert_eq!(b.current_branch.as_deref(), Some("(HEAD detached at abc)"));
    }
}
