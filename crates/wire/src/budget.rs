//! A per-connection read budget: a connection yields to the runtime after
//! [`READS_IN_A_ROW`] reads that did not wait for the server.
//!
//! Why: the CLI runs every slot of a worker in one task wrapped in
//! `tokio::task::unconstrained`, so tokio's cooperative budget never forces a yield. A server
//! that never stops sending (endless 1xx heads, chunks, trailers, frames) keeps every `read`
//! ready, the request future never returns `Pending`, and nothing else in the task — the
//! request timeout racing it, `-z`, Ctrl-C — is ever polled again. `yield_now` defers the
//! wake-up until the runtime has polled its drivers, so due timers fire before the task runs
//! again.
//!
//! Two ways to count, by cost: [`ReadBudget::read`] wraps a read and knows whether it waited
//! (for a connection with no natural start, like a multiplexed HTTP/2 one);
//! [`ReadBudget::refill`] at the start of each exchange plus [`ReadBudget::spend`] before each
//! read is a counter and a branch (HTTP/1.1: an exchange whose first read waits for the server
//! only reaches 64 reads past 1 MiB of body, and then a yield every 64 reads costs nothing
//! noticeable). The wrapper cost ~55 instructions per HTTP/1.1 request in callgrind, the
//! counter ~9 (bench/tuning-log.md).

use std::future::{Future, poll_fn};
use std::pin::pin;

/// Ready reads allowed before a yield. tokio's own cooperative budget is 128 operations per
/// task; 64 per connection keeps large bodies (16 KiB a read: 1 MiB between yields) fast.
pub(crate) const READS_IN_A_ROW: u32 = 64;

/// Counts a connection's consecutive reads that completed without waiting.
#[derive(Debug)]
pub(crate) struct ReadBudget {
    left: u32,
}

impl Default for ReadBudget {
    fn default() -> Self {
        Self {
            left: READS_IN_A_ROW,
        }
    }
}

impl ReadBudget {
    /// Runs one read (`io` is any future, usually `read_buf`), yielding to the runtime
    /// afterwards if it was the last of [`READS_IN_A_ROW`] reads in a row that never waited.
    #[allow(
        dead_code,
        reason = "for the multiplexed HTTP/2 connection, which has no exchange start"
    )]
    pub(crate) async fn read<F: Future>(&mut self, io: F) -> F::Output {
        let mut io = pin!(io);
        let mut waited = false;
        let out = poll_fn(|cx| {
            let poll = io.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await;
        if waited {
            self.left = READS_IN_A_ROW;
        } else {
            self.spend().await;
        }
        out
    }

    /// A fresh budget: call where the connection is known to wait (a new exchange).
    pub(crate) fn refill(&mut self) {
        self.left = READS_IN_A_ROW;
    }

    /// Counts one read (or other unit of work) that may not wait, yielding when the budget is
    /// spent.
    pub(crate) async fn spend(&mut self) {
        self.left -= 1;
        if self.left == 0 {
            self.left = READS_IN_A_ROW;
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A reader that is always ready (like a socket a server floods) cannot starve a timer
    /// raced against it in the same task, even under `unconstrained`.
    #[test]
    fn a_reader_that_is_always_ready_lets_a_timer_in_the_same_task_fire() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let reads = rt.block_on(tokio::task::unconstrained(async {
            let mut budget = ReadBudget::default();
            let mut reads = 0u64;
            let flood = async {
                loop {
                    budget.read(async { reads += 1 }).await;
                }
            };
            tokio::select! {
                biased;
                () = flood => unreachable!(),
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            reads
        }));
        assert!(reads >= u64::from(READS_IN_A_ROW), "{reads} reads");
    }

    /// The same with the cheap counter an HTTP/1.1 exchange uses.
    #[test]
    fn spending_lets_a_timer_in_the_same_task_fire() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(tokio::task::unconstrained(async {
            let mut budget = ReadBudget::default();
            let flood = async {
                loop {
                    budget.spend().await;
                }
            };
            tokio::select! {
                biased;
                () = flood => unreachable!(),
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }));
    }

    #[test]
    fn a_read_that_waited_refills_the_budget() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut budget = ReadBudget::default();
            for _ in 0..READS_IN_A_ROW - 1 {
                budget.read(async {}).await;
            }
            assert_eq!(budget.left, 1);
            budget.read(tokio::task::yield_now()).await;
            assert_eq!(budget.left, READS_IN_A_ROW);
        });
    }
}
