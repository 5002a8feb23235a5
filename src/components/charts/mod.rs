//! Charts drawn as plain SVG: small (no charting crate in the bundle), crisp at any size,
//! themed by CSS custom properties (www/style.css) and exportable as SVG or PNG as they are.
//! One file per family: `lines` (over time, with a read-out), `bars`, `percentiles` (the nines
//! plot), `heatmap`; `axis` puts ticks at round values. See ARCHITECTURE.md (at the
//! repository's root) for why not plotters.

use yew::prelude::*;

use crate::components::markup::{esc, raw};

use crate::snapshot::{Curve, Point, Snapshot};

pub mod axis;
mod bars;
mod heatmap;
mod lines;
mod percentiles;

pub use axis::nice_axis;
pub use lines::{Line, LineChart};
pub use percentiles::percentile_chart;

/// The element id of each chart, in page order: the chart exports take every one the page shows.
pub const CHART_IDS: [&str; 11] = [
    THROUGHPUT_ID,
    LATENCY_ID,
    PERCENTILES_ID,
    HEATMAP_ID,
    OUTCOMES_OVER_TIME_ID,
    RATE_ID,
    IN_FLIGHT_ID,
    HISTOGRAM_ID,
    STATUS_ID,
    MEMBERS_ID,
    COMPARE_ID,
];
const THROUGHPUT_ID: &str = "chart-throughput";
const RATE_ID: &str = "chart-rate";
const IN_FLIGHT_ID: &str = "chart-inflight";
const LATENCY_ID: &str = "chart-latency";
const PERCENTILES_ID: &str = "chart-percentiles";
const HEATMAP_ID: &str = "chart-heatmap";
const OUTCOMES_OVER_TIME_ID: &str = "chart-outcomes-time";
const HISTOGRAM_ID: &str = "chart-histogram";
const STATUS_ID: &str = "chart-status";
const MEMBERS_ID: &str = "chart-members";
/// The two runs of the compare view, overlaid on the nines axis.
pub const COMPARE_ID: &str = "chart-compare";

pub(crate) const W: f64 = 640.0;
const H: f64 = 240.0;
pub(crate) const LEFT: f64 = 56.0;
pub(crate) const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 32.0;

pub(crate) fn label(v: f64) -> String {
    if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Horizontal grid lines with their labels, every `step` from 0 to `top`; `y` maps a value to
/// its height.
pub(crate) fn grid(top: f64, step: f64, y: impl Fn(f64) -> f64) -> Html {
    raw(grid_text(top, step, y))
}

/// [`grid`] as SVG markup.
fn grid_text(top: f64, step: f64, y: impl Fn(f64) -> f64) -> String {
    let mut out = String::new();
    axis::grid_svg(&mut out, 0.0, top, step, y);
    out
}

/// A whole chart as markup: the `<svg>` with `id` (also its test id and export name), its
/// accessible name, `height` and `body`.
pub(crate) fn svg(id: &str, aria: &str, height: f64, body: &str) -> Html {
    raw(format!(
        r#"<svg id="{id}" data-testid="{id}" class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{}">{body}</svg>"#,
        esc(aria)
    ))
}

/// Every chart of a run, in page order. A plain function, not a component: it holds no hooks,
/// and Yew's per-component code costs the bundle more than redrawing the markup with the page.
pub fn charts(s: &Snapshot) -> Html {
    let series = &s.series;
    let pick = |f: fn(&Point) -> Option<f64>| {
        series
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t, v)))
            .collect::<Vec<_>>()
    };
    let line = |name, class, f: fn(&Point) -> Option<f64>| Line {
        name,
        class,
        points: pick(f),
    };
    let throughput = vec![
        line("req/s", "ok", |p| Some(p.count as f64)),
        line("errors/s", "bad", |p| Some(p.errors as f64)),
    ];
    let latency = vec![
        line("p50", "p50", |p| p.p50),
        line("p90", "p90", |p| p.p90),
        line("p99", "p99", |p| p.p99),
    ];
    // The requests the plan asked for each second against those sent, stage ends marked: a
    // gap is the generator (here, the tab) falling behind.
    let asked = |name| line(name, "asked", |p| p.asked);
    let rate = vec![
        asked("asked"),
        line("sent", "ok", |p| Some(p.started as f64)),
    ];
    // Mean requests in flight each second; with in-flight stages, the limit asked too.
    let mut in_flight = vec![line("in flight", "p90", |p| Some(p.in_flight))];
    if s.curve == Curve::Concurrency {
        in_flight.insert(0, asked("limit"));
    }
    let outcomes: Vec<Line> = s
        .outcome_lines
        .iter()
        .flatten()
        .map(|l| Line {
            name: l.name,
            class: l.class,
            points: l.points.clone(),
        })
        .collect();
    let unrecorded = if s.outcome_lines.is_none() {
        "not recorded in this file (written by an older flak)"
    } else {
        "waiting for the first second of data"
    };
    html! {
        <div class="charts">
            <LineChart id={THROUGHPUT_ID} title="Throughput" unit="req/s" lines={throughput} />
            <LineChart id={LATENCY_ID} title="Latency percentiles per second" unit="ms" lines={latency} />
            { percentile_chart(PERCENTILES_ID, "Latency by percentile", std::slice::from_ref(&s.percentiles)) }
            { heatmap::heatmap_chart(&s.heatmap) }
            <LineChart id={OUTCOMES_OVER_TIME_ID} title="Status classes and errors per second" unit="/s"
                       lines={outcomes} empty={unrecorded} />
            if s.curve == Curve::Rate {
                <LineChart id={RATE_ID} title="Rate asked and achieved (requests sent per second)" unit="req/s"
                           lines={rate} marks={s.stage_ends.clone()} />
            }
            if s.curve != Curve::None {
                <LineChart id={IN_FLIGHT_ID} title="Requests in flight (mean per second)" unit="requests"
                           lines={in_flight} marks={s.stage_ends.clone()} />
            }
            { bars::histogram_chart(&s.bars) }
            { bars::outcomes_chart(&s.outcomes) }
            if !s.members.is_empty() {
                { bars::members_chart(&s.members, s.journey) }
            }
        </div>
    }
}
