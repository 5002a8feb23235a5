//! Charts drawn as plain SVG: small (no charting crate in the bundle), crisp at any size, and
//! exportable as SVG or PNG as they are. See ARCHITECTURE.md (at the repository's root) for why
//! not plotters.

use yew::prelude::*;

use crate::snapshot::{Curve, Outcome, Point};

/// The element id of each chart, in page order: the chart exports take every one the page shows.
pub const CHART_IDS: [&str; 7] = [
    THROUGHPUT_ID,
    LATENCY_ID,
    RATE_ID,
    IN_FLIGHT_ID,
    HISTOGRAM_ID,
    STATUS_ID,
    MEMBERS_ID,
];
const THROUGHPUT_ID: &str = "chart-throughput";
const RATE_ID: &str = "chart-rate";
const IN_FLIGHT_ID: &str = "chart-inflight";
const LATENCY_ID: &str = "chart-latency";
const HISTOGRAM_ID: &str = "chart-histogram";
const STATUS_ID: &str = "chart-status";
const MEMBERS_ID: &str = "chart-members";

pub(crate) const W: f64 = 640.0;
const H: f64 = 240.0;
pub(crate) const LEFT: f64 = 56.0;
pub(crate) const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 32.0;

/// Rounds `max` up to a 1-2-5 step so axis labels read well; returns (top, step).
pub fn nice_axis(max: f64, ticks: u32) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / f64::from(ticks);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

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
    (0..=((top / step).round() as u32))
        .map(|i| {
            let v = f64::from(i) * step;
            html! {
                <g class="grid">
                    <line x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={y(v).to_string()} y2={y(v).to_string()} />
                    <text x={(LEFT - 6.0).to_string()} y={(y(v) + 4.0).to_string()} text-anchor="end">{label(v)}</text>
                </g>
            }
        })
        .collect()
}

#[derive(Clone, PartialEq)]
pub struct Line {
    pub name: &'static str,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

#[derive(Properties, PartialEq)]
pub struct LineChartProps {
    pub id: AttrValue,
    pub title: AttrValue,
    pub unit: AttrValue,
    pub lines: Vec<Line>,
    /// Vertical lines at these seconds (where stages end).
    #[prop_or_default]
    pub marks: Vec<f64>,
}

/// Lines over the run's seconds.
#[function_component]
pub fn LineChart(props: &LineChartProps) -> Html {
    let all = props.lines.iter().flat_map(|l| l.points.iter());
    let max_x = all
        .clone()
        .map(|p| p.0)
        .chain(props.marks.iter().copied())
        .fold(1.0, f64::max);
    let (top, step) = nice_axis(all.map(|p| p.1).fold(0.0, f64::max), 4);
    let x = |v: f64| LEFT + v / max_x * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let grid = grid(top, step, y);
    let lines = props.lines.iter().map(|l| {
        let pts = l
            .points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect::<Vec<_>>()
            .join(" ");
        // A single second has no line to draw: show it as a dot.
        let dots = (l.points.len() == 1).then(|| {
            let (px, py) = l.points[0];
            html! { <circle class={classes!("dot", l.class)} cx={format!("{:.1}", x(px))} cy={format!("{:.1}", y(py))} r="3" /> }
        });
        html! { <><polyline class={classes!("series", l.class)} points={pts} />{ for dots }</> }
    });
    let marks = props.marks.iter().map(|m| {
        let mx = format!("{:.1}", x(*m));
        html! {
            <line class="stage-mark" data-testid="stage-mark" x1={mx.clone()} x2={mx}
                  y1={TOP.to_string()} y2={(H - BOTTOM).to_string()} />
        }
    });
    let legend_start = W - RIGHT - props.lines.len() as f64 * 72.0;
    let legend = props.lines.iter().enumerate().map(|(i, l)| {
        let lx = legend_start + i as f64 * 72.0;
        html! {
            <g class={classes!("legend", l.class)}>
                <line x1={lx.to_string()} x2={(lx + 14.0).to_string()} y1="14" y2="14" class="series" />
                <text x={(lx + 18.0).to_string()} y="18">{l.name}</text>
            </g>
        }
    });
    let empty = props.lines.iter().all(|l| l.points.is_empty());
    html! {
        <svg id={props.id.clone()} data-testid={props.id.clone()} class="chart" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label={props.title.clone()}>
            <text class="title" x={LEFT.to_string()} y="18">{props.title.clone()}</text>
            <text class="unit" x="4" y={(TOP - 10.0).to_string()}>{props.unit.clone()}</text>
            { grid }
            <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={(H - BOTTOM).to_string()} y2={(H - BOTTOM).to_string()} />
            <text class="unit" x={(W - RIGHT).to_string()} y={(H - 8.0).to_string()} text-anchor="end">{format!("{} s", label(max_x))}</text>
            <text class="unit" x={LEFT.to_string()} y={(H - 8.0).to_string()}>{"0 s"}</text>
            if empty {
                <text class="empty" x={(W / 2.0).to_string()} y={(H / 2.0).to_string()} text-anchor="middle">{"waiting for the first second of data"}</text>
            }
            { for marks }
            { for lines }
            { for legend }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct ThroughputProps {
    pub series: Vec<Point>,
}

#[function_component]
pub fn ThroughputChart(props: &ThroughputProps) -> Html {
    let lines = vec![
        Line {
            name: "req/s",
            class: "ok",
            points: props.series.iter().map(|p| (p.t, p.count as f64)).collect(),
        },
        Line {
            name: "errors/s",
            class: "bad",
            points: props
                .series
                .iter()
                .map(|p| (p.t, p.errors as f64))
                .collect(),
        },
    ];
    html! { <LineChart id={THROUGHPUT_ID} title="Throughput" unit="req/s" {lines} /> }
}

#[derive(Properties, PartialEq)]
pub struct LoadChartProps {
    pub series: Vec<Point>,
    pub curve: Curve,
    pub stage_ends: Vec<f64>,
}

/// The requests the plan asked for each second against those sent, stage ends marked: a gap
/// is the generator (here, the tab) falling behind.
#[function_component]
pub fn RateChart(props: &LoadChartProps) -> Html {
    let lines = vec![
        Line {
            name: "asked",
            class: "asked",
            points: props
                .series
                .iter()
                .filter_map(|p| p.asked.map(|a| (p.t, a)))
                .collect(),
        },
        Line {
            name: "sent",
            class: "ok",
            points: props
                .series
                .iter()
                .map(|p| (p.t, p.started as f64))
                .collect(),
        },
    ];
    html! {
        <LineChart id={RATE_ID} title="Rate asked and achieved (requests sent per second)" unit="req/s"
                   {lines} marks={props.stage_ends.clone()} />
    }
}

/// Mean requests in flight each second; with in-flight stages, the limit they asked for too.
#[function_component]
pub fn InFlightChart(props: &LoadChartProps) -> Html {
    let mut lines = Vec::new();
    if props.curve == Curve::Concurrency {
        lines.push(Line {
            name: "limit",
            class: "asked",
            points: props
                .series
                .iter()
                .filter_map(|p| p.asked.map(|a| (p.t, a)))
                .collect(),
        });
    }
    lines.push(Line {
        name: "in flight",
        class: "p90",
        points: props.series.iter().map(|p| (p.t, p.in_flight)).collect(),
    });
    html! {
        <LineChart id={IN_FLIGHT_ID} title="Requests in flight (mean per second)" unit="requests"
                   {lines} marks={props.stage_ends.clone()} />
    }
}

#[derive(Properties, PartialEq)]
pub struct LatencyProps {
    pub series: Vec<Point>,
}

#[function_component]
pub fn LatencyChart(props: &LatencyProps) -> Html {
    let pick = |f: fn(&Point) -> Option<f64>| {
        props
            .series
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t, v)))
            .collect::<Vec<_>>()
    };
    let lines = vec![
        Line {
            name: "p50",
            class: "p50",
            points: pick(|p| p.p50),
        },
        Line {
            name: "p90",
            class: "p90",
            points: pick(|p| p.p90),
        },
        Line {
            name: "p99",
            class: "p99",
            points: pick(|p| p.p99),
        },
    ];
    html! { <LineChart id={LATENCY_ID} title="Latency percentiles per second" unit="ms" {lines} /> }
}

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
    /// The members are a journey's step requests.
    #[prop_or_default]
    pub journey: bool,
}

/// Fan-out members, or a journey's step requests, side by side: p50 and p99 bars per member.
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
    let (title, label) = if props.journey {
        (
            "Journey steps: p50 and p99 latency of each request",
            "Journey steps: p50 and p99",
        )
    } else {
        (
            "Fan-out members: p50 and p99 latency",
            "Fan-out members: p50 and p99",
        )
    };
    bar_chart(
        MEMBERS_ID,
        (props.members.len(), 34.0),
        title,
        label,
        bars.collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::nice_axis;

    #[test]
    fn axes_round_up_to_readable_steps() {
        assert_eq!(nice_axis(87.0, 4), (100.0, 50.0));
        assert_eq!(nice_axis(0.0, 4), (1.0, 0.5));
        let (top, step) = nice_axis(1234.0, 4);
        assert!(top >= 1234.0 && step == 500.0, "{top} {step}");
    }
}
