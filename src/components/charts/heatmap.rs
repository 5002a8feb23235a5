//! The latency heatmap: a column per second (or per round number of seconds in long runs), a
//! row per latency band, each cell shaded by how many responses it holds.

use yew::prelude::*;

use super::axis::{exact, time_axis, time_label, x_ticks};
use super::{BOTTOM, H, HEATMAP_ID, LEFT, RIGHT, TOP, W, axis};
use crate::snapshot::Heatmap;

#[derive(Properties, PartialEq)]
pub struct HeatmapProps {
    pub heatmap: Heatmap,
}

#[function_component]
pub fn HeatmapChart(props: &HeatmapProps) -> Html {
    let m = &props.heatmap;
    let rows = m.rows.max(1) as f64;
    let seconds = m.cols as f64 * m.col_s;
    let (right, x_step) = time_axis(seconds, 6);
    let x = |t: f64| LEFT + t / right * (W - LEFT - RIGHT);
    let band = (H - TOP - BOTTOM) / rows;
    let y = |ms: f64| H - BOTTOM - (ms - m.from_ms) / m.step_ms * band;
    let most = m.cells.iter().map(|c| c.2).max().unwrap_or(1) as f64;
    let cells = m.cells.iter().map(|&(col, row, n)| {
        let t = col as f64 * m.col_s;
        let lo = m.from_ms + row as f64 * m.step_ms;
        // Shaded by log count, so a lone slow response still shows beside thousands.
        let shade = 0.12 + 0.88 * (n as f64).ln_1p() / most.ln_1p();
        let said = format!(
            "{}–{} s, {}–{} ms: {n} responses",
            t,
            t + m.col_s,
            exact(lo),
            exact(lo + m.step_ms)
        );
        html! {
            <rect class="cell" data-count={n.to_string()} x={format!("{:.1}", x(t))} y={format!("{:.1}", y(lo + m.step_ms))}
                  width={format!("{:.2}", (x(t + m.col_s) - x(t)).max(0.5))} height={format!("{band:.2}")}
                  fill-opacity={format!("{shade:.2}")}>
                <title>{said}</title>
            </rect>
        }
    });
    // Row bounds are multiples of a 1-2-5 step; label every few so they stay legible.
    let every = (m.rows / 5).max(1);
    let labels = (0..=m.rows).step_by(every).map(|r| {
        let ms = m.from_ms + r as f64 * m.step_ms;
        html! { <text class="tick" x={(LEFT - 6.0).to_string()} y={format!("{:.1}", y(ms) + 4.0)} text-anchor="end">{axis::tick_label(ms, m.step_ms)}</text> }
    });
    let ticks = (0..=((right / x_step).round() as u32)).map(|i| {
        let t = f64::from(i) * x_step;
        (x(t), time_label(t, x_step))
    });
    html! {
        <svg id={HEATMAP_ID} data-testid={HEATMAP_ID} class="chart heatmap" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label="Latency heatmap: responses per second and latency band">
            <text class="title" x={LEFT.to_string()} y="18">{"Latency over time (responses per cell)"}</text>
            <text class="unit" x="4" y={(TOP - 10.0).to_string()}>{"ms"}</text>
            if m.cells.is_empty() {
                <text class="empty" x={(W / 2.0).to_string()} y={(H / 2.0).to_string()} text-anchor="middle">{"drawn when the run ends"}</text>
            } else {
                { for labels }
            }
            { for cells }
            <line class="axis" x1={LEFT.to_string()} x2={(W - RIGHT).to_string()} y1={(H - BOTTOM).to_string()} y2={(H - BOTTOM).to_string()} />
            { x_ticks(ticks) }
        </svg>
    }
}
