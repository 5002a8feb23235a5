//! What `flak target` counts: connections accepted, requests (and how many over HTTP/2 and
//! HTTP/3), in flight now and at peak, connections closed on request, request body bytes read
//! (on `/upload`, and every body over HTTP/3), and per-path counts up to a bound. Served at
//! `/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Distinct paths counted one by one; past this they are only counted together, so a run over
/// millions of template URLs cannot grow the server without bound.
const MAX_PATHS: usize = 10_000;

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
}

impl Counters {
    pub(super) fn snapshot(&self) -> StatsBody {
        let paths = self
            .paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
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
