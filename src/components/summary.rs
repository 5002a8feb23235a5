//! The headline numbers (with stable `data-testid` hooks), the percentile table, the load's
//! stages and the generator's own account (asked vs achieved, start lag, the generator-bound
//! verdict and the tab's reasons), the text report the CLI prints, and the export buttons with
//! what went wrong in the last export.

use flak_core::report::format_bytes;
use yew::prelude::*;

use crate::model::export::ExportKind;
use crate::snapshot::Snapshot;

#[derive(Properties, PartialEq)]
pub struct SummaryProps {
    pub snapshot: std::rc::Rc<Snapshot>,
    pub on_export: Callback<ExportKind>,
    /// Why the last export failed.
    pub export_error: Option<String>,
    /// The page's own reasons for requests starting late (a hidden tab, long tasks).
    #[prop_or_default]
    pub tab_reasons: Vec<String>,
}

/// A number for an automation hook: plain, no unit, no thousands separator.
fn plain(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[function_component]
pub fn SummaryView(props: &SummaryProps) -> Html {
    let s = &props.snapshot.summary;
    let latency = s.latency_ms;
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), plain);
    let card = |id: &'static str, label: &'static str, value: String, unit: &'static str| {
        html! {
            <div class="card">
                <div class="label">{label}</div>
                <div class="value"><span data-testid={id}>{value}</span><span class="unit">{unit}</span></div>
            </div>
        }
    };
    let export = |kind: ExportKind| {
        let cb = props.on_export.clone();
        html! { <button type="button" class="secondary" onclick={Callback::from(move |_| cb.emit(kind))}>{kind.label()}</button> }
    };
    html! {
        <section class="summary" aria-label="Summary">
            <div class="cards">
                { card("stat-total", "Total", s.total.to_string(), "") }
                { card("stat-succeeded", "Succeeded", s.succeeded.to_string(), "") }
                { card("stat-failed", "Failed", s.failed.to_string(), "") }
                { card("stat-cancelled", "Cancelled", s.cancelled.to_string(), "") }
                { card("stat-rps", "Throughput", format!("{:.1}", s.rps), "req/s") }
                { card("stat-p50", "p50", ms(latency.map(|l| l.p50)), "ms") }
                { card("stat-p99", "p99", ms(latency.map(|l| l.p99)), "ms") }
            </div>
            <table class="percentiles">
                <caption>{format!("Latency over {} responses in {:.2} s · {} received", s.succeeded + s.failed - s.errors.values().sum::<u64>(), s.elapsed_s, format_bytes(s.bytes))}</caption>
                <thead><tr>
                    <th scope="col">{"min"}</th>
                    { for s.percentiles.iter().map(|p| html! { <th scope="col">{format!("p{}", plain(p.p))}</th> }) }
                    <th scope="col">{"max"}</th><th scope="col">{"mean"}</th>
                </tr></thead>
                <tbody><tr>
                    <td>{ms(latency.map(|l| l.min))}</td>
                    { for s.percentiles.iter().map(|p| html! { <td>{plain(p.ms)}</td> }) }
                    <td>{ms(latency.map(|l| l.max))}</td><td>{ms(latency.map(|l| l.mean))}</td>
                </tr></tbody>
            </table>
            if let Some(u) = s.latency_uncorrected_ms {
                <p class="note">{format!(
                    "Latency counts from each request's intended start (rate set), so stalls are not hidden. \
                     From the actual send instead: p50 {} ms, p99 {} ms.", plain(u.p50), plain(u.p99))}</p>
            }
            if let Some(line) = &props.snapshot.stages_line {
                <p class="note" data-testid="stages-line">{format!("Load: {line}")}</p>
            }
            if let Some(g) = &s.generator {
                <div class="generator" data-testid="generator">
                    { for g.lines().into_iter().enumerate().map(|(i, line)| {
                        if i == 0 {
                            html! { <p class="note" data-testid="generator-line">{format!("Generator: {line}")}</p> }
                        } else {
                            // The core's advice names the CLI's flag; the form calls it so.
                            html! { <p class="error" data-testid="generator-bound">{line.replace("raise -c", "raise the in-flight limit")}</p> }
                        }
                    }) }
                    { for props.tab_reasons.iter().map(|why| html! {
                        <p class="error" data-testid="generator-tab">{why.clone()}</p>
                    }) }
                </div>
            }
            if props.snapshot.rows_ran_out {
                <p class="note" data-testid="rows-ran-out">{"The data file's rows ran out (unique order: each row once), which ended the run."}</p>
            }
            if props.snapshot.journey {
                <table class="members steps" data-testid="steps">
                    <caption>{"Journey steps, one row per request: the numbers above are per iteration, whose latency runs from its first send to its last response, think time left out"}</caption>
                    <thead><tr>
                        <th scope="col">{"step"}</th><th scope="col">{"issued"}</th><th scope="col">{"ok"}</th>
                        <th scope="col">{"failed"}</th><th scope="col">{"skipped"}</th><th scope="col">{"p50 ms"}</th>
                        <th scope="col">{"p99 ms"}</th><th scope="col">{"failed checks"}</th><th scope="col">{"extraction failures"}</th>
                        <th scope="col">{"first failure"}</th>
                    </tr></thead>
                    <tbody>
                        { for props.snapshot.members.iter().map(|m| html! {
                            <tr data-testid="step">
                                <th scope="row" data-testid="step-name">{m.name.clone()}</th>
                                <td data-testid="step-issued">{m.total}</td>
                                <td data-testid="step-ok">{m.succeeded}</td>
                                <td data-testid="step-failed" title={m.outcomes.clone()}>{m.failed}</td>
                                <td data-testid="step-skipped">{m.skipped}</td>
                                <td>{ms(m.p50)}</td>
                                <td>{ms(m.p99)}</td>
                                <td data-testid="step-checks">{m.checks_failed}</td>
                                <td data-testid="step-extracts">{m.extracts_failed}</td>
                                <td data-testid="step-first-failure">{m.first_failure.clone().unwrap_or_default()}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            } else if !props.snapshot.members.is_empty() {
                <table class="members" data-testid="members">
                    <caption>{"Fan-out members: the group numbers above are per iteration, whose latency is its slowest member's"}</caption>
                    <thead><tr>
                        <th scope="col">{"member"}</th><th scope="col">{"total"}</th><th scope="col">{"succeeded"}</th>
                        <th scope="col">{"failed"}</th><th scope="col">{"p50 ms"}</th><th scope="col">{"p99 ms"}</th><th scope="col">{"outcomes"}</th>
                    </tr></thead>
                    <tbody>
                        { for props.snapshot.members.iter().map(|m| html! {
                            <tr data-testid="member">
                                <th scope="row">{m.name.clone()}</th>
                                <td data-testid="member-total">{m.total}</td>
                                <td>{m.succeeded}</td>
                                <td data-testid="member-failed">{m.failed}</td>
                                <td data-testid="member-p50">{ms(m.p50)}</td>
                                <td>{ms(m.p99)}</td>
                                <td>{m.outcomes.clone()}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
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
