//! The results file in headless Chromium: histograms compressed and inflated by the browser's
//! own zlib (`CompressionStream` / `DecompressionStream`) around the core's two halves, so
//! export and import are lossless there too; what other HdrHistogram tools wrote inflates; a
//! corrupt compressed histogram is refused with the field named.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // wasm_bindgen_test fns are tests, but clippy does not know it

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flak_core::codec::{self, CodecError, Framed};
use flak_core::{ErrorKind, Outcome, RequestError, Response, Results, Sample, Stats};
use flak_web::browser::zlib;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn sample_stats() -> Stats {
    let mut s = Stats::new(true);
    s.begin(Duration::from_secs(1_700_000_000));
    let outcomes = [
        Outcome::Response(Response {
            status: 200,
            bytes: 5,
            ttfb: Some(Duration::from_millis(1)),
            connect: Some(Duration::from_micros(80)),
        }),
        Outcome::Response(Response {
            status: 503,
            bytes: 0,
            ttfb: None,
            connect: None,
        }),
        Outcome::Error(RequestError::new(ErrorKind::Timeout, "too slow")),
    ];
    for i in 0..3000u64 {
        s.record_issued();
        s.record(&Sample {
            latency: Duration::from_micros(1000 + i * 37),
            uncorrected: Some(Duration::from_micros(900 + i)),
            // Mid-second, so that each request's time in flight stays within its second.
            end_unix: Duration::from_millis(1_700_000_000_500 + i / 100 * 1000),
            outcome: &outcomes[(i % 3) as usize],
        });
    }
    s.finish(Duration::from_secs(1_700_000_030));
    s
}

async fn export(stats: &Stats) -> String {
    let unfinished = Results::unfinished(stats, None);
    let zlib = zlib::deflate_all(unfinished.uncompressed()).await.unwrap();
    unfinished.finish(zlib).to_json()
}

async fn import(json: &str) -> Result<Stats, String> {
    let loading = Results::parse(json).map_err(|e| e.to_string())?;
    let inflated = zlib::inflate_all(&loading.compressed()).await;
    loading
        .finish(inflated)
        .map(|(stats, _)| stats)
        .map_err(|e| e.to_string())
}

#[wasm_bindgen_test]
async fn a_results_file_round_trips_through_the_browsers_zlib() {
    let stats = sample_stats();
    let json = export(&stats).await;
    assert!(json.contains("\"histogram\": \"HISTFAAA"), "compressed V2");
    // 4 histograms, one per second of the series, and the generator's start lag.
    let loading = Results::parse(&json).unwrap();
    assert_eq!(loading.compressed().len(), 4 + 30 + 1);
    assert_eq!(import(&json).await.unwrap(), stats);
}

#[wasm_bindgen_test]
async fn histograms_other_tools_wrote_inflate() {
    // HdrHistogram_rust's tests/data/seq-nums.histz, written by the Java implementation:
    // 0..100000 recorded once each.
    let java = STANDARD
        .decode("HISTFAAAAE54nO3IoRGAMBREwQQQSGawiDSBJp2BoAMapQMQoQD8333iZm45rzmlsqam/zbvT7Pd7egAgHAGIKwRCGsCwipAWBUI68iS9L/6At/YGc4=")
        .unwrap();
    let Framed::Compressed(z) = codec::unframe(&java).unwrap() else {
        panic!("a compressed histogram");
    };
    let inflated = zlib::inflate_all(&[z]).await.pop().unwrap().unwrap();
    let h = codec::decode::<u64>(&inflated).unwrap();
    assert_eq!((h.len(), h.min(), h.max()), (100_000, 0, 100_031));
}

#[wasm_bindgen_test]
async fn a_corrupt_compressed_histogram_is_refused_by_name() {
    let json = export(&sample_stats()).await;
    let mut doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut bytes = STANDARD
        .decode(doc["histogram_ttfb"].as_str().unwrap())
        .unwrap();
    for b in &mut bytes[12..] {
        *b ^= 0x5a;
    }
    doc["histogram_ttfb"] = STANDARD.encode(&bytes).into();
    let err = import(&doc.to_string()).await.unwrap_err();
    assert!(
        err.contains(
            "field histogram_ttfb: not an HdrHistogram: the compressed counts do not inflate"
        ),
        "{err}"
    );
    let garbage = zlib::inflate_all(&[b"not zlib".as_slice()]).await;
    assert!(matches!(&garbage[..], [Err(CodecError::Inflate(_))]));
}
