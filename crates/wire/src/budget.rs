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
//! [`ReadBudget::refill`] at the start of each exchange plus [`ReadBudget::spend`] before each
//! read is a counter and a branch (HTTP/1.1: an exchange whose first read waits for the server
//! only reaches 64 reads past 1 MiB of body, and then a yield every 64 reads costs nothing
//! noticeable): ~9 instructions per request in callgrind, where a wrapper future around each
//! read cost ~55 (bench/tuning-log.md). The multiplexed HTTP/2 connection, polled by hand,
//! counts its own reads (`h2/conn.rs`, `READ_BUDGET`).

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

    /// A reader that is always ready (like a socket a server floods), spending the budget
    /// before each read, cannot starve a timer raced against it in the same task, even under
    /// `unconstrained`.
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
}
