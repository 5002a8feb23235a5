//! The results file: JSON with the summary for people and scripts, plus every histogram as
//! base64 of HdrHistogram's compressed V2 encoding (`HISTFAAA…`, readable by other HdrHistogram
//! tools), so that files from threads, processes, machines and browsers load back losslessly
//! and merge exactly.
//!
//! Loading trusts nothing: the summary numbers are recomputed from the histograms and counters,
//! and a file whose parts disagree is refused with the reason.
//!
//! Compression is left to the front end: natively [`Results::of`] and [`Results::load`] use
//! flate2; the web app goes through the two halves ([`Results::unfinished`] →
//! [`Unfinished::finish`], [`Results::parse`] → [`Loading::finish`]) with the browser's
//! compression streams in between.

use crate::connections::ConnectionStats;
use crate::generator::{Generator, GeneratorSummary};
use litemap::LiteMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError, Framed};
use crate::plan::Plan;
use crate::report::{LatencySummary, Percentile, Summary};
use crate::series::{CLASSES, Outcomes};
use crate::stats::{Interval, JourneyCounts, Member, Stats, Tally};
use crate::transport::{ErrorKind, is_success};

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
    /// Requests sent in the second (absent from older files).
    #[serde(default)]
    pub started: u64,
    /// Microseconds in flight within the second, summed over requests (mean in flight × 1e6).
    #[serde(default)]
    pub busy_us: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub histogram: String,
    /// What the second's requests came to: responses by status class (`2xx`, `opaque`,
    /// `other_status`) and errors by kind (`timeout`), together the second's `count` (absent from
    /// older files).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::maps::as_some_map"
    )]
    pub outcomes: Option<LiteMap<String, u64>>,
}

/// The file, field by field. Build with [`Results::of`]; read with [`Results::load`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Wire")]
pub struct Results {
    pub format: String,
    pub version: u32,
    #[serde(flatten)]
    pub summary: Summary,
    pub issued: u64,
    pub started_unix_us: Option<u64>,
    pub ended_unix_us: Option<u64>,
    #[serde(serialize_with = "crate::maps::as_map")]
    pub error_messages: LiteMap<String, String>,
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
    /// What the connections did (CLI runs; absent from browser runs and older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionStats>,
    /// Open-model runs: the generator's own counts and its start-lag histogram (the summary's
    /// `generator` is computed from them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_watch: Option<GeneratorResults>,
}

/// What the generator saw of itself, as stored (the summary's `generator` is derived from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorResults {
    pub asked: u64,
    pub held_back: u64,
    /// Microseconds from intended start to send, like the latency histograms.
    pub histogram_lag: String,
}

/// A fan-out member's results, in the same form as the whole run's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberResults {
    pub name: String,
    #[serde(flatten)]
    pub results: Box<Results>,
}

/// A results file with its histograms encoded but not yet compressed: give
/// [`Unfinished::finish`] the zlib streams of [`Unfinished::uncompressed`].
#[derive(Debug, Clone)]
pub struct Unfinished {
    results: Results,
    v2: Vec<Vec<u8>>,
}

impl Unfinished {
    /// The plain V2 encodings to compress (zlib), in the order `finish` takes them back.
    pub fn uncompressed(&self) -> &[Vec<u8>] {
        &self.v2
    }

    /// The time series as CSV (which holds no histograms).
    pub fn to_csv(&self) -> String {
        self.results.to_csv()
    }

    /// The file, given the zlib stream of each of [`Unfinished::uncompressed`], in order.
    pub fn finish(mut self, zlib: Vec<Vec<u8>>) -> Results {
        let mut slots = Vec::new();
        self.results.histogram_slots("", &mut slots);
        assert_eq!(slots.len(), zlib.len(), "one zlib stream per histogram");
        for ((_, slot), z) in slots.into_iter().zip(zlib) {
            *slot = histogram_field(&z);
        }
        self.results
    }

    /// The file with its histograms left plain (uncompressed V2, which loading reads as it
    /// is): for handing statistics between threads, where compressing costs more than it saves.
    pub fn plain(mut self) -> Results {
        let mut slots = Vec::new();
        self.results.histogram_slots("", &mut slots);
        for ((_, slot), v2) in slots.into_iter().zip(&self.v2) {
            *slot = STANDARD.encode(v2);
        }
        self.results
    }
}

/// The plan as the file shows it: header values redacted (they may hold credentials).
fn redacted(plan: Option<&Plan>) -> Option<Plan> {
    plan.map(|p| {
        let mut p = p.clone();
        for r in &mut p.requests {
            for (_, v) in &mut r.headers {
                *v = "<redacted>".into();
            }
        }
        p
    })
}

/// A histogram's field in the file: its zlib stream, framed and in base64.
fn histogram_field(zlib: &[u8]) -> String {
    STANDARD.encode(codec::frame(zlib))
}

/// A results file parsed, with its histograms out of base64 but still compressed: give
/// [`Loading::finish`] what each of [`Loading::compressed`] inflates to.
#[derive(Debug, Clone)]
pub struct Loading {
    results: Results,
    /// Each histogram's path (`members[0].series[3].histogram`) and bytes, in slot order.
    histograms: Vec<(String, Vec<u8>)>,
}

impl Loading {
    /// The zlib streams of the compressed histograms (plain V2 ones need nothing), in the
    /// order `finish` takes them back.
    pub fn compressed(&self) -> Vec<&[u8]> {
        self.histograms
            .iter()
            .filter_map(|(_, bytes)| match codec::unframe(bytes) {
                Ok(Framed::Compressed(zlib)) => Some(zlib),
                _ => None,
            })
            .collect()
    }

    /// Checks the file and returns the statistics it holds, given what each of
    /// [`Loading::compressed`] inflated to (or why it did not), in order.
    pub fn finish(
        self,
        inflated: Vec<Result<Vec<u8>, CodecError>>,
    ) -> Result<(Stats, Results), ResultsError> {
        let mut inflated = inflated.into_iter();
        let mut plain = LiteMap::new();
        for (path, bytes) in self.histograms {
            let v2 = match codec::unframe(&bytes) {
                Ok(Framed::Compressed(_)) => inflated
                    .next()
                    .unwrap_or_else(|| Err(CodecError::Inflate("not inflated".into()))),
                _ => Ok(bytes),
            };
            plain.insert(path, v2);
        }
        let stats = self.results.to_stats("", &mut plain)?;
        Ok((stats, self.results))
    }
}

/// Histograms by path, inflated (or why not).
type Plain = LiteMap<String, Result<Vec<u8>, CodecError>>;

impl Results {
    /// The results file of `stats` (natively: compressed with flate2).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn of(stats: &Stats, plan: Option<&Plan>) -> Self {
        // Each histogram goes from V2 to zlib to its base64 field as the file is built, so no
        // copy of every second's histogram is held on the way (massif, 200 s run: heap peak
        // 740 -> 719 KB).
        Self::build(stats, redacted(plan), &mut |v2| {
            histogram_field(&codec::deflate(v2))
        })
    }

    /// The results file of `stats`, all but compressing its histograms.
    pub fn unfinished(stats: &Stats, plan: Option<&Plan>) -> Unfinished {
        let mut v2 = Vec::new();
        let results = Self::build(stats, redacted(plan), &mut |bytes| {
            v2.push(bytes.to_vec());
            String::new()
        });
        Unfinished { results, v2 }
    }

    /// The file, each histogram field being what `field` makes of the histogram's V2
    /// encoding, called in the order of [`Results::histogram_slots`].
    fn build(stats: &Stats, plan: Option<Plan>, field: &mut dyn FnMut(&[u8]) -> String) -> Self {
        let mut encoded = Vec::new();
        let mut push = |h: &Histogram<u64>, field: &mut dyn FnMut(&[u8]) -> String| {
            encoded.clear();
            codec::encode(h, &mut encoded);
            field(&encoded)
        };
        // In slot order.
        let histogram = push(stats.latency(), field);
        let histogram_uncorrected = stats.uncorrected().map(|h| push(h, field));
        let histogram_ttfb = push(stats.ttfb(), field);
        let histogram_connect = push(stats.connect(), field);
        let series = stats
            .series()
            .iter()
            .map(|(t, i)| SeriesPoint {
                t: *t,
                count: i.count,
                errors: i.errors,
                started: i.started,
                busy_us: i.busy_us,
                p50_ms: i.quantile_ms(0.5),
                p90_ms: i.quantile_ms(0.9),
                p99_ms: i.quantile_ms(0.99),
                histogram: field(&i.v2()),
                outcomes: i.outcomes.as_ref().map(outcome_names),
            })
            .collect();
        let generator_watch = stats.generator().map(|g| GeneratorResults {
            asked: g.asked(),
            held_back: g.held_back(),
            histogram_lag: push(g.lag(), field),
        });
        let members = stats
            .members()
            .iter()
            .map(|m| MemberResults {
                name: m.name.clone(),
                results: Box::new(Results::build(&m.stats, None, field)),
            })
            .collect();
        Self {
            format: FORMAT.into(),
            version: VERSION,
            summary: Summary::of(stats),
            issued: stats.issued(),
            started_unix_us: stats.started_unix_us,
            ended_unix_us: stats.ended_unix_us,
            error_messages: crate::report::map_of(
                stats
                    .error_messages()
                    .iter()
                    .map(|(k, m)| (k.name().to_string(), m.clone())),
            ),
            histogram,
            histogram_uncorrected,
            histogram_ttfb,
            histogram_connect,
            series,
            plan,
            members,
            connections: (!stats.connections().is_empty()).then(|| stats.connections().clone()),
            generator_watch,
        }
    }

    /// Every histogram field with its path, in one fixed order: the file's own four, its
    /// series, then each member's the same way.
    fn histogram_slots<'a>(&'a mut self, prefix: &str, out: &mut Vec<(String, &'a mut String)>) {
        let Results {
            histogram,
            histogram_uncorrected,
            histogram_ttfb,
            histogram_connect,
            series,
            members,
            generator_watch,
            ..
        } = self;
        out.push((format!("{prefix}histogram"), histogram));
        if let Some(h) = histogram_uncorrected {
            out.push((format!("{prefix}histogram_uncorrected"), h));
        }
        out.push((format!("{prefix}histogram_ttfb"), histogram_ttfb));
        out.push((format!("{prefix}histogram_connect"), histogram_connect));
        for (i, p) in series.iter_mut().enumerate() {
            out.push((format!("{prefix}series[{i}].histogram"), &mut p.histogram));
        }
        if let Some(g) = generator_watch {
            out.push((
                format!("{prefix}generator_watch.histogram_lag"),
                &mut g.histogram_lag,
            ));
        }
        for (i, m) in members.iter_mut().enumerate() {
            m.results
                .histogram_slots(&format!("{prefix}members[{i}]."), out);
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

    /// Parses and checks a results file, returning the statistics it holds (natively:
    /// inflated with flate2).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(json: &str) -> Result<(Stats, Self), ResultsError> {
        let loading = Self::parse(json)?;
        let inflated = loading
            .compressed()
            .into_iter()
            .map(codec::inflate)
            .collect();
        loading.finish(inflated)
    }

    /// The first half of loading: the JSON parsed and each histogram out of base64.
    pub fn parse(json: &str) -> Result<Loading, ResultsError> {
        // Check the envelope first, so a file of another kind or version gets that message
        // rather than a complaint about some missing field.
        let envelope: Envelope =
            serde_json::from_str(json).map_err(|e| ResultsError::Json(e.to_string()))?;
        match envelope.format {
            Loose::Text(f) if f == FORMAT => {}
            Loose::Text(other) => return Err(ResultsError::Format(other)),
            _ => return Err(ResultsError::Json("no \"format\" field".into())),
        }
        match envelope.version {
            Loose::Whole(v) if v == u64::from(VERSION) => {}
            Loose::Whole(v) => {
                return Err(ResultsError::Version(u32::try_from(v).unwrap_or(u32::MAX)));
            }
            _ => return Err(field("version", "missing or not a whole number")),
        }
        let mut results: Results =
            serde_json::from_str(json).map_err(|e| ResultsError::Json(e.to_string()))?;
        let mut slots = Vec::new();
        results.histogram_slots("", &mut slots);
        let histograms = slots
            .into_iter()
            .map(|(path, text)| {
                let bytes = base64_field(&path, text)?;
                codec::unframe(&bytes).map_err(|e| not_hdr(&path, &e))?;
                Ok((path, bytes))
            })
            .collect::<Result<_, ResultsError>>()?;
        Ok(Loading {
            results,
            histograms,
        })
    }

    fn to_stats(&self, prefix: &str, plain: &mut Plain) -> Result<Stats, ResultsError> {
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
        let mut status: LiteMap<u16, u64> = LiteMap::new();
        for (code, n) in &s.status_codes {
            let code: u16 =
                code.parse().ok().filter(|c| *c < 1000).ok_or_else(|| {
                    field("status_codes", format!("{code:?} is not a status code"))
                })?;
            status.insert(code, *n);
        }
        let mut errors = LiteMap::new();
        for (name, n) in &s.errors {
            errors.insert(parse_kind(name, "errors")?, *n);
        }
        let mut error_messages = LiteMap::new();
        for (name, msg) in &self.error_messages {
            error_messages.insert(parse_kind(name, "error_messages")?, msg.clone());
        }
        let latency: Histogram<u64> = take(plain, &format!("{prefix}histogram"))?;
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
            .filter(|(c, _)| is_success(**c))
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
        let mut series = LiteMap::new();
        for (i, p) in self.series.iter().enumerate() {
            let (h, v2) = take_v2::<u32>(plain, &format!("{prefix}series[{i}].histogram"))?;
            if p.errors > p.count || h.len() > p.count {
                return Err(ResultsError::Inconsistent(format!(
                    "series[{i}] counts more errors or latencies than requests"
                )));
            }
            if p.started > MAX_COUNT {
                return Err(field(
                    format!("series[{i}].started"),
                    format!("{} is more requests than any real run", p.started),
                ));
            }
            let mut interval = Interval::from_v2(p.count, p.errors, &h, v2);
            interval.started = p.started;
            interval.busy_us = p.busy_us;
            if let Some(named) = &p.outcomes {
                let o = outcomes_of(named, &format!("{prefix}series[{i}].outcomes"))?;
                if (o.total(), o.failed()) != (p.count, p.errors) {
                    return Err(ResultsError::Inconsistent(format!(
                        "series[{i}].outcomes add up to {} requests, {} failed, but the second counts {}, {} failed",
                        o.total(),
                        o.failed(),
                        p.count,
                        p.errors
                    )));
                }
                interval.outcomes = Some(o);
            }
            series.insert(p.t, interval);
        }
        if let (Some(a), Some(b)) = (self.started_unix_us, self.ended_unix_us)
            && b < a
        {
            return Err(ResultsError::Inconsistent("ended before it started".into()));
        }
        let mut members = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let stats = m
                .results
                .to_stats(&format!("{prefix}members[{i}]."), plain)
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
                .as_ref()
                .map(|_| take(plain, &format!("{prefix}histogram_uncorrected")))
                .transpose()?,
            ttfb: take(plain, &format!("{prefix}histogram_ttfb"))?,
            connect: take(plain, &format!("{prefix}histogram_connect"))?,
            status,
            errors,
            error_messages,
            series,
            members,
            connections: self.connections.clone().unwrap_or_default(),
            generator: self.generator_stats(prefix, plain)?,
            journey: JourneyCounts {
                is_journey: s.journey,
                skipped: s.skipped,
                checks_failed: s.checks_failed.clone(),
                extracts_failed: s.extracts_failed.clone(),
                rows_ran_out: s.rows_ran_out,
            },
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

impl Results {
    fn generator_stats(
        &self,
        prefix: &str,
        plain: &mut Plain,
    ) -> Result<Option<Generator>, ResultsError> {
        let Some(g) = &self.generator_watch else {
            return Ok(None);
        };
        const MAX_COUNT: u64 = 1 << 40;
        for (name, n) in [("asked", g.asked), ("held_back", g.held_back)] {
            if n > MAX_COUNT {
                return Err(field(
                    format!("generator_watch.{name}"),
                    format!("{n} is more requests than any real run"),
                ));
            }
        }
        let lag: Histogram<u64> = take(plain, &format!("{prefix}generator_watch.histogram_lag"))?;
        if g.held_back > lag.len() {
            return Err(ResultsError::Inconsistent(format!(
                "generator_watch.held_back is {} but only {} requests have a start lag",
                g.held_back,
                lag.len()
            )));
        }
        Ok(Some(Generator {
            lag,
            held_back: g.held_back,
            asked: g.asked,
        }))
    }
}

/// A second's outcomes as the file names them (only the classes and kinds that occurred).
fn outcome_names(o: &Outcomes) -> LiteMap<String, u64> {
    let classes = CLASSES.iter().zip(o.classes).filter(|(_, n)| *n > 0);
    let errors = o.errors.iter().map(|(k, n)| (k.name(), *n));
    crate::report::map_of(
        classes
            .map(|(name, n)| (*name, n))
            .chain(errors)
            .map(|(name, n)| (name.to_string(), n)),
    )
}

/// A second's outcomes read back from their names; `in_field` names them in errors.
fn outcomes_of(named: &LiteMap<String, u64>, in_field: &str) -> Result<Outcomes, ResultsError> {
    let mut o = Outcomes::default();
    for (name, n) in named {
        if *n > 1 << 40 {
            return Err(field(
                format!("{in_field}.{name}"),
                format!("{n} is more requests than any real run"),
            ));
        }
        match CLASSES.iter().position(|c| c == name) {
            Some(class) => o.classes[class] = *n,
            None => {
                o.errors
                    .insert(parse_kind(name, &format!("{in_field}.{name}"))?, *n);
            }
        }
    }
    Ok(o)
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

/// The first look at a file: its `format` and `version`, whatever else it holds.
#[derive(Default)]
struct Envelope {
    format: Loose,
    version: Loose,
}

/// A JSON value as far as the envelope cares.
#[derive(Default)]
enum Loose {
    #[default]
    Missing,
    Text(String),
    Whole(u64),
    Other,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Envelope;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Envelope, A::Error> {
                let mut envelope = Envelope::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "format" => envelope.format = map.next_value()?,
                        "version" => envelope.version = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(envelope)
            }
        }
        d.deserialize_map(Fields)
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> serde::de::Visitor<'de> for Any {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::Whole(v))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Loose, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Loose, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Loose::Other)
            }
        }
        d.deserialize_any(Any)
    }
}

/// The file as stored: [`Results`] with the summary's fields inline, read straight into types
/// (`#[serde(flatten)]` would buffer every value first).
#[derive(Deserialize)]
struct Wire {
    /// Only in `members`.
    name: Option<String>,
    format: String,
    version: u32,
    total: u64,
    succeeded: u64,
    failed: u64,
    cancelled: u64,
    warmup: u64,
    elapsed_s: f64,
    rps: f64,
    bytes: u64,
    latency_ms: Option<LatencySummary>,
    #[serde(default)]
    latency_uncorrected_ms: Option<LatencySummary>,
    #[serde(default)]
    ttfb_ms: Option<LatencySummary>,
    #[serde(default)]
    connect_ms: Option<LatencySummary>,
    percentiles: Vec<Percentile>,
    status_codes: LiteMap<String, u64>,
    errors: LiteMap<String, u64>,
    issued: u64,
    started_unix_us: Option<u64>,
    ended_unix_us: Option<u64>,
    error_messages: LiteMap<String, String>,
    histogram: String,
    #[serde(default)]
    histogram_uncorrected: Option<String>,
    histogram_ttfb: String,
    histogram_connect: String,
    series: Vec<SeriesPoint>,
    #[serde(default)]
    plan: Option<Plan>,
    #[serde(default)]
    members: Vec<Wire>,
    #[serde(default)]
    connections: Option<ConnectionStats>,
    #[serde(default)]
    generator: Option<GeneratorSummary>,
    #[serde(default)]
    generator_watch: Option<GeneratorResults>,
    #[serde(default)]
    journey: bool,
    #[serde(default)]
    skipped: u64,
    #[serde(default)]
    checks_failed: LiteMap<String, Tally>,
    #[serde(default)]
    extracts_failed: LiteMap<String, Tally>,
    #[serde(default)]
    rows_ran_out: bool,
}

impl TryFrom<Wire> for Results {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        let members = w
            .members
            .into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                let name = m
                    .name
                    .take()
                    .ok_or_else(|| format!("members[{i}] has no name"))?;
                Ok(MemberResults {
                    name,
                    results: Box::new(Results::try_from(m)?),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            format: w.format,
            version: w.version,
            summary: Summary {
                total: w.total,
                succeeded: w.succeeded,
                failed: w.failed,
                cancelled: w.cancelled,
                warmup: w.warmup,
                elapsed_s: w.elapsed_s,
                rps: w.rps,
                bytes: w.bytes,
                latency_ms: w.latency_ms,
                latency_uncorrected_ms: w.latency_uncorrected_ms,
                ttfb_ms: w.ttfb_ms,
                connect_ms: w.connect_ms,
                percentiles: w.percentiles,
                status_codes: w.status_codes,
                errors: w.errors,
                generator: w.generator,
                journey: w.journey,
                skipped: w.skipped,
                checks_failed: w.checks_failed,
                extracts_failed: w.extracts_failed,
                rows_ran_out: w.rows_ran_out,
            },
            issued: w.issued,
            started_unix_us: w.started_unix_us,
            ended_unix_us: w.ended_unix_us,
            error_messages: w.error_messages,
            histogram: w.histogram,
            histogram_uncorrected: w.histogram_uncorrected,
            histogram_ttfb: w.histogram_ttfb,
            histogram_connect: w.histogram_connect,
            series: w.series,
            plan: w.plan,
            members,
            connections: w.connections,
            generator_watch: w.generator_watch,
        })
    }
}

fn not_hdr(path: &str, e: &CodecError) -> ResultsError {
    field(path, format!("not an HdrHistogram: {e}"))
}

/// The histogram at `path`, decoded from its inflated V2 bytes.
fn take<T: Counter + TryFrom<u64>>(
    plain: &mut Plain,
    path: &str,
) -> Result<Histogram<T>, ResultsError> {
    take_v2(plain, path).map(|(h, _)| h)
}

/// The histogram at `path` and the V2 bytes it was decoded from.
fn take_v2<T: Counter + TryFrom<u64>>(
    plain: &mut Plain,
    path: &str,
) -> Result<(Histogram<T>, Vec<u8>), ResultsError> {
    let v2 = plain
        .remove(path)
        .unwrap_or(Err(CodecError::Truncated))
        .map_err(|e| not_hdr(path, &e))?;
    let mut h = codec::decode::<T>(&v2).map_err(|e| not_hdr(path, &e))?;
    h.auto(true);
    Ok((h, v2))
}

/// A histogram field's bytes, out of base64; `name` is the field named in the error.
fn base64_field(name: &str, text: &str) -> Result<Vec<u8>, ResultsError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| field(name, format!("not base64: {e}")))
}

/// Reads a histogram field as flak writes it (or as any HdrHistogram implementation does,
/// plain or compressed V2); `name` is the field named in the error.
#[cfg(not(target_arch = "wasm32"))]
pub fn decode<T: Counter + TryFrom<u64>>(
    name: &str,
    text: &str,
) -> Result<Histogram<T>, ResultsError> {
    let bytes = base64_field(name, text)?;
    let mut h = codec::decode_any::<T>(&bytes).map_err(|e| not_hdr(name, &e))?;
    h.auto(true);
    Ok(h)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
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
        let c = s.connections_mut();
        c.asked = Some("h2".into());
        c.record_open("h2");
        c.record_open("http/1.1");
        c.record_wait(1_500);
        c.peak_streams = 7;
        c.retries = 2;
        c.redirect_bytes = 99;
        s
    }

    /// The CLI's file (each histogram compressed as it is built) and the app's (built, then
    /// compressed all together) are the same file.
    #[test]
    fn both_ways_of_writing_agree() {
        let mut stats = sample_stats();
        stats.members.push(Member {
            name: "second".into(),
            stats: sample_stats(),
        });
        let unfinished = Results::unfinished(&stats, None);
        let zlib = unfinished
            .uncompressed()
            .iter()
            .map(|v2| codec::deflate(v2))
            .collect();
        assert_eq!(
            unfinished.finish(zlib).to_json(),
            Results::of(&stats, None).to_json()
        );
    }

    #[test]
    fn plain_histograms_load_without_inflating() {
        let stats = sample_stats();
        let json = Results::unfinished(&stats, None).plain().to_json();
        let loading = Results::parse(&json).unwrap();
        assert!(loading.compressed().is_empty());
        let (back, _) = loading.finish(Vec::new()).unwrap();
        assert_eq!(back, stats);
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

    /// Each second's status classes and error kinds survive the file, files without them
    /// (older ones) still load, and outcomes that disagree with the second's counts are refused.
    #[test]
    fn series_outcomes_round_trip_and_are_optional() {
        let stats = sample_stats();
        let json = Results::of(&stats, None).to_json();
        assert!(json.contains("\"outcomes\": {"), "{json}");
        let (back, results) = Results::load(&json).unwrap();
        let o = back.series()[&1_700_000_000].outcomes.as_ref().unwrap();
        assert_eq!(
            o.classes[2] + o.classes[5],
            67,
            "200s and 503s of the first second"
        );
        assert_eq!(o.errors[&ErrorKind::Timeout], 33);
        let named = |i: usize| results.series[i].outcomes.clone().unwrap();
        assert!(
            named(0).is_empty(),
            "a second with time in flight but nothing finished"
        );
        assert_eq!(named(1).get("5xx"), Some(&33));

        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        for p in value["series"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("outcomes");
        }
        let (old, _) = Results::load(&value.to_string()).unwrap();
        assert!(old.series().values().all(|i| i.outcomes.is_none()));
        assert_eq!(old.succeeded(), stats.succeeded());

        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["series"][1]["outcomes"]["2xx"] = 1.into();
        let err = Results::load(&value.to_string()).unwrap_err();
        assert!(
            err.to_string().contains("series[1].outcomes add up to"),
            "{err}"
        );
        value["series"][1]["outcomes"]["7xx"] = 1.into();
        let err = Results::load(&value.to_string()).unwrap_err();
        assert!(
            err.to_string().contains("unknown error kind \"7xx\""),
            "{err}"
        );
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
            ("[1, 2, 3]".to_string(), "not a flak results file"),
            (edit("\"flak-results\"", "7"), "no \"format\" field"),
            (
                edit("\"version\": 1", "\"version\": \"1\""),
                "field version: missing or not a whole number",
            ),
            (
                edit("\"succeeded\": 100", "\"succeeded\": \"many\""),
                "invalid type: string \"many\", expected u64 at line",
            ),
            (
                edit("\"issued\": 301,", ""),
                "not a flak results file: missing field `issued`",
            ),
            (
                edit("\"histogram\": \"HISTFAAA", "\"histogram\": \"AAAA"),
                "field histogram: not an HdrHistogram: it starts with 0x000000",
            ),
        ];
        for (json, want) in cases {
            let err = Results::load(&json).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }
}
