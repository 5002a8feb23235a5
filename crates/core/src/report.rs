//! What people read: a [`Summary`] computed from [`Stats`] (the same numbers in the text report,
//! the JSON file and the browser app), and the plain-text report.

use litemap::LiteMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::generator::GeneratorSummary;
use crate::stats::{Stats, Tally};

/// The percentiles listed in every report.
pub const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    /// `None` when the histogram is empty: no response, no latency (never a made-up zero).
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1e3;
        Some(Self {
            min: ms(h.min()),
            mean: h.mean() / 1e3,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

/// One line of the percentile table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentile {
    pub p: f64,
    pub ms: f64,
}

/// The headline numbers of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Requests accounted for: succeeded + failed + cancelled.
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub warmup: u64,
    pub elapsed_s: f64,
    /// Finished requests (responses and errors) per second.
    pub rps: f64,
    pub bytes: u64,
    pub latency_ms: Option<LatencySummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_uncorrected_ms: Option<LatencySummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<LatencySummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<LatencySummary>,
    pub percentiles: Vec<Percentile>,
    #[serde(serialize_with = "crate::maps::as_map")]
    pub status_codes: LiteMap<String, u64>,
    #[serde(serialize_with = "crate::maps::as_map")]
    pub errors: LiteMap<String, u64>,
    /// Open-model runs: the rate asked and achieved, start lag, and whether the generator was
    /// the bottleneck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorSummary>,
    /// A journey's run: the counts above are iterations, `members` its step requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub journey: bool,
    /// Journeys: requests not issued because an earlier step of their iteration failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// Journeys: failed checks by label, with the first message.
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub checks_failed: LiteMap<String, Tally>,
    /// Journeys: values not extracted, by variable name, with the first message.
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub extracts_failed: LiteMap<String, Tally>,
    /// Journeys: a `unique` data file ran out of rows, which ended the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rows_ran_out: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A map built by inserting each pair. `collect()` into a `LiteMap` sorts a `Vec` first, and
/// every call site's iterator gets its own copy of the sort (~3 KB of the app's wasm each).
pub(crate) fn map_of<V>(pairs: impl Iterator<Item = (String, V)>) -> LiteMap<String, V> {
    let mut map = LiteMap::new();
    for (key, value) in pairs {
        map.insert(key, value);
    }
    map
}

impl Summary {
    pub fn of(stats: &Stats) -> Self {
        let h = stats.latency();
        let percentiles = if h.is_empty() {
            Vec::new()
        } else {
            PERCENTILES
                .iter()
                .map(|&p| Percentile {
                    p,
                    ms: h.value_at_quantile(p / 100.0) as f64 / 1e3,
                })
                .collect()
        };
        Self {
            total: stats.total(),
            succeeded: stats.succeeded(),
            failed: stats.failed(),
            cancelled: stats.cancelled(),
            warmup: stats.warmup(),
            elapsed_s: stats.elapsed().as_secs_f64(),
            rps: stats.rps(),
            bytes: stats.bytes(),
            latency_ms: LatencySummary::of(h),
            latency_uncorrected_ms: stats.uncorrected().and_then(LatencySummary::of),
            ttfb_ms: LatencySummary::of(stats.ttfb()),
            connect_ms: LatencySummary::of(stats.connect()),
            percentiles,
            status_codes: map_of(
                stats
                    .status_codes()
                    .iter()
                    .map(|(code, n)| (code.to_string(), *n)),
            ),
            errors: map_of(
                stats
                    .errors()
                    .iter()
                    .map(|(kind, n)| (kind.name().to_string(), *n)),
            ),
            generator: stats
                .generator()
                .map(|g| GeneratorSummary::of(g, stats.issued(), stats.elapsed().as_secs_f64())),
            journey: stats.journey().is_journey,
            skipped: stats.journey().skipped,
            checks_failed: stats.journey().checks_failed.clone(),
            extracts_failed: stats.journey().extracts_failed.clone(),
            rows_ran_out: stats.journey().rows_ran_out,
        }
    }

    /// Status codes and error kinds with their counts on one line: `200×40 503×2 reset×1`.
    pub fn outcomes_line(&self) -> String {
        self.status_codes
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .chain(self.errors.iter().map(|(k, n)| format!("{k}×{n}")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Share of finished requests that failed, in percent (0 when nothing finished).
    pub fn error_rate_percent(&self) -> f64 {
        let finished = self.succeeded + self.failed;
        if finished == 0 {
            0.0
        } else {
            self.failed as f64 * 100.0 / finished as f64
        }
    }
}

/// Formats bytes as `1.5 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Formats milliseconds with precision that suits their size.
pub fn format_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.1} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

/// The plain-text report, as the CLI prints it and the browser app copies it.
pub fn text(stats: &Stats) -> String {
    let s = Summary::of(stats);
    let mut out = String::new();
    let pct = |n: u64| {
        if s.total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / s.total as f64
        }
    };
    let _ = writeln!(out, "Summary:");
    let unit = if s.journey { "iterations" } else { "requests" };
    let _ = writeln!(
        out,
        "  Total:        {} {unit} in {:.3} s",
        s.total, s.elapsed_s
    );
    let _ = writeln!(
        out,
        "  Succeeded:    {} ({:.2}%)",
        s.succeeded,
        pct(s.succeeded)
    );
    let _ = writeln!(out, "  Failed:       {} ({:.2}%)", s.failed, pct(s.failed));
    let _ = writeln!(
        out,
        "  Cancelled:    {} ({:.2}%)",
        s.cancelled,
        pct(s.cancelled)
    );
    if s.skipped > 0 {
        let _ = writeln!(
            out,
            "  Skipped:      {} requests (an earlier step of their iteration failed; never sent)",
            s.skipped
        );
    }
    if s.rows_ran_out {
        let _ = writeln!(
            out,
            "  Data:         the data file's rows ran out (data_order = \"unique\"): the run ended there"
        );
    }
    if s.warmup > 0 {
        let _ = writeln!(out, "  Warm-up:      {} {unit} (not measured)", s.warmup);
    }
    let _ = writeln!(out, "  Requests/sec: {:.2}", s.rps);
    let _ = writeln!(out, "  Transferred:  {}", format_bytes(s.bytes));
    let _ = writeln!(out);
    match &s.latency_ms {
        None => {
            let _ = writeln!(out, "Latency: no responses");
        }
        Some(l) => {
            let title = if s.latency_uncorrected_ms.is_some() {
                "Latency (from intended start, corrected for coordinated omission):"
            } else {
                "Latency:"
            };
            let _ = writeln!(out, "{title}");
            let _ = writeln!(
                out,
                "  Fastest: {}   Mean: {}   Slowest: {}",
                format_ms(l.min),
                format_ms(l.mean),
                format_ms(l.max)
            );
            if let Some(u) = &s.latency_uncorrected_ms {
                let _ = writeln!(
                    out,
                    "  Uncorrected (from actual send): p50 {}   p99 {}   max {}",
                    format_ms(u.p50),
                    format_ms(u.p99),
                    format_ms(u.max)
                );
            }
            if let Some(t) = &s.ttfb_ms {
                let _ = writeln!(
                    out,
                    "  Time to first byte: p50 {}   p99 {}",
                    format_ms(t.p50),
                    format_ms(t.p99)
                );
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "Latency distribution:");
            for p in &s.percentiles {
                let _ = writeln!(out, "  {:>6}% in {}", trim_pct(p.p), format_ms(p.ms));
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "Response time histogram:");
            out.push_str(&histogram_bars(stats.latency(), 11, 40));
        }
    }
    if !s.status_codes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Status codes:");
        for (code, n) in &s.status_codes {
            let label = if code == "0" { "0 (opaque)" } else { code };
            let _ = writeln!(out, "  [{label}] {n} responses");
        }
    }
    if !stats.errors().is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Errors:");
        for (kind, n) in stats.errors() {
            let msg = stats.error_messages().get(kind).map_or("", String::as_str);
            let _ = writeln!(out, "  [{kind}] {n}   e.g. {msg}");
        }
    }
    if let Some(g) = &s.generator {
        let _ = writeln!(out);
        let _ = writeln!(out, "Generator:");
        for line in g.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !stats.connections().is_empty() {
        out.push_str(&connections_section(stats.connections()));
    }
    if s.journey || !stats.members().is_empty() {
        out.push_str(&members_table(stats, s.journey));
    }
    out
}

/// Connections opened by protocol (with the protocol asked for, so a silent fallback shows),
/// streams sharing a connection, the wait for a free stream, retries, redirect bytes.
fn connections_section(c: &crate::ConnectionStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "Connections:");
    let opened: Vec<String> = c.opened.iter().map(|(p, n)| format!("{n} {p}")).collect();
    let asked = c.asked.as_deref().unwrap_or("?");
    let _ = writeln!(
        out,
        "  Opened:       {} ({}; asked for {asked})",
        c.total_opened(),
        if opened.is_empty() {
            "none".to_string()
        } else {
            opened.join(", ")
        }
    );
    if let Some(fallback) = c
        .opened
        .keys()
        .find(|p| asked.split('+').all(|a| a != p.as_str()))
    {
        let _ = writeln!(
            out,
            "  Note:         asked for {asked}, but the server negotiated {fallback}"
        );
    }
    if c.peak_streams > 1 {
        let _ = writeln!(
            out,
            "  Streams:      up to {} in flight on one connection",
            c.peak_streams
        );
    }
    if c.stream_waits > 0 {
        let _ = writeln!(
            out,
            "  Stream waits: {} requests waited for a free stream (server's limit): mean {}, max {}",
            c.stream_waits,
            format_ms(c.stream_wait_us as f64 / c.stream_waits as f64 / 1e3),
            format_ms(c.stream_wait_max_us as f64 / 1e3)
        );
    }
    if c.retries > 0 {
        let _ = writeln!(
            out,
            "  Retries:      {} requests sent again (the server had not processed them)",
            c.retries
        );
    }
    if c.redirect_bytes > 0 {
        let _ = writeln!(
            out,
            "  Redirects:    {} in redirect responses' bodies (not in Transferred)",
            format_bytes(c.redirect_bytes)
        );
    }
    out
}

/// The members, one line each: a fan-out's, or a journey's step requests (which add a skipped
/// column and, below the table, their failed checks and extractions).
fn members_table(stats: &Stats, journey: bool) -> String {
    let (title, first, count) = if journey {
        (
            "Journey steps (in order each iteration; the latency above is the iteration's, first send to last response, think time left out):",
            "step",
            "issued",
        )
    } else {
        (
            "Fan-out members (each iteration sends all at once; the latency above is the slowest):",
            "member",
            "total",
        )
    };
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "{title}");
    let width = stats
        .members()
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(4)
        .max(first.len());
    let skipped = |v: &dyn std::fmt::Display| {
        if journey {
            format!("  {v:>7}")
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "  {first:<width$}  {count:>8}  {:>9}  {:>7}{}  {:>11}  {:>11}  outcomes",
        "succeeded",
        "failed",
        skipped(&"skipped"),
        "p50",
        "p99"
    );
    for m in stats.members() {
        let s = Summary::of(&m.stats);
        let (p50, p99) = s.latency_ms.map_or(("–".into(), "–".into()), |l| {
            (format_ms(l.p50), format_ms(l.p99))
        });
        let _ = writeln!(
            out,
            "  {:<width$}  {:>8}  {:>9}  {:>7}{}  {p50:>11}  {p99:>11}  {}",
            m.name,
            s.total,
            s.succeeded,
            s.failed,
            skipped(&s.skipped),
            s.outcomes_line()
        );
    }
    if journey {
        out.push_str(&journey_failures(stats));
    }
    out
}

/// A journey's failed checks and extractions, by step request, each with its first message.
fn journey_failures(stats: &Stats) -> String {
    let mut out = String::new();
    for (title, pick) in [
        (
            "Failed checks:",
            (|j: &crate::stats::JourneyCounts| &j.checks_failed)
                as fn(&crate::stats::JourneyCounts) -> &LiteMap<String, Tally>,
        ),
        ("Extraction failures:", |j| &j.extracts_failed),
    ] {
        let rows: Vec<String> = stats
            .members()
            .iter()
            .flat_map(|m| {
                pick(m.stats.journey()).iter().map(|(name, t)| {
                    format!("  {}: {name} ×{}   first: {}", m.name, t.count, t.first)
                })
            })
            .collect();
        if !rows.is_empty() {
            let _ = writeln!(out, "{title}");
            for row in rows {
                let _ = writeln!(out, "{row}");
            }
        }
    }
    out
}

fn trim_pct(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// `buckets` equal-width bars from the fastest to the slowest response (hey's layout).
pub fn histogram_bars(h: &Histogram<u64>, buckets: usize, width: usize) -> String {
    let bars = bar_counts(h, buckets);
    let peak = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let mut out = String::new();
    for (upper_us, count) in bars {
        let len = (count as usize * width).div_ceil(peak as usize);
        let _ = writeln!(
            out,
            "  {:>12} [{count}]\t|{}",
            format_ms(upper_us as f64 / 1e3),
            "■".repeat(if count == 0 { 0 } else { len.max(1) })
        );
    }
    out
}

/// Upper bound (µs) and count of `buckets` equal-width buckets spanning min..=max.
pub fn bar_counts(h: &Histogram<u64>, buckets: usize) -> Vec<(u64, u64)> {
    if h.is_empty() || buckets == 0 {
        return Vec::new();
    }
    let (lo, hi) = (h.min(), h.max());
    let step = ((hi - lo) as f64 / buckets as f64).max(1.0);
    let mut counts = vec![0u64; buckets];
    for v in h.iter_recorded() {
        let value = h.highest_equivalent(v.value_iterated_to()).min(hi);
        let i = (((value - lo) as f64 / step) as usize).min(buckets - 1);
        counts[i] += v.count_since_last_iteration();
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (lo + (step * (i + 1) as f64) as u64, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Sample;
    use crate::transport::{Outcome, Response};

    #[test]
    fn text_report_has_the_headline_numbers() {
        let mut stats = Stats::new(false);
        stats.begin(Duration::from_secs(10));
        let ok = Outcome::Response(Response {
            status: 200,
            bytes: 13,
            ttfb: None,
            connect: None,
        });
        for ms in 1..=100u64 {
            stats.record_issued();
            stats.record(&Sample {
                latency: Duration::from_millis(ms),
                uncorrected: None,
                end_unix: Duration::from_secs(11),
                outcome: &ok,
            });
        }
        stats.finish(Duration::from_secs(12));
        let text = text(&stats);
        for want in [
            "100 requests in 2.000 s",
            "Requests/sec: 50.00",
            "[200] 100 responses",
            "50% in 50.0",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        let bars: u64 = bar_counts(stats.latency(), 11).iter().map(|b| b.1).sum();
        assert_eq!(bars, 100);
    }

    #[test]
    fn empty_run_has_no_latency_rather_than_zero() {
        let s = Summary::of(&Stats::new(false));
        assert!(s.latency_ms.is_none());
        assert!(text(&Stats::new(false)).contains("no responses"));
    }
}
