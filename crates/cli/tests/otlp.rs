//! `--otlp` through the real path: a receiver speaking OTLP/HTTP on 127.0.0.1 decodes what the
//! real binary pushes with OpenTelemetry's own protobuf types; its last export must hold the
//! run's exact totals. A collector that refuses or never answers costs the run one line.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use prost::Message as _;

use crate::common::{Target, exclusive, flak, flak_json, num, stderr};

/// Reads one HTTP/1.1 request's body (Content-Length framed, as the exporter sends).
fn read_body(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[head_end..head_end + len].to_vec())
}

/// An OTLP/HTTP receiver keeping every export it decodes.
fn receiver() -> (String, Arc<Mutex<Vec<ExportMetricsServiceRequest>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Some(body) = read_body(&mut stream) {
                let request = ExportMetricsServiceRequest::decode(body.as_slice())
                    .expect("an OTLP metrics export");
                keep.lock().unwrap().push(request);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        }
    });
    (url, got)
}

/// The sum of a metric's points in one export (counters: the cumulative value), with the
/// points' attributes.
fn points(export: &ExportMetricsServiceRequest, name: &str) -> Vec<(f64, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for rm in &export.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in sm.metrics.iter().filter(|m| m.name == name) {
                let attrs = |a: &[opentelemetry_proto::tonic::common::v1::KeyValue]| {
                    a.iter()
                        .map(|kv| {
                            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                                Some(Any::StringValue(s)) => s.clone(),
                                Some(Any::IntValue(i)) => i.to_string(),
                                other => format!("{other:?}"),
                            };
                            (kv.key.clone(), v)
                        })
                        .collect::<Vec<_>>()
                };
                match &m.data {
                    Some(Data::Sum(s)) => out.extend(s.data_points.iter().map(|p| {
                        let v = match p.value {
                            Some(Number::AsInt(i)) => i as f64,
                            Some(Number::AsDouble(d)) => d,
                            None => f64::NAN,
                        };
                        (v, attrs(&p.attributes))
                    })),
                    Some(Data::Histogram(h)) => out.extend(
                        h.data_points
                            .iter()
                            .map(|p| (p.count as f64, attrs(&p.attributes))),
                    ),
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn the_collector_receives_the_runs_exact_totals() {
    let _load = exclusive();
    let target = Target::start();
    let (url, got) = receiver();
    let report = flak_json(&[
        "-z",
        "3s",
        "-q",
        "200",
        "-c",
        "4",
        "--otlp",
        &url,
        "--run-id",
        "otel-1",
        "--output",
        "json",
        &target.url("jitter/0-3"),
    ]);
    let total = num(&report, "total");
    assert!(total >= 590, "{report}");
    let exports = got.lock().unwrap();
    assert!(
        exports.len() >= 3,
        "one export a second: got {}",
        exports.len()
    );
    // Mid-run exports saw part of the run; the last one, all of it.
    let sum = |e: &ExportMetricsServiceRequest, name: &str| {
        points(e, name).iter().map(|p| p.0).sum::<f64>()
    };
    let last = exports.last().unwrap();
    assert_eq!(sum(last, "flak.requests"), total as f64);
    assert_eq!(sum(last, "flak.requests.issued"), total as f64);
    assert_eq!(
        sum(last, "flak.responses"),
        num(&report, "succeeded") as f64
    );
    assert_eq!(
        sum(last, "flak.request.duration"),
        total as f64,
        "every latency is in the histogram"
    );
    assert!(sum(&exports[0], "flak.requests") < total as f64);
    let (_, attrs) = &points(last, "flak.requests.issued")[0];
    assert!(
        attrs.contains(&("run_id".into(), "otel-1".into()))
            && attrs.contains(&("shard".into(), "0/1".into())),
        "{attrs:?}"
    );
}

#[test]
fn a_collector_that_refuses_or_hangs_costs_the_run_one_line() {
    let _load = exclusive();
    let target = Target::start();
    // Nothing listens on port 1.
    let out = flak(&[
        "-n",
        "100",
        "--otlp",
        "http://127.0.0.1:1/v1/metrics",
        target.base(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("exports failed (first:") && err.contains("refused"),
        "{err}"
    );

    // One that takes the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for s in silent.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let started = Instant::now();
    let out = flak(&[
        "-z",
        "2s",
        "-q",
        "100",
        "--otlp",
        &url,
        "--output",
        "json",
        target.base(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = crate::common::parse_json(&out.stdout);
    assert_eq!(
        num(&report, "failed"),
        0,
        "the requests never waited for the collector"
    );
    assert!(num(&report, "total") >= 195, "{report}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the run ended {:?} after it started",
        started.elapsed()
    );
    let err = stderr(&out);
    assert!(err.contains("no answer within 3 s"), "{err}");
}
