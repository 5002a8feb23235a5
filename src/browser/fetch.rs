//! The browser transport: one `fetch()` per request, body read to the end, timed with
//! `performance.now()`, aborted through the slot's AbortController when the scheduler drops the
//! request (timeout, Stop).
//!
//! The per-request work is as close to a hand-written JS fetch loop as it can be: the exchange
//! itself (fetch, status, `arrayBuffer()`, the clock readings) runs in a few lines of JS
//! (`exchange.js`, beside this file), and reports back through one callback made once per run,
//! so a request makes no closure, no promise adapter and no string conversion across the wasm
//! boundary. Each request's options object is built once per template; each slot keeps one
//! AbortController for as long as it does not have to abort.
//!
//! A journey's step requests take a second path (`sendJourney`): the prepared options plus the
//! headers and body expanded for this request, and, when the request carries a `Capture`, the
//! wanted response headers (cross-origin, only those the server exposes with
//! `access-control-expose-headers`) and the body bytes, which wasm takes once the exchange is
//! over. A request without any of these takes the path above, unchanged.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use flak_core::transport::{CAPTURE_BODY_LIMIT, Capture};
use flak_core::{ErrorKind, Outcome, Plan, Request, RequestError, Response, Transport};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast as _, JsValue};
use web_sys::{
    AbortController, AbortSignal, Headers, RequestCache, RequestCredentials, RequestInit,
    RequestMode,
};

use super::js_message;

/// How every `fetch()` of a run is made, beyond what the plan says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// `mode: 'no-cors'`: no CORS needed, but responses are opaque (status and body hidden).
    pub no_cors: bool,
    /// `credentials: 'include'` (cookies and HTTP auth go along) instead of `'omit'`.
    pub credentials: bool,
    /// `cache: 'no-store'`: every request reaches the server.
    pub bypass_cache: bool,
}

#[wasm_bindgen(module = "/src/browser/exchange.js")]
extern "C" {
    type Exchanges;

    #[wasm_bindgen(constructor)]
    fn new(done: &js_sys::Function, bursts: bool) -> Exchanges;

    #[wasm_bindgen(method)]
    fn send(
        this: &Exchanges,
        slot: u32,
        seq: u32,
        url: &JsValue,
        init: &RequestInit,
        signal: &AbortSignal,
    ) -> f64;

    #[wasm_bindgen(method, js_name = sendJourney)]
    #[allow(clippy::too_many_arguments)]
    fn send_journey(
        this: &Exchanges,
        slot: u32,
        seq: u32,
        url: &JsValue,
        init: &RequestInit,
        signal: &AbortSignal,
        headers: &JsValue,
        body: &JsValue,
        want: &JsValue,
        want_body: bool,
    ) -> f64;

    /// `[seq, [name, value, …], body or undefined]` of the slot's last captured exchange.
    #[wasm_bindgen(method)]
    fn took(this: &Exchanges, slot: u32, seq: u32) -> JsValue;

    #[wasm_bindgen(method)]
    fn close(this: &Exchanges);
}

/// How an exchange ended, as the JS side reports it.
struct Finished {
    status: u16,
    bytes: f64,
    ttfb_ms: f64,
    /// 0: the whole response; 1: fetch() failed; 2: the body failed.
    stage: u8,
    error: JsValue,
}

enum SlotState {
    Idle,
    Waiting(Option<Waker>),
    Finished(Finished),
}

/// What each slot's current exchange is doing; `seq` tells a late report of an abandoned
/// exchange from the current one's.
struct Slot {
    seq: u32,
    state: SlotState,
}

type Slots = RefCell<Vec<Slot>>;

/// The JS side's report: slot, seq, status, bytes, TTFB in ms, stage, error.
type DoneFn = dyn FnMut(u32, u32, u16, f64, f64, u8, JsValue);

struct Prepared {
    init: RequestInit,
    /// The URL as a JS string, when the template has no placeholders.
    fixed_url: Option<(String, JsValue)>,
}

/// Chromium spends up to 1 ms of main-thread time inside each `fetch()` call, and a run's first
/// wave (one fetch per slot) is issued from one turn of the event loop: at 50 in flight that was
/// one task of 70–130 ms. Once a turn has spent `BURST_MS` issuing fetches, the next request
/// yields to the event loop first, so no task holds more than ~`BURST_MS` of them. The turn is
/// measured on the JS side (a microtask marks its end), so in a steady run, where each
/// completion arrives in its own task, nothing ever waits and nothing is scheduled.
///
/// Only on a page: a worker draws nothing, and there the bookkeeping (a microtask and two clock
/// readings per request) and the yields (a `setTimeout` each, clamped to 4 ms when nested, on
/// a machine busy enough that one `fetch()` call can outlast the budget) only slowed the run.
const BURST_MS: f64 = 4.0;

pub struct FetchTransport {
    prepared: Vec<Prepared>,
    /// The last fetch ended a turn's `BURST_MS`: the next request yields first.
    over_budget: Cell<bool>,
    slots: Rc<Slots>,
    exchanges: Exchanges,
    _done: Closure<DoneFn>,
}

/// A slot's own state: its index in the transport's table and its AbortController, kept while
/// it has not aborted anything.
pub struct Session {
    slot: u32,
    controller: Option<(AbortController, AbortSignal)>,
}

impl FetchTransport {
    pub fn new(plan: &Plan, options: FetchOptions) -> Result<Self, String> {
        let prepared = plan
            .requests
            .iter()
            .map(|spec| {
                // Only what differs from fetch()'s defaults: every option given is read and
                // converted again at each call (a Headers object, even empty, is iterated).
                let init = RequestInit::new();
                if spec.method != "GET" {
                    init.set_method(&spec.method);
                }
                if !spec.headers.is_empty() {
                    // Checked once here, so a bad header is named before the run starts.
                    let headers = Headers::new().map_err(|e| js_message(&e))?;
                    let pairs = js_sys::Array::new();
                    for (name, value) in &spec.headers {
                        headers
                            .append(name, value)
                            .map_err(|e| format!("header {name}: {}", js_message(&e)))?;
                        pairs.push(&js_sys::Array::of2(&name.into(), &value.into()));
                    }
                    // Name/value pairs convert faster than a Headers object, and keep repeats.
                    init.set_headers(&pairs);
                }
                if !spec.body.is_empty() {
                    // fetch() copies the bytes at each call, so one array serves every request.
                    init.set_body(&js_sys::Uint8Array::from(spec.body.as_bytes()));
                }
                if options.no_cors {
                    init.set_mode(RequestMode::NoCors);
                }
                init.set_credentials(if options.credentials {
                    RequestCredentials::Include
                } else {
                    RequestCredentials::Omit
                });
                if options.bypass_cache {
                    init.set_cache(RequestCache::NoStore);
                }
                let fixed_url = spec.url.is_fixed().then(|| {
                    let url = spec.url.as_str();
                    (url.to_string(), JsValue::from_str(url))
                });
                Ok(Prepared { init, fixed_url })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let slots: Rc<Slots> = Rc::default();
        let sink = Rc::downgrade(&slots);
        let done = Closure::<DoneFn>::new(
            move |slot: u32, seq: u32, status, bytes, ttfb_ms, stage, error| {
                let Some(slots) = sink.upgrade() else { return };
                let waker = {
                    let mut slots = slots.borrow_mut();
                    let Some(s) = slots.get_mut(slot as usize) else {
                        return;
                    };
                    if s.seq != seq || !matches!(s.state, SlotState::Waiting(_)) {
                        return;
                    }
                    let finished = Finished {
                        status,
                        bytes,
                        ttfb_ms,
                        stage,
                        error,
                    };
                    match std::mem::replace(&mut s.state, SlotState::Finished(finished)) {
                        SlotState::Waiting(waker) => waker,
                        _ => None,
                    }
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            },
        );
        let on_page = web_sys::window().is_some();
        let exchanges = Exchanges::new(done.as_ref().unchecked_ref(), on_page);
        Ok(Self {
            prepared,
            over_budget: Cell::new(false),
            slots,
            exchanges,
            _done: done,
        })
    }
}

impl FetchTransport {
    /// Hands what the JS side kept of exchange `seq` of `slot` to the request's capture.
    fn keep(&self, capture: &Capture, slot: u32, seq: u32) {
        let got = self.exchanges.took(slot, seq);
        let Some(got) = got.dyn_ref::<js_sys::Array>() else {
            return;
        };
        if let Some(pairs) = got.get(1).dyn_ref::<js_sys::Array>() {
            let mut i = 0;
            while i + 1 < pairs.length() {
                if let (Some(name), Some(value)) =
                    (pairs.get(i).as_string(), pairs.get(i + 1).as_string())
                {
                    capture.header(name.as_bytes(), value.as_bytes());
                }
                i += 2;
            }
        }
        if let Some(body) = got.get(2).dyn_ref::<js_sys::Uint8Array>() {
            // Only the part the capture keeps is copied out of JS.
            let keep = (body.length() as usize).min(CAPTURE_BODY_LIMIT + 1) as u32;
            capture.body(&body.subarray(0, keep).to_vec());
        }
    }
}

impl Drop for FetchTransport {
    fn drop(&mut self) {
        self.exchanges.close();
    }
}

/// Abandons the exchange if the request future is dropped before it finished: aborts the fetch
/// (the slot makes a new controller for its next request) and forgets the exchange, so its
/// late report is ignored.
struct InFlight<'a> {
    slots: &'a Slots,
    session: &'a mut Session,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(s) = self.slots.borrow_mut().get_mut(self.session.slot as usize) {
            s.seq = s.seq.wrapping_add(1);
            s.state = SlotState::Idle;
        }
        if let Some((c, _)) = self.session.controller.take() {
            c.abort();
        }
    }
}

impl Transport for FetchTransport {
    type Session = Session;

    fn session(&self, _slot: usize) -> Session {
        let mut slots = self.slots.borrow_mut();
        slots.push(Slot {
            seq: 0,
            state: SlotState::Idle,
        });
        Session {
            slot: (slots.len() - 1) as u32,
            controller: None,
        }
    }

    async fn send(&self, session: &mut Session, request: &Request<'_>) -> Outcome {
        if self.over_budget.get() {
            TimeoutFuture::new(0).await;
            self.over_budget.set(false);
        }
        let prepared = &self.prepared[request.spec_index];
        let (controller, signal) = match session.controller.take() {
            Some(kept) => kept,
            None => match AbortController::new() {
                Ok(c) => {
                    let signal = c.signal();
                    (c, signal)
                }
                Err(e) => {
                    return Outcome::Error(RequestError::new(ErrorKind::Other, js_message(&e)));
                }
            },
        };
        let url_string;
        let url = match &prepared.fixed_url {
            Some((text, js)) if text == request.url => js,
            _ => {
                url_string = JsValue::from_str(request.url);
                &url_string
            }
        };
        let slot = session.slot;
        let seq = {
            let mut slots = self.slots.borrow_mut();
            let s = &mut slots[slot as usize];
            s.state = SlotState::Waiting(None);
            s.seq
        };
        let journey = !request.headers.is_empty() || request.body.is_some();
        let burst_ms = match request.capture {
            None if !journey => self.exchanges.send(slot, seq, url, &prepared.init, &signal),
            capture => {
                let headers = if request.headers.is_empty() {
                    JsValue::UNDEFINED
                } else {
                    request
                        .headers
                        .iter()
                        .map(|(n, v)| js_sys::Array::of2(&n.into(), &v.into()))
                        .collect::<js_sys::Array>()
                        .into()
                };
                let body = request
                    .body
                    .map_or(JsValue::UNDEFINED, |b| js_sys::Uint8Array::from(b).into());
                let want = match capture.map(Capture::header_names) {
                    Some(names) if !names.is_empty() => names
                        .iter()
                        .map(|n| JsValue::from_str(n))
                        .collect::<js_sys::Array>()
                        .into(),
                    _ => JsValue::UNDEFINED,
                };
                let want_body = capture.is_some_and(Capture::wants_body);
                if let Some(c) = capture {
                    c.clear();
                }
                self.exchanges.send_journey(
                    slot,
                    seq,
                    url,
                    &prepared.init,
                    &signal,
                    &headers,
                    &body,
                    &want,
                    want_body,
                )
            }
        };
        self.over_budget.set(burst_ms > BURST_MS);
        session.controller = Some((controller, signal));
        let mut in_flight = InFlight {
            slots: &self.slots,
            session,
            done: false,
        };
        let finished = poll_fn(|cx| {
            let mut slots = self.slots.borrow_mut();
            let s = &mut slots[slot as usize];
            match std::mem::replace(&mut s.state, SlotState::Idle) {
                SlotState::Finished(f) => Poll::Ready(f),
                SlotState::Waiting(_) | SlotState::Idle => {
                    s.state = SlotState::Waiting(Some(cx.waker().clone()));
                    Poll::Pending
                }
            }
        })
        .await;
        in_flight.done = true;
        drop(in_flight);
        let ttfb = || Some(Duration::from_secs_f64(finished.ttfb_ms.max(0.0) / 1e3));
        if let Some(c) = request.capture
            && finished.stage == 0
        {
            self.keep(c, slot, seq);
        }
        match finished.stage {
            0 => Outcome::Response(Response {
                status: finished.status,
                bytes: finished.bytes as u64,
                ttfb: ttfb(),
                connect: None,
            }),
            1 => {
                // A fetch can fail without touching the network (a bad URL): yield to the
                // event loop so a run of instant failures cannot starve timers and rendering.
                TimeoutFuture::new(0).await;
                // The browser does not say why a fetch failed (CORS, refused, DNS all read
                // "Failed to fetch"); the honesty panel explains the likely causes.
                let kind = if finished.error.has_type::<js_sys::TypeError>() {
                    ErrorKind::Network
                } else {
                    ErrorKind::Other
                };
                Outcome::Error(RequestError::new(kind, js_message(&finished.error)))
            }
            _ => Outcome::Error(RequestError::new(
                ErrorKind::Body,
                js_message(&finished.error),
            )),
        }
    }
}
