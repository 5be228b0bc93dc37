//! One running (or recently ended) process: its input side, the streams
//! attached to its output, and its end event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use e2b_proto::process::process_event::{DataEvent, EndEvent, Event, KeepAlive, StartEvent, data_event};
use e2b_proto::process::{ProcessConfig, ProcessEvent};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::pty::PtyMaster;

/// How many output chunks may wait for one attached stream before the
/// process is slowed down (upstream's buffer size).
pub(crate) const OUTPUT_QUEUE: usize = 64;

/// Why input, resize or close-stdin failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("stdin not enabled or closed")]
    StdinClosed,
    #[error("tty assigned to process, input should be written to the pty, not the stdin")]
    PtyNotStdin,
    #[error("tty not assigned to process, input should be written to the stdin, not the tty")]
    NotPty,
    #[error("cannot close stdin for PTY process, send Ctrl+D (0x04) instead")]
    ClosePty,
    #[error("error writing to process {pid}: {source}")]
    Write { pid: u32, source: std::io::Error },
    #[error("error resizing the terminal of process {pid}: {source}")]
    Resize { pid: u32, source: std::io::Error },
}

#[derive(Debug)]
enum Input {
    Pipe(tokio::sync::Mutex<Option<pipe::Sender>>),
    Pty(Mutex<Option<Arc<PtyMaster>>>),
}

#[derive(Debug, Default)]
struct Attached {
    /// Replaced (never mutated) on change, so publishing a chunk clones one
    /// `Arc` instead of a vector of senders.
    streams: Arc<Vec<mpsc::Sender<ProcessEvent>>>,
    end: Option<EndEvent>,
}

/// A process envd started.
#[derive(Debug)]
pub(crate) struct ProcessHandle {
    pub(crate) pid: u32,
    /// Start order, for "first process with this tag" and stable listings.
    pub(crate) seq: u64,
    /// The request's config, reported unchanged by List.
    pub(crate) config: ProcessConfig,
    pub(crate) tag: Option<String>,
    input: Input,
    attached: Mutex<Attached>,
    /// Cancelled when output must no longer be read (SIGKILL/SIGTERM through
    /// SendSignal, or the Start timeout): a grandchild holding the pipes
    /// open must not delay the end event then.
    pub(crate) stop_output: CancellationToken,
    /// Set once the exit status was collected: the pid may then belong to
    /// another process, so no more signals are sent to it.
    reaped: Arc<AtomicBool>,
}

pub(crate) fn event(event: Event) -> ProcessEvent {
    ProcessEvent { event: Some(event) }
}

pub(crate) fn keepalive() -> ProcessEvent {
    event(Event::Keepalive(KeepAlive {}))
}

impl ProcessHandle {
    pub(crate) fn with_pipe(
        pid: u32,
        seq: u64,
        config: ProcessConfig,
        tag: Option<String>,
        stdin: Option<pipe::Sender>,
        reaped: Arc<AtomicBool>,
    ) -> Self {
        Self::new(pid, seq, config, tag, Input::Pipe(tokio::sync::Mutex::new(stdin)), reaped)
    }

    pub(crate) fn with_pty(
        pid: u32,
        seq: u64,
        config: ProcessConfig,
        tag: Option<String>,
        master: Arc<PtyMaster>,
        reaped: Arc<AtomicBool>,
    ) -> Self {
        Self::new(pid, seq, config, tag, Input::Pty(Mutex::new(Some(master))), reaped)
    }

    fn new(
        pid: u32,
        seq: u64,
        config: ProcessConfig,
        tag: Option<String>,
        input: Input,
        reaped: Arc<AtomicBool>,
    ) -> Self {
        ProcessHandle {
            pid,
            seq,
            config,
            tag,
            input,
            attached: Mutex::new(Attached::default()),
            stop_output: CancellationToken::new(),
            reaped,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Attached> {
        self.attached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches a new stream. Its first event is `start`; if the process has
    /// already ended, the stream gets `start` and the kept `end` and closes.
    pub(crate) fn attach(&self) -> mpsc::Receiver<ProcessEvent> {
        let start = event(Event::Start(StartEvent { pid: self.pid }));
        let mut attached = self.lock();
        if let Some(end) = &attached.end {
            let (tx, rx) = mpsc::channel(2);
            let _ = tx.try_send(start);
            let _ = tx.try_send(event(Event::End(end.clone())));
            return rx;
        }
        let (tx, rx) = mpsc::channel(OUTPUT_QUEUE);
        let _ = tx.try_send(start);
        let mut streams = Vec::with_capacity(attached.streams.len() + 1);
        streams.extend(attached.streams.iter().filter(|s| !s.is_closed()).cloned());
        streams.push(tx);
        attached.streams = Arc::new(streams);
        rx
    }

    /// Delivers one output chunk to every attached stream, waiting while a
    /// stream's queue is full. Nobody attached: the chunk is dropped.
    pub(crate) async fn publish(&self, output: data_event::Output) {
        let streams = Arc::clone(&self.lock().streams);
        if streams.is_empty() {
            return;
        }
        let message = event(Event::Data(DataEvent { output: Some(output) }));
        let mut saw_closed = false;
        for stream in streams.iter() {
            match stream.try_send(message.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => saw_closed = true,
                Err(mpsc::error::TrySendError::Full(message)) => {
                    tokio::select! {
                        sent = stream.send(message) => saw_closed |= sent.is_err(),
                        _ = self.stop_output.cancelled() => return,
                    }
                }
            }
        }
        if saw_closed {
            let mut attached = self.lock();
            let open: Vec<_> = attached.streams.iter().filter(|s| !s.is_closed()).cloned().collect();
            attached.streams = Arc::new(open);
        }
    }

    /// Records the end event, sends it to every attached stream and closes
    /// them. Input is closed: nothing reads it any more.
    pub(crate) async fn finish(&self, end: EndEvent) {
        let streams = {
            let mut attached = self.lock();
            attached.end = Some(end.clone());
            std::mem::take(&mut attached.streams)
        };
        match &self.input {
            Input::Pipe(stdin) => drop(stdin.lock().await.take()),
            Input::Pty(master) => drop(master.lock().unwrap_or_else(|e| e.into_inner()).take()),
        }
        let message = event(Event::End(end));
        // Concurrently, so one stalled reader does not hold up the others.
        futures::future::join_all(streams.iter().map(|s| s.send(message.clone()))).await;
    }

    pub(crate) async fn write_stdin(&self, data: &[u8]) -> Result<(), InputError> {
        let Input::Pipe(stdin) = &self.input else { return Err(InputError::PtyNotStdin) };
        let mut stdin = stdin.lock().await;
        let pipe = stdin.as_mut().ok_or(InputError::StdinClosed)?;
        pipe.write_all(data).await.map_err(|source| InputError::Write { pid: self.pid, source })
    }

    pub(crate) async fn write_pty(&self, data: &[u8]) -> Result<(), InputError> {
        let master = self.pty_master()?;
        master.write_all(data).await.map_err(|source| InputError::Write { pid: self.pid, source })
    }

    /// Closes the stdin pipe so the process reads EOF; idempotent.
    pub(crate) async fn close_stdin(&self) -> Result<(), InputError> {
        let Input::Pipe(stdin) = &self.input else { return Err(InputError::ClosePty) };
        drop(stdin.lock().await.take());
        Ok(())
    }

    pub(crate) fn resize(&self, cols: u16, rows: u16) -> Result<(), InputError> {
        self.pty_master()?.resize(cols, rows).map_err(|source| InputError::Resize { pid: self.pid, source })
    }

    fn pty_master(&self) -> Result<Arc<PtyMaster>, InputError> {
        let Input::Pty(master) = &self.input else { return Err(InputError::NotPty) };
        master.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or(InputError::StdinClosed)
    }

    /// Sends `signal` to the process (not its group). Killing or
    /// terminating also stops output reading, as upstream does.
    pub(crate) fn signal(&self, signal: Signal) -> nix::Result<()> {
        if matches!(signal, Signal::SIGKILL | Signal::SIGTERM) {
            self.stop_output.cancel();
        }
        if self.reaped.load(Ordering::SeqCst) {
            return Ok(());
        }
        kill(Pid::from_raw(self.pid as i32), signal)
    }

    /// Sends `signal` to the process's whole group (shutdown).
    pub(crate) fn signal_group(&self, signal: Signal) {
        if self.reaped.load(Ordering::SeqCst) {
            return;
        }
        let _ = nix::sys::signal::killpg(Pid::from_raw(self.pid as i32), signal);
        let _ = kill(Pid::from_raw(self.pid as i32), signal);
    }
}

/// Output chunk constructors, so readers stay generic over the stream kind.
pub(crate) fn stdout(chunk: Bytes) -> data_event::Output {
    data_event::Output::Stdout(chunk)
}

pub(crate) fn stderr(chunk: Bytes) -> data_event::Output {
    data_event::Output::Stderr(chunk)
}

pub(crate) fn pty(chunk: Bytes) -> data_event::Output {
    data_event::Output::Pty(chunk)
}
