//! What the browser did to the requests, from Resource Timing: the protocol it spoke
//! (`nextHopProtocol`) and per-phase times (queueing, connect, TTFB, download) when the server
//! sends `Timing-Allow-Origin`; and the run's long tasks (main-thread tasks over 50 ms).
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
    #[wasm_bindgen(method, getter = longTasks)]
    fn long_tasks(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, getter = longestTask)]
    fn longest_task(this: &ResourceSums) -> f64;
    #[wasm_bindgen(method, js_name = stop)]
    fn stop_watching(this: &ResourceSums);
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
}

/// Watches Resource Timing entries for one target while a run lasts.
pub struct ResourceWatch {
    sums: ResourceSums,
    hidden: Cell<bool>,
}

impl ResourceWatch {
    pub fn start(target_url: &str) -> Self {
        let performance = super::performance();
        // Entries from before the run (the page's own files, an earlier run) are not its own.
        performance.clear_resource_timings();
        performance.set_resource_timing_buffer_size(BUFFER);
        Self {
            sums: ResourceSums::new(&origin_of(target_url)),
            hidden: Cell::new(false),
        }
    }

    /// The picture so far, folding in what finished since the last read.
    pub fn read(&self) -> TimingReading {
        self.sums.fold();
        let hidden = super::window().document().is_some_and(|d| d.hidden());
        self.hidden.set(self.hidden.get() | hidden);
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
            hidden_during_run: self.hidden.get(),
            long_tasks: s.long_tasks() as u64,
            longest_task_ms: s.longest_task(),
        }
    }

    /// The run is over: the buffer goes back to the browser's default size.
    pub fn stop(&self) {
        self.sums.stop_watching();
        super::performance().set_resource_timing_buffer_size(DEFAULT_BUFFER);
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

/// Whether the page can read precise timers: `crossOriginIsolated`.
fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&super::window(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
