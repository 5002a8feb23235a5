//! Latency by percentile on a log "nines" axis (HdrHistogram's classic plot): 0, 90, 99,
//! 99.9 % one step apart, so the tail gets as much room as the body; several runs overlaid.

use std::fmt::Write as _;

use yew::prelude::*;

use super::axis::{exact, grid_svg, nice_axis, nines, nines_label, x_axis_svg};
use super::{BOTTOM, H, LEFT, RIGHT, TOP, W, svg};
use crate::components::markup::esc;
use crate::snapshot::PercentileRun;

/// The runs' latency by percentile, as the chart `id` titled `title`.
pub fn percentile_chart(id: &str, title: &str, runs: &[PercentileRun]) -> Html {
    svg(id, title, H, &body(title, runs))
}

fn body(title: &str, runs: &[PercentileRun]) -> String {
    // Whole nines, at least to 99 %, as far as the biggest run reaches.
    let cap = runs.iter().map(|r| r.nines.ceil()).fold(2.0, f64::max);
    let max_ms = runs
        .iter()
        .flat_map(|r| r.curve.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (top, step) = nice_axis(max_ms, 4);
    let x = |n: f64| LEFT + n / cap * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let mut out = format!(
        r#"<text class="title" x="{LEFT}" y="18">{}</text><text class="unit" x="4" y="{}">ms</text>"#,
        esc(title),
        TOP - 10.0
    );
    grid_svg(&mut out, 0.0, top, step, y);
    x_axis_svg(
        &mut out,
        (0..=cap as u32).map(|n| (x(f64::from(n)), nines_label(n))),
    );
    if runs.iter().all(|r| r.curve.is_empty()) {
        let _ = write!(
            out,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">no responses yet</text>"#,
            W / 2.0,
            H / 2.0
        );
    }
    for (i, r) in runs.iter().enumerate() {
        let (name, class) = (esc(&r.name), r.class);
        let _ = write!(
            out,
            r#"<g class="run {class}" data-run="{name}"><polyline class="series {class}" points=""#
        );
        for (n, ms) in &r.curve {
            let _ = write!(out, "{:.1},{:.1} ", x(*n), y(*ms));
        }
        out.push_str(r#""/>"#);
        for m in &r.marks {
            let (p, ms) = (m.p, m.ms);
            let said = format!("{name}: p{p} = {} ms", exact(ms));
            let _ = write!(
                out,
                r#"<circle class="dot {class}" tabindex="0" data-p="{p}" data-ms="{ms}" cx="{:.1}" cy="{:.1}" r="3.5" aria-label="{said}"><title>{said}</title></circle>"#,
                x(nines(p, cap)),
                y(ms)
            );
        }
        out.push_str("</g>");
        if runs.len() > 1 {
            let lx = W - RIGHT - (runs.len() - i) as f64 * 150.0;
            let _ = write!(
                out,
                r#"<g class="legend {class}"><line class="series" x1="{lx}" x2="{}" y1="14" y2="14"/><text x="{}" y="18">{name}</text></g>"#,
                lx + 14.0,
                lx + 18.0
            );
        }
    }
    out
}
