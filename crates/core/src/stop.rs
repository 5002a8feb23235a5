//! Stopping a run from outside (the Stop button, Ctrl-C). Two steps: `stop` ends issuing and
//! lets in-flight requests finish; `abort` drops them at once and counts them as cancelled.
//! Thread-safe, so a signal handler on another thread can trigger it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
struct Inner {
    level: u8,
    wakers: Vec<Option<Waker>>,
}

/// A cloneable handle; every clone controls the same run(s).
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<Mutex<Inner>>);

const STOP: u8 = 1;
const ABORT: u8 = 2;

impl StopSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Issue no more requests; let those in flight finish.
    pub fn stop(&self) {
        self.raise(STOP);
    }

    /// Issue no more requests and abandon those in flight (they count as cancelled).
    pub fn abort(&self) {
        self.raise(ABORT);
    }

    pub fn is_stopped(&self) -> bool {
        self.level() >= STOP
    }

    pub fn is_aborted(&self) -> bool {
        self.level() >= ABORT
    }

    /// Completes when [`abort`](Self::abort) is called.
    pub fn aborted(&self) -> Aborted<'_> {
        Aborted {
            signal: self,
            slot: None,
        }
    }

    fn level(&self) -> u8 {
        self.lock().level
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn raise(&self, level: u8) {
        let wakers: Vec<Waker> = {
            let mut inner = self.lock();
            if inner.level >= level {
                return;
            }
            inner.level = level;
            if level < ABORT {
                return;
            }
            inner.wakers.iter_mut().filter_map(Option::take).collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// Future returned by [`StopSignal::aborted`]. Keeps one waker slot while alive, however often
/// it is polled.
#[derive(Debug)]
pub struct Aborted<'a> {
    signal: &'a StopSignal,
    slot: Option<usize>,
}

impl Future for Aborted<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let signal = self.signal;
        let mut inner = signal.lock();
        if inner.level >= ABORT {
            return Poll::Ready(());
        }
        let waker = Some(cx.waker().clone());
        match self.slot {
            Some(i) => inner.wakers[i] = waker,
            None => {
                let i = match inner.wakers.iter().position(Option::is_none) {
                    Some(i) => {
                        inner.wakers[i] = waker;
                        i
                    }
                    None => {
                        inner.wakers.push(waker);
                        inner.wakers.len() - 1
                    }
                };
                self.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

impl Drop for Aborted<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.slot
            && let Some(w) = self.signal.lock().wakers.get_mut(i)
        {
            *w = None;
        }
    }
}
