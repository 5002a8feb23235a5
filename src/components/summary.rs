//! The headline numbers (with stable `data-testid` hooks), the percentile table, the load's
//! stages and the generator's own account (asked vs achieved, start lag, the generator-bound
//! verdict and the tab's reasons), fan-out members or a journey's steps (checks, extractions,
//! skips), the text report the CLI prints, and the export buttons with
//! what went wrong in the last export.

use std::fmt::Write as _;

use flak_core::report::format_bytes;
use yew::prelude::*;

use crate::components::markup::{esc, raw};

use crate::model::export::ExportKind;
use crate::snapshot::Snapshot;

pub struct SummaryProps {
    pub snapshot: std::rc::Rc<Snapshot>,
    pub on_export: Callback<ExportKind>,
    /// Why the last export failed.
    pub export_error: Option<String>,
    /// The page's own reasons for requests starting late (a hidden tab, long tasks).
    pub tab_reasons: Vec<String>,
}

/// A number for an automation hook: plain, no unit, no thousands separator.
fn plain(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The read-only part as markup text (one node for Yew to place, not hundreds to build: the
/// same page for a fraction of the bundle, as the charts are); every value is escaped.
fn body(snapshot: &Snapshot, tab_reasons: &[String]) -> String {
    let s = &snapshot.summary;
    let latency = s.latency_ms;
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), plain);
    let mut out = String::from(r#"<div class="cards">"#);
    for (id, label, value, unit) in [
        ("stat-total", "Total", s.total.to_string(), ""),
        ("stat-succeeded", "Succeeded", s.succeeded.to_string(), ""),
        ("stat-failed", "Failed", s.failed.to_string(), ""),
        ("stat-cancelled", "Cancelled", s.cancelled.to_string(), ""),
        ("stat-rps", "Throughput", format!("{:.1}", s.rps), "req/s"),
        ("stat-p50", "p50", ms(latency.map(|l| l.p50)), "ms"),
        ("stat-p99", "p99", ms(latency.map(|l| l.p99)), "ms"),
    ] {
        let _ = write!(
            out,
            r#"<div class="card"><div class="label">{label}</div><div class="value"><span data-testid="{id}">{value}</span><span class="unit">{unit}</span></div></div>"#
        );
    }
    let _ = write!(
        out,
        r#"</div><table class="percentiles"><caption>Latency over {} responses in {:.2} s · {} received</caption><thead><tr><th scope="col">min</th>"#,
        s.succeeded + s.failed - s.errors.values().sum::<u64>(),
        s.elapsed_s,
        format_bytes(s.bytes)
    );
    for p in &s.percentiles {
        let _ = write!(out, r#"<th scope="col">p{}</th>"#, plain(p.p));
    }
    let _ = write!(
        out,
        r#"<th scope="col">max</th><th scope="col">mean</th></tr></thead><tbody><tr><td>{}</td>"#,
        ms(latency.map(|l| l.min))
    );
    for p in &s.percentiles {
        let _ = write!(out, "<td>{}</td>", plain(p.ms));
    }
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td></tr></tbody></table>",
        ms(latency.map(|l| l.max)),
        ms(latency.map(|l| l.mean))
    );
    if let Some(u) = s.latency_uncorrected_ms {
        let _ = write!(
            out,
            r#"<p class="note">Latency counts from each request's intended start (rate set), so stalls are not hidden. From the actual send instead: p50 {} ms, p99 {} ms.</p>"#,
            plain(u.p50),
            plain(u.p99)
        );
    }
    if let Some(line) = &snapshot.stages_line {
        let _ = write!(
            out,
            r#"<p class="note" data-testid="stages-line">Load: {}</p>"#,
            esc(line)
        );
    }
    if let Some(g) = &s.generator {
        out.push_str(r#"<div class="generator" data-testid="generator">"#);
        for (i, line) in g.lines().into_iter().enumerate() {
            if i == 0 {
                let _ = write!(
                    out,
                    r#"<p class="note" data-testid="generator-line">Generator: {}</p>"#,
                    esc(&line)
                );
            } else {
                // The core's advice names the CLI's flag; the form calls it so.
                let _ = write!(
                    out,
                    r#"<p class="error" data-testid="generator-bound">{}</p>"#,
                    esc(&line.replace("raise -c", "raise the in-flight limit"))
                );
            }
        }
        for why in tab_reasons {
            let _ = write!(
                out,
                r#"<p class="error" data-testid="generator-tab">{}</p>"#,
                esc(why)
            );
        }
        out.push_str("</div>");
    }
    if snapshot.rows_ran_out {
        out.push_str(r#"<p class="note" data-testid="rows-ran-out">The data file's rows ran out (unique order: each row once), which ended the run.</p>"#);
    }
    if snapshot.journey {
        out.push_str(r#"<table class="members steps" data-testid="steps"><caption>Journey steps, one row per request: the numbers above are per iteration, whose latency runs from its first send to its last response, think time left out</caption><thead><tr><th scope="col">step</th><th scope="col">issued</th><th scope="col">ok</th><th scope="col">failed</th><th scope="col">skipped</th><th scope="col">p50 ms</th><th scope="col">p99 ms</th><th scope="col">failed checks</th><th scope="col">extraction failures</th><th scope="col">first failure</th></tr></thead><tbody>"#);
        for m in &snapshot.members {
            let _ = write!(
                out,
                r#"<tr data-testid="step"><th scope="row" data-testid="step-name">{}</th><td data-testid="step-issued">{}</td><td data-testid="step-ok">{}</td><td data-testid="step-failed" title="{}">{}</td><td data-testid="step-skipped">{}</td><td>{}</td><td>{}</td><td data-testid="step-checks">{}</td><td data-testid="step-extracts">{}</td><td data-testid="step-first-failure">{}</td></tr>"#,
                esc(&m.name),
                m.total,
                m.succeeded,
                esc(&m.outcomes),
                m.failed,
                m.skipped,
                ms(m.p50),
                ms(m.p99),
                m.checks_failed,
                m.extracts_failed,
                esc(m.first_failure.as_deref().unwrap_or_default())
            );
        }
        out.push_str("</tbody></table>");
    } else if !snapshot.members.is_empty() {
        out.push_str(r#"<table class="members" data-testid="members"><caption>Fan-out members: the group numbers above are per iteration, whose latency is its slowest member's</caption><thead><tr><th scope="col">member</th><th scope="col">total</th><th scope="col">succeeded</th><th scope="col">failed</th><th scope="col">p50 ms</th><th scope="col">p99 ms</th><th scope="col">outcomes</th></tr></thead><tbody>"#);
        for m in &snapshot.members {
            let _ = write!(
                out,
                r#"<tr data-testid="member"><th scope="row">{}</th><td data-testid="member-total">{}</td><td>{}</td><td data-testid="member-failed">{}</td><td data-testid="member-p50">{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&m.name),
                m.total,
                m.succeeded,
                m.failed,
                ms(m.p50),
                ms(m.p99),
                esc(&m.outcomes)
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}

/// A plain function, not a component: Yew's per-component code costs more than rebuilding it.
pub fn summary_view(props: &SummaryProps) -> Html {
    let export = |kind: ExportKind| {
        let cb = props.on_export.clone();
        html! { <button type="button" class="secondary" onclick={Callback::from(move |_| cb.emit(kind))}>{kind.label()}</button> }
    };
    html! {
        <section class="summary" aria-label="Summary">
            { raw(format!(r#"<div class="summary-body">{}</div>"#, body(&props.snapshot, &props.tab_reasons))) }
            <div class="actions">
                { for ExportKind::ALL.into_iter().map(export) }
            </div>
            if let Some(error) = &props.export_error {
                <p class="error" role="alert" data-testid="export-error">{error.clone()}</p>
            }
            if !props.snapshot.report.is_empty() {
                <details>
                    <summary>{"Text report (same as the CLI)"}</summary>
                    <pre class="report" data-testid="report">{props.snapshot.report.clone()}</pre>
                </details>
            }
        </section>
    }
}
