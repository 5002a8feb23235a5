//! `flak report RESULTS.json -o report.html`: one self-contained HTML file, the browser app with
//! the results inline, that opens from disk or a CI artifact store and makes no request.

use std::process::ExitCode;

use flak_core::Results;

use crate::flags::args::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    // The checks a dropped file gets in the app, so a report never opens to an error.
    if is_capacity_report(&text) {
        flak_core::capacity::Report::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    } else {
        Results::load(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let html = crate::app_bundle::report_html(&text)?;
    crate::output::write_atomically(&args.output_file, html.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// A `flak capacity -o` report rather than a results file, as the app tells them apart.
fn is_capacity_report(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| {
        v.get("format").and_then(serde_json::Value::as_str)
            == Some(flak_core::capacity::REPORT_FORMAT)
    })
}
