//! The `flak` command line, in rooms: `flags/` (arguments to a validated `Setup`), `run/` (the
//! workers, clock, Ctrl-C, progress), `output` (reports and files), `target/` (the built-in test
//! server), `tui/` (the live view on a terminal), `capacity/` (`flak capacity`, a search over
//! runs), `import/` (`flak import`, `flak --har`, `flak curl`: recorded traffic as journeys),
//! `report` (`flak report`: one HTML file of the app and a results file) over `app_bundle` (the
//! app built into the binary). The engine is `flak-core`; the HTTP clients are `flak-wire`.
//!
//! Exit codes: 0 ok, 1 a `--fail-if` threshold was broken, 2 bad input (one line on stderr
//! naming the problem), 130 interrupted by Ctrl-C (after printing the partial report).

pub mod app_bundle;
pub mod capacity;
pub mod flags;
pub mod import;
pub mod k8s;
pub mod metrics;
pub mod output;
pub mod report;
pub mod run;
pub mod side_server;
pub mod target;
pub mod tui;
pub mod ui;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use flak_core::{Results, StopSignal};

use crate::flags::{Cli, Command, MergeArgs, RunArgs};
use crate::run::interrupt;
use crate::run::progress::{self, Progress};

pub(crate) const EXIT_THRESHOLD: u8 = 1;
pub(crate) const EXIT_INPUT: u8 = 2;
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let line = clap_line(&e);
            eprintln!("flak: {line} (see 'flak --help')");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let result = match cli.command {
        Some(Command::Target(args)) => target::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Merge(args)) => merge(&args),
        Some(Command::Capacity(args)) => capacity::run(*args),
        Some(Command::Import(command)) => import::run(&command),
        Some(Command::Curl { args }) => import::run_curl(&args),
        Some(Command::K8s(command)) => k8s::run(&command),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Report(args)) => report::run(&args),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "flak", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        None => load(&cli.run),
    };
    result.unwrap_or_else(|e| {
        eprintln!("flak: {e:#}");
        ExitCode::from(EXIT_INPUT)
    })
}

/// One line naming the problem, not clap's whole usage block.
pub(crate) fn clap_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" lists them below.
    if line.ends_with(':') {
        let listed: Vec<&str> = lines.take_while(|l| !l.starts_with("Usage:")).collect();
        line = format!("{} {}", line, listed.join(", "));
    }
    line
}

fn load(args: &RunArgs) -> anyhow::Result<ExitCode> {
    load_with(args, None)
}

/// A run; `made` is a scenario made from something else than a file (`flak curl`).
pub(crate) fn load_with(
    args: &RunArgs,
    made: Option<flags::scenario::Scenario>,
) -> anyhow::Result<ExitCode> {
    let setup = match made {
        Some(made) => flags::setup::build_with(args, Some(made))?,
        None => flags::setup::build(args)?,
    };
    // Read before the run: a baseline that does not load is bad input, not a lost run.
    let baseline = args
        .baseline
        .as_deref()
        .map(|path| load_results(path).map_err(|e| anyhow::anyhow!("--baseline {e}")))
        .transpose()?;
    let stop = StopSignal::new();
    let interrupted = interrupt::install(stop.clone(), setup.grace)?;
    if let Some(at) = setup.start_at {
        wait_until(at, &stop);
    }
    let workers = run::worker_count(&setup);
    let linger = flags::duration_arg("--metrics-linger", &args.metrics_linger)?;
    let tui = tui::wanted(args.no_tui, args.no_progress);
    let live = (args.metrics.is_some() || args.otlp.is_some() || tui).then(|| {
        let run_id = args
            .run_id
            .clone()
            .unwrap_or_else(|| format!("{:016x}", setup.plan.seed));
        Arc::new(metrics::Live::new(
            Arc::clone(&setup.plan),
            setup.shard,
            run_id,
            workers,
        ))
    });
    if let (Some(addr), Some(live)) = (&args.metrics, &live) {
        metrics::Server::start(addr, live)?;
    }
    let otlp = match (&args.otlp, &live) {
        (Some(url), Some(live)) => Some(metrics::Otlp::start(url, live)?),
        _ => None,
    };
    let feed = ui::start(args.ui.as_deref(), Some(Arc::clone(&setup.plan)), workers)?;
    let progress = Arc::new(Progress {
        finished: (0..workers).map(|_| AtomicU64::new(0)).collect(),
    });
    let view = live
        .as_ref()
        .filter(|_| tui)
        .map(|live| tui::View::start(&setup.plan, setup.shard, Arc::clone(live)));
    let bar = (view.is_none() && !args.no_progress && std::io::stderr().is_terminal())
        .then(|| progress::bar(&setup.plan, Arc::clone(&progress)));
    let watch = run::Watch {
        live: live.as_ref(),
        feed: feed.as_ref(),
    };
    let stats = run::run(&setup, &stop, &progress, watch);
    if let Some(view) = view {
        view.finish();
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    let stats = stats?;
    let results = Results::of(&stats, Some(&setup.plan));
    let json = (args.output_file.is_some() || feed.is_some()).then(|| results.to_json());
    if let (Some(path), Some(json)) = (&args.output_file, &json) {
        output::write_atomically(path, json.as_bytes())?;
    }
    output::print(args.output, &stats, &results);
    if let (Some(feed), Some(json)) = (&feed, json) {
        feed.finish(json);
        feed.wait_delivered(ui::DELIVERY);
    }
    if let Some(live) = &live {
        live.finish(&stats);
    }
    if let Some(warning) = otlp.and_then(metrics::Otlp::finish) {
        eprintln!("flak: {warning}");
    }
    if args.metrics.is_some() {
        wait_for(linger, &stop);
    }
    let mut code = judge(&setup.thresholds, &stats, baseline.as_ref());
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        eprintln!("flak: interrupted; the report covers what ran");
        code = ExitCode::from(EXIT_INTERRUPTED);
    }
    Ok(code)
}

pub(crate) fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    // Checked before any file is read: a typo should not wait for gigabytes of results.
    let thresholds = args
        .fail_if
        .iter()
        .map(|t| flak_core::Threshold::parse(t).map_err(|e| anyhow::anyhow!("--fail-if: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // One file at a time: each is read and loaded only when the ones before it are merged.
    let loaded = args.files.iter().map(|path| load_results(path));
    let stats = flak_core::Stats::try_merge_all(loaded)?
        .ok_or_else(|| anyhow::anyhow!("no results files given"))?;
    let results = Results::of(&stats, None);
    if let Some(path) = &args.output_file {
        output::write_atomically(path, results.to_json().as_bytes())?;
    }
    output::print(args.output, &stats, &results);
    let code = judge(&thresholds, &stats, None);
    if let Some(feed) = ui::start(args.ui.as_deref(), None, 0)? {
        feed.finish(results.to_json());
        eprintln!("flak: serving until Ctrl-C");
        // No run ends this: Ctrl-C's default action does.
        loop {
            std::thread::park();
        }
    }
    Ok(code)
}

/// Reads a results file (`merge`, `compare`, `--baseline`), naming it in any error.
fn load_results(path: &std::path::Path) -> anyhow::Result<flak_core::Stats> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let (stats, _) =
        Results::load(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(stats)
}

fn compare(args: &flags::args::CompareArgs) -> anyhow::Result<ExitCode> {
    use flags::args::CompareFormat;
    let base = load_results(&args.base)?;
    let new = load_results(&args.new)?;
    let c = flak_core::compare::Comparison::of(&base, &new);
    match args.output {
        CompareFormat::Text => print!("{}", c.table(false)),
        CompareFormat::Markdown => print!("{}", c.table(true)),
        CompareFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&c).map_err(|e| anyhow::anyhow!("{e}"))?
        ),
    }
    let errors_changed = c
        .rows
        .iter()
        .any(|r| r.metric == "errors %" && r.significant == Some(true));
    if args.fail_if_changed && (c.latency_changed || errors_changed) {
        eprintln!("flak: {}", c.verdict());
        return Ok(ExitCode::from(EXIT_THRESHOLD));
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit 1, with a line each, for every threshold the run broke.
fn judge(
    thresholds: &[flak_core::Threshold],
    stats: &flak_core::Stats,
    baseline: Option<&flak_core::Stats>,
) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for threshold in thresholds {
        let broken = match baseline {
            Some(base) => threshold.check_against(stats, base),
            None => threshold.check(stats),
        };
        if let Some(message) = broken {
            eprintln!("flak: {message}");
            code = ExitCode::from(EXIT_THRESHOLD);
        }
    }
    code
}

/// Sleeps for `d`; Ctrl-C ends the wait.
fn wait_for(d: Duration, stop: &StopSignal) {
    wait_until(std::time::SystemTime::now() + d, stop);
}

/// Sleeps until the wall clock reaches `at` (a time in the past returns at once); Ctrl-C ends
/// the wait.
pub(crate) fn wait_until(at: std::time::SystemTime, stop: &StopSignal) {
    while !stop.is_stopped() {
        match at.duration_since(std::time::SystemTime::now()) {
            Ok(left) if !left.is_zero() => std::thread::sleep(left.min(Duration::from_millis(50))),
            _ => return,
        }
    }
}
