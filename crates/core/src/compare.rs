//! Two runs side by side (`flak compare BASE NEW`): per percentile, throughput and error rate,
//! base, new and the change, and whether the latency change is beyond noise.
//!
//! The test is the two-sample Kolmogorov–Smirnov test on the whole latency distributions,
//! computed from the HdrHistograms' bucket counts (exact for the recorded precision): the
//! largest gap D between the two cumulative distributions, and its p-value from the asymptotic
//! Kolmogorov distribution. With tens of thousands of requests any gap is "significant", and
//! two runs against the same server are never drawn from quite the same distribution (the
//! machine moves under them, and a tight distribution moved by a tenth of a millisecond already
//! gives a large D), so a change counts as beyond noise only when all hold: p below [`ALPHA`],
//! D at least [`MIN_D`] (a tenth of the requests moved across some latency), and p50 or p90
//! moved by at least [`MIN_CHANGE_PCT`] (a run's p99 rests on too few requests to call alone).
//! Error rates get a two-proportion z-test at α.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::Stats;

/// The significance level of both tests.
pub const ALPHA: f64 = 0.001;
/// The smallest KS distance called a change: below it the runs overlap too much to matter.
pub const MIN_D: f64 = 0.1;
/// The smallest move of p50 or p90 called a change; a percentile row is flagged when the
/// distributions differ and it moved at least this much.
pub const MIN_CHANGE_PCT: f64 = 10.0;

/// The method, named in every output.
pub const METHOD: &str = "two-sample Kolmogorov–Smirnov on the latency histograms (α = 0.001, D ≥ 0.1) and p50 or p90 moved by 10% or more; errors: two-proportion z-test (α = 0.001)";

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub metric: String,
    pub base: f64,
    pub new: f64,
    /// (new − base) / base, in percent; `None` when the base is zero.
    pub change_pct: Option<f64>,
    /// Beyond noise, by the test for its kind (`None`: no test applies, e.g. throughput).
    pub significant: Option<bool>,
}

/// The two-sample KS statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KsTest {
    pub d: f64,
    pub p_value: f64,
    pub n_base: u64,
    pub n_new: u64,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub method: &'static str,
    pub rows: Vec<Row>,
    pub latency_test: Option<KsTest>,
    /// The latency distributions differ beyond noise.
    pub latency_changed: bool,
}

const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("max", 1.0),
];

fn change(base: f64, new: f64) -> Option<f64> {
    (base != 0.0).then(|| (new - base) / base * 100.0)
}

impl Comparison {
    pub fn of(base: &Stats, new: &Stats) -> Self {
        let (hb, hn) = (base.latency(), new.latency());
        let latency_test = ks(hb, hn);
        let moved = |q: f64| {
            let (b, n) = (
                hb.value_at_quantile(q) as f64,
                hn.value_at_quantile(q) as f64,
            );
            change(b, n).is_some_and(|c| c.abs() >= MIN_CHANGE_PCT)
        };
        let latency_changed = latency_test.is_some_and(|t| t.p_value < ALPHA && t.d >= MIN_D)
            && [0.5, 0.9].into_iter().any(moved);
        let mut rows = Vec::new();
        if !hb.is_empty() && !hn.is_empty() {
            for (name, q) in PERCENTILES {
                let b = hb.value_at_quantile(q) as f64 / 1e3;
                let n = hn.value_at_quantile(q) as f64 / 1e3;
                let c = change(b, n);
                rows.push(Row {
                    metric: format!("{name} ms"),
                    base: b,
                    new: n,
                    change_pct: c,
                    significant: Some(
                        latency_changed && c.is_some_and(|c| c.abs() >= MIN_CHANGE_PCT),
                    ),
                });
            }
        }
        rows.push(Row {
            metric: "requests/s".into(),
            base: base.rps(),
            new: new.rps(),
            change_pct: change(base.rps(), new.rps()),
            significant: None,
        });
        let rate = |s: &Stats| {
            let done = s.succeeded() + s.failed();
            (s.failed(), done)
        };
        let ((fb, nb), (fnew, nn)) = (rate(base), rate(new));
        let pct = |f: u64, n: u64| {
            if n == 0 {
                0.0
            } else {
                f as f64 * 100.0 / n as f64
            }
        };
        rows.push(Row {
            metric: "errors %".into(),
            base: pct(fb, nb),
            new: pct(fnew, nn),
            change_pct: change(pct(fb, nb), pct(fnew, nn)),
            significant: Some(two_proportions(fb, nb, fnew, nn) < ALPHA),
        });
        Self {
            method: METHOD,
            rows,
            latency_test,
            latency_changed,
        }
    }

    /// The verdict in one line.
    pub fn verdict(&self) -> String {
        match self.latency_test {
            None => "latency: one of the runs has no responses to compare".into(),
            Some(t) if self.latency_changed => format!(
                "latency changed beyond noise (KS D = {:.3}, p = {:.2e}, n = {} and {})",
                t.d, t.p_value, t.n_base, t.n_new
            ),
            Some(t) => format!(
                "latency: no change beyond noise (KS D = {:.3}, p = {:.2e}, n = {} and {})",
                t.d, t.p_value, t.n_base, t.n_new
            ),
        }
    }

    /// A table for terminals (`markdown`: for a pull-request comment).
    pub fn table(&self, markdown: bool) -> String {
        let cell = |r: &Row| {
            let change = r
                .change_pct
                .map_or("–".to_string(), |c| format!("{c:+.1}%"));
            let flag = match r.significant {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            };
            (
                r.metric.clone(),
                fmt_value(r.base),
                fmt_value(r.new),
                change,
                flag.to_string(),
            )
        };
        let head = ("metric", "base", "new", "change", "beyond noise");
        let mut out = String::new();
        if markdown {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n|---|---:|---:|---:|---|\n",
                head.0, head.1, head.2, head.3, head.4
            ));
            for r in &self.rows {
                let (m, b, n, c, f) = cell(r);
                out.push_str(&format!("| {m} | {b} | {n} | {c} | {f} |\n"));
            }
            out.push_str(&format!(
                "\n{}.\n\nMethod: {}.\n",
                self.verdict(),
                self.method
            ));
        } else {
            out.push_str(&format!(
                "{:<12} {:>12} {:>12} {:>9}  {}\n",
                head.0, head.1, head.2, head.3, head.4
            ));
            for r in &self.rows {
                let (m, b, n, c, f) = cell(r);
                out.push_str(&format!("{m:<12} {b:>12} {n:>12} {c:>9}  {f}\n"));
            }
            out.push_str(&format!("\n{}\nMethod: {}\n", self.verdict(), self.method));
        }
        out
    }
}

/// A value as the table shows it: three decimals, one from 100 up.
pub fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The two-sample KS test over two histograms' recorded values.
pub fn ks(a: &Histogram<u64>, b: &Histogram<u64>) -> Option<KsTest> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return None;
    }
    // Walk both distributions' distinct values in order, tracking each cumulative share.
    let mut va: Vec<(u64, u64)> = a
        .iter_recorded()
        .map(|v| {
            (
                a.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect();
    let mut vb: Vec<(u64, u64)> = b
        .iter_recorded()
        .map(|v| {
            (
                b.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect();
    va.sort_unstable();
    vb.sort_unstable();
    let (mut i, mut j) = (0, 0);
    let (mut ca, mut cb) = (0u64, 0u64);
    let mut d: f64 = 0.0;
    while i < va.len() || j < vb.len() {
        let x = match (va.get(i), vb.get(j)) {
            (Some(p), Some(q)) => p.0.min(q.0),
            (Some(p), None) => p.0,
            (None, Some(q)) => q.0,
            (None, None) => break,
        };
        while i < va.len() && va[i].0 == x {
            ca += va[i].1;
            i += 1;
        }
        while j < vb.len() && vb[j].0 == x {
            cb += vb[j].1;
            j += 1;
        }
        d = d.max((ca as f64 / na as f64 - cb as f64 / nb as f64).abs());
    }
    let en = ((na as f64 * nb as f64) / (na + nb) as f64).sqrt();
    let lambda = (en + 0.12 + 0.11 / en) * d;
    Some(KsTest {
        d,
        p_value: kolmogorov_q(lambda),
        n_base: na,
        n_new: nb,
    })
}

/// Q_KS(λ) = 2 Σ (−1)^(j−1) e^(−2 j² λ²): the chance of a gap at least this large by chance.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = (-2.0 * (j as f64).powi(2) * lambda * lambda).exp();
        sum += sign * term;
        if term < 1e-12 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Two-sided p-value that two error proportions differ (normal approximation).
fn two_proportions(f1: u64, n1: u64, f2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (p1, p2) = (f1 as f64 / n1 as f64, f2 as f64 / n2 as f64);
    let p = (f1 + f2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return if p1 == p2 { 1.0 } else { 0.0 };
    }
    let z = ((p1 - p2) / se).abs();
    erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::new(3).unwrap();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn the_same_distribution_is_not_a_change_and_a_shift_is() {
        let mut rng = fastrand::Rng::with_seed(7);
        let a = hist((0..5000).map(|_| 5000 + rng.u64(0..2000)));
        let b = hist((0..5000).map(|_| 5000 + rng.u64(0..2000)));
        let same = ks(&a, &b).unwrap();
        assert!(same.d < 0.05 && same.p_value > 0.001, "{same:?}");
        let c = hist((0..5000).map(|_| 10_000 + rng.u64(0..2000)));
        let shifted = ks(&a, &c).unwrap();
        assert!(shifted.d > 0.99 && shifted.p_value < 1e-10, "{shifted:?}");
    }

    #[test]
    fn the_kolmogorov_tail_and_erfc_match_known_values() {
        // Q(1.36) ≈ 0.049 (the 5% critical value), Q(1.63) ≈ 0.0098.
        assert!((kolmogorov_q(1.36) - 0.0494).abs() < 0.001);
        assert!((kolmogorov_q(1.63) - 0.0098).abs() < 0.0005);
        assert!((erfc(1.0) - 0.157_299_2).abs() < 1e-6);
        assert!(two_proportions(10, 1000, 10, 1000) > 0.99);
        assert!(two_proportions(10, 1000, 100, 1000) < 1e-10);
    }
}
