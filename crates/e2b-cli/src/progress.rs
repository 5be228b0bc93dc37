//! Progress shown on stderr: template builds and file transfers. Bars are drawn only on a
//! terminal; elsewhere a template build prints one line per step and transfers are quiet.

use std::io::IsTerminal as _;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use e2b_local::runtime::TemplateProgress;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncRead, ReadBuf};

/// The phases of a `base` build as mmdebstrap reports them, in order: the bar advances to
/// the phase a progress line names.
const BUILD_PHASES: [&str; 8] = [
    "running apt-get update",
    "downloading packages",
    "extracting archives",
    "installing essential packages",
    "installing remaining packages",
    "running --customize-hook",
    "cleaning package lists",
    "success",
];

static TEMPLATE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Reports a template build (the runtime calls this from its own threads).
pub(crate) fn template(event: TemplateProgress) {
    if !stderr_is_terminal() {
        e2b_local::cli::print_progress(event);
        return;
    }
    let mut slot = TEMPLATE_BAR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match event {
        TemplateProgress::Started { name, reason } => {
            let bar = ProgressBar::new(BUILD_PHASES.len() as u64).with_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {wide_msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("building template {name:?} ({reason})"));
            bar.enable_steady_tick(Duration::from_millis(200));
            *slot = Some(bar);
        }
        TemplateProgress::Step { message, .. } => {
            if let Some(bar) = slot.as_ref() {
                if let Some(phase) = BUILD_PHASES.iter().position(|p| message.starts_with(p)) {
                    bar.set_position(bar.position().max(phase as u64 + 1));
                }
                bar.set_message(message);
            }
        }
        TemplateProgress::Finished { name, seconds } => {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
            eprintln!("template {name:?} built in {seconds:.0} s");
        }
        _ => {}
    }
}

/// A bar for a transfer of `total` bytes (unknown: a byte counter).
pub(crate) fn transfer(label: &str, total: Option<u64>) -> ProgressBar {
    if !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{prefix} {bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{prefix} {spinner} {bytes} {binary_bytes_per_sec}")
                .expect("a valid template"),
        ),
    };
    bar.set_prefix(label.to_string());
    bar
}

/// An `AsyncRead` that advances a bar by what is read through it.
pub(crate) struct Counted<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> Counted<R> {
    pub(crate) fn new(inner: R, bar: ProgressBar) -> Self {
        Self { inner, bar }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.bar.inc(read as u64);
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    #[tokio::test]
    async fn counted_reads_advance_the_bar() {
        let bar = ProgressBar::hidden();
        let mut reader = Counted::new(&b"hello world"[..], bar.clone());
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(bar.position(), 11);
    }

    #[test]
    fn phases_follow_mmdebstrap_order() {
        let at = |line: &str| BUILD_PHASES.iter().position(|p| line.starts_with(p));
        assert_eq!(at("downloading packages with apt..."), Some(1));
        assert_eq!(at("success in 61.20 seconds"), Some(7));
        assert_eq!(at("chroot architecture amd64 is equal to the host's architecture"), None);
    }
}
