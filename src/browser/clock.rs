//! The browser's clock for the core scheduler: `performance.now()` (0.1 ms steps, 5 µs when the
//! page is cross-origin isolated) and `setTimeout` for sleeping.

use std::future::Future;
use std::time::Duration;

use gloo_timers::future::TimeoutFuture;

pub struct BrowserClock {
    performance: web_sys::Performance,
}

impl BrowserClock {
    pub fn new() -> Self {
        Self {
            performance: super::performance(),
        }
    }
}

impl Default for BrowserClock {
    fn default() -> Self {
        Self::new()
    }
}

fn from_ms(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1e3)
}

impl flak_core::Clock for BrowserClock {
    fn now(&self) -> Duration {
        from_ms(self.performance.now())
    }

    fn unix_now(&self) -> Duration {
        // timeOrigin + now() stays monotonic within the run, unlike Date.now().
        from_ms(self.performance.time_origin() + self.performance.now())
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        let wait_ms = (deadline.as_secs_f64() * 1e3 - self.performance.now()).ceil();
        async move {
            if wait_ms > 0.0 {
                TimeoutFuture::new(wait_ms.min(f64::from(u32::MAX)) as u32).await;
            }
        }
    }
}
