//! What `flak capacity` prints: a table of steps (text, each row as its step finishes), the
//! same as CSV, or one JSON document at the end; the JSON is also what `-o` writes.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use flak_core::capacity::{
    Finding, MAX_STEPS, REPORT_FORMAT, Report, ReportStep, Slo, Step, TOLERANCE, format_rate,
};
use flak_core::report::format_ms;

use crate::flags::OutputFormat;

pub struct Table {
    format: OutputFormat,
    slos: Vec<String>,
    step: Duration,
    start_rate: f64,
    max_rate: Option<f64>,
}

impl Table {
    pub fn new(
        format: OutputFormat,
        slos: &[Slo],
        step: Duration,
        start_rate: f64,
        max_rate: Option<f64>,
    ) -> Self {
        Self {
            format,
            slos: slos.iter().map(ToString::to_string).collect(),
            step,
            start_rate,
            max_rate,
        }
    }

    /// Prints what comes before the first step.
    pub fn begin(&self) {
        match self.format {
            OutputFormat::Text => print_now(&format!(
                "Capacity search for {}: steps of {}, from {} req/s{}, doubling, then bisecting to within {:.0}% (at most {MAX_STEPS} steps)\n{:>4}  {:>10}  {:>10}  {:>11}  {:>11}  {:>7}  verdict\n",
                self.slos.join(", "),
                flak_core::plan::format_duration(self.step),
                format_rate(self.start_rate),
                self.max_rate
                    .map(|m| format!(" up to {}", format_rate(m)))
                    .unwrap_or_default(),
                TOLERANCE * 100.0,
                "step",
                "asked/s",
                "achieved/s",
                "p50",
                "p99",
                "errors",
            )),
            OutputFormat::Csv => {
                print_now("step,asked,achieved,p50_ms,p99_ms,error_percent,verdict,reason\n");
            }
            OutputFormat::Json => {}
        }
    }

    /// Prints the `n`th (1-based) step as it finishes.
    pub fn step(&self, n: usize, step: &Step) {
        let m = &step.measured;
        let reason = match &m.generator_bound {
            Some(reason) => reason.clone(),
            None => m.broken.join("; "),
        };
        match self.format {
            OutputFormat::Text => {
                let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), format_ms);
                let verdict = if reason.is_empty() {
                    step.verdict.name().to_string()
                } else {
                    format!("{}: {reason}", step.verdict.name())
                };
                print_now(&format!(
                    "{n:>4}  {:>10}  {:>10}  {:>11}  {:>11}  {:>6.2}%  {verdict}\n",
                    format_rate(m.asked),
                    format!("{:.1}", m.achieved),
                    ms(m.p50_ms),
                    ms(m.p99_ms),
                    m.error_percent,
                ));
            }
            OutputFormat::Csv => {
                let num = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
                print_now(&format!(
                    "{n},{:.3},{:.3},{},{},{:.4},{},\"{}\"\n",
                    m.asked,
                    m.achieved,
                    num(m.p50_ms),
                    num(m.p99_ms),
                    m.error_percent,
                    step.verdict.name(),
                    reason.replace('"', "\"\""),
                ));
            }
            OutputFormat::Json => {}
        }
    }

    /// Prints the answer (text, CSV) or the whole document (JSON), and returns the JSON for
    /// `-o`. `files` holds each step's results file, if saved.
    pub fn finish(&self, steps: &[Step], files: &[Option<PathBuf>], finding: &Finding) -> String {
        let json = self.document(steps, files, finding);
        match self.format {
            OutputFormat::Text => print_now(&format!("\n{}\n", finding.sentence())),
            OutputFormat::Json => print_now(&format!("{json}\n")),
            OutputFormat::Csv => {}
        }
        json
    }

    /// The capacity report (JSON) of the steps so far: `-o`'s file, and what `--ui` shows.
    pub fn document(&self, steps: &[Step], files: &[Option<PathBuf>], finding: &Finding) -> String {
        let document = Report {
            format: REPORT_FORMAT.into(),
            version: 1,
            slos: self.slos.clone(),
            step_s: self.step.as_secs_f64(),
            start_rate: self.start_rate,
            max_rate: self.max_rate,
            steps: steps
                .iter()
                .enumerate()
                .map(|(i, step)| ReportStep {
                    step: step.clone(),
                    results_file: files
                        .get(i)
                        .and_then(Option::as_ref)
                        .map(|p| p.display().to_string()),
                })
                .collect(),
            finding: finding.clone(),
            conclusion: finding.sentence(),
        };
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

/// Writes `text` on stdout at once (a row must show while the next step runs); a closed pipe
/// is not an error.
fn print_now(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
