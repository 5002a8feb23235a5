//! What the live view says, from readings of the run's live statistics taken a few times a
//! second: the last second's rate and percentiles (the difference of two cumulative readings),
//! a sparkline of the rate second by second, progress, outcomes. No clock and no I/O: the time
//! of each reading is an input.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use flak_core::{Load, Plan, Shard, StopAfter};

use crate::metrics::Snapshot;

/// Seconds the sparkline covers, one bar each.
pub const SPARK_SECONDS: usize = 60;
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const BAR_WIDTH: usize = 20;

/// What the view needs of the plan, read once.
#[derive(Debug, Clone)]
pub struct Context {
    stop: StopAfter,
    rate: Option<f64>,
    load: Option<Load>,
    shard: Shard,
    /// "requests", or "iterations" for fan-out and journeys (as the report counts them).
    unit: &'static str,
}

impl Context {
    pub fn of(plan: &Plan, shard: Shard) -> Self {
        let stop = match plan.stop {
            StopAfter::Requests(n) => StopAfter::Requests(shard.share_of(n)),
            d @ StopAfter::Duration(_) => d,
        };
        Self {
            stop,
            rate: plan.rate,
            load: plan.load.clone(),
            shard,
            unit: if plan.fan_out || plan.journey.is_some() {
                "iterations"
            } else {
                "requests"
            },
        }
    }
}

/// A reading of the live statistics `at` this long into the run.
#[derive(Debug, Clone)]
struct Reading {
    at: Duration,
    snapshot: Snapshot,
}

/// The readings the view remembers: those of the last second or so, and the rate of each whole
/// second for the sparkline.
#[derive(Debug, Default)]
pub struct History {
    recent: VecDeque<Reading>,
    /// Finished per second, one value per whole second of the run, oldest first.
    seconds: VecDeque<f64>,
    /// Where the current second began: its time and the finished count then (from the first
    /// reading on).
    mark: Option<(Duration, u64)>,
}

fn finished(s: &Snapshot) -> u64 {
    s.succeeded + s.failed
}

impl History {
    /// Adds a reading; readings come in time order.
    pub fn push(&mut self, at: Duration, snapshot: Snapshot) {
        let done = finished(&snapshot);
        let (mark_at, mark_done) = *self.mark.get_or_insert((at, done));
        let span = at.saturating_sub(mark_at);
        if span >= Duration::from_secs(1) {
            self.seconds
                .push_back(done.saturating_sub(mark_done) as f64 / span.as_secs_f64());
            if self.seconds.len() > SPARK_SECONDS {
                self.seconds.pop_front();
            }
            self.mark = Some((at, done));
        }
        self.recent.push_back(Reading { at, snapshot });
        // Keep the newest reading that is at least a second old, and everything after it.
        while self.recent.len() > 2 && self.recent[1].at + Duration::from_secs(1) <= at {
            self.recent.pop_front();
        }
    }

    /// The view's lines for the newest reading; `asked` is what a rate has asked for so far.
    pub fn render(&self, ctx: &Context, asked: Option<u64>) -> String {
        let Some(now) = self.recent.back() else {
            return String::from(" flak   starting…");
        };
        let s = &now.snapshot;
        let mut out = String::new();
        progress(&mut out, ctx, now);
        if let Some(target) = target(ctx, now.at) {
            let _ = writeln!(out, " load   {target}");
        }
        self.last_second(&mut out, ctx, now);
        let top = match self.seconds.iter().copied().reduce(f64::max) {
            Some(top) => format!("{}/s", short(top.round() as u64)),
            None => "–".into(),
        };
        let _ = writeln!(
            out,
            " {:<6} {:<width$} max {top}",
            format!("{SPARK_SECONDS}s"),
            sparkline(&self.seconds),
            width = SPARK_SECONDS
        );
        let _ = write!(
            out,
            " done   succeeded {}  failed {}  in flight {}",
            count(s.succeeded),
            count(s.failed),
            count(s.in_flight())
        );
        if s.cancelled > 0 {
            let _ = write!(out, "  cancelled {}", count(s.cancelled));
        }
        if let Some(asked) = asked {
            let _ = write!(out, "  asked {}", count(asked));
        }
        out.push('\n');
        let _ = writeln!(out, " status {}", statuses(&s.status));
        let _ = write!(out, " errors {}", errors(&s.errors));
        out
    }

    fn last_second(&self, out: &mut String, ctx: &Context, now: &Reading) {
        let unit = ctx.unit;
        let Some(then) = self.recent.front().filter(|r| r.at < now.at) else {
            let _ = writeln!(out, " now    – {unit}/s   p50 –   p99 –   (last second)");
            return;
        };
        let span = (now.at - then.at).as_secs_f64();
        let rate = finished(&now.snapshot).saturating_sub(finished(&then.snapshot)) as f64 / span;
        let mut latency = now.snapshot.latency.clone();
        // Cumulative histograms only grow, so the difference is the latencies recorded between.
        let (p50, p99) = match latency.subtract(&then.snapshot.latency) {
            Ok(()) if !latency.is_empty() => (
                millis(latency.value_at_quantile(0.5)),
                millis(latency.value_at_quantile(0.99)),
            ),
            _ => ("–".to_string(), "–".to_string()),
        };
        let _ = writeln!(
            out,
            " now    {} {unit}/s   p50 {p50}   p99 {p99}   (last second)",
            count(rate.round() as u64)
        );
    }
}

/// How far the run is: a bar, the share done, elapsed time (and requests for a count).
fn progress(out: &mut String, ctx: &Context, now: &Reading) {
    let done = finished(&now.snapshot) + now.snapshot.cancelled;
    let (fraction, what) = match ctx.stop {
        StopAfter::Requests(n) => (
            done as f64 / n.max(1) as f64,
            format!(
                "{} of {} {}  {}",
                count(done),
                count(n),
                ctx.unit,
                secs(now.at)
            ),
        ),
        StopAfter::Duration(d) => (
            now.at.as_secs_f64() / d.as_secs_f64().max(1e-9),
            format!("{} of {}", secs(now.at), secs(d)),
        ),
    };
    let fraction = fraction.clamp(0.0, 1.0);
    let filled = (fraction * BAR_WIDTH as f64).round() as usize;
    let _ = write!(
        out,
        " flak   [{}{}] {:>3.0}%  {what}",
        "█".repeat(filled),
        "░".repeat(BAR_WIDTH - filled),
        fraction * 100.0,
    );
    if ctx.shard.count > 1 {
        let _ = write!(out, "  shard {}/{}", ctx.shard.index, ctx.shard.count);
    }
    out.push('\n');
}

/// The target the load asks for now: a rate, or an in-flight limit for concurrency stages.
fn target(ctx: &Context, at: Duration) -> Option<String> {
    let all = if ctx.shard.count > 1 {
        " (all shards)"
    } else {
        ""
    };
    let stage = |stages: &flak_core::Stages| {
        let mut end = Duration::ZERO;
        let list = stages.stages();
        let i = list
            .iter()
            .position(|s| {
                end += s.duration;
                at < end
            })
            .unwrap_or(list.len() - 1);
        format!("stage {}/{}", i + 1, list.len())
    };
    match (&ctx.load, ctx.rate) {
        (Some(Load::Rate(s)), _) => Some(format!(
            "target {}/s{all}, {}",
            count(s.value_at(at).round() as u64),
            stage(s)
        )),
        (Some(Load::Concurrency(s)), _) => Some(format!(
            "in-flight limit {}{all}, {}",
            count(s.value_at(at).round() as u64),
            stage(s)
        )),
        (None, Some(rate)) => Some(format!("target {}/s{all}", count(rate.round() as u64))),
        (None, None) => None,
    }
}

/// One bar per second, scaled to the highest; a second with nothing finished is blank.
pub fn sparkline(rates: &VecDeque<f64>) -> String {
    let top = rates.iter().copied().fold(0.0, f64::max);
    rates
        .iter()
        .map(|&r| {
            if r <= 0.0 || top <= 0.0 {
                ' '
            } else {
                // Eighths of the highest, rounded up: any second with requests shows a bar.
                let i = ((r / top) * SPARKS.len() as f64).ceil() as usize;
                SPARKS[i.clamp(1, SPARKS.len()) - 1]
            }
        })
        .collect()
}

/// Status codes by class: `2xx 1,200  5xx 3`.
fn statuses(codes: &flak_core::LiteMap<u16, u64>) -> String {
    let mut classes = BTreeMap::new();
    for (code, n) in codes {
        *classes.entry(code / 100).or_insert(0u64) += n;
    }
    if classes.is_empty() {
        return "none yet".into();
    }
    classes
        .iter()
        .map(|(class, n)| format!("{class}xx {}", count(*n)))
        .collect::<Vec<_>>()
        .join("  ")
}

/// Errors by kind, most frequent first: `timeout 3  connect_refused 1`.
fn errors(kinds: &flak_core::LiteMap<flak_core::ErrorKind, u64>) -> String {
    let mut kinds: Vec<_> = kinds.iter().filter(|(_, n)| **n > 0).collect();
    if kinds.is_empty() {
        return "none".into();
    }
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    kinds
        .iter()
        .map(|(kind, n)| format!("{kind} {}", count(**n)))
        .collect::<Vec<_>>()
        .join("  ")
}

/// `1234567` as `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12345` as `12k`: short enough that the sparkline's row fits 80 columns.
fn short(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..10_000 => format!("{:.1}k", n as f64 / 1e3),
        10_000..1_000_000 => format!("{:.0}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// Microseconds as milliseconds, three significant figures or so.
fn millis(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use flak_core::{PlanBuilder, RequestSpec};
    use hdrhistogram::Histogram;

    use super::*;

    /// `n` succeeded requests so far, the latest `recent` of them taking `us` microseconds and
    /// the others 1 ms.
    fn snapshot(n: u64, recent: u64, us: u64) -> Snapshot {
        let mut latency = Histogram::new(3).unwrap();
        latency.record_n(1000, n - recent).unwrap();
        latency.record_n(us, recent).unwrap();
        Snapshot {
            issued: n,
            succeeded: n,
            failed: 0,
            cancelled: 0,
            status: [(200, n)].into_iter().collect(),
            errors: flak_core::LiteMap::new(),
            latency,
        }
    }

    #[test]
    fn the_last_second_is_the_difference_of_two_readings() {
        let plan = PlanBuilder::default()
            .request(RequestSpec::get("http://127.0.0.1:1/").unwrap())
            .duration(Duration::from_secs(10))
            .build()
            .unwrap();
        let ctx = Context::of(&plan, Shard::new(0, 1).unwrap());
        let mut history = History::default();
        history.push(Duration::from_millis(500), snapshot(1000, 0, 0));
        for (i, n) in [1050, 1100, 1150, 1200].into_iter().enumerate() {
            let at = Duration::from_millis(750 + 250 * i as u64);
            history.push(at, snapshot(n, n - 1000, 8000));
        }
        let view = history.render(&ctx, None);
        // 200 more in the last second, each 8 ms; the 1000 before them took 1 ms.
        assert!(
            view.contains(" now    200 requests/s   p50 8.00 ms   p99 8.00 ms"),
            "{view}"
        );
        assert!(view.contains("15%  1.5 s of 10.0 s"), "{view}");
        assert!(view.contains("succeeded 1,200"), "{view}");
        assert!(view.contains("status 2xx 1,200"), "{view}");
        assert!(view.contains("errors none"), "{view}");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(short(503), "503");
        assert_eq!(short(4_512), "4.5k");
        assert_eq!(short(123_456), "123k");
        assert_eq!(short(2_500_000), "2.5M");
    }

    #[test]
    fn the_sparkline_scales_to_its_highest_second() {
        let rates: VecDeque<f64> = [0.0, 1.0, 4.0, 8.0].into_iter().collect();
        assert_eq!(sparkline(&rates), " ▁▄█");
    }
}
