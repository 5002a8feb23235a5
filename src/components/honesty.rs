//! What a browser does to the numbers, said plainly, shown only where it applies.

use std::fmt::Write as _;

use yew::prelude::*;

use crate::browser::timing::Engine;
use crate::components::markup::{esc, raw};
use crate::model::honesty::Honesty;
use crate::model::state::{Source, State};

#[derive(PartialEq)]
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

/// The panel as markup text (one node for Yew to place, as the charts and the summary are);
/// every value is escaped.
fn notes(s: &HonestyProps) -> String {
    let h = &s.honesty;
    let mut out = String::new();
    if s.cors_suspected {
        let _ = write!(
            out,
            r#"<li class="warn" data-testid="cors-explanation"><strong>The browser blocked these requests (CORS or network). </strong>A page may only read a response from another origin when that server allows it. The endpoint must answer with <code>Access-Control-Allow-Origin: {}</code> (or <code>*</code>), and answer the OPTIONS preflight that custom headers or methods other than GET/POST trigger. Otherwise: switch Fetch mode to no-cors (responses are opaque: timed, but the status is hidden), or serve this app from the endpoint's own origin. The browser does not say which of CORS, a refused connection or a name that does not resolve it was; the CLI does.</li>"#,
            esc(&s.page_origin)
        );
    }
    if s.connection_limited {
        let proto = h.protocol.clone().unwrap_or_else(|| "HTTP/1.1".into());
        let _ = write!(
            out,
            r#"<li class="warn" data-testid="connection-limit"><strong>In-flight limit {} over {}: </strong>browsers open at most 6 HTTP/1.1 connections per host, so requests beyond 6 wait inside the browser, and that wait is part of their latency. Serve the endpoint over HTTP/2 to go further."#,
            s.run_concurrency,
            esc(&proto)
        );
        if let Some(p) = h.phases {
            let _ = write!(
                out,
                " Measured queueing in the browser: {:.2} ms per request on average.",
                p.queueing
            );
        }
        out.push_str("</li>");
    }
    out.push_str(if h.cross_origin_isolated {
        "<li>Timer resolution: 5 µs (this page is cross-origin isolated).</li>"
    } else {
        "<li>Timer resolution: 0.1 ms. Served with COOP/COEP headers (as <code>flak target --app</code> does), the page gets 5 µs timers.</li>"
    });
    if let Some(p) = &h.protocol {
        let _ = write!(out, "<li>Protocol the browser used: {}.</li>", esc(p));
    }
    match h.phases {
        Some(p) => {
            let _ = write!(
                out,
                r#"<li data-testid="phases">Per request, on average over {} requests: queueing {:.2} ms, connect {:.2} ms, time to first byte {:.2} ms, download {:.2} ms.</li>"#,
                p.samples, p.queueing, p.connect, p.ttfb, p.download
            );
        }
        None if s.live_results => out.push_str(
            "<li>No per-phase timings: the server does not send <code>Timing-Allow-Origin</code>, so the browser hides them.</li>",
        ),
        None => {}
    }
    if s.live_results {
        match &h.engine {
            Engine::Worker => {
                out.push_str(r#"<li data-testid="engine">The load ran in a Web Worker, off the page's main thread: drawing this page does not delay its requests."#);
                if h.long_tasks > 0 {
                    let _ = write!(
                        out,
                        " The page's main thread was busy in {} task(s) over 50 ms (the longest {:.0} ms) without touching the load.",
                        h.long_tasks, h.longest_task_ms
                    );
                } else {
                    out.push_str(" The page's main thread had no task over 50 ms.");
                }
                out.push_str("</li>");
            }
            Engine::MainThread(why) => {
                let _ = write!(
                    out,
                    r#"<li class="warn" data-testid="engine">The load ran on the page's main thread ({}): the page's own work (drawing, other scripts) delays its requests.</li>"#,
                    esc(why)
                );
            }
            Engine::Failed(why) => {
                let _ = write!(
                    out,
                    r#"<li class="warn" data-testid="engine">The Web Worker running the load failed ({}): its counts were lost with it.</li>"#,
                    esc(why)
                );
            }
        }
        if let Some(lag) = h.timer_lag {
            let _ = write!(
                out,
                r#"<li data-testid="timer-lag">The engine's timers fired {:.2} ms late on average, {:.1} ms at worst ({} timers): how long its event loop was busy elsewhere.</li>"#,
                lag.mean_ms, lag.max_ms, lag.fired
            );
        }
        if let Some((asked, achieved)) = s.rate {
            let _ = write!(
                out,
                r#"<li data-testid="rate-kept">Rate asked {asked:.1} req/s, sent {achieved:.1} req/s.</li>"#
            );
        }
    }
    if h.hidden_during_run {
        out.push_str(if h.on_main_thread() {
            r#"<li class="warn" data-testid="hidden-tab">The tab was hidden during the run: browsers throttle timers in background tabs, so pacing and throughput are affected.</li>"#
        } else {
            r#"<li data-testid="hidden-tab">The tab was hidden during the run: browsers throttle timers in background tabs, but not a worker's, where this load ran (its timers' lateness is above).</li>"#
        });
    }
    out.push_str("<li>Latency is measured by the page around fetch(): it includes the browser's own queueing and processing, as your users experience it.</li>");
    out
}

/// A plain function, not a component: Yew's per-component code costs more than the string.
pub fn honesty_panel(props: &HonestyProps) -> Html {
    raw(format!(
        r#"<section class="honesty" aria-label="What the browser measured"><h2>What the browser measured</h2><ul>{}</ul></section>"#,
        notes(props)
    ))
}
