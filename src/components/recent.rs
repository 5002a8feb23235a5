//! Recent runs, kept in this browser's localStorage.

use yew::prelude::*;

use crate::model::recent::Recent;

/// A plain function, not a component: Yew's per-component code costs more than rebuilding it.
pub fn recent_runs(runs: &[Recent]) -> Html {
    if runs.is_empty() {
        return html! {};
    }
    let ms = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.2} ms"));
    html! {
        <section class="recent" aria-label="Recent runs">
            <h2>{"Recent runs"}</h2>
            <ul>
                { for runs.iter().map(|r| {
                    // Local hh:mm:ss by hand: the page's first `toLocaleTimeString` loads ICU's
                    // date formats, ~28 ms in the task that renders a finished run.
                    let at = js_sys::Date::new(&r.at_ms.into());
                    let when = format!(
                        "{:02}:{:02}:{:02}",
                        at.get_hours(),
                        at.get_minutes(),
                        at.get_seconds()
                    );
                    html! {
                        <li>
                            <a href={format!("?{}", r.query)}>{r.description.clone()}</a>
                            {format!(" — {when}: {} requests, {:.1} req/s, p50 {}, p99 {}", r.total, r.rps, ms(r.p50_ms), ms(r.p99_ms))}
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
