//! Time is an input: the scheduler never reads a clock of its own. The CLI supplies tokio's,
//! the browser `performance.now()` and `setTimeout`, tests a [`crate::sim::VirtualClock`].
//! (`std::time::Instant::now` panics on wasm32-unknown-unknown.)

use std::future::Future;
use std::time::Duration;

pub trait Clock {
    /// Monotonic time since an origin fixed for this clock.
    fn now(&self) -> Duration;

    /// Wall-clock time since the Unix epoch. Used only to line up results from several
    /// machines, never to measure a latency.
    fn unix_now(&self) -> Duration;

    /// Completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()>;
}
