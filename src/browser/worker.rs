//! Inside the Web Worker the page starts for a run: the messages between page and worker, and
//! the worker's side (a run on the worker's own event loop, reported back as messages).
//!
//! The worker runs the same wasm module as the page (its script, written into dist by
//! scripts/finish-dist.mjs, imports the same glue and calls `worker_main` in src/main.rs), so
//! the bundle does not double. Messages are arrays of plain values. The statistics travel as a
//! results file with plain (uncompressed) histograms, four times a second and once at the end:
//! the page opens it as it opens any results file and draws it as before, so the app carries no
//! second encoding of its statistics (a serde encoding of the page's snapshot and of these
//! messages cost ~10 KB of gzipped bundle, measured).

use std::cell::RefCell;
use std::rc::Rc;

use flak_core::{Plan, Results};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use yew::Callback;

use super::fetch::FetchOptions;
use super::run::{self, Listeners, RunHandle};
use super::timing::TimingReading;

/// What the page asks of the worker.
#[derive(Debug)]
pub enum ToWorker {
    Start {
        plan: Plan,
        options: FetchOptions,
    },
    /// Abort every request in flight and finish.
    Stop,
}

const STOP: &str = "stop";

impl ToWorker {
    /// `"stop"`, or `[plan as JSON, no_cors, credentials, bypass_cache]`.
    pub fn to_js(&self) -> JsValue {
        match self {
            Self::Stop => STOP.into(),
            Self::Start { plan, options } => {
                // The plan's pretty JSON is the results file's own encoding of it: no new code.
                let json = serde_json::to_string_pretty(plan).unwrap_or_default();
                let message = js_sys::Array::of1(&json.into());
                for flag in [options.no_cors, options.credentials, options.bypass_cache] {
                    message.push(&flag.into());
                }
                message.into()
            }
        }
    }

    pub fn from_js(message: &JsValue) -> Result<Self, String> {
        if message.as_string().as_deref() == Some(STOP) {
            return Ok(Self::Stop);
        }
        let m: &js_sys::Array = message.dyn_ref().ok_or("not a message the worker knows")?;
        let json = m.get(0).as_string().unwrap_or_default();
        let plan = serde_json::from_str(&json).map_err(|e| format!("the plan: {e}"))?;
        let options = FetchOptions {
            no_cors: m.get(1).is_truthy(),
            credentials: m.get(2).is_truthy(),
            bypass_cache: m.get(3).is_truthy(),
        };
        Ok(Self::Start { plan, options })
    }
}

/// What the worker tells the page.
#[derive(Debug)]
pub enum FromWorker {
    /// The run so far: its results file (of the requests finished), those in flight, seconds,
    /// what the browser did.
    Progress {
        results: String,
        in_flight: u64,
        elapsed_s: f64,
        timing: TimingReading,
    },
    /// The run is over: its results file, seconds, whether Stop ended it, what the browser did.
    Finished {
        results: String,
        elapsed_s: f64,
        stopped: bool,
        timing: TimingReading,
    },
    /// The run could not start or could not be reported.
    Failed(String),
}

impl FromWorker {
    /// `[kind, results, number, elapsed_s, timing…]`, or `["failed", why]`.
    pub fn to_js(&self) -> JsValue {
        let (kind, results, number, elapsed_s, timing) = match self {
            Self::Failed(why) => {
                return js_sys::Array::of2(&"failed".into(), &why.as_str().into()).into();
            }
            Self::Progress {
                results,
                in_flight,
                elapsed_s,
                timing,
            } => ("progress", results, *in_flight as f64, elapsed_s, timing),
            Self::Finished {
                results,
                elapsed_s,
                stopped,
                timing,
            } => (
                "finished",
                results,
                f64::from(u8::from(*stopped)),
                elapsed_s,
                timing,
            ),
        };
        let message = js_sys::Array::of4(
            &kind.into(),
            &results.as_str().into(),
            &number.into(),
            &(*elapsed_s).into(),
        );
        timing.push_to(&message);
        message.into()
    }

    pub fn from_js(message: &JsValue) -> Self {
        let Some(m) = message.dyn_ref::<js_sys::Array>() else {
            return Self::Failed("a message the page does not know".into());
        };
        let text = |i| m.get(i).as_string().unwrap_or_default();
        let number = m.get(2).as_f64().unwrap_or(0.0);
        let elapsed_s = m.get(3).as_f64().unwrap_or(0.0);
        match text(0).as_str() {
            "progress" => Self::Progress {
                results: text(1),
                in_flight: number as u64,
                elapsed_s,
                timing: TimingReading::read_from(m, 4),
            },
            "finished" => Self::Finished {
                results: text(1),
                elapsed_s,
                stopped: number != 0.0,
                timing: TimingReading::read_from(m, 4),
            },
            _ => Self::Failed(text(1)),
        }
    }
}

fn post(message: &FromWorker) {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // Only fails for values that cannot be cloned; these are strings and numbers.
    let _ = scope.post_message(&message.to_js());
}

/// The worker's entry point: answers the page's messages until the page terminates it.
pub fn main() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let current: Rc<RefCell<Option<RunHandle>>> = Rc::default();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            match ToWorker::from_js(&event.data()) {
                Ok(ToWorker::Start { plan, options }) => start(plan, options, &current),
                Ok(ToWorker::Stop) => {
                    if let Some(h) = current.borrow().as_ref() {
                        h.abort();
                    }
                }
                Err(e) => post(&FromWorker::Failed(e)),
            }
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
}

/// The results file of the run so far, with the requests in flight.
fn results_of(handle: &RunHandle) -> (String, u64) {
    let stats = handle.stats.borrow();
    let mut results = Results::unfinished(&stats, Some(&handle.plan)).plain();
    // A results file holds finished requests only: those in flight travel beside it.
    results.issued = stats.total();
    (results.to_json(), stats.in_flight())
}

fn start(plan: Plan, options: FetchOptions, current: &Rc<RefCell<Option<RunHandle>>>) {
    let (ticking, finished_run) = (Rc::clone(current), Rc::clone(current));
    let listeners = Listeners {
        progress: Callback::from(move |(elapsed_s, timing): (f64, TimingReading)| {
            let Some(handle) = ticking.borrow().clone() else {
                return;
            };
            let (results, in_flight) = results_of(&handle);
            post(&FromWorker::Progress {
                results,
                in_flight,
                elapsed_s,
                timing,
            });
        }),
        finished: Callback::from(
            move |(elapsed_s, stopped, timing): (f64, bool, TimingReading)| {
                let Some(handle) = finished_run.borrow().clone() else {
                    return;
                };
                post(&FromWorker::Finished {
                    results: results_of(&handle).0,
                    elapsed_s,
                    stopped,
                    timing,
                });
            },
        ),
    };
    match run::start(plan, options, listeners) {
        Ok(handle) => *current.borrow_mut() = Some(handle),
        Err(e) => post(&FromWorker::Failed(e)),
    }
}
