//! The run driver in headless Chromium: the first poll waits for the caller to return, a wake
//! polls at once (the woken request's successor is sent from the callback that woke it), a
//! wake during a poll asks for exactly one more poll, and the future is polled to its end.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use flak_web::browser::drive::drive;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Default)]
struct Probe {
    polls: Cell<u32>,
    waker: RefCell<Option<Waker>>,
    /// On this poll the future wakes itself before returning Pending.
    self_wake_on: Cell<u32>,
    done: Cell<bool>,
}

fn driven(probe: &Rc<Probe>, finish_on: u32) {
    let probe = Rc::clone(probe);
    drive(async move {
        poll_fn(|cx| {
            let n = probe.polls.get() + 1;
            probe.polls.set(n);
            if n == finish_on {
                return Poll::Ready(());
            }
            *probe.waker.borrow_mut() = Some(cx.waker().clone());
            if n == probe.self_wake_on.get() {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await;
        probe.done.set(true);
    });
}

fn wake(probe: &Probe) {
    let waker = probe.waker.borrow_mut().take().unwrap();
    waker.wake();
}

#[wasm_bindgen_test]
async fn wakes_poll_at_once_and_a_wake_during_a_poll_polls_once_more() {
    let probe = Rc::new(Probe::default());
    probe.self_wake_on.set(2);
    driven(&probe, 4);
    assert_eq!(
        probe.polls.get(),
        0,
        "polled before drive's caller returned"
    );
    TimeoutFuture::new(0).await;
    assert_eq!(
        probe.polls.get(),
        1,
        "the first poll comes from the event loop"
    );

    wake(&probe);
    // Poll 2 woke itself: poll 3 followed before the wake returned, and nothing more.
    assert_eq!(probe.polls.get(), 3);
    assert!(!probe.done.get());

    let late = probe.waker.borrow().clone().unwrap();
    wake(&probe);
    assert_eq!(probe.polls.get(), 4);
    assert!(
        probe.done.get(),
        "the future ran to its end inside the wake"
    );

    // A late wake of a finished run (a timer firing after the end) does nothing.
    late.wake();
    assert_eq!(probe.polls.get(), 4);
}
