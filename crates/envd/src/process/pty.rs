//! The master side of a pseudo-terminal, driven by Tokio's reactor.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use bytes::{Bytes, BytesMut};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::spawn::winsize;

/// A non-blocking PTY master: output is read from it, input and resizes go
/// to it.
#[derive(Debug)]
pub(crate) struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

impl PtyMaster {
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Self> {
        let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
        fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        // SAFETY: the `OwnedFd` moves into the `AsyncFd` and stays open, and
        // the same descriptor, for as long as the `AsyncFd` lives.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }?;
        Ok(PtyMaster { fd })
    }

    /// Reads up to `max` bytes; `None` at end of output. Linux reports the
    /// end (every slave descriptor closed) as EIO, not as a zero read.
    pub(crate) async fn read_chunk(&self, max: usize) -> io::Result<Option<Bytes>> {
        let mut buf = BytesMut::zeroed(max);
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| {
                let n = nix::unistd::read(fd.get_ref(), &mut buf).map_err(io::Error::from)?;
                Ok(n)
            }) {
                Ok(Ok(0)) => return Ok(None),
                Ok(Ok(n)) => {
                    buf.truncate(n);
                    return Ok(Some(buf.freeze()));
                }
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(None),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `data` to the terminal (the process's input).
    pub(crate) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Sets the terminal size (the kernel sends SIGWINCH to its foreground
    /// process group).
    pub(crate) fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        let size = winsize(cols, rows);
        // SAFETY: TIOCSWINSZ reads one `winsize` from the valid pointer.
        let rc = unsafe { libc::ioctl(self.fd.get_ref().as_raw_fd(), libc::TIOCSWINSZ, &size) };
        if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }
}
