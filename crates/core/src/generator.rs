//! The generator watching itself: under a rate (or rate stages), how late each request started
//! against its intended time, how many requests no slot was free for at that time (the in-flight
//! limit held them back), and how many the rate asked for — so that a client that could not keep
//! up is said to be the limit, instead of the server being blamed for it. Merges by adding, like
//! the rest of [`crate::Stats`].

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::report::format_ms;
use crate::stats::{micros, new_histogram, put};

/// Start lag above this at the 99th percentile, with too few requests sent, means the generator
/// fell behind.
pub const LAG_P99_LIMIT_MS: f64 = 1.0;
/// Below this share of the asked rate, a lagging generator is the limit.
pub const ACHIEVED_SHARE: f64 = 0.98;
/// The in-flight limit is the limit when the requests it delayed or kept from going out are at
/// least this share of the asked ones.
pub const HELD_BACK_SHARE: f64 = 0.01;

/// What the scheduler saw of itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Generator {
    /// Microseconds from each request's intended start to its send.
    pub(crate) lag: Histogram<u64>,
    /// Requests whose intended start passed while every slot was busy.
    pub(crate) held_back: u64,
    /// Requests the rate asked for while the run lasted.
    pub(crate) asked: u64,
}

impl Default for Generator {
    fn default() -> Self {
        Self {
            lag: new_histogram(),
            held_back: 0,
            asked: 0,
        }
    }
}

impl Generator {
    /// A request went out `lag` after its intended start; `held` when no slot was free then.
    pub fn record(&mut self, lag: std::time::Duration, held: bool) {
        put(&mut self.lag, micros(lag));
        self.held_back += u64::from(held);
    }

    pub fn add_asked(&mut self, n: u64) {
        self.asked = self.asked.saturating_add(n);
    }

    pub fn merge(&mut self, other: &Generator) {
        self.lag.add(&other.lag).ok();
        self.held_back = self.held_back.saturating_add(other.held_back);
        self.asked = self.asked.saturating_add(other.asked);
    }

    pub fn lag(&self) -> &Histogram<u64> {
        &self.lag
    }

    pub fn held_back(&self) -> u64 {
        self.held_back
    }

    pub fn asked(&self) -> u64 {
        self.asked
    }
}

/// The generator's numbers as reports show them, with the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorSummary {
    pub asked: u64,
    pub asked_rps: f64,
    pub achieved_rps: f64,
    pub lag_p50_ms: Option<f64>,
    pub lag_p99_ms: Option<f64>,
    pub lag_max_ms: Option<f64>,
    pub held_back: u64,
    /// Why the generator, not the server, limited the run (`None`: it kept up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_bound: Option<String>,
}

impl GeneratorSummary {
    /// `issued` requests went out over `elapsed_s` seconds.
    pub fn of(g: &Generator, issued: u64, elapsed_s: f64) -> Self {
        let per_s = |n: u64| {
            if elapsed_s > 0.0 {
                n as f64 / elapsed_s
            } else {
                0.0
            }
        };
        let ms = |q: f64| (!g.lag.is_empty()).then(|| g.lag.value_at_quantile(q) as f64 / 1e3);
        let mut s = Self {
            asked: g.asked,
            asked_rps: per_s(g.asked),
            achieved_rps: per_s(issued),
            lag_p50_ms: ms(0.5),
            lag_p99_ms: ms(0.99),
            lag_max_ms: (!g.lag.is_empty()).then(|| g.lag.max() as f64 / 1e3),
            held_back: g.held_back,
            generator_bound: None,
        };
        s.generator_bound = s.verdict(issued);
        s
    }

    fn verdict(&self, issued: u64) -> Option<String> {
        let asked = self.asked as f64;
        let missing = self.asked.saturating_sub(issued);
        if self.held_back > 0 && (self.held_back + missing) as f64 >= HELD_BACK_SHARE * asked {
            let never = if missing > 0 {
                format!(", and {missing} of the {} asked never went out", self.asked)
            } else {
                String::new()
            };
            return Some(format!(
                "the in-flight limit was full: {} requests started late waiting for a free slot{never}; raise -c",
                self.held_back
            ));
        }
        let p99 = self.lag_p99_ms.unwrap_or(0.0);
        if p99 > LAG_P99_LIMIT_MS && (issued as f64) < ACHIEVED_SHARE * asked {
            return Some(format!(
                "requests started late (start lag p99 {}) and {:.1}/s of the {:.1}/s asked went out: the client machine, not the server, set the pace",
                format_ms(p99),
                self.achieved_rps,
                self.asked_rps
            ));
        }
        None
    }

    /// The report's lines.
    pub fn lines(&self) -> Vec<String> {
        let lag = match (self.lag_p50_ms, self.lag_p99_ms, self.lag_max_ms) {
            (Some(p50), Some(p99), Some(max)) => format!(
                "start lag p50 {}, p99 {}, max {}",
                format_ms(p50),
                format_ms(p99),
                format_ms(max)
            ),
            _ => "no request started".into(),
        };
        let mut lines = vec![format!(
            "asked {:.1}/s ({} requests), achieved {:.1}/s; {lag}; held back by the in-flight limit: {}",
            self.asked_rps, self.asked, self.achieved_rps, self.held_back
        )];
        if let Some(why) = &self.generator_bound {
            lines.push(format!("GENERATOR-BOUND: {why}"));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn watch(lags_ms: &[u64], held: u64, asked: u64) -> Generator {
        let mut g = Generator::default();
        for (i, l) in lags_ms.iter().enumerate() {
            g.record(Duration::from_millis(*l), (i as u64) < held);
        }
        g.add_asked(asked);
        g
    }

    #[test]
    fn a_generator_that_kept_up_is_not_blamed() {
        let g = watch(&[0; 100], 0, 100);
        let s = GeneratorSummary::of(&g, 100, 10.0);
        assert_eq!(s.generator_bound, None);
        assert_eq!((s.asked_rps, s.achieved_rps), (10.0, 10.0));
        // Late starts alone are not enough when the rate was still met.
        let s = GeneratorSummary::of(&watch(&[5; 100], 0, 100), 99, 10.0);
        assert_eq!(s.generator_bound, None);
    }

    #[test]
    fn lag_with_a_shortfall_or_a_full_cap_is_named() {
        let s = GeneratorSummary::of(&watch(&[5; 90], 0, 100), 90, 10.0);
        let why = s.generator_bound.unwrap();
        assert!(
            why.contains("start lag p99 5") && why.contains("9.0/s of the 10.0/s"),
            "{why}"
        );
        let s = GeneratorSummary::of(&watch(&[0; 100], 2, 100), 100, 10.0);
        let why = s.generator_bound.as_ref().unwrap();
        assert!(
            why.contains("full: 2 requests started late") && !why.contains("never"),
            "{why}"
        );
        let s = GeneratorSummary::of(&watch(&[0; 50], 1, 100), 50, 10.0);
        let why = s.generator_bound.as_ref().unwrap();
        assert!(
            why.contains("and 50 of the 100 asked never went out; raise -c"),
            "{why}"
        );
        assert!(s.lines()[1].starts_with("GENERATOR-BOUND"));
    }

    #[test]
    fn merging_adds() {
        let mut a = watch(&[1, 2], 1, 10);
        a.merge(&watch(&[3], 1, 5));
        assert_eq!((a.lag.len(), a.held_back, a.asked), (3, 2, 15));
    }
}
