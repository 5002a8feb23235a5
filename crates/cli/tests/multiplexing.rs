//! HTTP/2 multiplexing (`-p/--http2-parallel`) through the real binary against `flak target`
//! (hyper's HTTP/2 server): how many connections open, how many streams share one, the server's
//! stream limit making requests wait (and the report saying so), uploads and downloads on many
//! streams at once arriving whole, and the flag's bad values.

use crate::common::{Target, TempDir, assert_accounts, exclusive, flak, flak_json, num, s, stderr};

#[test]
fn groups_of_p_slots_share_one_connection_a_stream_each() {
    let _load = exclusive();
    let target = Target::start();
    let report = flak_json(&[
        "--http2",
        "-c",
        "50",
        "-p",
        "25",
        "-n",
        "2000",
        "--output",
        "json",
        &target.url("delay/10"),
    ]);
    assert_accounts(&report);
    assert_eq!(num(&report, "succeeded"), 2000);
    let c = &report["connections"];
    assert_eq!(num(&c["opened"], "h2"), 2, "{c}");
    assert_eq!(num(c, "peak_streams"), 25, "{c}");
    assert_eq!(c["asked"], "h2");
    let stats = target.stats();
    assert_eq!(num(&stats, "http2"), 2000, "{stats}");
    assert_eq!(num(&stats, "connections") - 1, 2, "{stats}");
    // 50 requests of 10 ms each were at the server at once, over two connections.
    assert!(num(&stats, "peak_in_flight") > 25, "{stats}");
}

#[test]
fn the_servers_stream_limit_makes_requests_wait_and_the_report_says_so() {
    let _load = exclusive();
    let target = Target::start_with(&["--threads", "2", "--http2-max-streams", "2"]);
    let args = [
        "--http2",
        "-c",
        "10",
        "-p",
        "10",
        "-n",
        "100",
        &target.url("delay/5"),
    ];
    let mut json_args = vec!["--output", "json"];
    json_args.extend_from_slice(&args);
    let report = flak_json(&json_args);
    assert_accounts(&report);
    // Nothing refused, nothing retried: the limit was kept, not run into.
    assert_eq!(num(&report, "succeeded"), 100, "{}", report["errors"]);
    let c = &report["connections"];
    assert_eq!(num(c, "retries"), 0, "{c}");
    assert_eq!(num(&c["opened"], "h2"), 1, "{c}");
    assert_eq!(num(c, "peak_streams"), 2, "{c}");
    // Ten slots, two streams: most requests waited, about four 5 ms requests' worth at most.
    assert!(num(c, "stream_waits") >= 50, "{c}");
    assert!(num(c, "stream_wait_max_us") >= 5_000, "{c}");
    let stats = target.stats();
    assert_eq!(num(&stats, "peak_in_flight"), 2, "{stats}");
    // The text report tells the wait apart from the server's latency.
    let text = flak(&args);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(
        out.contains("requests waited for a free stream")
            && out.contains("Opened:       1 (1 h2; asked for h2)"),
        "{out}"
    );
}

#[test]
fn uploads_and_downloads_on_many_streams_at_once_arrive_whole() {
    let _load = exclusive();
    let dir = TempDir::new("multiplexed-bodies");
    let mib = 1 << 20;
    let body = dir.write("body.bin", &"u".repeat(mib));
    for (protocol, extra) in [("h2", &["--http2", "-p", "8"][..]), ("http/1.1", &[][..])] {
        let target = Target::start();
        let mut args = vec!["-m", "POST", "-D", s(&body), "-c", "8", "-n", "24"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", "json"]);
        let upload = target.url("upload");
        args.push(&upload);
        let report = flak_json(&args);
        assert_eq!(
            num(&report, "succeeded"),
            24,
            "{protocol}: {}",
            report["errors"]
        );
        let stats = target.stats();
        assert_eq!(
            num(&stats, "body_bytes"),
            24 * mib as u64,
            "{protocol}: {stats}"
        );
        let mut args = vec!["-c", "8", "-n", "32"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", "json"]);
        let download = target.url(&format!("bytes/{mib}"));
        args.push(&download);
        let report = flak_json(&args);
        assert_eq!(
            num(&report, "succeeded"),
            32,
            "{protocol}: {}",
            report["errors"]
        );
        assert_eq!(num(&report, "bytes"), 32 * mib as u64, "{protocol}");
        let opened = num(&report["connections"]["opened"], protocol);
        let expected = if protocol == "h2" { 1 } else { 8 };
        assert_eq!(opened, expected, "{protocol}: {}", report["connections"]);
        // Both runs' connections, and the two asking for /stats.
        let stats = target.stats();
        assert_eq!(
            num(&stats, "connections"),
            2 * expected + 2,
            "{protocol}: {stats}"
        );
    }
}

#[test]
fn bad_parallel_values_are_one_line_and_exit_2() {
    for (args, says) in [
        (
            &["--http2", "-p", "0"][..],
            "-p/--http2-parallel must be at least 1",
        ),
        (&["-p", "4"][..], "needs --http2"),
        (&["--http2", "-p", "many"][..], "--http2-parallel"),
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-n", "1", "http://127.0.0.1:1/"]);
        let out = flak(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn asking_for_http2_from_a_server_without_it_says_what_was_negotiated() {
    let _load = exclusive();
    let target = Target::start_with(&["--threads", "2", "--tls", "--http1-only"]);
    let url = target.url("");
    let args = ["--http2", "--insecure", "-n", "20", "-c", "2", &url];
    let mut json_args = vec!["--output", "json"];
    json_args.extend_from_slice(&args);
    let report = flak_json(&json_args);
    assert_eq!(num(&report, "succeeded"), 20);
    let c = &report["connections"];
    assert_eq!(c["asked"], "h2", "{c}");
    assert_eq!(c["opened"], serde_json::json!({"http/1.1": 2}), "{c}");
    let out = flak(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("asked for h2, but the server negotiated http/1.1"),
        "{text}"
    );
}
