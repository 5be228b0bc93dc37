//! Metadata operations: list, exists, get_info, remove, rename, make_dir.

use std::time::Duration;

use e2b::{EntryInfo, Result};

use crate::runtime;

/// Defines the blocking twin of an async filesystem request builder: the
/// options every call takes (user, request timeout) and `send`.
macro_rules! fs_request {
    ($(#[$meta:meta])* $name:ident => $output:ty, $example:literal) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[must_use = "a request does nothing until it is sent"]
        pub struct $name {
            inner: e2b::filesystem::$name,
        }

        impl From<e2b::filesystem::$name> for $name {
            fn from(inner: e2b::filesystem::$name) -> Self {
                Self { inner }
            }
        }

        impl $name {
            /// Act as this user (permissions, relative paths).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
            /// let entries = sandbox.files().list("/root").user("root").send()?;
            /// # let _ = entries; Ok(()) }
            /// ```
            pub fn user(self, user: impl Into<String>) -> Self {
                Self { inner: self.inner.user(user) }
            }

            /// The deadline of this request (`Duration::ZERO` for none).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
            /// let entries = sandbox.files().list("/").request_timeout(std::time::Duration::from_secs(5)).send()?;
            /// # let _ = entries; Ok(()) }
            /// ```
            pub fn request_timeout(self, timeout: Duration) -> Self {
                Self { inner: self.inner.request_timeout(timeout) }
            }

            /// Sends the request.
            ///
            /// # Example
            ///
            /// ```no_run
            /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
            #[doc = concat!("let answer = ", $example, ".send()?;")]
            /// # let _ = answer; Ok(()) }
            /// ```
            pub fn send(self) -> Result<$output> {
                runtime::run(concat!(stringify!($name), "::send"), self.inner.send())
            }
        }
    };
}

fs_request! {
    /// Lists a directory; from [`Filesystem::list`](super::Filesystem::list).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let tree = sandbox.files().list("/home/user").depth(2).send()?;
    /// # let _ = tree; Ok(()) }
    /// ```
    ListRequest => Vec<EntryInfo>, "sandbox.files().list(\"/tmp\")"
}

impl ListRequest {
    /// How deep to descend (default 1: the directory's own entries). Must
    /// be at least 1.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let tree = sandbox.files().list("/home/user").depth(3).send()?;
    /// # let _ = tree; Ok(()) }
    /// ```
    pub fn depth(self, depth: u32) -> Self {
        Self { inner: self.inner.depth(depth) }
    }
}

fs_request! {
    /// Checks whether a path exists; from [`Filesystem::exists`](super::Filesystem::exists).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let there = sandbox.files().exists("/etc/hosts").send()?;
    /// # let _ = there; Ok(()) }
    /// ```
    ExistsRequest => bool, "sandbox.files().exists(\"/etc/hosts\")"
}

fs_request! {
    /// Describes a file or directory; from [`Filesystem::get_info`](super::Filesystem::get_info).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let info = sandbox.files().get_info("/etc/hosts").send()?;
    /// println!("{} bytes", info.size);
    /// # Ok(()) }
    /// ```
    GetInfoRequest => EntryInfo, "sandbox.files().get_info(\"/etc/hosts\")"
}

fs_request! {
    /// Removes a file or directory; from [`Filesystem::remove`](super::Filesystem::remove).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// sandbox.files().remove("/tmp/scratch").send()?;
    /// # Ok(()) }
    /// ```
    RemoveRequest => (), "sandbox.files().remove(\"/tmp/scratch\")"
}

fs_request! {
    /// Renames or moves a file or directory; from [`Filesystem::rename`](super::Filesystem::rename).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let moved = sandbox.files().rename("/tmp/a", "/tmp/b").send()?;
    /// assert_eq!(moved.path, "/tmp/b");
    /// # Ok(()) }
    /// ```
    RenameRequest => EntryInfo, "sandbox.files().rename(\"/tmp/a\", \"/tmp/b\")"
}

fs_request! {
    /// Creates a directory; from [`Filesystem::make_dir`](super::Filesystem::make_dir).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let created = sandbox.files().make_dir("/tmp/new/dir").send()?;
    /// # let _ = created; Ok(()) }
    /// ```
    MakeDirRequest => bool, "sandbox.files().make_dir(\"/tmp/new\")"
}
