//! The page: wires the form, the run (in a worker), the results and the files together.
//! State changes go through the reducer in `model/state.rs`; browser work lives in `browser/`,
//! and this is where the model's values become the adapters' and back.

use std::cell::RefCell;
use std::rc::Rc;

use flak_core::{Plan, Results, Stats, StopAfter};
use futures::StreamExt as _;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::browser::live::{self, Update};
use crate::browser::{self, engine, files, zlib};
use crate::components::capacity::{CapacityProps, capacity_report};
use crate::components::charts::{CHART_IDS, charts};
use crate::components::compare::Compare;
use crate::components::form::RunForm;
use crate::components::honesty::{HonestyProps, honesty_panel};
use crate::components::import::{ImportProps, import};
use crate::components::recent::recent_runs;
use crate::components::summary::{SummaryProps, summary_view};
use crate::model::capacity::{self, CapacityView};
use crate::model::config::FormConfig;
use crate::model::export::ExportKind;
use crate::model::honesty::Honesty;
use crate::model::recent::{self, Recent};
use crate::model::scenario::{DATA_FIELD, DataFile, SCENARIO_FIELD};
use crate::model::state::{Action, Phase, Planned, Source, State};
use crate::share;
use crate::snapshot::Snapshot;

/// The results on screen, for export: live or imported statistics, and the plan if known.
type Shown = Rc<RefCell<Option<(Rc<RefCell<Stats>>, Option<Rc<Plan>>)>>>;

#[derive(Clone)]
struct Ctx {
    state: UseReducerHandle<State>,
    handle: Rc<RefCell<Option<engine::Engine>>>,
    latest: Rc<RefCell<FormConfig>>,
    shown: Shown,
}

impl Ctx {
    fn start(&self, config: &FormConfig) {
        if self
            .handle
            .borrow()
            .as_ref()
            .is_some_and(|h| !h.is_stopped() && self.state.phase == Phase::Running)
        {
            return;
        }
        let (plan, options) = match config.to_plan() {
            Ok(p) => p,
            Err(message) => return self.state.dispatch(Action::Invalid(message)),
        };
        let planned = match plan.stop {
            StopAfter::Requests(n) => Planned::Requests(n),
            StopAfter::Duration(d) => Planned::Seconds(d.as_secs_f64()),
        };
        let concurrency = u64::from(plan.concurrency);
        let dispatch = self.state.dispatcher();
        let (d1, d3) = (dispatch.clone(), dispatch);
        let recent_config = config.clone();
        let shown = Rc::clone(&self.shown);
        let listeners = engine::Listeners {
            progress: Callback::from(move |(snapshot, elapsed_s, timing)| {
                d1.dispatch(Action::Progress {
                    snapshot,
                    elapsed_s,
                    honesty: Honesty::of(&timing),
                });
            }),
            finished: Callback::from(move |done: engine::Finished| {
                *shown.borrow_mut() = Some((done.stats, done.plan));
                let run = Recent::of(&recent_config, &done.snapshot.summary, js_sys::Date::now());
                let list = recent::remember(load_recent(), run);
                save_recent(&list);
                d3.dispatch(Action::Recent(list));
                d3.dispatch(Action::Finished {
                    snapshot: done.snapshot,
                    elapsed_s: done.elapsed_s,
                    stopped: done.stopped,
                    honesty: Honesty::of(&done.timing),
                });
            }),
        };
        match engine::start(plan, options, listeners) {
            Ok(handle) => {
                // The run's statistics live where it runs: shown (for export) once it is over.
                *self.shown.borrow_mut() = None;
                *self.handle.borrow_mut() = Some(handle);
                set_query(&config.to_query(false));
                self.state.dispatch(Action::Started {
                    planned,
                    concurrency,
                    mode: config.mode,
                });
            }
            Err(message) => self.state.dispatch(Action::Invalid(message)),
        }
    }

    fn stop(&self) {
        if let Some(h) = self.handle.borrow().as_ref() {
            h.abort();
        }
    }

    fn export(&self, kind: ExportKind) {
        let Some((stats, plan)) = self.shown.borrow().clone() else {
            return;
        };
        let stats = stats.borrow();
        let stamp = js_sys::Date::new_0()
            .to_iso_string()
            .as_string()
            .unwrap_or_default()
            .replace([':', '.'], "-");
        let written = match kind {
            ExportKind::CopyReport => {
                files::copy(&flak_core::report::text(&stats));
                Ok(())
            }
            ExportKind::Json | ExportKind::Html => {
                // The histograms are compressed by the browser, after this borrow of the live
                // statistics has ended. The HTML report carries the same JSON.
                let unfinished = Results::unfinished(&stats, plan.as_deref());
                let ctx = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let written = match zlib::deflate_all(unfinished.uncompressed()).await {
                        Ok(zlib) => {
                            let json = unfinished.finish(zlib).to_json();
                            if kind == ExportKind::Html {
                                share::export_html(&json, &stamp).await
                            } else {
                                let name = format!("flak-{stamp}.json");
                                files::download(&name, "application/json", json.as_bytes())
                            }
                        }
                        Err(e) => Err(e),
                    };
                    ctx.exported(kind, written);
                });
                return;
            }
            ExportKind::Csv => files::download(
                &format!("flak-{stamp}.csv"),
                "text/csv",
                Results::unfinished(&stats, plan.as_deref())
                    .to_csv()
                    .as_bytes(),
            ),
            ExportKind::ChartsSvg => shown_charts().into_iter().try_for_each(|(id, svg)| {
                let name = format!("flak-{stamp}-{id}.svg");
                files::download(&name, "image/svg+xml", svg.markup.as_bytes())
                    .map_err(|e| format!("{id}: {e}"))
            }),
            ExportKind::ChartsPng => {
                let charts = shown_charts();
                let ctx = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let mut written = Ok(());
                    for (id, svg) in &charts {
                        let name = format!("flak-{stamp}-{id}.png");
                        if let Err(e) = files::download_png(&name, svg).await {
                            written = Err(format!("{id}: {e}"));
                            break;
                        }
                    }
                    ctx.exported(kind, written);
                });
                return;
            }
        };
        self.exported(kind, written);
    }

    /// Shows how an export went, beside the export buttons.
    fn exported(&self, kind: ExportKind, written: Result<(), String>) {
        self.state.dispatch(match written {
            Ok(()) => Action::Exported,
            Err(e) => Action::ExportFailed(format!("{} failed: {e}", kind.label())),
        });
    }

    /// The form changed outside its inputs (a file was read): the latest config, and the form.
    fn edit(&self, change: impl FnOnce(&mut FormConfig)) {
        let mut config = self.latest.borrow().clone();
        change(&mut config);
        *self.latest.borrow_mut() = config.clone();
        self.state.dispatch(Action::Edit(config.clone()));
        // Said at once, beside the input, rather than on Start.
        if let Err(e) = config.to_plan()
            && (e.starts_with(SCENARIO_FIELD) || e.starts_with(DATA_FIELD))
        {
            self.state.dispatch(Action::Invalid(e));
        }
    }

    /// A scenario file was picked: its text goes into the editor.
    fn open_scenario(&self, file: web_sys::File) {
        let ctx = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            match files::read_text(&file).await {
                Ok(text) => ctx.edit(|c| {
                    c.scenario.on = true;
                    c.scenario.text = text;
                }),
                Err(e) => ctx
                    .state
                    .dispatch(Action::Invalid(format!("{SCENARIO_FIELD}: {name}: {e}"))),
            }
        });
    }

    /// A data file was picked: parsed at once, so its faults show before anything is sent.
    fn open_data(&self, file: web_sys::File) {
        let ctx = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let data = match files::read_bytes(&file).await {
                Ok(bytes) => DataFile::parse(&name, &bytes),
                Err(e) => DataFile {
                    rows: Err(format!("{name}: {e}")),
                    name,
                },
            };
            ctx.edit(|c| c.scenario.data = Some(Rc::new(data)));
        });
    }

    fn import(&self, picked: Vec<web_sys::File>) {
        if picked.is_empty() {
            return;
        }
        let ctx = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut parts = Vec::new();
            let mut plans = Vec::new();
            let mut names = Vec::new();
            for file in &picked {
                let name = file.name();
                let text = match files::read_text(file).await {
                    Ok(text) => text,
                    Err(e) => {
                        return ctx
                            .state
                            .dispatch(Action::ImportFailed(format!("{name}: {e}")));
                    }
                };
                if capacity::is_report(&text) {
                    // A report is a search's steps, not statistics: it cannot merge with others.
                    let shown = if picked.len() > 1 {
                        Err("a capacity report opens on its own, not with other files".into())
                    } else {
                        ctx.show(name.clone(), &text).await
                    };
                    if let Err(e) = shown {
                        ctx.state
                            .dispatch(Action::ImportFailed(format!("{name}: {e}")));
                    }
                    return;
                }
                let loaded = load(&text).await;
                match loaded {
                    Ok((stats, plan)) => {
                        parts.push(stats);
                        plans.push(plan);
                    }
                    Err(e) => {
                        return ctx
                            .state
                            .dispatch(Action::ImportFailed(format!("{name}: {e}")));
                    }
                }
                names.push(name);
            }
            // The plan's curve is charted when every file ran the same plan.
            let plan = match plans.split_first() {
                Some((Some(first), rest)) if rest.iter().all(|p| p.as_ref() == Some(first)) => {
                    Some(Rc::new(first.clone()))
                }
                _ => None,
            };
            if let Some(stats) = Stats::merge_all(parts) {
                let snapshot = Rc::new(Snapshot::of(&stats, plan.as_deref()));
                *ctx.shown.borrow_mut() = Some((Rc::new(RefCell::new(stats)), plan));
                ctx.state.dispatch(Action::Imported {
                    snapshot,
                    files: names,
                });
            }
        });
    }
}

impl Ctx {
    /// Shows one results file or capacity report, named `name`, in place of what was shown.
    async fn show(&self, name: String, text: &str) -> Result<(), String> {
        if capacity::is_report(text) {
            let report = flak_core::capacity::Report::parse(text)?;
            *self.shown.borrow_mut() = None;
            self.state
                .dispatch(Action::CapacityImported(Rc::new(CapacityView::of(
                    &report, name,
                ))));
            return Ok(());
        }
        let (stats, plan) = load(text).await?;
        let plan = plan.map(Rc::new);
        let snapshot = Rc::new(Snapshot::of(&stats, plan.as_deref()));
        *self.shown.borrow_mut() = Some((Rc::new(RefCell::new(stats)), plan));
        self.state.dispatch(Action::Imported {
            snapshot,
            files: vec![name],
        });
        Ok(())
    }

    /// `?live`: follows the CLI run that served this page (`flak --ui`), each update shown as
    /// an opened results file, in order.
    fn follow(&self) {
        let ctx = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut updates = match live::follow("events") {
                Ok(updates) => std::pin::pin!(updates),
                Err(e) => return ctx.state.dispatch(Action::ImportFailed(e)),
            };
            while let Some(update) = updates.next().await {
                let shown = match update {
                    Ok(Update { text, done }) => {
                        let name = if done { LIVE_DONE } else { LIVE_RUNNING };
                        ctx.show(name.to_string(), &text).await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = shown {
                    return ctx.state.dispatch(Action::ImportFailed(e));
                }
            }
        });
    }
}

const LIVE_RUNNING: &str = "the flak run that served this page, live";
const LIVE_DONE: &str = "the flak run that served this page, finished";

/// Every chart the page shows, by id, as a standalone SVG document.
fn shown_charts() -> Vec<(&'static str, files::SvgDocument)> {
    CHART_IDS
        .into_iter()
        .filter_map(|id| Some((id, files::svg_document(id)?)))
        .collect()
}

fn load_recent() -> Vec<Recent> {
    recent::from_stored(files::stored(recent::STORAGE_KEY).as_deref())
}

fn save_recent(list: &[Recent]) {
    if let Some(text) = recent::to_stored(list) {
        files::store(recent::STORAGE_KEY, &text);
    }
}

/// Loads a results file, its histograms inflated by the browser, with the plan it ran.
pub(crate) async fn load(text: &str) -> Result<(Stats, Option<Plan>), String> {
    let loading = Results::parse(text).map_err(|e| e.to_string())?;
    let inflated = zlib::inflate_all(&loading.compressed()).await;
    let (stats, results) = loading.finish(inflated).map_err(|e| e.to_string())?;
    Ok((stats, results.plan))
}

/// Puts the run's configuration in the address bar, so the page's URL is its permalink.
fn set_query(query: &str) {
    let window = browser::window();
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_default();
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}?{query}")),
        );
    }
}

#[function_component]
pub fn App() -> Html {
    let state = use_reducer(State::default);
    let ctx = Ctx {
        state: state.clone(),
        handle: use_mut_ref(|| None),
        latest: use_mut_ref(FormConfig::default),
        shown: use_mut_ref(|| None),
    };

    {
        let ctx = ctx.clone();
        use_effect_with((), move |()| {
            let search = browser::window().location().search().unwrap_or_default();
            let (config, autostart) = FormConfig::from_query(&search);
            *ctx.latest.borrow_mut() = config.clone();
            ctx.state.dispatch(Action::Edit(config.clone()));
            ctx.state.dispatch(Action::Recent(load_recent()));
            // A report opens the results it carries; `?results=URL` loads them; else maybe run.
            let opened = share::inline_results()
                .map(Ok)
                .or_else(|| share::results_url(&search).map(Err));
            if let Some(opened) = opened {
                let ctx = ctx.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let shown = match opened {
                        Ok((name, text)) => {
                            let shown = ctx.show(name.clone(), &text).await;
                            shown.map_err(|e| format!("{name}: {e}"))
                        }
                        Err(url) => match share::fetch_results(&url).await {
                            Ok((name, text)) => ctx
                                .show(name, &text)
                                .await
                                .map_err(|e| format!("{url}: {e}")),
                            Err(e) => Err(e),
                        },
                    };
                    if let Err(e) = shown {
                        ctx.state.dispatch(Action::ImportFailed(e));
                    }
                });
            } else if autostart {
                ctx.start(&config);
            } else {
                engine::prepare();
            }
            if search.split(['?', '&']).any(|p| p == "live") {
                ctx.follow();
            }
            // Leaving or reloading the page mid-run leaves nothing running.
            let handle = Rc::clone(&ctx.handle);
            let on_hide = Closure::<dyn Fn()>::new(move || {
                if let Some(h) = handle.borrow().as_ref() {
                    h.abort();
                }
            });
            let window = browser::window();
            let _ = window
                .add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
            move || {
                let _ = window.remove_event_listener_with_callback(
                    "pagehide",
                    on_hide.as_ref().unchecked_ref(),
                );
                if let Some(h) = ctx.handle.borrow().as_ref() {
                    h.abort();
                }
            }
        });
    }

    let on_change = {
        let ctx = ctx.clone();
        Callback::from(move |config: FormConfig| {
            *ctx.latest.borrow_mut() = config.clone();
            ctx.state.dispatch(Action::Edit(config));
        })
    };
    let on_start = {
        let ctx = ctx.clone();
        Callback::from(move |()| {
            let config = ctx.latest.borrow().clone();
            ctx.start(&config);
        })
    };
    let on_stop = {
        let ctx = ctx.clone();
        Callback::from(move |()| ctx.stop())
    };
    let on_permalink = {
        let ctx = ctx.clone();
        Callback::from(move |()| {
            let config = ctx.latest.borrow().clone();
            let location = browser::window().location();
            let base = format!(
                "{}{}",
                location.origin().unwrap_or_default(),
                location.pathname().unwrap_or_default()
            );
            match config.permalink(true) {
                Ok(query) => files::copy(&format!("{base}?{query}")),
                // A link without its scenario would run something else: say so, copy nothing.
                Err(e) => ctx.state.dispatch(Action::Invalid(e)),
            }
            set_query(&config.to_query(false));
        })
    };
    let on_scenario_file = {
        let ctx = ctx.clone();
        Callback::from(move |file| ctx.open_scenario(file))
    };
    let on_data_file = {
        let ctx = ctx.clone();
        Callback::from(move |file| ctx.open_data(file))
    };
    let on_export = {
        let ctx = ctx.clone();
        Callback::from(move |kind| ctx.export(kind))
    };
    let on_files = Callback::from(move |picked| ctx.import(picked));

    let s = &*state;
    let running = s.phase == Phase::Running;
    let status_text = match (&s.source, s.phase) {
        (Source::Imported(names), _) => format!(
            "Showing {} imported file(s): {}",
            names.len(),
            names.join(", ")
        ),
        (_, Phase::Idle) => "Ready.".to_string(),
        (_, Phase::Running) => {
            // A journey's count is of iterations, each several requests.
            let unit = |snap: &Snapshot| {
                if snap.journey {
                    "iterations"
                } else {
                    "requests"
                }
            };
            match (s.planned, &s.snapshot) {
                (Planned::Requests(n), Some(snap)) => format!(
                    "Running: {} of {n} {}, {} in flight",
                    snap.summary.total,
                    unit(snap),
                    snap.in_flight
                ),
                (Planned::Seconds(d), Some(snap)) => format!(
                    "Running: {:.1} of {d:.0} s, {} {}, {} in flight",
                    s.elapsed_s,
                    snap.summary.total,
                    unit(snap),
                    snap.in_flight
                ),
                (_, None) => "Starting…".to_string(),
            }
        }
        (_, Phase::Done) => format!("Done in {:.2} s.", s.elapsed_s),
        (_, Phase::Stopped) => format!(
            "Stopped after {:.2} s; in-flight requests were cancelled.",
            s.elapsed_s
        ),
    };
    let origin = browser::window().location().origin().unwrap_or_default();
    // A report is read-only: nothing to run from it (its page may make no request anyway).
    let report_page = *use_memo((), |()| share::is_report_page());
    html! {
        <>
            <header class="top">
                <h1>{"flak"}</h1>
                <p>{"Fire concurrent HTTP requests from this browser tab and see what really came back."}</p>
            </header>
            <main>
                if !report_page {
                    <RunForm config={s.config.clone()} running={running} error={s.form_error.clone()}
                             {on_change} {on_start} {on_stop} {on_permalink}
                             {on_scenario_file} {on_data_file} />
                }
                <section class="status" aria-live="polite">
                    <progress max="1" value={s.progress().to_string()} aria-label="Progress"></progress>
                    <span data-testid="run-status" class={classes!("phase", s.phase.as_str())}>{s.phase.as_str()}</span>
                    <span class="status-text">{status_text}</span>
                </section>
                if let Some(snapshot) = &s.snapshot {
                    { summary_view(&SummaryProps {
                        snapshot: Rc::clone(snapshot),
                        on_export,
                        export_error: s.export_error.clone(),
                        tab_reasons: if s.source == Source::Live { s.honesty.tab_reasons() } else { Vec::new() },
                    }) }
                    { charts(snapshot) }
                }
                if let Some(view) = &s.capacity {
                    { capacity_report(&CapacityProps { view: Rc::clone(view) }) }
                }
                { honesty_panel(&HonestyProps::of(s, origin.into())) }
                { import(&ImportProps { on_files, error: s.import_error.clone() }) }
                if !report_page {
                    <Compare />
                    { recent_runs(&s.recent) }
                }
            </main>
        </>
    }
}
