//! A run on the browser's event loop: the core scheduler over fetch, writing into shared
//! `Stats`; a timer takes a snapshot for the page four times a second (never per request).

use std::cell::RefCell;
use std::rc::Rc;

use flak_core::{Clock as _, Plan, Scheduler, Stats, StopSignal};
use gloo_timers::callback::Interval;
use yew::Callback;

use super::clock::BrowserClock;
use super::fetch::FetchTransport;
use super::timing::ResourceWatch;
use crate::config::FetchOptions;
use crate::snapshot::Snapshot;
use crate::state::Honesty;

pub const SNAPSHOT_MS: u32 = 250;

/// What the page hears from a run.
#[derive(Clone)]
pub struct Listeners {
    /// A live snapshot, seconds since the start, and what the browser did so far: one
    /// callback, so the page renders once per tick.
    pub progress: Callback<(Rc<Snapshot>, f64, Honesty)>,
    pub finished: Callback<(Rc<Snapshot>, f64, bool, Honesty)>,
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
        stats: Rc::new(RefCell::new(Stats::new(plan.rate.is_some()))),
        plan: Rc::new(plan),
    };
    let run = handle.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let clock = BrowserClock::new();
        let t0 = clock.now();
        let watch = Rc::new(ResourceWatch::start(&target));
        let ticker = {
            let stats = Rc::clone(&run.stats);
            let listeners = listeners.clone();
            let watch = Rc::clone(&watch);
            let clock = BrowserClock::new();
            Interval::new(SNAPSHOT_MS, move || {
                let snapshot = Rc::new(Snapshot::live(&stats.borrow()));
                let elapsed = (clock.now() - t0).as_secs_f64();
                listeners.progress.emit((snapshot, elapsed, watch.read()));
            })
        };
        Scheduler::new(&run.plan, &transport, &clock)
            .stop_signal(run.stop.clone())
            .run(&run.stats)
            .await;
        drop(ticker);
        let elapsed = (clock.now() - t0).as_secs_f64();
        let snapshot = Rc::new(Snapshot::of(&run.stats.borrow()));
        let honesty = watch.read();
        watch.stop();
        listeners
            .finished
            .emit((snapshot, elapsed, run.stop.is_stopped(), honesty));
    });
    Ok(handle)
}
