//! `e2b connect`: an interactive shell in a sandbox through envd's pty API. On a terminal
//! ours is put in raw mode (every key goes to the sandbox, Ctrl-C included) and restored
//! afterwards; a window resize (SIGWINCH) resizes the remote terminal.

use std::io::{IsTerminal as _, Write as _};
use std::os::fd::AsFd as _;
use std::process::ExitCode;
use std::time::Duration;

use e2b::PtySize;
use nix::sys::termios::{self, SetArg, Termios};
use tokio::io::AsyncReadExt as _;
use tokio::signal::unix::{SignalKind, signal};

use crate::args::{ConnectArgs, Global};
use crate::target::Target;
use crate::{CliError, Result};

/// Size used when stdout is not a terminal.
const DEFAULT_SIZE: PtySize = PtySize { rows: 24, cols: 80 };

pub(crate) async fn connect(global: &Global, args: ConnectArgs) -> Result<ExitCode> {
    let target = Target::persistent(global).await?;
    let sandbox = target.client.connect(&args.sandbox_id).await?;
    let mut create =
        sandbox.pty().create(terminal_size().unwrap_or(DEFAULT_SIZE)).timeout(Duration::ZERO).on_data(
            |bytes| {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes);
                let _ = out.flush();
            },
        );
    if let Some(user) = args.user {
        create = create.user(user);
    }
    if let Some(cwd) = args.cwd {
        create = create.cwd(cwd);
    }
    let terminal = create.await?;
    let raw = RawMode::enable()?;
    let mut resized = signal(SignalKind::window_change()).map_err(CliError::Terminal)?;
    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; 16 * 1024];
    let mut stdin_open = true;
    let ended = loop {
        tokio::select! {
            result = terminal.wait() => break result,
            read = stdin.read(&mut buf), if stdin_open => {
                let input = match read {
                    Ok(n) if n > 0 => buf[..n].to_vec(),
                    // End of input: like typing Ctrl-D at the shell's prompt.
                    _ => {
                        stdin_open = false;
                        vec![0x04]
                    }
                };
                // A refused write means the shell is ending (it may have exited just
                // now): stop forwarding, and let `wait` tell how it ended.
                if terminal.send_stdin(input).await.is_err() {
                    stdin_open = false;
                }
            }
            _ = resized.recv() => {
                if let Some(size) = terminal_size() {
                    terminal.resize(size).await?;
                }
            }
        }
    };
    drop(raw);
    match ended {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e2b::Error::CommandExit { exit_code, .. }) => {
            Ok(ExitCode::from(u8::try_from(exit_code).unwrap_or(1)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The size of the terminal on stdout, if it is one.
fn terminal_size() -> Option<PtySize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, on a terminal fd.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_row > 0 && size.ws_col > 0)
        .then(|| PtySize { rows: u32::from(size.ws_row), cols: u32::from(size.ws_col) })
}

/// Raw mode on stdin while alive, when stdin is a terminal; the previous settings come
/// back on drop, also when the session fails.
struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    fn enable() -> Result<Self> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(Self { saved: None });
        }
        let saved = termios::tcgetattr(stdin.as_fd()).map_err(|e| CliError::Terminal(e.into()))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(|e| CliError::Terminal(e.into()))?;
        Ok(Self { saved: Some(saved) })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}
