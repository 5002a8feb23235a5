//! Runs a future on the page's event loop, polled at once when woken.
//!
//! A run is one future (the core scheduler over fetch), woken by each finished request from
//! the fetch transport's callback. Through wasm-bindgen-futures' queue every wake cost a
//! `queueMicrotask`, a microtask and a closure call into wasm, on the thread that also issues
//! the fetches; polled inside the wake, the slot that was woken sends its next request from the
//! same callback, as a hand-written JS fetch loop does.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

/// Polls `future` to the end, first in a microtask (after the caller has returned, as with
/// `spawn_local`), then inside each wake. A wake while it is being polled (a timer, Stop, a
/// slot's own wake) asks for one more poll when the current one returns, so a poll never nests
/// in itself.
pub fn drive(future: impl Future<Output = ()> + 'static) {
    let id = NEXT_RUN.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let run = Rc::new(Driven {
        future: RefCell::new(Some(Box::pin(future))),
        polling: Cell::new(false),
        again: Cell::new(false),
        waker: Waker::from(Arc::new(RunWaker(id))),
    });
    RUNS.with(|runs| runs.borrow_mut().push((id, run)));
    // The first poll comes after the caller has its handle, as with spawn_local.
    wasm_bindgen_futures::spawn_local(async move { poll_run(id) });
}

struct Driven {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    polling: Cell<bool>,
    again: Cell<bool>,
    waker: Waker,
}

thread_local! {
    /// The runs not over, by id: a page has one or two, so a list (no hash map's code in the
    /// wasm for this one map type, and no hashing per wake).
    static RUNS: RefCell<Vec<(u64, Rc<Driven>)>> = RefCell::default();
    static NEXT_RUN: Cell<u64> = const { Cell::new(0) };
}

/// Wakes run `.0`. Only an id, so it is `Send` as `Waker` requires, though the run never
/// leaves this thread (there is only one on wasm32).
struct RunWaker(u64);

impl Wake for RunWaker {
    fn wake(self: Arc<Self>) {
        poll_run(self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        poll_run(self.0);
    }
}

fn poll_run(id: u64) {
    // A run that is over may still be woken by a late timer: nothing to do.
    let Some(run) = RUNS.with(|runs| {
        let runs = runs.borrow();
        runs.iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| Rc::clone(r))
    }) else {
        return;
    };
    if run.polling.replace(true) {
        run.again.set(true);
        return;
    }
    loop {
        run.again.set(false);
        let mut future = run.future.borrow_mut();
        let Some(f) = future.as_mut() else { break };
        if f.as_mut()
            .poll(&mut Context::from_waker(&run.waker))
            .is_ready()
        {
            *future = None;
            RUNS.with(|runs| runs.borrow_mut().retain(|(i, _)| *i != id));
            break;
        }
        drop(future);
        if !run.again.get() {
            break;
        }
    }
    run.polling.set(false);
}
