//! Bar charts: the latency histogram, status codes and errors, fan-out members or journey steps.

use std::fmt::Write as _;

use yew::prelude::*;

use super::{
    BOTTOM, H, HISTOGRAM_ID, LEFT, MEMBERS_ID, RIGHT, STATUS_ID, TOP, W, grid_text, label,
    nice_axis, svg,
};
use crate::components::markup::esc;
use crate::snapshot::{MemberView, Outcome};

/// The latency histogram: upper bound (ms) and count of each bar.
pub fn histogram_chart(bars: &[(f64, u64)]) -> Html {
    let n = bars.len().max(1) as f64;
    let (top, step) = nice_axis(bars.iter().map(|b| b.1 as f64).fold(0.0, f64::max), 4);
    let width = (W - LEFT - RIGHT) / n;
    let y = |v: f64| H - BOTTOM - v / top * (H - TOP - BOTTOM);
    let mut out = format!(
        r#"<text class="title" x="{LEFT}" y="18">Latency histogram</text><text class="unit" x="4" y="{}">count</text>"#,
        TOP - 10.0
    );
    out.push_str(&grid_text(top, step, y));
    for (i, (upper, count)) in bars.iter().enumerate() {
        let bx = LEFT + i as f64 * width;
        let by = y(*count as f64);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{by:.1}" width="{:.1}" height="{:.1}"><title>≤ {} ms: {count}</title></rect>"#,
            bx + 1.0,
            (width - 2.0).max(1.0),
            H - BOTTOM - by,
            label(*upper)
        );
    }
    let first = bars.first().map_or(0.0, |b| b.0);
    let last = bars.last().map_or(0.0, |b| b.0);
    let _ = write!(
        out,
        r#"<text class="unit" x="{LEFT}" y="{0}">≤ {1} ms</text><text class="unit" x="{2}" y="{0}" text-anchor="end">≤ {3} ms</text>"#,
        H - 8.0,
        label(first),
        W - RIGHT,
        label(last)
    );
    svg(HISTOGRAM_ID, "Latency histogram", H, &out)
}

/// Status codes and error kinds as horizontal bars.
pub fn outcomes_chart(outcomes: &[Outcome]) -> Html {
    let max = outcomes.iter().map(|o| o.count).max().unwrap_or(1).max(1) as f64;
    let span = W - 180.0 - 90.0;
    let mut out = String::new();
    for (i, o) in outcomes.iter().enumerate() {
        let by = TOP + i as f64 * 26.0;
        let len = (o.count as f64 / max * span).max(1.0);
        let class = if o.failed { "bar bad" } else { "bar" };
        let title = o
            .message
            .as_ref()
            .map_or_else(String::new, |m| format!("<title>{}</title>", esc(m)));
        let _ = write!(
            out,
            r#"<g><text x="170" y="{0}" text-anchor="end">{1}</text><rect class="{class}" x="180" y="{by}" width="{len:.1}" height="20">{title}</rect><text x="{2:.1}" y="{0}">{3}</text></g>"#,
            by + 15.0,
            esc(&o.label),
            186.0 + len,
            o.count
        );
    }
    bar_chart(
        STATUS_ID,
        (outcomes.len(), 26.0),
        "Status codes and errors",
        &out,
    )
}

/// A horizontal bar chart: the SVG with its id, title and accessible name, high enough for
/// `rows` bars of `row_height` (at least one).
fn bar_chart(id: &str, (rows, row_height): (usize, f64), title: &str, bars: &str) -> Html {
    let height = TOP + rows.max(1) as f64 * row_height + 8.0;
    let body = format!(r#"<text class="title" x="10" y="18">{title}</text>{bars}"#);
    svg(id, title, height, &body)
}

/// Fan-out members, or a journey's step requests (`journey`), side by side: p50 and p99 bars
/// per member.
pub fn members_chart(members: &[MemberView], journey: bool) -> Html {
    let max = members.iter().filter_map(|m| m.p99).fold(0.0, f64::max);
    let (top, _) = nice_axis(max, 4);
    let span = W - 180.0 - 90.0;
    let mut out = String::new();
    for (i, m) in members.iter().enumerate() {
        let by = TOP + i as f64 * 34.0;
        let len = |v: Option<f64>| (v.unwrap_or(0.0) / top * span).max(1.0);
        let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{} ms", label(v)));
        let _ = write!(
            out,
            r#"<g><text x="170" y="{0}" text-anchor="end">{1}</text><rect class="bar p50" x="180" y="{by}" width="{2:.1}" height="13"/><rect class="bar p99" x="180" y="{3}" width="{4:.1}" height="13"/><text x="{5:.1}" y="{0}">p50 {6} · p99 {7}</text></g>"#,
            by + 18.0,
            esc(&m.name),
            len(m.p50),
            by + 14.0,
            len(m.p99),
            186.0 + len(m.p99),
            ms(m.p50),
            ms(m.p99)
        );
    }
    bar_chart(
        MEMBERS_ID,
        (members.len(), 34.0),
        if journey {
            "Journey steps: p50 and p99 of each request"
        } else {
            "Fan-out members: p50 and p99"
        },
        &out,
    )
}
