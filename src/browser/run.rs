//! A run on an event loop (a Web Worker's, or the page's as a fallback): the core scheduler
//! over fetch, writing into shared `Stats`; a timer reports progress four times a second (never
//! per request). Nothing here needs a window.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use flak_core::{Clock as _, Plan, Scheduler, Stats, StopSignal};
use gloo_timers::callback::Interval;
use yew::Callback;

use super::clock::BrowserClock;
use super::drive::drive;
use super::fetch::{FetchOptions, FetchTransport};
use super::timing::{ResourceWatch, TimerLag, TimingReading};

/// How often a run reports its progress, in ms.
pub const SNAPSHOT_MS: u32 = 250;

/// What the run's owner hears from it.
#[derive(Clone)]
pub struct Listeners {
    /// Seconds since the start and what the browser did so far, four times a second; the
    /// statistics are the handle's.
    pub progress: Callback<(f64, TimingReading)>,
    /// Seconds, whether Stop ended it, and what the browser did; the statistics are the
    /// handle's.
    pub finished: Callback<(f64, bool, TimingReading)>,
}

/// A run in progress (or finished): stop it, or read its statistics for export.
#[derive(Clone)]
pub struct RunHandle {
    pub stop: StopSignal,
    pub stats: Rc<RefCell<Stats>>,
    pub plan: Rc<Plan>,
}

impl RunHandle {
    /// Aborts every fetch in flight at once; they count as cancelled.
    pub fn abort(&self) {
        self.stop.abort();
    }
}

pub fn start(plan: Plan, options: FetchOptions, listeners: Listeners) -> Result<RunHandle, String> {
    let transport = FetchTransport::new(&plan, options)?;
    let target = plan.requests[0].url.as_str().to_string();
    let handle = RunHandle {
        stop: StopSignal::new(),
        stats: Rc::new(RefCell::new(Stats::new(plan.is_open()))),
        plan: Rc::new(plan),
    };
    let run = handle.clone();
    drive(async move {
        let clock = Rc::new(BrowserClock::new());
        let t0 = clock.now();
        let watch = Rc::new(ResourceWatch::start(&target));
        let ticker = {
            let listeners = listeners.clone();
            let watch = Rc::clone(&watch);
            let clock = Rc::clone(&clock);
            let mut last_tick = t0;
            Interval::new(SNAPSHOT_MS, move || {
                // The ticker is a timer too: how late it fired is the event loop's lag even
                // when the run arms no timer of its own (a closed run without timeouts due).
                let now = clock.now();
                let period = Duration::from_millis(u64::from(SNAPSHOT_MS));
                clock.lag().note((now - last_tick).saturating_sub(period));
                last_tick = now;
                let mut timing = watch.read();
                timing.timer_lag = TimerLag::of(clock.lag());
                listeners.progress.emit(((now - t0).as_secs_f64(), timing));
            })
        };
        Scheduler::new(&run.plan, &transport, &*clock)
            .stop_signal(run.stop.clone())
            .run(&run.stats)
            .await;
        drop(ticker);
        let elapsed = (clock.now() - t0).as_secs_f64();
        let mut timing = watch.read();
        timing.timer_lag = TimerLag::of(clock.lag());
        watch.stop();
        listeners
            .finished
            .emit((elapsed, run.stop.is_stopped(), timing));
    });
    Ok(handle)
}
