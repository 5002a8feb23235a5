//! What the browser did to the measurement, for the honesty panel: the protocol it spoke,
//! timer precision, per-phase timings, where the load ran (a worker or the page), how late the
//! engine's timers fired, whether the tab was hidden and the page's long tasks.

use crate::browser::timing::{Engine, TimerLag, TimingReading};
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
    /// Where the load ran.
    pub engine: Engine,
    /// How late the engine's timers fired, once any has.
    pub timer_lag: Option<TimerLag>,
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
            engine: reading.engine.clone(),
            timer_lag: (reading.timer_lag.fired > 0).then_some(reading.timer_lag),
        }
    }

    /// The load ran on the page's main thread, where the page's own work delays it.
    pub fn on_main_thread(&self) -> bool {
        matches!(self.engine, Engine::MainThread(_))
    }

    /// The page's own reasons for requests starting late, in words (empty: none seen). A load
    /// in a worker has none of them: its event loop is its own (its lag is in the panel).
    pub fn tab_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if !self.on_main_thread() {
            return reasons;
        }
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
        assert!(
            h.tab_reasons().is_empty(),
            "a worker's load is not the page's"
        );
        let on_page = Engine::MainThread("no workers".into());
        let h = Honesty::of(&TimingReading {
            engine: on_page.clone(),
            ..reading
        });
        assert_eq!(h.tab_reasons().len(), 1);
        let h = Honesty::of(&TimingReading {
            long_tasks: 2,
            longest_task_ms: 151.4,
            engine: on_page,
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

    #[test]
    fn timer_lag_shows_once_a_timer_fired() {
        assert_eq!(Honesty::default().timer_lag, None);
        let lag = TimerLag {
            fired: 3,
            mean_ms: 0.4,
            max_ms: 1.2,
        };
        let h = Honesty::of(&TimingReading {
            timer_lag: lag,
            ..TimingReading::default()
        });
        assert_eq!(h.timer_lag, Some(lag));
    }
}
