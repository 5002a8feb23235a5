//! The page's state and every way it changes, as a reducer: pure, and tested natively.

use std::rc::Rc;

use yew::Reducible;

use crate::model::capacity::CapacityView;
use crate::model::config::{FetchMode, FormConfig};
use crate::model::honesty::Honesty;
use crate::model::recent::Recent;
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Running,
    /// Finished on its own.
    Done,
    /// Stopped by the user; the partial results stay.
    Stopped,
}

impl Phase {
    /// The text of the `run-status` automation hook.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Done => "done",
            Phase::Stopped => "stopped",
        }
    }
}

/// Where the shown results came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    None,
    Live,
    /// Results files dropped or picked by the user, merged.
    Imported(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub config: FormConfig,
    pub phase: Phase,
    /// A form field that does not parse, named.
    pub form_error: Option<String>,
    pub import_error: Option<String>,
    /// Why the last export failed; shown by the export buttons.
    pub export_error: Option<String>,
    pub source: Source,
    pub snapshot: Option<Rc<Snapshot>>,
    /// An opened capacity report: shown instead of results, until a run or results replace it.
    pub capacity: Option<Rc<CapacityView>>,
    /// The run's stop condition, for the progress bar: a count, or seconds.
    pub planned: Planned,
    pub elapsed_s: f64,
    /// In-flight limit and mode of the current or last run (the honesty panel needs them).
    pub run_concurrency: u64,
    pub run_mode: FetchMode,
    pub honesty: Honesty,
    pub recent: Vec<Recent>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Planned {
    Requests(u64),
    Seconds(f64),
}

impl Default for State {
    fn default() -> Self {
        Self {
            config: FormConfig::default(),
            phase: Phase::Idle,
            form_error: None,
            import_error: None,
            export_error: None,
            source: Source::None,
            snapshot: None,
            capacity: None,
            planned: Planned::Requests(0),
            elapsed_s: 0.0,
            run_concurrency: 0,
            run_mode: FetchMode::Cors,
            honesty: Honesty::default(),
            recent: Vec::new(),
        }
    }
}

impl State {
    /// Progress of the run as a fraction 0..=1.
    pub fn progress(&self) -> f64 {
        let fraction = match self.planned {
            Planned::Requests(0) => 0.0,
            Planned::Requests(n) => self
                .snapshot
                .as_ref()
                .map_or(0.0, |s| s.summary.total as f64 / n as f64),
            Planned::Seconds(s) if s > 0.0 => self.elapsed_s / s,
            Planned::Seconds(_) => 0.0,
        };
        if matches!(self.phase, Phase::Done) {
            1.0
        } else {
            fraction.clamp(0.0, 1.0)
        }
    }

    /// The CORS explanation applies: fetches failed at the network level in cors mode and
    /// nothing came back.
    pub fn cors_suspected(&self) -> bool {
        let Some(s) = &self.snapshot else {
            return false;
        };
        self.source == Source::Live
            && self.run_mode == FetchMode::Cors
            && s.summary.errors.get("network").copied().unwrap_or(0) > 0
    }

    /// More in flight than a browser will open HTTP/1.1 connections to one host.
    pub fn connection_limited(&self) -> bool {
        let http1 = match self.honesty.protocol.as_deref() {
            Some(p) => p.starts_with("http/1"),
            // Unknown: browsers speak HTTP/1.1 to plain-http origins such as the built-in target.
            None => true,
        };
        self.source == Source::Live && http1 && self.run_concurrency > 6
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The form changed.
    Edit(FormConfig),
    /// The form does not make a plan.
    Invalid(String),
    Started {
        planned: Planned,
        concurrency: u64,
        mode: FetchMode,
    },
    /// A live snapshot while running.
    Progress {
        snapshot: Rc<Snapshot>,
        elapsed_s: f64,
        honesty: Honesty,
    },
    Finished {
        snapshot: Rc<Snapshot>,
        elapsed_s: f64,
        stopped: bool,
        honesty: Honesty,
    },
    Imported {
        snapshot: Rc<Snapshot>,
        files: Vec<String>,
    },
    /// A capacity report was opened.
    CapacityImported(Rc<CapacityView>),
    ImportFailed(String),
    /// An export was written (or copied).
    Exported,
    ExportFailed(String),
    Recent(Vec<Recent>),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Edit(config) => {
                if config == s.config {
                    return self;
                }
                s.config = config;
                s.form_error = None;
            }
            Action::Invalid(message) => s.form_error = Some(message),
            Action::Started {
                planned,
                concurrency,
                mode,
            } => {
                s.phase = Phase::Running;
                s.form_error = None;
                s.import_error = None;
                s.export_error = None;
                s.source = Source::Live;
                s.snapshot = None;
                s.capacity = None;
                s.planned = planned;
                s.elapsed_s = 0.0;
                s.run_concurrency = concurrency;
                s.run_mode = mode;
                s.honesty = Honesty::default();
            }
            Action::Progress {
                snapshot,
                elapsed_s,
                honesty,
            } => {
                if s.phase != Phase::Running {
                    return self;
                }
                s.snapshot = Some(snapshot);
                s.elapsed_s = elapsed_s;
                s.honesty = honesty;
            }
            Action::Finished {
                snapshot,
                elapsed_s,
                stopped,
                honesty,
            } => {
                s.phase = if stopped { Phase::Stopped } else { Phase::Done };
                s.snapshot = Some(snapshot);
                s.elapsed_s = elapsed_s;
                s.honesty = honesty;
            }
            Action::Imported { snapshot, files } => {
                s.phase = Phase::Done;
                s.source = Source::Imported(files);
                s.snapshot = Some(snapshot);
                s.capacity = None;
                s.import_error = None;
                s.export_error = None;
                s.honesty = Honesty::default();
            }
            Action::CapacityImported(view) => {
                s.phase = Phase::Done;
                s.source = Source::Imported(vec![view.file.clone()]);
                s.snapshot = None;
                s.capacity = Some(view);
                s.import_error = None;
                s.export_error = None;
                s.honesty = Honesty::default();
            }
            Action::ImportFailed(message) => s.import_error = Some(message),
            Action::Exported => {
                if s.export_error.is_none() {
                    return self;
                }
                s.export_error = None;
            }
            Action::ExportFailed(message) => s.export_error = Some(message),
            Action::Recent(list) => s.recent = list,
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use flak_core::Stats;

    use super::*;

    fn snap() -> Rc<Snapshot> {
        Rc::new(Snapshot::of(&Stats::new(false), None))
    }

    #[test]
    fn a_run_goes_from_idle_to_done_and_keeps_its_results() {
        let s = Rc::new(State::default());
        assert_eq!(s.phase.as_str(), "idle");
        let s = s.reduce(Action::Started {
            planned: Planned::Requests(10),
            concurrency: 6,
            mode: FetchMode::Cors,
        });
        assert_eq!((s.phase, s.source.clone()), (Phase::Running, Source::Live));
        let s = s.reduce(Action::Progress {
            snapshot: snap(),
            elapsed_s: 0.5,
            honesty: Honesty::default(),
        });
        assert_eq!(s.elapsed_s, 0.5);
        let s = s.reduce(Action::Finished {
            snapshot: snap(),
            elapsed_s: 1.0,
            stopped: false,
            honesty: Honesty::default(),
        });
        assert_eq!(s.phase.as_str(), "done");
        assert_eq!(s.progress(), 1.0);
        // A late snapshot from the stopped run must not overwrite the final one.
        let late = s.clone().reduce(Action::Progress {
            snapshot: snap(),
            elapsed_s: 9.0,
            honesty: Honesty::default(),
        });
        assert!(Rc::ptr_eq(&late, &s));
    }

    #[test]
    fn stop_keeps_partial_results_and_says_stopped() {
        let s = Rc::new(State::default())
            .reduce(Action::Started {
                planned: Planned::Seconds(10.0),
                concurrency: 6,
                mode: FetchMode::Cors,
            })
            .reduce(Action::Progress {
                snapshot: snap(),
                elapsed_s: 5.0,
                honesty: Honesty::default(),
            });
        assert_eq!(s.progress(), 0.5);
        let s = s.reduce(Action::Finished {
            snapshot: snap(),
            elapsed_s: 5.2,
            stopped: true,
            honesty: Honesty::default(),
        });
        assert_eq!(s.phase.as_str(), "stopped");
        assert!(s.snapshot.is_some());
    }

    #[test]
    fn unchanged_edit_does_not_rerender() {
        let s = Rc::new(State::default());
        let same = s.clone().reduce(Action::Edit(FormConfig::default()));
        assert!(Rc::ptr_eq(&s, &same));
    }

    #[test]
    fn honesty_flags() {
        let mut s = State {
            run_concurrency: 50,
            source: Source::Live,
            ..State::default()
        };
        assert!(
            s.connection_limited(),
            "unknown protocol to a plain-http host: HTTP/1.1"
        );
        s.honesty.protocol = Some("h2".into());
        assert!(!s.connection_limited());
        s.run_concurrency = 6;
        s.honesty.protocol = Some("http/1.1".into());
        assert!(!s.connection_limited());
    }

    #[test]
    fn export_errors_stay_apart_from_import_errors_until_an_export_works() {
        let s = Rc::new(State::default()).reduce(Action::ImportFailed("bad.json: no".into()));
        let s = s.reduce(Action::ExportFailed("Export CSV: blocked".into()));
        assert_eq!(s.export_error.as_deref(), Some("Export CSV: blocked"));
        assert_eq!(s.import_error.as_deref(), Some("bad.json: no"));
        let s = s.reduce(Action::Exported);
        assert_eq!(
            (s.export_error.as_deref(), s.import_error.is_some()),
            (None, true)
        );
        let unchanged = s.clone().reduce(Action::Exported);
        assert!(
            Rc::ptr_eq(&s, &unchanged),
            "a working export changes nothing"
        );
        let s = s
            .reduce(Action::ExportFailed("Export JSON: blocked".into()))
            .reduce(Action::Started {
                planned: Planned::Requests(1),
                concurrency: 1,
                mode: FetchMode::Cors,
            });
        assert_eq!(
            s.export_error, None,
            "a new run's results have not failed to export"
        );
    }
    #[test]
    fn a_capacity_report_replaces_results_until_a_run_or_results_replace_it() {
        let report = flak_core::capacity::Report::parse(
            r#"{"format": "flak-capacity", "version": 1, "slos": ["p99<100ms"], "step_s": 1.0,
                "start_rate": 50.0, "max_rate": null, "steps": [], "sustainable_rate": null,
                "broke_at": null, "generator_bound": null, "max_rate_reached": false,
                "budget_spent": false, "stopped_early": false, "conclusion": "none"}"#,
        )
        .unwrap();
        let view = Rc::new(CapacityView::of(&report, "cap.json".into()));
        let s = Rc::new(State::default())
            .reduce(Action::Imported {
                snapshot: snap(),
                files: vec!["a.json".into()],
            })
            .reduce(Action::ImportFailed("b.json: bad".into()))
            .reduce(Action::CapacityImported(Rc::clone(&view)));
        assert_eq!(s.capacity.as_ref(), Some(&view));
        assert!(s.snapshot.is_none() && s.import_error.is_none());
        assert_eq!(s.source, Source::Imported(vec!["cap.json".into()]));
        let back = s.clone().reduce(Action::Imported {
            snapshot: snap(),
            files: vec!["a.json".into()],
        });
        assert!(back.capacity.is_none() && back.snapshot.is_some());
        let run = s.reduce(Action::Started {
            planned: Planned::Requests(10),
            concurrency: 6,
            mode: FetchMode::Cors,
        });
        assert!(run.capacity.is_none());
    }
}
