//! Latency by percentile on a log "nines" axis (HdrHistogram's classic plot): 0, 90, 99,
//! 99.9 % one step apart, so the tail gets as much room as the body; several runs overlaid.

use yew::prelude::*;

use super::axis::{exact, nice_axis, nines, nines_label, x_ticks};
use super::{BOTTOM, H, LEFT, RIGHT, TOP, W, grid};
use crate::snapshot::PercentileRun;

#[derive(Properties, PartialEq)]
pub struct PercentileProps {
    pub id: AttrValue,
    pub title: AttrValue,
    pub runs: Vec<PercentileRun>,
}

#[function_component]
pub fn PercentileChart(props: &PercentileProps) -> Html {
    // Whole nines, at least to 99 %, as far as the biggest run reaches.
    let cap = props
        .runs
        .iter()
        .map(|r| r.nines.ceil())
        .fold(2.0, f64::max);
    let max_ms = props
        .runs
        .iter()
        .flat_map(|r| r.curve.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (top, step) = nice_axis(max_ms, 4);
    let x = |n: f64| LEFT + n / cap * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let ticks = (0..=cap as u32).map(|n| (x(f64::from(n)), nines_label(n)));
    let runs = props.runs.iter().map(|r| {
        let pts = r
            .curve
            .iter()
            .map(|(n, ms)| format!("{:.1},{:.1}", x(*n), y(*ms)))
            .collect::<Vec<_>>()
            .join(" ");
        let marks = r.marks.iter().map(|m| {
            let said = format!("{}: p{} = {} ms", r.name, m.p, exact(m.ms));
            html! {
                <circle class={classes!("dot", r.class)} tabindex="0" data-p={m.p.to_string()} data-ms={m.ms.to_string()}
                        cx={format!("{:.1}", x(nines(m.p, cap)))} cy={format!("{:.1}", y(m.ms))} r="3.5" aria-label={said.clone()}>
                    <title>{said}</title>
                </circle>
            }
        });
        html! {
            <g class={classes!("run", r.class)} data-run={r.name.clone()}>
                <polyline class={classes!("series", r.class)} points={pts} />
                { for marks }
            </g>
        }
    });
    let legend = props.runs.iter().enumerate().map(|(i, r)| {
        let lx = W - RIGHT - (props.runs.len() - i) as f64 * 120.0;
        html! {
            <g class={classes!("legend", r.class)}>
                <line x1={lx.to_string()} x2={(lx + 14.0).to_string()} y1="14" y2="14" class="series" />
                <text x={(lx + 18.0).to_string()} y="18">{r.name.clone()}</text>
            </g>
        }
    });
    let empty = props.runs.iter().all(|r| r.curve.is_empty());
    html! {
        <svg id={props.id.clone()} data-testid={props.id.clone()} class="chart" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label={props.title.clone()}>
            <text class="title" x={LEFT.to_string()} y="18">{props.title.clone()}</text>
            <text class="unit" x="4" y={(TOP - 10.0).to_string()}>{"ms"}</text>
            { grid(top, step, y) }
            <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={(H - BOTTOM).to_string()} y2={(H - BOTTOM).to_string()} />
            { x_ticks(ticks) }
            if empty {
                <text class="empty" x={(W / 2.0).to_string()} y={(H / 2.0).to_string()} text-anchor="middle">{"no responses yet"}</text>
            }
            { for runs }
            if props.runs.len() > 1 {
                { for legend }
            }
        </svg>
    }
}
