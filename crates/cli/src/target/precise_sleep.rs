//! Sleeps that end within a fraction of a millisecond of their deadline, for `flak target`'s
//! `/delay` and `/jitter`: tokio's timer wheel ticks in whole milliseconds and fires up to a
//! millisecond late, which would make a calibration server lie. One thread waits on a condvar
//! (nanosecond timeouts) for the earliest deadline and wakes the futures that are due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

struct Entry {
    at: Instant,
    done: Arc<AtomicBool>,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

#[derive(Default)]
struct Timers {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    changed: Condvar,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<&'static Timers> = OnceLock::new();
    TIMERS.get_or_init(|| {
        let timers: &'static Timers = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("flak-precise-timer".into())
            .spawn(move || run(timers))
            .expect("starting the timer thread");
        timers
    })
}

fn run(timers: &Timers) {
    let mut heap = timers.heap.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = heap.pop() {
                e.done.store(true, Ordering::Release);
                e.waker.wake();
            }
        }
        heap = match heap.peek() {
            Some(Reverse(e)) => {
                let wait = e.at.saturating_duration_since(now);
                timers
                    .changed
                    .wait_timeout(heap, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => timers
                .changed
                .wait(heap)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// Completes at `Instant::now() + d`, give or take the OS's wake-up latency (tens of µs).
pub fn sleep(d: Duration) -> Sleep {
    Sleep {
        at: Instant::now() + d,
        done: Arc::new(AtomicBool::new(false)),
        registered: false,
    }
}

pub struct Sleep {
    at: Instant,
    done: Arc<AtomicBool>,
    registered: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.load(Ordering::Acquire) || Instant::now() >= self.at {
            return Poll::Ready(());
        }
        if !self.registered {
            // Registered once: the timer thread wakes this task exactly once, when it is due.
            let t = timers();
            t.heap
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Reverse(Entry {
                    at: self.at,
                    done: Arc::clone(&self.done),
                    waker: cx.waker().clone(),
                }));
            t.changed.notify_one();
            self.registered = true;
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_end_close_to_their_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // A loaded machine can delay any one round; precision shows in the best of three.
        let mut medians = Vec::new();
        for _ in 0..3 {
            let median = rt.block_on(async {
                let mut late = Vec::new();
                for ms in [1u64, 5, 20] {
                    let start = Instant::now();
                    sleep(Duration::from_millis(ms)).await;
                    let took = start.elapsed();
                    assert!(
                        took >= Duration::from_millis(ms),
                        "woke before the deadline"
                    );
                    late.push(took - Duration::from_millis(ms));
                }
                late.sort();
                late[1]
            });
            if median < Duration::from_micros(700) {
                return;
            }
            medians.push(median);
        }
        panic!("median overshoot {medians:?} in every round, want < 700 µs");
    }
}
