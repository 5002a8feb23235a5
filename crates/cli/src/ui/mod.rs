//! `--ui`: the run watched live in the browser app, served by the binary itself (`feed`: what
//! the page reads; `serve`: the app's files and the event stream).

pub mod feed;
pub mod serve;

pub use feed::Feed;
pub use serve::Server;

use std::sync::Arc;
use std::time::Duration;

use flak_core::Plan;

/// How long a finished run waits for connected pages to receive its results.
pub const DELIVERY: Duration = Duration::from_secs(5);

/// Starts `--ui` when asked (`addr`): binds, prints the address to open, and returns the feed
/// the run writes to.
pub fn start(
    addr: Option<&str>,
    plan: Option<Arc<Plan>>,
    workers: usize,
) -> anyhow::Result<Option<Arc<Feed>>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let feed = Arc::new(Feed::new(plan, workers));
    let server = Server::start(addr, &feed)?;
    eprintln!("flak: watch it in the browser at {}", server.url());
    Ok(Some(feed))
}
