//! Printing reports (text, JSON, CSV), the progress bar, and writing files so that a reader
//! never sees half of one.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use flak_core::{Plan, Results, Stats, StopAfter};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::OutputFormat;
use crate::runner::Progress;

/// Prints the report on stdout. A closed pipe (`flak … | head`) is not an error.
pub fn print(format: OutputFormat, stats: &Stats, results: &Results) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = match format {
        OutputFormat::Text => out.write_all(flak_core::report::text(stats).as_bytes()),
        OutputFormat::Json => results
            .write_json(&mut out)
            .and_then(|()| out.write_all(b"\n")),
        OutputFormat::Csv => out.write_all(results.to_csv().as_bytes()),
    };
    let _ = out.flush();
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("-o {}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

/// A progress bar on stderr, fed from the workers' counters.
pub fn progress_bar(plan: &Plan, progress: Arc<Progress>) -> ProgressBar {
    let (len, template) = match plan.stop {
        StopAfter::Requests(n) => (
            n,
            "{bar:40.cyan/blue} {pos}/{len} requests  {elapsed_precise}  {msg}",
        ),
        StopAfter::Duration(d) => (
            d.as_millis() as u64,
            "{bar:40.cyan/blue} {elapsed_precise}  {msg}",
        ),
    };
    // https://no-color.org: any value turns colour off.
    let template = if std::env::var_os("NO_COLOR").is_some() {
        template.replace("{bar:40.cyan/blue}", "{bar:40}")
    } else {
        template.to_string()
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("█▉ "));
    }
    let is_count = matches!(plan.stop, StopAfter::Requests(_));
    let ticker = bar.clone();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !ticker.is_finished() {
            let done = progress.total();
            if is_count {
                ticker.set_position(done);
            } else {
                ticker.set_position(start.elapsed().as_millis() as u64);
                ticker.set_message(format!("{done} requests"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    bar
}
