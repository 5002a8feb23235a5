//! `flak k8s`: many machines on Kubernetes without hand edits. `job.rs` prints the Indexed Job
//! for a sharded run (shard count, start time and seed written once, pods spread over nodes,
//! `--metrics` annotated for Prometheus); `collect.rs` waits for it, saves each pod's results
//! file and merges them exactly.

mod collect;
mod job;

use std::process::ExitCode;

use crate::flags::args::K8sCommand;

pub fn run(command: &K8sCommand) -> anyhow::Result<ExitCode> {
    match command {
        K8sCommand::Job(args) => {
            print!("{}", job::manifest(args, std::time::SystemTime::now())?);
            Ok(ExitCode::SUCCESS)
        }
        K8sCommand::Collect(args) => collect::run(args),
    }
}
