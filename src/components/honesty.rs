//! What a browser does to the numbers, said plainly, shown only where it applies.

use yew::prelude::*;

use crate::browser::timing::Engine;
use crate::model::honesty::Honesty;
use crate::model::state::{Source, State};

#[derive(Properties, PartialEq)]
pub struct HonestyProps {
    pub honesty: Honesty,
    pub cors_suspected: bool,
    pub connection_limited: bool,
    pub run_concurrency: u64,
    /// A live run has shown results (so missing phases are worth explaining).
    pub live_results: bool,
    /// A paced live run's rate: asked and achieved (req/s).
    pub rate: Option<(f64, f64)>,
    pub page_origin: AttrValue,
}

impl HonestyProps {
    /// The panel's inputs from the page state.
    pub fn of(state: &State, page_origin: AttrValue) -> Self {
        Self {
            honesty: state.honesty.clone(),
            cors_suspected: state.cors_suspected(),
            connection_limited: state.connection_limited(),
            run_concurrency: state.run_concurrency,
            live_results: state.source == Source::Live && state.snapshot.is_some(),
            rate: state
                .snapshot
                .as_ref()
                .filter(|_| state.source == Source::Live)
                .and_then(|s| s.summary.generator.as_ref())
                .map(|g| (g.asked_rps, g.achieved_rps)),
            page_origin,
        }
    }
}

#[function_component]
pub fn HonestyPanel(props: &HonestyProps) -> Html {
    let s = props;
    let h = &s.honesty;
    let mut notes: Vec<Html> = Vec::new();
    if s.cors_suspected {
        notes.push(html! {
            <li class="warn" data-testid="cors-explanation">
                <strong>{"The browser blocked these requests (CORS or network). "}</strong>
                {"A page may only read a response from another origin when that server allows it. The endpoint must answer with "}
                <code>{format!("Access-Control-Allow-Origin: {}", props.page_origin)}</code>{" (or "}<code>{"*"}</code>
                {"), and answer the OPTIONS preflight that custom headers or methods other than GET/POST trigger. \
                  Otherwise: switch Fetch mode to no-cors (responses are opaque: timed, but the status is hidden), \
                  or serve this app from the endpoint's own origin. The browser does not say which of CORS, a refused \
                  connection or a name that does not resolve it was; the CLI does."}
            </li>
        });
    }
    if s.connection_limited {
        let proto = h.protocol.clone().unwrap_or_else(|| "HTTP/1.1".into());
        notes.push(html! {
            <li class="warn" data-testid="connection-limit">
                <strong>{format!("In-flight limit {} over {proto}: ", s.run_concurrency)}</strong>
                {"browsers open at most 6 HTTP/1.1 connections per host, so requests beyond 6 wait inside the \
                  browser, and that wait is part of their latency. Serve the endpoint over HTTP/2 to go further."}
                if let Some(p) = h.phases {
                    {format!(" Measured queueing in the browser: {:.2} ms per request on average.", p.queueing)}
                }
            </li>
        });
    }
    notes.push(if h.cross_origin_isolated {
        html! { <li>{"Timer resolution: 5 µs (this page is cross-origin isolated)."}</li> }
    } else {
        html! { <li>{"Timer resolution: 0.1 ms. Served with COOP/COEP headers (as "}<code>{"flak target --app"}</code>{" does), the page gets 5 µs timers."}</li> }
    });
    if let Some(p) = &h.protocol {
        notes.push(html! { <li>{format!("Protocol the browser used: {p}.")}</li> });
    }
    match h.phases {
        Some(p) => notes.push(html! {
            <li data-testid="phases">{format!(
                "Per request, on average over {} requests: queueing {:.2} ms, connect {:.2} ms, time to first byte {:.2} ms, download {:.2} ms.",
                p.samples, p.queueing, p.connect, p.ttfb, p.download)}</li>
        }),
        None if s.live_results => notes.push(html! {
            <li>{"No per-phase timings: the server does not send "}<code>{"Timing-Allow-Origin"}</code>{", so the browser hides them."}</li>
        }),
        None => {}
    }
    if s.live_results {
        notes.push(match &h.engine {
            Engine::Worker => html! {
                <li data-testid="engine">{"The load ran in a Web Worker, off the page's main thread: drawing this page does not delay its requests."}
                    if h.long_tasks > 0 {
                        {format!(" The page's main thread was busy in {} task(s) over 50 ms (the longest {:.0} ms) without touching the load.",
                                 h.long_tasks, h.longest_task_ms)}
                    } else {
                        {" The page's main thread had no task over 50 ms."}
                    }
                </li>
            },
            Engine::MainThread(why) => html! {
                <li class="warn" data-testid="engine">{format!(
                    "The load ran on the page's main thread ({why}): the page's own work (drawing, other scripts) delays its requests.")}</li>
            },
            Engine::Failed(why) => html! {
                <li class="warn" data-testid="engine">{format!(
                    "The Web Worker running the load failed ({why}): its counts were lost with it.")}</li>
            },
        });
        if let Some(lag) = h.timer_lag {
            notes.push(html! {
                <li data-testid="timer-lag">{format!(
                    "The engine's timers fired {:.2} ms late on average, {:.1} ms at worst ({} timers): how long its event loop was busy elsewhere.",
                    lag.mean_ms, lag.max_ms, lag.fired)}</li>
            });
        }
        if let Some((asked, achieved)) = s.rate {
            notes.push(html! {
                <li data-testid="rate-kept">{format!("Rate asked {asked:.1} req/s, sent {achieved:.1} req/s.")}</li>
            });
        }
    }
    if h.hidden_during_run {
        notes.push(if h.on_main_thread() {
            html! {
                <li class="warn" data-testid="hidden-tab">{"The tab was hidden during the run: browsers throttle timers in background tabs, so pacing and throughput are affected."}</li>
            }
        } else {
            html! {
                <li data-testid="hidden-tab">{"The tab was hidden during the run: browsers throttle timers in background tabs, but not a worker's, where this load ran (its timers' lateness is above)."}</li>
            }
        });
    }
    notes.push(html! { <li>{"Latency is measured by the page around fetch(): it includes the browser's own queueing and processing, as your users experience it."}</li> });
    html! {
        <section class="honesty" aria-label="What the browser measured">
            <h2>{"What the browser measured"}</h2>
            <ul>{ for notes }</ul>
        </section>
    }
}
