//! The browser transport in headless Chromium against the real `flak target` on loopback:
//! status codes, bytes, timeouts (the fetch aborted, its slot going on), Stop (abort), a CORS
//! failure and no-cors opaque responses, headers and bodies, and the first wave's pacing.
//!
//! `scripts/test.sh` starts the target and passes its URLs at build time:
//! `FLAK_TEST_TARGET` (CORS-enabled endpoints) and `FLAK_TEST_NOCORS` (a URL on another origin
//! that sends no CORS headers).
#![cfg(target_arch = "wasm32")]
// wasm_bindgen_test fns are tests, but clippy does not know them as such; the URLs are
// required at build time on purpose.
#![allow(clippy::unwrap_used, clippy::option_env_unwrap)]

use std::time::Duration;

use flak_core::transport::Capture;
use flak_core::{
    ErrorKind, Outcome, Plan, PlanBuilder, Request, RequestSpec, Response, Stats, StopSignal,
    Transport as _, run_plan,
};
use flak_web::browser::clock::BrowserClock;
use flak_web::browser::fetch::{FetchOptions, FetchTransport};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn target(path: &str) -> String {
    let base = option_env!("FLAK_TEST_TARGET")
        .expect("build with FLAK_TEST_TARGET=http://127.0.0.1:PORT/ (scripts/test.sh does)");
    format!("{base}{path}")
}

const CORS: FetchOptions = FetchOptions {
    no_cors: false,
    credentials: false,
    bypass_cache: true,
};

async fn run(plan: &Plan, options: FetchOptions, stop: StopSignal) -> Stats {
    let transport = FetchTransport::new(plan, options).unwrap();
    let stats = run_plan(plan, &transport, &BrowserClock::new(), stop).await;
    assert_eq!(
        stats.issued(),
        stats.succeeded() + stats.failed() + stats.cancelled()
    );
    stats
}

/// `n` GETs of `url`, `c` in flight.
fn planned(url: &str, n: u64, c: u64) -> PlanBuilder {
    Plan::builder()
        .request(RequestSpec::get(url).unwrap())
        .requests(n)
        .concurrency(c)
}

fn plan(url: &str, n: u64, c: u64) -> Plan {
    planned(url, n, c).build().unwrap()
}

/// `plan`, with each request given up after `timeout_ms`.
fn plan_with_timeout(url: &str, n: u64, c: u64, timeout_ms: u64) -> Plan {
    planned(url, n, c)
        .timeout(Some(Duration::from_millis(timeout_ms)))
        .build()
        .unwrap()
}

#[wasm_bindgen_test]
async fn status_codes_and_bytes_are_counted() {
    let stats = run(&plan(&target("status/503"), 30, 4), CORS, StopSignal::new()).await;
    assert_eq!(stats.status_codes().get(&503), Some(&30));
    assert_eq!((stats.succeeded(), stats.failed()), (0, 30));
    let stats = run(&plan(&target("bytes/100"), 10, 2), CORS, StopSignal::new()).await;
    assert_eq!((stats.succeeded(), stats.bytes()), (10, 1000));
    assert_eq!(stats.ttfb().len(), 10);
}

#[wasm_bindgen_test]
async fn slow_responses_time_out_on_time() {
    let plan = plan_with_timeout(&target("delay/3000"), 2, 2, 300);
    let stats = run(&plan, CORS, StopSignal::new()).await;
    assert_eq!(stats.errors().get(&ErrorKind::Timeout), Some(&2));
    let elapsed = stats.elapsed().as_secs_f64();
    assert!(
        (0.25..1.0).contains(&elapsed),
        "timed out after {elapsed} s, not 0.3 s"
    );
}

#[wasm_bindgen_test]
async fn abort_cancels_every_fetch_in_flight() {
    let plan = Plan::builder()
        .request(RequestSpec::get(&target("delay/400")).unwrap())
        .duration(Duration::from_secs(30))
        .concurrency(3)
        .build()
        .unwrap();
    let stop = StopSignal::new();
    let trigger = stop.clone();
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(1000).await;
        trigger.abort();
    });
    let stats = run(&plan, CORS, stop).await;
    assert_eq!(stats.cancelled(), 3, "the three in flight");
    assert!(
        stats.succeeded() >= 3,
        "the first round finished before the abort"
    );
    assert!(stats.elapsed() < Duration::from_secs(3));
}

#[wasm_bindgen_test]
async fn a_cors_failure_is_a_network_error_and_no_cors_is_opaque() {
    let url = option_env!("FLAK_TEST_NOCORS")
        .expect("build with FLAK_TEST_NOCORS (scripts/test.sh does)");
    let stats = run(&plan(url, 5, 1), CORS, StopSignal::new()).await;
    assert_eq!(stats.errors().get(&ErrorKind::Network), Some(&5));
    assert!(stats.error_messages()[&ErrorKind::Network].contains("TypeError"));
    let opaque = FetchOptions {
        no_cors: true,
        ..CORS
    };
    let stats = run(&plan(url, 5, 1), opaque, StopSignal::new()).await;
    assert_eq!(
        stats.status_codes().get(&0),
        Some(&5),
        "opaque responses have status 0"
    );
    assert_eq!(stats.succeeded(), 5);
}

/// The target's request counters, read with the same `fetch` the app uses.
async fn target_stats() -> serde_json::Value {
    let window = web_sys::window().unwrap();
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&target("stats")))
            .await
            .unwrap()
            .into();
    let text = wasm_bindgen_futures::JsFuture::from(response.text().unwrap())
        .await
        .unwrap();
    serde_json::from_str(&text.as_string().unwrap()).unwrap()
}

async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

#[wasm_bindgen_test]
async fn a_timed_out_fetch_is_aborted_and_its_slot_goes_on() {
    // Every other request is slow: it times out, its slot's AbortController aborts it, and the
    // slot's next request gets a fresh controller and succeeds.
    let plan = plan_with_timeout(&target("delay/{pick:0,2000}"), 24, 3, 150);
    let clock = BrowserClock::new();
    let transport = FetchTransport::new(&plan, CORS).unwrap();
    let stats = run_plan(&plan, &transport, &clock, StopSignal::new()).await;
    let timeouts = stats
        .errors()
        .get(&ErrorKind::Timeout)
        .copied()
        .unwrap_or(0);
    assert!(
        timeouts > 0 && stats.succeeded() > 0,
        "{timeouts} timeouts, {} ok",
        stats.succeeded()
    );
    assert_eq!(
        stats.succeeded() + timeouts,
        24,
        "each request counted once"
    );
    assert_eq!(clock.sleepers(), 0, "no timeout left waiting");
    assert!(
        stats.elapsed() < Duration::from_secs(4),
        "timeouts fired on time"
    );
    // The aborted fetches are gone at the server too (it sees the connection close).
    sleep_ms(300).await;
    assert_eq!(target_stats().await["in_flight"], 0);
}

#[wasm_bindgen_test]
async fn headers_body_and_templated_urls_go_out_as_planned() {
    let spec = RequestSpec::new("POST", &target("bytes/{pick:10,30}"))
        .unwrap()
        .header("x-flak-test", "1")
        .unwrap()
        .header("x-flak-test", "2")
        .unwrap()
        .body("hello");
    let plan = Plan::builder()
        .request(spec)
        .requests(20)
        .concurrency(4)
        .build()
        .unwrap();
    let stats = run(&plan, CORS, StopSignal::new()).await;
    assert_eq!(stats.succeeded(), 20);
    let bytes = stats.bytes();
    assert!(
        (200..=600).contains(&bytes) && bytes % 10 == 0,
        "{bytes} bytes"
    );
}

#[wasm_bindgen(inline_js = r#"
// Wraps fetch() to record, per turn of the event loop (ended by a microtask), when its first
// call started, when each call ended, and how many it made.
export function watch_fetch_turns() {
  const log = { turns: [] };
  const real = window.fetch;
  let turn = null;
  window.fetch = function (...args) {
    const t0 = performance.now();
    if (turn === null) {
      turn = { first: t0, ends: [] };
      log.turns.push(turn);
      queueMicrotask(() => { turn = null; });
    }
    const p = real.apply(this, args);
    turn.ends.push(performance.now());
    return p;
  };
  log.restore = () => { window.fetch = real; };
  return log;
}
"#)]
extern "C" {
    fn watch_fetch_turns() -> wasm_bindgen::JsValue;
}

#[wasm_bindgen_test]
async fn the_first_wave_is_spread_over_several_turns() {
    use wasm_bindgen::JsCast as _;
    let log = watch_fetch_turns();
    let get = |o: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap();
    let stats = run(&plan(&target(""), 100, 50), CORS, StopSignal::new()).await;
    get(&log, "restore")
        .unchecked_into::<js_sys::Function>()
        .call0(&log)
        .unwrap();
    assert_eq!(stats.succeeded(), 100);
    let turns: js_sys::Array = get(&log, "turns").unchecked_into();
    let mut calls = 0;
    for turn in turns.iter() {
        let first = get(&turn, "first").as_f64().unwrap();
        let ends: Vec<f64> = js_sys::Array::from(&get(&turn, "ends"))
            .iter()
            .map(|e| e.as_f64().unwrap())
            .collect();
        calls += ends.len();
        // Once a turn has spent 4 ms issuing fetches (by the time a call returns) it issues no
        // more: every call but its last ended within 4 ms of its first call's start. Wall
        // time, so a turn the thread was preempted in may still run long, but only with its
        // last call.
        if let [.., before_last, _] = ends[..] {
            assert!(
                before_last - first <= 4.0,
                "a turn went on issuing after {} ms in fetch() ({} calls)",
                before_last - first,
                ends.len()
            );
        }
    }
    assert!(
        turns.length() > 1,
        "the first wave of 50 went out in one turn"
    );
    assert_eq!(calls, 100);
}

/// One request through the transport by hand, as the journey scheduler makes them.
async fn send_one(
    transport: &FetchTransport,
    plan: &Plan,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    capture: Option<&Capture>,
) -> Response {
    let mut session = transport.session(0);
    let mut request = Request::new(0, 0, &plan.requests[0], url);
    request.headers = headers;
    request.body = body;
    request.capture = capture;
    match transport.send(&mut session, &request).await {
        Outcome::Response(r) => r,
        Outcome::Error(e) => panic!("{url}: {e:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_journeys_request_sends_its_own_headers_and_body_and_keeps_what_it_captures() {
    let plan = Plan::builder()
        .request(
            RequestSpec::new("POST", &target("upload"))
                .unwrap()
                .header("content-type", "text/plain")
                .unwrap(),
        )
        .requests(1)
        .build()
        .unwrap();
    let transport = FetchTransport::new(&plan, CORS).unwrap();
    // The target answers /stats and /stats/reset whatever the method.
    send_one(&transport, &plan, &target("stats/reset"), &[], None, None).await;
    let headers = vec![("x-flak-step".to_string(), "login".to_string())];
    let sent = send_one(
        &transport,
        &plan,
        &target("upload"),
        &headers,
        Some(b"expanded body"),
        None,
    )
    .await;
    assert_eq!((sent.status, sent.bytes), (200, 3), "ok\\n");
    let stats = Capture::new(["x-not-sent"], true);
    send_one(&transport, &plan, &target("stats"), &[], None, Some(&stats)).await;
    let counters: serde_json::Value = serde_json::from_slice(&stats.got().body).unwrap();
    assert_eq!(
        counters["body_bytes"], 13,
        "the expanded body went instead of the spec's (none): {counters}"
    );
    assert!(stats.got().headers.is_empty(), "x-not-sent did not come");

    // The capture keeps the wanted headers that came and the whole body.
    let kept = Capture::new(["Content-Type", "x-not-sent"], true);
    let got = send_one(&transport, &plan, &target("upload"), &[], None, Some(&kept)).await;
    assert_eq!(got.status, 200);
    let k = kept.got().clone();
    assert_eq!(
        k.headers,
        vec![(
            "content-type".to_string(),
            b"text/plain; charset=utf-8".to_vec()
        )]
    );
    assert_eq!(k.body, b"ok\n");
    assert!(!k.truncated);
    // Headers only: the body is counted, not kept.
    let headers_only = Capture::new(["content-type"], false);
    let got = send_one(
        &transport,
        &plan,
        &target("upload"),
        &[],
        Some(b"x"),
        Some(&headers_only),
    )
    .await;
    assert_eq!(got.bytes, 3);
    assert!(headers_only.got().body.is_empty());
    assert_eq!(headers_only.got().headers.len(), 1);
}
