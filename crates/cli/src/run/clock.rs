//! The native clock for the core scheduler: tokio's monotonic time and timers.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Monotonic time from a shared origin, so every worker thread's clock agrees.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    pub fn new(origin: std::time::Instant) -> Self {
        Self {
            origin: Instant::from_std(origin),
        }
    }
}

impl flak_core::Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn unix_now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.origin + deadline)
    }
}
