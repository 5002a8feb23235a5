//! What the browser did to the requests, from Resource Timing: the protocol it spoke
//! (`nextHopProtocol`) and per-phase times (queueing, connect, TTFB, download) when the server
//! sends `Timing-Allow-Origin`, read in the scope that made the fetches (a worker sees its own);
//! and what the page did meanwhile (`PageWatch`): its long tasks (main-thread tasks over 50 ms)
//! and whether it was hidden.
//!
//! The browser buffers an entry per finished request whether anyone looks or not. Each time
//! the page reads the picture (four times a second) the buffered entries are folded into
//! running sums, in a few lines of JS, and the buffer is cleared. A PerformanceObserver did the
//! same per entry: a task and a call into wasm with half a dozen property reads and two string
//! copies per request, all of it on the main thread that also issues the fetches. The folding
//! is `resource_sums.js`, beside this file. While a run lasts the buffer holds `BUFFER` entries
//! (the default is 250); should more requests finish between two reads, the rest are not
//! sampled, and the panel says over how many requests the means are.

use std::cell::Cell;

use wasm_bindgen::prelude::wasm_bindgen;

use super::clock::Lag;

/// Entries buffered between two reads: ~8,000 requests a second at four reads a second, more
/// than a browser tab issues.
const BUFFER: u32 = 2000;
/// The browser's default buffer size, restored when the run is over.
const DEFAULT_BUFFER: u32 = 250;

#[wasm_bindgen(module = "/src/browser/resource_sums.js")]
extern "C" {
    type ResourceSums;

    #[wasm_bindgen(constructor)]
    fn new(prefix: &str) -> ResourceSums;
    #[wasm_bindgen(method)]
    fn fold(this: &ResourceSums);
    #[wasm_bindgen(method, getter)]
    fn protocol(this: &ResourceSums) -> String;
    #[wasm_bindgen(method, getter)]
    fn samples(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, getter)]
    fn queueing(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, getter)]
    fn connect(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, getter)]
    fn ttfb(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, getter)]
    fn download(this: &ResourceSums) -> f64;

    type LongTasks;

    #[wasm_bindgen(constructor)]
    fn new() -> LongTasks;
    #[wasm_bindgen(method, getter)]
    fn count(this: &LongTasks) -> f64;
    #[wasm_bindgen(method, getter)]
    fn longest(this: &LongTasks) -> f64;
    #[wasm_bindgen(method)]
    fn stop(this: &LongTasks);
}

/// Sums of each phase over the requests whose phases the browser showed, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhaseSums {
    /// Requests summed: those answered with `Timing-Allow-Origin`.
    pub samples: u64,
    pub queueing_ms: f64,
    pub connect_ms: f64,
    pub ttfb_ms: f64,
    pub download_ms: f64,
}

/// Where a run's load ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Engine {
    /// In a dedicated Web Worker: the page's main thread never touches the load.
    #[default]
    Worker,
    /// On the page's main thread, and why not in a worker.
    MainThread(String),
    /// The worker failed mid-run, and why: its counts were lost with it.
    Failed(String),
}

/// How late the engine's timers fired (its event loop's lag), in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimerLag {
    pub fired: u64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

impl TimerLag {
    pub fn of(lag: &Lag) -> Self {
        let (fired, mean_ms, max_ms) = lag.reading();
        Self {
            fired,
            mean_ms,
            max_ms,
        }
    }
}

/// What the browser has said about a run's requests so far, as it said it: sums, not means.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimingReading {
    /// `nextHopProtocol` (`http/1.1`, `h2`, …); empty when the browser never said.
    pub protocol: String,
    pub phases: PhaseSums,
    /// The page reads timers precisely (5 µs instead of 0.1 ms).
    pub cross_origin_isolated: bool,
    /// The tab was hidden at one of the reads: timers were throttled.
    pub hidden_during_run: bool,
    /// Main-thread tasks over 50 ms during the run (Long Tasks), and the longest, in ms.
    pub long_tasks: u64,
    pub longest_task_ms: f64,
    pub engine: Engine,
    pub timer_lag: TimerLag,
}

impl TimingReading {
    /// The engine's part of a reading as plain values, for a message from the worker (plain
    /// values cost less bundle than a serde encoding of these types).
    pub fn push_to(&self, message: &js_sys::Array) {
        let p = &self.phases;
        message.push(&self.protocol.as_str().into());
        for n in [
            p.samples as f64,
            p.queueing_ms,
            p.connect_ms,
            p.ttfb_ms,
            p.download_ms,
            self.timer_lag.fired as f64,
            self.timer_lag.mean_ms,
            self.timer_lag.max_ms,
        ] {
            message.push(&n.into());
        }
        message.push(&self.cross_origin_isolated.into());
    }

    /// Reads what [`TimingReading::push_to`] wrote, from index `at` of `message`.
    pub fn read_from(message: &js_sys::Array, at: u32) -> Self {
        let n = |i: u32| message.get(at + i).as_f64().unwrap_or(0.0);
        Self {
            protocol: message.get(at).as_string().unwrap_or_default(),
            phases: PhaseSums {
                samples: n(1) as u64,
                queueing_ms: n(2),
                connect_ms: n(3),
                ttfb_ms: n(4),
                download_ms: n(5),
            },
            timer_lag: TimerLag {
                fired: n(6) as u64,
                mean_ms: n(7),
                max_ms: n(8),
            },
            cross_origin_isolated: message.get(at + 9).is_truthy(),
            ..Self::default()
        }
    }
}

/// Watches Resource Timing entries for one target while a run lasts, in the scope that makes
/// the fetches.
pub struct ResourceWatch {
    sums: ResourceSums,
}

impl ResourceWatch {
    pub fn start(target_url: &str) -> Self {
        let performance = super::performance();
        // Entries from before the run (the page's own files, an earlier run) are not its own.
        performance.clear_resource_timings();
        performance.set_resource_timing_buffer_size(BUFFER);
        Self {
            sums: ResourceSums::new(&origin_of(target_url)),
        }
    }

    /// The picture so far, folding in what finished since the last read; the page's part is
    /// `PageWatch`'s to fill in.
    pub fn read(&self) -> TimingReading {
        self.sums.fold();
        let s = &self.sums;
        TimingReading {
            protocol: s.protocol(),
            phases: PhaseSums {
                samples: s.samples() as u64,
                queueing_ms: s.queueing(),
                connect_ms: s.connect(),
                ttfb_ms: s.ttfb(),
                download_ms: s.download(),
            },
            cross_origin_isolated: cross_origin_isolated(),
            ..TimingReading::default()
        }
    }

    /// The run is over: the buffer goes back to the browser's default size.
    pub fn stop(&self) {
        super::performance().set_resource_timing_buffer_size(DEFAULT_BUFFER);
    }
}

/// What the page did while a run lasted, wherever the load ran: its long tasks and whether it
/// was hidden (looked at whenever a reading passes through).
pub struct PageWatch {
    long_tasks: LongTasks,
    hidden: Cell<bool>,
}

impl PageWatch {
    pub fn start() -> Self {
        Self {
            long_tasks: LongTasks::new(),
            hidden: Cell::new(false),
        }
    }

    /// Adds the page's part to a reading.
    pub fn fill(&self, reading: &mut TimingReading) {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
        self.hidden.set(self.hidden.get() | hidden);
        reading.hidden_during_run = self.hidden.get();
        reading.long_tasks = self.long_tasks.count() as u64;
        reading.longest_task_ms = self.long_tasks.longest();
    }
}

impl Drop for PageWatch {
    fn drop(&mut self) {
        self.long_tasks.stop();
    }
}

/// `scheme://host:port` of a URL, to pick its entries out of the page's.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            url[..i + 3 + end].to_string()
        }
        None => url.to_string(),
    }
}

/// Whether the scope can read precise timers: `crossOriginIsolated`.
fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
