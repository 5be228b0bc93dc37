//! [`Pty`]: interactive terminals in a sandbox — a login shell on a
//! pseudo-terminal whose raw output arrives as bytes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use e2b::{CommandResult, PtySize, Result};

use crate::iter::OutputIter;
use crate::runtime;

/// Terminals in a sandbox; from [`Sandbox::pty`](crate::Sandbox::pty).
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// use e2b_blocking::PtySize;
///
/// let terminal = sandbox
///     .pty()
///     .create(PtySize { rows: 24, cols: 80 })
///     .on_data(|bytes| print!("{}", String::from_utf8_lossy(bytes)))
///     .send()?;
/// terminal.send_stdin("ls -la\n")?;
/// terminal.send_stdin("exit\n")?;
/// terminal.wait()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Pty {
    inner: e2b::Pty,
}

impl From<e2b::Pty> for Pty {
    fn from(inner: e2b::Pty) -> Self {
        Self { inner }
    }
}

impl Pty {
    /// Starts an interactive login shell (`/bin/bash -i -l`) on a new
    /// terminal of `size`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let terminal = sandbox.pty().create(e2b_blocking::PtySize { rows: 40, cols: 120 }).cwd("/home/user").send()?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn create(&self, size: PtySize) -> CreatePty {
        CreatePty { inner: self.inner.create(size) }
    }

    /// Reattaches to a running terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let terminal = sandbox.pty().connect(pid).on_data(|b| print!("{}", String::from_utf8_lossy(b))).send()?;
    /// # let _ = terminal; Ok(()) }
    /// ```
    pub fn connect(&self, pid: u32) -> ConnectPty {
        ConnectPty { inner: self.inner.connect(pid) }
    }

    /// Types into a terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pty().send_stdin(pid, "echo hi\n")?;
    /// # Ok(()) }
    /// ```
    pub fn send_stdin(&self, pid: u32, data: impl Into<Bytes>) -> Result<()> {
        let (pty, data) = (self.inner.clone(), data.into());
        runtime::run("Pty::send_stdin", async move { pty.send_stdin(pid, data).await })
    }

    /// Resizes a terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pty().resize(pid, e2b_blocking::PtySize { rows: 50, cols: 200 })?;
    /// # Ok(()) }
    /// ```
    pub fn resize(&self, pid: u32, size: PtySize) -> Result<()> {
        let pty = self.inner.clone();
        runtime::run("Pty::resize", async move { pty.resize(pid, size).await })
    }

    /// Kills a terminal's shell (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// sandbox.pty().kill(pid)?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, pid: u32) -> Result<bool> {
        let pty = self.inner.clone();
        runtime::run("Pty::kill", async move { pty.kill(pid).await })
    }
}

/// A terminal to start; from [`Pty::create`]. Finish with
/// [`send`](Self::send) for a [`PtyHandle`].
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let terminal = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).user("root").send()?;
/// # let _ = terminal; Ok(()) }
/// ```
#[must_use = "a terminal does nothing until it is sent"]
pub struct CreatePty {
    inner: e2b::CreatePty,
}

impl fmt::Debug for CreatePty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::CreatePty> for CreatePty {
    fn from(inner: e2b::CreatePty) -> Self {
        Self { inner }
    }
}

impl CreatePty {
    /// Runs the shell as this user.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).user("root").send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn user(self, user: impl Into<String>) -> Self {
        Self { inner: self.inner.user(user) }
    }

    /// Starts the shell in this directory.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).cwd("/tmp").send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn cwd(self, cwd: impl Into<String>) -> Self {
        Self { inner: self.inner.cwd(cwd) }
    }

    /// Sets an environment variable (`TERM`, `LANG` and `LC_ALL` default to
    /// `xterm-256color`, `C.UTF-8` and `C.UTF-8`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).env("TERM", "vt100").send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn env(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { inner: self.inner.env(name, value) }
    }

    /// How long the shell may run (default 60 s; `Duration::ZERO` for no
    /// limit). envd kills it when the time is up.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).timeout(std::time::Duration::ZERO).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How long to wait for envd to start the shell.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let size = e2b_blocking::PtySize { rows: 24, cols: 80 };
    /// let t = sandbox.pty().create(size).request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Called with the terminal's raw output as it arrives, on a worker
    /// thread of the runtime (keep it short; blocking calls of this crate
    /// return an error there).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let size = e2b_blocking::PtySize { rows: 24, cols: 80 };
    /// let t = sandbox.pty().create(size).on_data(|b| print!("{}", String::from_utf8_lossy(b))).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn on_data(self, callback: impl FnMut(&[u8]) + Send + 'static) -> Self {
        Self { inner: self.inner.on_data(callback) }
    }

    /// Starts the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn send(self) -> Result<PtyHandle> {
        runtime::run("CreatePty::send", self.inner.send()).map(PtyHandle::new)
    }
}

/// Reattaches to a terminal; from [`Pty::connect`]. Finish with
/// [`send`](Self::send) for a [`PtyHandle`].
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
/// let t = sandbox.pty().connect(pid).timeout(std::time::Duration::ZERO).send()?;
/// # let _ = t; Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct ConnectPty {
    inner: e2b::ConnectPty,
}

impl fmt::Debug for ConnectPty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<e2b::ConnectPty> for ConnectPty {
    fn from(inner: e2b::ConnectPty) -> Self {
        Self { inner }
    }
}

impl ConnectPty {
    /// How long to follow the terminal (default 60 s; `Duration::ZERO` for
    /// ever).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().connect(pid).timeout(std::time::Duration::from_secs(600)).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.timeout(timeout) }
    }

    /// How long to wait for envd to confirm.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().connect(pid).request_timeout(std::time::Duration::from_secs(5)).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.request_timeout(timeout) }
    }

    /// Called with the terminal's raw output from now on, on a worker
    /// thread of the runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().connect(pid).on_data(|b| print!("{}", String::from_utf8_lossy(b))).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn on_data(self, callback: impl FnMut(&[u8]) + Send + 'static) -> Self {
        Self { inner: self.inner.on_data(callback) }
    }

    /// Attaches.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox, pid: u32) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().connect(pid).send()?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn send(self) -> Result<PtyHandle> {
        runtime::run("ConnectPty::send", self.inner.send()).map(PtyHandle::new)
    }
}

/// A running terminal. Dropping it stops reading; the shell keeps running
/// until it exits or its timeout elapses.
///
/// # Example
///
/// ```no_run
/// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
/// let terminal = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
/// let output = terminal.output();
/// terminal.send_stdin("echo ready\n")?;
/// for bytes in output {
///     if String::from_utf8_lossy(&bytes?).contains("ready") {
///         break;
///     }
/// }
/// terminal.kill()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PtyHandle {
    inner: Arc<e2b::PtyHandle>,
}

impl fmt::Debug for PtyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl PtyHandle {
    fn new(inner: e2b::PtyHandle) -> Self {
        Self { inner: Arc::new(inner) }
    }

    /// The shell's process ID.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// println!("{}", t.pid());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Types into the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// t.send_stdin(&b"\x04"[..])?; // Ctrl-D
    /// # Ok(()) }
    /// ```
    pub fn send_stdin(&self, data: impl Into<Bytes>) -> Result<()> {
        let (handle, data) = (self.inner.clone(), data.into());
        runtime::run("PtyHandle::send_stdin", async move { handle.send_stdin(data).await })
    }

    /// Resizes the terminal.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// t.resize(e2b_blocking::PtySize { rows: 48, cols: 160 })?;
    /// # Ok(()) }
    /// ```
    pub fn resize(&self, size: PtySize) -> Result<()> {
        let handle = self.inner.clone();
        runtime::run("PtyHandle::resize", async move { handle.resize(size).await })
    }

    /// Waits for the shell to exit; a non-zero exit is
    /// [`Error::CommandExit`](crate::Error::CommandExit). The output went to
    /// `on_data` and [`output`](Self::output), so the result's stdout and
    /// stderr are empty.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// t.send_stdin("exit 0\n")?;
    /// t.wait()?;
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) -> Result<CommandResult> {
        let handle = self.inner.clone();
        runtime::run("PtyHandle::wait", async move { handle.wait().await })
    }

    /// Kills the shell (SIGKILL); `false` if it no longer exists.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// t.kill()?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> Result<bool> {
        let handle = self.inner.clone();
        runtime::run("PtyHandle::kill", async move { handle.kill().await })
    }

    /// Stops following the terminal without stopping it. Needs no runtime.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let size = e2b_blocking::PtySize { rows: 24, cols: 80 };
    /// let t = sandbox.pty().create(size).timeout(std::time::Duration::ZERO).send()?;
    /// t.disconnect();
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// The raw output as an iterator that waits for each chunk and ends
    /// with the shell. Only the first call gets the chunks.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # fn demo(sandbox: e2b_blocking::Sandbox) -> Result<(), e2b_blocking::Error> {
    /// let t = sandbox.pty().create(e2b_blocking::PtySize { rows: 24, cols: 80 }).send()?;
    /// let output = t.output();
    /// # let _ = output; Ok(()) }
    /// ```
    pub fn output(&self) -> OutputIter<Bytes> {
        OutputIter::new(self.inner.output(), "PtyHandle::output")
    }
}
