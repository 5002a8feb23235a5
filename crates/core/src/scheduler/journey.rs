//! A slot running a journey: each ticket is one iteration, its steps in order, a step's
//! requests sent at once; values extracted from one step's responses fill later steps'
//! `{var:…}`; a failed step (an error, a failing status, a failed check or extraction) skips
//! the rest of its iteration. The iteration's latency runs from its first send (or intended
//! start) to its last response, think time left out; each step request has its own row.

use std::cell::RefCell;
use std::time::Duration;

use futures::future::join_all;

use crate::clock::Clock;
use crate::journey::{IterationFields, JourneyPlan, Received, StepBody, Vars};
use crate::stats::{Sample, Stats};
use crate::transport::{
    Capture, Captured, ErrorKind, Outcome, Request, RequestError, Response, Transport, is_success,
};

use super::{Phase, Scheduler};

/// A slot's buffers for its journey, one of each per step request, reused every iteration.
struct Buffers<S> {
    sessions: Vec<S>,
    captures: Vec<Option<Capture>>,
    urls: Vec<String>,
    /// Headers whose values hold fields, expanded.
    headers: Vec<Vec<(String, String)>>,
    /// Bodies that hold fields, expanded.
    bodies: Vec<String>,
}

/// How a step request ended, once checks and extractors have read its response.
struct Ended {
    outcome: Outcome,
    end: Duration,
}

fn failing(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Error(_) => true,
        Outcome::Response(r) => !is_success(r.status),
    }
}

impl<T: Transport, C: Clock> Scheduler<'_, T, C> {
    pub(super) async fn journey_slot(
        &self,
        slot: usize,
        phase: &Phase,
        stats: &RefCell<Stats>,
        plan: &JourneyPlan,
    ) {
        let n = plan.specs().len();
        let mut b = Buffers {
            sessions: (0..n)
                .map(|m| self.transport.session(slot * n + m))
                .collect(),
            captures: (0..n).map(|m| plan.capture(m)).collect(),
            urls: vec![String::new(); n],
            headers: (0..n)
                .map(|m| {
                    let (_, r) = plan.request(m);
                    r.headers
                        .iter()
                        .filter(|(_, v)| !v.is_fixed())
                        .map(|(name, _)| (name.clone(), String::new()))
                        .collect()
                })
                .collect(),
            bodies: vec![String::new(); n],
        };
        let mut vars = plan.journey().new_vars();
        let mut free_since = None;
        while let Some((ticket, start)) = self.turn(slot, phase, stats, free_since).await {
            vars.clear();
            let row = plan
                .data()
                .and_then(|d| d.row(plan.data_order(), self.plan.seed, ticket.index));
            let from = ticket.intended.unwrap_or(start).min(start);
            // Time in flight, summed over steps (think time is not latency).
            let mut active = Duration::ZERO;
            let mut last_end = start;
            let mut bytes = 0;
            let mut last_status = 0;
            let mut failure: Option<(String, Outcome)> = None;
            let mut stopped = false;
            for (s, step) in plan.journey().steps().iter().enumerate() {
                let specs = plan.step_specs(s);
                if failure.is_some() {
                    if phase.measure {
                        let mut stats = stats.borrow_mut();
                        for m in specs {
                            stats.member_mut(m).record_skipped();
                            stats.record_skipped();
                        }
                    }
                    continue;
                }
                if s > 0 && self.stop.is_stopped() {
                    // Cut short by a stop: the iteration counts as cancelled.
                    stopped = true;
                    break;
                }
                let step_start = if s == 0 { start } else { self.clock.now() };
                let fields = IterationFields { vars: &vars, row };
                for m in specs.clone() {
                    self.expand_step_request(plan, m, ticket.index, phase, &fields, &mut b);
                }
                if phase.measure {
                    let mut stats = stats.borrow_mut();
                    specs
                        .clone()
                        .for_each(|m| stats.member_mut(m).record_issued());
                }
                let sends =
                    b.sessions[specs.clone()]
                        .iter_mut()
                        .zip(specs.clone())
                        .map(|(session, m)| {
                            let (_, r) = plan.request(m);
                            let capture = b.captures[m].as_ref();
                            if let Some(c) = capture {
                                c.clear();
                            }
                            let request = Request {
                                headers: &b.headers[m],
                                body: matches!(&r.body, StepBody::Text(t) if !t.is_fixed())
                                    .then(|| b.bodies[m].as_bytes()),
                                capture,
                                ..Request::new(ticket.index, m, &self.plan.requests[m], &b.urls[m])
                            };
                            async move {
                                let outcome =
                                    self.send_with_timeout(session, &request, step_start).await;
                                (outcome, self.clock.now())
                            }
                        });
                let results = join_all(sends).await;
                let mut step_end = step_start;
                let mut step_status = 0;
                for ((outcome, end), m) in results.into_iter().zip(specs.clone()) {
                    let outcome = self.judge(
                        plan,
                        m,
                        b.captures[m].as_ref(),
                        outcome,
                        &mut vars,
                        phase.measure.then_some(stats),
                    );
                    let ended = Ended { outcome, end };
                    step_end = step_end.max(ended.end);
                    if let Outcome::Response(r) = &ended.outcome {
                        bytes += r.bytes;
                    }
                    if phase.measure {
                        // A later step's latency runs from its own send; the first step's from
                        // the iteration's intended start, as any request's under a rate.
                        let begun = if s == 0 { from } else { step_start };
                        stats.borrow_mut().member_mut(m).record(&Sample {
                            latency: ended.end.saturating_sub(begun),
                            uncorrected: ticket
                                .intended
                                .map(|_| ended.end.saturating_sub(step_start)),
                            end_unix: phase.unix_at(ended.end),
                            outcome: &ended.outcome,
                        });
                    }
                    if failure.is_none() && failing(&ended.outcome) {
                        failure = Some((step.name.clone(), ended.outcome));
                    } else if let Outcome::Response(r) = &ended.outcome {
                        step_status = step_status.max(r.status);
                    }
                }
                // A whole iteration answers with its last step's status (a group's highest).
                last_status = step_status;
                active += step_end.saturating_sub(step_start);
                last_end = step_end;
                if failure.is_none()
                    && let Some(think) = &step.think
                {
                    let pause = think.sample(self.plan.seed, ticket.index, s);
                    self.clock.sleep_until(self.clock.now() + pause).await;
                }
            }
            free_since = Some(self.clock.now());
            if stopped || !phase.measure {
                continue;
            }
            let outcome = match failure {
                Some((name, Outcome::Error(e))) => Outcome::Error(RequestError::new(
                    e.kind,
                    format!("step {name:?}: {}", e.message),
                )),
                Some((_, Outcome::Response(r))) => Outcome::Response(Response {
                    status: r.status,
                    bytes,
                    ttfb: None,
                    connect: None,
                }),
                None => Outcome::Response(Response {
                    status: last_status,
                    bytes,
                    ttfb: None,
                    connect: None,
                }),
            };
            let waited = start.saturating_sub(from);
            stats.borrow_mut().record(&Sample {
                latency: waited + active,
                uncorrected: ticket.intended.map(|_| active),
                end_unix: phase.unix_at(last_end),
                outcome: &outcome,
            });
        }
    }

    /// Expands step request `m`'s URL, field-holding headers and body for iteration `index`.
    fn expand_step_request<S>(
        &self,
        plan: &JourneyPlan,
        m: usize,
        index: u64,
        phase: &Phase,
        fields: &IterationFields<'_>,
        b: &mut Buffers<S>,
    ) {
        let (_, r) = plan.request(m);
        let mut rng = self.member_rng(index, m, phase);
        if r.url.is_fixed() {
            b.urls[m].clear();
            b.urls[m].push_str(r.url.as_str());
        } else {
            r.url.expand_with(&mut rng, fields, &mut b.urls[m]);
        }
        let dynamic = r.headers.iter().filter(|(_, v)| !v.is_fixed());
        for ((_, template), (_, value)) in dynamic.zip(b.headers[m].iter_mut()) {
            template.expand_with(&mut rng, fields, value);
        }
        if let StepBody::Text(t) = &r.body
            && !t.is_fixed()
        {
            t.expand_with(&mut rng, fields, &mut b.bodies[m]);
        }
    }

    /// Runs a step request's checks and extractors on its response: a failed check or
    /// extraction turns the outcome into an error of its own kind, counted by label or name
    /// (on the request's row, and on the run's prefixed with the request's name).
    fn judge(
        &self,
        plan: &JourneyPlan,
        m: usize,
        capture: Option<&Capture>,
        outcome: Outcome,
        vars: &mut Vars,
        // `None` in the warm-up, which counts nothing.
        stats: Option<&RefCell<Stats>>,
    ) -> Outcome {
        let Outcome::Response(response) = &outcome else {
            return outcome;
        };
        let (_, r) = plan.request(m);
        if r.checks.is_empty() && r.extract.is_empty() {
            return outcome;
        }
        let empty = Captured::default();
        let kept = capture.map(Capture::got);
        let got = kept.as_deref().unwrap_or(&empty);
        let received = Received::new(response.status, &got.headers, &got.body);
        let member = || self.plan.requests[m].display_name();
        for check in &r.checks {
            if let Err(message) = check.apply(&received) {
                let label = check.label();
                if let Some(stats) = stats {
                    let mut stats = stats.borrow_mut();
                    stats.member_mut(m).record_check_failed(&label, &message);
                    stats.record_check_failed(&format!("{}: {label}", member()), &message);
                }
                // The message names the check.
                return Outcome::Error(RequestError::new(ErrorKind::Check, message));
            }
        }
        if failing(&outcome) {
            return outcome;
        }
        for (name, extractor) in &r.extract {
            match extractor.apply_to(&received) {
                Ok(value) => {
                    vars.set(name, &value);
                }
                Err(e) => {
                    if let Some(stats) = stats {
                        let mut stats = stats.borrow_mut();
                        stats.member_mut(m).record_extract_failed(name, &e.0);
                        stats.record_extract_failed(name, &e.0);
                    }
                    return Outcome::Error(RequestError::new(
                        ErrorKind::Extract,
                        format!("extract {name}: {e}"),
                    ));
                }
            }
        }
        outcome
    }
}
