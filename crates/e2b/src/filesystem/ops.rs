//! Metadata operations over envd's `filesystem.Filesystem` RPCs: list,
//! exists, get_info, remove, rename, make_dir.

use std::time::Duration;

use e2b_connect::Code;
use e2b_proto::filesystem::{self as pb, filesystem_methods as methods};

use super::Filesystem;
use super::entry::{EntryInfo, file_type};
use crate::envd::NotFoundMeans;
use crate::error::{Error, Phase, Result, Stage};
use crate::rpc::RpcCall;

/// Defines a filesystem request builder with the options every call takes
/// (user, request timeout) and `IntoFuture` through its `send`.
macro_rules! fs_request {
    ($(#[$meta:meta])* $name:ident => $output:ty { $($field:ident : $ty:ty),* }) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[must_use = "a request does nothing until it is awaited"]
        pub struct $name {
            fs: Filesystem,
            user: Option<String>,
            request_timeout: Option<Duration>,
            $($field: $ty,)*
        }

        impl $name {
            /// Act as this user (permissions, relative paths).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
            /// let entries = sandbox.files().list("/root").user("root").await?;
            /// # let _ = entries; Ok(()) }
            /// ```
            pub fn user(mut self, user: impl Into<String>) -> Self {
                self.user = Some(user.into());
                self
            }

            /// The deadline of this request (`Duration::ZERO` for none).
            ///
            /// # Example
            ///
            /// ```no_run
            /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
            /// let entries = sandbox.files().list("/").request_timeout(std::time::Duration::from_secs(5)).await?;
            /// # let _ = entries; Ok(()) }
            /// ```
            pub fn request_timeout(mut self, timeout: Duration) -> Self {
                self.request_timeout = Some(timeout);
                self
            }

            fn call(&self, operation: &'static str) -> RpcCall {
                RpcCall::new(operation, self.fs.sandbox.envd.effective_user(self.user.clone()), NotFoundMeans::File)
            }
        }

        impl ::std::future::IntoFuture for $name {
            type Output = Result<$output>;
            type IntoFuture = ::futures::future::BoxFuture<'static, Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

fn missing_entry(operation: &'static str) -> Error {
    Error::decode(Stage::new(operation, Phase::Decode), "the answer carries no entry")
}

fs_request! {
    /// Lists a directory; from [`Filesystem::list`].
    ListRequest => Vec<EntryInfo> { path: String, depth: u32 }
}

impl ListRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, user: None, request_timeout: None, path, depth: 1 }
    }

    /// How deep to descend (default 1: the directory's own entries). Must
    /// be at least 1.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let tree = sandbox.files().list("/home/user").depth(3).await?;
    /// # let _ = tree; Ok(()) }
    /// ```
    pub fn depth(mut self, depth: u32) -> Self {
        self.depth = depth;
        self
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let entries = sandbox.files().list("/tmp").send().await?;
    /// # let _ = entries; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<EntryInfo>> {
        const OP: &str = "list directory";
        if self.depth < 1 {
            return Err(Error::invalid_argument(
                Stage::new(OP, Phase::Validate),
                "depth should be at least 1",
            ));
        }
        let request = pb::ListDirRequest { path: self.path.clone(), depth: self.depth };
        let response: pb::ListDirResponse = self
            .fs
            .sandbox
            .envd
            .unary(methods::LIST_DIR, request, &self.call(OP).idempotent(), self.request_timeout)
            .await?;
        // Entries whose type envd could not tell (e.g. broken symlinks) are
        // left out, as the official SDKs do.
        Ok(response
            .entries
            .into_iter()
            .filter(|e| file_type(e.r#type).is_some())
            .map(EntryInfo::from_proto)
            .collect())
    }
}

fs_request! {
    /// Checks whether a path exists; from [`Filesystem::exists`].
    ExistsRequest => bool { path: String }
}

impl ExistsRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, user: None, request_timeout: None, path }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let there = sandbox.files().exists("/etc/passwd").send().await?;
    /// # let _ = there; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<bool> {
        let request = pb::StatRequest { path: self.path.clone() };
        let envd = &self.fs.sandbox.envd;
        let found: Option<pb::StatResponse> = envd
            .unary_unless(
                methods::STAT,
                request,
                &self.call("check path").idempotent(),
                self.request_timeout,
                Some(Code::NotFound),
            )
            .await?;
        Ok(found.is_some())
    }
}

fs_request! {
    /// Describes a path; from [`Filesystem::get_info`].
    GetInfoRequest => EntryInfo { path: String }
}

impl GetInfoRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, user: None, request_timeout: None, path }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let info = sandbox.files().get_info("/tmp").send().await?;
    /// # let _ = info; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<EntryInfo> {
        const OP: &str = "get file info";
        let request = pb::StatRequest { path: self.path.clone() };
        let response: pb::StatResponse = self
            .fs
            .sandbox
            .envd
            .unary(methods::STAT, request, &self.call(OP).idempotent(), self.request_timeout)
            .await?;
        response.entry.map(EntryInfo::from_proto).ok_or_else(|| missing_entry(OP))
    }
}

fs_request! {
    /// Removes a file or directory (recursively); from [`Filesystem::remove`].
    RemoveRequest => () { path: String }
}

impl RemoveRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, user: None, request_timeout: None, path }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// sandbox.files().remove("/tmp/scratch").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<()> {
        let request = pb::RemoveRequest { path: self.path.clone() };
        let _: pb::RemoveResponse = self
            .fs
            .sandbox
            .envd
            .unary(methods::REMOVE, request, &self.call("remove path"), self.request_timeout)
            .await?;
        Ok(())
    }
}

fs_request! {
    /// Renames or moves a path; from [`Filesystem::rename`].
    RenameRequest => EntryInfo { from: String, to: String }
}

impl RenameRequest {
    pub(crate) fn new(fs: Filesystem, from: String, to: String) -> Self {
        Self { fs, user: None, request_timeout: None, from, to }
    }

    /// Sends the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let moved = sandbox.files().rename("/tmp/a", "/tmp/b").send().await?;
    /// # let _ = moved; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<EntryInfo> {
        const OP: &str = "rename path";
        let request = pb::MoveRequest { source: self.from.clone(), destination: self.to.clone() };
        let response: pb::MoveResponse =
            self.fs.sandbox.envd.unary(methods::MOVE, request, &self.call(OP), self.request_timeout).await?;
        response.entry.map(EntryInfo::from_proto).ok_or_else(|| missing_entry(OP))
    }
}

fs_request! {
    /// Creates a directory with its parents; from [`Filesystem::make_dir`].
    MakeDirRequest => bool { path: String }
}

impl MakeDirRequest {
    pub(crate) fn new(fs: Filesystem, path: String) -> Self {
        Self { fs, user: None, request_timeout: None, path }
    }

    /// Sends the request: `true` if created, `false` if it already existed.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo(sandbox: e2b::Sandbox) -> Result<(), e2b::Error> {
    /// let created = sandbox.files().make_dir("/tmp/a/b/c").send().await?;
    /// # let _ = created; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<bool> {
        let request = pb::MakeDirRequest { path: self.path.clone() };
        let envd = &self.fs.sandbox.envd;
        let call = self.call("make directory");
        let created: Option<pb::MakeDirResponse> = envd
            .unary_unless(methods::MAKE_DIR, request, &call, self.request_timeout, Some(Code::AlreadyExists))
            .await?;
        Ok(created.is_some())
    }
}
