//! What the browser did to the measurement, for the honesty panel: the protocol it spoke,
//! timer precision, per-phase timings, whether the tab was hidden and its long tasks.

use crate::browser::timing::TimingReading;
use crate::model::phases::Phases;

/// What the browser did to the measurement, for the honesty panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Honesty {
    /// `nextHopProtocol` of the requests (`http/1.1`, `h2`, …) when the browser says.
    pub protocol: Option<String>,
    pub cross_origin_isolated: bool,
    /// Phases, when the server sends `Timing-Allow-Origin`.
    pub phases: Option<Phases>,
    /// The tab was hidden during the run: timers were throttled.
    pub hidden_during_run: bool,
    /// Main-thread tasks over 50 ms during the run, and the longest (ms).
    pub long_tasks: u64,
    pub longest_task_ms: f64,
}

impl Honesty {
    /// The panel's picture of what Resource Timing and the page reported.
    pub fn of(reading: &TimingReading) -> Self {
        Self {
            protocol: (!reading.protocol.is_empty()).then(|| reading.protocol.clone()),
            cross_origin_isolated: reading.cross_origin_isolated,
            phases: Phases::means(&reading.phases),
            hidden_during_run: reading.hidden_during_run,
            long_tasks: reading.long_tasks,
            longest_task_ms: reading.longest_task_ms,
        }
    }

    /// The page's own reasons for requests starting late, in words (empty: none seen).
    pub fn tab_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.hidden_during_run {
            reasons.push(
                "This tab was hidden during the run: the browser throttles a hidden tab's timers, \
                 so requests started late for the page's own reasons, not the server's."
                    .to_string(),
            );
        }
        if self.long_tasks > 0 {
            reasons.push(format!(
                "The page's main thread was busy in {} task(s) over 50 ms (the longest {:.0} ms): \
                 requests due then started late for the page's own reasons, not the server's.",
                self.long_tasks, self.longest_task_ms
            ));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_reading_says_nothing() {
        assert_eq!(Honesty::of(&TimingReading::default()), Honesty::default());
        let reading = TimingReading {
            protocol: "h2".into(),
            hidden_during_run: true,
            ..TimingReading::default()
        };
        let h = Honesty::of(&reading);
        assert_eq!(h.protocol.as_deref(), Some("h2"));
        assert!(h.hidden_during_run && h.phases.is_none());
        assert_eq!(h.tab_reasons().len(), 1);
        let h = Honesty::of(&TimingReading {
            long_tasks: 2,
            longest_task_ms: 151.4,
            ..TimingReading::default()
        });
        let reasons = h.tab_reasons();
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].contains("2 task(s) over 50 ms (the longest 151 ms)"),
            "{reasons:?}"
        );
        assert!(Honesty::default().tab_reasons().is_empty());
    }
}
