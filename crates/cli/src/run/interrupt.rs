//! Ctrl-C: the first stops issuing and gives in-flight requests a grace period before they are
//! cancelled; the second cancels them at once; the third exits without a report.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use flak_core::StopSignal;
use indicatif::ProgressBar;

/// The live view drawn on stderr, if any: the handler's message goes above it, where writing
/// straight to stderr would be drawn over.
static ABOVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Prints the handler's messages above `view` while it is drawn (`None`: straight to stderr).
pub fn print_above(view: Option<ProgressBar>) {
    *ABOVE.lock().unwrap_or_else(PoisonError::into_inner) = view;
}

fn say(line: &str) {
    match &*ABOVE.lock().unwrap_or_else(PoisonError::into_inner) {
        Some(view) => view.println(line),
        None => eprintln!("\n{line}"),
    }
}

/// Installs the handler; the returned flag says whether the run was interrupted.
pub fn install(stop: StopSignal, grace: Duration) -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let presses = AtomicU8::new(0);
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        match presses.fetch_add(1, Ordering::SeqCst) {
            0 => {
                say(&format!(
                    "flak: stopping; waiting up to {} for requests in flight (Ctrl-C again to cancel them)",
                    flak_core::plan::format_duration(grace)
                ));
                stop.stop();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(grace);
                    stop.abort();
                });
            }
            1 => stop.abort(),
            _ => {
                // No report follows: leave the terminal without the view's lines.
                if let Some(view) = &*ABOVE.lock().unwrap_or_else(PoisonError::into_inner) {
                    view.finish_and_clear();
                }
                std::process::exit(130)
            }
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(interrupted)
}
