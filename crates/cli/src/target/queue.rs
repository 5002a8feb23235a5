//! `/queue?slots=K&ms=D`: a server with a known capacity. At most K requests are served at once,
//! each for D ms; the rest wait first come first served. So it answers K/D·1000 requests per
//! second at best, and past that rate its queue (and latency) grows without end: the knee
//! `flak capacity` should find. Requests with the same K and D share one queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::precise_sleep;

/// Most slots a queue may have, and longest service time, so a typo cannot exhaust the server.
const MAX_SLOTS: u32 = 10_000;
const MAX_MS: u64 = 60_000;

/// Queues by (slots, ms).
type Queues = Mutex<HashMap<(u32, u64), Arc<Semaphore>>>;

/// The queue for (slots, ms), created on first use and kept.
fn queue(slots: u32, ms: u64) -> Arc<Semaphore> {
    static QUEUES: OnceLock<Queues> = OnceLock::new();
    let mut queues = QUEUES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        queues
            .entry((slots, ms))
            .or_insert_with(|| Arc::new(Semaphore::new(slots as usize))),
    )
}

/// The (slots, ms) of a query such as `slots=4&ms=20`, or why not.
pub(super) fn parse(query: Option<&str>) -> Result<(u32, u64), String> {
    let (mut slots, mut ms) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("slots", v)) => {
                slots = v
                    .parse::<u32>()
                    .ok()
                    .filter(|k| (1..=MAX_SLOTS).contains(k));
            }
            Some(("ms", v)) => ms = v.parse::<u64>().ok().filter(|d| *d <= MAX_MS),
            _ => {}
        }
    }
    match (slots, ms) {
        (Some(k), Some(d)) => Ok((k, d)),
        _ => Err(format!(
            "use /queue?slots=<1-{MAX_SLOTS}>&ms=<0-{MAX_MS}>: K requests served at once for D ms each, the rest queued\n"
        )),
    }
}

/// Waits for one of the queue's slots (in arrival order), then holds it for `ms`. A request
/// whose client gives up leaves the queue when this future is dropped.
pub(super) async fn serve(slots: u32, ms: u64) {
    let queue = queue(slots, ms);
    // The semaphore is never closed, so acquiring only fails if it were.
    if let Ok(_permit) = queue.acquire().await {
        precise_sleep::sleep(Duration::from_millis(ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_or_say_how() {
        assert_eq!(parse(Some("slots=4&ms=20")), Ok((4, 20)));
        assert_eq!(parse(Some("ms=0&slots=1&x=y")), Ok((1, 0)));
        for bad in [
            None,
            Some(""),
            Some("slots=4"),
            Some("slots=0&ms=5"),
            Some("slots=4&ms=-1"),
            Some("slots=a&ms=1"),
        ] {
            assert!(
                parse(bad).unwrap_err().starts_with("use /queue?"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn k_slots_of_d_ms_serve_k_per_d() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // 8 requests, 2 slots of 30 ms: four rounds, so about 120 ms in all.
            let start = std::time::Instant::now();
            let mut all = tokio::task::JoinSet::new();
            for _ in 0..8 {
                all.spawn(serve(2, 30));
            }
            while all.join_next().await.is_some() {}
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(120) && took < Duration::from_millis(200),
                "{took:?}"
            );
        });
    }
}
