//! Load that changes over time (k6's stages): a list of `(duration, target)` steps, each ramping
//! linearly from the previous target (the first from 0). The same curve serves the open model
//! (the target is a rate in requests per second) and the closed model (the target is an
//! in-flight limit).
//!
//! For the open model the intended start of request `i` is where the curve's integral reaches
//! `i`, computed exactly on each linear piece (a quadratic), not approximated per second, so
//! that latency counted from the intended start stays free of coordinated omission as `-q`'s is.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::plan::{format_duration, parse_duration};

/// One step: over `duration`, the target moves linearly to `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

/// A whole curve: at least one stage, every duration above zero, every target finite and ≥ 0.
/// In plans and results files it is its text form (`"30s:1000,2m:1000,30s:0"`), checked again
/// when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Stages {
    stages: Vec<Stage>,
}

impl Stages {
    /// Checks and takes `stages`.
    pub fn new(stages: Vec<Stage>) -> Result<Self, String> {
        if stages.is_empty() {
            return Err(
                "no stages: expected DURATION:TARGET,… such as 30s:100,1m:100,30s:0".into(),
            );
        }
        for (i, s) in stages.iter().enumerate() {
            if s.duration.is_zero() {
                return Err(format!("stage {}: a duration of zero", i + 1));
            }
            if !s.target.is_finite() || s.target < 0.0 {
                return Err(format!(
                    "stage {}: target {} is not a number of zero or more",
                    i + 1,
                    s.target
                ));
            }
        }
        Ok(Self { stages })
    }

    /// Parses `30s:1000,2m:1000,30s:0` (spaces around the parts allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let stages = text
            .split(',')
            .enumerate()
            .map(|(i, part)| {
                let n = i + 1;
                let (duration, target) = part.split_once(':').ok_or_else(|| {
                    format!(
                        "stage {n} {:?}: expected DURATION:TARGET, such as 30s:100",
                        part.trim()
                    )
                })?;
                let duration = duration.trim();
                if duration.starts_with('-') {
                    return Err(format!("stage {n}: a negative duration ({duration})"));
                }
                let duration = parse_duration(duration).map_err(|e| format!("stage {n}: {e}"))?;
                let target = target.trim();
                let target: f64 = target
                    .parse()
                    .map_err(|_| format!("stage {n}: target {target:?} is not a number"))?;
                Ok(Stage { duration, target })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Self::new(stages)
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The curve's whole length.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// Each linear piece: (start in seconds, length in seconds, value at its start, at its end).
    fn pieces(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        let mut start = 0.0;
        let mut from = 0.0;
        self.stages.iter().map(move |s| {
            let piece = (start, s.duration.as_secs_f64(), from, s.target);
            start += s.duration.as_secs_f64();
            from = s.target;
            piece
        })
    }

    /// The target at time `t` from the curve's start (the last target after its end).
    pub fn value_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        for (start, len, a, b) in self.pieces() {
            if t < start + len {
                return a + (b - a) * (t - start) / len;
            }
        }
        self.stages.last().map_or(0.0, |s| s.target)
    }

    /// The curve's integral from its start to `t`, capped at its end: for a rate, the requests
    /// intended by then.
    pub fn integral_to(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut total = 0.0;
        for (start, len, a, b) in self.pieces() {
            let x = (t - start).clamp(0.0, len);
            total += a * x + (b - a) * x * x / (2.0 * len);
            if t < start + len {
                break;
            }
        }
        total
    }

    /// The whole curve's integral: for a rate, the requests it asks for.
    pub fn total(&self) -> f64 {
        self.integral_to(self.duration())
    }

    /// When the integral reaches `n` (the intended start of request `n`, counting from 0), or
    /// `None` past the curve's end.
    pub fn time_of(&self, n: f64) -> Option<Duration> {
        let mut before = 0.0;
        for (start, len, a, b) in self.pieces() {
            let area = (a + b) * len / 2.0;
            if n < before + area {
                let m = n - before;
                let k = (b - a) / len;
                // Solves a·x + k·x²/2 = m in the stable form 2m / (a + √(a² + 2km)), which also
                // holds for a falling ramp and for a ramp up from zero.
                let root = (a * a + 2.0 * k * m).max(0.0).sqrt();
                let x = if a + root > 0.0 {
                    2.0 * m / (a + root)
                } else {
                    0.0
                };
                return Some(Duration::from_secs_f64(start + x.clamp(0.0, len)));
            }
            before += area;
        }
        None
    }

    /// The highest target anywhere on the curve.
    pub fn peak(&self) -> f64 {
        self.stages.iter().map(|s| s.target).fold(0.0, f64::max)
    }

    /// The earliest time at or after `from` when the curve stands at `level` or above (`None`
    /// if it never does again before its end). A closed-model slot numbered `g` runs while the
    /// curve is at `g + 1` or above.
    pub fn when_at_least(&self, level: f64, from: Duration) -> Option<Duration> {
        let from_s = from.as_secs_f64();
        for (start, len, a, b) in self.pieces() {
            let end = start + len;
            if end <= from_s {
                continue;
            }
            let t = from_s.max(start);
            let here = a + (b - a) * (t - start) / len;
            if here >= level {
                return Some(Duration::from_secs_f64(t));
            }
            if b >= level && b > a {
                let reach = start + (level - a) / (b - a) * len;
                return Some(Duration::from_secs_f64(reach.clamp(t, end)));
            }
        }
        None
    }

    /// Each shard's curve when the load is split `n` ways: every target divided by `n`, so the
    /// shards' curves add up to this one.
    pub fn share(&self, n: u32) -> Stages {
        let n = f64::from(n.max(1));
        Stages {
            stages: self
                .stages
                .iter()
                .map(|s| Stage {
                    duration: s.duration,
                    target: s.target / n,
                })
                .collect(),
        }
    }
}

impl TryFrom<String> for Stages {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Stages> for String {
    fn from(stages: Stages) -> String {
        stages.to_string()
    }
}

impl std::fmt::Display for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", format_duration(s.duration), s.target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_ramp_up_hold_and_down_integrates_to_its_area() {
        let s = Stages::parse("2s:100, 2s:400 ,2s:0").unwrap();
        assert_eq!(s.duration(), secs(6.0));
        // 0→100 over 2 s: 100; 100→400 over 2 s: 500; 400→0 over 2 s: 400.
        assert!((s.total() - 1000.0).abs() < 1e-9);
        assert!((s.integral_to(secs(2.0)) - 100.0).abs() < 1e-9);
        assert!((s.integral_to(secs(4.0)) - 600.0).abs() < 1e-9);
        assert!((s.value_at(secs(1.0)) - 50.0).abs() < 1e-9);
        assert!((s.value_at(secs(3.0)) - 250.0).abs() < 1e-9);
        assert!((s.value_at(secs(5.0)) - 200.0).abs() < 1e-9);
        assert_eq!(s.value_at(secs(10.0)), 0.0);
    }

    #[test]
    fn request_times_invert_the_integral_on_every_kind_of_piece() {
        let s = Stages::parse("2s:100,2s:400,2s:0,1s:0,1s:50").unwrap();
        let total = s.total();
        let mut last = Duration::ZERO;
        let mut n = 0.0;
        while n < total {
            let t = s.time_of(n).unwrap();
            assert!(t >= last, "request {n}: {t:?} before {last:?}");
            assert!((s.integral_to(t) - n).abs() < 1e-6, "request {n} at {t:?}");
            last = t;
            n += 1.0;
        }
        assert_eq!(s.time_of(total + 1.0), None);
        // The flat zero stage sends nothing: no request falls inside it.
        let in_pause = (0..total as u64)
            .filter_map(|i| s.time_of(i as f64))
            .filter(|t| *t > secs(6.0) && *t < secs(7.0))
            .count();
        assert_eq!(in_pause, 0);
    }

    #[test]
    fn a_flat_stage_is_a_constant_rate() {
        let s = Stages::new(vec![Stage {
            duration: secs(10.0),
            target: 0.0,
        }])
        .unwrap();
        assert_eq!(s.time_of(0.0), None);
        let s = Stages::parse("0.5s:200,10s:200").unwrap();
        // After the half-second ramp (50 requests), one every 5 ms.
        let t = s.time_of(50.0 + 200.0).unwrap();
        assert!((t.as_secs_f64() - 1.5).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn shares_add_up_to_the_curve() {
        let s = Stages::parse("30s:1000,2m:1000,30s:0").unwrap();
        let share = s.share(3);
        assert!((3.0 * share.total() - s.total()).abs() < 1e-6);
        assert_eq!(share.duration(), s.duration());
        assert_eq!(s.to_string(), "30s:1000,120s:1000,30s:0");
        assert_eq!(Stages::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn slots_start_when_the_curve_reaches_them() {
        let s = Stages::parse("10s:100,10s:100,10s:0").unwrap();
        // Slot 9 runs from level 10: a tenth of the way up the first ramp.
        assert_eq!(s.when_at_least(10.0, secs(0.0)), Some(secs(1.0)));
        assert_eq!(s.when_at_least(10.0, secs(5.0)), Some(secs(5.0)));
        // On the way down it stops at 29 s; never again after.
        assert_eq!(s.when_at_least(10.0, secs(28.0)), Some(secs(28.0)));
        assert_eq!(s.when_at_least(10.0, secs(29.5)), None);
        assert_eq!(s.when_at_least(101.0, secs(0.0)), None);
        assert_eq!(s.peak(), 100.0);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"10s:100,10s:100,10s:0\"");
        assert_eq!(serde_json::from_str::<Stages>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Stages>("\"10s:x\"").is_err());
    }

    #[test]
    fn bad_stages_say_which_and_why() {
        for (text, says) in [
            ("", "stage 1"),
            ("30s", "expected DURATION:TARGET"),
            ("0s:10", "a duration of zero"),
            ("-5s:10", "a negative duration"),
            ("10s:fast", "target \"fast\" is not a number"),
            ("10s:-3", "not a number of zero or more"),
            ("10s:NaN", "not a number of zero or more"),
            ("10s:5,abc:3", "stage 2"),
        ] {
            let e = Stages::parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
