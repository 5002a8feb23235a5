//! The latency heatmap: a column per second (or per round number of seconds in long runs), a
//! row per latency band, each cell shaded by how many responses it holds.

use std::fmt::Write as _;

use yew::prelude::*;

use super::axis::{exact, nice_step, tick_label, time_axis, time_ticks, x_axis_svg};
use super::{BOTTOM, H, HEATMAP_ID, LEFT, RIGHT, TOP, W, svg};
use crate::snapshot::Heatmap;

/// The heatmap chart.
pub fn heatmap_chart(heatmap: &Heatmap) -> Html {
    svg(
        HEATMAP_ID,
        "Latency heatmap: responses per second and latency band",
        H,
        &body(heatmap),
    )
}

fn body(m: &Heatmap) -> String {
    let rows = m.rows.max(1) as f64;
    let (right, x_step) = time_axis(m.cols as f64 * m.col_s, 6);
    let x = |t: f64| LEFT + t / right * (W - LEFT - RIGHT);
    let band = (H - TOP - BOTTOM) / rows;
    let y = |ms: f64| H - BOTTOM - (ms - m.from_ms) / m.step_ms * band;
    let mut out = format!(
        r#"<text class="title" x="{LEFT}" y="18">Latency over time (responses per cell)</text><text class="unit" x="4" y="{}">ms</text>"#,
        TOP - 10.0
    );
    if m.cells.is_empty() {
        let _ = write!(
            out,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">drawn when the run ends</text>"#,
            W / 2.0,
            H / 2.0
        );
    } else {
        // Labels at multiples of their own 1-2-5 step (rows may be finer than labels need).
        let top = m.from_ms + rows * m.step_ms;
        let step = nice_step((top - m.from_ms) / 5.0).max(m.step_ms);
        for k in (m.from_ms / step).ceil() as u64..=(top / step + 1e-9).floor() as u64 {
            let ms = k as f64 * step;
            let _ = write!(
                out,
                r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                y(ms) + 4.0,
                tick_label(ms, step)
            );
        }
    }
    let most = m.cells.iter().map(|c| c.2).max().unwrap_or(1) as f64;
    for &(col, row, n) in &m.cells {
        let t = col as f64 * m.col_s;
        let lo = m.from_ms + row as f64 * m.step_ms;
        // Shaded by log count, so a lone slow response still shows beside thousands.
        let shade = 0.12 + 0.88 * (n as f64).ln_1p() / most.ln_1p();
        let _ = write!(
            out,
            r#"<rect class="cell" data-count="{n}" x="{:.1}" y="{:.1}" width="{:.2}" height="{band:.2}" fill-opacity="{shade:.2}"><title>{t}–{} s, {}–{} ms: {n} responses</title></rect>"#,
            x(t),
            y(lo + m.step_ms),
            (x(t + m.col_s) - x(t)).max(0.5),
            t + m.col_s,
            exact(lo),
            exact(lo + m.step_ms)
        );
    }
    x_axis_svg(&mut out, time_ticks(right, x_step, x));
    out
}
