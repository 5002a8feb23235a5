//! What a watching page reads: each worker's statistics, copied at most once a second and only
//! while a page is connected, merged into a results file (the same JSON `-o` writes) for every
//! event; at the end, the run's own results file. A page that connects late gets the latest
//! event first, so it catches up in one message.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use flak_core::{Plan, Results, Stats};
use tokio::sync::watch;

/// One message to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The run so far, as a results file.
    Progress(Arc<str>),
    /// The run is over: exactly its results file.
    Done(Arc<str>),
}

impl Event {
    /// The Server-Sent Events frame: each line of the JSON its own `data:` line, which the
    /// browser joins back with newlines.
    pub fn frame(&self) -> String {
        let (name, json) = match self {
            Self::Progress(json) => ("results", json),
            Self::Done(json) => ("done", json),
        };
        let mut out = String::with_capacity(json.len() + json.len() / 16 + 32);
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
        for line in json.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// The live run, shared by the workers (writers, at most once a second each) and the pages.
#[derive(Debug)]
pub struct Feed {
    plan: Option<Arc<Plan>>,
    workers: Mutex<Vec<Option<(Instant, Stats)>>>,
    /// Pages connected and not yet sent the final event: while there are none, workers copy
    /// nothing, and the run ends without waiting.
    watching: AtomicUsize,
    changed: AtomicBool,
    events: watch::Sender<Option<Event>>,
}

impl Feed {
    pub fn new(plan: Option<Arc<Plan>>, workers: usize) -> Self {
        Self {
            plan,
            workers: Mutex::new(vec![None; workers]),
            watching: AtomicUsize::new(0),
            changed: AtomicBool::new(false),
            events: watch::channel(None).0,
        }
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, Vec<Option<(Instant, Stats)>>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Worker `k`'s statistics so far, copied when a page watches and a second has passed since
    /// its last copy. Called from the worker's progress tick, never from the request path.
    pub fn publish(&self, k: usize, stats: &Stats) {
        if self.watching.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut workers = self.workers();
        let Some(slot) = workers.get_mut(k) else {
            return;
        };
        if slot
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        *slot = Some((Instant::now(), stats.clone()));
        self.changed.store(true, Ordering::Relaxed);
    }

    /// Merges what the workers published into a new event, if anything changed.
    pub fn tick(&self) {
        if !self.changed.swap(false, Ordering::Relaxed) || self.is_done() {
            return;
        }
        let merged = {
            // Merged by reference: the copies published are the only ones made.
            let workers = self.workers();
            let mut published = workers.iter().flatten().map(|(_, s)| s);
            published.next().cloned().map(|mut all| {
                published.for_each(|s| all.merge(s));
                all
            })
        };
        if let Some(stats) = merged {
            let mut results = Results::of(&stats, self.plan.as_deref());
            // A results file counts finished requests only (loading checks that they add up);
            // the ones in flight are in the next event.
            results.issued = stats.total();
            let json = results.to_json();
            self.send(Event::Progress(json.into()));
        }
    }

    /// Sends a results file to every page, now and to pages that connect later (a merge, a
    /// capacity search's latest step).
    pub fn show(&self, json: String) {
        self.send(Event::Progress(json.into()));
    }

    /// The run is over: pages get exactly its results file.
    pub fn finish(&self, json: String) {
        self.send(Event::Done(json.into()));
    }

    fn send(&self, event: Event) {
        self.events.send_replace(Some(event));
    }

    fn is_done(&self) -> bool {
        matches!(*self.events.borrow(), Some(Event::Done(_)))
    }

    /// A page connected: it reads events from here.
    pub fn watch(self: &Arc<Self>) -> Watcher {
        self.watching.fetch_add(1, Ordering::Relaxed);
        // Its first event should be fresh, not a second old.
        self.changed.store(true, Ordering::Relaxed);
        Watcher {
            feed: Arc::clone(self),
            events: self.events.subscribe(),
            counted: true,
            first: true,
        }
    }

    /// Pages still waiting for the final event.
    pub fn watching(&self) -> usize {
        self.watching.load(Ordering::Relaxed)
    }

    /// Waits (at most `limit`) until every connected page has been sent the final event.
    pub fn wait_delivered(&self, limit: Duration) {
        let until = Instant::now() + limit;
        while self.watching() > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One page's place in the feed.
#[derive(Debug)]
pub struct Watcher {
    feed: Arc<Feed>,
    events: watch::Receiver<Option<Event>>,
    counted: bool,
    /// The latest event, already sent when the page connected, is still to be read.
    first: bool,
}

impl Watcher {
    /// The next event: the latest one at once, then each new one; `None` after the final event.
    pub async fn next(&mut self) -> Option<Event> {
        if !self.counted {
            return None;
        }
        loop {
            if !std::mem::take(&mut self.first) && self.events.changed().await.is_err() {
                // The feed is gone; unreachable while the run holds it.
                self.release();
                return None;
            }
            let Some(event) = self.events.borrow_and_update().clone() else {
                continue;
            };
            if matches!(event, Event::Done(_)) {
                self.release();
            }
            return Some(event);
        }
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.counted) {
            self.feed.watching.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_carries_the_json_back_exactly() {
        let json = "{\n  \"a\": 1,\n\n  \"b\": \"x\"\n}";
        let frame = Event::Done(json.into()).frame();
        assert!(frame.starts_with("event: done\n"));
        assert!(frame.ends_with("\n\n"));
        let data: Vec<&str> = frame
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        assert_eq!(data.join("\n"), json);
    }

    #[test]
    fn nothing_is_copied_while_no_page_watches() {
        let feed = Arc::new(Feed::new(None, 1));
        feed.publish(0, &Stats::new(false));
        assert!(feed.workers()[0].is_none());
        let watcher = feed.watch();
        feed.publish(0, &Stats::new(false));
        assert!(feed.workers()[0].is_some());
        drop(watcher);
        assert_eq!(feed.watching(), 0);
    }
}
