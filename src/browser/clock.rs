//! The browser's clock for the core scheduler: `performance.now()` (0.1 ms steps, 5 µs when the
//! page is cross-origin isolated) and one shared `setTimeout` for sleeping, in a window or a
//! worker alike; and how late its timers fired (the event loop's lag).
//!
//! Every request under a timeout sleeps until its deadline, and nearly every such sleep is
//! dropped unfired when the response comes first. A `setTimeout` per sleep cost a timer, a
//! closure handed across the wasm boundary and a `clearTimeout` per request (~75 µs of
//! main-thread time in a CPU profile). Instead the clock keeps its sleepers ordered by deadline
//! and one `setTimeout` armed for the earliest: a new sleep later than that one arms nothing,
//! and a dropped sleep only leaves its entry's removal. When the timer fires it wakes every
//! sleeper due by then (or by the deadline it was armed for: `setTimeout` rounds to whole
//! milliseconds, as each sleep's own timer did) and arms itself for the next.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;

pub struct BrowserClock {
    performance: web_sys::Performance,
    timers: Rc<Timers>,
}

/// Sleepers by (deadline, sequence number).
type Sleepers = BTreeMap<(Duration, u64), Waker>;

struct Timers {
    performance: web_sys::Performance,
    sleepers: RefCell<Sleepers>,
    next_id: Cell<u64>,
    /// The deadline the `setTimeout` is armed for, and its handle.
    armed: Cell<Option<(Duration, i32)>>,
    fire: Closure<dyn FnMut()>,
    lag: Lag,
}

/// How late timers fired, past the deadline they were armed for: the event loop's lag (a task
/// that ran long delays every timer due meanwhile). Includes `setTimeout`'s rounding up to a
/// whole millisecond.
#[derive(Default)]
pub struct Lag {
    fired: Cell<u64>,
    sum: Cell<Duration>,
    max: Cell<Duration>,
}

impl Lag {
    pub fn note(&self, late: Duration) {
        self.fired.set(self.fired.get() + 1);
        self.sum.set(self.sum.get() + late);
        self.max.set(self.max.get().max(late));
    }

    /// Timers fired, and the mean and the most they were late, in ms.
    pub fn reading(&self) -> (u64, f64, f64) {
        let n = self.fired.get();
        let mean = if n == 0 {
            0.0
        } else {
            self.sum.get().as_secs_f64() * 1e3 / n as f64
        };
        (n, mean, self.max.get().as_secs_f64() * 1e3)
    }
}

impl BrowserClock {
    pub fn new() -> Self {
        let performance = super::performance();
        let timers = Rc::new_cyclic(|weak: &Weak<Timers>| {
            let weak = weak.clone();
            Timers {
                performance: performance.clone(),
                sleepers: RefCell::default(),
                next_id: Cell::new(0),
                armed: Cell::new(None),
                lag: Lag::default(),
                fire: Closure::new(move || {
                    if let Some(timers) = weak.upgrade() {
                        timers.fired();
                    }
                }),
            }
        });
        Self {
            performance,
            timers,
        }
    }

    /// How late this clock's timers fired so far (see [`Lag`]).
    pub fn lag(&self) -> &Lag {
        &self.timers.lag
    }

    /// How many sleeps are waiting (for tests: dropped sleeps leave nothing behind).
    pub fn sleepers(&self) -> usize {
        self.timers.sleepers.borrow().len()
    }
}

impl Default for BrowserClock {
    fn default() -> Self {
        Self::new()
    }
}

fn from_ms(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1e3)
}

impl Timers {
    fn now(&self) -> Duration {
        from_ms(self.performance.now())
    }

    /// Makes sure the timer fires by `deadline`.
    fn arm(&self, deadline: Duration) {
        if let Some((at, handle)) = self.armed.get() {
            if at <= deadline {
                return;
            }
            super::clear_timeout(handle);
        }
        let wait_ms = (deadline.as_secs_f64() * 1e3 - self.performance.now()).ceil();
        let wait_ms = wait_ms.clamp(0.0, f64::from(i32::MAX)) as i32;
        let handle = super::set_timeout(self.fire.as_ref().unchecked_ref(), wait_ms);
        self.armed.set(Some((deadline, handle)));
    }

    fn fired(&self) {
        let armed = self.armed.take().map(|(at, _)| at);
        let now = self.now();
        if let Some(at) = armed {
            self.lag.note(now.saturating_sub(at));
        }
        let armed_for = armed.unwrap_or(Duration::ZERO);
        let due_by = now.max(armed_for);
        let due = {
            let mut sleepers = self.sleepers.borrow_mut();
            let later = sleepers.split_off(&(due_by, u64::MAX));
            std::mem::replace(&mut *sleepers, later)
        };
        if let Some(&(next, _)) = self.sleepers.borrow().keys().next() {
            self.arm(next);
        }
        // Wake after the borrow ends: a woken task may sleep again at once.
        due.into_values().for_each(Waker::wake);
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        // The callback goes with this; a timer left armed would call it after it is gone.
        if let Some((_, handle)) = self.armed.take() {
            super::clear_timeout(handle);
        }
    }
}

/// A sleep on the shared timer; removes itself when dropped before it fired.
struct Sleep {
    timers: Rc<Timers>,
    deadline: Duration,
    /// Set once registered: the key of its entry.
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timers = Rc::clone(&self.timers);
        let key = match self.id {
            Some(id) => (self.deadline, id),
            None => {
                if timers.now() >= self.deadline {
                    return Poll::Ready(());
                }
                let id = timers.next_id.get();
                timers.next_id.set(id + 1);
                self.id = Some(id);
                timers
                    .sleepers
                    .borrow_mut()
                    .insert((self.deadline, id), cx.waker().clone());
                timers.arm(self.deadline);
                return Poll::Pending;
            }
        };
        let mut sleepers = timers.sleepers.borrow_mut();
        match sleepers.get_mut(&key) {
            // Fired: the timer took the entry out.
            None => {
                self.id = None;
                Poll::Ready(())
            }
            Some(waker) => {
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // The timer stays armed: when it fires with nothing due it re-arms for the
            // earliest sleeper left, which costs less than a clearTimeout per request.
            self.timers
                .sleepers
                .borrow_mut()
                .remove(&(self.deadline, id));
        }
    }
}

impl flak_core::Clock for BrowserClock {
    fn now(&self) -> Duration {
        from_ms(self.performance.now())
    }

    fn unix_now(&self) -> Duration {
        // timeOrigin + now() stays monotonic within the run, unlike Date.now().
        from_ms(self.performance.time_origin() + self.performance.now())
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        Sleep {
            timers: Rc::clone(&self.timers),
            deadline,
            id: None,
        }
    }
}
