// Resource Timing folded into running sums in JS (src/browser/timing.rs says why): one pass
// over the buffered entries per read, instead of a call into wasm per finished request; and the
// page's long tasks (over 50 ms) while a run lasts.
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

// The page's main-thread tasks over 50 ms while a run lasts (only a window has them).
export class LongTasks {
  constructor() {
    this.count = 0;
    this.longest = 0;
    try {
      this.observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          this.count += 1;
          this.longest = Math.max(this.longest, e.duration);
        }
      });
      this.observer.observe({ type: 'longtask' });
    } catch {
      this.observer = null; // A browser without Long Tasks: nothing to say.
    }
  }
  stop() {
    this.observer?.disconnect();
  }
}
