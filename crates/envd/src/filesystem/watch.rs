//! Directory watches over inotify, with fsnotify's event mapping (which the
//! SDKs were written against) and optional recursion.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use e2b_proto::filesystem::{EventType, FilesystemEvent};
use futures::StreamExt;
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::entry::entry_info;
use crate::users::OwnerNames;

/// Names of upload temp files start with this; watches hide them and
/// report the final rename as the file's creation and write.
pub(crate) const UPLOAD_TEMP_PREFIX: &str = ".envd-upload-";

/// Filesystem magic numbers of network and FUSE mounts, which are watched
/// only on request (their change notifications are unreliable).
const NETWORK_MAGICS: [i64; 5] = [0x6969, 0xFF53_4D42, 0x517B, 0xFE53_4D42, 0x6573_5546];

const MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::MODIFY)
    .union(WatchMask::ATTRIB)
    .union(WatchMask::DELETE)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::MOVE_SELF);

/// What to watch.
#[derive(Clone, Debug)]
pub(crate) struct WatchSpec {
    pub(crate) root: PathBuf,
    pub(crate) recursive: bool,
    pub(crate) include_entry: bool,
    pub(crate) allow_network_mounts: bool,
}

/// Checks the request the way upstream does, before anything is watched.
pub(crate) fn validate(spec: &WatchSpec) -> Result<(), Status> {
    let root = spec.root.display();
    match std::fs::metadata(&spec.root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(Status::invalid_argument(format!("path {root} not a directory"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Status::not_found(format!("path {root} not found: {e}")));
        }
        Err(e) => return Err(Status::internal(format!("error statting path {root}: {e}"))),
    }
    let fs = nix::sys::statfs::statfs(&spec.root)
        .map_err(|e| Status::internal(format!("error checking mount status: {e}")))?;
    let magic = fs.filesystem_type().0 as i64;
    if !spec.allow_network_mounts && NETWORK_MAGICS.contains(&magic) {
        return Err(Status::invalid_argument(format!("cannot watch path on network filesystem: {root}")));
    }
    Ok(())
}

/// An armed watch: created before the client is told it started, so no
/// change after `start` is missed.
pub(crate) struct Watcher {
    spec: WatchSpec,
    stream: inotify::EventStream<Vec<u8>>,
    watches: Watches,
    /// Watched directories, relative to the root ("" for the root).
    dirs: HashMap<WatchDescriptor, PathBuf>,
    root_wd: Option<WatchDescriptor>,
    /// Rename cookies of upload temp files moved away.
    uploads: HashSet<u32>,
    /// Rename cookies of directories moved away from inside the tree, so a
    /// move within the tree is not reported as new content.
    dir_moves: HashSet<u32>,
    names: OwnerNames,
}

impl Watcher {
    /// Sets up the watches (walking the tree when recursive). Blocking.
    pub(crate) fn new(spec: WatchSpec) -> Result<Self, Status> {
        let root = spec.root.display().to_string();
        let setup = |e: io::Error| Status::internal(format!("error adding path {root} to watcher: {e}"));
        let inotify =
            Inotify::init().map_err(|e| Status::internal(format!("error creating watcher: {e}")))?;
        let stream = inotify.into_event_stream(vec![0u8; 64 * 1024]).map_err(setup)?;
        let mut watcher = Watcher {
            watches: stream.watches(),
            stream,
            dirs: HashMap::new(),
            root_wd: None,
            uploads: HashSet::new(),
            dir_moves: HashSet::new(),
            names: OwnerNames::default(),
            spec,
        };
        let wd = watcher.watches.add(&watcher.spec.root, MASK | WatchMask::ONLYDIR).map_err(setup)?;
        watcher.root_wd = Some(wd.clone());
        watcher.dirs.insert(wd, PathBuf::new());
        if watcher.spec.recursive {
            let mut found = Vec::new();
            watcher.add_tree(Path::new(""), &mut found).map_err(setup)?;
        }
        Ok(watcher)
    }

    /// Watches every directory below `rel` (not following symlinks); the
    /// entries seen on the way are appended to `found`.
    fn add_tree(&mut self, rel: &Path, found: &mut Vec<PathBuf>) -> io::Result<()> {
        let mut pending = vec![rel.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(self.spec.root.join(&dir)) else { continue };
            for entry in entries.flatten() {
                let child = dir.join(entry.file_name());
                found.push(child.clone());
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                match self
                    .watches
                    .add(self.spec.root.join(&child), MASK | WatchMask::ONLYDIR | WatchMask::DONT_FOLLOW)
                {
                    Ok(wd) => {
                        self.dirs.insert(wd, child.clone());
                        pending.push(child);
                    }
                    // Vanished or replaced meanwhile: nothing to watch.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Delivers events until `cancel` fires, the receiver goes away, or the
    /// watch fails (the failure is sent as the last item).
    pub(crate) async fn run(
        mut self,
        tx: mpsc::Sender<Result<FilesystemEvent, Status>>,
        cancel: CancellationToken,
    ) {
        loop {
            let next = tokio::select! {
                next = self.stream.next() => next,
                () = cancel.cancelled() => return,
                () = tx.closed() => return,
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    let _ = tx.send(Err(Status::internal(format!("watcher error: {e}")))).await;
                    return;
                }
                None => {
                    let _ = tx.send(Err(Status::internal("watcher event channel closed"))).await;
                    return;
                }
            };
            let out = match self.translate(event) {
                Ok(out) => out,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            for item in out {
                if tx.send(Ok(item)).await.is_err() {
                    return;
                }
            }
        }
    }

    fn translate(&mut self, event: inotify::Event<OsString>) -> Result<Vec<FilesystemEvent>, Status> {
        let mask = event.mask;
        if mask.contains(EventMask::Q_OVERFLOW) {
            return Err(Status::internal("watcher error: event queue overflow, changes were lost"));
        }
        if mask.contains(EventMask::IGNORED) {
            self.dirs.remove(&event.wd);
            return Ok(Vec::new());
        }
        let Some(dir) = self.dirs.get(&event.wd).cloned() else { return Ok(Vec::new()) };
        let is_self = event.name.is_none();
        // A subdirectory's own delete/move is already reported by its parent.
        if is_self && Some(&event.wd) != self.root_wd.as_ref() {
            return Ok(Vec::new());
        }
        let rel = match &event.name {
            Some(name) => dir.join(name),
            None => dir.clone(),
        };
        let base = event.name.as_ref().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if base.starts_with(UPLOAD_TEMP_PREFIX) {
            if mask.contains(EventMask::MOVED_FROM) {
                if self.uploads.len() > 1024 {
                    self.uploads.clear();
                }
                self.uploads.insert(event.cookie);
            }
            return Ok(Vec::new());
        }

        let mut kinds = Vec::with_capacity(2);
        let upload_landed = mask.contains(EventMask::MOVED_TO) && self.uploads.remove(&event.cookie);
        if mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
            kinds.push(EventType::Create);
        }
        if mask.intersects(EventMask::MOVED_FROM | EventMask::MOVE_SELF) {
            kinds.push(EventType::Rename);
        }
        if mask.contains(EventMask::ATTRIB) {
            kinds.push(EventType::Chmod);
        }
        if mask.contains(EventMask::MODIFY) || upload_landed {
            kinds.push(EventType::Write);
        }
        if mask.intersects(EventMask::DELETE | EventMask::DELETE_SELF) {
            kinds.push(EventType::Remove);
        }

        let mut out: Vec<FilesystemEvent> = kinds.into_iter().map(|kind| self.event(&rel, kind)).collect();

        if self.spec.recursive && mask.contains(EventMask::ISDIR) && mask.contains(EventMask::MOVED_FROM) {
            // The directory left this place: stop watching its old subtree
            // (its names are stale). If it moved within the tree, its
            // MOVED_TO watches it again under the new name.
            self.unwatch_tree(&rel);
            if self.dir_moves.len() > 1024 {
                self.dir_moves.clear();
            }
            self.dir_moves.insert(event.cookie);
        }
        let new_dir = self.spec.recursive
            && mask.contains(EventMask::ISDIR)
            && mask.intersects(EventMask::CREATE | EventMask::MOVED_TO);
        let moved_within = mask.contains(EventMask::MOVED_TO) && self.dir_moves.remove(&event.cookie);
        if new_dir
            && let Ok(wd) = self
                .watches
                .add(self.spec.root.join(&rel), MASK | WatchMask::ONLYDIR | WatchMask::DONT_FOLLOW)
        {
            self.dirs.insert(wd, rel.clone());
            let mut found = Vec::new();
            self.add_tree(&rel, &mut found)
                .map_err(|e| Status::internal(format!("error watching new directory: {e}")))?;
            // Entries created before the new watch existed would be missed;
            // report what is there now (unless it is known content that
            // merely moved).
            if !moved_within {
                for path in found {
                    if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(UPLOAD_TEMP_PREFIX))
                    {
                        out.push(self.event(&path, EventType::Create));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Removes the watches of `rel` and everything below it.
    fn unwatch_tree(&mut self, rel: &Path) {
        let gone: Vec<WatchDescriptor> =
            self.dirs.iter().filter(|(_, dir)| dir.starts_with(rel)).map(|(wd, _)| wd.clone()).collect();
        for wd in gone {
            self.dirs.remove(&wd);
            let _ = self.watches.remove(wd);
        }
    }

    fn event(&mut self, rel: &Path, kind: EventType) -> FilesystemEvent {
        let name =
            if rel.as_os_str().is_empty() { ".".to_owned() } else { rel.to_string_lossy().into_owned() };
        let entry = (self.spec.include_entry
            && matches!(kind, EventType::Create | EventType::Write | EventType::Chmod))
        .then(|| entry_info(&self.spec.root.join(rel), &mut self.names).ok())
        .flatten();
        FilesystemEvent { name, r#type: kind as i32, entry }
    }
}
