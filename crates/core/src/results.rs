//! The results file: JSON with the summary for people and scripts, plus every histogram as
//! base64 of HdrHistogram's compressed V2 encoding (`HISTFAAA…`, readable by other HdrHistogram
//! tools), so that files from threads, processes, machines and browsers load back losslessly
//! and merge exactly.
//!
//! Loading trusts nothing: the summary numbers are recomputed from the histograms and counters,
//! and a file whose parts disagree is refused with the reason.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::report::Summary;
use crate::stats::{Interval, Member, Stats};
use crate::transport::ErrorKind;

pub const FORMAT: &str = "flak-results";
pub const VERSION: u32 = 1;

/// Why a results file could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    #[error("not a flak results file: {0}")]
    Json(String),
    #[error("not a flak results file (format is {0:?}, expected \"flak-results\")")]
    Format(String),
    #[error("results file version {0} is not supported (this flak reads version {VERSION})")]
    Version(u32),
    #[error("results file field {field}: {reason}")]
    Field { field: String, reason: String },
    #[error("results file is inconsistent: {0}")]
    Inconsistent(String),
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> ResultsError {
    ResultsError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

/// One second of the time series, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Unix time of the second's start.
    pub t: u64,
    pub count: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub histogram: String,
}

/// The file, field by field. Build with [`Results::of`]; read with [`Results::load`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub format: String,
    pub version: u32,
    #[serde(flatten)]
    pub summary: Summary,
    pub issued: u64,
    pub started_unix_us: Option<u64>,
    pub ended_unix_us: Option<u64>,
    pub error_messages: BTreeMap<String, String>,
    pub histogram: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_uncorrected: Option<String>,
    pub histogram_ttfb: String,
    pub histogram_connect: String,
    pub series: Vec<SeriesPoint>,
    /// What was run, with header values redacted (they often hold credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Fan-out runs: each member's own results (the fields above are the group's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberResults>,
}

/// A fan-out member's results, in the same form as the whole run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberResults {
    pub name: String,
    #[serde(flatten)]
    pub results: Box<Results>,
}

impl Results {
    pub fn of(stats: &Stats, plan: Option<&Plan>) -> Self {
        let plan = plan.map(|p| {
            let mut p = p.clone();
            for r in &mut p.requests {
                for (_, v) in &mut r.headers {
                    *v = "<redacted>".into();
                }
            }
            p
        });
        Self {
            format: FORMAT.into(),
            version: VERSION,
            summary: Summary::of(stats),
            issued: stats.issued(),
            started_unix_us: stats.started_unix_us,
            ended_unix_us: stats.ended_unix_us,
            error_messages: stats
                .error_messages()
                .iter()
                .map(|(k, m)| (k.name().to_string(), m.clone()))
                .collect(),
            histogram: encode(stats.latency()),
            histogram_uncorrected: stats.uncorrected().map(encode),
            histogram_ttfb: encode(stats.ttfb()),
            histogram_connect: encode(stats.connect()),
            series: stats
                .series()
                .iter()
                .map(|(t, i)| SeriesPoint {
                    t: *t,
                    count: i.count,
                    errors: i.errors,
                    p50_ms: i.quantile_ms(0.5),
                    p90_ms: i.quantile_ms(0.9),
                    p99_ms: i.quantile_ms(0.99),
                    histogram: encode(i.histogram().as_ref()),
                })
                .collect(),
            plan,
            members: stats
                .members()
                .iter()
                .map(|m| MemberResults {
                    name: m.name.clone(),
                    results: Box::new(Results::of(&m.stats, None)),
                })
                .collect(),
        }
    }

    /// The time series as CSV, one line per second (the CLI's `--output csv`, the app's CSV
    /// export).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("unix_second,requests,errors,p50_ms,p90_ms,p99_ms\n");
        let ms = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        for p in &self.series {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                p.t,
                p.count,
                p.errors,
                ms(p.p50_ms),
                ms(p.p90_ms),
                ms(p.p99_ms)
            ));
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results always serialize")
    }

    /// The same as [`Results::to_json`], written as it is produced: a long run's file is never
    /// held whole in memory.
    pub fn write_json(&self, out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(out, self).map_err(std::io::Error::from)
    }

    /// Parses and checks a results file, returning the statistics it holds.
    pub fn load(json: &str) -> Result<(Stats, Self), ResultsError> {
        // Check the envelope first, so a file of another kind or version gets that message
        // rather than a complaint about some missing field.
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ResultsError::Json(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(ResultsError::Format(other.to_string())),
            None => return Err(ResultsError::Json("no \"format\" field".into())),
        }
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => return Err(ResultsError::Version(u32::try_from(v).unwrap_or(u32::MAX))),
            None => return Err(field("version", "missing or not a whole number")),
        }
        let results: Results =
            serde_json::from_value(value).map_err(|e| ResultsError::Json(e.to_string()))?;
        let stats = results.to_stats()?;
        Ok((stats, results))
    }

    fn to_stats(&self) -> Result<Stats, ResultsError> {
        let s = &self.summary;
        // No real run comes near these, and staying far below u64::MAX keeps merging even
        // millions of files exact (never a wrapped or saturated count).
        const MAX_COUNT: u64 = 1 << 40;
        const MAX_BYTES: u64 = 1 << 56;
        let counts = [
            ("issued", self.issued),
            ("total", s.total),
            ("succeeded", s.succeeded),
            ("failed", s.failed),
            ("cancelled", s.cancelled),
            ("warmup", s.warmup),
        ];
        let series = self.series.iter().map(|p| ("series count", p.count));
        let statuses = s.status_codes.values().map(|n| ("status_codes", *n));
        let errors = s.errors.values().map(|n| ("errors", *n));
        for (name, n) in counts
            .into_iter()
            .chain(series)
            .chain(statuses)
            .chain(errors)
        {
            if n > MAX_COUNT {
                return Err(field(
                    name,
                    format!("{n} is more requests than any real run"),
                ));
            }
        }
        if s.bytes > MAX_BYTES {
            return Err(field(
                "bytes",
                format!("{} bytes is more than any real run", s.bytes),
            ));
        }
        let mut status = BTreeMap::new();
        for (code, n) in &s.status_codes {
            let code: u16 =
                code.parse().ok().filter(|c| *c < 1000).ok_or_else(|| {
                    field("status_codes", format!("{code:?} is not a status code"))
                })?;
            status.insert(code, *n);
        }
        let mut errors = BTreeMap::new();
        for (name, n) in &s.errors {
            errors.insert(parse_kind(name, "errors")?, *n);
        }
        let mut error_messages = BTreeMap::new();
        for (name, msg) in &self.error_messages {
            error_messages.insert(parse_kind(name, "error_messages")?, msg.clone());
        }
        let latency: Histogram<u64> = decode("histogram", &self.histogram)?;
        let responses = checked_sum(status.values(), "status_codes")?;
        let error_count = checked_sum(errors.values(), "errors")?;
        if latency.len() != responses {
            return Err(ResultsError::Inconsistent(format!(
                "the latency histogram holds {} responses but status_codes count {responses}",
                latency.len()
            )));
        }
        let succeeded = status
            .iter()
            .filter(|(c, _)| (200..400).contains(*c) || **c == 0)
            .map(|(_, n)| *n)
            .sum::<u64>();
        if succeeded != s.succeeded {
            return Err(ResultsError::Inconsistent(format!(
                "succeeded is {} but 2xx/3xx status codes count {succeeded}",
                s.succeeded
            )));
        }
        let finished = responses
            .checked_add(error_count)
            .ok_or_else(|| ResultsError::Inconsistent("counts overflow".into()))?;
        if Some(finished) != s.succeeded.checked_add(s.failed) {
            return Err(ResultsError::Inconsistent(format!(
                "succeeded + failed is not {finished} (responses {responses} + errors {error_count})"
            )));
        }
        let total = finished
            .checked_add(s.cancelled)
            .ok_or_else(|| ResultsError::Inconsistent("counts overflow".into()))?;
        if self.issued != total {
            return Err(ResultsError::Inconsistent(format!(
                "issued is {} but succeeded + failed + cancelled is {total}",
                self.issued
            )));
        }
        let mut series = BTreeMap::new();
        for (i, p) in self.series.iter().enumerate() {
            let h: Histogram<u32> = decode(&format!("series[{i}].histogram"), &p.histogram)?;
            if p.errors > p.count || h.len() > p.count {
                return Err(ResultsError::Inconsistent(format!(
                    "series[{i}] counts more errors or latencies than requests"
                )));
            }
            series.insert(p.t, Interval::from_parts(p.count, p.errors, h));
        }
        if let (Some(a), Some(b)) = (self.started_unix_us, self.ended_unix_us)
            && b < a
        {
            return Err(ResultsError::Inconsistent("ended before it started".into()));
        }
        let mut members = Vec::new();
        for m in &self.members {
            let stats = m
                .results
                .to_stats()
                .map_err(|e| ResultsError::Inconsistent(format!("member {:?}: {e}", m.name)))?;
            members.push(Member {
                name: m.name.clone(),
                stats,
            });
        }
        let stats = Stats {
            started_unix_us: self.started_unix_us,
            ended_unix_us: self.ended_unix_us,
            issued: self.issued,
            succeeded: s.succeeded,
            failed: s.failed,
            cancelled: s.cancelled,
            warmup: s.warmup,
            bytes: s.bytes,
            latency,
            uncorrected: self
                .histogram_uncorrected
                .as_deref()
                .map(|h| decode("histogram_uncorrected", h))
                .transpose()?,
            ttfb: decode("histogram_ttfb", &self.histogram_ttfb)?,
            connect: decode("histogram_connect", &self.histogram_connect)?,
            status,
            errors,
            error_messages,
            series,
            members,
        };
        let recomputed = Summary::of(&stats);
        let counters = [
            ("total", s.total, recomputed.total),
            ("succeeded", s.succeeded, recomputed.succeeded),
            ("failed", s.failed, recomputed.failed),
            ("cancelled", s.cancelled, recomputed.cancelled),
        ];
        for (name, stored, derived) in counters {
            if stored != derived {
                return Err(ResultsError::Inconsistent(format!(
                    "{name} is {stored} but the histograms and counters give {derived}"
                )));
            }
        }
        Ok(stats)
    }
}

fn parse_kind(name: &str, in_field: &str) -> Result<ErrorKind, ResultsError> {
    ErrorKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| field(in_field, format!("unknown error kind {name:?}")))
}

fn checked_sum<'a>(
    mut values: impl Iterator<Item = &'a u64>,
    name: &str,
) -> Result<u64, ResultsError> {
    values
        .try_fold(0u64, |acc, v| acc.checked_add(*v))
        .ok_or_else(|| field(name, "counts overflow"))
}

/// Base64 of the V2 + DEFLATE encoding.
pub fn encode<T: Counter>(h: &Histogram<T>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("serializing a histogram into memory cannot fail");
    STANDARD.encode(buf)
}

/// Reads a histogram written by [`encode`] (or by any HdrHistogram implementation).
pub fn decode<T: Counter>(name: &str, text: &str) -> Result<Histogram<T>, ResultsError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| field(name, format!("not base64: {e}")))?;
    let mut h: Histogram<T> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| field(name, format!("not an HdrHistogram: {e:?}")))?;
    h.auto(true);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Sample;
    use crate::transport::{Outcome, RequestError, Response};

    fn sample_stats() -> Stats {
        let mut s = Stats::new(true);
        s.begin(Duration::from_secs(1_700_000_000));
        let outcomes = [
            Outcome::Response(Response {
                status: 200,
                bytes: 5,
                ttfb: Some(Duration::from_millis(1)),
                connect: None,
            }),
            Outcome::Response(Response {
                status: 503,
                bytes: 0,
                ttfb: None,
                connect: Some(Duration::from_micros(80)),
            }),
            Outcome::Error(RequestError::new(ErrorKind::Timeout, "too slow")),
        ];
        for i in 0..300u64 {
            s.record_issued();
            s.record(&Sample {
                latency: Duration::from_micros(1000 + i * 37),
                uncorrected: Some(Duration::from_micros(900 + i)),
                end_unix: Duration::from_secs(1_700_000_000 + i / 100),
                outcome: &outcomes[(i % 3) as usize],
            });
        }
        s.record_issued();
        s.finish(Duration::from_secs(1_700_000_003));
        s
    }

    #[test]
    fn round_trip_is_lossless() {
        let stats = sample_stats();
        let json = Results::of(&stats, None).to_json();
        assert!(
            json.contains("\"histogram\": \"HISTFAAA"),
            "V2 compressed cookie"
        );
        let (back, _) = Results::load(&json).unwrap();
        assert_eq!(back, stats);
        let mut streamed = Vec::new();
        Results::of(&stats, None).write_json(&mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), json);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let good = Results::of(&sample_stats(), None).to_json();
        let edit = |from: &str, to: &str| good.replacen(from, to, 1);
        let cases = [
            ("garbage".to_string(), "not a flak results file"),
            (
                good[..good.len() / 2].to_string(),
                "not a flak results file",
            ),
            (edit("flak-results", "k6"), "format is \"k6\""),
            (
                edit("\"version\": 1", "\"version\": 99"),
                "version 99 is not supported",
            ),
            (edit("\"total\": 301", "\"total\": 999"), "total is 999"),
            (
                edit("\"histogram\": \"HISTFAAA", "\"histogram\": \"!!!"),
                "field histogram: not base64",
            ),
            (
                edit("\"histogram\": \"HISTFAAA", "\"histogram\": \"AAAA"),
                "not an HdrHistogram",
            ),
            (
                edit("\"timeout\": 100", "\"gremlins\": 100"),
                "unknown error kind",
            ),
            (edit("\"issued\": 301", "\"issued\": 3"), "issued is 3"),
        ];
        for (json, want) in cases {
            let err = Results::load(&json).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }
}
