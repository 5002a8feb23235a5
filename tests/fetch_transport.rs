//! The browser transport in headless Chromium against the real `flak target` on loopback:
//! status codes, bytes, timeouts, Stop (abort), a CORS failure and no-cors opaque responses.
//!
//! `scripts/test.sh` starts the target and passes its URLs at build time:
//! `FLAK_TEST_TARGET` (CORS-enabled endpoints) and `FLAK_TEST_NOCORS` (a URL on another origin
//! that sends no CORS headers).
#![cfg(target_arch = "wasm32")]
// wasm_bindgen_test fns are tests, but clippy does not know them as such; the URLs are
// required at build time on purpose.
#![allow(clippy::unwrap_used, clippy::option_env_unwrap)]

use std::time::Duration;

use flak_core::{ErrorKind, Plan, RequestSpec, Stats, StopSignal, run_plan};
use flak_web::browser::clock::BrowserClock;
use flak_web::browser::fetch::FetchTransport;
use flak_web::config::{FetchMode, FetchOptions};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn target(path: &str) -> String {
    let base = option_env!("FLAK_TEST_TARGET")
        .expect("build with FLAK_TEST_TARGET=http://127.0.0.1:PORT/ (scripts/test.sh does)");
    format!("{base}{path}")
}

const CORS: FetchOptions = FetchOptions {
    mode: FetchMode::Cors,
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

fn plan(url: &str, n: u64, c: u64) -> Plan {
    Plan::builder()
        .request(RequestSpec::get(url).unwrap())
        .requests(n)
        .concurrency(c)
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
    let plan = Plan::builder()
        .request(RequestSpec::get(&target("delay/3000")).unwrap())
        .requests(2)
        .concurrency(2)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
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
        mode: FetchMode::NoCors,
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
