//! An opened capacity report: its conclusion, a chart of p99 and errors against the asked rate
//! with the SLOs' limits as lines and each step marked by its verdict, and the steps as a table.

use std::rc::Rc;

use flak_core::capacity::{Verdict, format_rate};
use yew::prelude::*;

use crate::components::charts::{LEFT, RIGHT, W, grid, label, nice_axis};
use crate::model::capacity::{CapacityPoint, CapacityView, SloLine};

pub const CAPACITY_ID: &str = "chart-capacity";

const H: f64 = 430.0;
/// The two panels share the x axis: (top, bottom) of each.
const LATENCY_PANEL: (f64, f64) = (44.0, 200.0);
const ERROR_PANEL: (f64, f64) = (250.0, 390.0);

#[derive(PartialEq)]
pub struct CapacityProps {
    pub view: Rc<CapacityView>,
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

/// A step's marker: a filled dot where every SLO held, a cross where one broke, a hollow
/// diamond where the generator, not the server, was the bound.
fn marker(p: &CapacityPoint, cx: f64, cy: f64, testid: &'static str) -> Html {
    let class = classes!("step", p.verdict.name());
    let tip = format!(
        "step {}: {} req/s asked, p99 {} ms, errors {:.2}% — {}{}",
        p.step,
        format_rate(p.asked),
        fmt_ms(p.p99_ms),
        p.error_percent,
        p.verdict.name(),
        if p.why.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.why.join("; "))
        }
    );
    let shape = match p.verdict {
        Verdict::Met => html! { <circle cx={format!("{cx:.1}")} cy={format!("{cy:.1}")} r="4" /> },
        Verdict::Broke => html! {
            <path d={format!("M{:.1},{:.1}l8,8m0,-8l-8,8", cx - 4.0, cy - 4.0)} />
        },
        Verdict::GeneratorBound => html! {
            <path d={format!("M{cx:.1},{:.1}l5,5l-5,5l-5,-5z", cy - 5.0)} />
        },
    };
    html! {
        <g {class} data-testid={testid} data-verdict={p.verdict.name()} data-rate={p.asked.to_string()}>
            <title>{tip}</title>
            { shape }
        </g>
    }
}

fn slo_lines(lines: &[SloLine], y: impl Fn(f64) -> f64) -> Html {
    lines
        .iter()
        .map(|l| {
            let ly = format!("{:.1}", y(l.value));
            html! {
                <g class="slo" data-testid="slo-line" data-slo={l.label.clone()} data-value={l.value.to_string()}>
                    <line x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={ly.clone()} y2={ly.clone()} />
                    <text x={(W - RIGHT - 4.0).to_string()} y={format!("{:.1}", y(l.value) - 4.0)} text-anchor="end">{l.label.clone()}</text>
                </g>
            }
        })
        .collect()
}

/// p99 (top) and errors (bottom) against the asked rate.
pub fn capacity_chart(props: &CapacityProps) -> Html {
    let v = &props.view;
    let (x_top, x_step) = nice_axis(v.max_rate(), 5);
    let x = |r: f64| LEFT + r / x_top * (W - LEFT - RIGHT);
    let panel = |(top, bottom): (f64, f64), max: f64| {
        let (axis_top, step) = nice_axis(max, 4);
        (axis_top, step, move |val: f64| {
            bottom - val.min(axis_top) / axis_top * (bottom - top)
        })
    };
    let (l_top, l_step, ly) = panel(LATENCY_PANEL, v.max_latency_ms());
    let (e_top, e_step, ey) = panel(ERROR_PANEL, v.max_error_percent());
    let by_rate = v.by_rate();
    let polyline = |f: &dyn Fn(&CapacityPoint) -> Option<(f64, f64)>| {
        by_rate
            .iter()
            .filter_map(|p| f(p))
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let p99_line = polyline(&|p| p.p99_ms.map(|ms| (x(p.asked), ly(ms))));
    let err_line = polyline(&|p| Some((x(p.asked), ey(p.error_percent))));
    // A step with no responses has no p99: its marker sits on the panel's top edge.
    let p99_points = v.points.iter().map(|p| {
        let cy = p.p99_ms.map_or(LATENCY_PANEL.0, &ly);
        marker(p, x(p.asked), cy, "capacity-point")
    });
    let err_points = v
        .points
        .iter()
        .map(|p| marker(p, x(p.asked), ey(p.error_percent), "capacity-error-point"));
    let x_ticks = (0..=((x_top / x_step).round() as u32)).map(|i| {
        let r = f64::from(i) * x_step;
        html! {
            <text class="unit" x={format!("{:.1}", x(r))} y={(ERROR_PANEL.1 + 16.0).to_string()} text-anchor="middle">{label(r)}</text>
        }
    });
    let legend = [Verdict::Met, Verdict::Broke, Verdict::GeneratorBound]
        .into_iter()
        .enumerate()
        .map(|(i, verdict)| {
            let lx = W - RIGHT - 300.0 + i as f64 * 90.0;
            let sample = CapacityPoint {
                step: 0,
                asked: 0.0,
                achieved: 0.0,
                p50_ms: None,
                p99_ms: None,
                error_percent: 0.0,
                verdict,
                why: Vec::new(),
            };
            html! {
                <g class="legend">
                    { marker(&sample, lx, 14.0, "capacity-legend") }
                    <text x={(lx + 9.0).to_string()} y="18">{verdict.name()}</text>
                </g>
            }
        });
    let axis = |y: f64| {
        html! { <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={y.to_string()} y2={y.to_string()} /> }
    };
    html! {
        <svg id={CAPACITY_ID} data-testid={CAPACITY_ID} class="chart capacity" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label="Capacity search: p99 and errors against the asked rate">
            <text class="title" x={LEFT.to_string()} y="18">{"Capacity search"}</text>
            { for legend }
            <text class="unit" x="4" y={(LATENCY_PANEL.0 - 10.0).to_string()}>{"p99 (ms)"}</text>
            { grid(l_top, l_step, ly) }
            { axis(LATENCY_PANEL.1) }
            { slo_lines(&v.latency_slos, ly) }
            <polyline class="series p99" points={p99_line} />
            { for p99_points }
            <text class="unit" x="4" y={(ERROR_PANEL.0 - 10.0).to_string()}>{"errors (%)"}</text>
            { grid(e_top, e_step, ey) }
            { axis(ERROR_PANEL.1) }
            { slo_lines(&v.error_slos, ey) }
            <polyline class="series bad" points={err_line} />
            { for err_points }
            { for x_ticks }
            <text class="unit" x={(W - RIGHT).to_string()} y={(H - 6.0).to_string()} text-anchor="end">{"asked rate (req/s)"}</text>
        </svg>
    }
}

/// The report: conclusion, chart, and every step in the order the search ran them.
/// A plain function, not a component: Yew's per-component code costs more than rebuilding it.
pub fn capacity_report(props: &CapacityProps) -> Html {
    let v = &props.view;
    let rows = v.points.iter().map(|p| {
        html! {
            <tr data-testid="capacity-step" class={p.verdict.name()}>
                <td>{p.step}</td>
                <td>{format_rate(p.asked)}</td>
                <td>{format!("{:.1}", p.achieved)}</td>
                <td>{fmt_ms(p.p50_ms)}</td>
                <td>{fmt_ms(p.p99_ms)}</td>
                <td>{format!("{:.2}", p.error_percent)}</td>
                <th scope="row">{p.verdict.name()}</th>
                <td class="why">{p.why.join("; ")}</td>
            </tr>
        }
    });
    html! {
        <section class="capacity" aria-label="Capacity report">
            <h2>{"Capacity search"}</h2>
            <p class="conclusion" data-testid="capacity-conclusion">{v.conclusion.clone()}</p>
            <p class="slos">{"SLOs: "}{v.latency_slos.iter().chain(&v.error_slos).map(|l| l.label.as_str()).chain(v.other_slos.iter().map(String::as_str)).collect::<Vec<_>>().join(", ")}
                if !v.other_slos.is_empty() {
                    {format!(" (not charted: {})", v.other_slos.join(", "))}
                }
            </p>
            <div class="charts">
                { capacity_chart(props) }
            </div>
            <table class="capacity-steps" data-testid="capacity-steps">
                <caption>{"Steps, in the order the search ran them"}</caption>
                <thead>
                    <tr>
                        <th>{"step"}</th><th>{"asked req/s"}</th><th>{"achieved req/s"}</th>
                        <th>{"p50 ms"}</th><th>{"p99 ms"}</th><th>{"errors %"}</th>
                        <th>{"verdict"}</th><th>{"why"}</th>
                    </tr>
                </thead>
                <tbody>{ for rows }</tbody>
            </table>
        </section>
    }
}
