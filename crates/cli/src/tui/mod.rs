//! The live terminal view: a few lines on stderr under the prompt, redrawn at most four times a
//! second from the run's live statistics (`metrics::Live`, the source `--metrics` reads), and
//! cleared at the end so the report on stdout stands alone. Drawn by indicatif, which counts
//! wrapped lines and prints Ctrl-C's message above the view; `frame.rs` says what it shows.

pub mod frame;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flak_core::{Plan, Shard};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::Live;
use crate::run::interrupt;
use frame::{Context, History};

/// The most frames a second; the drawing thread reads the live statistics this often.
pub const FRAMES_PER_SECOND: u8 = 4;

/// Whether the view is shown: stdout and stderr both terminals (a report piped or redirected
/// somewhere wants no escape codes around it), not in CI (`CI` set, as CI services do), and
/// neither `--no-tui` nor `--no-progress`.
pub fn wanted(no_tui: bool, no_progress: bool) -> bool {
    !no_tui
        && !no_progress
        && std::env::var_os("CI").is_none()
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

/// The view while a run lasts; [`View::finish`] clears it.
pub struct View {
    bar: ProgressBar,
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl View {
    /// Starts drawing `live`'s statistics for `plan` (this process's `shard` of it).
    pub fn start(plan: &Plan, shard: Shard, live: Arc<Live>) -> Self {
        let bar = ProgressBar::with_draw_target(
            None,
            ProgressDrawTarget::stderr_with_hz(FRAMES_PER_SECOND),
        );
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        interrupt::print_above(Some(bar.clone()));
        let ctx = Context::of(plan, shard);
        let (stop, stopped) = mpsc::channel::<()>();
        let drawn = bar.clone();
        let thread = std::thread::Builder::new()
            .name("flak-tui".into())
            .spawn(move || draw(&drawn, &ctx, &live, &stopped))
            .ok();
        Self { bar, stop, thread }
    }

    /// Stops drawing and clears the view's lines.
    pub fn finish(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        interrupt::print_above(None);
        self.bar.finish_and_clear();
    }
}

/// Reads and draws on a fixed beat until told to stop.
fn draw(bar: &ProgressBar, ctx: &Context, live: &Live, stopped: &mpsc::Receiver<()>) {
    let period = Duration::from_secs(1) / u32::from(FRAMES_PER_SECOND);
    let start = Instant::now();
    let mut history = History::default();
    let mut next = start;
    loop {
        if let Some((snapshot, asked)) = live.read() {
            history.push(start.elapsed(), snapshot);
            bar.set_message(history.render(ctx, asked));
        }
        next += period;
        match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
