//! The page's side of a run: starts it in a dedicated Web Worker (its own event loop, so no
//! rendering, long task or hidden-tab throttling of the page delays a request), hears its
//! snapshots and its results file, and stops it; or, when the browser cannot start the worker,
//! runs it on the page's own event loop as before and says why.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use flak_core::{Plan, Results, Stats};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use yew::Callback;

use super::fetch::{FetchOptions, FetchTransport};
use super::js_message;
use super::run::{self, RunHandle};
use super::timing::{Engine as Where, PageWatch, TimingReading};
use super::worker::{FromWorker, ToWorker};
use crate::snapshot::{Heatmap, Outcome, OutcomeLine, PercentileRun, Point, Snapshot};

/// A run that is over, however it ran.
pub struct Finished {
    pub snapshot: Rc<Snapshot>,
    pub stats: Rc<RefCell<Stats>>,
    pub plan: Option<Rc<Plan>>,
    pub elapsed_s: f64,
    /// Stop (or leaving the page) ended it.
    pub stopped: bool,
    pub timing: TimingReading,
}

/// What the page hears from a run.
#[derive(Clone)]
pub struct Listeners {
    /// A live snapshot, seconds since the start, and what the browser did so far.
    pub progress: Callback<(Rc<Snapshot>, f64, TimingReading)>,
    pub finished: Callback<Finished>,
}

/// The time charts plot whole seconds and the latency distribution changes slowly, yet redrawing
/// the charts was most of a tick's cost (Yew's diff, then each changed chart's markup parsed
/// again, style, layout, paint and raster): CPU the worker, the browser's network service and the
/// server share on a small machine (measured: 0.16–0.2 ms of the renderer's CPU per request at
/// ~500 req/s, `bench/browser-bench.mjs --cpu`), and on the page's main thread, which issues the
/// fetches when there is no worker. So a live snapshot carries the chart data of the second the
/// run is in, refreshed when a new second starts: charts are equal between, and Yew leaves them
/// be; the counters still move every tick.
#[derive(Default)]
struct HeldCharts {
    second: Option<u64>,
    charts: Option<Charts>,
}

/// What a snapshot's charts draw (the summary's counters are not held).
struct Charts {
    series: Vec<Point>,
    bars: Vec<(f64, u64)>,
    outcomes: Vec<Outcome>,
    outcome_lines: Option<Vec<OutcomeLine>>,
    percentiles: PercentileRun,
    heatmap: Heatmap,
}

impl HeldCharts {
    fn hold(&mut self, snapshot: &mut Snapshot, elapsed_s: f64) {
        let second = elapsed_s as u64;
        match &self.charts {
            Some(c) if self.second == Some(second) => {
                snapshot.series.clone_from(&c.series);
                snapshot.bars.clone_from(&c.bars);
                snapshot.outcomes.clone_from(&c.outcomes);
                snapshot.outcome_lines.clone_from(&c.outcome_lines);
                snapshot.percentiles.clone_from(&c.percentiles);
                snapshot.heatmap.clone_from(&c.heatmap);
            }
            _ => {
                self.second = Some(second);
                self.charts = Some(Charts {
                    series: snapshot.series.clone(),
                    bars: snapshot.bars.clone(),
                    outcomes: snapshot.outcomes.clone(),
                    outcome_lines: snapshot.outcome_lines.clone(),
                    percentiles: snapshot.percentiles.clone(),
                    heatmap: snapshot.heatmap.clone(),
                });
            }
        }
    }
}

/// A run in progress (or over): stop it.
pub struct Engine(Rc<Inner>);

struct Inner {
    listeners: Listeners,
    plan: Rc<Plan>,
    charts: RefCell<HeldCharts>,
    page: PageWatch,
    stop_asked: Cell<bool>,
    state: RefCell<State>,
}

enum State {
    /// Started in a worker that has not spoken yet: kept to run on the page should it fail.
    Starting(Box<InWorker>, Plan, FetchOptions),
    Worker(Box<InWorker>),
    Page(RunHandle),
    Over,
}

struct InWorker {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for InWorker {
    fn drop(&mut self) {
        // Ends its fetches too, should any still be in flight. A worker serves one run (a run
        // leaves nothing behind in the next), and the next one starts now.
        self.worker.terminate();
        prepare();
    }
}

/// Starts a run: in a worker when the browser allows one, else on the page.
pub fn start(plan: Plan, options: FetchOptions, listeners: Listeners) -> Result<Engine, String> {
    // The transport checks the headers as fetch() will: a bad one is named before the run
    // starts, wherever it then runs.
    drop(FetchTransport::new(&plan, options)?);
    let inner = Rc::new(Inner {
        listeners,
        plan: Rc::new(plan.clone()),
        charts: RefCell::default(),
        page: PageWatch::start(),
        stop_asked: Cell::new(false),
        state: RefCell::new(State::Over),
    });
    let state = if plan.journey.is_some() {
        // A journey's steps are not part of a serialized plan.
        let why = "journeys do not cross to a worker yet".to_string();
        State::Page(on_page(&inner, plan, options, why)?)
    } else {
        match in_worker(&inner, &plan, options) {
            Ok(worker) => State::Starting(Box::new(worker), plan, options),
            Err(why) => State::Page(on_page(&inner, plan, options, why)?),
        }
    };
    *inner.state.borrow_mut() = state;
    Ok(Engine(inner))
}

impl Engine {
    /// Aborts every fetch in flight at once; they count as cancelled.
    pub fn abort(&self) {
        self.0.stop_asked.set(true);
        match &*self.0.state.borrow() {
            State::Starting(w, ..) | State::Worker(w) => send(&w.worker, &ToWorker::Stop),
            State::Page(handle) => handle.abort(),
            State::Over => {}
        }
    }

    /// Stop was asked, or the run is over.
    pub fn is_stopped(&self) -> bool {
        self.0.stop_asked.get() || matches!(*self.0.state.borrow(), State::Over)
    }
}

fn send(worker: &web_sys::Worker, message: &ToWorker) {
    // Strings, numbers and booleans always clone.
    let _ = worker.post_message(&message.to_js());
}

/// The worker script's URL, which scripts/finish-dist.mjs puts in the page's loader.
fn worker_url() -> Option<String> {
    js_sys::Reflect::get(&js_sys::global(), &"flakWorker".into())
        .ok()?
        .as_string()
}

/// A worker started ahead of the next run, and why it failed if it did.
struct Spare {
    worker: web_sys::Worker,
    failed: Rc<RefCell<Option<String>>>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// What a worker's error event says: an error in the worker is an ErrorEvent with a message; a
/// script that did not load (blocked, missing, no module workers) fires a bare Event.
fn error_of(event: &web_sys::Event) -> String {
    js_sys::Reflect::get(event, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "the worker's script did not load".into())
}

fn new_worker() -> Result<web_sys::Worker, String> {
    let url = worker_url().ok_or("this build has no worker script")?;
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    web_sys::Worker::new_with_options(&url, &opts)
        .map_err(|e| format!("the browser refused the worker: {}", js_message(&e)))
}

/// Starts the next run's worker now, so that loading and compiling the wasm in it (and its
/// tier-up to optimised code) happen while the page is idle, not in the run's first second. A
/// browser that refuses workers is found out at the run, which then runs on the page.
pub fn prepare() {
    if SPARE.with(|s| s.borrow().is_some()) {
        return;
    }
    let Ok(worker) = new_worker() else { return };
    let failed: Rc<RefCell<Option<String>>> = Rc::default();
    let noted = Rc::clone(&failed);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        *noted.borrow_mut() = Some(error_of(&event));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    SPARE.with(|s| {
        *s.borrow_mut() = Some(Spare {
            worker,
            failed,
            _on_error: on_error,
        });
    });
}

fn in_worker(inner: &Rc<Inner>, plan: &Plan, options: FetchOptions) -> Result<InWorker, String> {
    let worker = match SPARE.with(|s| s.borrow_mut().take()) {
        Some(spare) => match spare.failed.borrow_mut().take() {
            Some(why) => {
                spare.worker.terminate();
                return Err(why);
            }
            None => spare.worker,
        },
        None => new_worker()?,
    };
    let weak = Rc::downgrade(inner);
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            heard(&weak, FromWorker::from_js(&event.data()));
        });
    let weak = Rc::downgrade(inner);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        heard(&weak, FromWorker::Failed(error_of(&event)));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    send(
        &worker,
        &ToWorker::Start {
            plan: plan.clone(),
            options,
        },
    );
    Ok(InWorker {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn heard(weak: &Weak<Inner>, message: FromWorker) {
    let Some(inner) = weak.upgrade() else { return };
    let state = std::mem::replace(&mut *inner.state.borrow_mut(), State::Over);
    let state = match (state, message) {
        // Nothing ran yet: run on the page instead (unless Stop came first).
        (State::Starting(worker, plan, options), FromWorker::Failed(why)) => {
            drop(worker);
            if inner.stop_asked.get() {
                finish_empty(&inner, Where::MainThread(why));
                State::Over
            } else {
                match on_page(&inner, plan, options, why.clone()) {
                    Ok(handle) => State::Page(handle),
                    Err(e) => {
                        finish_empty(&inner, Where::Failed(format!("{why}; {e}")));
                        State::Over
                    }
                }
            }
        }
        (State::Worker(worker), FromWorker::Failed(why)) => {
            drop(worker);
            // The requests it counted are lost with it: say so rather than show a partial run
            // as whole.
            finish_empty(&inner, Where::Failed(why));
            State::Over
        }
        (
            State::Starting(worker, ..) | State::Worker(worker),
            FromWorker::Progress {
                results,
                in_flight,
                elapsed_s,
                timing,
            },
        ) => {
            // A tick that does not load is drawn by the next one.
            if let Ok(stats) = load(&results) {
                let mut snapshot = Snapshot::live(&stats, Some(&inner.plan));
                snapshot.in_flight = in_flight;
                inner.progress(snapshot, elapsed_s, timing);
            }
            State::Worker(worker)
        }
        (
            State::Starting(worker, ..) | State::Worker(worker),
            FromWorker::Finished {
                results,
                elapsed_s,
                stopped,
                timing,
            },
        ) => {
            drop(worker);
            match load(&results) {
                Ok(stats) => inner.finish(stats, elapsed_s, stopped, timing),
                Err(e) => finish_empty(&inner, Where::Failed(format!("the worker's results: {e}"))),
            }
            State::Over
        }
        (state, _) => state,
    };
    *inner.state.borrow_mut() = state;
}

/// Opens the worker's results file as an imported one is opened (its histograms are plain:
/// nothing to inflate).
fn load(text: &str) -> Result<Stats, String> {
    let loading = Results::parse(text).map_err(|e| e.to_string())?;
    let (stats, _) = loading.finish(Vec::new()).map_err(|e| e.to_string())?;
    Ok(stats)
}

impl Inner {
    fn progress(&self, mut snapshot: Snapshot, elapsed_s: f64, mut timing: TimingReading) {
        self.charts.borrow_mut().hold(&mut snapshot, elapsed_s);
        self.page.fill(&mut timing);
        self.listeners
            .progress
            .emit((Rc::new(snapshot), elapsed_s, timing));
    }

    fn finish(&self, stats: Stats, elapsed_s: f64, stopped: bool, mut timing: TimingReading) {
        self.page.fill(&mut timing);
        let stats = Rc::new(RefCell::new(stats));
        self.listeners.finished.emit(Finished {
            snapshot: Rc::new(Snapshot::of(&stats.borrow(), Some(&self.plan))),
            stats: Rc::clone(&stats),
            plan: Some(Rc::clone(&self.plan)),
            elapsed_s,
            stopped,
            timing,
        });
    }
}

/// Ends a run that has no statistics to show, saying why in the reading.
fn finish_empty(inner: &Inner, why: Where) {
    let timing = TimingReading {
        engine: why,
        ..TimingReading::default()
    };
    inner.finish(Stats::new(inner.plan.is_open()), 0.0, true, timing);
}

/// Runs on the page's own event loop.
fn on_page(
    inner: &Rc<Inner>,
    plan: Plan,
    options: FetchOptions,
    why: String,
) -> Result<RunHandle, String> {
    let handle: Rc<RefCell<Option<RunHandle>>> = Rc::default();
    let (weak, w2, why2, ran, ran2) = (
        Rc::downgrade(inner),
        Rc::downgrade(inner),
        why.clone(),
        Rc::clone(&handle),
        Rc::clone(&handle),
    );
    let listeners = run::Listeners {
        progress: Callback::from(move |(elapsed_s, mut timing): (f64, TimingReading)| {
            let (Some(inner), Some(h)) = (weak.upgrade(), ran.borrow().clone()) else {
                return;
            };
            timing.engine = Where::MainThread(why.clone());
            let snapshot = Snapshot::live(&h.stats.borrow(), Some(&h.plan));
            inner.progress(snapshot, elapsed_s, timing);
        }),
        finished: Callback::from(
            move |(elapsed_s, stopped, mut timing): (f64, bool, TimingReading)| {
                let (Some(inner), Some(h)) = (w2.upgrade(), ran2.borrow().clone()) else {
                    return;
                };
                timing.engine = Where::MainThread(why2.clone());
                *inner.state.borrow_mut() = State::Over;
                let stats = h.stats.replace(Stats::new(h.plan.is_open()));
                inner.finish(stats, elapsed_s, stopped, timing);
            },
        ),
    };
    let started = run::start(plan, options, listeners)?;
    *handle.borrow_mut() = Some(started.clone());
    Ok(started)
}
