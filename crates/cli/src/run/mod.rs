//! Running a plan on every core: one OS thread per worker, each with a current-thread tokio
//! runtime and its own core scheduler over its share of the plan; `clock` (tokio time),
//! `interrupt` (Ctrl-C), `progress` (finished counts and the bar). The workers' `Stats` are
//! merged exactly at the end.

use std::cell::RefCell;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use flak_core::{Scheduler, SharedTickets, Stats, StopSignal};
use flak_wire::HttpTransport;
use progress::Progress;

use crate::flags::Setup;
use crate::metrics::Live;
use crate::ui::Feed;
use clock::TokioClock;

pub mod clock;
pub mod interrupt;
pub mod progress;

/// Workers actually used: never more than the connections (HTTP/2 slots share one by groups
/// of `-p`), nor than requests to send.
pub fn worker_count(setup: &Setup) -> usize {
    let mut n = setup.threads.max(1).min(groups(setup));
    if let flak_core::StopAfter::Requests(total) = setup.plan.stop {
        n = n.min(setup.shard.share_of(total).max(1) as usize);
    }
    n
}

/// Groups of slots that share a connection: one slot each unless HTTP/2 multiplexes.
fn groups(setup: &Setup) -> usize {
    (setup.plan.concurrency as usize).div_ceil(parallel(setup))
}

fn parallel(setup: &Setup) -> usize {
    setup.transport.http2_parallel.max(1) as usize
}

/// Who reads the run while it lasts, from the workers' progress ticks (never the request path).
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// `--metrics`, `--otlp`.
    pub live: Option<&'a Arc<Live>>,
    /// `--ui`.
    pub feed: Option<&'a Arc<Feed>>,
}

/// Runs the plan and returns the merged statistics. `progress` must hold one counter per
/// worker (see [`worker_count`]).
pub fn run(
    setup: &Setup,
    stop: &StopSignal,
    progress: &Arc<Progress>,
    watch: Watch<'_>,
) -> anyhow::Result<Stats> {
    let workers = progress.finished.len();
    let origin = Instant::now();
    let tls = setup.transport.tls();
    let concurrency = setup.plan.concurrency as usize;
    // Workers share the machine's shard and take request numbers from one counter.
    let tickets = Arc::new(SharedTickets::default());
    let handles = (0..workers)
        .map(|k| {
            let plan = Arc::clone(&setup.plan);
            let shard = setup.shard;
            let tickets = Arc::clone(&tickets);
            // The in-flight limit is the machine's: split it by whole groups of slots sharing a
            // connection, remainder to the first workers.
            let (groups, p) = (groups(setup), parallel(setup));
            let first = k * (groups / workers) + k.min(groups % workers);
            let last = first + groups / workers + usize::from(k < groups % workers);
            let first_slot = (first * p).min(concurrency);
            let slots = ((last * p).min(concurrency) - first_slot) as u32;
            let transport_config = setup.transport.clone();
            let tls = Arc::clone(&tls);
            let stop = stop.clone();
            let progress = Arc::clone(progress);
            let busy_poll = setup.busy_poll;
            let live = watch.live.cloned();
            let feed = watch.feed.cloned();
            std::thread::Builder::new()
                .name(format!("flak-worker-{k}"))
                .spawn(move || -> anyhow::Result<Stats> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .context("starting the tokio runtime")?;
                    let transport = HttpTransport::new(transport_config, Some(tls), &plan.requests)
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    let clock = TokioClock::new(origin);
                    let stats = RefCell::new(Stats::new(plan.is_open()));
                    runtime.block_on(async {
                        let scheduler = Scheduler::new(&plan, &transport, &clock)
                            .shard(shard)
                            .concurrency(slots)
                            .first_slot(first_slot as u64)
                            .stop_signal(stop)
                            .shared_tickets(&tickets);
                        // All slots live in this one task, so tokio's per-task cooperative
                        // budget would be shared by every connection and force needless yields.
                        let mut run = pin!(tokio::task::unconstrained(scheduler.run(&stats)));
                        let mut tick = tokio::time::interval(Duration::from_millis(100));
                        loop {
                            tokio::select! {
                                () = &mut run => break,
                            // Yielding makes tokio poll the sockets without a timeout and
                            // come straight back, so this thread never sleeps: a response then
                            // costs the server no cross-core wake-up (see bench/tuning-log.md).
                            () = tokio::task::yield_now(), if busy_poll => {}
                                _ = tick.tick() => {
                                    let stats = stats.borrow();
                                    progress.finished[k].store(stats.total(), Ordering::Relaxed);
                                    if let Some(live) = &live {
                                        live.publish(k, &stats);
                                    }
                                    if let Some(feed) = &feed {
                                        feed.publish(k, &stats);
                                    }
                                }
                            }
                        }
                    });
                    let mut stats = stats.into_inner();
                    stats.connections_mut().merge(&transport.connection_stats());
                    progress.finished[k].store(stats.total(), Ordering::Relaxed);
                    Ok(stats)
                })
                .context("starting a worker thread")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = Stats::try_merge_all(handles.into_iter().map(|handle| {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("a worker thread panicked"))?
    }))?;
    Ok(merged.unwrap_or_else(|| Stats::new(setup.plan.is_open())))
}
