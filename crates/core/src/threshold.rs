//! Thresholds for CI: `p99>250ms`, `errors>1%`, `rps<1000`. A run breaks a threshold when its
//! condition holds; the CLI then exits 1 and prints one line per broken threshold. Relative
//! ones compare with a baseline run (`--baseline BASE.json`): `p99>+10%` is broken when the
//! p99 grew by more than a tenth, `rps<-5%` when throughput fell by more than 5%.

use std::fmt;

use crate::stats::Stats;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    /// A latency percentile (0–100), in ms.
    Percentile(f64),
    Min,
    Mean,
    Max,
    Rps,
    /// Failed requests: a count, or a share of finished requests with `%`.
    Errors,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed `--fail-if` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    text: String,
    metric: Metric,
    op: Op,
    value: f64,
    percent: bool,
    /// `value` is a signed change in percent against a baseline run.
    relative: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid threshold {text:?}: {reason}")]
pub struct ThresholdError {
    pub text: String,
    pub reason: String,
}

impl Threshold {
    pub fn parse(text: &str) -> Result<Self, ThresholdError> {
        let err = |reason: &str| ThresholdError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let pos = compact
            .find(['>', '<'])
            .ok_or_else(|| err("expected METRIC>VALUE or METRIC<VALUE, e.g. p99>250ms"))?;
        let (name, rest) = compact.split_at(pos);
        let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else {
            (Op::Lt, &rest[1..])
        };
        let metric = match name.to_ascii_lowercase().as_str() {
            "min" => Metric::Min,
            "mean" | "avg" => Metric::Mean,
            "max" => Metric::Max,
            "rps" => Metric::Rps,
            "errors" | "failed" => Metric::Errors,
            "cancelled" => Metric::Cancelled,
            "p999" => Metric::Percentile(99.9),
            "" => return Err(err("missing metric before the comparison")),
            other => match other.strip_prefix('p').map(str::parse::<f64>) {
                Some(Ok(p)) if p > 0.0 && p <= 100.0 => Metric::Percentile(p),
                _ => {
                    return Err(err(
                        "unknown metric (use pNN, min, mean, max, rps, errors or cancelled)",
                    ));
                }
            },
        };
        if let Some(change) = value
            .strip_suffix('%')
            .filter(|v| v.starts_with(['+', '-']))
        {
            let change: f64 = change
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v > -100.0)
                .ok_or_else(|| {
                    err("a change needs a number of percent above -100, e.g. p99>+10%")
                })?;
            return Ok(Self {
                text: compact,
                metric,
                op,
                value: change,
                percent: false,
                relative: true,
            });
        }
        let is_latency = matches!(
            metric,
            Metric::Percentile(_) | Metric::Min | Metric::Mean | Metric::Max
        );
        let (number, percent, scale) = if is_latency {
            let (num, scale) = if let Some(n) = value.strip_suffix("ms") {
                (n, 1.0)
            } else if let Some(n) = value
                .strip_suffix("us")
                .or_else(|| value.strip_suffix("µs"))
            {
                (n, 1e-3)
            } else if let Some(n) = value.strip_suffix('s') {
                (n, 1e3)
            } else {
                return Err(err("a latency needs a unit: ms, s or us (e.g. p99>250ms)"));
            };
            (num, false, scale)
        } else if let Some(n) = value.strip_suffix('%') {
            if !matches!(metric, Metric::Errors | Metric::Cancelled) {
                return Err(err("only errors and cancelled take a percentage"));
            }
            (n, true, 1.0)
        } else {
            (value, false, 1.0)
        };
        let number: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| err("the value is not a non-negative number"))?;
        Ok(Self {
            text: compact,
            metric,
            op,
            value: number * scale,
            percent,
            relative: false,
        })
    }

    /// Whether this threshold compares with a baseline run (`p99>+10%`).
    pub fn is_relative(&self) -> bool {
        self.relative
    }

    /// [`check`](Self::check), for a relative threshold against `baseline`'s same measure (an
    /// absolute threshold ignores the baseline).
    pub fn check_against(&self, stats: &Stats, baseline: &Stats) -> Option<String> {
        if !self.relative {
            return self.check(stats);
        }
        let (Some(v), Some(base)) = (self.measure(stats), self.measure(baseline)) else {
            return Some(format!(
                "threshold broken: {} (no responses to measure in this run or the baseline)",
                self.text
            ));
        };
        let limit = base * (1.0 + self.value / 100.0);
        let broken = match self.op {
            Op::Gt => v > limit,
            Op::Ge => v >= limit,
            Op::Lt => v < limit,
            Op::Le => v <= limit,
        };
        let change = if base == 0.0 {
            "from zero".to_string()
        } else {
            format!("{:+.1}%", (v - base) / base * 100.0)
        };
        broken.then(|| {
            format!(
                "threshold broken: {} (measured {}, baseline {}: {change})",
                self.text,
                self.unit(v),
                self.unit(base)
            )
        })
    }

    /// The measured value this threshold looks at, in its own unit; `None` when the run has no
    /// such number (no responses, so no latency).
    pub fn measure(&self, stats: &Stats) -> Option<f64> {
        let h = stats.latency();
        let ms = |us: u64| us as f64 / 1e3;
        let share = |n: u64| {
            let total = stats.total();
            if total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / total as f64
            }
        };
        let latency_empty = h.is_empty();
        Some(match self.metric {
            Metric::Percentile(_) | Metric::Min | Metric::Mean | Metric::Max if latency_empty => {
                return None;
            }
            Metric::Percentile(p) => ms(h.value_at_quantile(p / 100.0)),
            Metric::Min => ms(h.min()),
            Metric::Mean => h.mean() / 1e3,
            Metric::Max => ms(h.max()),
            Metric::Rps => stats.rps(),
            Metric::Errors if self.percent => share(stats.failed()),
            Metric::Errors => stats.failed() as f64,
            Metric::Cancelled if self.percent => share(stats.cancelled()),
            Metric::Cancelled => stats.cancelled() as f64,
        })
    }

    /// `Some(message)` when the run breaks this threshold. A latency threshold on a run with no
    /// responses is broken: nothing met it.
    pub fn check(&self, stats: &Stats) -> Option<String> {
        if self.relative {
            return Some(format!(
                "threshold {} compares with a baseline run: give --baseline FILE",
                self.text
            ));
        }
        let Some(v) = self.measure(stats) else {
            return Some(format!(
                "threshold broken: {} (no responses to measure)",
                self.text
            ));
        };
        self.holds(v).then(|| {
            format!(
                "threshold broken: {} (measured {})",
                self.text,
                self.unit(v)
            )
        })
    }

    /// Whether the condition holds for a value [`measure`](Self::measure)d (`--fail-if`:
    /// broken; `--slo`: met).
    pub fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Gt => v > self.value,
            Op::Ge => v >= self.value,
            Op::Lt => v < self.value,
            Op::Le => v <= self.value,
        }
    }

    /// The limit of a latency-percentile threshold: `p99<100ms` gives `(99.0, 100.0)`, the
    /// percentile and its limit in ms (for drawing the limit as a line on a latency chart).
    pub fn percentile_ms(&self) -> Option<(f64, f64)> {
        match self.metric {
            Metric::Percentile(p) => Some((p, self.value)),
            _ => None,
        }
    }

    /// The limit of an error-share threshold in percent: `errors<1%` gives `1.0`; a count
    /// (`errors<5`) gives `None`.
    pub fn error_percent(&self) -> Option<f64> {
        (self.metric == Metric::Errors && self.percent).then_some(self.value)
    }

    /// A measured value in this threshold's unit, for messages: `990.207 ms`, `2.00%`.
    pub(crate) fn unit(&self, v: f64) -> String {
        match self.metric {
            Metric::Percentile(_) | Metric::Min | Metric::Mean | Metric::Max => {
                format!("{v:.3} ms")
            }
            Metric::Rps => format!("{v:.1} req/s"),
            _ if self.percent => format!("{v:.2}%"),
            _ => format!("{v}"),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_threshold_compares_with_the_baseline() {
        let mut base = Stats::new(false);
        let mut new = Stats::new(false);
        let ok = crate::transport::Outcome::Response(crate::transport::Response {
            status: 200,
            ..Default::default()
        });
        for (stats, ms) in [(&mut base, 10u64), (&mut new, 12u64)] {
            for _ in 0..100 {
                stats.record_sent(std::time::Duration::ZERO);
                stats.record(&crate::stats::Sample {
                    latency: std::time::Duration::from_millis(ms),
                    uncorrected: None,
                    end_unix: std::time::Duration::from_secs(1),
                    outcome: &ok,
                });
            }
        }
        let grew_10 = Threshold::parse("p99>+10%").unwrap();
        assert!(grew_10.is_relative());
        let broken = grew_10.check_against(&new, &base).unwrap();
        assert!(
            broken.contains("baseline 10.007 ms: +19.9%") || broken.contains("+20"),
            "{broken}"
        );
        assert_eq!(
            Threshold::parse("p99>+25%")
                .unwrap()
                .check_against(&new, &base),
            None
        );
        assert!(
            Threshold::parse("p99>+10%")
                .unwrap()
                .check(&new)
                .unwrap()
                .contains("--baseline")
        );
        assert!(Threshold::parse("p99>+x%").is_err());
        assert!(Threshold::parse("rps<-100%").is_err());
        assert!(crate::capacity::Slo::parse("p99<+10%").is_err());
    }
    use std::time::Duration;

    use crate::stats::Sample;
    use crate::transport::{Outcome, Response};

    #[test]
    fn limits_read_back_for_charts() {
        let t = |s: &str| Threshold::parse(s).unwrap();
        assert_eq!(t("p99<100ms").percentile_ms(), Some((99.0, 100.0)));
        assert_eq!(t("p50 < 0.25s").percentile_ms(), Some((50.0, 250.0)));
        assert_eq!(t("p999<2ms").percentile_ms(), Some((99.9, 2.0)));
        assert_eq!(t("mean<100ms").percentile_ms(), None);
        assert_eq!(t("errors<1%").error_percent(), Some(1.0));
        assert_eq!(t("errors<1%").percentile_ms(), None);
        assert_eq!(t("errors<5").error_percent(), None);
        assert_eq!(t("cancelled<1%").error_percent(), None);
        assert_eq!(t("p99<100ms").error_percent(), None);
    }

    /// 1000 requests over 2 s: latencies 1..=1000 ms, the last 20 with status 500.
    fn stats() -> Stats {
        let mut s = Stats::new(false);
        s.begin(Duration::from_secs(100));
        for i in 1..=1000u64 {
            let status = if i > 980 { 500 } else { 200 };
            let o = Outcome::Response(Response {
                status,
                ..Response::default()
            });
            s.record_issued();
            s.record(&Sample {
                latency: Duration::from_millis(i),
                uncorrected: None,
                end_unix: Duration::from_secs(101),
                outcome: &o,
            });
        }
        s.finish(Duration::from_secs(102));
        s
    }

    #[test]
    fn checks_report_broken_thresholds() {
        let s = stats();
        let broken = |t: &str| Threshold::parse(t).unwrap().check(&s);
        assert_eq!(
            broken("p99>250ms").unwrap(),
            "threshold broken: p99>250ms (measured 990.207 ms)"
        );
        assert!(broken("p99 > 1s").is_none());
        assert!(broken("errors>1%").unwrap().contains("2.00%"));
        assert!(broken("errors>=21").is_none());
        assert!(broken("rps<1000").unwrap().contains("500.0 req/s"));
        assert!(broken("max<=1001ms").is_some());
        assert!(broken("p50>600000us").is_none());
        assert!(broken("p99.9>999ms").is_some());
        let empty = Stats::new(false);
        assert!(
            Threshold::parse("p99>1s")
                .unwrap()
                .check(&empty)
                .unwrap()
                .contains("no responses")
        );
        assert!(
            Threshold::parse("errors>0")
                .unwrap()
                .check(&empty)
                .is_none()
        );
    }

    #[test]
    fn bad_thresholds_say_why() {
        for (t, want) in [
            ("p99", "expected METRIC>VALUE"),
            ("p99>250", "needs a unit"),
            ("p200>1ms", "unknown metric"),
            ("latency>1ms", "unknown metric"),
            ("rps>10%", "only errors and cancelled"),
            ("errors>-1", "non-negative"),
            (">5", "missing metric"),
            ("p99>abcms", "not a non-negative number"),
        ] {
            let e = Threshold::parse(t).unwrap_err().to_string();
            assert!(e.contains(want), "{t}: {e:?} should contain {want:?}");
        }
    }
}
