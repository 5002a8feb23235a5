//! Load that changes over time through the real binary against `flak target`, whose `/stats`
//! counts arrivals and peak in-flight per 100 ms: rate stages follow the curve's integral second
//! by second, concurrency stages hold the server's in-flight count to the curve, shards add up to
//! the curve, a generator that cannot keep up says so, and contradicting flags are refused.

use serde_json::Value;

use crate::cli::assert_all_refused;
use crate::common::{Target, TempDir, assert_accounts, exclusive, flak, flak_json, num, stdout};

/// The server's per-100 ms series named `key`.
fn windows(stats: &Value, key: &str) -> Vec<u64> {
    stats[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// Counts per whole second from per-100 ms windows.
fn per_second(w: &[u64]) -> Vec<u64> {
    w.chunks(10).map(|c| c.iter().sum()).collect()
}

#[test]
fn rate_stages_follow_the_curves_integral_second_by_second() {
    let _load = exclusive();
    let target = Target::start();
    let report = flak_json(&[
        "--rate-stages",
        "2s:100,2s:400,2s:0",
        "-c",
        "50",
        "--output",
        "json",
        &target.url(""),
    ]);
    assert_accounts(&report);
    let stats = target.stats();
    let arrivals = windows(&stats, "arrivals_per_100ms");
    let sent: u64 = arrivals.iter().sum();
    // The curve asks for 100 + 500 + 400 = 1,000 requests.
    assert!(sent.abs_diff(1000) <= 10, "server saw {sent}");
    assert_eq!(sent, num(&report, "issued"));
    assert_eq!(num(&report, "succeeded"), sent);
    // Each second's share of the curve: ∫ of 0→100 over [0,1] is 25, and so on.
    let want: [f64; 6] = [25.0, 75.0, 175.0, 325.0, 300.0, 100.0];
    let got = per_second(&arrivals);
    for (second, want) in want.iter().enumerate() {
        let got = got.get(second).copied().unwrap_or(0) as f64;
        let allowed = (want * 0.05).max(1.0);
        assert!(
            (got - want).abs() <= allowed,
            "second {second}: {got} requests, the curve gives {want} (all: {:?})",
            per_second(&arrivals)
        );
    }
    // Asked and achieved agree, and the generator kept up.
    let g = &report["generator"];
    assert_eq!(num(g, "asked"), 1000, "{g}");
    assert!(g.get("generator_bound").is_none(), "{g}");
    // Latency counts from the intended start, as under -q.
    assert!(report.get("latency_uncorrected_ms").is_some());
}

#[test]
fn concurrency_stages_hold_the_servers_in_flight_count_to_the_curve() {
    let _load = exclusive();
    let target = Target::start();
    let report = flak_json(&[
        "--concurrency-stages",
        "1s:10,1s:10,1s:0",
        "--output",
        "json",
        &target.url("delay/50"),
    ]);
    assert_accounts(&report);
    // Lowering the limit lets requests in flight finish: none is cut off.
    assert_eq!(num(&report, "cancelled"), 0, "{report}");
    assert_eq!(num(&report, "failed"), 0, "{report}");
    let stats = target.stats();
    assert_eq!(num(&stats, "requests"), num(&report, "issued"));
    assert!(num(&stats, "peak_in_flight") <= 10, "{stats}");
    let peaks = windows(&stats, "peak_in_flight_per_100ms");
    // Holding at 10 for the second second, ramping on either side.
    assert!(
        peaks[11..19].iter().all(|p| *p == 10),
        "hold: {:?}",
        &peaks[11..19]
    );
    assert!(peaks[..3].iter().all(|p| *p <= 4), "ramp up: {peaks:?}");
    let tail = &peaks[peaks.len().saturating_sub(2)..];
    assert!(tail.iter().all(|p| *p <= 3), "ramp down: {peaks:?}");
    // About ∫L dt / 50 ms = (5 + 10 + 5) / 0.05 = 400 requests.
    let n = num(&report, "issued");
    assert!((300..=420).contains(&n), "{n} requests");
}

#[test]
fn shards_each_run_their_share_and_add_up_to_the_curve() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("stages-shards");
    let files: Vec<String> = (0..2)
        .map(|i| dir.path(&format!("s{i}.json")).display().to_string())
        .collect();
    for (i, file) in files.iter().enumerate() {
        let out = flak(&[
            "--rate-stages",
            "1s:200,1s:0",
            "--shard",
            &format!("{i}/2"),
            "-o",
            file,
            &target.url(""),
        ]);
        assert!(out.status.success(), "shard {i}: {out:?}");
    }
    // 100 + 100 requests, half each.
    let merged = flak_json(&["merge", "--output", "json", &files[0], &files[1]]);
    assert_eq!(num(&merged, "succeeded"), 200, "{merged}");
    assert_eq!(num(&target.stats(), "requests"), 200);
    assert_eq!(num(&merged["generator"], "asked"), 200, "{merged}");
}

#[test]
fn a_rate_the_generator_cannot_reach_is_flagged_with_the_reason() {
    let _load = exclusive();
    let target = Target::start();
    // Two slots of 50 ms carry at most 40 requests a second: the in-flight limit is the limit.
    let args = [
        "--threads",
        "1",
        "-c",
        "2",
        "-q",
        "200",
        "-z",
        "1s",
        &target.url("delay/50"),
    ];
    let mut json_args = vec!["--output", "json"];
    json_args.extend_from_slice(&args);
    let report = flak_json(&json_args);
    let why = report["generator"]["generator_bound"]
        .as_str()
        .unwrap_or_else(|| panic!("not flagged: {}", report["generator"]));
    assert!(why.contains("the in-flight limit was full"), "{why}");
    assert!(why.contains("never went out; raise -c"), "{why}");
    let text = stdout(&flak(&args));
    assert!(
        text.lines().any(|l| l
            .trim_start()
            .starts_with("GENERATOR-BOUND: the in-flight limit")),
        "{text}"
    );
    // The same rate with room to spare is not flagged.
    let report = flak_json(&[
        "--output",
        "json",
        "-c",
        "50",
        "-q",
        "200",
        "-z",
        "1s",
        &target.url(""),
    ]);
    assert!(
        report["generator"].get("generator_bound").is_none(),
        "{}",
        report["generator"]
    );
    assert_eq!(num(&report["generator"], "held_back"), 0);
}

#[test]
fn stages_that_contradict_or_do_not_parse_are_refused() {
    let url = "http://127.0.0.1:9/".to_string();
    let case = |args: &[&str], want: &'static str| {
        let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        v.push(url.clone());
        (v, want)
    };
    assert_all_refused(&[
        case(
            &["--rate-stages", "0s:10"],
            "--rate-stages: stage 1: a duration of zero",
        ),
        case(&["--rate-stages", "-5s:10"], "stage 1: a negative duration"),
        case(
            &["--rate-stages", "10s:fast"],
            "target \"fast\" is not a number",
        ),
        case(&["--rate-stages", "10s:5,1m"], "stage 2"),
        case(&["--rate-stages", "10s:0"], "every target is 0"),
        case(
            &["--rate-stages", "1s:10", "-q", "5"],
            "--rate-stages and -q contradict",
        ),
        case(
            &["--rate-stages", "1s:10", "-z", "5s"],
            "--rate-stages and -z 5s contradict",
        ),
        case(
            &["--rate-stages", "1s:10", "-n", "5"],
            "--rate-stages and -n 5 contradict",
        ),
        case(
            &["--concurrency-stages", "1s:10", "-c", "5"],
            "-c 5 is below the concurrency stages' peak of 10",
        ),
        case(
            &["--concurrency-stages", "2s:x"],
            "--concurrency-stages: stage 1",
        ),
        case(
            &["--rate-stages", "1s:1", "--concurrency-stages", "1s:1"],
            "cannot be used with",
        ),
    ]);
}
