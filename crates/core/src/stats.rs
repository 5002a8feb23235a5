//! Statistics of a run: HdrHistograms and counters in constant memory (the time series grows
//! with the run's duration, never with its request count), merged exactly across threads,
//! processes and machines.

use crate::connections::ConnectionStats;
use crate::generator::Generator;
use litemap::LiteMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

pub use crate::series::{INTERVAL_SIGFIG, Interval};
use crate::transport::{ErrorKind, Outcome, is_success};

/// Seconds of the series kept live behind the newest one: samples finish out of order by up to
/// a request's latency, and a late one only costs unpacking its second again.
const LIVE_SECONDS: u64 = 2;

/// Latency histograms hold microseconds with 3 significant digits.
pub const SIGFIG: u8 = 3;

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram precision")
}

/// Records `value`, growing the histogram as needed (`saturating_record` would clamp first).
pub(crate) fn put<T: hdrhistogram::Counter>(h: &mut Histogram<T>, value: u64) {
    if h.record(value).is_err() {
        h.saturating_record(value);
    }
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The series' second `second`, packing the seconds well behind it (see [`Interval`]) when it
/// is a new one.
fn interval_at(series: &mut LiteMap<u64, Interval>, second: u64) -> &mut Interval {
    if series.last().is_some_and(|(last, _)| *last < second) {
        let behind = second.saturating_sub(LIVE_SECONDS);
        for (_, interval) in series.iter_mut().take_while(|(s, _)| **s < behind) {
            interval.pack();
        }
    }
    series.entry(second).or_insert_with(Interval::new)
}

/// One finished request, as the scheduler reports it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// From the intended start when a rate is set (coordinated-omission corrected), otherwise
    /// from the actual start.
    pub latency: Duration,
    /// From the actual start; kept beside `latency` when a rate is set.
    pub uncorrected: Option<Duration>,
    /// Wall-clock time at completion, which second of the time series it lands in.
    pub end_unix: Duration,
    pub outcome: &'a Outcome,
}

/// A fan-out member's own statistics, next to the group's.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub stats: Stats,
}

/// Everything a run measured. See the crate docs for what each counter means.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub(crate) started_unix_us: Option<u64>,
    pub(crate) ended_unix_us: Option<u64>,
    pub(crate) issued: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
    pub(crate) warmup: u64,
    pub(crate) bytes: u64,
    pub(crate) latency: Histogram<u64>,
    pub(crate) uncorrected: Option<Histogram<u64>>,
    pub(crate) ttfb: Histogram<u64>,
    pub(crate) connect: Histogram<u64>,
    pub(crate) status: LiteMap<u16, u64>,
    pub(crate) errors: LiteMap<ErrorKind, u64>,
    pub(crate) error_messages: LiteMap<ErrorKind, String>,
    pub(crate) series: LiteMap<u64, Interval>,
    /// Fan-out runs: each member's own statistics (the fields above are the group's).
    pub(crate) members: Vec<Member>,
    /// What the connections did (the CLI's transport counts it; a browser cannot see it).
    pub(crate) connections: ConnectionStats,
    /// Open-model runs: how the generator kept up with its rate.
    pub(crate) generator: Option<Generator>,
    /// Journeys: what the steps' failures did to the rest of their iterations.
    pub(crate) journey: JourneyCounts,
}

/// A count and the first message of its kind (the message is kept as said, for the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub first: String,
}

/// Journeys' own counters, on each step request's statistics (and summed on the run's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JourneyCounts {
    /// The run is a journey: its members are step requests, its iterations run them in order.
    pub is_journey: bool,
    /// Requests never issued because an earlier step of their iteration failed.
    pub skipped: u64,
    /// Failed checks, by the check's label (`status in [200, 201]`).
    pub checks_failed: LiteMap<String, Tally>,
    /// Values that could not be extracted, by variable name.
    pub extracts_failed: LiteMap<String, Tally>,
    /// A data file read `unique` ran out of rows, which ended the run.
    pub rows_ran_out: bool,
}

impl JourneyCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn merge(&mut self, other: &JourneyCounts) {
        self.skipped = self.skipped.saturating_add(other.skipped);
        for (mine, theirs) in [
            (&mut self.checks_failed, &other.checks_failed),
            (&mut self.extracts_failed, &other.extracts_failed),
        ] {
            for (name, t) in theirs {
                tally(mine, name, t.count, &t.first);
            }
        }
        self.rows_ran_out |= other.rows_ran_out;
        self.is_journey |= other.is_journey;
    }
}

fn tally(map: &mut LiteMap<String, Tally>, name: &str, count: u64, first: &str) {
    match map.get_mut(name) {
        Some(t) => t.count = t.count.saturating_add(count),
        None => {
            map.insert(
                name.to_string(),
                Tally {
                    count,
                    first: first.to_string(),
                },
            );
        }
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Stats {
    /// Empty statistics. `corrected` is true for runs with a rate, which keep the uncorrected
    /// latency beside the corrected one.
    pub fn new(corrected: bool) -> Self {
        Self {
            started_unix_us: None,
            ended_unix_us: None,
            issued: 0,
            succeeded: 0,
            failed: 0,
            cancelled: 0,
            warmup: 0,
            bytes: 0,
            latency: new_histogram(),
            uncorrected: corrected.then(new_histogram),
            ttfb: new_histogram(),
            connect: new_histogram(),
            status: LiteMap::new(),
            errors: LiteMap::new(),
            error_messages: LiteMap::new(),
            series: LiteMap::new(),
            members: Vec::new(),
            connections: ConnectionStats::default(),
            generator: corrected.then(Generator::default),
            journey: JourneyCounts::default(),
        }
    }

    /// Adds empty statistics for fan-out members that are not there yet.
    pub fn init_members(&mut self, names: &[String]) {
        let corrected = self.uncorrected.is_some();
        for name in names {
            if !self.members.iter().any(|m| &m.name == name) {
                let mut stats = Stats::new(corrected);
                // The generator is watched once, for the iterations.
                stats.generator = None;
                self.members.push(Member {
                    name: name.clone(),
                    stats,
                });
            }
        }
    }

    /// Fan-out members, in plan order (empty for ordinary runs).
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub(crate) fn member_mut(&mut self, i: usize) -> &mut Stats {
        &mut self.members[i].stats
    }

    /// Marks the start of measuring (the earliest start wins when shards merge).
    pub fn begin(&mut self, unix: Duration) {
        for m in &mut self.members {
            m.stats.begin(unix);
        }
        let us = micros(unix);
        self.started_unix_us = Some(self.started_unix_us.map_or(us, |s| s.min(us)));
        self.ended_unix_us = Some(self.ended_unix_us.map_or(us, |e| e.max(us)));
    }

    /// A request was handed to the transport.
    pub fn record_issued(&mut self) {
        self.issued += 1;
    }

    /// A request was handed to the transport at wall-clock `unix`: counted, and in the series
    /// as a send of that second.
    pub fn record_sent(&mut self, unix: Duration) {
        self.issued += 1;
        interval_at(&mut self.series, micros(unix) / 1_000_000).started += 1;
    }

    /// Spreads a request's time in flight, `start_us..end_us`, over the seconds it spans.
    fn add_busy(&mut self, start_us: u64, end_us: u64) {
        let mut from = start_us;
        while from < end_us {
            let second = from / 1_000_000;
            let to = end_us.min((second + 1) * 1_000_000);
            let interval = interval_at(&mut self.series, second);
            interval.busy_us = interval.busy_us.saturating_add(to - from);
            from = to;
        }
    }

    /// A journey request was not issued: an earlier step of its iteration failed.
    pub fn record_skipped(&mut self) {
        self.journey.skipped += 1;
    }

    /// A journey's check failed on a response (the request is recorded as failed on its own).
    pub fn record_check_failed(&mut self, label: &str, message: &str) {
        tally(&mut self.journey.checks_failed, label, 1, message);
    }

    /// A journey could not extract `name` from a response.
    pub fn record_extract_failed(&mut self, name: &str, message: &str) {
        tally(&mut self.journey.extracts_failed, name, 1, message);
    }

    /// Marks the run as a journey's (its members are step requests).
    pub fn mark_journey(&mut self) {
        self.journey.is_journey = true;
    }

    /// A `unique` data file ran out of rows and ended the run.
    pub fn record_rows_ran_out(&mut self) {
        self.journey.rows_ran_out = true;
    }

    /// Journeys' counters (empty for other runs).
    pub fn journey(&self) -> &JourneyCounts {
        &self.journey
    }

    /// A warm-up request finished; it counts only here.
    pub fn record_warmup(&mut self) {
        self.warmup += 1;
    }

    /// A request finished with a response or an error.
    pub fn record(&mut self, sample: &Sample<'_>) {
        let end_us = micros(sample.end_unix);
        self.ended_unix_us = Some(self.ended_unix_us.map_or(end_us, |e| e.max(end_us)));
        let in_flight = micros(sample.uncorrected.unwrap_or(sample.latency));
        self.add_busy(end_us.saturating_sub(in_flight), end_us);
        let interval = interval_at(&mut self.series, end_us / 1_000_000);
        interval.count += 1;
        match sample.outcome {
            Outcome::Response(r) => {
                if is_success(r.status) {
                    self.succeeded += 1;
                } else {
                    self.failed += 1;
                    interval.errors += 1;
                }
                interval.count_status(r.status);
                *self.status.entry(r.status).or_insert(0) += 1;
                self.bytes += r.bytes;
                let us = micros(sample.latency);
                put(&mut self.latency, us);
                put(interval.live(), us);
                if let (Some(h), Some(u)) = (self.uncorrected.as_mut(), sample.uncorrected) {
                    put(h, micros(u));
                }
                if let Some(t) = r.ttfb {
                    put(&mut self.ttfb, micros(t));
                }
                if let Some(c) = r.connect {
                    put(&mut self.connect, micros(c));
                }
            }
            Outcome::Error(e) => {
                self.failed += 1;
                interval.errors += 1;
                interval.count_error(e.kind);
                *self.errors.entry(e.kind).or_insert(0) += 1;
                self.error_messages
                    .entry(e.kind)
                    .or_insert_with(|| e.message.clone());
            }
        }
    }

    /// Ends the run: whatever was issued but never finished is cancelled.
    pub fn finish(&mut self, unix: Duration) {
        for m in &mut self.members {
            m.stats.finish(unix);
        }
        let done = self.succeeded + self.failed + self.cancelled;
        self.cancelled += self.issued.saturating_sub(done);
        let us = micros(unix);
        self.ended_unix_us = Some(self.ended_unix_us.map_or(us, |e| e.max(us)));
    }

    /// Adds `other` into `self` exactly: histograms added, counters summed, the time series
    /// aligned by wall-clock second, the run's span the union of both.
    pub fn merge(&mut self, other: &Stats) {
        self.started_unix_us = match (self.started_unix_us, other.started_unix_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.ended_unix_us = self.ended_unix_us.max(other.ended_unix_us);
        self.issued = self.issued.saturating_add(other.issued);
        self.succeeded = self.succeeded.saturating_add(other.succeeded);
        self.failed = self.failed.saturating_add(other.failed);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.warmup = self.warmup.saturating_add(other.warmup);
        self.bytes = self.bytes.saturating_add(other.bytes);
        let add = |a: &mut Histogram<u64>, b: &Histogram<u64>| {
            a.add(b).expect("auto-resizing histograms always add");
        };
        add(&mut self.latency, &other.latency);
        match (self.uncorrected.as_mut(), other.uncorrected.as_ref()) {
            (Some(a), Some(b)) => add(a, b),
            (None, Some(b)) => self.uncorrected = Some(b.clone()),
            _ => {}
        }
        add(&mut self.ttfb, &other.ttfb);
        add(&mut self.connect, &other.connect);
        self.connections.merge(&other.connections);
        self.journey.merge(&other.journey);
        match (self.generator.as_mut(), other.generator.as_ref()) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.generator = Some(b.clone()),
            _ => {}
        }
        for (code, n) in &other.status {
            let c = self.status.entry(*code).or_insert(0);
            *c = c.saturating_add(*n);
        }
        for (kind, n) in &other.errors {
            let c = self.errors.entry(*kind).or_insert(0);
            *c = c.saturating_add(*n);
        }
        for (kind, msg) in &other.error_messages {
            self.error_messages
                .entry(*kind)
                .or_insert_with(|| msg.clone());
        }
        // The newest seconds may still receive samples: they stay live, the others are packed.
        let newest = [&self.series, &other.series]
            .iter()
            .filter_map(|series| series.last().map(|(second, _)| *second))
            .max()
            .unwrap_or(0);
        for (second, interval) in &other.series {
            let mine = self.series.entry(*second).or_insert_with(Interval::new);
            mine.merge(interval);
            if *second < newest.saturating_sub(LIVE_SECONDS) {
                mine.pack();
            }
        }
        for member in &other.members {
            match self.members.iter_mut().find(|m| m.name == member.name) {
                Some(mine) => mine.stats.merge(&member.stats),
                None => self.members.push(member.clone()),
            }
        }
    }

    /// Merges statistics of parts of one run (threads, processes, machines, files): the first
    /// becomes the result and the others merge into it, rather than all merging into an empty
    /// one, which saves a copy of the series. `None` when there are none. They are taken one at a
    /// time, so a lazy iterator holds only the result and the next one.
    pub fn merge_all(all: impl IntoIterator<Item = Stats>) -> Option<Stats> {
        let Ok(merged) =
            Self::try_merge_all(all.into_iter().map(Ok::<_, std::convert::Infallible>));
        merged
    }

    /// [`Stats::merge_all`] over statistics that may have failed to arrive (a file that does not
    /// load, a worker that panicked): the first error is returned, and nothing more is taken
    /// from the iterator.
    pub fn try_merge_all<E>(
        all: impl IntoIterator<Item = Result<Stats, E>>,
    ) -> Result<Option<Stats>, E> {
        let mut merged: Option<Stats> = None;
        for stats in all {
            let stats = stats?;
            match merged.as_mut() {
                Some(m) => m.merge(&stats),
                None => merged = Some(stats),
            }
        }
        Ok(merged)
    }

    /// Requests accounted for: issued and finished, failed or cancelled.
    pub fn total(&self) -> u64 {
        self.succeeded + self.failed + self.cancelled
    }
    /// Requests handed to the transport (equals `total` once the run has finished).
    pub fn issued(&self) -> u64 {
        self.issued
    }
    /// Requests in flight right now (0 once finished).
    pub fn in_flight(&self) -> u64 {
        self.issued.saturating_sub(self.total())
    }
    /// Responses with status 2xx or 3xx (or opaque browser responses).
    pub fn succeeded(&self) -> u64 {
        self.succeeded
    }
    /// Responses with 4xx/5xx, and requests that ended in an error.
    pub fn failed(&self) -> u64 {
        self.failed
    }
    /// Requests abandoned by a stop, an abort or the end of the duration.
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }
    pub fn warmup(&self) -> u64 {
        self.warmup
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Requests that ended in an error (no response).
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
    /// Latency of every response, in µs; corrected for coordinated omission under a rate.
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency
    }
    /// Latency from the actual send, when a rate was set.
    pub fn uncorrected(&self) -> Option<&Histogram<u64>> {
        self.uncorrected.as_ref()
    }
    pub fn ttfb(&self) -> &Histogram<u64> {
        &self.ttfb
    }
    pub fn connect(&self) -> &Histogram<u64> {
        &self.connect
    }
    pub fn connections(&self) -> &ConnectionStats {
        &self.connections
    }
    /// For the transport's counts, added once a worker's run ends.
    pub fn connections_mut(&mut self) -> &mut ConnectionStats {
        &mut self.connections
    }
    /// How the generator kept up with its rate (open-model runs only).
    pub fn generator(&self) -> Option<&Generator> {
        self.generator.as_ref()
    }
    pub fn generator_mut(&mut self) -> Option<&mut Generator> {
        self.generator.as_mut()
    }
    pub fn status_codes(&self) -> &LiteMap<u16, u64> {
        &self.status
    }
    pub fn errors(&self) -> &LiteMap<ErrorKind, u64> {
        &self.errors
    }
    /// The first message seen for each error kind.
    pub fn error_messages(&self) -> &LiteMap<ErrorKind, String> {
        &self.error_messages
    }
    /// Per-second intervals keyed by Unix second.
    pub fn series(&self) -> &LiteMap<u64, Interval> {
        &self.series
    }
    pub fn started_unix(&self) -> Option<Duration> {
        self.started_unix_us.map(Duration::from_micros)
    }
    /// Time from the start of measuring to the last completion (or the end of the run).
    pub fn elapsed(&self) -> Duration {
        match (self.started_unix_us, self.ended_unix_us) {
            (Some(s), Some(e)) => Duration::from_micros(e.saturating_sub(s)),
            _ => Duration::ZERO,
        }
    }
    /// Finished requests (responses and errors) per second of elapsed time.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed().as_secs_f64();
        if secs > 0.0 {
            (self.succeeded + self.failed) as f64 / secs
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{RequestError, Response};

    fn ok(status: u16) -> Outcome {
        Outcome::Response(Response {
            status,
            bytes: 10,
            ttfb: None,
            connect: None,
        })
    }

    fn sample(outcome: &Outcome, ms: u64, at_s: u64) -> Sample<'_> {
        Sample {
            latency: Duration::from_millis(ms),
            uncorrected: None,
            end_unix: Duration::from_secs(at_s),
            outcome,
        }
    }

    #[test]
    fn counts_status_classes_and_errors() {
        let mut s = Stats::new(false);
        s.begin(Duration::from_secs(100));
        let outcomes = [
            ok(200),
            ok(301),
            ok(404),
            ok(503),
            Outcome::Error(RequestError::new(ErrorKind::Reset, "reset by peer")),
        ];
        for o in &outcomes {
            s.record_issued();
            s.record(&sample(o, 5, 100));
        }
        s.record_issued();
        s.finish(Duration::from_secs(101));
        assert_eq!((s.succeeded(), s.failed(), s.cancelled()), (2, 3, 1));
        assert_eq!(s.total(), s.issued());
        assert_eq!(s.latency().len(), 4, "errors carry no latency");
        assert_eq!(s.errors()[&ErrorKind::Reset], 1);
        assert_eq!(s.error_messages()[&ErrorKind::Reset], "reset by peer");
        assert_eq!(s.series()[&100].count, 5);
        assert_eq!(s.series()[&100].errors, 3);
        assert_eq!(s.elapsed(), Duration::from_secs(1));
        assert_eq!(s.bytes(), 40);
    }

    #[test]
    fn percentiles_match_a_sorted_list() {
        let mut s = Stats::new(false);
        let mut values: Vec<u64> = (0..10_000u64).map(|i| (i * 7919) % 250_000 + 100).collect();
        let o = ok(200);
        for v in &values {
            s.record(&Sample {
                latency: Duration::from_micros(*v),
                uncorrected: None,
                end_unix: Duration::ZERO,
                outcome: &o,
            });
        }
        values.sort_unstable();
        for q in [0.1, 0.5, 0.9, 0.99, 0.999] {
            let exact = values[((q * values.len() as f64).ceil() as usize).saturating_sub(1)];
            let got = s.latency().value_at_quantile(q);
            let err = (got as f64 - exact as f64).abs() / exact as f64;
            assert!(err <= 0.001, "q={q}: exact {exact}, histogram {got}");
        }
    }

    /// A finished part of a run: `n` responses of `status`, `ms` each, in second `at_s`.
    fn part(n: u64, status: u16, ms: u64, at_s: u64) -> Stats {
        let o = ok(status);
        let mut s = Stats::new(false);
        s.begin(Duration::from_secs(at_s));
        for _ in 0..n {
            s.record_issued();
            s.record(&sample(&o, ms, at_s));
        }
        s.finish(Duration::from_secs(at_s + 1));
        s
    }

    #[test]
    fn merge_all_merges_into_the_first() {
        assert_eq!(Stats::merge_all(Vec::new()), None);
        let one = part(3, 200, 5, 100);
        assert_eq!(Stats::merge_all([one.clone()]), Some(one.clone()));
        let (two, three) = (part(2, 503, 9, 101), part(4, 200, 1, 99));
        let mut by_hand = one.clone();
        by_hand.merge(&two);
        by_hand.merge(&three);
        let merged = Stats::merge_all([one, two, three]).expect("three parts");
        assert_eq!(merged, by_hand);
        assert_eq!(
            (merged.succeeded(), merged.failed(), merged.issued()),
            (7, 2, 9)
        );
        assert_eq!(merged.latency().len(), 9);
        assert_eq!(merged.started_unix(), Some(Duration::from_secs(99)));
        assert_eq!(merged.elapsed(), Duration::from_secs(3));
    }

    #[test]
    fn try_merge_all_stops_at_the_first_error() {
        let taken = std::cell::Cell::new(0);
        let parts = [
            Ok(part(1, 200, 5, 100)),
            Err("bad file"),
            Ok(part(1, 200, 5, 100)),
        ]
        .into_iter()
        .inspect(|_| taken.set(taken.get() + 1));
        assert_eq!(Stats::try_merge_all(parts), Err("bad file"));
        assert_eq!(taken.get(), 2, "nothing is taken after the error");
        let none: [Result<Stats, String>; 0] = [];
        assert_eq!(Stats::try_merge_all(none), Ok(None));
        let both =
            Stats::try_merge_all([part(1, 200, 5, 100), part(2, 404, 5, 100)].map(Ok::<_, ()>));
        assert_eq!(both.map(|s| s.map(|s| s.issued())), Ok(Some(3)));
    }

    #[test]
    fn a_long_series_merges_exactly_after_packing() {
        let o = ok(200);
        let (mut a, mut b, mut whole) = (Stats::new(false), Stats::new(false), Stats::new(false));
        // 300 seconds, 20 samples each, alternating between the two halves.
        for i in 0..6_000u64 {
            let s = Sample {
                latency: Duration::from_micros(300 + (i * 7919) % 40_000),
                uncorrected: None,
                // Every request starts and ends within one second.
                end_unix: Duration::from_millis(1_000_041 + i * 50),
                outcome: &o,
            };
            whole.record(&s);
            if i % 2 == 0 {
                a.record(&s);
            } else {
                b.record(&s);
            }
        }
        assert_eq!(whole.series().len(), 300);
        let packed = |s: &Stats| s.series().values().filter(|i| i.is_packed()).count();
        assert_eq!(
            packed(&whole),
            300 - 3,
            "all but the newest seconds are packed"
        );
        a.merge(&b);
        assert_eq!(a.series(), whole.series());
        assert_eq!(packed(&a), 300 - 3);
        for (sec, i) in whole.series() {
            assert_eq!(i.count, 20, "second {sec}");
            assert_eq!(i.quantile_ms(0.99), a.series()[sec].quantile_ms(0.99));
        }
    }
}
