//! Lines over the run's seconds (throughput, latency percentiles, the rate asked and sent, in
//! flight, outcomes: `charts` in mod.rs picks them). A read-out line gives the exact values
//! of the second under the pointer, or the one picked with ← → when the chart has focus.

use std::fmt::Write as _;

use wasm_bindgen::JsCast as _;
use yew::prelude::*;

use super::axis::{exact, grid_svg, nice_axis, time_axis, time_ticks, x_axis_svg};
use super::{BOTTOM, H, LEFT, RIGHT, TOP, W};
use crate::components::markup::{esc, raw};

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

/// The seconds the lines have points at: the longest line's (every line is the run's seconds
/// or some of them, in order).
fn seconds(lines: &[Line]) -> Vec<f64> {
    let longest = lines.iter().max_by_key(|l| l.points.len());
    longest.map_or_else(Vec::new, |l| l.points.iter().map(|p| p.0).collect())
}

/// The read-out of second `t`: each line's value there.
fn readout(lines: &[Line], t: f64, unit: &str) -> String {
    let values = lines.iter().filter_map(|l| {
        let (_, v) = l.points.iter().find(|p| p.0 == t)?;
        Some(format!("{} {}", l.name, exact(*v)))
    });
    format!("{t} s: {} {unit}", values.collect::<Vec<_>>().join(" · "))
}

/// Where things go: the time axis' right end, the value axis' top.
#[derive(Clone, Copy)]
struct Frame {
    right: f64,
    top: f64,
}

impl Frame {
    fn x(self, t: f64) -> f64 {
        LEFT + t / self.right * (W - LEFT - RIGHT)
    }

    fn y(self, v: f64) -> f64 {
        H - BOTTOM - v / self.top * (H - TOP - BOTTOM)
    }
}

/// Everything but the read-out, as SVG markup.
fn body(props: &LineChartProps, f: Frame, steps: (f64, f64), legend: bool) -> String {
    let mut out = format!(
        r#"<text class="title" x="{LEFT}" y="18">{}</text><text class="unit" x="4" y="{}">{}</text>"#,
        esc(&props.title),
        TOP - 10.0,
        esc(&props.unit)
    );
    grid_svg(&mut out, 0.0, f.top, steps.1, |v| f.y(v));
    x_axis_svg(&mut out, time_ticks(f.right, steps.0, |t| f.x(t)));
    if props.lines.iter().all(|l| l.points.is_empty()) {
        let _ = write!(
            out,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            W / 2.0,
            H / 2.0,
            esc(&props.empty)
        );
    }
    for m in &props.marks {
        let _ = write!(
            out,
            r#"<line class="stage-mark" data-testid="stage-mark" x1="{0:.1}" x2="{0:.1}" y1="{TOP}" y2="{1}"/>"#,
            f.x(*m),
            H - BOTTOM
        );
    }
    for l in &props.lines {
        let _ = write!(
            out,
            r#"<polyline class="series {}" data-name="{}" points=""#,
            l.class, l.name
        );
        for (t, v) in &l.points {
            let _ = write!(out, "{:.1},{:.1} ", f.x(*t), f.y(*v));
        }
        out.push_str(r#""/>"#);
        // A single second has no line to draw: show it as a dot.
        if let [(t, v)] = l.points[..] {
            let _ = write!(
                out,
                r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3"/>"#,
                l.class,
                f.x(t),
                f.y(v)
            );
        }
    }
    let start = W - RIGHT - props.lines.len() as f64 * 72.0;
    for (i, l) in props.lines.iter().enumerate().filter(|_| legend) {
        let lx = start + i as f64 * 72.0;
        let _ = write!(
            out,
            r#"<g class="legend {}"><line class="series" x1="{lx}" x2="{}" y1="14" y2="14"/><text x="{}" y="18">{}</text></g>"#,
            l.class,
            lx + 14.0,
            lx + 18.0,
            l.name
        );
    }
    out
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
    let f = Frame { right, top };
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
            let t = (at - LEFT) / (W - LEFT - RIGHT) * right;
            let after = ts.partition_point(|s| *s < t);
            let nearest = [after.saturating_sub(1), after]
                .into_iter()
                .filter(|i| *i < ts.len())
                .min_by(|a, b| (ts[*a] - t).abs().total_cmp(&(ts[*b] - t).abs()));
            cursor.set(nearest);
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
    let mut overlay = String::new();
    if let Some(t) = picked {
        let _ = write!(
            overlay,
            r#"<line class="cursor" x1="{0:.1}" x2="{0:.1}" y1="{TOP}" y2="{1}"/><text class="readout" data-testid="readout" x="{2}" y="{3}">{4}</text>"#,
            f.x(t),
            H - BOTTOM,
            LEFT + 4.0,
            TOP + 8.0,
            esc(&readout(&props.lines, t, &props.unit))
        );
    }
    html! {
        <svg id={props.id.clone()} data-testid={props.id.clone()} class="chart" viewBox={format!("0 0 {W} {H}")}
             role="img" aria-label={props.title.clone()} tabindex="0" {onmousemove} {onmouseleave} {onkeydown}>
            { raw(body(props, f, (x_step, step), picked.is_none())) }
            { raw(overlay) }
        </svg>
    }
}
