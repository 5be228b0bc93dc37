//! Turning a Start request into a running child: credentials, environment,
//! working directory, stdio pipes or a pseudo-terminal.

use std::ffi::{CString, OsString};
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::fcntl::OFlag;
use nix::pty::{Winsize, grantpt, posix_openpt, ptsname_r, unlockpt};
use tokio::net::unix::pipe;
use tokio::sync::oneshot;

use super::pty::PtyMaster;
use super::reaper::{ExitInfo, Reaper};
use crate::users::SystemUser;

/// The shell wrapper every command runs through, as upstream envd does:
/// `exec` keeps the reported pid the command's own, and a command that
/// cannot be executed fails the way a shell reports it (exit 127 and a
/// message on stderr) instead of failing the RPC. The OOM score, nice value
/// and I/O priority upstream's wrapper sets are applied before exec instead
/// (see `pre_exec`), saving the extra `nice`/`ionice` executions.
const WRAPPER: &str = "exec \"$@\"";

/// What upstream sets for user processes: the OOM killer prefers them over
/// envd, and they get normal CPU priority and best-effort I/O priority 4.
const OOM_SCORE_ADJ: &[u8] = b"100";
const NICE: libc::c_int = 0;
const IOPRIO_CLASS_BE: libc::c_long = 2;
const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
const IOPRIO_WHO_PROCESS: libc::c_long = 1;
const IOPRIO: libc::c_long = (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | 4;

/// Everything needed to start one process.
#[derive(Debug)]
pub(crate) struct SpawnSpec<'a> {
    pub(crate) user: &'a SystemUser,
    pub(crate) cmd: &'a str,
    pub(crate) args: &'a [String],
    /// The final environment, in order (later entries win).
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: PathBuf,
    pub(crate) stdin: bool,
    pub(crate) pty: Option<(u16, u16)>,
}

/// A started child and the ends of its stdio that envd keeps.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    pub(crate) exit: oneshot::Receiver<ExitInfo>,
    pub(crate) io: SpawnedIo,
}

#[derive(Debug)]
pub(crate) enum SpawnedIo {
    Pipes { stdin: Option<pipe::Sender>, stdout: pipe::Receiver, stderr: pipe::Receiver },
    Pty(PtyMaster),
}

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    #[error("envd is not running as root and cannot run processes as user '{0}'")]
    CannotSwitchUser(String),
    #[error("invalid environment variable name {0:?}")]
    BadEnvName(String),
    #[error("the command, an argument or the working directory contains a NUL byte")]
    Nul,
    #[error("error opening a pseudo-terminal: {0}")]
    Pty(io::Error),
    #[error("error starting process '{cmd}': {source}")]
    Start { cmd: String, source: io::Error },
}

pub(crate) fn spawn(reaper: &Reaper, spec: SpawnSpec<'_>) -> Result<Spawned, SpawnError> {
    let current_uid = nix::unistd::geteuid().as_raw();
    let credentials = if current_uid == 0 {
        Some((spec.user.uid, spec.user.gid, spec.user.groups()))
    } else if spec.user.uid == current_uid {
        None
    } else {
        return Err(SpawnError::CannotSwitchUser(spec.user.name.clone()));
    };
    for (key, _) in &spec.env {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return Err(SpawnError::BadEnvName(key.clone()));
        }
    }
    let cwd = CString::new(spec.cwd.as_os_str().as_bytes()).map_err(|_| SpawnError::Nul)?;

    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(WRAPPER).arg("--").arg(spec.cmd).args(spec.args);
    command.env_clear();
    for (key, value) in &spec.env {
        command.env(key, value);
    }

    let pty = match spec.pty {
        Some((cols, rows)) => {
            let (master, slave) = open_pty(cols, rows).map_err(SpawnError::Pty)?;
            command
                .stdin(Stdio::from(slave.try_clone().map_err(SpawnError::Pty)?))
                .stdout(Stdio::from(slave.try_clone().map_err(SpawnError::Pty)?))
                .stderr(Stdio::from(slave));
            Some(master)
        }
        None => {
            command
                .stdin(if spec.stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // A group of its own, so signals to envd's group (a terminal's
                // Ctrl+C in development) do not reach user processes.
                .process_group(0);
            None
        }
    };
    let new_session = pty.is_some();

    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on data prepared before the fork; it
    // allocates nothing (`last_os_error` builds an `Os` variant in place).
    unsafe {
        command.pre_exec(move || {
            if new_session {
                // The terminal becomes the controlling terminal of a new
                // session, so job control and SIGHUP work as in a login shell.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, OOM_SCORE_ADJ.as_ptr().cast(), OOM_SCORE_ADJ.len());
                libc::close(fd);
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
            libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0 as libc::c_long, IOPRIO);
            if let Some((uid, gid, groups)) = &credentials
                && (libc::setgroups(groups.len(), groups.as_ptr()) < 0
                    || libc::setgid(*gid) < 0
                    || libc::setuid(*uid) < 0)
            {
                return Err(io::Error::last_os_error());
            }
            // After dropping privileges, so the user must be allowed there.
            if libc::chdir(cwd.as_ptr()) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }

    let (mut child, exit) = reaper.spawn(&mut command).map_err(|source| match source.kind() {
        io::ErrorKind::InvalidInput => SpawnError::Nul,
        _ => SpawnError::Start { cmd: user_command(spec.cmd, spec.args), source },
    })?;
    // Closing envd's copies of the terminal's slave side (they live in
    // `command`) is what lets the master see EOF once the child is gone.
    drop(command);
    let pid = child.id();
    let io = match pty {
        Some(master) => SpawnedIo::Pty(master),
        None => {
            let pipe_err =
                |source: io::Error| SpawnError::Start { cmd: user_command(spec.cmd, spec.args), source };
            let stdout = child.stdout.take().map(OwnedFd::from).ok_or_else(|| pipe_err(missing()))?;
            let stderr = child.stderr.take().map(OwnedFd::from).ok_or_else(|| pipe_err(missing()))?;
            let stdin = match child.stdin.take() {
                Some(fd) => Some(pipe::Sender::from_owned_fd(OwnedFd::from(fd)).map_err(pipe_err)?),
                None => None,
            };
            SpawnedIo::Pipes {
                stdin,
                stdout: pipe::Receiver::from_owned_fd(stdout).map_err(pipe_err)?,
                stderr: pipe::Receiver::from_owned_fd(stderr).map_err(pipe_err)?,
            }
        }
    };
    Ok(Spawned { pid, exit, io })
}

fn missing() -> io::Error {
    io::Error::other("stdio pipe missing")
}

/// The user's command line as text, for messages (without the wrapper).
pub(crate) fn user_command(cmd: &str, args: &[String]) -> String {
    std::iter::once(cmd).chain(args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
}

/// Opens a pseudo-terminal pair with close-on-exec set atomically, so no
/// concurrently spawned process can inherit (and keep open) either side.
fn open_pty(cols: u16, rows: u16) -> io::Result<(PtyMaster, OwnedFd)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let slave_path = OsString::from(ptsname_r(&master)?);
    let slave = OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOCTTY).open(&slave_path)?;
    let master = PtyMaster::new(OwnedFd::from(master))?;
    master.resize(cols, rows)?;
    debug_assert!(slave.as_raw_fd() >= 0);
    Ok((master, OwnedFd::from(slave)))
}

/// The terminal size type nix uses, for the resize ioctl.
pub(crate) fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 }
}
