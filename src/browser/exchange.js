// The fetch transport's per-request work (src/browser/fetch.rs): one exchange is fetch(), the
// status, the body read to the end and the clock readings, reported back to wasm through one
// callback made once per run. Kept in JS because a request then costs no closure, no promise
// adapter and no string conversion across the wasm boundary.
export class Exchanges {
  // bursts: keep the turn's time issuing fetches (fetch.rs's BURST_MS), on a page only.
  constructor(done, bursts) {
    this.done = done;
    this.bursts = bursts;
    this.burstStart = -1;
    this.endBurst = () => { this.burstStart = -1; };
    // A journey's captures, by slot: [seq, [name, value, …], body bytes or undefined].
    this.got = [];
  }
  // Starts one exchange; returns how long (ms) this turn of the event loop has spent issuing
  // fetches so far. The turn ends with the microtasks queued before it ended.
  send(slot, seq, url, init, signal) {
    init.signal = signal;
    const start = performance.now();
    if (!this.bursts) {
      this.exchange(slot, seq, url, init, start);
      return 0;
    }
    if (this.burstStart < 0) {
      this.burstStart = start;
      queueMicrotask(this.endBurst);
    }
    this.exchange(slot, seq, url, init, start);
    return performance.now() - this.burstStart;
  }
  // A journey's step request: the prepared init plus headers expanded for this request
  // (name/value pairs, or undefined), a body (bytes, or undefined: the prepared one), and what
  // to keep of the response: these headers (lower-case names, or undefined) and the body.
  sendJourney(slot, seq, url, prepared, signal, headers, body, want, wantBody) {
    const init = Object.assign({}, prepared);
    init.signal = signal;
    if (headers !== undefined) init.headers = prepared.headers ? prepared.headers.concat(headers) : headers;
    if (body !== undefined) init.body = body;
    const start = this.turn();
    if (want === undefined && !wantBody) this.exchange(slot, seq, url, init, start);
    else this.capture(slot, seq, url, init, start, want, wantBody);
    return this.bursts ? performance.now() - this.burstStart : 0;
  }
  turn() {
    const start = performance.now();
    if (this.bursts && this.burstStart < 0) {
      this.burstStart = start;
      queueMicrotask(this.endBurst);
    }
    return start;
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
  // exchange(), keeping the wanted headers (cross-origin, only those the server exposes) and
  // the body for wasm to take with took().
  async capture(slot, seq, url, init, start, want, wantBody) {
    let r, b;
    try {
      r = await fetch(url, init);
    } catch (e) {
      return this.finish(slot, seq, 0, 0, 0, 1, e);
    }
    const ttfb = performance.now() - start;
    const headers = [];
    if (want !== undefined) {
      for (const name of want) {
        const value = r.headers.get(name);
        if (value !== null) headers.push(name, value);
      }
    }
    try {
      b = await r.arrayBuffer();
    } catch (e) {
      return this.finish(slot, seq, r.status, 0, ttfb, 2, e);
    }
    this.got[slot] = [seq, headers, wantBody ? new Uint8Array(b) : undefined];
    this.finish(slot, seq, r.status, b.byteLength, ttfb, 0, undefined);
  }
  // What capture() kept for this slot's exchange `seq` (undefined if not that one), forgotten.
  took(slot, seq) {
    const got = this.got[slot];
    this.got[slot] = undefined;
    return got !== undefined && got[0] === seq ? got : undefined;
  }
  finish(slot, seq, status, bytes, ttfb, stage, error) {
    // Aborted exchanges settle after the run may be over: nothing waits for them then.
    if (this.done !== null) this.done(slot, seq, status, bytes, ttfb, stage, error);
  }
  close() { this.done = null; }
}
