//! HTTP/3 through the real binary: `flak target --http3` (routes over QUIC on the TCP
//! listener's port number) and `flak --http3` against it, with the error kinds a user reads.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Target, assert_accounts, exclusive, flak, flak_json, num, stderr};

fn counts(v: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(v.clone()).expect("an object of counts")
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `flak target --http3`: plain HTTP on TCP (for /stats), HTTP/3 on UDP at the same port.
fn h3_target() -> (Target, String) {
    let target = Target::start_with(&["--http3", "--threads", "2"]);
    let base = format!("https://{}/", target.addr());
    (target, base)
}

/// `flak --http3 --insecure -n N -c C --output json URL`, which must succeed.
fn run(n: u64, c: u64, extra: &[&str], url: &str) -> Value {
    let (n, c) = (n.to_string(), c.to_string());
    let mut args = vec![
        "--http3",
        "--insecure",
        "-n",
        &n,
        "-c",
        &c,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let report = flak_json(&args);
    assert_accounts(&report);
    report
}

#[test]
fn http3_against_flak_target_counts_statuses_bytes_and_bodies() {
    let _load = exclusive();
    let (target, base) = h3_target();

    let report = run(200, 10, &[], &base);
    assert_eq!(num(&report, "succeeded"), 200);
    assert_eq!(counts(&report["status_codes"]), map(&[("200", 200)]));
    // "Hello, flak!\n" each time.
    assert_eq!(num(&report, "bytes"), 200 * 13);
    // Each of the 10 slots timed its QUIC handshake.
    assert!(report["connect_ms"]["p50"].as_f64().unwrap() > 0.0);
    let stats = target.stats();
    assert_eq!((num(&stats, "requests"), num(&stats, "http3")), (200, 200));
    let c = &report["connections"];
    assert_eq!(c["asked"], "h3", "{c}");
    assert_eq!(num(&c["opened"], "h3"), 10, "{c}");

    // -p: groups of slots share one QUIC connection, a stream per request.
    let report = run(400, 20, &["-p", "10"], &format!("{base}delay/5"));
    assert_eq!(num(&report, "succeeded"), 400);
    let c = &report["connections"];
    assert_eq!(num(&c["opened"], "h3"), 2, "{c}");
    assert_eq!(num(c, "peak_streams"), 10, "{c}");

    let report = run(50, 5, &[], &format!("{base}bytes/4321"));
    assert_eq!(num(&report, "bytes"), 50 * 4321);

    target.reset();
    let report = run(20, 4, &["-m", "POST", "-d", "ten bytes!"], &base);
    assert_eq!(num(&report, "succeeded"), 20);
    assert_eq!(num(&target.stats(), "body_bytes"), 20 * 10, "POST bodies");

    let report = run(10, 2, &[], &format!("{base}no/such/route"));
    assert_eq!(counts(&report["status_codes"]), map(&[("404", 10)]));

    // /close resets each stream; the connections live on for the next request.
    let report = run(6, 2, &[], &format!("{base}close"));
    assert_eq!(counts(&report["errors"]), map(&[("reset", 6)]));
}

#[test]
fn http3_and_tls_share_the_port_and_the_certificate() {
    let _load = exclusive();
    let target = Target::start_with(&["--http3", "--tls", "--threads", "2"]);
    assert!(target.base().starts_with("https://"), "{}", target.base());
    let over_tcp = flak_json(&[
        "--http2",
        "--insecure",
        "-n",
        "20",
        "--output",
        "json",
        target.base(),
    ]);
    assert_eq!(num(&over_tcp, "succeeded"), 20);
    let over_udp = run(20, 2, &[], target.base());
    assert_eq!(num(&over_udp, "succeeded"), 20);
}

#[test]
fn http3_without_insecure_fails_the_certificate_as_tls() {
    let _load = exclusive();
    let (_target, base) = h3_target();
    let report = flak_json(&["--http3", "-n", "4", "-c", "2", "--output", "json", &base]);
    assert_accounts(&report);
    assert_eq!(counts(&report["errors"]), map(&[("tls", 4)]));
}

#[test]
fn http3_to_a_closed_udp_port_is_a_quick_connect_timeout() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let begin = Instant::now();
    let report = run(
        4,
        2,
        &["--connect-timeout", "300ms"],
        &format!("https://127.0.0.1:{port}/"),
    );
    assert_eq!(counts(&report["errors"]), map(&[("connect_timeout", 4)]));
    assert!(begin.elapsed() < Duration::from_secs(10), "no hang");
}

#[test]
fn http3_refuses_http2_and_plain_http_in_one_line() {
    for (args, says) in [
        (
            &["--http3", "--http2", "https://127.0.0.1:9/"][..],
            "cannot be used with",
        ),
        (&["--http3", "http://127.0.0.1:9/"][..], "not an https URL"),
    ] {
        let out = flak(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("--http3") && err.contains(says), "{err}");
    }
}
