//! The many-machines deployment: the Kubernetes Indexed Job manifest is checked field by field,
//! its flak arguments are run for real (every shard, against `flak target` on loopback), and
//! `collect.sh` merges the shards' logs through a stand-in `kubectl`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::{FLAK, Running, Target, TempDir, exclusive, num, parse_json, s};
use serde_norway::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn job() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/k8s/job.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn container_args(job: &Value) -> Vec<String> {
    job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// The value following `flag` in `args`.
fn arg_after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} missing"));
    &args[i + 1]
}

#[test]
fn the_job_is_an_indexed_job_whose_pods_run_one_shard_each() {
    let job = job();
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_u64().expect("completions");
    assert!(n >= 2);
    assert_eq!(
        spec["parallelism"].as_u64(),
        Some(n),
        "all shards run at once"
    );
    assert_eq!(
        spec["backoffLimit"].as_u64(),
        Some(0),
        "a retried shard would count twice"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let args = container_args(&job);
    assert_eq!(
        arg_after(&args, "--shard"),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "the shard count matches completions"
    );
    assert_eq!(
        arg_after(&args, "--output"),
        "json",
        "the pod log is its results file"
    );
    assert_eq!(arg_after(&args, "--start-at"), "$(START_AT)");
    let env: Vec<&str> = pod["containers"][0]["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for var in ["START_AT", "TARGET_URL"] {
        assert!(
            env.contains(&var),
            "{var} is defined for the args that use it"
        );
    }
    assert!(
        args.iter().any(|a| a == "--seed"),
        "all shards share one seed"
    );
}

/// Replaces `$(VAR)` the way Kubernetes expands container args.
fn expand(arg: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(arg.to_string(), |a, (k, v)| {
        a.replace(&format!("$({k})"), v)
    })
}

#[test]
fn the_jobs_shards_run_for_real_and_collect_merges_them_exactly() {
    let _load = exclusive();
    let target = Target::start();
    let job = job();
    let n = job["spec"]["completions"].as_u64().unwrap();
    let start_at =
        humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(2)).to_string();
    // The manifest's own arguments, shortened to a 2 s run at 100 req/s for the test.
    let args: Vec<String> = container_args(&job)
        .iter()
        .map(|a| match a.as_str() {
            "60s" => "2s".to_string(),
            "2000" => "100".to_string(),
            _ => a.clone(),
        })
        .collect();
    let dir = TempDir::new("k8s");
    let runs: Vec<Running> = (0..n)
        .map(|i| {
            let vars = [
                ("JOB_COMPLETION_INDEX", i.to_string()),
                ("START_AT", start_at.clone()),
                ("TARGET_URL", target.url("users/{rand:1-100000}")),
            ];
            let expanded: Vec<String> = args.iter().map(|a| expand(a, &vars)).collect();
            Running::spawn(FLAK, &expanded)
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let out = run.finish(Duration::from_secs(30));
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dir.path(&format!("log-{i}")), &out.stdout).unwrap();
    }
    // A stand-in kubectl that answers the calls collect.sh makes from the saved pod logs.
    let kubectl = dir.write(
        "kubectl",
        &format!(
            r#"#!/usr/bin/env bash
case "$1 $2" in
  "get job") echo {n} ;;
  "wait "*) echo "job.batch/flak-load condition met" ;;
  "get pods") idx="${{4##*index=}}"; echo "pod-$idx" ;;
  "logs "*) cat "{dir}/log-${{2#pod-}}" ;;
  *) echo "unexpected kubectl $*" >&2; exit 1 ;;
esac
"#,
            dir = s(dir.path("log-0").parent().unwrap())
        ),
    );
    make_executable(&kubectl);
    let results = dir.path("results");
    let path = format!(
        "{}:{}",
        s(kubectl.parent().unwrap()),
        std::env::var("PATH").unwrap()
    );
    let collect = std::process::Command::new(repo().join("deploy/k8s/collect.sh"))
        .args(["flak-load", s(&results)])
        .env("PATH", path)
        .env("FLAK", FLAK)
        .output()
        .unwrap();
    assert!(
        collect.status.success(),
        "collect.sh: {}",
        String::from_utf8_lossy(&collect.stderr)
    );
    let merged = parse_json(&std::fs::read(results.join("merged.json")).unwrap());
    let stats = target.stats();
    assert_eq!(
        num(&merged, "total"),
        200,
        "100 req/s for 2 s, split over {n} shards"
    );
    assert_eq!(
        num(&merged, "succeeded") + num(&merged, "failed"),
        num(&stats, "requests"),
        "the target's own count"
    );
    // Disjoint slices of the template sequence: 200 requests, (almost surely) 200 distinct users.
    assert!(num(&stats, "distinct_paths") >= 199);
    let elapsed = merged["elapsed_s"].as_f64().unwrap();
    assert!(
        (1.9..2.6).contains(&elapsed),
        "shards started together: merged span {elapsed} s"
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
