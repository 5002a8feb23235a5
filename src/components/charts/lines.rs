//! Charts over the run's seconds: throughput, latency percentiles, the rate asked and sent, in
//! flight, and outcomes (status classes, error kinds). A read-out line gives the exact values
//! of the second under the pointer, or the one picked with ← → when the chart has focus.

use wasm_bindgen::JsCast as _;
use yew::prelude::*;

use super::axis::{exact, nice_axis, time_axis, time_label, x_ticks};
use super::{
    BOTTOM, H, IN_FLIGHT_ID, LATENCY_ID, LEFT, OUTCOMES_OVER_TIME_ID, RATE_ID, RIGHT,
    THROUGHPUT_ID, TOP, W, grid,
};
use crate::snapshot::{Curve, OutcomeLine, Point};

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
    /// Shown instead of the lines when there are none to draw.
    #[prop_or(AttrValue::Static("waiting for the first second of data"))]
    pub empty: AttrValue,
}

/// The seconds any line has a point at, in order.
fn seconds(lines: &[Line]) -> Vec<f64> {
    let mut ts: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    ts
}

/// The read-out of second `t`: each line's value there.
fn readout(lines: &[Line], t: f64, unit: &str) -> String {
    let values = lines.iter().filter_map(|l| {
        let (_, v) = l.points.iter().find(|p| p.0 == t)?;
        Some(format!("{} {}", l.name, exact(*v)))
    });
    format!("{t} s: {} {unit}", values.collect::<Vec<_>>().join(" · "))
}

/// Lines over the run's seconds.
#[function_component]
pub fn LineChart(props: &LineChartProps) -> Html {
    let cursor = use_state(|| None::<usize>);
    let ts = seconds(&props.lines);
    let max_x = ts
        .last()
        .copied()
        .into_iter()
        .chain(props.marks.iter().copied())
        .fold(1.0, f64::max);
    let (right, x_step) = time_axis(max_x, 6);
    let all = props.lines.iter().flat_map(|l| l.points.iter());
    let (top, step) = nice_axis(all.map(|p| p.1).fold(0.0, f64::max), 4);
    let x = move |v: f64| LEFT + v / right * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let grid = grid(top, step, y);
    let ticks = (0..=((right / x_step).round() as u32)).map(|i| {
        let t = f64::from(i) * x_step;
        (x(t), time_label(t, x_step))
    });
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
        html! { <><polyline class={classes!("series", l.class)} data-name={l.name} points={pts} />{ for dots }</> }
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
    // The second nearest the pointer, as a fraction of the drawn width.
    let onmousemove = {
        let (cursor, ts) = (cursor.clone(), ts.clone());
        Callback::from(move |e: MouseEvent| {
            let Some(el) = e
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            let at = f64::from(e.offset_x()) / f64::from(el.client_width().max(1)) * W;
            let nearest = ts
                .iter()
                .enumerate()
                .min_by(|a, b| (x(*a.1) - at).abs().total_cmp(&(x(*b.1) - at).abs()));
            cursor.set(nearest.map(|(i, _)| i));
        })
    };
    let onmouseleave = {
        let cursor = cursor.clone();
        Callback::from(move |_: MouseEvent| cursor.set(None))
    };
    let onkeydown = {
        let (cursor, n) = (cursor.clone(), ts.len());
        Callback::from(move |e: KeyboardEvent| {
            let last = n.saturating_sub(1);
            let at = match (e.key().as_str(), *cursor) {
                ("ArrowRight", Some(i)) => (i + 1).min(last),
                ("ArrowLeft", Some(i)) => i.saturating_sub(1),
                ("ArrowRight" | "Home", None) | ("Home", _) => 0,
                ("ArrowLeft" | "End", None) | ("End", _) => last,
                _ => return,
            };
            e.prevent_default();
            if n > 0 {
                cursor.set(Some(at));
            }
        })
    };
    let picked = (*cursor).and_then(|i| ts.get(i).copied());
    let empty = props.lines.iter().all(|l| l.points.is_empty());
    html! {
        <svg id={props.id.clone()} data-testid={props.id.clone()} class="chart" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label={props.title.clone()} tabindex="0" {onmousemove} {onmouseleave} {onkeydown}>
            <text class="title" x={LEFT.to_string()} y="18">{props.title.clone()}</text>
            <text class="unit" x="4" y={(TOP - 10.0).to_string()}>{props.unit.clone()}</text>
            { grid }
            <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={(H - BOTTOM).to_string()} y2={(H - BOTTOM).to_string()} />
            { x_ticks(ticks) }
            if empty {
                <text class="empty" x={(W / 2.0).to_string()} y={(H / 2.0).to_string()} text-anchor="middle">{props.empty.clone()}</text>
            }
            { for marks }
            { for lines }
            if let Some(t) = picked {
                <line class="cursor" x1={format!("{:.1}", x(t))} x2={format!("{:.1}", x(t))} y1={TOP.to_string()} y2={(H - BOTTOM).to_string()} />
                <text class="readout" data-testid="readout" x={(LEFT + 4.0).to_string()} y={(TOP + 8.0).to_string()}>{readout(&props.lines, t, &props.unit)}</text>
            } else {
                { for legend }
            }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct OutcomesOverTimeProps {
    /// `None`: the results do not say (an older file).
    pub lines: Option<Vec<OutcomeLine>>,
}

/// Responses per second by status class, and errors per second by kind.
#[function_component]
pub fn OutcomesOverTimeChart(props: &OutcomesOverTimeProps) -> Html {
    let lines = props
        .lines
        .iter()
        .flatten()
        .map(|l| Line {
            name: l.name,
            class: l.class,
            points: l.points.clone(),
        })
        .collect::<Vec<_>>();
    let empty = if props.lines.is_none() {
        "not recorded in this file (written by an older flak)"
    } else {
        "waiting for the first second of data"
    };
    html! {
        <LineChart id={OUTCOMES_OVER_TIME_ID} title="Status classes and errors per second" unit="/s"
                   {lines} empty={empty} />
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
