//! Following a CLI run that `flak --ui` serves: its Server-Sent Events (through gloo-net's
//! EventSource), each a results file or a capacity report of the run so far, the last one
//! `done`. The browser's EventSource reconnects by itself; the server ends the stream only after
//! `done`, so an error before it means the CLI went away.

use futures::{Stream, StreamExt as _};
use gloo_net::eventsource::futures::EventSource;

/// One message from the CLI.
pub struct Update {
    /// A results file or a capacity report, as `-o` would write it.
    pub text: String,
    /// The run is over: `text` is exactly its results file.
    pub done: bool,
}

/// The run's updates in order, ending after the last; an `Err` (then nothing) when the
/// connection is lost before it.
pub fn follow(url: &str) -> Result<impl Stream<Item = Result<Update, String>>, String> {
    let mut source = EventSource::new(url).map_err(|e| format!("{url}: {e}"))?;
    let subscribe = |source: &mut EventSource, name: &'static str, done: bool| {
        source
            .subscribe(name)
            .map(|s| {
                s.map(move |m| {
                    m.map(|(_, event)| Update {
                        text: event.data().as_string().unwrap_or_default(),
                        done,
                    })
                    .map_err(|e| format!("the flak run's event stream: {e}"))
                })
            })
            .map_err(|e| format!("{url}: {e}"))
    };
    let updates = subscribe(&mut source, "results", false)?;
    let last = subscribe(&mut source, "done", true)?;
    let mut source = Some(source);
    let mut over = false;
    Ok(
        futures::stream::select(updates, last).take_while(move |item| {
            let go = !over;
            over = !matches!(item, Ok(Update { done: false, .. }));
            if over {
                // Closed at once: the browser must not reconnect to a finished (or gone) run.
                source.take();
            }
            std::future::ready(go)
        }),
    )
}
