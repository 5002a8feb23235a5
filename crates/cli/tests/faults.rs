//! The fault matrix: the real `flak` binary against servers that fail in every way a server
//! can (resets, early closes, stalls, trickles, garbage, short bodies, 500s, nothing listening,
//! names that do not resolve, certificates that do not verify, a crash and restart mid-run, and
//! 10,000 connections at once). Each run must complete, account for every request exactly, agree
//! with the server's own counts, and put each failure in the error kind a user would expect.
//!
//! Every run is bounded by `-n` or `-z`, a `-t`, and a wall-clock limit; all traffic goes to
//! 127.0.0.1 (the DNS case runs in a network namespace of its own, so no lookup leaves the
//! machine).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::fault_server::FaultServer;
use crate::common::{
    FLAK, Running, Target, TempDir, assert_accounts, assert_success, exclusive, flak_json, float,
    num, parse_json, refused_results, s,
};
use serde_json::{Value, json};

fn counts(v: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(v.clone()).expect("an object of counts")
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The first message recorded for an error kind.
fn message<'a>(report: &'a Value, kind: &str) -> &'a str {
    report["error_messages"][kind]
        .as_str()
        .unwrap_or_else(|| panic!("no error message for {kind}: {}", report["error_messages"]))
}

/// Runs `flak ARGS --output json URL` against one fault path and checks the accounting: every
/// one of `n` requests finished, as a failure of `kind`, and the server saw each of them.
fn expect_all_fail(server: &FaultServer, path: &str, extra: &[&str], n: u64, kind: &str) -> Value {
    let url = server.url(path.trim_start_matches('/'));
    let before = server.count(path);
    let n_arg = n.to_string();
    let mut args = vec!["-n", n_arg.as_str(), "--output", "json"];
    args.extend_from_slice(extra);
    args.push(&url);
    let report = flak_json(&args);
    println!(
        "{path}: errors {} {}",
        report["errors"], report["error_messages"]
    );
    assert_accounts(&report);
    assert_eq!(num(&report, "total"), n, "{path}: total");
    assert_eq!(num(&report, "failed"), n, "{path}: failed");
    assert_eq!(
        (num(&report, "succeeded"), num(&report, "cancelled")),
        (0, 0),
        "{path}"
    );
    assert_eq!(
        counts(&report["errors"]),
        map(&[(kind, n)]),
        "{path}: error kinds; messages {}",
        report["error_messages"]
    );
    assert_eq!(
        server.count(path) - before,
        n,
        "{path}: the server's count of requests"
    );
    report
}

/// The control: a well-behaved path, counted exactly by flak and by the server.
#[test]
fn ok_path_counts_exactly() {
    let _load = exclusive();
    let server = FaultServer::start();
    let report = flak_json(&[
        "-n",
        "300",
        "-c",
        "4",
        "-t",
        "5s",
        "--output",
        "json",
        &server.url("ok"),
    ]);
    assert_accounts(&report);
    assert_eq!(num(&report, "succeeded"), 300);
    assert_eq!(counts(&report["status_codes"]), map(&[("200", 300)]));
    assert_eq!(server.count("/ok"), 300);
    // Keep-alive: one connection per slot.
    assert!(
        server.connections() <= 4,
        "{} connections",
        server.connections()
    );
}

/// Headers, a few body bytes, then a TCP reset: `reset`.
#[test]
fn reset_mid_body_is_reset() {
    let _load = exclusive();
    let server = FaultServer::start();
    let report = expect_all_fail(&server, "/reset", &["-c", "2", "-t", "5s"], 20, "reset");
    assert!(
        message(&report, "reset").contains("reset"),
        "{}",
        message(&report, "reset")
    );
}

/// The server closes the connection before answering: `closed`.
#[test]
fn close_before_answer_is_closed() {
    let _load = exclusive();
    let server = FaultServer::start();
    expect_all_fail(&server, "/close", &["-c", "2", "-t", "5s"], 20, "closed");
}

/// A server that never answers: every request is a `timeout`, fired on time. With one worker
/// thread and 3 slots, 6 requests are two rounds of 300 ms.
#[test]
fn stall_times_out_on_time() {
    let _load = exclusive();
    let server = FaultServer::start();
    let url = server.url("stall");
    let started = Instant::now();
    let out = Running::spawn(
        FLAK,
        &[
            "-n",
            "6",
            "-c",
            "3",
            "-t",
            "300ms",
            "--threads",
            "1",
            "--output",
            "json",
            &url,
        ],
    )
    .finish(Duration::from_secs(10));
    let wall = started.elapsed();
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    assert_eq!(counts(&report["errors"]), map(&[("timeout", 6)]));
    assert_eq!(num(&report, "total"), 6);
    assert!(
        message(&report, "timeout").contains("300ms"),
        "{}",
        message(&report, "timeout")
    );
    // Two rounds of timeouts, each within 10% of 300 ms.
    let elapsed = float(&report, "elapsed_s");
    assert!(
        (0.6..=0.66).contains(&elapsed),
        "elapsed_s {elapsed}: two rounds of 300 ms timeouts should take 0.60-0.66 s"
    );
    assert!(
        (Duration::from_millis(600)..=Duration::from_millis(800)).contains(&wall),
        "wall time {wall:?}"
    );
    assert_eq!(server.count("/stall"), 6);
}

/// The same with flak's default worker threads (one per core, two here), which split the 3 slots
/// 2 + 1. When each worker also took a fixed half of the requests (3 + 3), the one-slot worker
/// needed three rounds: 0.9 s instead of 0.6 s, and any run whose `-c` is not a multiple of the
/// worker count ran with fewer than `-c` requests in flight towards its end. Workers now take
/// request numbers from one shared counter.
#[test]
fn stall_times_out_on_time_default_threads() {
    let _load = exclusive();
    let server = FaultServer::start();
    let url = server.url("stall");
    let started = Instant::now();
    let out = Running::spawn(
        FLAK,
        &[
            "-n", "6", "-c", "3", "-t", "300ms", "--output", "json", &url,
        ],
    )
    .finish(Duration::from_secs(10));
    let wall = started.elapsed();
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    assert_eq!(counts(&report["errors"]), map(&[("timeout", 6)]));
    let elapsed = float(&report, "elapsed_s");
    assert!(
        (0.6..=0.66).contains(&elapsed) && wall <= Duration::from_millis(800),
        "-n 6 -c 3 -t 300ms took elapsed_s {elapsed} (wall {wall:?}); two rounds are 0.6 s"
    );
}

/// A body that trickles in slower than the timeout allows: `timeout`, at 1 s.
#[test]
fn trickle_times_out() {
    let _load = exclusive();
    let server = FaultServer::start();
    let report = expect_all_fail(&server, "/trickle", &["-c", "2", "-t", "1s"], 2, "timeout");
    let elapsed = float(&report, "elapsed_s");
    assert!((1.0..=1.1).contains(&elapsed), "elapsed_s {elapsed}");
}

/// An answer that is not HTTP: `protocol`.
#[test]
fn garbage_is_protocol() {
    let _load = exclusive();
    let server = FaultServer::start();
    expect_all_fail(
        &server,
        "/garbage",
        &["-c", "2", "-t", "5s"],
        20,
        "protocol",
    );
}

/// A body cut short by a clean close (FIN after 10 of 100 bytes): `body`, not `closed`. The head
/// arrived whole, so the response had started, and its own framing (Content-Length) says more was
/// due: the body failed. (hyper said "end of file before message length reached" as an
/// `UnexpectedEof` in the body stage, which flak sorted into `body`; the HTTP/1.1 client in
/// crates/cli/src/h1.rs says "connection closed after 10 of 100 body bytes", also `body`.)
/// `closed` is kept for a connection that ends before a complete head, as `/close` shows.
#[test]
fn short_body_is_body() {
    let _load = exclusive();
    let server = FaultServer::start();
    expect_all_fail(&server, "/short", &["-c", "2", "-t", "5s"], 20, "body");
}

/// 500s are responses, counted by status, and failed.
#[test]
fn status_500_is_counted_by_status() {
    let _load = exclusive();
    let server = FaultServer::start();
    let report = flak_json(&[
        "-n",
        "200",
        "-c",
        "4",
        "-t",
        "5s",
        "--output",
        "json",
        &server.url("status/500"),
    ]);
    assert_accounts(&report);
    assert_eq!(counts(&report["status_codes"]), map(&[("500", 200)]));
    assert_eq!(num(&report, "failed"), 200);
    assert_eq!(counts(&report["errors"]), map(&[]));
    assert_eq!(server.count("/status/500"), 200);
}

/// Nothing listening on the port: `connect_refused`, every time.
#[test]
fn nothing_listening_is_connect_refused() {
    let _load = exclusive();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let report = flak_json(&[
        "-n",
        "50",
        "-c",
        "2",
        "-t",
        "5s",
        "--output",
        "json",
        &format!("http://127.0.0.1:{port}/"),
    ]);
    assert_accounts(&report);
    assert_eq!(
        counts(&report["errors"]),
        map(&[("connect_refused", 50)]),
        "{}",
        report["error_messages"]
    );
    assert!(message(&report, "connect_refused").contains(&port.to_string()));
}

/// True when this machine can give a process a network namespace of its own.
fn can_unshare_network() -> bool {
    std::process::Command::new("unshare")
        .args(["-n", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A name that does not resolve: `dns`. `.invalid` never resolves (RFC 6761), but the system
/// resolver would still ask the configured name server; so flak runs in a network namespace of
/// its own (`unshare -n`, only a downed loopback), where the lookup fails without a packet
/// leaving the machine.
#[test]
fn unresolvable_name_is_dns() {
    if !can_unshare_network() {
        println!(
            "skipped: `unshare -n` is not permitted here, and a lookup could leave the machine"
        );
        return;
    }
    let out = Running::spawn(
        "unshare",
        &[
            "-n",
            FLAK,
            "-n",
            "3",
            "-c",
            "1",
            "-t",
            "2s",
            "--connect-timeout",
            "1s",
            "--output",
            "json",
            "http://flak-test.invalid/",
        ],
    )
    .finish(Duration::from_secs(20));
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    assert_eq!(
        counts(&report["errors"]),
        map(&[("dns", 3)]),
        "{}",
        report["error_messages"]
    );
    assert!(message(&report, "dns").contains("flak-test.invalid"));
}

/// The built-in target's self-signed certificate: `tls` without `--insecure`, fine with it.
#[test]
fn unverified_certificate_is_tls_unless_insecure() {
    let _load = exclusive();
    let target = Target::start_with(&["--tls", "--threads", "1"]);
    assert!(target.base().starts_with("https://"), "{}", target.base());
    let report = flak_json(&[
        "-n",
        "10",
        "-c",
        "2",
        "-t",
        "5s",
        "--output",
        "json",
        target.base(),
    ]);
    assert_accounts(&report);
    assert_eq!(
        counts(&report["errors"]),
        map(&[("tls", 10)]),
        "{}",
        report["error_messages"]
    );
    assert!(
        message(&report, "tls").contains("certificate"),
        "{}",
        message(&report, "tls")
    );
    let report = flak_json(&[
        "-n",
        "10",
        "-c",
        "2",
        "-t",
        "5s",
        "--insecure",
        "--output",
        "json",
        target.base(),
    ]);
    assert_accounts(&report);
    assert_eq!(
        num(&report, "succeeded"),
        10,
        "{}",
        report["error_messages"]
    );
    assert_eq!(counts(&report["status_codes"]), map(&[("200", 10)]));
}

/// The server dies 1 s into a 3 s run (listener closed, live connections dropped) and comes back
/// on the same port at 2 s: the run completes, every request is accounted for, the outage shows
/// as refused, reset or closed connections, and requests succeed again after the restart.
#[test]
fn server_killed_and_restarted_mid_run() {
    let _load = exclusive();
    let server = FaultServer::start();
    let url = server.url("ok");
    let run = Running::spawn(
        FLAK,
        &["-z", "3s", "-c", "4", "-t", "2s", "--output", "json", &url],
    );
    let outage = server.outage(Duration::from_secs(1), Duration::from_secs(1));
    let out = run.finish(Duration::from_secs(15));
    let written_before_outage = outage.join().expect("the outage thread");
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    let errors = counts(&report["errors"]);
    println!(
        "errors {errors:?}; succeeded {}; cancelled {}; server /ok {} (responses before the outage {written_before_outage}); messages {}",
        num(&report, "succeeded"),
        num(&report, "cancelled"),
        server.count("/ok"),
        report["error_messages"]
    );
    for kind in errors.keys() {
        assert!(
            ["connect_refused", "reset", "closed"].contains(&kind.as_str()),
            "unexpected error kind {kind}: {}",
            report["error_messages"]
        );
    }
    assert!(
        errors.get("connect_refused").copied().unwrap_or(0) > 0,
        "no connection was refused while the server was down: {errors:?}"
    );
    let ok = num(&report, "succeeded");
    assert_eq!(counts(&report["status_codes"]), map(&[("200", ok)]));
    // Each success needed a response the server wrote: more successes than responses written
    // before the outage means some came after the restart.
    assert!(
        ok > written_before_outage,
        "{ok} succeeded, but the server had written {written_before_outage} responses before the outage"
    );
    // Every request the server saw either succeeded or was cut off by the outage or the end of
    // the run, or was sent again after its kept-alive connection closed before any byte of the
    // response; every success reached the server.
    let seen = server.count("/ok");
    let cut = errors.get("reset").copied().unwrap_or(0)
        + errors.get("closed").copied().unwrap_or(0)
        + num(&report, "cancelled")
        + num(&report["connections"], "retries");
    assert!(
        (ok..=ok + cut).contains(&seen),
        "server saw {seen}; flak: {ok} succeeded, {cut} reset, closed or cancelled"
    );
}

/// A shell that raises its soft open-files limit as far as it may (65536, or the hard limit),
/// then runs the command.
const RAISE_ULIMIT: &str =
    "ulimit -n 65536 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec \"$0\" \"$@\"";

/// The soft open-files limit of a running process.
fn open_files_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// 10,000 connections at once against the built-in target: every request accounted for.
#[test]
fn ten_thousand_concurrent_connections() {
    let _load = exclusive();
    let target = Target::launch(
        "sh",
        &[
            "-c",
            RAISE_ULIMIT,
            FLAK,
            "target",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    target.reset();
    let url = target.url("delay/50");
    let started = Instant::now();
    let run = Running::spawn(
        "sh",
        &[
            "-c",
            RAISE_ULIMIT,
            FLAK,
            "-c",
            "10000",
            "-n",
            "20000",
            "-t",
            "30s",
            "--output",
            "json",
            &url,
        ],
    );
    std::thread::sleep(Duration::from_millis(200));
    let limit = open_files_limit(run.id());
    // Sample flak's open descriptors while it runs (every 100 ms, at most 60 s, until 10,000 are
    // seen): each slot keeps its connection open, so this shows 10,000 connections open at once.
    let fd_dir = format!("/proc/{}/fd", run.id());
    let mut peak_fds = 0;
    for _ in 0..600 {
        // A process that has exited (a zombie until waited for) lists no descriptors.
        let open = std::fs::read_dir(&fd_dir).map_or(0, Iterator::count);
        peak_fds = peak_fds.max(open);
        if open == 0 || peak_fds >= 10_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = run.finish(Duration::from_secs(120));
    let wall = started.elapsed();
    assert!(limit >= 10_100, "flak's open-files limit is only {limit}");
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    let stats = target.stats();
    println!(
        "wall {wall:?}; peak open descriptors {peak_fds}; elapsed_s {}; succeeded {}; errors {}; messages {}; server {stats}",
        float(&report, "elapsed_s"),
        num(&report, "succeeded"),
        report["errors"],
        report["error_messages"]
    );
    assert_eq!(num(&report, "total"), 20_000);
    assert_eq!(num(&stats, "requests"), num(&report, "succeeded"));
    assert_eq!(
        counts(&report["errors"]),
        map(&[]),
        "{}",
        report["error_messages"]
    );
    assert_eq!(num(&report, "succeeded"), 20_000);
    assert!(num(&stats, "peak_in_flight") <= 10_000);
    assert!(
        peak_fds >= 10_000,
        "flak never had 10,000 descriptors open at once (peak {peak_fds})"
    );
}

// Regressions from fuzzing the parsers (docs/FUZZING.md): each input goes through the same
// parser from the command line, and must be refused with exit code 2 and one line on stderr.

/// Checks a refusal: exit code 2, nothing on stdout, one line on stderr starting `flak: `, no
/// panic. Returns what is wrong, if anything.
fn refusal_problem(args: &[&str], limit: Duration) -> Option<String> {
    let out = Running::spawn(FLAK, args).finish(limit);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    let problem = if err.contains("panicked") {
        format!("a panic (exit status {})", out.status)
    } else if out.status.code() != Some(2) {
        format!("exit status {}", out.status)
    } else if !out.stdout.is_empty() {
        "output on stdout".to_string()
    } else if lines.len() != 1 || !lines[0].starts_with("flak: ") {
        "stderr is not one 'flak: ' line".to_string()
    } else {
        return None;
    };
    let shown: String = err.lines().take(3).collect::<Vec<_>>().join(" | ");
    Some(format!(
        "flak {}: {problem}; stderr: {shown}",
        args.join(" ")
    ))
}

fn assert_refused(cases: &[&[&str]], limit: Duration) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|args| refusal_problem(args, limit))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Durations that parse but do not fit in the clock: `-t` and `-z` of 2^63 s and more. They parse
/// (humantime takes up to 2^64 - 1 s); `Instant + Duration` then overflowed in a worker
/// (`TokioClock::sleep_until`), which panicked. Now refused as longer than flak allows. Nothing
/// is sent: the only URL is a refused loopback port.
#[test]
fn huge_durations_are_refused() {
    let u = "http://127.0.0.1:1/";
    assert_refused(
        &[
            &["-n", "1", "-c", "1", "-t", "9223372036854775807s", u],
            &["-n", "1", "-c", "1", "-t", "18446744073709551615s", u],
            &["-c", "1", "-z", "9223372036854775808s", u],
            &["-c", "1", "-z", "18446744073709551615s", u],
        ],
        Duration::from_secs(10),
    );
}

/// A port that does not fit in 16 bits used to pass URL validation (`http::Uri` checks only that
/// the port is digits); the transport's `port_u16()` was then `None` and the request went to the
/// default port: `http://127.0.0.1:70000/` was sent to 127.0.0.1:80. Now refused.
#[test]
fn out_of_range_port_is_refused() {
    assert_refused(
        &[
            &["-n", "1", "-c", "1", "http://127.0.0.1:70000/"],
            &["-n", "1", "-c", "1", "http://127.0.0.1:{rand:65536-65540}/"],
        ],
        Duration::from_secs(10),
    );
}

/// The same through a template field: validation checks only the smallest expansion, so
/// `{rand:60000-99999}` or `{pick:1,70000}` in the port passes, and every request that expands
/// above 65535 is sent to port 80 (`-n 30 --seed 3 'http://127.0.0.1:{rand:60000-99999}/'`
/// reports `connect to 127.0.0.1:80: Connection refused`). Such a template should be refused.
#[test]
fn template_port_out_of_range_is_refused() {
    assert_refused(
        &[
            &["-n", "1", "-c", "1", "http://127.0.0.1:{rand:60000-99999}/"],
            &["-n", "1", "-c", "1", "http://127.0.0.1:{pick:1,70000}/"],
        ],
        Duration::from_secs(10),
    );
}

/// A results file with a count of 2^63 or more loads fine: `bytes`, `warmup` and a series
/// second's `count` are not cross-checked, and 2^63 cancelled requests (with `issued` and `total`
/// to match) add up. Merged with itself (`flak merge a.json a.json`), `Stats::merge` and
/// `Interval::merge` add the counters unchecked (crates/core/src/stats.rs): a panic ("attempt to
/// add with overflow") in a debug build, a silently wrapped count in a release build. Found by
/// the `results_counts` fuzz target (docs/FUZZING.md), whose crashes fall on three lines: issued
/// (the first crash added 10910084894955378583 cancelled requests to a seed), bytes, and a series
/// second's count.
#[test]
fn merge_overflow_is_refused() {
    let dir = TempDir::new("merge-overflow");
    let good = refused_results(&dir, "good.json");
    let report = parse_json(&std::fs::read(&good).unwrap());
    let big = 1_u64 << 63;
    let edits: [(&str, &[&str]); 3] = [
        ("bytes", &["bytes"]),
        ("warmup", &["warmup"]),
        ("cancelled", &["cancelled", "issued", "total"]),
    ];
    let mut docs = Vec::new();
    for (name, fields) in edits {
        let mut doc = report.clone();
        for field in fields {
            doc[*field] = json!(num(&report, field) + big);
        }
        docs.push((name, doc));
    }
    // A second of the time series may count up to any number of requests.
    let mut doc = report;
    assert!(doc["series"][0].is_object(), "no series in {doc}");
    doc["series"][0]["count"] = json!(big);
    docs.push(("series", doc));
    let mut files = Vec::new();
    for (name, doc) in docs {
        let file = dir.write(
            &format!("big-{name}.json"),
            &serde_json::to_string_pretty(&doc).unwrap(),
        );
        files.push(file);
    }
    // Counts no real run reaches are refused on loading, alone or merged, so no merge can
    // overflow into a wrong number.
    let alone: Vec<[&str; 2]> = files.iter().map(|f| ["merge", s(f)]).collect();
    let twice: Vec<[&str; 3]> = files.iter().map(|f| ["merge", s(f), s(f)]).collect();
    let mut args: Vec<&[&str]> = alone.iter().map(|a| a.as_slice()).collect();
    args.extend(twice.iter().map(|a| a.as_slice()));
    assert_refused(&args, Duration::from_secs(20));
}

#[test]
fn http2_misbehaviour_is_counted_once_per_request_in_the_right_kind() {
    use crate::common::h2_fault_server::{BEHAVIOURS, H2FaultServer, path};
    let _load = exclusive();
    let server = H2FaultServer::start();
    let dir = TempDir::new("h2-misbehaviour");
    let lines: Vec<String> = (0..BEHAVIOURS.len())
        .map(|which| format!("GET {}{}", server.url(), path(which)))
        .collect();
    let targets = dir.write("targets.txt", &lines.join("\n"));
    let rounds = 25;
    let n = (rounds * BEHAVIOURS.len()).to_string();
    let report = flak_json(&[
        "--http2",
        "--targets",
        s(&targets),
        "-n",
        &n,
        "-c",
        "4",
        "-t",
        "5s",
        "--output",
        "json",
    ]);
    assert_accounts(&report);
    let rounds = rounds as u64;
    let mut expected = BTreeMap::new();
    for (_, kind) in BEHAVIOURS {
        if let Some(kind) = kind {
            *expected.entry(kind.to_string()).or_insert(0) += rounds;
        }
    }
    assert_eq!(counts(&report["errors"]), expected);
    let succeeding = BEHAVIOURS.iter().filter(|(_, kind)| kind.is_none()).count() as u64;
    assert_eq!(num(&report, "succeeded"), rounds * succeeding);
    assert_eq!(num(&report, "cancelled"), 0);
    // The GOAWAY'd and refused requests were never processed, so each went once more (and
    // met the same answer): the server saw them twice, the report counts them once.
    assert_eq!(num(&report["connections"], "retries"), 2 * rounds);
    assert_eq!(
        server.requests(),
        rounds * BEHAVIOURS.len() as u64 + 2 * rounds
    );
    // A connection error ends its connection (GOAWAY twice per request, the three broken
    // frames once); a stream error (refused, short body) and a success leave it to the next
    // request.
    let connections = server.connections();
    assert!(
        (5 * rounds..=8 * rounds).contains(&connections),
        "{connections} connections"
    );
    assert_eq!(
        num(&report["connections"]["opened"], "h2"),
        connections,
        "connections opened as the server counted them"
    );
}

/// A server that never stops sending must not keep a request past its timeout, a run past its
/// duration, or Ctrl-C from stopping the run: whatever arrives, the timers win.
#[test]
fn an_http2_server_that_floods_cannot_hold_timeouts_duration_or_ctrl_c() {
    use crate::common::h2_fault_server::{H2FaultServer, H2Flood};
    let _load = exclusive();
    for flood in [
        H2Flood::InterimHeads,
        H2Flood::EmptyContinuations,
        H2Flood::WindowUpdates,
    ] {
        // Over TLS too: a TLS stream always has a record to decrypt.
        let server = H2FaultServer::flooding_tls(flood);
        let started = Instant::now();
        let out = Running::spawn(
            FLAK,
            &[
                "--http2",
                "--insecure",
                "-n",
                "10",
                "-c",
                "10",
                "-t",
                "1s",
                "--output",
                "json",
                &server.url(),
            ],
        )
        .finish(Duration::from_secs(15));
        let wall = started.elapsed();
        assert_success(&out);
        let report = parse_json(&out.stdout);
        assert_eq!(
            counts(&report["errors"]),
            map(&[("timeout", 10)]),
            "{flood:?} over TLS"
        );
        assert!(
            wall < Duration::from_secs(4),
            "{flood:?} over TLS: -t 1s took {wall:?}"
        );

        let server = H2FaultServer::flooding(flood);
        let started = Instant::now();
        let out = Running::spawn(
            FLAK,
            &[
                "--http2",
                "-n",
                "10",
                "-c",
                "10",
                "-t",
                "1s",
                "--output",
                "json",
                &server.url(),
            ],
        )
        .finish(Duration::from_secs(15));
        let wall = started.elapsed();
        assert_success(&out);
        let report = parse_json(&out.stdout);
        assert_accounts(&report);
        assert_eq!(
            counts(&report["errors"]),
            map(&[("timeout", 10)]),
            "{flood:?}"
        );
        assert!(
            wall < Duration::from_secs(4),
            "{flood:?}: -t 1s took {wall:?}"
        );

        let started = Instant::now();
        let out = Running::spawn(
            FLAK,
            &[
                "--http2",
                "-z",
                "2s",
                "-c",
                "4",
                "-t",
                "30s",
                "--output",
                "json",
                &server.url(),
            ],
        )
        .finish(Duration::from_secs(15));
        let wall = started.elapsed();
        assert_success(&out);
        assert!(
            wall < Duration::from_secs(5),
            "{flood:?}: -z 2s took {wall:?}"
        );

        let run = Running::spawn(
            FLAK,
            &[
                "--http2",
                "-z",
                "60s",
                "-c",
                "4",
                "-t",
                "60s",
                "--grace",
                "1s",
                "--output",
                "json",
                &server.url(),
            ],
        );
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        run.interrupt();
        let out = run.finish(Duration::from_secs(15));
        let wall = started.elapsed();
        assert_eq!(out.status.code(), Some(130), "{flood:?}");
        let report = parse_json(&out.stdout);
        assert_accounts(&report);
        assert!(
            wall < Duration::from_secs(4),
            "{flood:?}: Ctrl-C took {wall:?} to stop the run"
        );
    }
}
