//! What the browser did to the requests, from Resource Timing: the protocol it spoke
//! (`nextHopProtocol`) and per-phase times (queueing, connect, TTFB, download) when the server
//! sends `Timing-Allow-Origin`.
//!
//! The browser buffers an entry per finished request whether anyone looks or not. Each time
//! the page reads the picture (four times a second) the buffered entries are folded into
//! running sums, in a few lines of JS, and the buffer is cleared. A PerformanceObserver did the
//! same per entry: a task and a call into wasm with half a dozen property reads and two string
//! copies per request, all of it on the main thread that also issues the fetches. While a run
//! lasts the buffer holds `BUFFER` entries (the default is 250); should more requests finish
//! between two reads, the rest are not sampled, and the panel says over how many requests the
//! means are.

use wasm_bindgen::prelude::wasm_bindgen;

use crate::state::{Honesty, Phases};

/// Entries buffered between two reads: ~8,000 requests a second at four reads a second, more
/// than a browser tab issues.
const BUFFER: u32 = 2000;
/// The browser's default buffer size, restored when the run is over.
const DEFAULT_BUFFER: u32 = 250;

#[wasm_bindgen(inline_js = r#"
export class ResourceSums {
  constructor(prefix) {
    this.prefix = prefix;
    this.protocol = '';
    this.samples = 0;
    this.queueing = 0;
    this.connect = 0;
    this.ttfb = 0;
    this.download = 0;
  }
  // Folds the entries buffered since the last call into the sums and empties the buffer.
  fold() {
    for (const e of performance.getEntriesByType('resource')) {
      if (!e.name.startsWith(this.prefix)) continue;
      if (e.nextHopProtocol) this.protocol = e.nextHopProtocol;
      // Zero without Timing-Allow-Origin: no phases to add.
      if (e.requestStart > 0 && e.responseStart > 0) {
        const connect = Math.max(e.connectEnd - e.connectStart, 0);
        this.samples += 1;
        this.queueing += Math.max(e.requestStart - e.startTime - connect, 0);
        this.connect += connect;
        this.ttfb += Math.max(e.responseStart - e.requestStart, 0);
        this.download += Math.max(e.responseEnd - e.responseStart, 0);
      }
    }
    performance.clearResourceTimings();
  }
}
"#)]
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
}

/// Watches Resource Timing entries for one target while a run lasts.
pub struct ResourceWatch {
    sums: ResourceSums,
    hidden: std::cell::Cell<bool>,
}

impl ResourceWatch {
    pub fn start(target_url: &str) -> Self {
        let performance = super::performance();
        // Entries from before the run (the page's own files, an earlier run) are not its own.
        performance.clear_resource_timings();
        performance.set_resource_timing_buffer_size(BUFFER);
        Self {
            sums: ResourceSums::new(&origin_of(target_url)),
            hidden: std::cell::Cell::new(false),
        }
    }

    /// The current picture (means of the phases so far), folding in what finished since.
    pub fn read(&self) -> Honesty {
        self.sums.fold();
        let hidden = super::window().document().is_some_and(|d| d.hidden());
        self.hidden.set(self.hidden.get() | hidden);
        let s = &self.sums;
        let samples = s.samples();
        let phases = (samples > 0.0).then(|| Phases {
            samples: samples as u64,
            queueing: s.queueing() / samples,
            connect: s.connect() / samples,
            ttfb: s.ttfb() / samples,
            download: s.download() / samples,
        });
        let protocol = s.protocol();
        Honesty {
            protocol: (!protocol.is_empty()).then_some(protocol),
            cross_origin_isolated: cross_origin_isolated(),
            phases,
            hidden_during_run: self.hidden.get(),
        }
    }

    /// The run is over: the buffer goes back to the browser's default size.
    pub fn stop(&self) {
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
pub fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&super::window(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
