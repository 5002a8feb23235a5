//! The per-second time series. A second still receiving samples keeps a live histogram; a
//! second that is over is packed into HdrHistogram's V2 encoding (a few hundred bytes instead
//! of several KiB), with the quantiles the charts and reports read kept beside it. That keeps a
//! long run's memory nearly flat: an hour of series is about 2 MiB, not 30. Each second also
//! counts what its requests came to (status classes, error kinds), for the charts over time.

use litemap::LiteMap;
use std::borrow::Cow;

use hdrhistogram::Histogram;

use crate::codec;
use crate::transport::{ErrorKind, is_success};

/// Per-second histograms only feed charts; 2 digits keep a long run's series small.
pub const INTERVAL_SIGFIG: u8 = 2;

/// Quantiles kept with a packed second, as read by the report, the results file and the app.
const KEPT: [f64; 3] = [0.5, 0.9, 0.99];

fn new_histogram() -> Histogram<u32> {
    Histogram::new(INTERVAL_SIGFIG).expect("2 significant digits is a valid histogram precision")
}

/// Names of the status classes, by [`class_of`]'s index, as the results file spells them.
pub const CLASSES: [&str; 7] = ["opaque", "1xx", "2xx", "3xx", "4xx", "5xx", "other_status"];

/// The index in [`CLASSES`] of `status`: 0 is an opaque browser response, 1–5 the HTTP classes,
/// 6 anything outside 100–599.
pub fn class_of(status: u16) -> usize {
    match status {
        0 => 0,
        100..=599 => usize::from(status / 100),
        _ => 6,
    }
}

/// Whether responses of class `class` (an index in [`CLASSES`]) count as failed.
pub fn class_failed(class: usize) -> bool {
    !matches!(class, 0 | 2 | 3)
}

/// What the requests that finished in one second came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Responses by status class, indexed as [`CLASSES`].
    pub classes: [u64; 7],
    /// Requests that ended in an error, by kind.
    pub errors: LiteMap<ErrorKind, u64>,
}

impl Outcomes {
    /// Responses and errors: the second's `count`.
    pub fn total(&self) -> u64 {
        self.classes
            .iter()
            .chain(self.errors.values())
            .fold(0, |a, n| a.saturating_add(*n))
    }

    /// Failed responses and errors: the second's `errors`.
    pub fn failed(&self) -> u64 {
        let classes = (0..CLASSES.len()).filter(|c| class_failed(*c));
        classes
            .map(|c| &self.classes[c])
            .chain(self.errors.values())
            .fold(0, |a, n| a.saturating_add(*n))
    }

    fn merge(&mut self, other: &Outcomes) {
        for (mine, theirs) in self.classes.iter_mut().zip(other.classes) {
            *mine = mine.saturating_add(theirs);
        }
        for (kind, n) in &other.errors {
            let mine = self.errors.entry(*kind).or_insert(0);
            *mine = mine.saturating_add(*n);
        }
    }
}

#[derive(Debug, Clone)]
enum Latency {
    Live(Histogram<u32>),
    Packed {
        v2: Box<[u8]>,
        /// Milliseconds at each of [`KEPT`]; `None` when no response finished in the second.
        kept: [Option<f64>; 3],
    },
}

/// One second of the time series.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Requests that finished in this second (responses and errors).
    pub count: u64,
    /// Of those, how many failed (errors and 4xx/5xx).
    pub errors: u64,
    /// Requests sent in this second (the achieved rate, against the asked one).
    pub started: u64,
    /// Microseconds that requests spent in flight within this second, summed: the mean number
    /// in flight is this over 1e6, and it merges by adding, which a peak would not.
    pub busy_us: u64,
    /// What those requests came to; `None` for seconds read from files that predate it (and
    /// seconds merged with them: a sum with an unknown part is unknown).
    pub outcomes: Option<Outcomes>,
    latency: Latency,
}

fn quantile_ms(h: &Histogram<u32>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1e3)
}

impl Interval {
    pub(crate) fn new() -> Self {
        Self {
            count: 0,
            errors: 0,
            started: 0,
            busy_us: 0,
            outcomes: Some(Outcomes::default()),
            latency: Latency::Live(new_histogram()),
        }
    }

    /// A finished second read from a results file: stored packed as the V2 bytes `latency` was
    /// decoded from.
    pub(crate) fn from_v2(count: u64, errors: u64, latency: &Histogram<u32>, v2: Vec<u8>) -> Self {
        Self {
            count,
            errors,
            started: 0,
            busy_us: 0,
            outcomes: None,
            latency: packed(latency, v2),
        }
    }

    /// A response with `status` finished in this second (its latency is recorded apart).
    pub(crate) fn count_status(&mut self, status: u16) {
        if let Some(o) = &mut self.outcomes {
            o.classes[class_of(status)] += 1;
        }
        debug_assert_eq!(is_success(status), !class_failed(class_of(status)));
    }

    /// A request that ended in an error of `kind` finished in this second.
    pub(crate) fn count_error(&mut self, kind: ErrorKind) {
        if let Some(o) = &mut self.outcomes {
            *o.errors.entry(kind).or_insert(0) += 1;
        }
    }

    /// Requests in flight on average over the second.
    pub fn mean_in_flight(&self) -> f64 {
        self.busy_us as f64 / 1e6
    }

    /// Latency of the responses, in microseconds.
    pub fn histogram(&self) -> Cow<'_, Histogram<u32>> {
        match &self.latency {
            Latency::Live(h) => Cow::Borrowed(h),
            Latency::Packed { v2, .. } => Cow::Owned(unpack(v2)),
        }
    }

    /// The histogram's V2 encoding (a packed second's bytes as they are).
    pub fn v2(&self) -> Cow<'_, [u8]> {
        match &self.latency {
            Latency::Live(h) => Cow::Owned(encoded(h)),
            Latency::Packed { v2, .. } => Cow::Borrowed(v2),
        }
    }

    /// The histogram, to record into or add to: unpacked first if the second was packed.
    pub(crate) fn live(&mut self) -> &mut Histogram<u32> {
        if let Latency::Packed { v2, .. } = &self.latency {
            self.latency = Latency::Live(unpack(v2));
        }
        match &mut self.latency {
            Latency::Live(h) => h,
            Latency::Packed { .. } => unreachable!("unpacked just above"),
        }
    }

    /// Packs the histogram: for seconds that are over.
    pub(crate) fn pack(&mut self) {
        if let Latency::Live(h) = &self.latency {
            self.latency = packed(h, encoded(h));
        }
    }

    pub(crate) fn merge(&mut self, other: &Interval) {
        self.count = self.count.saturating_add(other.count);
        self.errors = self.errors.saturating_add(other.errors);
        self.started = self.started.saturating_add(other.started);
        self.busy_us = self.busy_us.saturating_add(other.busy_us);
        match (&mut self.outcomes, &other.outcomes) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            _ => self.outcomes = None,
        }
        let theirs = other.histogram();
        self.live()
            .add(theirs.as_ref())
            .expect("auto-resizing histograms always add");
    }

    /// Whether the second is stored packed (it was over when later samples came).
    pub fn is_packed(&self) -> bool {
        matches!(self.latency, Latency::Packed { .. })
    }

    /// Latency at quantile `q` in milliseconds, if any response finished in this second.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        match &self.latency {
            Latency::Live(h) => quantile_ms(h, q),
            Latency::Packed { kept, .. } => match KEPT.iter().position(|k| *k == q) {
                Some(i) => kept[i],
                None => quantile_ms(&self.histogram(), q),
            },
        }
    }
}

fn encoded(h: &Histogram<u32>) -> Vec<u8> {
    let mut v2 = Vec::new();
    codec::encode(h, &mut v2);
    v2
}

/// `h` stored as its V2 bytes `v2`, with the quantiles charts ask for most kept beside.
fn packed(h: &Histogram<u32>, v2: Vec<u8>) -> Latency {
    Latency::Packed {
        v2: v2.into_boxed_slice(),
        kept: KEPT.map(|q| quantile_ms(h, q)),
    }
}

fn unpack(v2: &[u8]) -> Histogram<u32> {
    let mut h: Histogram<u32> =
        codec::decode(v2).expect("a histogram packed by this process reads back");
    h.auto(true);
    h
}

impl PartialEq for Interval {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count
            && self.errors == other.errors
            && self.started == other.started
            && self.busy_us == other.busy_us
            && self.outcomes == other.outcomes
            && self.histogram() == other.histogram()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> Interval {
        let mut i = Interval::new();
        for v in 0..5_000u64 {
            i.live().record((v * 7919) % 90_000 + 150).unwrap();
            i.count += 1;
        }
        i.errors = 7;
        i
    }

    #[test]
    fn packing_keeps_every_count_and_quantile() {
        let live = filled();
        let mut packed = live.clone();
        packed.pack();
        assert!(matches!(packed.latency, Latency::Packed { .. }));
        assert_eq!(packed, live, "same counters and the same histogram");
        for q in [0.5, 0.9, 0.99, 0.999, 0.1] {
            assert_eq!(packed.quantile_ms(q), live.quantile_ms(q), "quantile {q}");
        }
        let Latency::Packed { v2, .. } = &packed.latency else {
            unreachable!()
        };
        let Latency::Live(h) = &live.latency else {
            unreachable!()
        };
        let live_bytes = h.distinct_values() * std::mem::size_of::<u32>();
        assert!(
            v2.len() * 4 < live_bytes,
            "packed {} bytes vs {live_bytes} live",
            v2.len()
        );
    }

    #[test]
    fn a_late_sample_unpacks_the_second() {
        let mut i = filled();
        i.pack();
        i.live().record(1_000_000).unwrap();
        i.count += 1;
        assert_eq!(i.histogram().len(), 5_001);
        let max = i.quantile_ms(1.0).unwrap();
        assert!(
            (1000.0..1010.0).contains(&max),
            "max {max} ms: 1 s within 2 digits"
        );
    }

    #[test]
    fn outcomes_count_by_class_and_kind_and_merge_exactly() {
        let mut a = Interval::new();
        for status in [200, 204, 301, 404, 503, 0, 700] {
            a.count_status(status);
            a.count += 1;
        }
        a.count_error(ErrorKind::Timeout);
        a.count += 1;
        let o = a.outcomes.clone().unwrap();
        assert_eq!(o.classes, [1, 0, 2, 1, 1, 1, 1]);
        assert_eq!(
            (o.total(), o.failed()),
            (8, 4),
            "404, 503, 700 and the timeout"
        );

        let mut b = Interval::new();
        b.count_status(503);
        b.count_error(ErrorKind::Timeout);
        b.count_error(ErrorKind::Reset);
        b.count = 3;
        let mut merged = a.clone();
        merged.merge(&b);
        let m = merged.outcomes.as_ref().unwrap();
        assert_eq!(m.classes, [1, 0, 2, 1, 1, 2, 1]);
        assert_eq!(m.errors[&ErrorKind::Timeout], 2);
        assert_eq!(m.errors[&ErrorKind::Reset], 1);
        assert_eq!(m.total(), merged.count, "every request counted once");
        // Merging in either order gives the same second.
        let mut other_way = b.clone();
        other_way.merge(&a);
        assert_eq!(other_way.outcomes, merged.outcomes);

        // A second from an older file knows no outcomes: neither does a sum with it.
        let old = Interval::from_v2(1, 0, &new_histogram(), encoded(&new_histogram()));
        merged.merge(&old);
        assert_eq!(merged.outcomes, None);
    }

    #[test]
    fn an_empty_second_packs_to_no_quantiles() {
        let mut i = Interval::new();
        i.count = 3;
        i.errors = 3;
        i.pack();
        assert_eq!(i.quantile_ms(0.5), None);
        assert_eq!(i.histogram().len(), 0);
    }
}
