//! Recorded traffic as load tests: `flak import har FILE` and `flak import curl [LINE…]` write
//! a journey scenario (TOML); `flak --har FILE` and `flak curl …` run one directly. Core's
//! `flak_core::import` does the reading and the journey; this module does the file I/O (the
//! HAR, standard input, curl's `@file` bodies), the TOML, and the lines people read.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args as _, FromArgMatches as _};
use flak_core::import::{self, Imported, Options, RecordedBody, ThinkFrom};

use crate::flags::args::{HarOptions, ImportCurlArgs, ImportHarArgs, ThinkFrom as ThinkFlag};
use crate::flags::scenario::{self, Scenario};
use crate::flags::{ImportCommand, RunArgs};

/// How many redirects `flak curl` follows for curl's `-L` (curl's own default limit is 30).
const CURL_REDIRECTS: u32 = 30;

/// `flak import har|curl`.
pub fn run(command: &ImportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ImportCommand::Har(args) => import_har(args),
        ImportCommand::Curl(args) => import_curl(args),
    }
}

fn options(o: &HarOptions) -> Options {
    Options {
        host: o.host.clone(),
        include: o.include.clone(),
        exclude: o.exclude.clone(),
        keep_secrets: o.keep_secrets,
        keep_accept_encoding: o.keep_accept_encoding,
        think: match o.think {
            ThinkFlag::Recorded => ThinkFrom::Recorded,
            ThinkFlag::None => ThinkFrom::None,
        },
        name: None,
    }
}

/// A HAR file as a journey; the lines of entries left out come back too.
fn har_imported(path: &Path, o: &HarOptions) -> anyhow::Result<(Imported, Vec<String>)> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| anyhow!("{shown}: cannot read the file ({e})"))?;
    if meta.len() > import::har::MAX_BYTES as u64 {
        bail!(
            "{shown}: {} bytes is more than the 200 MB flak reads of a HAR",
            meta.len()
        );
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{shown}: cannot read the file ({e})"))?;
    let har = import::har::parse(&bytes).map_err(|e| anyhow!("{shown}: {e}"))?;
    let mut options = options(o);
    options.name = Some(
        path.file_name()
            .map_or(shown.to_string(), |n| n.to_string_lossy().into_owned()),
    );
    let imported =
        import::to_scenario(&har.requests, &options).map_err(|e| anyhow!("{shown}: {e}"))?;
    Ok((imported, har.skipped))
}

/// The scenario as TOML, after a comment saying where it came from and what it needs.
fn to_toml(imported: &Imported, from: &str) -> anyhow::Result<String> {
    let body = toml::to_string(&imported.scenario).context("cannot write the scenario as TOML")?;
    let mut text = format!("# Made by flak import {from}.\n");
    if !imported.secrets.is_empty() {
        let _ = writeln!(
            text,
            "# Secrets became {{data:…}} placeholders: run with --data FILE.csv whose header row is\n# {}",
            columns(imported)
        );
    }
    text.push('\n');
    text.push_str(&body);
    Ok(text)
}

fn columns(imported: &Imported) -> String {
    imported
        .secrets
        .iter()
        .map(|s| s.column.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// What was made, for standard error.
fn describe(imported: &Imported, from: &str) -> String {
    let steps = &imported.scenario.step;
    let groups = steps.iter().filter(|s| !s.request.is_empty()).count();
    format!(
        "{} request{} from {from} as {} step{} ({groups} fan-out group{})",
        imported.kept,
        plural(imported.kept),
        steps.len(),
        plural(steps.len()),
        plural(groups)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The lines about secrets: which placeholders, and how to run the journey.
fn secrets_lines(imported: &Imported) -> Vec<String> {
    let mut lines = Vec::new();
    for s in &imported.secrets {
        let requests: Vec<String> = s.requests.iter().map(|i| (i + 1).to_string()).collect();
        lines.push(format!(
            "{} values became {{data:{}}} (entries {})",
            s.header,
            s.column,
            requests.join(", ")
        ));
    }
    if !imported.secrets.is_empty() {
        lines.push(format!(
            "to run it, give --data secrets.csv with the header row {} and a row per user, or import with --keep-secrets",
            columns(imported)
        ));
    }
    lines
}

fn write_out(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => crate::output::write_atomically(path, text.as_bytes())
            .map_err(|e| anyhow!("-o {}: {e:#}", path.display())),
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow!("cannot write to standard output: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}

fn import_har(args: &ImportHarArgs) -> anyhow::Result<ExitCode> {
    let (imported, skipped) = har_imported(&args.file, &args.options)?;
    let from = format!("har {}", args.file.display());
    write_out(args.output_file.as_deref(), &to_toml(&imported, &from)?)?;
    eprintln!(
        "flak: {}",
        describe(&imported, &args.file.display().to_string())
    );
    for line in skipped
        .iter()
        .chain(&imported.left_out)
        .chain(&secrets_lines(&imported))
    {
        eprintln!("flak: {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--har FILE` as the scenario to run, or `None` without it (then no HAR option may be given).
pub fn har_scenario(args: &RunArgs) -> anyhow::Result<Option<Scenario>> {
    let o = &args.har_options;
    let Some(path) = &args.har else {
        let given = [
            ("--host", o.host.is_some()),
            ("--include", o.include.is_some()),
            ("--exclude", o.exclude.is_some()),
            ("--keep-secrets", o.keep_secrets),
            ("--keep-accept-encoding", o.keep_accept_encoding),
            ("--think", o.think != ThinkFlag::Recorded),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            bail!("{flag} needs --har FILE");
        }
        return Ok(None);
    };
    let (imported, _) = har_imported(path, o).map_err(|e| anyhow!("--har {e:#}"))?;
    if !imported.secrets.is_empty() && args.data.is_none() {
        bail!(
            "--har {}: its Cookie/Authorization values are secrets, left out: give them with --data secrets.csv (header row {}), or run with --keep-secrets",
            path.display(),
            columns(&imported)
        );
    }
    let text = to_toml(&imported, "")?;
    scenario::parse(&text, Path::new("."), args.data.as_deref())
        .map(Some)
        .map_err(|e| anyhow!("--har {}: {e:#}", path.display()))
}

/// Reads `@file` bodies' names as paths from the current directory: checked now (a missing
/// file is the argument's fault), written absolute so the scenario runs from anywhere.
fn resolve_files(requests: &mut [import::Recorded]) -> anyhow::Result<()> {
    for r in requests {
        if let Some(RecordedBody::File(name)) = &r.body {
            let shown = import::curl::show(name);
            let path = std::path::absolute(PathBuf::from(name))
                .map_err(|e| anyhow!("@{shown}: cannot read the file ({e})"))?;
            let meta = std::fs::metadata(&path)
                .map_err(|e| anyhow!("@{shown}: cannot read the file ({e})"))?;
            if !meta.is_file() {
                bail!("@{shown}: not a regular file");
            }
            r.body = Some(RecordedBody::File(path.display().to_string()));
        }
    }
    Ok(())
}

fn curl_imported(parsed: &mut import::curl::CurlRequests) -> anyhow::Result<Imported> {
    resolve_files(&mut parsed.requests)?;
    let options = Options {
        // What a command line says is what the user chose to send: nothing is hidden.
        keep_secrets: true,
        keep_accept_encoding: true,
        think: ThinkFrom::None,
        ..Options::default()
    };
    Ok(import::to_scenario(&parsed.requests, &options)?)
}

fn import_curl(args: &ImportCurlArgs) -> anyhow::Result<ExitCode> {
    let text = if args.lines.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow!("cannot read curl lines from standard input ({e})"))?;
        text
    } else {
        args.lines.join("\n")
    };
    let mut parsed = import::curl::parse(&text)?;
    let imported = curl_imported(&mut parsed)?;
    write_out(args.output_file.as_deref(), &to_toml(&imported, "curl")?)?;
    eprintln!("flak: {}", describe(&imported, "the curl lines"));
    for w in parsed.warnings.iter().chain(&imported.left_out) {
        eprintln!("flak: warning: {w}");
    }
    if parsed.insecure {
        eprintln!("flak: curl's -k: run the scenario with --insecure");
    }
    if parsed.follow_redirects {
        eprintln!("flak: curl's -L: run the scenario with --redirects {CURL_REDIRECTS}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `flak curl <curl args…> [-- run flags]`.
pub fn run_curl(words: &[String]) -> anyhow::Result<ExitCode> {
    let split = words.iter().position(|w| w == "--");
    let (curl_args, run_flags) = match split {
        Some(i) => (&words[..i], &words[i + 1..]),
        None => (words, &[][..]),
    };
    let mut parsed = import::curl::parse_args(curl_args)
        .map_err(|e| anyhow!("{}", e.0.trim_start_matches("command 1: ")))?;
    let imported = curl_imported(&mut parsed)?;
    for w in parsed.warnings.iter().chain(&imported.left_out) {
        eprintln!("flak: warning: {}", w.trim_start_matches("command 1: "));
    }
    // The run flags, parsed as the run's own; the command's URL stands in for the positional
    // URL they require (the scenario takes its place).
    let command = RunArgs::augment_args(clap::Command::new("flak curl").no_binary_name(true));
    let mut argv: Vec<String> = run_flags.to_vec();
    argv.push("--".into());
    argv.push(parsed.requests[0].url.clone());
    let matches = command
        .try_get_matches_from(argv)
        .map_err(|e| anyhow!("after --: {}", crate::clap_line(&e)))?;
    let mut args = RunArgs::from_arg_matches(&matches).map_err(|e| anyhow!("{e}"))?;
    if args.har.is_some() || args.scenario.is_some() || args.targets.is_some() {
        bail!("flak curl runs the curl command: leave out --har, --scenario and --targets");
    }
    args.insecure |= parsed.insecure;
    if parsed.follow_redirects && args.redirects == 0 {
        args.redirects = CURL_REDIRECTS;
    }
    let text = to_toml(&imported, "curl")?;
    let scenario = scenario::parse(&text, Path::new("."), args.data.as_deref())
        .map_err(|e| anyhow!("{e:#}"))?;
    crate::load_with(&args, Some(scenario))
}
