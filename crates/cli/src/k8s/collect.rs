//! `flak k8s collect JOB`: waits for the Job through `kubectl`, saves each pod's log (its
//! results file) as `shard-<i>.json`, and merges them exactly as `flak merge` does.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, anyhow, bail};

use crate::flags::MergeArgs;
use crate::flags::args::K8sCollectArgs;

fn kubectl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .context("running kubectl (is it installed and on PATH?)")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "kubectl {}: {}",
            args.join(" "),
            err.lines().next().unwrap_or("failed")
        );
    }
    String::from_utf8(out.stdout).map_err(|_| anyhow!("kubectl {}: output is not UTF-8", args[0]))
}

pub fn run(args: &K8sCollectArgs) -> anyhow::Result<ExitCode> {
    let job = &args.job;
    crate::flags::duration_arg("--timeout", &args.timeout)?;
    let completions: u32 = kubectl(&["get", "job", job, "-o", "jsonpath={.spec.completions}"])?
        .trim()
        .parse()
        .map_err(|_| anyhow!("job/{job} has no completion count: is it a flak Indexed Job?"))?;
    eprintln!("flak: waiting for {completions} shards of job/{job} …");
    kubectl(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{job}"),
        &format!("--timeout={}", args.timeout),
    ])?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("--out {}: cannot create it", args.out.display()))?;
    let mut files = Vec::new();
    for i in 0..completions {
        let selector = format!("job-name={job},batch.kubernetes.io/job-completion-index={i}");
        let pod = kubectl(&[
            "get",
            "pods",
            "-l",
            &selector,
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])?;
        let pod = pod.trim();
        if pod.is_empty() {
            bail!("job/{job}: no pod for shard {i}");
        }
        let log = kubectl(&["logs", pod])?;
        let file = args.out.join(format!("shard-{i}.json"));
        crate::output::write_atomically(&file, log.as_bytes())?;
        files.push(file);
    }
    crate::merge(&MergeArgs {
        files,
        output_file: Some(args.out.join("merged.json")),
        output: args.output,
        fail_if: args.fail_if.clone(),
        ui: None,
    })
}
