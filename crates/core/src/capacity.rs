//! Capacity search (`flak capacity`): the highest open-model rate a server sustains while every
//! SLO holds, as a state machine with no I/O. A front end asks [`Search::next_rate`], runs one
//! step at that rate, and hands back what it measured ([`Measured`]) with [`Search::record`].
//!
//! The rule: start at the start rate and double after every step that met every SLO (never past
//! the max rate); once a step breaks one, bisect between the highest rate that met them all and
//! the lowest that broke one, until the gap is within [`TOLERANCE`] of the lower rate or
//! [`MAX_STEPS`] steps have run. A step the generator itself could not deliver is never taken
//! as the server's limit: the search raises no further than it, bisects below it, and says so.

use serde::{Deserialize, Serialize};

use crate::stats::Stats;
use crate::threshold::{Threshold, ThresholdError};

/// How much the rate grows after a step that met every SLO.
pub const FACTOR: f64 = 2.0;
/// Bisection ends when the lowest failing rate is within this share above the highest passing.
pub const TOLERANCE: f64 = 0.05;
/// The step budget: a search never runs more steps than this.
pub const MAX_STEPS: usize = 20;

/// A service-level objective, such as `p99<250ms` or `errors<1%`: the syntax of `--fail-if`
/// (see [`Threshold`]), in the opposite sense. An SLO is met when its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo(Threshold);

impl Slo {
    pub fn parse(text: &str) -> Result<Self, ThresholdError> {
        let threshold = Threshold::parse(text)?;
        if threshold.is_relative() {
            return Err(ThresholdError {
                text: text.to_string(),
                reason:
                    "an SLO is an absolute limit (e.g. p99<250ms), not a change against a baseline"
                        .into(),
            });
        }
        Ok(Self(threshold))
    }

    /// The condition, for reading its metric and limit.
    pub fn threshold(&self) -> &Threshold {
        &self.0
    }

    /// `None` when `stats` meets this SLO, otherwise one line saying what was measured. A
    /// latency SLO on a step with no responses is broken: nothing met it.
    pub fn check(&self, stats: &Stats) -> Option<String> {
        let Some(v) = self.0.measure(stats) else {
            return Some(format!("{} (no responses to measure)", self.0));
        };
        (!self.0.holds(v)).then(|| format!("{} (measured {})", self.0, self.0.unit(v)))
    }
}

impl std::fmt::Display for Slo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What one finished step measured: the input of [`Search::record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The rate the step asked for, requests per second.
    pub asked: f64,
    /// Requests issued per second of the step.
    pub achieved: f64,
    /// Latency percentiles in ms (from the intended start); `None` with no responses.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Failed requests, in percent of those accounted for (the share `errors<1%` reads).
    pub error_percent: f64,
    /// Why the generator could not deliver the asked rate, when it could not.
    #[serde(default)]
    pub generator_bound: Option<String>,
    /// The SLOs this step broke, one line each (empty: it met them all).
    #[serde(default)]
    pub broken: Vec<String>,
}

impl Measured {
    /// The numbers of a step that asked for `asked` requests/s, with `slos` checked against
    /// its statistics. `generator_bound` is the front end's verdict on its own generator.
    pub fn of(stats: &Stats, asked: f64, slos: &[Slo], generator_bound: Option<String>) -> Self {
        let secs = stats.elapsed().as_secs_f64();
        let h = stats.latency();
        let ms = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1e3);
        let total = stats.total();
        Self {
            asked,
            achieved: if secs > 0.0 {
                stats.issued() as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            error_percent: if total == 0 {
                0.0
            } else {
                stats.failed() as f64 * 100.0 / total as f64
            },
            generator_bound,
            broken: slos.iter().filter_map(|slo| slo.check(stats)).collect(),
        }
    }
}

/// What a step says about the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every SLO held at this rate.
    Met,
    /// At least one SLO broke: the server does not sustain this rate.
    Broke,
    /// The generator could not deliver the rate: nothing is known about the server here.
    GeneratorBound,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Broke => "broke",
            Verdict::GeneratorBound => "generator-bound",
        }
    }
}

/// One finished step of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    #[serde(flatten)]
    pub measured: Measured,
    pub verdict: Verdict,
}

/// Why the search could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The start rate is not a positive number.
    #[error("--start-rate must be a positive number of requests per second (got {0})")]
    StartRate(f64),
    /// The max rate is not a number, or below the start rate.
    #[error("--max-rate {max} is below --start-rate {start}")]
    MaxRate { start: f64, max: f64 },
    /// No SLO to search against.
    #[error("give at least one --slo, e.g. --slo 'p99<250ms'")]
    NoSlo,
}

/// The search in progress: ask [`next_rate`](Self::next_rate), run it, [`record`](Self::record)
/// what it measured, until `next_rate` is `None`; then read [`finding`](Self::finding).
#[derive(Debug, Clone)]
pub struct Search {
    start: f64,
    max: Option<f64>,
    steps: Vec<Step>,
    /// The highest rate that met every SLO.
    met: Option<f64>,
    /// The lowest rate that broke an SLO.
    broke: Option<f64>,
    /// The lowest rate the generator could not deliver, and why.
    ceiling: Option<(f64, String)>,
}

impl Search {
    pub fn new(start: f64, max: Option<f64>, slos: usize) -> Result<Self, SearchError> {
        if !(start.is_finite() && start > 0.0) {
            return Err(SearchError::StartRate(start));
        }
        if let Some(max) = max
            && !(max.is_finite() && max >= start)
        {
            return Err(SearchError::MaxRate { start, max });
        }
        if slos == 0 {
            return Err(SearchError::NoSlo);
        }
        Ok(Self {
            start,
            max,
            steps: Vec::new(),
            met: None,
            broke: None,
            ceiling: None,
        })
    }

    /// The rate of the next step, or `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        if self.steps.len() >= MAX_STEPS {
            return None;
        }
        self.wanted_rate()
    }

    /// The next rate the rule asks for, whatever the budget.
    fn wanted_rate(&self) -> Option<f64> {
        let Some(met) = self.met else {
            // Nothing met the SLOs yet: the first step, or the first step failed (the search
            // never goes below the start rate).
            return self.steps.is_empty().then_some(self.start);
        };
        match self.upper() {
            None => {
                let max = self.max.unwrap_or(f64::INFINITY);
                (met < max).then(|| (met * FACTOR).min(max))
            }
            Some(upper) => (upper - met > TOLERANCE * met).then(|| (met + upper) / 2.0),
        }
    }

    /// The lowest rate known not to be sustainable, by the server or by the generator.
    fn upper(&self) -> Option<f64> {
        match (self.broke, &self.ceiling) {
            (Some(b), Some((c, _))) => Some(b.min(*c)),
            (Some(b), None) => Some(b),
            (None, Some((c, _))) => Some(*c),
            (None, None) => None,
        }
    }

    /// Takes what the step at `measured.asked` measured, and returns its verdict.
    pub fn record(&mut self, measured: Measured) -> Verdict {
        let rate = measured.asked;
        let verdict = if let Some(reason) = &measured.generator_bound {
            if self.ceiling.as_ref().is_none_or(|(c, _)| rate < *c) {
                self.ceiling = Some((rate, reason.clone()));
            }
            Verdict::GeneratorBound
        } else if !measured.broken.is_empty() {
            self.broke = Some(self.broke.map_or(rate, |b| b.min(rate)));
            Verdict::Broke
        } else {
            self.met = Some(self.met.map_or(rate, |m| m.max(rate)));
            Verdict::Met
        };
        self.steps.push(Step { measured, verdict });
        verdict
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// What the search found so far (complete once `next_rate` is `None`).
    pub fn finding(&self) -> Finding {
        let sustainable = self.met;
        // A generator ceiling only matters when nothing the server broke lies below it.
        let generator_bound = self
            .ceiling
            .as_ref()
            .filter(|(c, _)| self.broke.is_none_or(|b| *c < b))
            .map(|(rate, reason)| GeneratorCeiling {
                rate: *rate,
                reason: reason.clone(),
            });
        let max_rate_reached = self.max.is_some_and(|max| sustainable == Some(max));
        Finding {
            sustainable_rate: sustainable,
            broke_at: self.broke,
            generator_bound,
            max_rate_reached,
            budget_spent: self.steps.len() >= MAX_STEPS && self.wanted_rate().is_some(),
            stopped_early: self.next_rate().is_some(),
        }
    }
}

/// The lowest rate the generator could not deliver, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorCeiling {
    pub rate: f64,
    pub reason: String,
}

/// The answer of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The highest rate at which every SLO held; `None` when even the first step failed.
    pub sustainable_rate: Option<f64>,
    /// The lowest rate at which an SLO broke, if any did.
    pub broke_at: Option<f64>,
    /// Set when the generator, not the server, bounded the search from above.
    pub generator_bound: Option<GeneratorCeiling>,
    /// Every SLO held up to `--max-rate`: the server may take more.
    pub max_rate_reached: bool,
    /// The step budget ran out before the gap closed.
    pub budget_spent: bool,
    /// The search was stopped (Ctrl-C) before it finished: the answer is only what it saw.
    pub stopped_early: bool,
}

impl Finding {
    /// One sentence for people: the rate and what bounded it.
    pub fn sentence(&self) -> String {
        let sentence = self.answer();
        if self.stopped_early {
            format!("search stopped before it finished; so far, {sentence}")
        } else {
            sentence
        }
    }

    fn answer(&self) -> String {
        let rate = |r: f64| format!("{} req/s", format_rate(r));
        let Some(found) = self.sustainable_rate else {
            return match &self.generator_bound {
                Some(g) => format!(
                    "no sustainable rate found: the generator could not deliver the first step ({}: {})",
                    rate(g.rate),
                    g.reason
                ),
                None => "no sustainable rate found: the first step already broke an SLO".into(),
            };
        };
        let mut s = format!("highest sustainable rate: {}", rate(found));
        if let Some(g) = &self.generator_bound {
            s = format!(
                "highest sustainable rate: at least {} (the generator could not deliver {}, so the server's limit above that is not known: {})",
                rate(found),
                rate(g.rate),
                g.reason
            );
        } else if let Some(b) = self.broke_at {
            s += &format!(" (an SLO broke at {})", rate(b));
        } else if self.max_rate_reached {
            s += " (every SLO held up to --max-rate: the server may take more)";
        }
        if self.budget_spent {
            s += &format!(" (the {MAX_STEPS}-step budget ran out before the gap closed)");
        }
        s
    }
}

/// A rate for people: whole requests per second when whole or from 1000 up, else one decimal.
pub fn format_rate(r: f64) -> String {
    if r >= 1000.0 || r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// What `flak capacity --output json` (and `-o`) writes: the search's settings, every step and
/// the answer, in a form the browser app reads back to chart p99 and errors against the rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub version: u32,
    pub slos: Vec<String>,
    pub step_s: f64,
    pub start_rate: f64,
    pub max_rate: Option<f64>,
    pub steps: Vec<ReportStep>,
    #[serde(flatten)]
    pub finding: Finding,
    /// [`Finding::sentence`], for people reading the file.
    pub conclusion: String,
}

/// One step of a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportStep {
    #[serde(flatten)]
    pub step: Step,
    /// The step's full results file (`--save-steps`), as the CLI wrote its path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_file: Option<String>,
}

/// The `format` field of a [`Report`].
pub const REPORT_FORMAT: &str = "flak-capacity";

impl Report {
    /// Reads a report back, refusing other files with one line saying what they are not.
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("not a JSON file: {e}"))?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(REPORT_FORMAT) => {}
            Some(other) => {
                return Err(format!(
                    "not a flak capacity report (format is {other:?}, expected \"{REPORT_FORMAT}\")"
                ));
            }
            None => return Err("not a flak capacity report (no \"format\" field)".into()),
        }
        let report: Report =
            serde_json::from_value(value).map_err(|e| format!("flak capacity report: {e}"))?;
        if report.version != 1 {
            return Err(format!(
                "flak capacity report version {} is not supported (this flak reads version 1)",
                report.version
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake server that sustains `capacity` req/s with p99 under 100 ms, run by a generator
    /// that delivers at most `generator` req/s.
    fn fake(capacity: f64, generator: f64) -> impl Fn(f64) -> Measured {
        move |asked: f64| {
            let achieved = asked.min(generator);
            let p99 = if achieved <= capacity { 20.0 } else { 500.0 };
            Measured {
                asked,
                achieved,
                p50_ms: Some(10.0),
                p99_ms: Some(p99),
                error_percent: 0.0,
                generator_bound: (achieved < 0.98 * asked)
                    .then(|| format!("achieved {achieved:.0} of {asked:.0} req/s")),
                broken: if p99 >= 100.0 {
                    vec![format!("p99<100ms (measured {p99} ms)")]
                } else {
                    Vec::new()
                },
            }
        }
    }

    fn search(start: f64, max: Option<f64>, server: impl Fn(f64) -> Measured) -> Search {
        let mut s = Search::new(start, max, 1).unwrap();
        while let Some(rate) = s.next_rate() {
            s.record(server(rate));
        }
        s
    }

    fn asked(s: &Search) -> Vec<f64> {
        s.steps().iter().map(|st| st.measured.asked).collect()
    }

    #[test]
    fn doubles_then_bisects_to_within_tolerance() {
        let s = search(25.0, None, fake(200.0, 1e9));
        let f = s.finding();
        // 25 50 100 200 met, 400 broke, then 300 250 225 212.5 206.25 broke.
        assert_eq!(
            asked(&s),
            [
                25.0, 50.0, 100.0, 200.0, 400.0, 300.0, 250.0, 225.0, 212.5, 206.25
            ]
        );
        assert_eq!(f.sustainable_rate, Some(200.0));
        assert_eq!(f.broke_at, Some(206.25));
        assert!(f.generator_bound.is_none() && !f.max_rate_reached && !f.budget_spent);
        assert_eq!(
            f.sentence(),
            "highest sustainable rate: 200 req/s (an SLO broke at 206.2 req/s)"
        );
    }

    #[test]
    fn finds_a_capacity_between_steps() {
        let s = search(10.0, None, fake(730.0, 1e9));
        let f = s.finding();
        let (met, broke) = (f.sustainable_rate.unwrap(), f.broke_at.unwrap());
        assert!(met <= 730.0 && broke > 730.0, "{met} {broke}");
        assert!(broke - met <= TOLERANCE * met);
        for st in s.steps() {
            let want = if st.measured.asked <= 730.0 {
                Verdict::Met
            } else {
                Verdict::Broke
            };
            assert_eq!(st.verdict, want, "{st:?}");
        }
    }

    #[test]
    fn a_report_reads_back_and_other_files_are_refused() {
        let s = search(10.0, None, fake(730.0, 1e9));
        let report = Report {
            format: REPORT_FORMAT.into(),
            version: 1,
            slos: vec!["p99<100ms".into()],
            step_s: 2.0,
            start_rate: 10.0,
            max_rate: None,
            steps: s
                .steps()
                .iter()
                .map(|step| ReportStep {
                    step: step.clone(),
                    results_file: None,
                })
                .collect(),
            finding: s.finding(),
            conclusion: s.finding().sentence(),
        };
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(Report::parse(&json).unwrap(), report);
        for (text, says) in [
            ("[", "not a JSON file"),
            (
                "{\"format\": \"flak-results\"}",
                "format is \"flak-results\"",
            ),
            ("{}", "no \"format\" field"),
            (
                "{\"format\": \"flak-capacity\", \"version\": 1}",
                "flak capacity report: missing field",
            ),
        ] {
            let e = Report::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let v2 = json.replace("\"version\":1", "\"version\":2");
        assert!(
            Report::parse(&v2)
                .unwrap_err()
                .contains("version 2 is not supported")
        );
    }

    #[test]
    fn a_search_stopped_early_says_so() {
        let mut s = Search::new(100.0, None, 1).unwrap();
        s.record(fake(200.0, 1e9)(100.0));
        let f = s.finding();
        assert!(f.stopped_early);
        assert_eq!(
            f.sentence(),
            "search stopped before it finished; so far, highest sustainable rate: 100 req/s"
        );
        assert!(
            !search(100.0, None, fake(200.0, 1e9))
                .finding()
                .stopped_early
        );
    }

    #[test]
    fn a_first_step_that_breaks_an_slo_ends_the_search() {
        let s = search(500.0, None, fake(200.0, 1e9));
        assert_eq!(asked(&s), [500.0]);
        let f = s.finding();
        assert_eq!(f.sustainable_rate, None);
        assert!(f.sentence().contains("first step already broke"));
    }

    #[test]
    fn the_generator_is_never_taken_for_the_server() {
        // The server takes 1000/s, the generator only 150/s.
        let s = search(50.0, None, fake(1000.0, 150.0));
        let f = s.finding();
        assert_eq!(
            f.broke_at, None,
            "no step may count as the server's failure"
        );
        // Never raised past the first rate it could not deliver (200): bisected below it
        // instead, down to the lowest such rate.
        assert_eq!(asked(&s)[..4], [50.0, 100.0, 200.0, 150.0]);
        assert!(asked(&s).iter().all(|&r| r <= 200.0));
        let g = f.generator_bound.as_ref().unwrap();
        let met = f.sustainable_rate.unwrap();
        assert_eq!(met, 150.0);
        assert!(g.rate > met && g.rate - met <= TOLERANCE * met, "{g:?}");
        assert!(g.reason.starts_with("achieved 150 of "), "{g:?}");
        for st in s.steps() {
            let want = if st.measured.asked <= 150.0 {
                Verdict::Met
            } else {
                Verdict::GeneratorBound
            };
            assert_eq!(st.verdict, want, "{st:?}");
        }
        let text = f.sentence();
        assert!(
            text.starts_with(
                "highest sustainable rate: at least 150 req/s (the generator could not deliver 15"
            ) && text.contains("limit above that is not known"),
            "{text}"
        );
    }

    #[test]
    fn a_server_failure_below_the_generator_ceiling_is_the_answer() {
        // The generator stalls at 300/s, but the server already breaks at 220/s.
        let s = search(100.0, None, fake(220.0, 300.0));
        let f = s.finding();
        assert!(f.generator_bound.is_none(), "{f:?}");
        let (met, broke) = (f.sustainable_rate.unwrap(), f.broke_at.unwrap());
        assert!(met <= 220.0 && broke > 220.0 && broke - met <= TOLERANCE * met);
    }

    #[test]
    fn the_max_rate_caps_the_raise() {
        let s = search(100.0, Some(300.0), fake(1000.0, 1e9));
        assert_eq!(asked(&s), [100.0, 200.0, 300.0]);
        let f = s.finding();
        assert_eq!(f.sustainable_rate, Some(300.0));
        assert!(f.max_rate_reached);
        assert!(f.sentence().contains("up to --max-rate"));
        // A max rate equal to the start is one step.
        assert_eq!(
            asked(&search(100.0, Some(100.0), fake(1000.0, 1e9))),
            [100.0]
        );
    }

    #[test]
    fn the_step_budget_bounds_the_search() {
        // Never breaks, no max: raising alone would go on forever.
        let s = search(1.0, None, fake(f64::INFINITY, f64::INFINITY));
        assert_eq!(s.steps().len(), MAX_STEPS);
        let f = s.finding();
        assert!(f.budget_spent);
        assert_eq!(f.sustainable_rate, Some(2f64.powi(MAX_STEPS as i32 - 1)));
    }

    #[test]
    fn bad_starts_are_refused() {
        assert_eq!(
            Search::new(0.0, None, 1).unwrap_err(),
            SearchError::StartRate(0.0)
        );
        assert!(Search::new(f64::NAN, None, 1).is_err());
        assert!(Search::new(-5.0, None, 1).is_err());
        let e = Search::new(100.0, Some(50.0), 1).unwrap_err();
        assert_eq!(e.to_string(), "--max-rate 50 is below --start-rate 100");
        assert_eq!(Search::new(1.0, None, 0).unwrap_err(), SearchError::NoSlo);
    }

    #[test]
    fn slos_are_met_when_their_condition_holds() {
        use crate::stats::Sample;
        use crate::transport::{Outcome, Response};
        use std::time::Duration;
        // 100 requests over 1 s, latencies 1..=100 ms, the last 2 answered 500.
        let mut stats = Stats::new(true);
        stats.begin(Duration::from_secs(100));
        for i in 1..=100u64 {
            let o = Outcome::Response(Response {
                status: if i > 98 { 500 } else { 200 },
                ..Response::default()
            });
            stats.record_issued();
            stats.record(&Sample {
                latency: Duration::from_millis(i),
                uncorrected: Some(Duration::from_millis(i)),
                end_unix: Duration::from_secs(100),
                outcome: &o,
            });
        }
        stats.finish(Duration::from_secs(101));
        let slos: Vec<Slo> = ["p99<250ms", "errors<1%", "p50<=51ms", "p99<50ms"]
            .iter()
            .map(|t| Slo::parse(t).unwrap())
            .collect();
        let m = Measured::of(&stats, 100.0, &slos, None);
        assert_eq!(m.achieved, 100.0);
        // Three significant digits, as every latency histogram holds them.
        assert!((m.p50_ms.unwrap() - 50.0).abs() < 0.05, "{m:?}");
        assert!((m.p99_ms.unwrap() - 99.0).abs() < 0.1, "{m:?}");
        assert_eq!(m.error_percent, 2.0);
        assert_eq!(
            m.broken,
            [
                "errors<1% (measured 2.00%)",
                "p99<50ms (measured 99.007 ms)"
            ]
        );
        let empty = Stats::new(true);
        assert_eq!(
            Slo::parse("p99<1s").unwrap().check(&empty).unwrap(),
            "p99<1s (no responses to measure)"
        );
        assert!(Slo::parse("p99<").is_err());
    }
}
