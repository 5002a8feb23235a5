//! What `flak target` counts: connections accepted, requests (and how many over HTTP/2 and
//! HTTP/3), in flight now and at peak, connections closed on request, request body bytes read
//! (on `/upload`, and every body over HTTP/3), per-path counts up to a bound, and a timeline of
//! arrivals and peak in-flight per 100 ms from the first request after a reset (to check load
//! that changes over time), and the journey routes' counts (`journey.rs`). Served at `/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use serde::Serialize;

use super::journey::{Journey, JourneyStats};

/// Distinct paths counted one by one; past this they are only counted together, so a run over
/// millions of template URLs cannot grow the server without bound.
const MAX_PATHS: usize = 10_000;

/// The timeline's window, and how many it keeps (an hour); later arrivals are not in it.
const WINDOW_MS: u128 = 100;
const MAX_WINDOWS: usize = 36_000;

/// Per window from the first request after a reset: requests that arrived, and the most in
/// flight at once.
#[derive(Default)]
struct Timeline {
    origin: Option<Instant>,
    arrivals: Vec<u64>,
    peak_in_flight: Vec<u64>,
}

#[derive(Default)]
pub(super) struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    pub(super) closed: AtomicU64,
    http2: AtomicU64,
    pub(super) connections: AtomicU64,
    body_bytes: AtomicU64,
    http3: AtomicU64,
    paths: Mutex<BTreeMap<String, u64>>,
    other_paths: AtomicU64,
    timeline: Mutex<Timeline>,
    /// Tokens and counts of the journey routes (`journey.rs`).
    pub(super) journey: Journey,
}

#[derive(Serialize)]
pub(super) struct StatsBody {
    requests: u64,
    in_flight: u64,
    peak_in_flight: u64,
    closed: u64,
    /// Requests that came over HTTP/2.
    http2: u64,
    /// Connections accepted.
    connections: u64,
    /// Requests that came over HTTP/3.
    http3: u64,
    /// Request body bytes read: on `/upload`, and every body over HTTP/3.
    body_bytes: u64,
    distinct_paths: usize,
    other_paths: u64,
    paths: BTreeMap<String, u64>,
    /// Requests that arrived in each 100 ms from the first one after the last reset.
    arrivals_per_100ms: Vec<u64>,
    /// The most requests in flight at once in each of those 100 ms.
    peak_in_flight_per_100ms: Vec<u64>,
    /// Counts of the journey routes (`journey.rs`).
    journey: JourneyStats,
}

impl Counters {
    pub(super) fn snapshot(&self) -> StatsBody {
        let paths = self
            .paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let timeline = self.timeline();
        StatsBody {
            requests: self.requests.load(Ordering::SeqCst),
            // This /stats request itself is not counted.
            in_flight: self.in_flight.load(Ordering::SeqCst),
            peak_in_flight: self.peak_in_flight.load(Ordering::SeqCst),
            closed: self.closed.load(Ordering::SeqCst),
            http2: self.http2.load(Ordering::SeqCst),
            connections: self.connections.load(Ordering::SeqCst),
            http3: self.http3.load(Ordering::SeqCst),
            body_bytes: self.body_bytes.load(Ordering::SeqCst),
            distinct_paths: paths.len(),
            other_paths: self.other_paths.load(Ordering::SeqCst),
            paths,
            arrivals_per_100ms: timeline.arrivals.clone(),
            peak_in_flight_per_100ms: timeline.peak_in_flight.clone(),
            journey: self.journey.snapshot(),
        }
    }

    pub(super) fn reset(&self) {
        self.requests.store(0, Ordering::SeqCst);
        self.peak_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        self.closed.store(0, Ordering::SeqCst);
        self.http2.store(0, Ordering::SeqCst);
        self.connections.store(0, Ordering::SeqCst);
        self.http3.store(0, Ordering::SeqCst);
        self.body_bytes.store(0, Ordering::SeqCst);
        self.other_paths.store(0, Ordering::SeqCst);
        self.paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self.timeline() = Timeline::default();
        self.journey.reset();
    }

    fn timeline(&self) -> std::sync::MutexGuard<'_, Timeline> {
        self.timeline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn arrive(&self, path: &str, version: hyper::Version) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if version == hyper::Version::HTTP_2 {
            self.http2.fetch_add(1, Ordering::SeqCst);
        } else if version == hyper::Version::HTTP_3 {
            self.http3.fetch_add(1, Ordering::SeqCst);
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        {
            let mut timeline = self.timeline();
            let origin = *timeline.origin.get_or_insert_with(Instant::now);
            let window = (origin.elapsed().as_millis() / WINDOW_MS) as usize;
            if window < MAX_WINDOWS {
                if timeline.arrivals.len() <= window {
                    timeline.arrivals.resize(window + 1, 0);
                    timeline.peak_in_flight.resize(window + 1, 0);
                }
                timeline.arrivals[window] += 1;
                let peak = &mut timeline.peak_in_flight[window];
                *peak = (*peak).max(now);
            }
        }
        let mut paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = paths.get_mut(path) {
            *n += 1;
        } else if paths.len() < MAX_PATHS {
            paths.insert(path.to_string(), 1);
        } else {
            self.other_paths.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(super) fn body(&self, bytes: u64) {
        self.body_bytes.fetch_add(bytes, Ordering::SeqCst);
    }
}

/// Decrements the in-flight gauge however the handler ends (answered, or dropped mid-delay).
pub(super) struct InFlight<'a>(pub(super) &'a Counters);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
