//! `flak capacity`: the search loop. Core's [`Search`] picks each step's rate; each step is one
//! in-process run (`run/`) of the flags' plan at that rate for `--step`; `table` prints the
//! steps and the answer. The search sets `-q` and `-z` itself, so they are refused here. On a
//! terminal each step shows the live view (`tui/`) while it runs.

mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{anyhow, bail};
use flak_core::capacity::{Measured, Search, Slo};
use flak_core::{Results, Stats, StopSignal};

use crate::flags::{self, CapacityArgs, duration_arg};
use crate::metrics::Live;
use crate::run::{self, interrupt, progress::Progress};
use crate::{EXIT_INTERRUPTED, EXIT_THRESHOLD, output, tui};

/// The in-flight limit when `-c` is not given: a search pushes the server past its knee, where
/// latency and so the requests in flight grow; the default 50 would make the generator the limit.
const DEFAULT_CONCURRENCY: u64 = 1000;

pub fn run(args: CapacityArgs) -> anyhow::Result<ExitCode> {
    let CapacityArgs {
        slos,
        step,
        start_rate,
        max_rate,
        save_steps,
        run: mut run_args,
    } = args;
    if run_args.rate.is_some() {
        bail!("-q: flak capacity sets the rate of each step (use --start-rate and --max-rate)");
    }
    if run_args.duration.is_some() {
        bail!("-z: flak capacity runs each step for --step (default 10s)");
    }
    if run_args.requests.is_some() {
        bail!("-n: flak capacity runs each step for --step, not for a count of requests");
    }
    if !run_args.fail_if.is_empty() {
        bail!("--fail-if: flak capacity checks --slo on every step instead");
    }
    if run_args.shard.is_some() {
        bail!("--shard: a capacity search runs on one machine");
    }
    let slos = slos
        .iter()
        .map(|text| Slo::parse(text).map_err(|e| anyhow!("--slo {:?}: {}", e.text, e.reason)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if step.trim_start().starts_with('-') {
        bail!("--step must be a positive duration (got {step})");
    }
    let step_length = duration_arg("--step", &step)?;
    if step_length.is_zero() {
        bail!("--step must be a positive duration (got {step})");
    }
    let mut search = Search::new(start_rate, max_rate, slos.len())?;
    if let Some(dir) = &save_steps {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow!("--save-steps {}: cannot create it: {e}", dir.display()))?;
    }
    run_args.concurrency.get_or_insert(DEFAULT_CONCURRENCY);
    let format = run_args.output;
    let output_file = run_args.output_file.take();
    run_args.duration = Some(step);
    run_args.rate = Some(start_rate);
    let mut setup = flags::setup::build(&run_args)?;

    let stop = StopSignal::new();
    let interrupted = interrupt::install(stop.clone(), setup.grace)?;
    if let Some(at) = setup.start_at {
        crate::wait_until(at, &stop);
    }
    let show_view = tui::wanted(run_args.no_tui, run_args.no_progress);
    let table = table::Table::new(format, &slos, step_length, start_rate, max_rate);
    let feed = crate::ui::start(run_args.ui.as_deref(), None, 1)?;
    let mut files = Vec::new();
    table.begin();
    while let Some(rate) = search.next_rate() {
        if stop.is_stopped() {
            break;
        }
        let mut plan = (*setup.plan).clone();
        plan.rate = Some(rate);
        setup.plan = Arc::new(plan);
        let progress = Arc::new(Progress {
            finished: (0..run::worker_count(&setup))
                .map(|_| AtomicU64::new(0))
                .collect(),
        });
        // Each step its own live view, cleared before the step's row prints.
        let view = show_view.then(|| {
            let live = Arc::new(Live::new(
                Arc::clone(&setup.plan),
                setup.shard,
                String::new(),
                progress.finished.len(),
            ));
            (
                tui::View::start(&setup.plan, setup.shard, Arc::clone(&live)),
                live,
            )
        });
        let watch = run::Watch {
            live: view.as_ref().map(|(_, live)| live),
            feed: None,
        };
        let stats = run::run(&setup, &stop, &progress, watch);
        if let Some((view, _)) = view {
            view.finish();
        }
        let stats = stats?;
        if interrupted.load(Ordering::SeqCst) {
            // A step cut short says nothing about the rate it asked for.
            break;
        }
        let file = match &save_steps {
            Some(dir) => Some(save_step(
                dir,
                search.steps().len() + 1,
                rate,
                &stats,
                &setup,
            )?),
            None => None,
        };
        let bound = generator_bound(&stats);
        search.record(Measured::of(&stats, rate, &slos, bound));
        files.push(file);
        if let Some(last) = search.steps().last() {
            table.step(search.steps().len(), last);
        }
        if let Some(feed) = &feed {
            feed.show(table.document(search.steps(), &files, &search.finding()));
        }
    }
    let finding = search.finding();
    let report = table.finish(search.steps(), &files, &finding);
    if let Some(feed) = &feed {
        feed.finish(report.clone());
        feed.wait_delivered(crate::ui::DELIVERY);
    }
    if let Some(path) = &output_file {
        output::write_atomically(path, report.as_bytes())?;
    }
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("flak: interrupted; the table covers the steps that finished");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if finding.sustainable_rate.is_none() {
        let first = search.steps().first();
        let why = first
            .map(|s| match &s.measured.generator_bound {
                Some(reason) => format!("the generator fell behind: {reason}"),
                None => format!("broke {}", s.measured.broken.join(", ")),
            })
            .unwrap_or_default();
        eprintln!(
            "flak: no sustainable rate: the first step ({} req/s) {why}",
            flak_core::capacity::format_rate(start_rate)
        );
        return Ok(ExitCode::from(EXIT_THRESHOLD));
    }
    Ok(ExitCode::SUCCESS)
}

/// Why the generator, not the server, limited this step, if it did: core's own watch of start
/// lag, full slots and the rate achieved against the rate asked.
pub fn generator_bound(stats: &Stats) -> Option<String> {
    flak_core::Summary::of(stats)
        .generator
        .and_then(|g| g.generator_bound)
}

/// Writes a step's full results file into `dir` and returns its path.
fn save_step(
    dir: &std::path::Path,
    n: usize,
    rate: f64,
    stats: &Stats,
    setup: &flags::Setup,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!(
        "step-{n:02}-{}rps.json",
        flak_core::capacity::format_rate(rate)
    ));
    let results = Results::of(stats, Some(&setup.plan));
    output::write_atomically(&path, results.to_json().as_bytes())?;
    Ok(path)
}
