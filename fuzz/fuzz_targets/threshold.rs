//! `--fail-if` expressions: `Threshold::parse`, then `check` against an empty run and against a
//! small one with responses, errors and cancellations. Nothing may panic, and a threshold's text
//! must parse back to the same threshold.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use flak_core::{ErrorKind, Outcome, RequestError, Response, Sample, Stats, Threshold};
use libfuzzer_sys::fuzz_target;

fn busy() -> &'static Stats {
    static STATS: OnceLock<Stats> = OnceLock::new();
    STATS.get_or_init(|| {
        let mut s = Stats::new(false);
        s.begin(Duration::from_secs(1_700_000_000));
        let ok = Outcome::Response(Response {
            status: 200,
            bytes: 10,
            ttfb: Some(Duration::from_millis(1)),
            connect: None,
        });
        let bad = Outcome::Response(Response {
            status: 503,
            ..Response::default()
        });
        let err = Outcome::Error(RequestError::new(ErrorKind::Reset, "reset"));
        for (i, outcome) in [&ok, &ok, &bad, &err, &ok].into_iter().enumerate() {
            s.record_issued();
            s.record(&Sample {
                latency: Duration::from_micros(1 + 997 * i as u64),
                uncorrected: None,
                end_unix: Duration::from_secs(1_700_000_000)
                    + Duration::from_millis(300 * i as u64),
                outcome,
            });
        }
        s.record_issued();
        s.finish(Duration::from_secs(1_700_000_002));
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(threshold) = Threshold::parse(text) else {
        return;
    };
    let _ = threshold.check(&Stats::default());
    let _ = threshold.measure(&Stats::default());
    let _ = threshold.check(busy());
    let again = Threshold::parse(&threshold.to_string()).expect("a threshold's text parses");
    assert_eq!(again, threshold);
});
