//! The browser clock in headless Chromium: sleeps share one `setTimeout` armed for the earliest
//! deadline, wake on time and in order, and leave nothing behind when dropped unfired.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use flak_core::Clock;
use flak_web::browser::clock::BrowserClock;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Sleeps for `after` ms from now and records (label, how late it woke in ms).
async fn sleep_and_log(
    clock: &BrowserClock,
    label: u32,
    after: u64,
    log: &RefCell<Vec<(u32, f64)>>,
) {
    let deadline = clock.now() + Duration::from_millis(after);
    clock.sleep_until(deadline).await;
    log.borrow_mut()
        .push((label, ms(clock.now()) - ms(deadline)));
}

#[wasm_bindgen_test]
async fn sleeps_wake_on_time_and_in_deadline_order() {
    let clock = BrowserClock::new();
    let log = RefCell::new(Vec::new());
    // Registered latest-first: each later registration has an earlier deadline and must re-arm
    // the shared timer, or it would wake with the 90 ms one.
    let (a, b, c) = (
        sleep_and_log(&clock, 90, 90, &log),
        sleep_and_log(&clock, 50, 50, &log),
        sleep_and_log(&clock, 10, 10, &log),
    );
    join3(a, b, c).await;
    let log = log.into_inner();
    let order: Vec<u32> = log.iter().map(|(label, _)| *label).collect();
    assert_eq!(order, [10, 50, 90]);
    for (label, late) in log {
        // Never early (the clock's resolution is 0.1 ms at worst); a loaded machine may be late.
        assert!(late >= -0.1, "the {label} ms sleep woke {late} ms early");
        assert!(late < 40.0, "the {label} ms sleep woke {late} ms late");
    }
    assert_eq!(clock.sleepers(), 0);
}

#[wasm_bindgen_test]
async fn a_deadline_already_past_is_ready_at_once() {
    let clock = BrowserClock::new();
    let mut sleep = pin!(clock.sleep_until(Duration::ZERO));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(sleep.as_mut().poll(&mut cx).is_ready());
    assert_eq!(clock.sleepers(), 0);
}

#[wasm_bindgen_test]
async fn dropped_sleeps_leave_nothing_and_the_timer_goes_on() {
    let clock = BrowserClock::new();
    let mut cx = Context::from_waker(Waker::noop());
    // What a timeout does when the response comes first: polled once, then dropped.
    for i in 0..1000 {
        let deadline = clock.now() + Duration::from_millis(20 + i % 7);
        let mut sleep = pin!(clock.sleep_until(deadline));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(clock.sleepers(), 0);
    // The shared timer, still armed for a dropped sleep, fires with nothing due and must re-arm
    // for sleeps registered meanwhile.
    let log = RefCell::new(Vec::new());
    sleep_and_log(&clock, 60, 60, &log).await;
    assert_eq!(log.borrow().len(), 1);
    assert_eq!(clock.sleepers(), 0);
}

#[wasm_bindgen_test]
async fn a_dropped_clock_leaves_no_timer_behind() {
    // The armed setTimeout would otherwise call a closure that no longer exists, which throws
    // in the page after the run.
    let clock = BrowserClock::new();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut sleep = pin!(clock.sleep_until(clock.now() + Duration::from_millis(5)));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
    }
    drop(clock);
    let other = BrowserClock::new();
    other
        .sleep_until(other.now() + Duration::from_millis(30))
        .await;
}

/// Runs three futures to completion together (flak-web has no futures crate of its own).
async fn join3(
    a: impl Future<Output = ()>,
    b: impl Future<Output = ()>,
    c: impl Future<Output = ()>,
) {
    let done = Rc::new(RefCell::new([false; 3]));
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    poll_fn(|cx| {
        let mut done = done.borrow_mut();
        for (i, f) in [
            a.as_mut() as std::pin::Pin<&mut dyn Future<Output = ()>>,
            b.as_mut(),
            c.as_mut(),
        ]
        .into_iter()
        .enumerate()
        {
            if !done[i] && f.poll(cx).is_ready() {
                done[i] = true;
            }
        }
        if done.iter().all(|d| *d) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}
