//! A run on the browser's event loop: the core scheduler over fetch, writing into shared
//! `Stats`; a timer takes a snapshot for the page four times a second (never per request),
//! whose chart data changes once a second.

use std::cell::RefCell;
use std::rc::Rc;

use flak_core::{Clock as _, Plan, Scheduler, Stats, StopSignal};
use gloo_timers::callback::Interval;
use yew::Callback;

use super::clock::BrowserClock;
use super::drive::drive;
use super::fetch::{FetchOptions, FetchTransport};
use super::timing::{ResourceWatch, TimingReading};
use crate::snapshot::{Point, Snapshot};

pub const SNAPSHOT_MS: u32 = 250;

/// The time charts plot whole seconds and the latency histogram changes slowly, yet redrawing
/// them was most of a tick's cost (Yew's diff of a few hundred SVG attributes, then style,
/// layout, paint and raster), on the main thread the fetches are issued from. So a live
/// snapshot carries the chart data of the second the run is in, refreshed when a new second
/// starts: charts are equal between, and Yew skips them; the counters still move every tick.
#[derive(Default)]
struct HeldCharts {
    second: Option<u64>,
    series: Vec<Point>,
    bars: Vec<(f64, u64)>,
}

impl HeldCharts {
    fn hold(&mut self, snapshot: &mut Snapshot, elapsed_s: f64) {
        let second = elapsed_s as u64;
        if self.second == Some(second) {
            snapshot.series.clone_from(&self.series);
            snapshot.bars.clone_from(&self.bars);
        } else {
            self.second = Some(second);
            self.series.clone_from(&snapshot.series);
            self.bars.clone_from(&snapshot.bars);
        }
    }
}

/// What the page hears from a run.
#[derive(Clone)]
pub struct Listeners {
    /// A live snapshot, seconds since the start, and what the browser did so far: one
    /// callback, so the page renders once per tick.
    pub progress: Callback<(Rc<Snapshot>, f64, TimingReading)>,
    /// The final snapshot, seconds, whether Stop ended it, and what the browser did.
    pub finished: Callback<(Rc<Snapshot>, f64, bool, TimingReading)>,
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
        let clock = BrowserClock::new();
        let t0 = clock.now();
        let watch = Rc::new(ResourceWatch::start(&target));
        let ticker = {
            let stats = Rc::clone(&run.stats);
            let plan = Rc::clone(&run.plan);
            let listeners = listeners.clone();
            let watch = Rc::clone(&watch);
            let clock = BrowserClock::new();
            let mut charts = HeldCharts::default();
            Interval::new(SNAPSHOT_MS, move || {
                let mut snapshot = Snapshot::live(&stats.borrow(), Some(&plan));
                let elapsed = (clock.now() - t0).as_secs_f64();
                charts.hold(&mut snapshot, elapsed);
                listeners
                    .progress
                    .emit((Rc::new(snapshot), elapsed, watch.read()));
            })
        };
        Scheduler::new(&run.plan, &transport, &clock)
            .stop_signal(run.stop.clone())
            .run(&run.stats)
            .await;
        drop(ticker);
        let elapsed = (clock.now() - t0).as_secs_f64();
        let snapshot = Rc::new(Snapshot::of(&run.stats.borrow(), Some(&run.plan)));
        let timing = watch.read();
        watch.stop();
        listeners
            .finished
            .emit((snapshot, elapsed, run.stop.is_stopped(), timing));
    });
    Ok(handle)
}
