//! The registry of processes: live ones by pid, and ended ones kept briefly
//! so a late Connect still sees their end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use e2b_proto::process::ProcessSelector;
use e2b_proto::process::process_selector::Selector;
use tonic::Status;

use super::handle::ProcessHandle;

/// How long an ended process's end event stays available to Connect.
pub(crate) const KEEP_ENDED: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<u32, Arc<ProcessHandle>>,
    ended: HashMap<u32, Arc<ProcessHandle>>,
    next_seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ProcessTable {
    inner: Mutex<Inner>,
}

/// What a selector names, for error messages.
fn describe(selector: &Selector) -> String {
    match selector {
        Selector::Pid(pid) => format!("process with pid {pid}"),
        Selector::Tag(tag) => format!("process with tag {tag}"),
    }
}

fn required(selector: Option<&ProcessSelector>) -> Result<&Selector, Status> {
    selector
        .and_then(|s| s.selector.as_ref())
        .ok_or_else(|| Status::invalid_argument("a process selector (pid or tag) is required"))
}

impl ProcessTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn next_seq(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_seq += 1;
        inner.next_seq
    }

    pub(crate) fn insert(&self, handle: Arc<ProcessHandle>) {
        let mut inner = self.lock();
        // The pid may have been reused since an earlier process ended.
        inner.ended.remove(&handle.pid);
        inner.live.insert(handle.pid, handle);
    }

    /// A live process, for the unary calls.
    pub(crate) fn live(&self, selector: Option<&ProcessSelector>) -> Result<Arc<ProcessHandle>, Status> {
        let selector = required(selector)?;
        let inner = self.lock();
        find(&inner.live, selector)
            .ok_or_else(|| Status::not_found(format!("{} not found", describe(selector))))
    }

    /// A live process, or one that ended less than [`KEEP_ENDED`] ago.
    pub(crate) fn for_connect(
        &self,
        selector: Option<&ProcessSelector>,
    ) -> Result<Arc<ProcessHandle>, Status> {
        let selector = required(selector)?;
        let inner = self.lock();
        find(&inner.live, selector)
            .or_else(|| find(&inner.ended, selector))
            .ok_or_else(|| Status::not_found(format!("{} not found", describe(selector))))
    }

    /// Live processes in start order.
    pub(crate) fn list(&self) -> Vec<Arc<ProcessHandle>> {
        let mut all: Vec<_> = self.lock().live.values().cloned().collect();
        all.sort_by_key(|p| p.seq);
        all
    }

    /// Moves an ended process out of the live set; it is forgotten after
    /// [`KEEP_ENDED`] unless its pid was reused meanwhile.
    pub(crate) fn ended(self: &Arc<Self>, handle: &Arc<ProcessHandle>) {
        {
            let mut inner = self.lock();
            if inner.live.get(&handle.pid).is_some_and(|p| Arc::ptr_eq(p, handle)) {
                inner.live.remove(&handle.pid);
            }
            inner.ended.insert(handle.pid, Arc::clone(handle));
        }
        let table: Weak<Self> = Arc::downgrade(self);
        let handle = Arc::downgrade(handle);
        tokio::spawn(async move {
            tokio::time::sleep(KEEP_ENDED).await;
            let (Some(table), Some(handle)) = (table.upgrade(), handle.upgrade()) else { return };
            let mut inner = table.lock();
            if inner.ended.get(&handle.pid).is_some_and(|p| Arc::ptr_eq(p, &handle)) {
                inner.ended.remove(&handle.pid);
            }
        });
    }
}

fn find(map: &HashMap<u32, Arc<ProcessHandle>>, selector: &Selector) -> Option<Arc<ProcessHandle>> {
    match selector {
        Selector::Pid(pid) => map.get(pid).cloned(),
        Selector::Tag(tag) => {
            map.values().filter(|p| p.tag.as_deref() == Some(tag.as_str())).min_by_key(|p| p.seq).cloned()
        }
    }
}
