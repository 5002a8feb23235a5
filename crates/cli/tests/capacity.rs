//! `flak capacity` through the real binary: the knee of a server with a known capacity
//! (`flak target`'s `/queue`), a first step that already breaks the SLO, a generator that
//! cannot deliver, and bad input.

use serde_json::Value;

use crate::common::{
    FLAK, Running, Target, TempDir, assert_success, exclusive, flak, float, parse_json, s, stderr,
    stdout,
};

fn steps(report: &Value) -> &Vec<Value> {
    report["steps"].as_array().expect("a steps array")
}

fn verdicts(report: &Value) -> Vec<&str> {
    steps(report)
        .iter()
        .map(|st| st["verdict"].as_str().expect("a verdict"))
        .collect()
}

#[test]
fn finds_the_capacity_of_a_queue_within_15_percent() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("capacity-steps");
    // 4 slots of 20 ms: 200 req/s. Past that the queue grows by (rate - 200) a second, so
    // within a 2 s step p99 passes 100 ms from about 225 req/s on.
    let url = target.url("queue?slots=4&ms=20");
    let steps_dir = dir.path("steps");
    let file = dir.path("capacity.json");
    let out = Running::spawn(
        FLAK,
        &[
            "capacity",
            "--slo",
            "p99<100ms",
            "--slo",
            "errors<1%",
            "--step",
            "2s",
            "--start-rate",
            "100",
            "-c",
            "1000",
            "--output",
            "json",
            "--save-steps",
            s(&steps_dir),
            "-o",
            s(&file),
            &url,
        ],
    )
    .finish(std::time::Duration::from_secs(90));
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert_eq!(report["format"], "flak-capacity", "{report:#}");
    assert_eq!(
        parse_json(&std::fs::read(&file).unwrap()),
        report,
        "-o writes the same"
    );
    let found = float(&report, "sustainable_rate");
    assert!(
        (170.0..=230.0).contains(&found),
        "found {found} req/s, want 200 ± 15%: {report:#}"
    );
    assert!(report["generator_bound"].is_null(), "{report:#}");
    let broke = float(&report, "broke_at");
    assert!(
        broke > found && broke - found <= 0.05 * found + 1e-9,
        "{report:#}"
    );
    let verdicts = verdicts(&report);
    assert!(
        verdicts.contains(&"met") && verdicts.contains(&"broke"),
        "{verdicts:?}"
    );
    assert!(verdicts.len() <= 20);
    for step in steps(&report) {
        let (asked, achieved) = (float(step, "asked"), float(step, "achieved"));
        // The generator kept up at every step, or the answer would not be the server's.
        assert!(achieved >= 0.98 * asked, "{step}");
        let broken = step["broken"].as_array().unwrap();
        match step["verdict"].as_str().unwrap() {
            "met" => {
                assert!(asked <= found && broken.is_empty(), "{step}");
                assert!(float(step, "p99_ms") < 100.0, "{step}");
            }
            "broke" => {
                assert!(asked >= broke, "{step}");
                assert!(
                    broken[0]
                        .as_str()
                        .unwrap()
                        .starts_with("p99<100ms (measured ")
                );
            }
            other => panic!("unexpected verdict {other}: {step}"),
        }
        // Each step's full results file, as `-o` writes it for one run.
        let file = step["results_file"].as_str().expect("a results file");
        let results = parse_json(&std::fs::read(file).unwrap());
        let issued = results["issued"].as_u64().unwrap();
        assert!(
            (issued as f64 - 2.0 * asked).abs() <= 0.02 * 2.0 * asked + 2.0,
            "{file}: {issued} requests in a 2 s step at {asked}/s"
        );
    }
    assert_eq!(
        std::fs::read_dir(&steps_dir).unwrap().count(),
        verdicts.len()
    );
}

#[test]
fn an_slo_broken_at_the_first_step_exits_1() {
    let _load = exclusive();
    let target = Target::start();
    let out = flak(&[
        "capacity",
        "--slo",
        "p99<1ms",
        "--step",
        "1s",
        "--start-rate",
        "50",
        &target.url("delay/5"),
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("1 "))
        .collect();
    assert_eq!(rows.len(), 1, "one step only:\n{text}");
    assert!(rows[0].contains("broke: p99<1ms (measured "), "{text}");
    assert!(
        text.contains("no sustainable rate found: the first step already broke an SLO"),
        "{text}"
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("flak: no sustainable rate: the first step (50 req/s) broke p99<1ms"),
        "{err}"
    );
}

#[test]
fn a_generator_that_cannot_deliver_is_not_the_server_limit() {
    let _load = exclusive();
    let target = Target::start();
    // One thread and two requests in flight against 50 ms answers: at most 40 req/s, however
    // fast the server could go. The SLO is loose, so only the generator can stop the raise.
    let out = flak(&[
        "capacity",
        "--slo",
        "p99<2s",
        "--step",
        "1s",
        "--start-rate",
        "10",
        "--threads",
        "1",
        "-c",
        "2",
        "--output",
        "json",
        &target.url("delay/50"),
    ]);
    assert_success(&out);
    let report = parse_json(&out.stdout);
    assert!(report["broke_at"].is_null(), "{report:#}");
    assert!(!verdicts(&report).contains(&"broke"), "{report:#}");
    let ceiling = &report["generator_bound"];
    let reason = ceiling["reason"].as_str().expect("a reason");
    assert!(reason.contains("the in-flight limit was full"), "{reason}");
    let found = float(&report, "sustainable_rate");
    assert!(
        found <= 41.0 && float(ceiling, "rate") > found,
        "{report:#}"
    );
    // Raised no further than the first rate the generator could not deliver; the ceiling is
    // the lowest such rate.
    let bound: Vec<f64> = steps(&report)
        .iter()
        .filter(|st| st["verdict"] == "generator-bound")
        .map(|st| float(st, "asked"))
        .collect();
    assert!(
        steps(&report)
            .iter()
            .all(|st| float(st, "asked") <= bound[0])
    );
    assert_eq!(
        bound.iter().copied().fold(f64::INFINITY, f64::min),
        float(ceiling, "rate")
    );
    let conclusion = report["conclusion"].as_str().unwrap();
    assert!(
        conclusion.contains("the generator could not deliver"),
        "{conclusion}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let url = "http://127.0.0.1:1/";
    for (args, want) in [
        (
            &["--slo", "p99"][..],
            "--slo \"p99\": expected METRIC>VALUE",
        ),
        (
            &["--slo", "p99<fast"],
            "--slo \"p99<fast\": a latency needs a unit",
        ),
        (
            &["--slo", "p99<1s", "--start-rate", "100", "--max-rate", "10"],
            "--max-rate 10 is below --start-rate 100",
        ),
        (
            &["--slo", "p99<1s", "-q", "100"],
            "-q: flak capacity sets the rate",
        ),
        (
            &["--slo", "p99<1s", "-n", "100"],
            "-n: flak capacity runs each step",
        ),
        (
            &["--slo", "p99<1s", "-z", "5s"],
            "-z: flak capacity runs each step",
        ),
        (
            &["--slo", "p99<1s", "--step", "0s"],
            "--step must be a positive duration",
        ),
        (
            &["--slo", "p99<1s", "--step", "-2s"],
            "--step must be a positive duration",
        ),
        (&["--slo", "p99<1s", "--step", "soon"], "--step: "),
        (
            &["--slo", "p99<1s", "--start-rate", "0"],
            "--start-rate must be a positive",
        ),
        (
            &["--slo", "p99<1s", "--start-rate", "-5"],
            "--start-rate must be a positive",
        ),
        (&[], "--slo"),
    ] {
        let mut all = vec!["capacity"];
        all.extend_from_slice(args);
        all.push(url);
        let out = flak(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{all:?}: {err}");
        assert!(
            err.contains(want),
            "{all:?}: {err:?} should contain {want:?}"
        );
        assert!(out.stdout.is_empty(), "{all:?}: {}", stdout(&out));
    }
}

#[test]
fn ctrl_c_ends_the_search_with_the_steps_that_finished() {
    let _load = exclusive();
    let target = Target::start();
    let run = Running::spawn(
        FLAK,
        &[
            "capacity",
            "--slo",
            "p99<1s",
            "--step",
            "1s",
            "--start-rate",
            "20",
            &target.url("delay/1"),
        ],
    );
    // Into the second step (the server has seen more than the first step's 20 requests):
    // the first has finished and printed its row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while crate::common::num(&target.stats(), "requests") < 25 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second step never began"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run.interrupt();
    let out = run.finish(std::time::Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("   1          20"), "{text}");
    assert!(
        !text.contains("   2          40"),
        "a cut-short step has no row: {text}"
    );
    assert!(
        text.contains(
            "search stopped before it finished; so far, highest sustainable rate: 20 req/s"
        ),
        "{text}"
    );
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
}
