//! The browser transport: one `fetch()` per request, timed with `performance.now()`, aborted
//! through an AbortController when the scheduler drops it (timeout, Stop), body read to the end.

use std::cell::Cell;

use flak_core::{ErrorKind, Outcome, Plan, Request, RequestError, Response, Transport};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, RequestCache, RequestCredentials, RequestInit, RequestMode,
};

use crate::config::{FetchMode, FetchOptions};

struct Prepared {
    method: String,
    headers: Headers,
    body: Option<JsValue>,
}

/// Chromium spends about 1 ms of main-thread time inside each `fetch()` call, and a run's first
/// wave (one fetch per slot) is issued from one task: at 50 in flight that was one task of
/// 70–130 ms. `fetch()` calls less than `BURST_GAP_MS` apart count as one burst, and a burst
/// longer than `BURST_MS` yields to the event loop before its next call, so no task holds more
/// than ~`BURST_MS` of them. In a steady run completions arrive in separate tasks and nothing
/// waits.
const BURST_MS: f64 = 4.0;
const BURST_GAP_MS: f64 = 1.0;

pub struct FetchTransport {
    options: FetchOptions,
    prepared: Vec<Prepared>,
    performance: web_sys::Performance,
    burst_start: Cell<f64>,
    last_fetch: Cell<f64>,
}

impl FetchTransport {
    pub fn new(plan: &Plan, options: FetchOptions) -> Result<Self, String> {
        let prepared = plan
            .requests
            .iter()
            .map(|spec| {
                let headers = Headers::new().map_err(|e| js_message(&e))?;
                for (name, value) in &spec.headers {
                    headers
                        .append(name, value)
                        .map_err(|e| format!("header {name}: {}", js_message(&e)))?;
                }
                let body = (!spec.body.is_empty())
                    .then(|| JsValue::from(js_sys::Uint8Array::from(spec.body.as_bytes())));
                Ok(Prepared {
                    method: spec.method.clone(),
                    headers,
                    body,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            options,
            prepared,
            performance: super::performance(),
            burst_start: Cell::new(f64::NEG_INFINITY),
            last_fetch: Cell::new(f64::NEG_INFINITY),
        })
    }

    fn init(&self, prepared: &Prepared, controller: Option<&AbortController>) -> RequestInit {
        let init = RequestInit::new();
        init.set_method(&prepared.method);
        init.set_headers(&prepared.headers);
        if let Some(body) = &prepared.body {
            init.set_body(body);
        }
        init.set_mode(match self.options.mode {
            FetchMode::Cors => RequestMode::Cors,
            FetchMode::NoCors => RequestMode::NoCors,
        });
        init.set_credentials(if self.options.credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::Omit
        });
        if self.options.bypass_cache {
            init.set_cache(RequestCache::NoStore);
        }
        if let Some(c) = controller {
            init.set_signal(Some(&c.signal()));
        }
        init
    }

    /// Yields to the event loop when this task has spent `BURST_MS` issuing fetches.
    async fn pace_burst(&self) {
        let now = self.performance.now();
        if now - self.last_fetch.get() > BURST_GAP_MS {
            self.burst_start.set(now);
        } else if now - self.burst_start.get() > BURST_MS {
            TimeoutFuture::new(0).await;
            self.burst_start.set(self.performance.now());
        }
    }
}

/// Aborts the fetch if the request future is dropped before it finished.
struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.abort();
        }
    }
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| format!("{}: {}", err.name(), err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

impl Transport for FetchTransport {
    type Session = ();

    fn session(&self, _slot: usize) {}

    async fn send(&self, _session: &mut (), request: &Request<'_>) -> Outcome {
        self.pace_burst().await;
        let prepared = &self.prepared[request.spec_index];
        let controller = AbortController::new().ok();
        let init = self.init(prepared, controller.as_ref());
        let guard = AbortOnDrop(controller);
        let start = self.performance.now();
        let promise = super::window().fetch_with_str_and_init(request.url, &init);
        self.last_fetch.set(self.performance.now());
        let fetched = JsFuture::from(promise).await;
        let response: web_sys::Response = match fetched {
            Ok(r) => r.unchecked_into(),
            Err(e) => {
                // A fetch can fail without touching the network (a bad URL): yield to the event
                // loop so a run of instant failures cannot starve timers and rendering.
                TimeoutFuture::new(0).await;
                // The browser does not say why a fetch failed (CORS, refused, DNS all read
                // "Failed to fetch"); the honesty panel explains the likely causes.
                let kind = if e.has_type::<js_sys::TypeError>() {
                    ErrorKind::Network
                } else {
                    ErrorKind::Other
                };
                return Outcome::Error(RequestError::new(kind, js_message(&e)));
            }
        };
        let ttfb = self.performance.now() - start;
        let status = response.status();
        let bytes = match response.array_buffer() {
            Ok(promise) => match JsFuture::from(promise).await {
                Ok(buf) => buf.unchecked_into::<js_sys::ArrayBuffer>().byte_length(),
                Err(e) => {
                    return Outcome::Error(RequestError::new(ErrorKind::Body, js_message(&e)));
                }
            },
            Err(e) => return Outcome::Error(RequestError::new(ErrorKind::Body, js_message(&e))),
        };
        guard.disarm();
        Outcome::Response(Response {
            status,
            bytes: u64::from(bytes),
            ttfb: Some(std::time::Duration::from_secs_f64(ttfb.max(0.0) / 1e3)),
            connect: None,
        })
    }
}
