//! What the page shows of a run, computed from the core's `Stats` a few times a second (never
//! per request): the summary, chart series, histogram bars and the text report.

use flak_core::Stats;
use flak_core::report::{Summary, bar_counts, text};

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Fan-out members (empty for ordinary runs).
    pub members: Vec<MemberView>,
    pub summary: Summary,
    pub series: Vec<Point>,
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
    pub fn live(stats: &Stats) -> Self {
        Self::build(stats, false)
    }

    /// The full snapshot of a finished run or an imported file.
    pub fn of(stats: &Stats) -> Self {
        Self::build(stats, true)
    }

    fn build(stats: &Stats, with_report: bool) -> Self {
        let start = stats.started_unix().map_or(0, |d| d.as_secs());
        let series = stats
            .series()
            .iter()
            .map(|(sec, i)| Point {
                t: sec.saturating_sub(start) as f64,
                count: i.count,
                errors: i.errors,
                p50: i.quantile_ms(0.5),
                p90: i.quantile_ms(0.9),
                p99: i.quantile_ms(0.99),
            })
            .collect();
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
                failed: !((200..400).contains(code) || *code == 0),
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
                MemberView {
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
        Self {
            members,
            summary: Summary::of(stats),
            series,
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
                end_unix: Duration::from_secs(1000 + i as u64),
                outcome: o,
            });
        }
        let s = Snapshot::of(&stats);
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
}
