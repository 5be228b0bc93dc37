//! Collecting exit statuses of children, and of orphans when envd is PID 1.
//!
//! One task owns all waiting. Spawning and registering a child happen under
//! the same lock the reaper takes before it waits, so a child that exits
//! immediately is never reaped before someone is listening for it, and in
//! orphan mode `waitpid(-1)` never steals a status from `std`'s own
//! exec-failure handling inside `spawn`.

use std::collections::HashMap;
use std::io;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

/// How a process ended, in the terms of the `end` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExitInfo {
    /// Exit status, or -1 when killed by a signal.
    pub(crate) code: i32,
    /// Whether the process exited normally.
    pub(crate) exited: bool,
    /// Go's `ProcessState.String()` text: `exit status 2`, `signal: killed`.
    pub(crate) status: String,
}

impl ExitInfo {
    pub(crate) fn from_wait_status(status: WaitStatus) -> Option<Self> {
        match status {
            WaitStatus::Exited(_, code) => {
                Some(ExitInfo { code, exited: true, status: format!("exit status {code}") })
            }
            WaitStatus::Signaled(_, signal, core) => {
                let mut status = format!("signal: {}", signal_text(signal));
                if core {
                    status.push_str(" (core dumped)");
                }
                Some(ExitInfo { code: -1, exited: false, status })
            }
            _ => None,
        }
    }

    /// The `error` of the end event: set iff the process did not exit 0.
    pub(crate) fn error(&self) -> Option<String> {
        (!(self.exited && self.code == 0)).then(|| self.status.clone())
    }
}

/// The descriptions Go prints for signals (its `syscall.Signal.String()`),
/// so `status` texts match upstream envd's.
fn signal_text(signal: Signal) -> String {
    use Signal::*;
    let text = match signal {
        SIGHUP => "hangup",
        SIGINT => "interrupt",
        SIGQUIT => "quit",
        SIGILL => "illegal instruction",
        SIGTRAP => "trace/breakpoint trap",
        SIGABRT => "aborted",
        SIGBUS => "bus error",
        SIGFPE => "floating point exception",
        SIGKILL => "killed",
        SIGUSR1 => "user defined signal 1",
        SIGSEGV => "segmentation fault",
        SIGUSR2 => "user defined signal 2",
        SIGPIPE => "broken pipe",
        SIGALRM => "alarm clock",
        SIGTERM => "terminated",
        SIGSTKFLT => "stack fault",
        SIGCHLD => "child exited",
        SIGCONT => "continued",
        SIGSTOP => "stopped (signal)",
        SIGTSTP => "stopped",
        SIGTTIN => "stopped (tty input)",
        SIGTTOU => "stopped (tty output)",
        SIGURG => "urgent I/O condition",
        SIGXCPU => "CPU time limit exceeded",
        SIGXFSZ => "file size limit exceeded",
        SIGVTALRM => "virtual timer expired",
        SIGPROF => "profiling timer expired",
        SIGWINCH => "window changed",
        SIGIO => "I/O possible",
        SIGPWR => "power failure",
        SIGSYS => "bad system call",
        _ => return format!("signal {}", signal as i32),
    };
    text.to_owned()
}

#[derive(Debug)]
struct Inner {
    waiters: Mutex<HashMap<i32, oneshot::Sender<ExitInfo>>>,
    reap_orphans: bool,
}

/// Hands out exit statuses of the children it spawned.
#[derive(Clone, Debug)]
pub(crate) struct Reaper {
    inner: Arc<Inner>,
}

/// Polling interval of the safety net behind SIGCHLD (signals coalesce, and
/// a missed one must not leave a zombie until the next child exits).
const POLL: Duration = Duration::from_secs(1);

impl Reaper {
    /// Starts the reaping task on the current Tokio runtime.
    pub(crate) fn start(reap_orphans: bool) -> io::Result<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("envd must be created inside a Tokio runtime"));
        }
        let mut sigchld = signal(SignalKind::child())?;
        if reap_orphans && std::process::id() != 1 {
            // Orphans below envd are re-parented to it instead of to the
            // system's init, so it can reap them.
            nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)?;
        }
        let inner = Arc::new(Inner { waiters: Mutex::new(HashMap::new()), reap_orphans });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = sigchld.recv() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
                let Some(inner) = weak.upgrade() else { break };
                inner.reap();
            }
        });
        Ok(Reaper { inner })
    }

    /// Spawns `command` and returns the child with a receiver for its exit.
    pub(crate) fn spawn(&self, command: &mut Command) -> io::Result<(Child, oneshot::Receiver<ExitInfo>)> {
        let mut waiters = self.inner.lock();
        let child = command.spawn()?;
        let (tx, rx) = oneshot::channel();
        waiters.insert(child.id() as i32, tx);
        Ok((child, rx))
    }

    /// Pids of children that have not been reaped yet.
    pub(crate) fn tracked(&self) -> Vec<i32> {
        self.inner.lock().keys().copied().collect()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<ExitInfo>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reap(&self) {
        let mut waiters = self.lock();
        if self.reap_orphans {
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(status) => deliver(&mut waiters, status),
                }
            }
        } else {
            let pids: Vec<i32> = waiters.keys().copied().collect();
            for pid in pids {
                match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => {}
                    Ok(status) => deliver(&mut waiters, status),
                    Err(nix::errno::Errno::ECHILD) => {
                        // Someone else reaped it; report an unknown end
                        // rather than waiting forever.
                        if let Some(tx) = waiters.remove(&pid) {
                            let _ = tx.send(ExitInfo { code: -1, exited: false, status: "unknown".into() });
                        }
                    }
                    Err(_) => {}
                }
            }
        }
    }
}

fn deliver(waiters: &mut HashMap<i32, oneshot::Sender<ExitInfo>>, status: WaitStatus) {
    let (Some(pid), Some(info)) = (status.pid(), ExitInfo::from_wait_status(status)) else { return };
    if let Some(tx) = waiters.remove(&pid.as_raw()) {
        let _ = tx.send(info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        assert!(Reaper::start(false).is_err());
    }

    #[test]
    fn status_texts() {
        let pid = Pid::from_raw(1);
        let ok = ExitInfo::from_wait_status(WaitStatus::Exited(pid, 0)).unwrap();
        assert_eq!((ok.code, ok.exited, ok.status.as_str(), ok.error()), (0, true, "exit status 0", None));
        let failed = ExitInfo::from_wait_status(WaitStatus::Exited(pid, 2)).unwrap();
        assert_eq!(failed.error().as_deref(), Some("exit status 2"));
        let killed = ExitInfo::from_wait_status(WaitStatus::Signaled(pid, Signal::SIGKILL, false)).unwrap();
        assert_eq!((killed.code, killed.exited, killed.status.as_str()), (-1, false, "signal: killed"));
        assert_eq!(killed.error().as_deref(), Some("signal: killed"));
        let term = ExitInfo::from_wait_status(WaitStatus::Signaled(pid, Signal::SIGTERM, false)).unwrap();
        assert_eq!(term.status, "signal: terminated");
    }
}
