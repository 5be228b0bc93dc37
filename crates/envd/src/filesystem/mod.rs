//! `filesystem.Filesystem`: metadata operations and directory watches.

pub(crate) mod entry;
pub(crate) mod metadata;
pub(crate) mod watch;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use e2b_proto::filesystem::filesystem_server::Filesystem;
use e2b_proto::filesystem::watch_dir_response::{Event as WatchEvent, KeepAlive, StartEvent};
use e2b_proto::filesystem::{
    CreateWatcherRequest, CreateWatcherResponse, EntryInfo, FilesystemEvent, GetWatcherEventsRequest,
    GetWatcherEventsResponse, ListDirRequest, ListDirResponse, MakeDirRequest, MakeDirResponse, MoveRequest,
    MoveResponse, RemoveRequest, RemoveResponse, RemoveWatcherRequest, RemoveWatcherResponse, StatRequest,
    StatResponse, WatchDirRequest, WatchDirResponse,
};
use futures::{Stream, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use self::entry::{EnsureDirsError, ensure_dirs, entry_from_metadata, entry_info};
use self::watch::{WatchSpec, Watcher};
use crate::paths;
use crate::rpc::{EventStream, keepalive_interval, request_timeout, request_user};
use crate::settings::Settings;
use crate::users::{OwnerNames, SystemUser};

/// Events a polled watcher may hold before it fails (a client that creates
/// a watcher and never polls must not exhaust memory).
const MAX_BUFFERED_EVENTS: usize = 100_000;

/// The server stream of WatchDir: `start`, then filesystem events and
/// keepalives until the client goes away.
pub type WatchDirStream = Pin<Box<dyn Stream<Item = Result<WatchDirResponse, Status>> + Send + 'static>>;

#[derive(Debug, Default)]
struct Buffer {
    events: Vec<FilesystemEvent>,
    error: Option<Status>,
}

#[derive(Debug)]
struct PolledWatcher {
    buffer: Arc<Mutex<Buffer>>,
    cancel: CancellationToken,
}

/// The `filesystem.Filesystem` service. Create it through [`crate::Envd`];
/// it implements the tonic-generated trait, so it can also be called
/// in-process.
///
/// ```
/// use e2b_proto::filesystem::{StatRequest, filesystem_server::Filesystem};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let envd = envd::Envd::new(envd::Config::new()).unwrap();
/// let stat = envd.filesystem_service().stat(tonic::Request::new(StatRequest { path: "/".into() })).await.unwrap();
/// assert_eq!(stat.into_inner().entry.unwrap().path, "/");
/// # }
/// ```
#[derive(Debug)]
pub struct FilesystemService {
    settings: Arc<Settings>,
    watchers: Mutex<HashMap<String, PolledWatcher>>,
}

fn io_status(what: &str, path: &Path, err: &io::Error) -> Status {
    let message = format!("{what} '{}': {err}", path.display());
    match err.raw_os_error() {
        Some(libc::ENOENT) => Status::not_found(message),
        Some(libc::EEXIST) => Status::already_exists(message),
        Some(libc::EACCES) | Some(libc::EPERM) => Status::permission_denied(message),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => Status::resource_exhausted(message),
        Some(libc::ENOTDIR) | Some(libc::EISDIR) | Some(libc::ENAMETOOLONG) | Some(libc::EINVAL) => {
            Status::invalid_argument(message)
        }
        Some(libc::ELOOP) => Status::failed_precondition(message),
        _ => Status::internal(message),
    }
}

/// Creating parents fails as `internal` upstream; a full disk and a refused
/// permission keep their own codes, which the SDKs map to clearer errors.
fn dirs_status(err: EnsureDirsError) -> Status {
    match &err {
        _ if err.is_no_space() => Status::resource_exhausted(err.to_string()),
        EnsureDirsError::Create { source, .. } if source.raw_os_error() == Some(libc::EACCES) => {
            Status::permission_denied(err.to_string())
        }
        _ => Status::internal(err.to_string()),
    }
}

/// The entry at `path`, with errors mapped to RPC codes.
fn entry_at(path: &Path) -> Result<EntryInfo, Status> {
    entry_info(path, &mut OwnerNames::default()).map_err(|e| io_status("error getting file info", path, &e))
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("filesystem task failed: {e}")))?
}

impl FilesystemService {
    pub(crate) fn new(settings: Arc<Settings>) -> Self {
        FilesystemService { settings, watchers: Mutex::new(HashMap::new()) }
    }

    fn user_and_path(&self, metadata: &MetadataMap, path: &str) -> Result<(SystemUser, PathBuf), Status> {
        let user = request_user(&self.settings, metadata)?;
        let workdir = self.settings.default_workdir();
        let path = paths::resolve(path, &user.home, workdir.as_deref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok((user, path))
    }

    fn watch_spec(
        &self,
        metadata: &MetadataMap,
        path: &str,
        recursive: bool,
        include_entry: bool,
        allow_network_mounts: bool,
    ) -> Result<WatchSpec, Status> {
        let (_, root) = self.user_and_path(metadata, path)?;
        Ok(WatchSpec { root, recursive, include_entry, allow_network_mounts })
    }

    fn lock_watchers(&self) -> std::sync::MutexGuard<'_, HashMap<String, PolledWatcher>> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn arm(spec: WatchSpec) -> Result<Watcher, Status> {
    blocking(move || {
        watch::validate(&spec)?;
        Watcher::new(spec)
    })
    .await
}

fn list_dir(requested: &Path, depth: u32) -> Result<Vec<EntryInfo>, Status> {
    let real = std::fs::canonicalize(requested).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => Status::not_found(format!("path not found: '{}': {e}", requested.display())),
        Some(libc::ELOOP) => Status::failed_precondition(format!(
            "cyclic symlink or chain of too many links at '{}'",
            requested.display()
        )),
        _ => io_status("error resolving symlink", requested, &e),
    })?;
    match std::fs::metadata(&real) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Status::invalid_argument(format!(
                "path is not a directory: {}",
                requested.display()
            )));
        }
        Err(e) => return Err(io_status("error getting file info", requested, &e)),
    }
    let depth = depth.max(1);
    let mut names = OwnerNames::default();
    let mut entries = Vec::new();
    walk(requested, &real, 1, depth, &mut names, &mut entries)?;
    Ok(entries)
}

/// Depth-first, lexical order per directory, without following symlinked
/// directories; entries that vanish mid-walk are skipped.
fn walk(
    shown: &Path,
    real: &Path,
    level: u32,
    depth: u32,
    names: &mut OwnerNames,
    out: &mut Vec<EntryInfo>,
) -> Result<(), Status> {
    let read = match std::fs::read_dir(real) {
        Ok(read) => read,
        Err(e) if level > 1 && e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_status("error reading directory", real, &e)),
    };
    let mut children: Vec<_> = read.filter_map(Result::ok).map(|e| e.file_name()).collect();
    children.sort();
    for name in children {
        let (shown_child, real_child) = (shown.join(&name), real.join(&name));
        let Ok(meta) = std::fs::symlink_metadata(&real_child) else { continue };
        out.push(entry_from_metadata(&shown_child, &real_child, &meta, names));
        if level < depth && meta.is_dir() {
            walk(&shown_child, &real_child, level + 1, depth, names, out)?;
        }
    }
    Ok(())
}

fn remove_all(path: &Path) -> Result<(), Status> {
    let result = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_status("error removing", path, &e)),
        _ => Ok(()),
    }
}

fn watch_response(event: Result<FilesystemEvent, Status>) -> Result<WatchDirResponse, Status> {
    event.map(|e| WatchDirResponse { event: Some(WatchEvent::Filesystem(e)) })
}

fn watch_keepalive() -> WatchDirResponse {
    WatchDirResponse { event: Some(WatchEvent::Keepalive(KeepAlive {})) }
}

#[tonic::async_trait]
impl Filesystem for FilesystemService {
    type WatchDirStream = WatchDirStream;

    #[tracing::instrument(name = "filesystem.Stat", skip_all, err(level = "info"))]
    async fn stat(&self, request: Request<StatRequest>) -> Result<Response<StatResponse>, Status> {
        let (_, path) = self.user_and_path(request.metadata(), &request.get_ref().path)?;
        let entry = blocking(move || entry_at(&path)).await?;
        Ok(Response::new(StatResponse { entry: Some(entry) }))
    }

    #[tracing::instrument(name = "filesystem.MakeDir", skip_all, err(level = "info"))]
    async fn make_dir(&self, request: Request<MakeDirRequest>) -> Result<Response<MakeDirResponse>, Status> {
        let (user, path) = self.user_and_path(request.metadata(), &request.get_ref().path)?;
        let entry = blocking(move || {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    return Err(Status::already_exists(format!(
                        "directory already exists: {}",
                        path.display()
                    )));
                }
                Ok(_) => {
                    return Err(Status::invalid_argument(format!(
                        "path already exists but it is not a directory: {}",
                        path.display()
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_status("error getting file info", &path, &e)),
            }
            ensure_dirs(&path, user.uid, user.gid).map_err(dirs_status)?;
            entry_at(&path)
        })
        .await?;
        Ok(Response::new(MakeDirResponse { entry: Some(entry) }))
    }

    #[tracing::instrument(name = "filesystem.Move", skip_all, err(level = "info"))]
    async fn r#move(&self, request: Request<MoveRequest>) -> Result<Response<MoveResponse>, Status> {
        let (user, source) = self.user_and_path(request.metadata(), &request.get_ref().source)?;
        let (_, destination) = self.user_and_path(request.metadata(), &request.get_ref().destination)?;
        let entry = blocking(move || {
            if let Err(e) = std::fs::symlink_metadata(&source) {
                return Err(match e.kind() {
                    io::ErrorKind::NotFound => {
                        Status::not_found(format!("source file not found: '{}'", source.display()))
                    }
                    _ => io_status("error getting file info", &source, &e),
                });
            }
            if let Some(parent) = destination.parent() {
                ensure_dirs(parent, user.uid, user.gid).map_err(dirs_status)?;
            }
            std::fs::rename(&source, &destination).map_err(|e| {
                Status::internal(format!(
                    "error renaming '{}' to '{}': {e}",
                    source.display(),
                    destination.display()
                ))
            })?;
            entry_at(&destination)
        })
        .await?;
        Ok(Response::new(MoveResponse { entry: Some(entry) }))
    }

    #[tracing::instrument(name = "filesystem.ListDir", skip_all, err(level = "info"))]
    async fn list_dir(&self, request: Request<ListDirRequest>) -> Result<Response<ListDirResponse>, Status> {
        let depth = request.get_ref().depth;
        let (_, path) = self.user_and_path(request.metadata(), &request.get_ref().path)?;
        let entries = blocking(move || list_dir(&path, depth)).await?;
        Ok(Response::new(ListDirResponse { entries }))
    }

    #[tracing::instrument(name = "filesystem.Remove", skip_all, err(level = "info"))]
    async fn remove(&self, request: Request<RemoveRequest>) -> Result<Response<RemoveResponse>, Status> {
        let (_, path) = self.user_and_path(request.metadata(), &request.get_ref().path)?;
        blocking(move || remove_all(&path)).await?;
        Ok(Response::new(RemoveResponse {}))
    }

    #[tracing::instrument(name = "filesystem.WatchDir", skip_all, err(level = "info"))]
    async fn watch_dir(
        &self,
        request: Request<WatchDirRequest>,
    ) -> Result<Response<Self::WatchDirStream>, Status> {
        let timeout = request_timeout(request.metadata())?;
        let interval = keepalive_interval(request.metadata());
        let r = request.get_ref();
        let spec = self.watch_spec(
            request.metadata(),
            &r.path,
            r.recursive,
            r.include_entry,
            r.allow_network_mounts,
        )?;
        let watcher = arm(spec).await?;
        let (tx, rx) = mpsc::channel(256);
        let cancel = CancellationToken::new();
        let start = WatchDirResponse { event: Some(WatchEvent::Start(StartEvent {})) };
        // The start message goes first; events follow from the channel.
        let stream = futures::stream::iter([Ok(start)]).chain(
            EventStream::new(rx, watch_response, watch_keepalive, interval, timeout)
                .with_guard(cancel.clone().drop_guard()),
        );
        tokio::spawn(watcher.run(tx, cancel));
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(name = "filesystem.CreateWatcher", skip_all, err(level = "info"))]
    async fn create_watcher(
        &self,
        request: Request<CreateWatcherRequest>,
    ) -> Result<Response<CreateWatcherResponse>, Status> {
        let r = request.get_ref();
        let spec = self.watch_spec(
            request.metadata(),
            &r.path,
            r.recursive,
            r.include_entry,
            r.allow_network_mounts,
        )?;
        let watcher = arm(spec).await?;
        let id = format!("w{:016x}", rand::rng().random::<u64>());
        let buffer = Arc::new(Mutex::new(Buffer::default()));
        let cancel = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel(256);
        tokio::spawn(watcher.run(tx, cancel.clone()));
        let sink = Arc::clone(&buffer);
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                let mut buffer = sink.lock().unwrap_or_else(|e| e.into_inner());
                match item {
                    Ok(_) if buffer.events.len() >= MAX_BUFFERED_EVENTS => {
                        buffer.error = Some(Status::resource_exhausted(format!(
                            "watcher buffered {MAX_BUFFERED_EVENTS} events without being polled; events were lost"
                        )));
                        return;
                    }
                    Ok(event) => buffer.events.push(event),
                    Err(status) => {
                        buffer.error = Some(status);
                        return;
                    }
                }
            }
        });
        self.lock_watchers().insert(id.clone(), PolledWatcher { buffer, cancel });
        Ok(Response::new(CreateWatcherResponse { watcher_id: id }))
    }

    #[tracing::instrument(name = "filesystem.GetWatcherEvents", skip_all, err(level = "info"))]
    async fn get_watcher_events(
        &self,
        request: Request<GetWatcherEventsRequest>,
    ) -> Result<Response<GetWatcherEventsResponse>, Status> {
        let id = &request.get_ref().watcher_id;
        let buffer = match self.lock_watchers().get(id) {
            Some(w) => Arc::clone(&w.buffer),
            None => return Err(Status::not_found(format!("watcher with id {id} not found"))),
        };
        let mut buffer = buffer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = &buffer.error {
            return Err(error.clone());
        }
        Ok(Response::new(GetWatcherEventsResponse { events: std::mem::take(&mut buffer.events) }))
    }

    #[tracing::instrument(name = "filesystem.RemoveWatcher", skip_all, err(level = "info"))]
    async fn remove_watcher(
        &self,
        request: Request<RemoveWatcherRequest>,
    ) -> Result<Response<RemoveWatcherResponse>, Status> {
        let id = &request.get_ref().watcher_id;
        match self.lock_watchers().remove(id) {
            Some(watcher) => {
                watcher.cancel.cancel();
                Ok(Response::new(RemoveWatcherResponse {}))
            }
            None => Err(Status::not_found(format!("watcher with id {id} not found"))),
        }
    }
}

impl Drop for FilesystemService {
    fn drop(&mut self) {
        for (_, watcher) in self.lock_watchers().drain() {
            watcher.cancel.cancel();
        }
    }
}
