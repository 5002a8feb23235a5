//! Charts drawn as plain SVG: small (no charting crate in the bundle), crisp at any size,
//! themed by CSS custom properties (www/style.css) and exportable as SVG or PNG as they are.
//! One file per family: `lines` (over time, with a read-out), `bars`, `percentiles` (the nines
//! plot), `heatmap`; `axis` puts ticks at round values. See ARCHITECTURE.md (at the
//! repository's root) for why not plotters.

use std::rc::Rc;

use yew::prelude::*;

use crate::snapshot::{Curve, Snapshot};

pub mod axis;
mod bars;
mod heatmap;
mod lines;
mod percentiles;

pub use axis::nice_axis;
pub use bars::{HistogramChart, MembersChart, OutcomesChart};
pub use heatmap::HeatmapChart;
pub use lines::{
    InFlightChart, LatencyChart, Line, LineChart, OutcomesOverTimeChart, RateChart, ThroughputChart,
};
pub use percentiles::PercentileChart;

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
    let mut out = String::new();
    axis::grid_svg(&mut out, 0.0, top, step, y);
    raw(out)
}

/// SVG markup built as text, shown as it is: many times smaller in the bundle than the same
/// elements written with `html!` (each element and attribute there is code of its own). Text
/// that comes from outside (file names) goes through [`esc`].
pub(crate) fn raw(svg: String) -> Html {
    Html::from_html_unchecked(svg.into())
}

/// `text` escaped for SVG markup.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    pub snapshot: Rc<Snapshot>,
}

/// Every chart of a run, in page order.
#[function_component]
pub fn Charts(props: &ChartsProps) -> Html {
    let s = &*props.snapshot;
    html! {
        <div class="charts">
            <ThroughputChart series={s.series.clone()} />
            <LatencyChart series={s.series.clone()} />
            <PercentileChart id={PERCENTILES_ID} title="Latency by percentile" runs={vec![s.percentiles.clone()]} />
            <HeatmapChart heatmap={s.heatmap.clone()} />
            <OutcomesOverTimeChart lines={s.outcome_lines.clone()} />
            if s.curve == Curve::Rate {
                <RateChart series={s.series.clone()} curve={s.curve} stage_ends={s.stage_ends.clone()} />
            }
            if s.curve != Curve::None {
                <InFlightChart series={s.series.clone()} curve={s.curve} stage_ends={s.stage_ends.clone()} />
            }
            <HistogramChart bars={s.bars.clone()} />
            <OutcomesChart outcomes={s.outcomes.clone()} />
            if !s.members.is_empty() {
                <MembersChart members={s.members.clone()} />
            }
        </div>
    }
}
