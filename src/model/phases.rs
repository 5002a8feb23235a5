//! Per-phase request timings (queueing, connect, time to first byte, download): the means the
//! honesty panel shows, from the sums Resource Timing gives.

use crate::browser::timing::PhaseSums;

/// Per-phase request timings from Resource Timing (means, in ms), when the server allows it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Phases {
    /// Requests the means are over.
    pub samples: u64,
    pub queueing: f64,
    pub connect: f64,
    pub ttfb: f64,
    pub download: f64,
}

impl Phases {
    /// The means of `sums`; none when no request showed its phases (no `Timing-Allow-Origin`).
    pub fn means(sums: &PhaseSums) -> Option<Self> {
        let n = sums.samples as f64;
        (sums.samples > 0).then(|| Self {
            samples: sums.samples,
            queueing: sums.queueing_ms / n,
            connect: sums.connect_ms / n,
            ttfb: sums.ttfb_ms / n,
            download: sums.download_ms / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_are_over_the_sampled_requests_and_none_without_any() {
        assert_eq!(Phases::means(&PhaseSums::default()), None);
        let sums = PhaseSums {
            samples: 4,
            queueing_ms: 2.0,
            connect_ms: 0.0,
            ttfb_ms: 8.0,
            download_ms: 1.0,
        };
        assert_eq!(
            Phases::means(&sums),
            Some(Phases {
                samples: 4,
                queueing: 0.5,
                connect: 0.0,
                ttfb: 2.0,
                download: 0.25,
            })
        );
    }
}
