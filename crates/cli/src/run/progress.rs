//! Progress while a run lasts: each worker's finished count, and the bar on stderr fed from
//! them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flak_core::{Plan, StopAfter};
use indicatif::{ProgressBar, ProgressStyle};

/// Finished-request counters, one per worker, for progress displays.
#[derive(Debug, Default)]
pub struct Progress {
    pub finished: Vec<AtomicU64>,
}

impl Progress {
    pub fn total(&self) -> u64 {
        self.finished
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// A progress bar on stderr, fed from the workers' counters.
pub fn bar(plan: &Plan, progress: Arc<Progress>) -> ProgressBar {
    let (len, template) = match plan.stop {
        StopAfter::Requests(n) => (
            n,
            "{bar:40.cyan/blue} {pos}/{len} requests  {elapsed_precise}  {msg}",
        ),
        StopAfter::Duration(d) => (
            d.as_millis() as u64,
            "{bar:40.cyan/blue} {elapsed_precise}  {msg}",
        ),
    };
    // https://no-color.org: any value turns colour off.
    let template = if std::env::var_os("NO_COLOR").is_some() {
        template.replace("{bar:40.cyan/blue}", "{bar:40}")
    } else {
        template.to_string()
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("█▉ "));
    }
    let is_count = matches!(plan.stop, StopAfter::Requests(_));
    let ticker = bar.clone();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !ticker.is_finished() {
            let done = progress.total();
            if is_count {
                ticker.set_position(done);
            } else {
                ticker.set_position(start.elapsed().as_millis() as u64);
                ticker.set_message(format!("{done} requests"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    bar
}
