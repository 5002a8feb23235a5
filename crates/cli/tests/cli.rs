//! The `flak` command line end to end: the real binary against the real built-in target
//! (`flak target` on a free loopback port), checking what a user would check: the counts, the
//! server's own counters, timing, the JSON/CSV outputs, exit codes and error messages.
//!
//! Every run is bounded by a request count or a duration, and by a wall-clock limit; all
//! traffic goes to 127.0.0.1. Tests that generate load take a global lock so that timing
//! assertions never compete with another test's load on a small machine.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{
    RUN_LIMIT, Running, Target, TempDir, assert_accounts, assert_success, exclusive, flak,
    flak_json, float, num, parse_json, refused_results, s, stderr, stdout,
};
use serde_json::{Value, json};

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/results.schema.json"
);

/// Nothing listens on port 1: connections there are refused at once, on loopback.
const REFUSED: &str = "http://127.0.0.1:1/";

fn schema() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(SCHEMA_PATH)
            .unwrap_or_else(|e| panic!("cannot read {SCHEMA_PATH}: {e}"));
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("docs/results.schema.json is not a valid JSON Schema: {e}");
        }
        jsonschema::draft202012::new(&schema).expect("the schema compiles")
    })
}

/// The schema's complaints about `doc` (empty when it is valid).
fn schema_errors(doc: &Value) -> Vec<String> {
    schema()
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Spoils a valid report in one way, for checking that the schema notices.
type Breakage = fn(&mut Value);

pub(crate) fn assert_schema_valid(doc: &Value) {
    let errors = schema_errors(doc);
    assert!(
        errors.is_empty(),
        "results JSON does not match docs/results.schema.json:\n  {}",
        errors.join("\n  ")
    );
}

/// The target's per-path counts.
fn paths(stats: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(stats["paths"].clone()).expect("paths is an object of counts")
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(v.clone()).expect("an object of counts")
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `-n` sends exactly n requests: the report and the server agree.
#[test]
fn count_run_sends_exactly_n_requests() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let report = flak_json(&["-n", "2000", "-c", "50", "--output", "json", target.base()]);
    assert_schema_valid(&report);
    assert_accounts(&report);
    assert_eq!(num(&report, "total"), 2000);
    assert_eq!(num(&report, "succeeded"), 2000);
    assert_eq!((num(&report, "failed"), num(&report, "cancelled")), (0, 0));
    assert_eq!(counts(&report["status_codes"]), map(&[("200", 2000)]));
    assert_eq!(report["plan"]["stop"], json!({"requests": 2000}));
    let stats = target.stats();
    assert_eq!(num(&stats, "requests"), 2000, "server counters: {stats}");
    assert_eq!(paths(&stats), map(&[("/", 2000)]));
}

/// `-z` stops on time: requests still in flight then are cancelled, not waited for.
#[test]
fn duration_run_stops_on_time() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let started = Instant::now();
    let out = Running::spawn(
        crate::common::FLAK,
        &[
            "-z",
            "2s",
            "-c",
            "10",
            "--output",
            "json",
            &target.url("delay/10"),
        ],
    )
    .finish(Duration::from_secs(5));
    let wall = started.elapsed();
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_schema_valid(&report);
    assert!(wall < Duration::from_secs(5), "took {wall:?} of wall time");
    let elapsed = float(&report, "elapsed_s");
    assert!(
        (1.8..=2.2).contains(&elapsed),
        "elapsed_s {elapsed} is not 2.0 ± 0.2"
    );
    assert_accounts(&report);
    let (ok, failed, cancelled) = (
        num(&report, "succeeded"),
        num(&report, "failed"),
        num(&report, "cancelled"),
    );
    // 10 slots of ~10 ms each for 2 s is at most ~2000; far fewer means it did not run.
    assert!(
        (500..=2000).contains(&ok),
        "succeeded {ok} is implausible for 10 slots of 10 ms over 2 s"
    );
    assert_eq!(failed, 0);
    assert!(cancelled <= 10, "more cancelled ({cancelled}) than slots");
    let server = num(&target.stats(), "requests");
    assert!(
        (ok..=ok + cancelled).contains(&server),
        "server saw {server}, report has {ok} succeeded and {cancelled} cancelled"
    );
}

/// `-q` paces requests for the whole run: rate × duration, give or take 1%.
#[test]
fn rate_run_sends_rate_times_duration() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let report = flak_json(&[
        "-q",
        "200",
        "-z",
        "5s",
        "-c",
        "20",
        "--output",
        "json",
        target.base(),
    ]);
    assert_schema_valid(&report);
    assert_accounts(&report);
    let total = num(&report, "total");
    assert!(
        (990..=1010).contains(&total),
        "total {total} is not 200/s × 5 s ± 1%"
    );
    let finished = num(&report, "succeeded") + num(&report, "failed");
    let cancelled = num(&report, "cancelled");
    let server = num(&target.stats(), "requests");
    // Requests cancelled at the 5 s mark may or may not have reached the server.
    assert!(
        (finished..=finished + cancelled).contains(&server),
        "server saw {server}, report has {finished} finished and {cancelled} cancelled"
    );
    assert!(
        report.get("latency_uncorrected_ms").is_some(),
        "a rated run reports uncorrected latency too"
    );
}

/// `-c` is a hard limit on requests in flight, and is reached.
#[test]
fn concurrency_limit_holds_at_the_server() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let report = flak_json(&[
        "-c",
        "7",
        "-n",
        "300",
        "--output",
        "json",
        &target.url("delay/20"),
    ]);
    assert_eq!(num(&report, "succeeded"), 300);
    let stats = target.stats();
    let peak = num(&stats, "peak_in_flight");
    assert!(
        peak <= 7,
        "the server saw {peak} requests in flight with -c 7"
    );
    assert!(
        peak >= 5,
        "the server saw only {peak} requests in flight with -c 7"
    );
    assert_eq!(num(&stats, "requests"), 300);
}

/// The reported median latency of `/delay/20` is 20 ms, plus at most 1 ms. Timing on a shared
/// 2-core machine can be disturbed by whatever else runs, so up to three runs are made; one
/// within the bound passes, and every run must still be at least 20 ms.
#[test]
fn latency_p50_is_the_server_delay() {
    let _load = exclusive();
    let target = Target::start();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let report = flak_json(&[
            "-n",
            "400",
            "-c",
            "10",
            "--output",
            "json",
            &target.url("delay/20"),
        ]);
        assert_eq!(num(&report, "succeeded"), 400);
        let p50 = float(&report["latency_ms"], "p50");
        assert!(
            p50 >= 20.0,
            "p50 {p50} ms is below the server's 20 ms delay"
        );
        seen.push(p50);
        if p50 <= 21.0 {
            return;
        }
    }
    panic!("p50 {seen:?} ms: never within 1 ms above the server's 20 ms delay");
}

/// Runs flak under `sh` and returns its report and the CPU seconds it used (user + system, from
/// the shell's `times`).
fn flak_json_with_cpu(args: &[&str]) -> (Value, f64) {
    let mut argv = vec!["-c", "\"$0\" \"$@\"; times >&2", crate::common::FLAK];
    argv.extend_from_slice(args);
    let out = Running::spawn("/bin/sh", &argv).finish(RUN_LIMIT);
    assert!(out.status.success(), "flak failed: {}", stderr(&out));
    let err = stderr(&out);
    // `times` prints the shell's own times, then its children's: "0m0.41s 0m0.02s".
    let children = err.lines().last().unwrap_or_default();
    let cpu = children
        .split_whitespace()
        .map(|t| {
            let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
            m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
        })
        .sum();
    (parse_json(&out.stdout), cpu)
}

/// `--busy-poll` keeps the worker polling instead of sleeping: while it waits on a slow server
/// it uses its core, where a normal run sleeps; every request is still accounted for.
#[test]
fn busy_poll_spins_while_waiting_and_counts_the_same() {
    let _load = exclusive();
    let target = Target::start();
    let slow = target.url("delay/100");
    let plan = [
        "-n",
        "4",
        "-c",
        "1",
        "--threads",
        "1",
        "--output",
        "json",
        &slow,
    ];
    let (sleeping, sleeping_cpu) = flak_json_with_cpu(&plan);
    let busy_plan: Vec<&str> = plan.iter().copied().chain(["--busy-poll"]).collect();
    let (busy, busy_cpu) = flak_json_with_cpu(&busy_plan);
    for report in [&sleeping, &busy] {
        assert_accounts(report);
        assert_eq!(num(report, "succeeded"), 4);
        assert!(float(&report["latency_ms"], "p50") >= 100.0);
    }
    // Four 100 ms requests one after another: 0.4 s of waiting, a quarter of it even when the
    // machine is busy with other tests.
    assert!(
        busy_cpu >= 0.1 && busy_cpu >= 3.0 * sleeping_cpu,
        "--busy-poll used {busy_cpu} CPU s, a sleeping run {sleeping_cpu} s, over 0.4 s of waiting"
    );
}

/// flak's latency agrees, within 1 ms, with a plain blocking client timing the same endpoint;
/// and it never reports less than the server's delay.
#[test]
fn latency_agrees_with_an_independent_client() {
    let _load = exclusive();
    let target = Target::start();
    let mut samples: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            let (status, _) = crate::common::http_get(target.addr(), "/delay/20");
            assert_eq!(status, 200);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let baseline = samples[samples.len() / 2];
    let report = flak_json(&[
        "-n",
        "100",
        "-c",
        "1",
        "--output",
        "json",
        &target.url("delay/20"),
    ]);
    assert_eq!(num(&report, "succeeded"), 100);
    let latency = &report["latency_ms"];
    let (min, p50) = (float(latency, "min"), float(latency, "p50"));
    assert!(
        min >= 20.0,
        "min {min} ms is below the server's 20 ms delay"
    );
    assert!(
        (p50 - baseline).abs() <= 1.0,
        "flak's p50 {p50:.3} ms vs {baseline:.3} ms measured by a plain client"
    );
}

/// A vegeta targets file, walked round-robin: responses and errors are counted by kind.
#[test]
fn targets_file_counts_statuses_and_errors() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let dir = TempDir::new("targets");
    let base = target.base();
    let file = dir.write(
        "targets.txt",
        &format!("GET {base}status/503\n\nGET {base}close\n\nGET {REFUSED}\n"),
    );
    let report = flak_json(&[
        "--targets",
        s(&file),
        "-n",
        "300",
        "-c",
        "6",
        "--output",
        "json",
    ]);
    assert_schema_valid(&report);
    assert_accounts(&report);
    assert_eq!(counts(&report["status_codes"]), map(&[("503", 100)]));
    assert_eq!(
        counts(&report["errors"]),
        map(&[("closed", 100), ("connect_refused", 100)])
    );
    assert_eq!(num(&report, "succeeded"), 0);
    assert_eq!(num(&report, "failed"), 300);
    assert_eq!(num(&report, "total"), 300);
    let messages = report["error_messages"].as_object().unwrap();
    assert!(
        messages["connect_refused"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1"),
        "{messages:?}"
    );
    // A /close that met a kept-alive connection (after a 503) was closed before any byte of
    // its response, so that idempotent GET went once more on a new connection, as browsers do:
    // the server saw it twice, the report counts it once, and says how many went again.
    let retries = num(&report["connections"], "retries");
    assert!((1..=100).contains(&retries), "{retries} retries");
    let stats = target.stats();
    assert_eq!(num(&stats, "requests"), 200 + retries, "{stats}");
    assert_eq!(num(&stats, "closed"), 100 + retries, "{stats}");
    assert_eq!(
        paths(&stats),
        map(&[("/close", 100 + retries), ("/status/503", 100)])
    );
}

/// A targets file with headers and an `@body` file, and a URL template: the seed fixes which
/// URLs are sent, all within the template's range.
#[test]
fn targets_file_headers_body_and_seeded_template() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let dir = TempDir::new("template");
    let base = target.base();
    let body = "{\"hello\":\"flak\"}";
    dir.write("body.json", body);
    let file = dir.write(
        "targets.txt",
        &format!(
            "# a POST with headers and a body, then a templated GET\n\
             POST {base}status/201\nContent-Type: application/json\nX-Flak-Test: yes\n@body.json\n\n\
             GET {base}t/{{rand:1-50}}\n"
        ),
    );
    let run = |seed: &str| {
        flak_json(&[
            "--targets",
            s(&file),
            "--seed",
            seed,
            "-n",
            "1000",
            "-c",
            "8",
            "--output",
            "json",
        ])
    };
    let report = run("7");
    assert_schema_valid(&report);
    assert_eq!(num(&report, "total"), 1000);
    // /status/201 answers 201; /t/N is not one of the target's paths, so 404.
    assert_eq!(
        counts(&report["status_codes"]),
        map(&[("201", 500), ("404", 500)])
    );
    let plan = &report["plan"];
    assert_eq!(plan["seed"], json!(7));
    assert_eq!(plan["requests"][0]["method"], json!("POST"));
    assert_eq!(plan["requests"][0]["body"], json!(body));
    assert_eq!(
        plan["requests"][0]["headers"],
        json!([
            ["Content-Type", "<redacted>"],
            ["X-Flak-Test", "<redacted>"]
        ])
    );
    let seen = paths(&target.stats());
    assert_eq!(seen.get("/status/201"), Some(&500), "{seen:?}");
    let templated: BTreeMap<&str, u64> = seen
        .iter()
        .filter(|(p, _)| *p != "/status/201")
        .map(|(p, n)| (p.as_str(), *n))
        .collect();
    let want: std::collections::BTreeSet<String> = (1..=50).map(|i| format!("/t/{i}")).collect();
    let got: std::collections::BTreeSet<String> = templated.keys().map(|p| p.to_string()).collect();
    assert_eq!(got, want, "the template's paths are exactly /t/1../t/50");
    assert_eq!(templated.values().sum::<u64>(), 500);

    // The same seed sends the same URLs again; another seed does not.
    target.reset();
    run("7");
    assert_eq!(paths(&target.stats()), seen, "--seed 7 twice");
    target.reset();
    run("8");
    assert_ne!(
        paths(&target.stats()),
        seen,
        "--seed 8 sent what --seed 7 did"
    );
}

/// A targets file whose targets follow one another with no blank line, as in vegeta's README;
/// a header line after a target and an `@body` line still belong to theirs.
#[test]
fn targets_file_without_blank_lines() {
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let dir = TempDir::new("no-blank-lines");
    let base = target.base();
    dir.write("body.json", "{}");
    let file = dir.write(
        "targets.txt",
        &format!(
            "GET {base}path/to/dragon?item=balls\n\
             GET {base}path/to\n\
             X-Flak-Test: yes\n\
             HEAD {base}path/to/success\n\
             POST {base}status/201\n\
             Content-Type: application/json\n\
             @body.json\n\
             GET {base}status/204\n"
        ),
    );
    let report = flak_json(&[
        "--targets",
        s(&file),
        "-n",
        "500",
        "-c",
        "5",
        "--output",
        "json",
    ]);
    assert_accounts(&report);
    assert_eq!(num(&report, "total"), 500);
    let methods: Vec<&Value> = (0..5)
        .map(|i| &report["plan"]["requests"][i]["method"])
        .collect();
    assert_eq!(
        methods,
        [
            &json!("GET"),
            &json!("GET"),
            &json!("HEAD"),
            &json!("POST"),
            &json!("GET")
        ]
    );
    assert_eq!(
        report["plan"]["requests"][5],
        Value::Null,
        "five targets, no more"
    );
    assert_eq!(report["plan"]["requests"][3]["body"], json!("{}"));
    assert_eq!(
        paths(&target.stats()),
        map(&[
            ("/path/to/dragon", 100),
            ("/path/to", 100),
            ("/path/to/success", 100),
            ("/status/201", 100),
            ("/status/204", 100),
        ])
    );
}

/// A bad line in a targets file is quoted exactly as written, and flak exits 2.
#[test]
fn targets_file_bad_line_is_quoted_as_written() {
    let dir = TempDir::new("bad-line");
    let file = dir.write("targets.txt", &format!("GET {REFUSED}a\nget {REFUSED}b\n"));
    let out = flak(&["--targets", s(&file)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "flak: --targets {}: targets file line 2: invalid header \"get {REFUSED}b\": \
             expected 'Name: value' with a valid name and value\n",
            file.display()
        )
    );
    assert!(out.stdout.is_empty());
}

/// The JSON report (`--output json` and `-o FILE`) matches docs/results.schema.json, which is
/// strict enough to refuse broken reports.
#[test]
fn json_output_matches_the_schema() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("schema");
    let file = dir.path("results.json");
    let report = flak_json(&[
        "-n",
        "200",
        "-c",
        "4",
        "-H",
        "X-Api-Key: secret-token",
        "-o",
        s(&file),
        "--output",
        "json",
        target.base(),
    ]);
    assert_schema_valid(&report);
    let text = std::fs::read_to_string(&file).expect("-o wrote the file");
    assert!(!text.contains("secret-token"), "header values are redacted");
    let written = parse_json(text.as_bytes());
    assert_schema_valid(&written);
    assert_eq!(num(&written, "total"), 200);
    assert_eq!(written, report, "the file and the printed report agree");

    // A rated run adds the uncorrected latency; a run without any response has null latency.
    let rated = flak_json(&[
        "-q",
        "400",
        "-n",
        "40",
        "-c",
        "2",
        "--warmup",
        "5",
        "--output",
        "json",
        &target.url("delay/1"),
    ]);
    assert_schema_valid(&rated);
    assert!(rated["histogram_uncorrected"].is_string());
    assert!(rated["latency_uncorrected_ms"].is_object());
    assert_eq!(num(&rated, "warmup"), 5);
    let refused = flak_json(&["-n", "3", "-c", "1", "--output", "json", REFUSED]);
    assert_schema_valid(&refused);
    assert!(refused["latency_ms"].is_null());
    assert_eq!(refused["percentiles"], json!([]));
    // A fan-out scenario adds each member's results.
    let scenario = dir.write(
        "scenario.toml",
        &format!(
            "[[request]]\nname = \"fast\"\nurl = \"{}\"\n\n\
             [[request]]\nname = \"failing\"\nmethod = \"POST\"\nurl = \"{}\"\n\
             headers = [\"Content-Type: text/plain\"]\nbody = \"hi\"\n",
            target.url("delay/1"),
            target.url("status/503")
        ),
    );
    let fan_out = flak_json(&[
        "--scenario",
        s(&scenario),
        "-n",
        "20",
        "-c",
        "2",
        "--output",
        "json",
    ]);
    assert_schema_valid(&fan_out);
    let names: Vec<&str> = fan_out["members"]
        .as_array()
        .expect("a fan-out report lists its members")
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fast", "failing"]);
    let mut doc = fan_out.clone();
    doc["members"][0]["surprise"] = json!(true);
    assert!(
        !schema_errors(&doc).is_empty(),
        "the schema accepted a member with an extra field"
    );
    // A merged file has no plan.
    let merged = flak_json(&["merge", s(&file), s(&file), "--output", "json"]);
    assert_schema_valid(&merged);
    assert!(merged.get("plan").is_none());

    // The schema has teeth: each of these breakages is refused.
    let broken: &[(&str, Breakage)] = &[
        ("format", |v| v["format"] = json!("k6")),
        ("version", |v| v["version"] = json!(2)),
        ("missing total", |v| {
            v.as_object_mut().unwrap().remove("total");
        }),
        ("latency without p99", |v| {
            v["latency_ms"].as_object_mut().unwrap().remove("p99");
        }),
        ("negative count", |v| v["failed"] = json!(-1)),
        ("histogram", |v| v["histogram"] = json!("AAAA")),
        ("error kind", |v| v["errors"] = json!({"gremlins": 1})),
        ("status code", |v| v["status_codes"] = json!({"abc": 1})),
        ("extra field", |v| v["surprise"] = json!(true)),
        ("series", |v| v["series"] = json!([{"t": 1}])),
        ("plan stop", |v| {
            v["plan"]["stop"] = json!({"forever": true});
        }),
    ];
    for (what, breakage) in broken {
        let mut doc = report.clone();
        breakage(&mut doc);
        assert!(
            !schema_errors(&doc).is_empty(),
            "the schema accepted a report with a broken {what}"
        );
    }
}

/// `--output csv` prints the time series: a header, then one row per second.
#[test]
fn csv_output_has_a_header_and_rows() {
    let _load = exclusive();
    let target = Target::start();
    let out = flak(&[
        "-n",
        "300",
        "-c",
        "3",
        "--output",
        "csv",
        &target.url("delay/2"),
    ]);
    assert_success(&out);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("unix_second,requests,errors,p50_ms,p90_ms,p99_ms")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut requests = 0;
    let mut rows = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 6, "row {line:?}");
        let second: u64 = fields[0].parse().unwrap();
        assert!(
            second.abs_diff(now) < 120,
            "unix_second {second} is not now"
        );
        requests += fields[1].parse::<u64>().unwrap();
        assert_eq!(fields[2], "0", "errors in {line:?}");
        let p: Vec<f64> = fields[3..].iter().map(|f| f.parse().unwrap()).collect();
        assert!(
            2.0 <= p[0] && p[0] <= p[1] && p[1] <= p[2],
            "percentiles in {line:?}"
        );
        rows += 1;
    }
    assert!(rows >= 1, "no data row in:\n{text}");
    assert_eq!(requests, 300, "the rows add up to the requests sent");
}

/// `--fail-if` turns a broken threshold into exit code 1 and one line on stderr.
#[test]
fn thresholds_set_the_exit_code() {
    let _load = exclusive();
    let target = Target::start();
    let url = target.url("delay/5");
    let out = flak(&["-n", "50", "-c", "5", "--fail-if", "p99>1ms", &url]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    let broken: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("threshold broken"))
        .collect();
    assert_eq!(broken.len(), 1, "stderr: {err}");
    assert!(broken[0].contains("threshold broken: p99>1ms"), "{err}");
    assert!(
        stdout(&out).contains("Summary:"),
        "the report is still printed"
    );

    let out = flak(&[
        "-n",
        "50",
        "-c",
        "5",
        "--fail-if",
        "p99>10s",
        "--fail-if",
        "errors>1%",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));

    // Every broken threshold gets its line.
    let out = flak(&[
        "-n",
        "50",
        "-c",
        "5",
        "--fail-if",
        "min>1ms",
        "--fail-if",
        "errors>1%",
        "--fail-if",
        "rps<1000000",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("threshold broken: min>1ms"), "{err}");
    assert!(err.contains("threshold broken: rps<1000000"), "{err}");
    assert!(!err.contains("errors>1%"), "{err}");
}

/// Checks a refusal: exit code 2, no output, one line on stderr naming the problem. Returns
/// what is wrong, if anything.
pub(crate) fn check_refused(args: &[String], want: &str) -> Result<(), String> {
    let out = flak(args);
    let err = stderr(&out);
    let shown = format!("flak {}", args.join(" "));
    let lines: Vec<&str> = err.lines().collect();
    let problem = if out.status.code() != Some(2) {
        format!("exit status {}", out.status)
    } else if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        "a panic".to_string()
    } else if !out.stdout.is_empty() {
        format!("stdout {:?}", stdout(&out))
    } else if lines.len() != 1 || !err.ends_with('\n') {
        "stderr is not exactly one line".to_string()
    } else if !(lines[0].starts_with("flak: ") && lines[0].len() > "flak: ".len()) {
        "the line does not start with 'flak: '".to_string()
    } else if !lines[0].contains(want) {
        format!("the line does not contain {want:?}")
    } else {
        return Ok(());
    };
    Err(format!("{shown}: {problem}; stderr {err:?}"))
}

/// Checks every case, then fails listing all that were not refused as they should be.
pub(crate) fn assert_all_refused(cases: &[(Vec<String>, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(args, want)| check_refused(args, want).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Bad input exits 2 with one line naming the problem. Only 127.0.0.1:1 (refused) is named,
/// so nothing is sent anywhere even if a case were accepted.
#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = TempDir::new("bad-input");
    let bad_targets = dir.write(
        "bad-targets.txt",
        &format!("GET {REFUSED}\nBroken header\n"),
    );
    let no_body = dir.write("no-body.txt", &format!("POST {REFUSED}\n@missing.json\n"));
    let garbage = dir.write("garbage.json", "this is not JSON\n");
    let not_results = dir.write("other.json", "{\"format\": \"k6\", \"version\": 1}\n");
    // A real results file, then the same with a version this flak does not read.
    let good = refused_results(&dir, "good.json");
    let text = std::fs::read_to_string(&good).unwrap();
    assert!(text.contains("\"version\": 1,"));
    let v2 = dir.write(
        "v2.json",
        &text.replacen("\"version\": 1,", "\"version\": 2,", 1),
    );
    let cannot_write = dir.path("no-such-dir/out.json");

    let u = REFUSED;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            args(&["-c", "0", u]),
            "-c: concurrency must be at least 1 (got 0)",
        ),
        (
            args(&["-n", "0", u]),
            "-n: requests must be at least 1 (got 0)",
        ),
        (
            args(&["-z", "0s", u]),
            "-z: duration must be greater than zero",
        ),
        (
            args(&["-z", "10", u]),
            "-z/--duration: duration \"10\" has no unit",
        ),
        (args(&["-q", "0", u]), "-q: rate must be a positive number"),
        (
            args(&["-q=-5", u]),
            "-q: rate must be a positive number of requests per second (got -5)",
        ),
        (
            args(&["-q", "abc", u]),
            "invalid value 'abc' for '--rate <RATE>'",
        ),
        (
            args(&["-t", "5", u]),
            "-t/--timeout: duration \"5\" has no unit",
        ),
        (
            args(&["--grace", "5", u]),
            "--grace: duration \"5\" has no unit",
        ),
        (
            args(&["--connect-timeout", "soon", u]),
            "--connect-timeout: invalid duration \"soon\"",
        ),
        (
            args(&["not-a-url"]),
            "invalid URL \"not-a-url\": missing scheme",
        ),
        (
            args(&["ftp://127.0.0.1:1/"]),
            "scheme \"ftp\" is not supported",
        ),
        (
            args(&["http://127.0.0.1:1/{rand:9-1}"]),
            "{rand:9-1}: MIN 9 is greater than MAX 1",
        ),
        (args(&["http://127.0.0.1:1/{rand:1-2"]), "unclosed '{'"),
        (
            args(&["-H", "NoColon", u]),
            "-H \"NoColon\": expected 'Name: value'",
        ),
        (
            args(&["-H", "Bad Name: v", u]),
            "invalid header \"Bad Name: v\"",
        ),
        (args(&["-m", "GE T", u]), "invalid HTTP method \"GE T\""),
        (
            args(&["-a", "nopassword", u]),
            "-a \"nopassword\": expected user:pass",
        ),
        (
            args(&["-D", "/nonexistent", u]),
            "-D /nonexistent: cannot read the body file",
        ),
        (
            args(&["-d", "x", "-D", s(&garbage), u]),
            "'--body <BODY>' cannot be used with",
        ),
        (
            args(&["--targets", "/nonexistent"]),
            "--targets /nonexistent: cannot read the file",
        ),
        (
            args(&["--targets", s(&bad_targets)]),
            "targets file line 2: invalid header \"Broken header\"",
        ),
        (args(&["--targets", s(&no_body)]), "missing.json"),
        (
            args(&["--targets", s(&bad_targets), u]),
            "give a URL or --targets, not both",
        ),
        (
            args(&["--fail-if", "p99", u]),
            "invalid threshold \"p99\": expected METRIC>VALUE",
        ),
        (args(&["--fail-if", "p99>5", u]), "a latency needs a unit"),
        (args(&["--fail-if", "p200>1ms", u]), "unknown metric"),
        (
            args(&["--threads", "0", u]),
            "--threads must be at least 1 (got 0)",
        ),
        (
            args(&["-n", "5", "-z", "1s", u]),
            "'--requests <REQUESTS>' cannot be used with '--duration <DURATION>'",
        ),
        (
            args(&["--frobnicate", u]),
            "unexpected argument '--frobnicate'",
        ),
        (
            args(&["--output", "xml", u]),
            "invalid value 'xml' for '--output <OUTPUT>'",
        ),
        (
            args(&["-n", "1", "-o", s(&cannot_write), u]),
            "cannot write",
        ),
        (args(&["merge", s(&garbage)]), "not a flak results file"),
        (args(&["merge", s(&not_results)]), "format is \"k6\""),
        (
            args(&["merge", s(&good), s(&v2)]),
            "version 2 is not supported",
        ),
        (
            args(&["merge", "/nonexistent.json"]),
            "cannot read /nonexistent.json",
        ),
        (
            args(&["target", "--listen", "nope"]),
            "cannot listen on nope",
        ),
    ];
    assert!(cases.len() >= 22);
    assert_all_refused(&cases);
    assert!(!cannot_write.exists());
}

/// Refusals that clap would word badly on its own: missing arguments, negative numbers, a huge -c.
#[test]
fn bad_input_missing_negative_and_huge_values() {
    let u = REFUSED;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (args(&[]), "<URL>"),
        (args(&["merge"]), "<FILES>"),
        (args(&["-q", "-5", u]), "rate"),
        (args(&["-z", "-1s", u]), "duration"),
        (args(&["-c", "99999999999", u]), "at most 1000000"),
    ];
    assert_all_refused(&cases);
}

/// Ctrl-C stops the run, prints the partial report, writes the file, and exits 130.
#[test]
fn ctrl_c_reports_what_ran_and_exits_130() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("ctrl-c");
    let file = dir.path("partial.json");
    let url = target.url("delay/50");
    let child = Running::spawn(
        crate::common::FLAK,
        &[
            "-z",
            "30s",
            "-c",
            "4",
            "-o",
            s(&file),
            "--output",
            "json",
            &url,
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    child.interrupt();
    let signalled = Instant::now();
    let out = child.finish(Duration::from_secs(5));
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after SIGINT"
    );
    assert_eq!(out.status.code(), Some(130), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let report = parse_json(&out.stdout);
    assert_schema_valid(&report);
    assert_accounts(&report);
    let total = num(&report, "total");
    assert!(total > 0, "nothing ran before Ctrl-C");
    // 4 slots of 50 ms for ~1.5 s is about 120; nowhere near 30 s of them.
    assert!(total < 400, "total {total}: the run did not stop at Ctrl-C");
    assert!(float(&report, "elapsed_s") < 5.0);
    let written = parse_json(&std::fs::read(&file).expect("-o file written on Ctrl-C"));
    assert_eq!(num(&written, "total"), total);
    assert_eq!(written, report);
}

/// The first Ctrl-C waits up to --grace for requests in flight; a second cancels them at once.
#[test]
fn second_ctrl_c_cancels_in_flight_requests_at_once() {
    let _load = exclusive();
    let target = Target::start();
    let url = target.url("delay/5000");
    let child = Running::spawn(
        crate::common::FLAK,
        &[
            "-z", "60s", "-c", "3", "--grace", "30s", "--output", "json", &url,
        ],
    );
    std::thread::sleep(Duration::from_millis(800));
    child.interrupt();
    std::thread::sleep(Duration::from_millis(700));
    let second = Instant::now();
    child.interrupt();
    let out = child.finish(Duration::from_secs(10));
    assert!(
        second.elapsed() < Duration::from_secs(3),
        "exited {:?} after the second Ctrl-C, not at once",
        second.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "stderr: {}", stderr(&out));
    let report = parse_json(&out.stdout);
    assert_accounts(&report);
    assert_eq!(
        num(&report, "cancelled"),
        3,
        "the three 5 s requests in flight were cancelled"
    );
    assert_eq!(num(&report, "succeeded"), 0);
}

/// `flak merge` adds runs exactly: counts, status codes and the latency histogram.
#[test]
fn merge_adds_runs_exactly() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("merge");
    let (a, b, m) = (dir.path("a.json"), dir.path("b.json"), dir.path("m.json"));
    let ra = flak_json(&[
        "-n",
        "100",
        "-c",
        "4",
        "-o",
        s(&a),
        "--output",
        "json",
        target.base(),
    ]);
    let rb = flak_json(&[
        "-n",
        "100",
        "-c",
        "4",
        "-o",
        s(&b),
        "--output",
        "json",
        &target.url("status/503"),
    ]);
    let merged = flak_json(&["merge", s(&a), s(&b), "-o", s(&m), "--output", "json"]);
    assert_schema_valid(&merged);
    assert_accounts(&merged);
    assert_eq!(num(&merged, "total"), 200);
    assert_eq!(num(&merged, "succeeded"), 100);
    assert_eq!(num(&merged, "failed"), 100);
    assert_eq!(
        counts(&merged["status_codes"]),
        map(&[("200", 100), ("503", 100)])
    );
    let histogram = flak_core::results::decode::<u64>(
        "histogram",
        merged["histogram"].as_str().expect("histogram string"),
    )
    .expect("the merged histogram decodes");
    assert_eq!(
        histogram.len(),
        num(&merged, "succeeded") + num(&merged, "failed"),
        "every response is in the merged histogram"
    );
    let (la, lb, lm) = (&ra["latency_ms"], &rb["latency_ms"], &merged["latency_ms"]);
    assert_eq!(float(lm, "max"), float(la, "max").max(float(lb, "max")));
    assert_eq!(float(lm, "min"), float(la, "min").min(float(lb, "min")));
    let written = parse_json(&std::fs::read(&m).expect("merge -o wrote the file"));
    assert_eq!(written, merged);

    // --fail-if judges the merged run: half of it failed, which neither file alone says of
    // the pair.
    let gate = |expr: &str| flak(&["merge", s(&a), s(&b), "--fail-if", expr]);
    let broken = gate("errors>10%");
    assert_eq!(broken.status.code(), Some(1), "{}", stderr(&broken));
    assert!(
        stderr(&broken).contains("errors") && stderr(&broken).contains("50"),
        "{}",
        stderr(&broken)
    );
    assert_eq!(gate("errors>60%").status.code(), Some(0));
    let bad = gate("p99>>1");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).starts_with("flak: --fail-if"),
        "{}",
        stderr(&bad)
    );
}

/// The aarch64 build, run under qemu against the native target, counts exactly.
#[test]
fn aarch64_binary_under_qemu() {
    let Some(bin) = std::env::var_os("FLAK_AARCH64_BIN") else {
        println!("skipped: FLAK_AARCH64_BIN is unset (scripts/test.sh sets it)");
        return;
    };
    let bin = bin.into_string().expect("FLAK_AARCH64_BIN is UTF-8");
    assert!(
        std::path::Path::new(&bin).is_file(),
        "FLAK_AARCH64_BIN={bin} is not a file"
    );
    let _load = exclusive();
    let target = Target::start();
    target.reset();
    let out = Running::spawn(
        "qemu-aarch64-static",
        &[
            bin.as_str(),
            "-n",
            "100",
            "-c",
            "4",
            "--output",
            "json",
            target.base(),
        ],
    )
    .finish(RUN_LIMIT);
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_schema_valid(&report);
    assert_eq!(num(&report, "total"), 100);
    assert_eq!(num(&report, "succeeded"), 100);
    assert_eq!(num(&target.stats(), "requests"), 100);
}
