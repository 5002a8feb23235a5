//! Axes at round values: 1-2-5 steps for amounts, whole seconds, minutes and hours for time,
//! and the "nines" of a percentile axis (0, 90, 99, 99.9 %), with their labels. Pure.

use std::fmt::Write as _;

use super::{H, LEFT, RIGHT, W};

const BOTTOM: f64 = super::BOTTOM;

/// Rounds `max` up to a 1-2-5 step so axis labels read well; returns (top, step).
pub fn nice_axis(max: f64, ticks: u32) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max / f64::from(ticks));
    ((max / step).ceil() * step, step)
}

/// The smallest 1-2-5 step (…, 0.5, 1, 2, 5, 10, …) at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    let raw = if raw.is_finite() && raw > 0.0 {
        raw
    } else {
        1.0
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// Steps of a time axis, in seconds: round seconds, then minutes, then hours.
const TIME_STEPS: [f64; 16] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    21600.0, 86400.0,
];

/// A time axis from 0 to at least `max_s` seconds in at most `ticks` round steps; (top, step).
pub fn time_axis(max_s: f64, ticks: u32) -> (f64, f64) {
    let max = if max_s.is_finite() && max_s > 0.0 {
        max_s
    } else {
        1.0
    };
    let step = TIME_STEPS
        .into_iter()
        .find(|s| (max / s).ceil() <= f64::from(ticks))
        .unwrap_or_else(|| (max / f64::from(ticks) / 86400.0).ceil() * 86400.0);
    ((max / step).ceil() * step, step)
}

/// A time tick's label, in the unit its step is a whole number of: `30 s`, `2 min`, `1 h`.
pub fn time_label(s: f64, step: f64) -> String {
    if step >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{} h", s / 3600.0)
    } else if step >= 60.0 {
        format!("{} min", s / 60.0)
    } else {
        format!("{s} s")
    }
}

/// A tick's label with as many decimals as its step needs (`0.25`, `1.5`, `200`).
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// An exact value for a read-out: whole numbers as they are, others to the microsecond (what
/// the histograms hold), trailing zeros dropped.
pub fn exact(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// Where percentile `p` (0–100) sits on a nines axis: 0 at 0 %, 1 at 90 %, 2 at 99 %, 3 at
/// 99.9 %; `p` = 100 is infinitely far, so it is capped at `cap`.
pub fn nines(p: f64, cap: f64) -> f64 {
    if p >= 100.0 {
        cap
    } else {
        (-(1.0 - p.max(0.0) / 100.0).log10()).min(cap)
    }
}

/// The percentile at `n` nines (the inverse of [`nines`]), in percent.
pub fn percent_at(n: f64) -> f64 {
    100.0 * (1.0 - 10f64.powf(-n))
}

/// The label of the tick at `n` (whole) nines: `0%`, `90%`, `99%`, `99.9%`, `99.99%`.
pub fn nines_label(n: u32) -> String {
    match n {
        0 => "0%".into(),
        1 => "90%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)).replace("99.%", "99%"),
    }
}

/// Horizontal grid lines with their labels, every `step` from `from` to `top`, as SVG
/// markup; `y` maps a value to its height.
pub fn grid_svg(out: &mut String, from: f64, top: f64, step: f64, y: impl Fn(f64) -> f64) {
    for i in 0..=(((top - from) / step).round() as u32) {
        let v = from + f64::from(i) * step;
        let (yv, label) = (y(v), tick_label(v, step));
        let _ = write!(
            out,
            r#"<g class="grid"><line x1="{LEFT}" x2="{}" y1="{yv:.1}" y2="{yv:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{label}</text></g>"#,
            W - RIGHT,
            LEFT - 6.0,
            yv + 4.0
        );
    }
}

/// The bottom axis line and its ticks, `(x position, label)` each, as SVG markup.
pub fn x_axis_svg(out: &mut String, ticks: impl Iterator<Item = (f64, String)>) {
    let base = H - BOTTOM;
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{base}" y2="{base}"/>"#,
        W - RIGHT
    );
    for (x, text) in ticks {
        let _ = write!(
            out,
            r#"<g class="grid"><line x1="{x:.1}" x2="{x:.1}" y1="{base}" y2="{}"/><text class="tick x" x="{x:.1}" y="{}" text-anchor="middle">{text}</text></g>"#,
            base + 4.0,
            base + 16.0
        );
    }
}

/// The ticks of a time axis from 0 to `right` every `step` seconds, placed by `x`.
pub fn time_ticks(
    right: f64,
    step: f64,
    x: impl Fn(f64) -> f64,
) -> impl Iterator<Item = (f64, String)> {
    (0..=((right / step).round() as u32)).map(move |i| {
        let t = f64::from(i) * step;
        (x(t), time_label(t, step))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_up_to_1_2_5_steps() {
        assert_eq!(nice_axis(87.0, 4), (100.0, 50.0));
        assert_eq!(nice_axis(0.0, 4), (1.0, 0.5));
        let (top, step) = nice_axis(1234.0, 4);
        assert!(top >= 1234.0 && step == 500.0, "{top} {step}");
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(2.0), 2.0);
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(1.5, 0.5), "1.5");
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(200.0, 50.0), "200");
    }

    #[test]
    fn time_ticks_fall_on_round_seconds_minutes_and_hours() {
        assert_eq!(time_axis(7.0, 6), (8.0, 2.0));
        assert_eq!(time_axis(44.0, 6), (50.0, 10.0));
        assert_eq!(time_axis(170.0, 6), (180.0, 30.0));
        assert_eq!(time_axis(400.0, 6), (480.0, 120.0));
        assert_eq!(time_axis(3000.0, 6), (3000.0, 600.0));
        assert_eq!(time_axis(5.0 * 3600.0, 6), (18000.0, 3600.0));
        assert_eq!(time_axis(0.0, 6), (1.0, 1.0));
        assert_eq!(time_label(30.0, 15.0), "30 s");
        assert_eq!(time_label(120.0, 60.0), "2 min");
        assert_eq!(time_label(2700.0, 900.0), "45 min");
        assert_eq!(time_label(7200.0, 3600.0), "2 h");
        // Every tick of every axis is a whole multiple of its step, in the step's unit.
        for max in [3.0, 59.0, 61.0, 600.0, 4000.0, 90_000.0] {
            let (top, step) = time_axis(max, 6);
            assert!(top >= max && top / step <= 6.0, "{max}: {top} {step}");
            assert!(TIME_STEPS.contains(&step) || step % 86400.0 == 0.0);
        }
    }

    #[test]
    fn the_nines_axis_puts_each_nine_one_apart() {
        assert_eq!(nines(0.0, 5.0), 0.0);
        assert!((nines(90.0, 5.0) - 1.0).abs() < 1e-12);
        assert!((nines(99.9, 5.0) - 3.0).abs() < 1e-9);
        assert_eq!(nines(100.0, 5.0), 5.0);
        assert!((percent_at(2.0) - 99.0).abs() < 1e-12);
        let labels: Vec<_> = (0..5).map(nines_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn exact_values_keep_microseconds() {
        assert_eq!(exact(12.0), "12");
        assert_eq!(exact(5.123), "5.123");
        assert_eq!(exact(5.1), "5.1");
    }
}
