//! The Indexed Job manifest: `completions` = `parallelism` = the shard count, each pod running
//! `flak --shard $(JOB_COMPLETION_INDEX)/N --start-at T --seed S …` with the user's run flags,
//! its results file on stdout (the pod log), `--metrics` on a port Prometheus is told to
//! scrape, and a preference for one pod per node. `backoffLimit: 0`: a retried shard would count
//! its requests twice, so a failed shard is reported instead.

use std::time::SystemTime;

use anyhow::{anyhow, bail};
use clap::Parser as _;
use serde_json::json;

use crate::flags::Cli;
use crate::flags::args::K8sJobArgs;

/// Run flags the Job sets itself.
const OWN_FLAGS: [&str; 6] = [
    "--shard",
    "--start-at",
    "--output",
    "-o",
    "--output-file",
    "--metrics",
];

pub fn manifest(args: &K8sJobArgs, now: SystemTime) -> anyhow::Result<String> {
    if args.shards == 0 {
        bail!("--shards 0: a Job needs at least one shard");
    }
    if args.shards > 10_000 {
        bail!(
            "--shards {}: more pods than one Job should start",
            args.shards
        );
    }
    if !is_dns_label(&args.name) {
        bail!(
            "--name {:?}: a Job name is lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit",
            args.name
        );
    }
    if args.image.trim().is_empty() {
        bail!("--image: give the image that holds flak (see deploy/k8s/Containerfile)");
    }
    let lead = crate::flags::duration_arg("--lead", &args.lead)?;
    for arg in &args.run {
        let flag = arg.split('=').next().unwrap_or(arg);
        if OWN_FLAGS.contains(&flag) {
            bail!("{flag}: flak k8s job sets it for every pod; leave it out");
        }
    }
    // The run flags must make a valid run: checked here, not in a pod's log an hour later.
    let parsed = Cli::try_parse_from(std::iter::once("flak".to_string()).chain(args.run.clone()))
        .map_err(|e| {
        let text = e.render().to_string();
        let line = text
            .lines()
            .next()
            .unwrap_or("invalid run flags")
            .trim_start_matches("error: ");
        anyhow!("run flags: {line}")
    })?;
    if parsed.command.is_some() {
        bail!("run flags: give the flags and URL of a run, not a subcommand");
    }
    // What would refuse the run in every pod (-q with --rate-stages, a bad threshold, …).
    crate::flags::setup::build(&parsed.run).map_err(|e| anyhow!("run flags: {e:#}"))?;
    let mut run = args.run.clone();
    if parsed.run.seed.is_none() {
        // Every shard must expand the same request sequence.
        run.extend(["--seed".to_string(), fastrand::u64(..).to_string()]);
    }
    let start = humantime::format_rfc3339_seconds(now + lead).to_string();
    let n = args.shards;
    let port = args.metrics_port;
    let mut container_args = vec![
        "--shard".to_string(),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "--start-at".to_string(),
        "$(START_AT)".to_string(),
        "--output".to_string(),
        "json".to_string(),
        "--no-progress".to_string(),
        "--metrics".to_string(),
        format!("0.0.0.0:{port}"),
        "--metrics-linger".to_string(),
        "30s".to_string(),
    ];
    container_args.extend(run);
    let labels =
        json!({ "app.kubernetes.io/name": "flak", "app.kubernetes.io/instance": args.name });
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": args.name, "labels": labels },
        "spec": {
            "completionMode": "Indexed",
            "completions": n,
            "parallelism": n,
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": port.to_string(),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "restartPolicy": "Never",
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [{
                                "weight": 100,
                                "podAffinityTerm": {
                                    "labelSelector": { "matchLabels": { "app.kubernetes.io/instance": args.name } },
                                    "topologyKey": "kubernetes.io/hostname",
                                },
                            }],
                        },
                    },
                    "containers": [{
                        "name": "flak",
                        "image": args.image,
                        "env": [{ "name": "START_AT", "value": start }],
                        "args": container_args,
                        "ports": [{ "name": "metrics", "containerPort": port }],
                        "resources": {
                            "requests": { "cpu": "1", "memory": "128Mi" },
                            "limits": { "memory": "512Mi" },
                        },
                    }],
                },
            },
        },
    });
    let yaml = serde_norway::to_string(&job).map_err(|e| anyhow!("writing the manifest: {e}"))?;
    Ok(format!(
        "# flak: {n} shards starting together at {start}; apply, then: flak k8s collect {}\n{yaml}",
        args.name
    ))
}

/// An RFC 1123 label, as Kubernetes names must be.
fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}
