//! Bar charts: the latency histogram, status codes and errors, fan-out members.

use yew::prelude::*;

use super::{
    BOTTOM, H, HISTOGRAM_ID, LEFT, MEMBERS_ID, RIGHT, STATUS_ID, TOP, W, grid, label, nice_axis,
};
use crate::snapshot::Outcome;

#[derive(Properties, PartialEq)]
pub struct HistogramProps {
    /// Upper bound (ms) and count of each bar.
    pub bars: Vec<(f64, u64)>,
}

#[function_component]
pub fn HistogramChart(props: &HistogramProps) -> Html {
    let n = props.bars.len().max(1) as f64;
    let (top, step) = nice_axis(props.bars.iter().map(|b| b.1 as f64).fold(0.0, f64::max), 4);
    let width = (W - LEFT - RIGHT) / n;
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let grid = grid(top, step, y);
    let bars = props.bars.iter().enumerate().map(|(i, (upper, count))| {
        let bx = LEFT + i as f64 * width;
        html! {
            <rect class="bar" x={format!("{:.1}", bx + 1.0)} y={format!("{:.1}", y(*count as f64))}
                  width={format!("{:.1}", (width - 2.0).max(1.0))} height={format!("{:.1}", H - BOTTOM - y(*count as f64))}>
                <title>{format!("≤ {} ms: {count}", label(*upper))}</title>
            </rect>
        }
    });
    let first = props.bars.first().map(|b| b.0).unwrap_or(0.0);
    let last = props.bars.last().map(|b| b.0).unwrap_or(0.0);
    html! {
        <svg id={HISTOGRAM_ID} data-testid={HISTOGRAM_ID} class="chart" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label="Latency histogram">
            <text class="title" x={LEFT.to_string()} y="18">{"Latency histogram"}</text>
            <text class="unit" x="4" y={(TOP - 10.0).to_string()}>{"count"}</text>
            { grid }
            { for bars }
            <text class="unit" x={LEFT.to_string()} y={(H - 8.0).to_string()}>{format!("≤ {} ms", label(first))}</text>
            <text class="unit" x={(W - RIGHT).to_string()} y={(H - 8.0).to_string()} text-anchor="end">{format!("≤ {} ms", label(last))}</text>
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct OutcomesProps {
    pub outcomes: Vec<Outcome>,
}

/// Status codes and error kinds as horizontal bars.
#[function_component]
pub fn OutcomesChart(props: &OutcomesProps) -> Html {
    let max = props
        .outcomes
        .iter()
        .map(|o| o.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let span = W - 180.0 - 90.0;
    let bars = props.outcomes.iter().enumerate().map(|(i, o)| {
        let by = TOP + i as f64 * 26.0;
        let len = (o.count as f64 / max * span).max(1.0);
        let class = if o.failed { "bar bad" } else { "bar" };
        html! {
            <g>
                <text x="170" y={(by + 15.0).to_string()} text-anchor="end">{o.label.clone()}</text>
                <rect class={class} x="180" y={by.to_string()} width={format!("{len:.1}")} height="20">
                    if let Some(m) = &o.message { <title>{m.clone()}</title> }
                </rect>
                <text x={format!("{:.1}", 186.0 + len)} y={(by + 15.0).to_string()}>{o.count.to_string()}</text>
            </g>
        }
    });
    bar_chart(
        STATUS_ID,
        (props.outcomes.len(), 26.0),
        "Status codes and errors",
        "Status codes and errors",
        bars.collect(),
    )
}

/// A horizontal bar chart's frame: the SVG with its id, title and accessible name, high enough
/// for `rows` bars of `row_height` (at least one).
fn bar_chart(
    id: &'static str,
    (rows, row_height): (usize, f64),
    aria: &'static str,
    title: &'static str,
    bars: Html,
) -> Html {
    let height = TOP + rows.max(1) as f64 * row_height + 8.0;
    html! {
        <svg id={id} data-testid={id} class="chart" viewBox={format!("0 0 {W} {height}")}
             role="img" aria-label={aria}>
            <text class="title" x="10" y="18">{title}</text>
            { bars }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct MembersProps {
    pub members: Vec<crate::snapshot::MemberView>,
}

/// Fan-out members side by side: p50 and p99 bars per member.
#[function_component]
pub fn MembersChart(props: &MembersProps) -> Html {
    let max = props
        .members
        .iter()
        .filter_map(|m| m.p99)
        .fold(0.0, f64::max);
    let (top, _) = nice_axis(max, 4);
    let span = W - 180.0 - 90.0;
    let bars = props.members.iter().enumerate().map(|(i, m)| {
        let by = TOP + i as f64 * 34.0;
        let len = |v: Option<f64>| (v.unwrap_or(0.0) / top * span).max(1.0);
        let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{} ms", label(v)));
        html! {
            <g>
                <text x="170" y={(by + 18.0).to_string()} text-anchor="end">{m.name.clone()}</text>
                <rect class="bar p50" x="180" y={by.to_string()} width={format!("{:.1}", len(m.p50))} height="13" />
                <rect class="bar p99" x="180" y={(by + 14.0).to_string()} width={format!("{:.1}", len(m.p99))} height="13" />
                <text x={format!("{:.1}", 186.0 + len(m.p99))} y={(by + 18.0).to_string()}>{format!("p50 {} · p99 {}", ms(m.p50), ms(m.p99))}</text>
            </g>
        }
    });
    bar_chart(
        MEMBERS_ID,
        (props.members.len(), 34.0),
        "Fan-out members: p50 and p99 latency",
        "Fan-out members: p50 and p99",
        bars.collect(),
    )
}
