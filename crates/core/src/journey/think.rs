//! Think time: a pause after a step, `"200ms"` or a range `"50ms..200ms"`, not counted as
//! latency. The pause is drawn as a pure function of (seed, iteration, step), like template
//! fields, so a run repeats.

use std::time::Duration;

use crate::template::mix;

/// A fixed pause (`min == max`) or a range to draw from, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Think {
    pub min: Duration,
    pub max: Duration,
}

/// The longest think time a step may ask for: longer ones are typos.
pub const MAX_THINK: Duration = Duration::from_secs(3600);

impl Think {
    /// Parses `"200ms"` or `"50ms..200ms"` (humantime units: `ms`, `s`, `m`, `1s 500ms`, …).
    pub fn parse(text: &str) -> Result<Self, String> {
        let one = |s: &str| {
            let d = humantime::parse_duration(s.trim())
                .map_err(|e| format!("{:?} is not a duration such as 200ms ({e})", s.trim()))?;
            if d > MAX_THINK {
                return Err(format!("{:?} is longer than an hour", s.trim()));
            }
            Ok(d)
        };
        let (min, max) = match text.split_once("..") {
            Some((lo, hi)) => (one(lo)?, one(hi)?),
            None => {
                let d = one(text)?;
                (d, d)
            }
        };
        if min > max {
            return Err(format!("{text:?}: the range runs backwards"));
        }
        Ok(Self { min, max })
    }

    /// The pause of step `step` in iteration `iteration`: the same for the same arguments, on
    /// every thread and machine; whole microseconds, uniform over the range.
    pub fn sample(&self, seed: u64, iteration: u64, step: usize) -> Duration {
        if self.min == self.max {
            return self.min;
        }
        let salt = (step as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 0x7468_696E_6B00_0000;
        let mut rng = fastrand::Rng::with_seed(mix(seed ^ salt, iteration));
        let (lo, hi) = (self.min.as_micros() as u64, self.max.as_micros() as u64);
        Duration::from_micros(rng.u64(lo..=hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_ranged_pauses() {
        let fixed = Think::parse("200ms").unwrap();
        assert_eq!(fixed.sample(1, 2, 3), Duration::from_millis(200));
        let range = Think::parse("50ms..200ms").unwrap();
        assert_eq!(
            (range.min, range.max),
            (Duration::from_millis(50), Duration::from_millis(200))
        );
        let draws: Vec<_> = (0..500).map(|i| range.sample(7, i, 0)).collect();
        assert!(draws.iter().all(|d| (range.min..=range.max).contains(d)));
        let (lo, hi) = (draws.iter().min().unwrap(), draws.iter().max().unwrap());
        assert!(
            *lo < Duration::from_millis(60) && *hi > Duration::from_millis(190),
            "{lo:?} {hi:?}"
        );
        // A pure function of (seed, iteration, step).
        assert_eq!(range.sample(7, 123, 0), draws[123]);
        assert_ne!(
            (0..20).map(|i| range.sample(7, i, 0)).collect::<Vec<_>>(),
            (0..20).map(|i| range.sample(7, i, 1)).collect::<Vec<_>>()
        );
        assert_eq!(
            Think::parse("1s 500ms").unwrap().min,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn bad_think_times_are_refused() {
        for (text, want) in [
            ("soon", "not a duration"),
            ("200", "not a duration"),
            ("200ms..", "not a duration"),
            ("2s..1s", "runs backwards"),
            ("2h", "longer than an hour"),
        ] {
            let err = Think::parse(text).unwrap_err();
            assert!(
                err.contains(want),
                "{text}: {err:?} should contain {want:?}"
            );
        }
    }

    #[test]
    fn think_times_are_the_same_on_every_target() {
        // Pinned: wasm32 (the app) must draw what 64-bit targets (the CLI) draw.
        let think = Think::parse("50ms..200ms").unwrap();
        let got: Vec<u64> = (0..3)
            .map(|i| think.sample(7, i, 1).as_micros() as u64)
            .collect();
        assert_eq!(got, [81746, 197547, 121628]);
    }
}
