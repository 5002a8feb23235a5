//! What a scrape reads: each worker's latest counts and latency histogram, replaced ten times a
//! second, and after the run the exact merged result. Counters only grow within a run, as
//! Prometheus expects.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use flak_core::{ErrorKind, LiteMap, Plan, Shard, Stats};
use hdrhistogram::Histogram;

/// One worker's (or the whole run's) counts at a moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub issued: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub status: LiteMap<u16, u64>,
    pub errors: LiteMap<ErrorKind, u64>,
    /// Microseconds, as the run records them.
    pub latency: Histogram<u64>,
}

impl Snapshot {
    fn of(stats: &Stats) -> Self {
        Self {
            issued: stats.issued(),
            succeeded: stats.succeeded(),
            failed: stats.failed(),
            cancelled: stats.cancelled(),
            status: stats.status_codes().clone(),
            errors: stats.errors().clone(),
            latency: stats.latency().clone(),
        }
    }

    fn add(&mut self, other: &Snapshot) {
        self.issued += other.issued;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        for (k, n) in &other.status {
            *self.status.entry(*k).or_insert(0) += n;
        }
        for (k, n) in &other.errors {
            *self.errors.entry(*k).or_insert(0) += n;
        }
        // Histograms of one run share their settings; auto-resizing ones always add.
        let _ = self.latency.add(&other.latency);
    }

    pub fn in_flight(&self) -> u64 {
        self.issued
            .saturating_sub(self.succeeded + self.failed + self.cancelled)
    }
}

/// The run's live state, shared by the workers (writers) and the metrics server and the live
/// terminal view (readers).
#[derive(Debug)]
pub struct Live {
    /// `run_id` and `shard`, on every metric.
    pub labels: Vec<(String, String)>,
    plan: Arc<Plan>,
    shard: Shard,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    started: Option<Instant>,
    workers: Vec<Option<Snapshot>>,
    /// The merged result, once the run is over: exact, and what the last scrape reads.
    done: Option<(Snapshot, Option<u64>)>,
}

impl Live {
    pub fn new(plan: Arc<Plan>, shard: Shard, run_id: String, workers: usize) -> Self {
        let labels = vec![
            ("run_id".to_string(), run_id),
            (
                "shard".to_string(),
                format!("{}/{}", shard.index, shard.count),
            ),
        ];
        Self {
            labels,
            plan,
            shard,
            state: Mutex::new(State {
                workers: vec![None; workers],
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The measured phase began now (the rate's requests are asked from here).
    pub fn start(&self) {
        self.state().started.get_or_insert_with(Instant::now);
    }

    /// Worker `k`'s statistics so far.
    pub fn publish(&self, k: usize, stats: &Stats) {
        let snapshot = Snapshot::of(stats);
        let mut state = self.state();
        state.started.get_or_insert_with(Instant::now);
        if let Some(slot) = state.workers.get_mut(k) {
            *slot = Some(snapshot);
        }
    }

    /// The run is over: scrapes from now on read its exact merged statistics.
    pub fn finish(&self, stats: &Stats) {
        let asked = stats.generator().map(|g| g.asked());
        self.state().done = Some((Snapshot::of(stats), asked));
    }

    /// The counts now, and the requests a rate has asked for so far (open model only).
    pub fn read(&self) -> Option<(Snapshot, Option<u64>)> {
        let state = self.state();
        if let Some(done) = &state.done {
            return Some(done.clone());
        }
        let mut workers = state.workers.iter().flatten();
        let mut total = workers.next()?.clone();
        workers.for_each(|w| total.add(w));
        let asked = state
            .started
            .and_then(|t| self.plan.asked(t.elapsed(), self.shard));
        Some((total, asked))
    }
}
