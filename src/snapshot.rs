//! What the page shows of a run, computed from the core's `Stats` a few times a second (never
//! per request): the summary, chart series (with what the plan asked of each second), histogram
//! bars, the percentile curve, the latency heatmap, outcomes over time and the text report.

use std::time::Duration;

use flak_core::report::{Percentile, Summary, bar_counts, text};
use flak_core::series::CLASSES;
use flak_core::{ErrorKind, Load, Plan, Stats, StopAfter};

use crate::components::charts::axis::{nice_step, percent_at, time_axis};

/// One second of the run, for the time charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Seconds since the run started.
    pub t: f64,
    /// Requests finished in this second.
    pub count: u64,
    pub errors: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    /// Requests sent in this second.
    pub started: u64,
    /// Mean requests in flight over this second.
    pub in_flight: f64,
    /// What the plan asked of this second: requests to send ([`Curve::Rate`]) or the mean
    /// in-flight limit ([`Curve::Concurrency`]).
    pub asked: Option<f64>,
}

/// What the plan's curve is a curve of, which says which charts apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// No rate and no stages (or the plan is unknown).
    None,
    /// A fixed rate or rate stages: requests per second asked.
    Rate,
    /// Concurrency stages: the in-flight limit asked.
    Concurrency,
}

/// A row of the status and error breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub label: String,
    pub count: u64,
    pub failed: bool,
    /// The first message seen, for errors.
    pub message: Option<String>,
}

/// A fan-out member's own numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub name: String,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// `200×40 network×2`
    pub outcomes: String,
    /// Journeys: requests never issued because an earlier step of their iteration failed.
    pub skipped: u64,
    /// Journeys: failed checks and values not extracted.
    pub checks_failed: u64,
    pub extracts_failed: u64,
    /// The first failed check's and extraction's messages: `check status in [200]: got 401`.
    pub first_failure: Option<String>,
}

/// One run on the percentile plot: its curve on the nines axis and its reported percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct PercentileRun {
    pub name: String,
    /// The CSS class that colours it.
    pub class: &'static str,
    /// (nines, ms): every tenth of a nine up to the last the run has a request for, then the
    /// slowest response.
    pub curve: Vec<(f64, f64)>,
    /// The percentiles the report lists, as it lists them.
    pub marks: Vec<Percentile>,
    /// Nines of the slowest response: log10 of the responses.
    pub nines: f64,
}

impl PercentileRun {
    /// `stats`' latency distribution; `marks` are its summary's percentiles.
    pub fn of(name: &str, class: &'static str, stats: &Stats, marks: &[Percentile]) -> Self {
        let h = stats.latency();
        let nines = (h.len() as f64).log10().max(0.0);
        let mut curve = Vec::new();
        if !h.is_empty() {
            let tenths = (nines * 10.0).floor() as u32;
            curve.extend((0..=tenths).map(|k| {
                let x = f64::from(k) / 10.0;
                (x, h.value_at_quantile(percent_at(x) / 100.0) as f64 / 1e3)
            }));
            curve.push((nines, h.max() as f64 / 1e3));
        }
        Self {
            name: name.into(),
            class,
            curve,
            marks: marks.to_vec(),
            nines,
        }
    }
}

/// Responses per second and latency band: the time series' histograms binned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heatmap {
    /// Seconds per column (1, or a round number of seconds for long runs).
    pub col_s: f64,
    pub cols: usize,
    /// Row `r` holds latencies from `from_ms + r × step_ms` up to the next row.
    pub from_ms: f64,
    pub step_ms: f64,
    pub rows: usize,
    /// Cells with responses: (column, row, count), by column then row.
    pub cells: Vec<(usize, usize, u64)>,
}

/// Columns a heatmap has at most; longer runs get wider columns.
const HEAT_COLUMNS: u32 = 120;
/// Latency rows a heatmap has about.
const HEAT_ROWS: f64 = 16.0;

impl Heatmap {
    /// The heatmap of `stats`, whose second `start` (Unix) is column 0's first.
    pub fn of(stats: &Stats, start: u64) -> Self {
        let h = stats.latency();
        let Some(last) = stats.series().keys().next_back() else {
            return Self::default();
        };
        if h.is_empty() {
            return Self::default();
        }
        let (min, max) = (h.min() as f64 / 1e3, h.max() as f64 / 1e3);
        let step_ms = nice_step(((max - min).max(max / 10.0)) / HEAT_ROWS);
        let from_ms = (min / step_ms).floor() * step_ms;
        let rows = (((max - from_ms) / step_ms).floor() as usize + 1).max(1);
        let seconds = last.saturating_sub(start) as f64 + 1.0;
        let col_s = if seconds <= f64::from(HEAT_COLUMNS) {
            1.0
        } else {
            time_axis(seconds, HEAT_COLUMNS).1
        };
        let cols = (seconds / col_s).ceil() as usize;
        let mut counts: flak_core::LiteMap<(usize, usize), u64> = flak_core::LiteMap::new();
        for (sec, interval) in stats.series() {
            let col = (sec.saturating_sub(start) as f64 / col_s) as usize;
            let histogram = interval.histogram();
            for v in histogram.iter_recorded() {
                let ms = histogram.median_equivalent(v.value_iterated_to()) as f64 / 1e3;
                let row = (((ms - from_ms) / step_ms).floor().max(0.0) as usize).min(rows - 1);
                *counts.entry((col, row)).or_insert(0) += v.count_at_value() as u64;
            }
        }
        Self {
            col_s,
            cols,
            from_ms,
            step_ms,
            rows,
            cells: counts.into_iter().map(|((c, r), n)| (c, r, n)).collect(),
        }
    }
}

/// A line of the outcomes-over-time chart: a status class or an error kind, per second.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeLine {
    pub name: &'static str,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Colours of the status classes, indexed as [`CLASSES`]: 2xx green, 3xx blue, 4xx orange,
/// 5xx vermillion.
const CLASS_COLOURS: [&str; 7] = ["c8", "c6", "c3", "c1", "c2", "c5", "c7"];
/// Colours error kinds take in turn.
const ERROR_COLOURS: [&str; 4] = ["c4", "c7", "c8", "c6"];

/// Responses per second by status class and errors per second by kind, only those that
/// occurred; `None` when some second does not know (it came from an older file).
fn outcome_lines(stats: &Stats, start: u64) -> Option<Vec<OutcomeLine>> {
    let series = stats.series();
    let known = series
        .values()
        .map(|i| i.outcomes.as_ref().or((i.count == 0).then_some(&EMPTY)))
        .collect::<Option<Vec<_>>>()?;
    let ts: Vec<f64> = series
        .keys()
        .map(|s| s.saturating_sub(start) as f64)
        .collect();
    let line = |name, class, n: &dyn Fn(&flak_core::series::Outcomes) -> u64| {
        let points: Vec<(f64, f64)> = ts
            .iter()
            .zip(&known)
            .map(|(t, o)| (*t, n(o) as f64))
            .collect();
        points.iter().any(|p| p.1 > 0.0).then_some(OutcomeLine {
            name,
            class,
            points,
        })
    };
    let classes =
        (0..CLASSES.len()).filter_map(|c| line(CLASSES[c], CLASS_COLOURS[c], &|o| o.classes[c]));
    let kinds = ErrorKind::ALL
        .into_iter()
        .filter_map(|k| line(k.name(), "", &|o| o.errors.get(&k).copied().unwrap_or(0)));
    let mut lines: Vec<OutcomeLine> = classes.collect();
    for (i, mut l) in kinds.enumerate() {
        l.class = ERROR_COLOURS[i % ERROR_COLOURS.len()];
        lines.push(l);
    }
    Some(lines)
}

static EMPTY: flak_core::series::Outcomes = flak_core::series::Outcomes {
    classes: [0; 7],
    errors: flak_core::LiteMap::new(),
};

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Fan-out members, or a journey's step requests (empty for ordinary runs).
    pub members: Vec<MemberView>,
    /// The members are a journey's step requests, and the headline numbers its iterations'.
    pub journey: bool,
    /// A `unique` data file ran out of rows, which ended the run.
    pub rows_ran_out: bool,
    pub summary: Summary,
    pub series: Vec<Point>,
    pub curve: Curve,
    /// Where each stage ends, on the series' time axis (seconds).
    pub stage_ends: Vec<f64>,
    /// The plan's stages in words: `rate stages 1s:50,1s:100,1s:0: 150 requests over 3 s`.
    pub stages_line: Option<String>,
    /// Histogram bars: upper bound in ms and count.
    pub bars: Vec<(f64, u64)>,
    pub outcomes: Vec<Outcome>,
    /// Responses by status class and errors by kind, per second; `None`: not recorded.
    pub outcome_lines: Option<Vec<OutcomeLine>>,
    /// The latency distribution on the nines axis.
    pub percentiles: PercentileRun,
    /// Seconds × latency; empty in live snapshots of long runs (binning every second's
    /// histogram four times a second would cost more than it shows).
    pub heatmap: Heatmap,
    pub in_flight: u64,
    /// The CLI's text report; empty in live snapshots.
    pub report: String,
}

impl Snapshot {
    /// A live snapshot, a few times a second during a run: everything but the text report,
    /// which is only built when the run is over (it is the costliest part and sits folded).
    pub fn live(stats: &Stats, plan: Option<&Plan>) -> Self {
        Self::build(stats, plan, false)
    }

    /// The full snapshot of a finished run or an imported file (with its plan, if it has one).
    pub fn of(stats: &Stats, plan: Option<&Plan>) -> Self {
        Self::build(stats, plan, true)
    }

    fn build(stats: &Stats, plan: Option<&Plan>, with_report: bool) -> Self {
        let started = stats.started_unix().unwrap_or_default();
        let start = started.as_secs();
        // The series counts whole wall-clock seconds; the run began `lead` into the first.
        let lead = f64::from(started.subsec_nanos()) / 1e9;
        let series = stats
            .series()
            .iter()
            .map(|(sec, i)| {
                let t = sec.saturating_sub(start) as f64;
                Point {
                    t,
                    count: i.count,
                    errors: i.errors,
                    p50: i.quantile_ms(0.5),
                    p90: i.quantile_ms(0.9),
                    p99: i.quantile_ms(0.99),
                    started: i.started,
                    in_flight: i.mean_in_flight(),
                    asked: plan.and_then(|p| asked_between(p, t - lead, t + 1.0 - lead)),
                }
            })
            .collect();
        let curve = match plan {
            Some(p) if matches!(p.load, Some(Load::Concurrency(_))) => Curve::Concurrency,
            Some(p) if p.is_open() => Curve::Rate,
            _ => Curve::None,
        };
        // A point stands for its whole second, so run time `r` sits at `r + lead - 0.5`.
        let stage_ends = plan
            .and_then(|p| p.load.as_ref())
            .map(|load| {
                let mut end = 0.0;
                load.stages()
                    .stages()
                    .iter()
                    .map(|s| {
                        end += s.duration.as_secs_f64();
                        (end + lead - 0.5).max(0.0)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut outcomes: Vec<Outcome> = stats
            .status_codes()
            .iter()
            .map(|(code, n)| Outcome {
                label: if *code == 0 {
                    "opaque (no-cors)".into()
                } else {
                    code.to_string()
                },
                count: *n,
                failed: !flak_core::is_success(*code),
                message: None,
            })
            .collect();
        outcomes.extend(stats.errors().iter().map(|(kind, n)| Outcome {
            label: kind.name().replace('_', " "),
            count: *n,
            failed: true,
            message: stats.error_messages().get(kind).cloned(),
        }));
        if stats.cancelled() > 0 {
            outcomes.push(Outcome {
                label: "cancelled".into(),
                count: stats.cancelled(),
                failed: false,
                message: None,
            });
        }
        let members = stats
            .members()
            .iter()
            .map(|m| {
                let s = Summary::of(&m.stats);
                let j = m.stats.journey();
                let sum = |t: &flak_core::LiteMap<String, flak_core::Tally>| {
                    t.values().map(|t| t.count).sum::<u64>()
                };
                let first = |t: &flak_core::LiteMap<String, flak_core::Tally>| {
                    t.iter()
                        .next()
                        .map(|(name, t)| format!("{name}: {}", t.first))
                };
                MemberView {
                    skipped: j.skipped,
                    checks_failed: sum(&j.checks_failed),
                    extracts_failed: sum(&j.extracts_failed),
                    first_failure: match (first(&j.checks_failed), first(&j.extracts_failed)) {
                        (Some(c), Some(e)) => Some(format!("check {c} · extract {e}")),
                        (Some(c), None) => Some(format!("check {c}")),
                        (None, Some(e)) => Some(format!("extract {e}")),
                        (None, None) => None,
                    },
                    name: m.name.clone(),
                    total: s.total,
                    succeeded: s.succeeded,
                    failed: s.failed,
                    p50: s.latency_ms.map(|l| l.p50),
                    p99: s.latency_ms.map(|l| l.p99),
                    outcomes: s.outcomes_line(),
                }
            })
            .collect();
        let stages_line = plan.and_then(|p| p.load.as_ref()).map(|load| {
            let s = load.stages();
            let (kind, what) = match load {
                Load::Rate(_) => ("rate", format!("{:.0} requests", s.total())),
                Load::Concurrency(_) => ("in-flight", format!("peak {} in flight", s.peak())),
            };
            format!(
                "{kind} stages {s}: {what} over {}",
                flak_core::plan::format_duration(s.duration())
            )
        });
        let summary = Summary::of(stats);
        let heatmap = if with_report || stats.series().len() <= HEAT_COLUMNS as usize {
            Heatmap::of(stats, start)
        } else {
            Heatmap::default()
        };
        Self {
            journey: plan.is_some_and(|p| p.journey.is_some())
                || stats
                    .members()
                    .iter()
                    .any(|m| !m.stats.journey().is_empty()),
            rows_ran_out: stats.journey().rows_ran_out,
            members,
            outcome_lines: outcome_lines(stats, start),
            percentiles: PercentileRun::of("this run", "c1", stats, &summary.percentiles),
            heatmap,
            summary,
            series,
            curve,
            stage_ends,
            stages_line,
            bars: bar_counts(stats.latency(), 20)
                .into_iter()
                .map(|(us, n)| (us as f64 / 1e3, n))
                .collect(),
            outcomes,
            in_flight: stats.in_flight(),
            report: if with_report {
                text(stats)
            } else {
                String::new()
            },
        }
    }
}

/// What `plan` asked between `from` and `to` seconds into the run: the requests its rate or
/// rate stages intended to start then, or the in-flight limit its concurrency stages set,
/// averaged over a second. `None` when the plan asks neither.
pub fn asked_between(plan: &Plan, from: f64, to: f64) -> Option<f64> {
    let at = |t: f64| Duration::from_secs_f64(t.max(0.0));
    match (&plan.load, plan.rate) {
        (Some(load), _) => {
            let s = load.stages();
            Some(s.integral_to(at(to)) - s.integral_to(at(from)))
        }
        (None, Some(rate)) => {
            let end = match plan.stop {
                StopAfter::Duration(d) => d.as_secs_f64(),
                StopAfter::Requests(n) => n as f64 / rate,
            };
            Some(rate * (to.min(end) - from.max(0.0)).max(0.0))
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use flak_core::{ErrorKind, Outcome as O, RequestError, Response, Sample};

    use super::*;

    #[test]
    fn snapshot_lists_statuses_errors_and_seconds() {
        let mut stats = Stats::new(false);
        stats.begin(Duration::from_secs(1000));
        let outcomes = [
            O::Response(Response {
                status: 200,
                ..Response::default()
            }),
            O::Response(Response {
                status: 404,
                ..Response::default()
            }),
            O::Error(RequestError::new(
                ErrorKind::Network,
                "TypeError: Failed to fetch",
            )),
        ];
        for (i, o) in outcomes.iter().enumerate() {
            stats.record_issued();
            stats.record(&Sample {
                latency: Duration::from_millis(10),
                uncorrected: None,
                // Mid-second, so the 10 ms in flight stays within the same second.
                end_unix: Duration::from_millis(1_000_500 + 1000 * i as u64),
                outcome: o,
            });
        }
        let s = Snapshot::of(&stats, None);
        assert_eq!(s.curve, Curve::None);
        assert!(s.series.iter().all(|p| p.asked.is_none()));
        assert_eq!(
            s.series.iter().map(|p| p.t).collect::<Vec<_>>(),
            vec![0.0, 1.0, 2.0]
        );
        let labels: Vec<_> = s
            .outcomes
            .iter()
            .map(|o| (o.label.as_str(), o.failed))
            .collect();
        assert_eq!(
            labels,
            vec![("200", false), ("404", true), ("network", true)]
        );
        assert_eq!(
            s.outcomes[2].message.as_deref(),
            Some("TypeError: Failed to fetch")
        );
        assert_eq!(s.bars.iter().map(|b| b.1).sum::<u64>(), 2);
    }

    #[test]
    fn the_plans_curve_is_asked_per_second_with_its_stage_ends() {
        use flak_core::{RequestSpec, Stages};
        let stages = Stages::parse("1s:50,1s:100,1s:0").unwrap();
        let plan = Plan::builder()
            .request(RequestSpec::get("http://127.0.0.1:9/").unwrap())
            .load(Load::Rate(stages))
            .build()
            .unwrap();
        // Whole seconds from the start: 25, 75, 50 requests.
        let per_second: Vec<f64> = (0..4)
            .map(|k| asked_between(&plan, f64::from(k), f64::from(k + 1)).unwrap())
            .collect();
        assert_eq!(per_second, vec![25.0, 75.0, 50.0, 0.0]);
        // Seconds that straddle the start still add up to the curve.
        let straddled: f64 = (0..4)
            .map(|k| asked_between(&plan, f64::from(k) - 0.3, f64::from(k) + 0.7).unwrap())
            .sum();
        assert!((straddled - 150.0).abs() < 1e-9, "{straddled}");

        let mut stats = Stats::new(true);
        stats.begin(Duration::from_millis(1_000_250));
        let s = Snapshot::of(&stats, Some(&plan));
        assert_eq!(s.curve, Curve::Rate);
        assert_eq!(s.stage_ends, vec![0.75, 1.75, 2.75]);
        assert_eq!(
            s.stages_line.as_deref(),
            Some("rate stages 1s:50,1s:100,1s:0: 150 requests over 3s")
        );

        let flat = Plan::builder()
            .request(RequestSpec::get("http://127.0.0.1:9/").unwrap())
            .requests(100)
            .rate(Some(50.0))
            .build()
            .unwrap();
        assert_eq!(asked_between(&flat, 0.0, 1.0), Some(50.0));
        assert_eq!(
            asked_between(&flat, 1.5, 2.5),
            Some(25.0),
            "the run ends at 2 s"
        );
        assert_eq!(Snapshot::of(&stats, Some(&flat)).curve, Curve::Rate);
    }

    /// Stats over `seconds` seconds, second `k` holding 100 responses (latency growing with
    /// `k`), every tenth a 503, plus a timeout in odd seconds.
    fn seconds_of_traffic(seconds: u64) -> Stats {
        let mut stats = Stats::new(false);
        stats.begin(Duration::from_secs(1000));
        let ok = O::Response(Response {
            status: 200,
            ..Response::default()
        });
        let unavailable = O::Response(Response {
            status: 503,
            ..Response::default()
        });
        let timeout = O::Error(RequestError::new(ErrorKind::Timeout, "slow"));
        for k in 0..seconds {
            for i in 0..100u64 {
                stats.record_issued();
                stats.record(&Sample {
                    latency: Duration::from_micros(2_000 + k * 300 + i * 37),
                    uncorrected: None,
                    end_unix: Duration::from_millis(1_000_000 + k * 1000 + 900),
                    outcome: if i % 10 == 0 { &unavailable } else { &ok },
                });
            }
            if k % 2 == 1 {
                stats.record_issued();
                stats.record(&Sample {
                    latency: Duration::from_secs(1),
                    uncorrected: None,
                    end_unix: Duration::from_millis(1_000_000 + k * 1000 + 950),
                    outcome: &timeout,
                });
            }
        }
        stats
    }

    #[test]
    fn the_heatmap_bins_every_response_once() {
        let stats = seconds_of_traffic(30);
        let s = Snapshot::of(&stats, None);
        let m = &s.heatmap;
        assert_eq!(m.cols, 30);
        assert_eq!(m.col_s, 1.0);
        let total: u64 = m.cells.iter().map(|c| c.2).sum();
        assert_eq!(total, 3000, "responses, not the timeouts");
        assert!(m.rows >= 8 && m.rows <= 40, "{} rows", m.rows);
        // Row bounds sit on the step, which is 1-2-5.
        let steps = m.step_ms / 10f64.powf(m.step_ms.log10().floor());
        assert!(
            [1.0, 2.0, 5.0].iter().any(|s| (s - steps).abs() < 1e-9),
            "{}",
            m.step_ms
        );
        assert!((m.from_ms / m.step_ms - (m.from_ms / m.step_ms).round()).abs() < 1e-9);
        // Each column holds its second's 100 responses, in rows that move up with the latency.
        for col in 0..30 {
            let n: u64 = m.cells.iter().filter(|c| c.0 == col).map(|c| c.2).sum();
            assert_eq!(n, 100, "column {col}");
        }
        let lowest = |col| m.cells.iter().find(|c| c.0 == col).unwrap().1;
        assert!(lowest(29) > lowest(0));

        // A long run's columns are a round number of seconds, and still hold every response.
        let long = Heatmap::of(&seconds_of_traffic(400), 1000);
        assert_eq!(long.col_s, 5.0);
        assert_eq!(long.cols, 80);
        assert_eq!(long.cells.iter().map(|c| c.2).sum::<u64>(), 40_000);
    }

    #[test]
    fn outcome_lines_add_up_to_each_seconds_count() {
        let stats = seconds_of_traffic(6);
        let s = Snapshot::of(&stats, None);
        let lines = s.outcome_lines.as_ref().unwrap();
        let names: Vec<_> = lines.iter().map(|l| l.name).collect();
        assert_eq!(names, ["2xx", "5xx", "timeout"]);
        for (i, p) in s.series.iter().enumerate() {
            let sum: f64 = lines.iter().map(|l| l.points[i].1).sum();
            assert_eq!(sum, p.count as f64, "second {}", p.t);
        }
        // The percentile curve climbs to the slowest response, marks at the report's own.
        let run = &s.percentiles;
        assert_eq!(run.marks, s.summary.percentiles);
        assert!(
            run.curve
                .windows(2)
                .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0)
        );
        assert_eq!(
            run.curve.last().unwrap().1,
            s.summary.latency_ms.unwrap().max
        );
    }
}
