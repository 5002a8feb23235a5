//! Deterministic test doubles: a virtual clock, a scripted transport, and an executor that
//! jumps the clock to the next timer whenever nothing else can run. A minute-long run finishes
//! in milliseconds and gives the same numbers every time. Used by the core's own tests, the
//! wasm tests and anyone checking scheduler behaviour; never by a real run.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::clock::Clock;
use crate::transport::{Outcome, Request, Transport};

#[derive(Default)]
struct ClockState {
    now: Duration,
    timers: BTreeMap<(Duration, u64), Waker>,
    next_id: u64,
}

/// A clock that only moves when [`block_on`] finds nothing else to do.
#[derive(Clone, Default)]
pub struct VirtualClock {
    state: Rc<RefCell<ClockState>>,
    unix_origin: Duration,
}

impl VirtualClock {
    /// A clock at 0 whose wall time starts at `unix_origin`.
    pub fn new(unix_origin: Duration) -> Self {
        Self {
            state: Rc::default(),
            unix_origin,
        }
    }

    /// Moves to the earliest pending timer and wakes every timer due by then. False when no
    /// timer is pending.
    fn advance(&self) -> bool {
        let due: Vec<Waker> = {
            let mut st = self.state.borrow_mut();
            let Some(&(next, _)) = st.timers.keys().next() else {
                return false;
            };
            st.now = st.now.max(next);
            let now = st.now;
            let later = st.timers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut st.timers, later)
                .into_values()
                .collect()
        };
        due.into_iter().for_each(Waker::wake);
        true
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        self.state.borrow().now
    }
    fn unix_now(&self) -> Duration {
        self.unix_origin + self.now()
    }
    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        Sleep {
            clock: self.clone(),
            deadline,
            key: None,
        }
    }
}

struct Sleep {
    clock: VirtualClock,
    deadline: Duration,
    key: Option<(Duration, u64)>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let clock = self.clock.clone();
        let mut st = clock.state.borrow_mut();
        if st.now >= self.deadline {
            if let Some(key) = self.key.take() {
                st.timers.remove(&key);
            }
            return Poll::Ready(());
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                st.next_id += 1;
                (self.deadline, st.next_id)
            }
        };
        st.timers.insert(key, cx.waker().clone());
        self.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.clock.state.borrow_mut().timers.remove(&key);
        }
    }
}

struct Flag(AtomicBool);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `fut` to completion on `clock`: polls while something woke, otherwise advances the
/// clock to the next timer. Panics if the future waits on something no timer will bring.
pub fn block_on<F: Future>(clock: &VirtualClock, fut: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        if !flag.0.load(Ordering::SeqCst) && !clock.advance() {
            panic!("deadlock: the future is pending and no timer is set");
        }
    }
}

type Script = dyn Fn(&Request<'_>) -> (Duration, Outcome);

/// A transport whose every answer is scripted: `script(request)` gives how long the request
/// takes on the virtual clock and what comes back. Records what a server would see.
pub struct ScriptedTransport {
    clock: VirtualClock,
    script: Box<Script>,
    in_flight: Cell<u64>,
    peak_in_flight: Cell<u64>,
    /// Requests that reached the "server" (whatever became of them).
    received: Cell<u64>,
    /// URLs in the order they were sent.
    urls: RefCell<Vec<String>>,
    /// Monotonic send times, in the order they were sent.
    send_times: RefCell<Vec<Duration>>,
}

impl ScriptedTransport {
    pub fn new(
        clock: &VirtualClock,
        script: impl Fn(&Request<'_>) -> (Duration, Outcome) + 'static,
    ) -> Self {
        Self {
            clock: clock.clone(),
            script: Box::new(script),
            in_flight: Cell::new(0),
            peak_in_flight: Cell::new(0),
            received: Cell::new(0),
            urls: RefCell::default(),
            send_times: RefCell::default(),
        }
    }
    pub fn peak_in_flight(&self) -> u64 {
        self.peak_in_flight.get()
    }
    pub fn received(&self) -> u64 {
        self.received.get()
    }
    pub fn urls(&self) -> Vec<String> {
        self.urls.borrow().clone()
    }
    pub fn send_times(&self) -> Vec<Duration> {
        self.send_times.borrow().clone()
    }
}

struct InFlight<'a>(&'a Cell<u64>);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl Transport for ScriptedTransport {
    type Session = ();

    fn session(&self, _slot: usize) {}

    async fn send(&self, _session: &mut (), request: &Request<'_>) -> Outcome {
        let (took, outcome) = (self.script)(request);
        self.received.set(self.received.get() + 1);
        self.urls.borrow_mut().push(request.url.to_string());
        self.send_times.borrow_mut().push(self.clock.now());
        self.in_flight.set(self.in_flight.get() + 1);
        self.peak_in_flight
            .set(self.peak_in_flight.get().max(self.in_flight.get()));
        let _guard = InFlight(&self.in_flight);
        self.clock.sleep_until(self.clock.now() + took).await;
        outcome
    }
}
