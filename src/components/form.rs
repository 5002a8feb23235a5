//! The run form: endpoint, request, in-flight limit, count or duration, rate or load stages,
//! fetch options. Every input has a label; Enter in any field starts the run.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use flak_core::data::DataOrder;

use crate::model::config::{
    DEFAULT_URL, FetchMode, FormConfig, LoadShape, MemberRow, STAGES_FIELD, StageRow, StopBy,
    data_order_from_key, data_order_key,
};
use crate::model::scenario::{DATA_FIELD, EXAMPLE, SCENARIO_FIELD};

#[derive(Properties, PartialEq)]
pub struct FormProps {
    pub config: FormConfig,
    pub running: bool,
    pub error: Option<String>,
    pub on_change: Callback<FormConfig>,
    pub on_start: Callback<()>,
    pub on_stop: Callback<()>,
    pub on_permalink: Callback<()>,
    /// A scenario file or a data file was picked.
    pub on_scenario_file: Callback<web_sys::File>,
    pub on_data_file: Callback<web_sys::File>,
}

/// A callback that copies the config, lets `set` change one field from the input's value,
/// and reports the new config.
fn edit<Ev: TargetCast + 'static, E: JsCast + AsRef<web_sys::EventTarget> + 'static>(
    props: &FormProps,
    value: fn(&E) -> String,
    set: fn(&mut FormConfig, String),
) -> Callback<Ev> {
    edit_with(&props.config, &props.on_change, value, set)
}

/// A change to the whole form for a button or a toggle of the editors below: `apply` to a copy
/// of the form, then emitted.
fn change(props: &FormProps, apply: Box<dyn Fn(&mut FormConfig)>) -> impl Fn() + 'static {
    let (config, on_change) = (props.config.clone(), props.on_change.clone());
    move || {
        let mut next = config.clone();
        apply(&mut next);
        on_change.emit(next);
    }
}

/// [`edit`] for a part of the form with its own props.
fn edit_with<Ev: TargetCast + 'static, E: JsCast + AsRef<web_sys::EventTarget> + 'static>(
    config: &FormConfig,
    on_change: &Callback<FormConfig>,
    value: fn(&E) -> String,
    set: fn(&mut FormConfig, String),
) -> Callback<Ev> {
    let config = config.clone();
    let on_change = on_change.clone();
    Callback::from(move |e: Ev| {
        if let Some(el) = e.target_dyn_into::<E>() {
            let mut next = config.clone();
            set(&mut next, value(&el));
            on_change.emit(next);
        }
    })
}

fn input_value(el: &HtmlInputElement) -> String {
    el.value()
}
fn checked(el: &HtmlInputElement) -> String {
    el.checked().to_string()
}
fn select_value(el: &HtmlSelectElement) -> String {
    el.value()
}
fn area_value(el: &HtmlTextAreaElement) -> String {
    el.value()
}

#[function_component]
pub fn RunForm(props: &FormProps) -> Html {
    let c = &props.config;
    let onsubmit = {
        let (start, stop, running) = (props.on_start.clone(), props.on_stop.clone(), props.running);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if running {
                stop.emit(());
            } else {
                start.emit(());
            }
        })
    };
    let text = |id: &'static str,
                label: &'static str,
                value: &str,
                set: fn(&mut FormConfig, String),
                hint: &'static str| {
        html! {
            <div class="field">
                <label for={id}>{label}</label>
                <input id={id} name={id} type="text" value={value.to_string()} spellcheck="false"
                       aria-describedby={format!("{id}-hint")} disabled={props.running}
                       oninput={edit::<InputEvent, HtmlInputElement>(props, input_value, set)} />
                <small id={format!("{id}-hint")}>{hint}</small>
            </div>
        }
    };
    let check =
        |id: &'static str, label: &'static str, value: bool, set: fn(&mut FormConfig, String)| {
            html! {
                <label class="check" for={id}>
                    <input id={id} type="checkbox" checked={value} disabled={props.running}
                           onchange={edit::<Event, HtmlInputElement>(props, checked, set)} />
                    {label}
                </label>
            }
        };
    html! {
        <form class="run-form" {onsubmit} aria-label="Load test">
            <div class="field wide">
                <label for="url">{"Endpoint URL"}</label>
                <input id="url" name="url" type="url" value={c.url.clone()} spellcheck="false" required=true
                       disabled={props.running} aria-describedby="url-hint"
                       oninput={edit::<InputEvent, HtmlInputElement>(props, input_value, |c, v| c.url = v)} />
                <small id="url-hint">{"Fields such as {rand:1-1000} or {pick:a,b} vary the URL per request."}</small>
            </div>
            <div class="row">
                <div class="field">
                    <label for="method">{"Method"}</label>
                    <select id="method" disabled={props.running}
                            onchange={edit::<Event, HtmlSelectElement>(props, select_value, |c, v| c.method = v)}>
                        { for ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].iter().map(|m| html! {
                            <option value={*m} selected={c.method == *m}>{*m}</option>
                        }) }
                    </select>
                </div>
                if c.shape == LoadShape::Concurrency {
                    { text("concurrency", "In-flight limit", &c.concurrency, |c, v| c.concurrency = v, "Not used: the stages set it") }
                } else {
                    { text("concurrency", "In-flight limit", &c.concurrency, |c, v| c.concurrency = v, "Requests at once") }
                }
                <div class="field">
                    <label for="shape">{"Load shape"}</label>
                    <select id="shape" disabled={props.running}
                            onchange={edit::<Event, HtmlSelectElement>(props, select_value, |c, v| {
                                c.shape = LoadShape::from_key(&v).unwrap_or(LoadShape::Flat);
                            })}>
                        <option value="flat" selected={c.shape == LoadShape::Flat}>{"flat"}</option>
                        <option value="rate" selected={c.shape == LoadShape::Rate}>{"rate stages"}</option>
                        <option value="concurrency" selected={c.shape == LoadShape::Concurrency}>{"in-flight stages"}</option>
                    </select>
                </div>
                if c.shape == LoadShape::Flat {
                <div class="field">
                    <label for="stop-by">{"Stop after"}</label>
                    <select id="stop-by" disabled={props.running}
                            onchange={edit::<Event, HtmlSelectElement>(props, select_value, |c, v| {
                                c.stop_by = if v == "duration" { StopBy::Duration } else { StopBy::Requests }
                            })}>
                        <option value="requests" selected={c.stop_by == StopBy::Requests}>{"a number of requests"}</option>
                        <option value="duration" selected={c.stop_by == StopBy::Duration}>{"a duration"}</option>
                    </select>
                </div>
                if c.stop_by == StopBy::Requests {
                    { text("requests", "Requests", &c.requests, |c, v| c.requests = v, "Total to send") }
                } else {
                    { text("duration", "Duration", &c.duration, |c, v| c.duration = v, "e.g. 10s, 2m") }
                }
                { text("rate", "Rate (req/s)", &c.rate, |c, v| c.rate = v, "Empty: as fast as allowed") }
                }
                { text("timeout", "Timeout", &c.timeout, |c, v| c.timeout = v, "Per request; 0 for none") }
            </div>
            if c.shape != LoadShape::Flat {
                { stages_editor(props) }
            }
            <details class="more">
                <summary>{"Headers, body and fetch options"}</summary>
                <div class="row">
                    <div class="field wide">
                        <label for="headers">{"Headers (one 'Name: value' per line)"}</label>
                        <textarea id="headers" rows="3" spellcheck="false" disabled={props.running}
                                  value={c.headers.clone()}
                                  oninput={edit::<InputEvent, HtmlTextAreaElement>(props, area_value, |c, v| c.headers = v)} />
                    </div>
                    <div class="field wide">
                        <label for="body">{"Body"}</label>
                        <textarea id="body" rows="3" spellcheck="false" disabled={props.running}
                                  value={c.body.clone()}
                                  oninput={edit::<InputEvent, HtmlTextAreaElement>(props, area_value, |c, v| c.body = v)} />
                    </div>
                </div>
                <div class="row">
                    <div class="field">
                        <label for="mode">{"Fetch mode"}</label>
                        <select id="mode" disabled={props.running}
                                onchange={edit::<Event, HtmlSelectElement>(props, select_value, |c, v| {
                                    c.mode = if v == "no-cors" { FetchMode::NoCors } else { FetchMode::Cors }
                                })}>
                            <option value="cors" selected={c.mode == FetchMode::Cors}>{"cors (status codes visible)"}</option>
                            <option value="no-cors" selected={c.mode == FetchMode::NoCors}>{"no-cors (opaque, timed only)"}</option>
                        </select>
                    </div>
                    { check("credentials", "Send cookies and credentials", c.credentials, |c, v| c.credentials = v == "true") }
                    { check("bypass-cache", "Bypass the HTTP cache", c.bypass_cache, |c, v| c.bypass_cache = v == "true") }
                    { check("share-headers", "Put header values in the permalink", c.share_headers, |c, v| c.share_headers = v == "true") }
                </div>
            </details>
            { fan_out(props) }
            { scenario_editor(props) }
            if let Some(error) = props.error.as_ref().filter(|e| {
                // Shown beside their inputs instead (the scenario's only while it is open).
                !e.starts_with(STAGES_FIELD)
                    && !(c.scenario.on && (e.starts_with(SCENARIO_FIELD) || e.starts_with(DATA_FIELD)))
            }) {
                <p class="error" role="alert" data-testid="form-error">{error.clone()}</p>
            }
            <div class="actions">
                if props.running {
                    <button type="submit" class="stop" data-testid="stop">{"Stop"}</button>
                } else {
                    <button type="submit" class="start" data-testid="start">{"Start"}</button>
                }
                <button type="button" class="secondary" onclick={props.on_permalink.reform(|_| ())}>{"Copy permalink"}</button>
            </div>
        </form>
    }
}

/// The fan-out editor: a group of requests one iteration sends at once. Rows can be added and
/// removed; every field has a label. This, the stages editor and the scenario editor are plain
/// functions of the form's props, not components: they hold no hooks and redraw only when the
/// form does, and Yew's per-component code costs the bundle more.
fn fan_out(props: &FormProps) -> Html {
    let c = &props.config;
    let toggle = {
        let apply = change(props, Box::new(|c| c.fan_out = !c.fan_out));
        Callback::from(move |_: Event| apply())
    };
    let add = {
        let apply = change(
            props,
            Box::new(|c| {
                let n = c.members.len() + 1;
                c.members
                    .push(MemberRow::new(&format!("request-{n}"), "GET", DEFAULT_URL));
            }),
        );
        Callback::from(move |_: MouseEvent| apply())
    };
    let rows = c.members.iter().enumerate().map(|(i, m)| {
        let field = |set: fn(&mut MemberRow, String)| {
            let (config, on_change) = (c.clone(), props.on_change.clone());
            Callback::from(move |e: Event| {
                let value = e
                    .target_dyn_into::<HtmlInputElement>()
                    .map(|el| el.value())
                    .or_else(|| e.target_dyn_into::<HtmlSelectElement>().map(|el| el.value()));
                if let Some(value) = value {
                    let mut next = config.clone();
                    set(&mut next.members[i], value);
                    on_change.emit(next);
                }
            })
        };
        let remove = {
            let apply = change(props, Box::new(move |c| {
                c.members.remove(i);
            }));
            Callback::from(move |_: MouseEvent| apply())
        };
        html! {
            <div class="row member" data-testid="member-row">
                <div class="field">
                    <label for={format!("member-name-{i}")}>{format!("Name {}", i + 1)}</label>
                    <input id={format!("member-name-{i}")} type="text" value={m.name.clone()} disabled={props.running}
                           onchange={field(|m, v| m.name = v)} />
                </div>
                <div class="field">
                    <label for={format!("member-method-{i}")}>{"Method"}</label>
                    <select id={format!("member-method-{i}")} disabled={props.running} onchange={field(|m, v| m.method = v)}>
                        { for ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].iter().map(|v| html! {
                            <option value={*v} selected={m.method == *v}>{*v}</option>
                        }) }
                    </select>
                </div>
                <div class="field wide-ish">
                    <label for={format!("member-url-{i}")}>{"URL"}</label>
                    <input id={format!("member-url-{i}")} type="url" value={m.url.clone()} disabled={props.running}
                           spellcheck="false" onchange={field(|m, v| m.url = v)} />
                </div>
                <button type="button" class="secondary" disabled={props.running} onclick={remove}
                        aria-label={format!("Remove request {}", i + 1)}>{"Remove"}</button>
            </div>
        }
    });
    html! {
        <details class="more" open={c.fan_out}>
            <summary>{"Fan-out: a group of requests sent at once"}</summary>
            <label class="check" for="fan-out">
                <input id="fan-out" type="checkbox" checked={c.fan_out} disabled={props.running} onchange={toggle} />
                {"Each iteration sends every request below at once and ends when all have finished \
                  (the single URL above is then unused). Count, duration, rate and concurrency apply to iterations."}
            </label>
            if c.fan_out {
                { for rows }
                <div class="actions">
                    <button type="button" class="secondary" disabled={props.running} onclick={add}>{"Add request"}</button>
                </div>
            }
        </details>
    }
}

/// The stages editor: rows of (duration, target), each ramping linearly from the previous
/// target (the first from 0). Rows can be added and removed; every field has a label.
fn stages_editor(props: &FormProps) -> Html {
    let c = &props.config;
    let unit = if c.shape == LoadShape::Concurrency {
        "in flight"
    } else {
        "req/s"
    };
    let add = {
        let apply = change(
            props,
            Box::new(|c| {
                let last = c.stages.last().map_or("0".into(), |r| r.target.clone());
                c.stages.push(StageRow::new("10s", &last));
            }),
        );
        Callback::from(move |_: MouseEvent| apply())
    };
    let rows = c.stages.iter().enumerate().map(|(i, row)| {
        let field = |set: fn(&mut StageRow, String)| {
            let (config, on_change) = (c.clone(), props.on_change.clone());
            Callback::from(move |e: InputEvent| {
                if let Some(el) = e.target_dyn_into::<HtmlInputElement>() {
                    let mut next = config.clone();
                    set(&mut next.stages[i], el.value());
                    on_change.emit(next);
                }
            })
        };
        let remove = {
            let apply = change(props, Box::new(move |c| {
                c.stages.remove(i);
            }));
            Callback::from(move |_: MouseEvent| apply())
        };
        let n = i + 1;
        html! {
            <div class="row stage" data-testid="stage-row">
                <div class="field">
                    <label for={format!("stage-duration-{n}")}>{format!("Stage {n} duration")}</label>
                    <input id={format!("stage-duration-{n}")} type="text" value={row.duration.clone()} spellcheck="false"
                           disabled={props.running} oninput={field(|r, v| r.duration = v)} />
                </div>
                <div class="field">
                    <label for={format!("stage-target-{n}")}>{format!("Stage {n} target ({unit})")}</label>
                    <input id={format!("stage-target-{n}")} type="text" value={row.target.clone()} spellcheck="false"
                           disabled={props.running} oninput={field(|r, v| r.target = v)} />
                </div>
                <button type="button" class="secondary" disabled={props.running} onclick={remove}
                        aria-label={format!("Remove stage {n}")}>{"Remove"}</button>
            </div>
        }
    });
    let what = if c.shape == LoadShape::Concurrency {
        "the in-flight limit ramps (the In-flight limit field is not used; lowering it lets requests in flight finish)"
    } else {
        "the rate ramps, and each request's latency counts from its intended start (the in-flight limit stays the cap)"
    };
    html! {
        <fieldset class="stages" data-testid="stages">
            <legend>{"Load stages"}</legend>
            <p class="note">{format!(
                "Each stage ramps linearly from the previous target (the first from 0) over its duration: {what}. \
                 The stages set the run's length, so Stop after, Requests, Duration and Rate are not used."
            )}</p>
            { for rows }
            if let Some(error) = props.error.as_ref().filter(|e| e.starts_with(STAGES_FIELD)) {
                <p class="error" role="alert" data-testid="stages-error">{error.clone()}</p>
            }
            <div class="actions">
                <button type="button" class="secondary" disabled={props.running} onclick={add}>{"Add stage"}</button>
            </div>
        </fieldset>
    }
}

/// The picked file of a file input, cleared so the same file can be picked again.
fn picked(e: &Event) -> Option<web_sys::File> {
    let input = e.target_dyn_into::<HtmlInputElement>()?;
    let file = input.files().and_then(|l| l.get(0));
    input.set_value("");
    file
}

/// The scenario editor: open a scenario file (JSON) or write one, add steps, load a data file
/// (CSV or JSON Lines) and pick the data order. Messages about the scenario and the data file
/// show beside them.
fn scenario_editor(props: &FormProps) -> Html {
    let c = &props.config;
    let sc = &c.scenario;
    let toggle = {
        let apply = change(
            props,
            Box::new(|c| {
                c.scenario.on = !c.scenario.on;
                if c.scenario.on && c.scenario.text.trim().is_empty() {
                    c.scenario.text = EXAMPLE.into();
                }
            }),
        );
        Callback::from(move |_: Event| apply())
    };
    let add_step = {
        let (config, on_change) = (c.clone(), props.on_change.clone());
        Callback::from(move |_: MouseEvent| {
            let mut next = config.clone();
            match next.scenario.add_step(&next.url) {
                Ok(text) => next.scenario.text = text,
                // The text does not parse: the message shows on Start; nothing is lost.
                Err(_) => return,
            }
            on_change.emit(next);
        })
    };
    let on_scenario = {
        let cb = props.on_scenario_file.clone();
        Callback::from(move |e: Event| {
            if let Some(f) = picked(&e) {
                cb.emit(f);
            }
        })
    };
    let on_data = {
        let cb = props.on_data_file.clone();
        Callback::from(move |e: Event| {
            if let Some(f) = picked(&e) {
                cb.emit(f);
            }
        })
    };
    let forget_data = {
        let apply = change(props, Box::new(|c| c.scenario.data = None));
        Callback::from(move |_: MouseEvent| apply())
    };
    let error_of = |prefix: &str| props.error.clone().filter(|e| e.starts_with(prefix));
    let scenario_error = error_of(SCENARIO_FIELD);
    let data_error = error_of(DATA_FIELD).or_else(|| {
        sc.data
            .as_ref()
            .and_then(|d| d.rows.as_ref().err())
            .map(|e| format!("{DATA_FIELD}: {e}"))
    });
    html! {
        <details class="more" open={sc.on}>
            <summary>{"Scenario: steps that log in, extract values and check responses, with a data file"}</summary>
            <label class="check" for="scenario-on">
                <input id="scenario-on" type="checkbox" checked={sc.on} disabled={props.running} onchange={toggle} />
                {"Run this scenario: each iteration runs its steps in order (the URL, method, headers, body and fan-out above are then unused). \
                  Count, duration, rate, stages and the in-flight limit apply to iterations."}
            </label>
            if sc.on {
                <fieldset class="scenario" data-testid="scenario">
                    <legend>{"Scenario"}</legend>
                    <div class="row">
                        <div class="field wide">
                            <label for="scenario-file">{"Open a scenario file (JSON: the CLI's TOML model, written as JSON)"}</label>
                            <input id="scenario-file" data-testid="scenario-file" type="file" accept=".json,application/json"
                                   disabled={props.running} onchange={on_scenario} />
                        </div>
                    </div>
                    <div class="field wide">
                        <label for="scenario-text">{"Steps (edit here: each step has name, method, url, headers, body, extract, check, think, or a request list sent at once)"}</label>
                        <textarea id="scenario-text" data-testid="scenario-text" rows="12" spellcheck="false" disabled={props.running}
                                  value={sc.text.clone()} aria-describedby="scenario-hint"
                                  oninput={edit_with::<InputEvent, HtmlTextAreaElement>(&props.config, &props.on_change, area_value, |c, v| c.scenario.text = v)} />
                        <small id="scenario-hint">{"Extract: {\"token\": \"json:/token\"}, \"header:x-session\", \"regex:order-(\\\\d+)\" (the browser's RegExp), \"status\" (JSONPath extractors are not in this page: the CLI has them). \
                          Use {var:token} in later steps and {data:COLUMN} from the data file. Response headers other servers send cross-origin are readable only when they list them in access-control-expose-headers (flak target does)."}</small>
                    </div>
                    if let Some(error) = &scenario_error {
                        <p class="error" role="alert" data-testid="scenario-error">{error.clone()}</p>
                    }
                    <div class="actions">
                        <button type="button" class="secondary" disabled={props.running} onclick={add_step}>{"Add step"}</button>
                    </div>
                    <div class="row">
                        <div class="field wide-ish">
                            <label for="data-file">{"Data file (CSV with a header row, or JSON Lines): never put in the permalink"}</label>
                            <input id="data-file" data-testid="data-file" type="file" accept=".csv,.jsonl,.ndjson,text/csv"
                                   disabled={props.running} onchange={on_data} />
                            if let Some(d) = &sc.data {
                                <small data-testid="data-loaded">{d.describe()}</small>
                            } else if let Some(name) = sc.data_wanted() {
                                <small>{format!("The scenario names {name}: load it here.")}</small>
                            }
                        </div>
                        <div class="field">
                            <label for="data-order">{"Data order"}</label>
                            <select id="data-order" disabled={props.running}
                                    onchange={edit_with::<Event, HtmlSelectElement>(&props.config, &props.on_change, select_value, |c, v| {
                                        c.scenario.order = data_order_from_key(&v);
                                    })}>
                                <option value="" selected={sc.order.is_none()}>{"as the scenario says"}</option>
                                { for [DataOrder::Sequential, DataOrder::Random, DataOrder::Unique].into_iter().map(|o| html! {
                                    <option value={data_order_key(o)} selected={sc.order == Some(o)}>{data_order_key(o)}</option>
                                }) }
                            </select>
                        </div>
                        if sc.data.is_some() {
                            <button type="button" class="secondary" disabled={props.running} onclick={forget_data}>{"Forget data file"}</button>
                        }
                    </div>
                    if let Some(error) = &data_error {
                        <p class="error" role="alert" data-testid="data-error">{error.clone()}</p>
                    }
                </fieldset>
            }
        </details>
    }
}
