//! The messages between the page and the run's Web Worker, in headless Chromium: each kind
//! comes back from its plain-values form as it went (the plan whole, headers and all; the
//! timing reading; the results file), and a message of another kind is refused or read as a
//! failure, never a panic.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use flak_core::{Plan, RequestSpec};
use flak_web::browser::fetch::FetchOptions;
use flak_web::browser::timing::{PhaseSums, TimerLag, TimingReading};
use flak_web::browser::worker::{FromWorker, ToWorker};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn plan() -> Plan {
    let spec = RequestSpec::new("POST", "http://127.0.0.1:9/items/{rand:1-9}")
        .unwrap()
        .header("Authorization", "Bearer secret")
        .unwrap()
        .body("{\"a\":1}");
    Plan::builder()
        .request(spec)
        .concurrency(7)
        .rate(Some(25.0))
        .requests(40)
        .build()
        .unwrap()
}

#[wasm_bindgen_test]
fn the_plan_crosses_whole_with_its_options() {
    let options = FetchOptions {
        no_cors: false,
        credentials: true,
        bypass_cache: true,
    };
    let sent = ToWorker::Start {
        plan: plan(),
        options,
    };
    match ToWorker::from_js(&sent.to_js()).unwrap() {
        ToWorker::Start {
            plan: p,
            options: o,
        } => {
            assert_eq!(p, plan(), "header values are not redacted on the way");
            assert_eq!(o, options);
        }
        ToWorker::Stop => panic!("a start read as a stop"),
    }
    assert!(matches!(
        ToWorker::from_js(&ToWorker::Stop.to_js()),
        Ok(ToWorker::Stop)
    ));
    assert!(ToWorker::from_js(&JsValue::from_f64(3.0)).is_err());
    let broken = js_sys::Array::of1(&"{not json".into());
    assert!(
        ToWorker::from_js(&broken)
            .unwrap_err()
            .starts_with("the plan: ")
    );
}

#[wasm_bindgen_test]
fn progress_finish_and_failure_come_back_as_sent() {
    let timing = TimingReading {
        protocol: "h2".into(),
        phases: PhaseSums {
            samples: 12,
            queueing_ms: 1.5,
            connect_ms: 0.25,
            ttfb_ms: 30.0,
            download_ms: 2.0,
        },
        cross_origin_isolated: true,
        timer_lag: TimerLag {
            fired: 9,
            mean_ms: 0.4,
            max_ms: 3.5,
        },
        ..TimingReading::default()
    };
    let progress = FromWorker::Progress {
        results: "{\"format\": \"flak-results\"}".into(),
        in_flight: 5,
        elapsed_s: 1.25,
        timing: timing.clone(),
    };
    match FromWorker::from_js(&progress.to_js()) {
        FromWorker::Progress {
            results,
            in_flight,
            elapsed_s,
            timing: t,
        } => {
            assert_eq!(results, "{\"format\": \"flak-results\"}");
            assert_eq!((in_flight, elapsed_s), (5, 1.25));
            assert_eq!(t, timing);
        }
        _ => panic!("progress read as another kind"),
    }
    let finished = FromWorker::Finished {
        results: "r".into(),
        elapsed_s: 2.0,
        stopped: true,
        timing,
    };
    assert!(matches!(
        FromWorker::from_js(&finished.to_js()),
        FromWorker::Finished { stopped: true, .. }
    ));
    let failed = FromWorker::Failed("no plan".into());
    assert!(
        matches!(FromWorker::from_js(&failed.to_js()), FromWorker::Failed(m) if m == "no plan")
    );
    assert!(matches!(
        FromWorker::from_js(&JsValue::NULL),
        FromWorker::Failed(_)
    ));
}
