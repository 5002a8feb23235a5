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
    let path = pod_logs_behind_kubectl(runs, &dir, n);
    let results = dir.path("results");
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
    // A request the run's end cancelled may or may not have reached the server (a busy
    // machine cancels some): the server saw every answered one, and at most those cancelled more.
    let answered = num(&merged, "succeeded") + num(&merged, "failed");
    let seen = num(&stats, "requests");
    assert!(
        (answered..=answered + num(&merged, "cancelled")).contains(&seen),
        "the target's own count {seen}, flak's answered {answered}, cancelled {}",
        num(&merged, "cancelled")
    );
    // Disjoint slices of the template sequence: 200 requests, (almost surely) 200 distinct users.
    assert!(num(&stats, "distinct_paths") >= 199);
    let elapsed = merged["elapsed_s"].as_f64().unwrap();
    assert!(
        (1.9..2.6).contains(&elapsed),
        "shards started together: merged span {elapsed} s"
    );
}

/// Waits for the pods (shard runs), saves each one's output as its log, and writes a stand-in
/// `kubectl` that answers the calls `collect` makes (the Job's completions, wait, the pod of
/// each index, its log) from those logs: the `PATH` that puts it first.
fn pod_logs_behind_kubectl(runs: Vec<Running>, dir: &TempDir, completions: u64) -> String {
    for (i, run) in runs.into_iter().enumerate() {
        let out = run.finish(Duration::from_secs(30));
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dir.path(&format!("log-{i}")), &out.stdout).unwrap();
    }
    let kubectl = dir.write(
        "kubectl",
        &format!(
            r#"#!/usr/bin/env bash
case "$1 $2" in
  "get job") echo {completions} ;;
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
    format!(
        "{}:{}",
        s(kubectl.parent().unwrap()),
        std::env::var("PATH").unwrap()
    )
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `flak k8s job` writes the Job without hand edits: valid for the Kubernetes API (it survives a
/// round trip through the API's own types unchanged, so every field is known and typed right),
/// the shard count, start time and seed in place; its pods' arguments run for real, and
/// `flak k8s collect` merges their logs.
#[test]
fn flak_k8s_job_is_a_valid_job_whose_shards_run_and_collect_merges() {
    use k8s_openapi::api::batch::v1::Job;
    let _load = exclusive();
    let target = Target::start();
    let out = crate::common::flak(&[
        "k8s",
        "job",
        "--shards",
        "3",
        "--image",
        "registry.test/flak:1",
        "--lead",
        "2s",
        "-z",
        "2s",
        "-q",
        "150",
        "-c",
        "10",
        &target.url("items/{rand:1-100000}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).expect("the manifest is YAML");
    let job: Job = serde_json::from_value(doc.clone()).expect("a batch/v1 Job");
    assert_eq!(
        serde_json::to_value(&job).unwrap(),
        doc,
        "every field survives the Kubernetes types"
    );
    let spec = job.spec.as_ref().unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!((spec.completions, spec.parallelism), (Some(3), Some(3)));
    assert_eq!(spec.backoff_limit, Some(0));
    let pod = spec.template.spec.as_ref().unwrap();
    let anti = pod
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    let term = &anti
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        term.pod_affinity_term.topology_key,
        "kubernetes.io/hostname"
    );
    let annotations = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap();
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], "9464");
    let container = &pod.containers[0];
    let args = container.args.clone().unwrap();
    assert_eq!(arg_after(&args, "--shard"), "$(JOB_COMPLETION_INDEX)/3");
    assert_eq!(arg_after(&args, "--metrics"), "0.0.0.0:9464");
    let seed = arg_after(&args, "--seed");
    assert!(
        seed.parse::<u64>().is_ok(),
        "one seed for every shard: {seed}"
    );
    let start_at = container.env.as_ref().unwrap()[0].value.clone().unwrap();
    let start = humantime::parse_rfc3339(&start_at).unwrap();
    let lead = start.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        lead <= Duration::from_secs(3),
        "starts --lead from now: {start_at}"
    );

    // Each pod's arguments, as Kubernetes expands them; on one machine the pods' metrics
    // ports would collide, so each takes a free one and lingers not at all.
    let dir = TempDir::new("k8s-job");
    let runs: Vec<Running> = (0..3)
        .map(|i| {
            let vars = [
                ("JOB_COMPLETION_INDEX", i.to_string()),
                ("START_AT", start_at.clone()),
            ];
            let expanded: Vec<String> = args
                .iter()
                .map(|a| match a.as_str() {
                    "0.0.0.0:9464" => "127.0.0.1:0".to_string(),
                    "30s" => "0s".to_string(),
                    _ => expand(a, &vars),
                })
                .collect();
            Running::spawn(FLAK, &expanded)
        })
        .collect();
    let path = pod_logs_behind_kubectl(runs, &dir, 3);
    let results = dir.path("results");
    let collect = std::process::Command::new(FLAK)
        .args([
            "k8s",
            "collect",
            "flak-load",
            "--out",
            s(&results),
            "--output",
            "json",
        ])
        .args(["--fail-if", "errors>1%"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        collect.status.success(),
        "{}",
        String::from_utf8_lossy(&collect.stderr)
    );
    let merged = parse_json(&collect.stdout);
    assert_eq!(
        num(&merged, "total"),
        300,
        "150 req/s for 2 s over 3 shards"
    );
    assert_eq!(num(&merged, "succeeded"), num(&target.stats(), "requests"));
    let saved = parse_json(&std::fs::read(results.join("merged.json")).unwrap());
    assert_eq!(num(&saved, "total"), 300);
    assert!(results.join("shard-2.json").is_file());
}

#[test]
fn flak_k8s_job_refuses_what_would_fail_in_every_pod() {
    for (args, want) in [
        (
            vec!["--shards", "0", "--image", "i", "http://a/"],
            "--shards 0",
        ),
        (
            vec![
                "--shards",
                "2",
                "--image",
                "i",
                "--shard",
                "0/2",
                "http://a/",
            ],
            "--shard: flak k8s job sets it",
        ),
        (
            vec!["--shards", "2", "--image", "i", "-c", "lots", "http://a/"],
            "run flags: invalid value 'lots'",
        ),
        (
            vec![
                "--shards",
                "2",
                "--image",
                "i",
                "-q",
                "5",
                "--rate-stages",
                "1s:5",
                "http://a/",
            ],
            "run flags: --rate-stages and -q contradict",
        ),
        (
            vec![
                "--shards",
                "2",
                "--image",
                "i",
                "--name",
                "Flak_Load",
                "http://a/",
            ],
            "--name \"Flak_Load\"",
        ),
    ] {
        let mut all = vec!["k8s", "job"];
        all.extend(args);
        let out = crate::common::flak(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
}
