//! Ctrl-C: the first stops issuing and gives in-flight requests a grace period before they are
//! cancelled; the second cancels them at once; the third exits without a report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use flak_core::StopSignal;

/// Installs the handler; the returned flag says whether the run was interrupted.
pub fn install(stop: StopSignal, grace: Duration) -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let presses = AtomicU8::new(0);
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        match presses.fetch_add(1, Ordering::SeqCst) {
            0 => {
                eprintln!(
                    "\nflak: stopping; waiting up to {} for requests in flight (Ctrl-C again to cancel them)",
                    flak_core::plan::format_duration(grace)
                );
                stop.stop();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(grace);
                    stop.abort();
                });
            }
            1 => stop.abort(),
            _ => std::process::exit(130),
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(interrupted)
}
