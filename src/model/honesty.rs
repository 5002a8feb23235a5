//! What the browser did to the measurement, for the honesty panel: the protocol it spoke,
//! timer precision, per-phase timings and whether the tab was hidden.

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
}

impl Honesty {
    /// The panel's picture of what Resource Timing and the page reported.
    pub fn of(reading: &TimingReading) -> Self {
        Self {
            protocol: (!reading.protocol.is_empty()).then(|| reading.protocol.clone()),
            cross_origin_isolated: reading.cross_origin_isolated,
            phases: Phases::means(&reading.phases),
            hidden_during_run: reading.hidden_during_run,
        }
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
    }
}
