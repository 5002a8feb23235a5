//! The scheduler: issues a plan's requests through a [`Transport`], paced by a [`Clock`], and
//! records what comes back into [`Stats`].
//!
//! It never spawns: `concurrency` long-lived slot loops run joined in one future, each taking
//! the next request when its previous one is done. That never exceeds the in-flight limit, costs
//! no allocation per request, and runs the same on the browser's single thread and on a tokio
//! current-thread runtime (the CLI runs one scheduler per core and merges their `Stats`).
//!
//! Closed model (no rate): a slot sends as soon as it is free. Open model (rate): request `i`
//! is *intended* to start at `i / rate`; a slot waits for that moment, and latency counts from
//! it, so a stalled server cannot hide its stall by slowing the client down (coordinated
//! omission). The latency from the actual send is kept as well.
//!
//! Stages ([`Load`]): under rate stages request `i` is intended to start where the curve's
//! integral reaches `i`; under concurrency stages slot `g` (numbered across threads and shards)
//! runs only while the curve stands at `g + 1` or above, finishing its request first when the
//! curve falls below it.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::{Either, join_all, select};

use crate::clock::Clock;
use crate::plan::{Load, Order, Plan, Shard, StopAfter, format_duration};
use crate::stages::Stages;
use crate::stats::{Sample, Stats};
use crate::stop::StopSignal;
use crate::template::mix;
use crate::transport::{
    ErrorKind, Outcome, Request, RequestError, Response, Transport, is_success,
};

mod journey;

/// Runs one shard of a plan. Build with [`Scheduler::new`], then [`run`](Scheduler::run).
pub struct Scheduler<'a, T, C> {
    plan: &'a Plan,
    shard: Shard,
    concurrency: u32,
    transport: &'a T,
    clock: &'a C,
    stop: StopSignal,
    /// Request numbers shared with the other schedulers of this process, if any.
    tickets: Option<&'a SharedTickets>,
    /// The number of this scheduler's first slot among all of this shard's slots (concurrency
    /// stages start slot `g` once the curve reaches `g + 1`).
    first_slot: u64,
}

/// A request the scheduler has decided to send: its global index and, under a rate, when it
/// should start.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    index: u64,
    intended: Option<Duration>,
}

/// Request numbers for schedulers that run the same shard side by side (one per thread): one
/// counter for the warm-up, one for the measured requests.
#[derive(Debug, Default)]
pub struct SharedTickets {
    warmup: AtomicU64,
    measured: AtomicU64,
    /// Whether one of the schedulers has counted the requests the rate asked for (the shard's,
    /// which must be counted once, not once per thread).
    asked_counted: AtomicBool,
}

/// Warm-up and measurement are two phases of the same slot loops.
struct Phase {
    /// How many requests this shard sends in the phase (`None`: until the deadline).
    limit: Option<u64>,
    deadline: Option<Duration>,
    /// Monotonic start of the phase; the intended start of request 0.
    t0: Duration,
    /// Wall-clock time at `t0`.
    unix0: Duration,
    rate: Option<f64>,
    /// Rate stages: request `i` starts where the curve's integral reaches `i`.
    curve: Option<Stages>,
    /// Concurrency stages, this shard's share: which slots may run when.
    gate: Option<Stages>,
    measure: bool,
    /// Keeps warm-up URLs apart from measured ones in the seeded sequence.
    salt: u64,
    next: Cell<u64>,
    /// A `unique` data file had no row left for a ticket.
    rows_ran_out: Cell<bool>,
}

impl<'a, T: Transport, C: Clock> Scheduler<'a, T, C> {
    pub fn new(plan: &'a Plan, transport: &'a T, clock: &'a C) -> Self {
        Self {
            plan,
            shard: Shard::WHOLE,
            concurrency: plan.concurrency,
            transport,
            clock,
            stop: StopSignal::new(),
            tickets: None,
            first_slot: 0,
        }
    }

    /// Numbers this scheduler's slots from `first` among the shard's slots (the CLI's threads
    /// take consecutive ranges), for concurrency stages.
    pub fn first_slot(mut self, first: u64) -> Self {
        self.first_slot = first;
        self
    }

    /// Takes request numbers from a counter shared with other schedulers running the same
    /// shard (the CLI's worker threads), instead of splitting the shard further: whichever
    /// thread has a free slot takes the next request, so an in-flight limit that does not
    /// divide evenly between threads still finishes together. The counter must start at 0.
    pub fn shared_tickets(mut self, tickets: &'a SharedTickets) -> Self {
        self.tickets = Some(tickets);
        self
    }

    /// Runs only this part of the plan (its requests, its share of the rate).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// This scheduler's own in-flight limit (default: the plan's); the CLI splits the plan's
    /// limit across its threads.
    pub fn concurrency(mut self, concurrency: u32) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn stop_signal(mut self, stop: StopSignal) -> Self {
        self.stop = stop;
        self
    }

    /// Runs warm-up, then the measured phase, writing into `stats` as requests finish. `stats`
    /// is never borrowed across an await, so the caller may read it between polls for live
    /// progress. On return every issued request is accounted for.
    pub async fn run(&self, stats: &RefCell<Stats>) {
        if self.plan.journey.is_some() {
            stats.borrow_mut().mark_journey();
        }
        if self.plan.fan_out || self.plan.journey.is_some() {
            stats.borrow_mut().init_members(&self.plan.member_names());
        }
        if self.plan.warmup > 0 {
            let phase = self.phase(
                Some(self.shard.share_of(self.plan.warmup)),
                None,
                None,
                false,
            );
            self.run_phase(&phase, stats).await;
        }
        let (limit, duration) = match self.plan.stop {
            StopAfter::Requests(n) => (Some(self.shard.share_of(n)), None),
            StopAfter::Duration(d) => (None, Some(d)),
        };
        let mut phase = self.phase(limit, duration, self.plan.rate, true);
        match &self.plan.load {
            Some(Load::Rate(stages)) => phase.curve = Some(stages.clone()),
            Some(Load::Concurrency(stages)) => phase.gate = Some(stages.share(self.shard.count)),
            None => {}
        }
        stats.borrow_mut().begin(phase.unix0);
        if !self.stop.is_stopped() {
            self.run_phase(&phase, stats).await;
        }
        // A duration run spans its duration, even when a rate ran out of tickets early or a
        // timer fired late; a stopped run spans what it ran.
        let end = match phase.deadline {
            Some(d) if !self.stop.is_stopped() && !phase.rows_ran_out.get() => d,
            _ => self.clock.now(),
        };
        let mut stats = stats.borrow_mut();
        if phase.rows_ran_out.get() {
            stats.record_rows_ran_out();
        }
        if let Some(generator) = stats.generator_mut() {
            let first = self
                .tickets
                .is_none_or(|t| !t.asked_counted.swap(true, Ordering::Relaxed));
            if first {
                generator.add_asked(self.asked(&phase, end));
            }
        }
        stats.finish(phase.unix_at(end));
    }

    /// How many of this shard's requests were intended to start before `end`.
    fn asked(&self, phase: &Phase, end: Duration) -> u64 {
        self.plan
            .asked(end.saturating_sub(phase.t0), self.shard)
            .unwrap_or(0)
    }

    fn phase(
        &self,
        limit: Option<u64>,
        duration: Option<Duration>,
        rate: Option<f64>,
        measure: bool,
    ) -> Phase {
        let t0 = self.clock.now();
        Phase {
            limit,
            deadline: duration.map(|d| t0 + d),
            t0,
            unix0: self.clock.unix_now(),
            rate,
            curve: None,
            gate: None,
            measure,
            salt: if measure { 0 } else { 0x5741_524d_5550 },
            next: Cell::new(0),
            rows_ran_out: Cell::new(false),
        }
    }

    async fn run_phase(&self, phase: &Phase, stats: &RefCell<Stats>) {
        let slots = match phase.limit {
            Some(limit) => u64::from(self.concurrency).min(limit),
            None => u64::from(self.concurrency),
        };
        let slots = join_all((0..slots as usize).map(|slot| self.slot(slot, phase, stats)));
        let deadline = async {
            match phase.deadline {
                Some(d) => self.clock.sleep_until(d).await,
                None => pending().await,
            }
        };
        let aborted = pin!(self.stop.aborted());
        let deadline = pin!(deadline);
        let end = select(aborted, deadline);
        // Whatever is still in flight when this returns early is dropped here, and counted as
        // cancelled by `Stats::finish`.
        select(pin!(slots), end).await;
    }

    async fn slot(&self, slot: usize, phase: &Phase, stats: &RefCell<Stats>) {
        if let Some(journey) = &self.plan.journey {
            return self.journey_slot(slot, phase, stats, journey).await;
        }
        // A fan-out slot keeps a session (connection) per member.
        let members = if self.plan.fan_out {
            self.plan.requests.len()
        } else {
            1
        };
        let mut sessions: Vec<T::Session> = (0..members)
            .map(|m| self.transport.session(slot * members + m))
            .collect();
        let mut urls = vec![String::new(); members];
        // When this slot's previous request finished (none before its first).
        let mut free_since: Option<Duration> = None;
        while let Some((ticket, start)) = self.turn(slot, phase, stats, free_since).await {
            if phase.measure && self.plan.fan_out {
                let mut stats = stats.borrow_mut();
                (0..members).for_each(|m| stats.member_mut(m).record_issued());
            }
            let from = ticket.intended.unwrap_or(start).min(start);
            let sample = |outcome, end: Duration| Sample {
                latency: end.saturating_sub(from),
                uncorrected: ticket.intended.map(|_| end.saturating_sub(start)),
                end_unix: phase.unix_at(end),
                outcome,
            };
            if !self.plan.fan_out {
                let (spec_index, spec, url) = self.prepare(ticket.index, phase, &mut urls[0]);
                let request = Request::new(ticket.index, spec_index, spec, url);
                let outcome = self
                    .send_with_timeout(&mut sessions[0], &request, start)
                    .await;
                free_since = Some(self.clock.now());
                if phase.measure {
                    stats
                        .borrow_mut()
                        .record(&sample(&outcome, self.clock.now()));
                }
                continue;
            }
            let sends = sessions.iter_mut().zip(urls.iter_mut()).enumerate().map(
                |(m, (session, buf))| async move {
                    let spec = &self.plan.requests[m];
                    let url = self.expand_member(ticket.index, m, phase, buf);
                    let request = Request::new(ticket.index, m, spec, url);
                    let outcome = self.send_with_timeout(session, &request, start).await;
                    (outcome, self.clock.now())
                },
            );
            let results = join_all(sends).await;
            free_since = Some(self.clock.now());
            if phase.measure {
                let mut stats = stats.borrow_mut();
                for (m, (outcome, end)) in results.iter().enumerate() {
                    stats.member_mut(m).record(&sample(outcome, *end));
                }
                let last = results.iter().map(|r| r.1).max().unwrap_or(start);
                let group = self.group_outcome(&results);
                stats.record(&sample(&group, last));
            }
        }
    }

    /// Waits for this slot's next request (the stage gate, the ticket, its intended start),
    /// watching the generator, and counts it as sent; `None` when the slot is done.
    /// `free_since`: when the slot's previous request finished.
    async fn turn(
        &self,
        slot: usize,
        phase: &Phase,
        stats: &RefCell<Stats>,
        free_since: Option<Duration>,
    ) -> Option<(Ticket, Duration)> {
        if let Some(gate) = &phase.gate
            && !self.wait_for_turn(gate, slot, phase).await
        {
            return None;
        }
        let ticket = self.next_ticket(phase)?;
        if let Some(at) = ticket.intended {
            self.clock.sleep_until(at).await;
            if self.stop.is_stopped() {
                return None;
            }
            if phase.measure
                && let Some(generator) = stats.borrow_mut().generator_mut()
            {
                let lag = self.clock.now().saturating_sub(at);
                // Free slots take the next tickets at once, so a ticket still untaken at its
                // moment found every slot busy: this one was then still in flight with its
                // previous request. (A slot that was free but polled late is the machine's
                // lag, not the limit's; a slot's first ticket is the start-up's.)
                let held = free_since.is_some_and(|f| f.saturating_sub(at) > HELD_AFTER);
                generator.record(lag, held);
            }
        }
        let start = self.clock.now();
        let mut stats = stats.borrow_mut();
        if phase.measure {
            stats.record_sent(phase.unix_at(start));
        } else {
            stats.record_warmup();
        }
        Some((ticket, start))
    }

    /// Under concurrency stages, waits until the curve lets this slot run; `false` when it
    /// never will again before the run ends.
    async fn wait_for_turn(&self, gate: &Stages, slot: usize, phase: &Phase) -> bool {
        // Slot g runs while the curve is at g + 1 or above; the small margin keeps a slot that
        // woke exactly at its moment from missing it by rounding.
        let level = (self.first_slot + slot as u64) as f64 + 1.0 - 1e-9;
        loop {
            if self.stop.is_stopped() {
                return false;
            }
            let now = self.clock.now();
            let Some(at) = gate.when_at_least(level, now.saturating_sub(phase.t0)) else {
                return false;
            };
            let at = phase.t0 + at;
            if at <= now {
                return true;
            }
            if phase.deadline.is_some_and(|d| at >= d) {
                return false;
            }
            self.clock.sleep_until(at).await;
        }
    }

    /// Expands member `m`'s URL for iteration `index`.
    fn expand_member<'s>(
        &'s self,
        index: u64,
        m: usize,
        phase: &Phase,
        buf: &'s mut String,
    ) -> &'s str {
        let url = &self.plan.requests[m].url;
        if url.is_fixed() {
            return url.as_str();
        }
        url.expand(&mut self.member_rng(index, m, phase), buf);
        buf.as_str()
    }

    /// The random source of member (or step request) `m`'s templates in iteration `index`: a
    /// pure function of (seed, index, m), so every thread and machine expands them alike.
    fn member_rng(&self, index: u64, m: usize, phase: &Phase) -> fastrand::Rng {
        let seed = self.plan.seed ^ phase.salt ^ (m as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407);
        fastrand::Rng::with_seed(mix(seed, index))
    }

    /// A fan-out iteration's outcome: the first member error (named), else the worst status.
    fn group_outcome(&self, results: &[(Outcome, Duration)]) -> Outcome {
        let names = || self.plan.member_names();
        let mut worst: Option<Response> = None;
        let mut bytes = 0;
        for (m, (outcome, _)) in results.iter().enumerate() {
            match outcome {
                Outcome::Error(e) => {
                    return Outcome::Error(RequestError::new(
                        e.kind,
                        format!("{}: {}", names()[m], e.message),
                    ));
                }
                Outcome::Response(r) => {
                    bytes += r.bytes;
                    let failing = |s: u16| !is_success(s);
                    let replace = worst.is_none_or(|w| {
                        (failing(r.status), r.status) > (failing(w.status), w.status)
                    });
                    if replace {
                        worst = Some(*r);
                    }
                }
            }
        }
        let status = worst.map_or(0, |w| w.status);
        Outcome::Response(Response {
            status,
            bytes,
            ttfb: None,
            connect: None,
        })
    }

    async fn send_with_timeout(
        &self,
        session: &mut T::Session,
        request: &Request<'_>,
        start: Duration,
    ) -> Outcome {
        let send = self.transport.send(session, request);
        let Some(timeout) = self.plan.timeout else {
            return send.await;
        };
        match select(pin!(send), pin!(self.clock.sleep_until(start + timeout))).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(_) => Outcome::Error(RequestError::new(
                ErrorKind::Timeout,
                format!(
                    "no complete response within the {} timeout",
                    format_duration(timeout)
                ),
            )),
        }
    }

    fn next_ticket(&self, phase: &Phase) -> Option<Ticket> {
        if self.stop.is_stopped() {
            return None;
        }
        let local = match (phase.measure, self.tickets) {
            // Numbers past a limit or deadline are simply never used, so taking one that
            // turns out to be too late needs no undo.
            (true, Some(shared)) => shared.measured.fetch_add(1, Ordering::Relaxed),
            (false, Some(shared)) => shared.warmup.fetch_add(1, Ordering::Relaxed),
            (_, None) => phase.next.get(),
        };
        if phase.limit.is_some_and(|limit| local >= limit) {
            return None;
        }
        let index = self.shard.global_index(local);
        if let Some(rows) = self.plan.journey.as_ref().and_then(|j| j.iteration_limit())
            && index >= rows
        {
            phase.rows_ran_out.set(true);
            return None;
        }
        let offset = match (&phase.curve, phase.rate) {
            (Some(curve), _) => Some(curve.time_of(index as f64)?),
            (None, Some(rate)) => Some(Duration::from_secs_f64(index as f64 / rate)),
            (None, None) => None,
        };
        let intended = match offset {
            Some(offset) => {
                let at = phase.t0 + offset;
                if phase.deadline.is_some_and(|d| at >= d) {
                    return None;
                }
                Some(at)
            }
            None => {
                if phase.deadline.is_some_and(|d| self.clock.now() >= d) {
                    return None;
                }
                None
            }
        };
        phase.next.set(local + 1);
        Some(Ticket { index, intended })
    }

    /// Picks the template for request `index` and expands its URL, as a pure function of
    /// (seed, index): every thread and machine agrees on what request `index` is.
    fn prepare<'s>(
        &'s self,
        index: u64,
        phase: &Phase,
        buf: &'s mut String,
    ) -> (usize, &'s crate::plan::RequestSpec, &'s str) {
        let requests = &self.plan.requests;
        let fixed = requests.len() == 1 && requests[0].url.is_fixed();
        if fixed {
            return (0, &requests[0], requests[0].url.as_str());
        }
        let mut rng = fastrand::Rng::with_seed(mix(self.plan.seed ^ phase.salt, index));
        let spec_index = match self.plan.order {
            Order::RoundRobin => (index % requests.len() as u64) as usize,
            // A u64 draw: fastrand draws a usize from 32 bits on wasm32, so the app and the CLI
            // would pick differently from the same seed (on 64-bit targets the two agree).
            Order::Random => rng.u64(..requests.len() as u64) as usize,
        };
        let spec = &requests[spec_index];
        if spec.url.is_fixed() {
            return (spec_index, spec, spec.url.as_str());
        }
        spec.url.expand(&mut rng, buf);
        (spec_index, spec, buf.as_str())
    }
}

impl Phase {
    fn unix_at(&self, t: Duration) -> Duration {
        self.unix0 + t.saturating_sub(self.t0)
    }
}

/// A request whose slot was still busy this long after the request's intended start waited for
/// it: the in-flight limit held it back (less is the ordinary cost of a slot turning round).
const HELD_AFTER: Duration = Duration::from_millis(1);

/// Convenience for the common case: one scheduler over the whole plan, fresh statistics.
pub async fn run_plan<T: Transport, C: Clock>(
    plan: &Plan,
    transport: &T,
    clock: &C,
    stop: StopSignal,
) -> Stats {
    let stats = RefCell::new(Stats::new(plan.is_open()));
    Scheduler::new(plan, transport, clock)
        .stop_signal(stop)
        .run(&stats)
        .await;
    stats.into_inner()
}
