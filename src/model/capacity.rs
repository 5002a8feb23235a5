//! A capacity report (`flak capacity -o FILE`) as the app shows it: the points and SLO lines of
//! its chart of p99 and errors against the asked rate, and the rows of its table of steps.

use flak_core::capacity::{REPORT_FORMAT, Report, Slo, Verdict};

/// Whether `text` says it is a capacity report (its `format` field), so that a broken one is
/// refused as a capacity report rather than as a results file.
pub fn is_report(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|v| v.get("format").and_then(serde_json::Value::as_str) == Some(REPORT_FORMAT))
}

/// One step on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPoint {
    /// The step's place in the search, from 1 (steps run out of rate order once it bisects).
    pub step: usize,
    pub asked: f64,
    pub achieved: f64,
    pub p50_ms: Option<f64>,
    /// `None` when the step had no responses.
    pub p99_ms: Option<f64>,
    pub error_percent: f64,
    pub verdict: Verdict,
    /// Why the step broke (one line per SLO) or why the generator was the bound.
    pub why: Vec<String>,
}

/// An SLO's limit, drawn as a horizontal line.
#[derive(Debug, Clone, PartialEq)]
pub struct SloLine {
    /// The SLO as written (`p99<100ms`).
    pub label: String,
    /// The limit: ms on the latency chart, percent on the errors chart.
    pub value: f64,
}

/// What the capacity view draws, from a [`Report`].
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityView {
    pub file: String,
    pub conclusion: String,
    /// In the order the search ran them.
    pub points: Vec<CapacityPoint>,
    /// Latency-percentile SLOs (`pNN<…`), in ms.
    pub latency_slos: Vec<SloLine>,
    /// Error-share SLOs (`errors<…%`), in percent.
    pub error_slos: Vec<SloLine>,
    /// SLOs neither chart can draw (`mean<…`, `errors<5`), named under the chart.
    pub other_slos: Vec<String>,
}

impl CapacityView {
    pub fn of(report: &Report, file: String) -> Self {
        let points = report
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let m = &s.step.measured;
                CapacityPoint {
                    step: i + 1,
                    asked: m.asked,
                    achieved: m.achieved,
                    p50_ms: m.p50_ms,
                    p99_ms: m.p99_ms,
                    error_percent: m.error_percent,
                    verdict: s.step.verdict,
                    why: match (&m.generator_bound, s.step.verdict) {
                        (Some(reason), Verdict::GeneratorBound) => vec![reason.clone()],
                        _ => m.broken.clone(),
                    },
                }
            })
            .collect();
        let (mut latency_slos, mut error_slos, mut other_slos) =
            (Vec::new(), Vec::new(), Vec::new());
        for text in &report.slos {
            let slo = Slo::parse(text).ok();
            let t = slo.as_ref().map(Slo::threshold);
            let line = |value| SloLine {
                label: text.clone(),
                value,
            };
            if let Some((_, ms)) = t.and_then(|t| t.percentile_ms()) {
                latency_slos.push(line(ms));
            } else if let Some(percent) = t.and_then(|t| t.error_percent()) {
                error_slos.push(line(percent));
            } else {
                other_slos.push(text.clone());
            }
        }
        Self {
            file,
            conclusion: report.conclusion.clone(),
            points,
            latency_slos,
            error_slos,
            other_slos,
        }
    }

    /// The highest asked rate, for the x axis.
    pub fn max_rate(&self) -> f64 {
        self.points.iter().map(|p| p.asked).fold(0.0, f64::max)
    }

    /// The points in rate order, for the lines joining them.
    pub fn by_rate(&self) -> Vec<&CapacityPoint> {
        let mut v: Vec<_> = self.points.iter().collect();
        // Insertion sort (stable, as `sort_by`): a search has a few dozen steps, and the
        // library's sort would be a ~3 KB copy of its own in the wasm for this one call.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && v[j - 1].asked.total_cmp(&v[j].asked).is_gt() {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        v
    }

    /// The top of the latency axis: the highest p99 or latency SLO.
    pub fn max_latency_ms(&self) -> f64 {
        let p99 = self.points.iter().filter_map(|p| p.p99_ms);
        let slos = self.latency_slos.iter().map(|l| l.value);
        p99.chain(slos).fold(0.0, f64::max)
    }

    /// The top of the errors axis: the highest error share or errors SLO, at least 1%.
    pub fn max_error_percent(&self) -> f64 {
        let errors = self.points.iter().map(|p| p.error_percent);
        let slos = self.error_slos.iter().map(|l| l.value);
        errors.chain(slos).fold(1.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as `flak capacity -o` writes it: 50 met, 100 broke p99, 75 met, 87.5 was
    /// beyond the generator.
    const REPORT: &str = r#"{
      "format": "flak-capacity", "version": 1,
      "slos": ["p99<100ms", "errors<1%", "mean<50ms"],
      "step_s": 1.0, "start_rate": 50.0, "max_rate": 400.0,
      "steps": [
        {"asked": 50.0, "achieved": 49.9, "p50_ms": 20.1, "p99_ms": 22.0, "error_percent": 0.0,
         "generator_bound": null, "broken": [], "verdict": "met"},
        {"asked": 100.0, "achieved": 99.0, "p50_ms": 80.0, "p99_ms": 450.5, "error_percent": 2.5,
         "generator_bound": null, "broken": ["p99<100ms (measured 450.500 ms)", "errors<1% (measured 2.50%)"],
         "verdict": "broke"},
        {"asked": 75.0, "achieved": 74.8, "p50_ms": 21.0, "p99_ms": 40.0, "error_percent": 0.0,
         "generator_bound": null, "broken": [], "verdict": "met"},
        {"asked": 87.5, "achieved": 60.0, "p50_ms": null, "p99_ms": null, "error_percent": 0.0,
         "generator_bound": "achieved 60 of 87.5 req/s", "broken": [], "verdict": "generator-bound"}
      ],
      "sustainable_rate": 75.0, "broke_at": 100.0,
      "generator_bound": {"rate": 87.5, "reason": "achieved 60 of 87.5 req/s"},
      "max_rate_reached": false, "budget_spent": false, "stopped_early": false,
      "conclusion": "highest sustainable rate: at least 75 req/s (the generator could not deliver 87.5 req/s)"
    }"#;

    fn view() -> CapacityView {
        CapacityView::of(&Report::parse(REPORT).unwrap(), "cap.json".into())
    }

    #[test]
    fn one_point_per_step_in_search_order_with_its_verdict() {
        let v = view();
        let got: Vec<_> = v
            .points
            .iter()
            .map(|p| (p.step, p.asked, p.p99_ms, p.error_percent, p.verdict))
            .collect();
        assert_eq!(
            got,
            [
                (1, 50.0, Some(22.0), 0.0, Verdict::Met),
                (2, 100.0, Some(450.5), 2.5, Verdict::Broke),
                (3, 75.0, Some(40.0), 0.0, Verdict::Met),
                (4, 87.5, None, 0.0, Verdict::GeneratorBound),
            ]
        );
        assert_eq!(v.points[1].why.len(), 2);
        assert_eq!(v.points[3].why, ["achieved 60 of 87.5 req/s"]);
        let rates: Vec<_> = v.by_rate().iter().map(|p| p.asked).collect();
        assert_eq!(rates, [50.0, 75.0, 87.5, 100.0]);
        assert_eq!(v.max_rate(), 100.0);
        assert_eq!(v.conclusion, Report::parse(REPORT).unwrap().conclusion);
    }

    #[test]
    fn slo_lines_by_axis_and_the_rest_named() {
        let v = view();
        assert_eq!(
            v.latency_slos,
            [SloLine {
                label: "p99<100ms".into(),
                value: 100.0
            }]
        );
        assert_eq!(
            v.error_slos,
            [SloLine {
                label: "errors<1%".into(),
                value: 1.0
            }]
        );
        assert_eq!(v.other_slos, ["mean<50ms"]);
        // The axes reach the highest point or SLO line, whichever is higher.
        assert_eq!(v.max_latency_ms(), 450.5);
        assert_eq!(v.max_error_percent(), 2.5);
        let low = REPORT.replace("450.5", "30.0").replace("2.5,", "0.5,");
        let v = CapacityView::of(&Report::parse(&low).unwrap(), String::new());
        assert_eq!(v.max_latency_ms(), 100.0);
        assert_eq!(v.max_error_percent(), 1.0);
    }

    #[test]
    fn only_files_saying_they_are_reports_are_taken_for_one() {
        assert!(is_report(REPORT));
        assert!(is_report(r#"{"format": "flak-capacity", "version": 9}"#));
        assert!(!is_report(r#"{"format": "flak-results"}"#));
        assert!(!is_report("{}"));
        assert!(!is_report("not json"));
    }
}
