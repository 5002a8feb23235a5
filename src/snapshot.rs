//! What the page shows of a run, computed from the core's `Stats` a few times a second (never
//! per request): the summary, chart series (with what the plan asked of each second), histogram
//! bars and the text report.

use std::time::Duration;

use flak_core::report::{Summary, bar_counts, text};
use flak_core::{Load, Plan, Stats, StopAfter};

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
                let sum = |t: &std::collections::BTreeMap<String, flak_core::Tally>| {
                    t.values().map(|t| t.count).sum::<u64>()
                };
                let first = |t: &std::collections::BTreeMap<String, flak_core::Tally>| {
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
        Self {
            journey: plan.is_some_and(|p| p.journey.is_some())
                || stats
                    .members()
                    .iter()
                    .any(|m| !m.stats.journey().is_empty()),
            rows_ran_out: stats.journey().rows_ran_out,
            members,
            summary: Summary::of(stats),
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
}
