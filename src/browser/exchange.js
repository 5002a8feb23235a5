// The fetch transport's per-request work (src/browser/fetch.rs): one exchange is fetch(), the
// status, the body read to the end and the clock readings, reported back to wasm through one
// callback made once per run. Kept in JS because a request then costs no closure, no promise
// adapter and no string conversion across the wasm boundary.
export class Exchanges {
  constructor(done) {
    this.done = done;
    this.burstStart = -1;
    this.endBurst = () => { this.burstStart = -1; };
  }
  // Starts one exchange; returns how long (ms) this turn of the event loop has spent issuing
  // fetches so far. The turn ends with the microtasks queued before it ended.
  send(slot, seq, url, init, signal) {
    init.signal = signal;
    const start = performance.now();
    if (this.burstStart < 0) {
      this.burstStart = start;
      queueMicrotask(this.endBurst);
    }
    this.exchange(slot, seq, url, init, start);
    return performance.now() - this.burstStart;
  }
  // An async function, as a hand-written loop would be: V8 runs its awaits without the
  // closures and extra promises that .then() callbacks cost.
  async exchange(slot, seq, url, init, start) {
    let r, b;
    try {
      r = await fetch(url, init);
    } catch (e) {
      return this.finish(slot, seq, 0, 0, 0, 1, e);
    }
    const ttfb = performance.now() - start;
    try {
      b = await r.arrayBuffer();
    } catch (e) {
      return this.finish(slot, seq, r.status, 0, ttfb, 2, e);
    }
    this.finish(slot, seq, r.status, b.byteLength, ttfb, 0, undefined);
  }
  finish(slot, seq, status, bytes, ttfb, stage, error) {
    // Aborted exchanges settle after the run may be over: nothing waits for them then.
    if (this.done !== null) this.done(slot, seq, status, bytes, ttfb, stage, error);
  }
  close() { this.done = null; }
}
