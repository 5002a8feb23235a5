//! `--metrics ADDR`: while a run lasts (and `--metrics-linger` after it), an OpenMetrics
//! endpoint where Prometheus scrapes the run live: `live.rs` holds what the workers publish ten
//! times a second (which the live terminal view, `tui/`, reads too), `collector.rs` turns it
//! into metrics at each scrape (prometheus-client's text encoding), `serve.rs` answers
//! `GET /metrics` (hyper, on a thread of its own so a slow scraper never touches the workers).
//! `--otlp URL` pushes the same metrics with OpenTelemetry's OTLP/HTTP exporter (`otlp.rs`).

mod collector;
mod live;
mod otlp;
mod serve;

pub use collector::BUCKETS;
pub use live::{Live, Snapshot};
pub use otlp::Otlp;
pub use serve::Server;
