//! Servers that are legal but unusual, or hostile, through the real `flak` binary: floods that
//! never end (endless 1xx heads, chunks, trailers) must still be stopped by `-t`, `-z` and
//! Ctrl-C; response heads with many header lines; statuses outside 100–599.
//!
//! Every flood is bounded by the fault server's `FLOOD_LIMIT` (30 s); every run by a
//! wall-clock limit well under it, so a flak that cannot stop fails the test instead of waiting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::fault_server::FaultServer;
use crate::common::{
    FLAK, Running, TempDir, assert_accounts, exclusive, float, num, parse_json, s, stderr,
};
use serde_json::Value;

const FLOODS: [&str; 3] = ["flood/continue", "flood/chunks", "flood/trailers"];

fn errors(report: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(report["errors"].clone()).expect("an object of counts")
}

/// Runs flak with `args`, killed (and the test failed) after `limit`; the report and the time.
fn run(args: &[&str], limit: Duration) -> (Value, Duration) {
    let started = Instant::now();
    let out = Running::spawn(FLAK, args).finish(limit);
    let took = started.elapsed();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    (report, took)
}

/// A server that never stops sending cannot keep a request past its timeout.
#[test]
fn endless_responses_time_out_on_time() {
    let _load = exclusive();
    let server = FaultServer::start();
    for path in FLOODS {
        let url = server.url(path);
        let (report, took) = run(
            &["-n", "10", "-c", "10", "-t", "1s", "--output", "json", &url],
            Duration::from_secs(20),
        );
        println!("{path}: {took:?} {}", report["error_messages"]);
        assert!(took < Duration::from_secs(5), "{path}: took {took:?}");
        assert_eq!(
            errors(&report),
            BTreeMap::from([("timeout".to_string(), 10)]),
            "{path}: {}",
            report["error_messages"]
        );
        assert_eq!(num(&report, "total"), 10, "{path}");
    }
}

/// `-z 2s` ends near 2 s even when every request in flight is a flood with a long timeout.
#[test]
fn endless_responses_do_not_outlast_the_duration() {
    let _load = exclusive();
    let server = FaultServer::start();
    for path in FLOODS {
        let url = server.url(path);
        let (report, took) = run(
            &[
                "-z", "2s", "-c", "10", "-t", "30s", "--output", "json", &url,
            ],
            Duration::from_secs(20),
        );
        println!("{path}: {took:?} {}", report["errors"]);
        assert!(
            took < Duration::from_millis(4500),
            "{path}: -z 2s took {took:?}"
        );
        assert!(float(&report, "elapsed_s") < 4.5, "{path}");
        assert_eq!(num(&report, "succeeded"), 0, "{path}");
    }
}

/// Ctrl-C stops a run whose every request is a flood within the grace period, and the results
/// file is written.
#[test]
fn ctrl_c_stops_endless_responses() {
    let _load = exclusive();
    let server = FaultServer::start();
    let dir = TempDir::new("flood-ctrl-c");
    for path in FLOODS {
        let file = dir.path(&format!("{}.json", path.replace('/', "-")));
        let url = server.url(path);
        let child = Running::spawn(
            FLAK,
            &[
                "-z",
                "60s",
                "-c",
                "10",
                "-t",
                "30s",
                "--grace",
                "1s",
                "-o",
                s(&file),
                "--output",
                "json",
                &url,
            ],
        );
        std::thread::sleep(Duration::from_millis(1000));
        child.interrupt();
        let signalled = Instant::now();
        let out = child.finish(Duration::from_secs(20));
        let took = signalled.elapsed();
        println!("{path}: exited {took:?} after SIGINT");
        assert!(
            took < Duration::from_secs(3),
            "{path}: exited {took:?} after SIGINT (grace 1s)"
        );
        assert_eq!(out.status.code(), Some(130), "{path}: {}", stderr(&out));
        let report = parse_json(&out.stdout);
        assert_accounts(&report);
        let written = parse_json(&std::fs::read(&file).expect("-o file written on Ctrl-C"));
        assert_eq!(written, report, "{path}");
    }
}

/// A response head with 150 header lines (more than the 64 parsed on the stack) is read.
#[test]
fn a_head_with_150_header_lines_succeeds() {
    let _load = exclusive();
    let server = FaultServer::start();
    let url = server.url("many-headers");
    let (report, _) = run(
        &["-n", "20", "-c", "2", "--output", "json", &url],
        Duration::from_secs(20),
    );
    assert_eq!(
        (num(&report, "succeeded"), num(&report, "failed")),
        (20, 0),
        "{}",
        report["error_messages"]
    );
    assert_eq!(
        report["status_codes"]["200"], 20,
        "{}",
        report["status_codes"]
    );
    assert_eq!(server.count("/many-headers"), 20);
}

/// Status 000 is not a response: a protocol error, not a success.
#[test]
fn status_000_is_a_protocol_error() {
    let _load = exclusive();
    let server = FaultServer::start();
    let url = server.url("status/000");
    let (report, _) = run(
        &["-n", "5", "-c", "1", "--output", "json", &url],
        Duration::from_secs(20),
    );
    assert_eq!(
        errors(&report),
        BTreeMap::from([("protocol".to_string(), 5)]),
        "{}",
        report["error_messages"]
    );
    let message = report["error_messages"]["protocol"].as_str().unwrap();
    assert!(message.contains("status 000"), "{message}");
}
