//! What the browser did to the requests, from Resource Timing: the protocol it spoke
//! (`nextHopProtocol`) and per-phase times (queueing, connect, TTFB, download) when the server
//! sends `Timing-Allow-Origin`. Entries are folded into running sums as they arrive and the
//! buffer is cleared, so a long run never fills it and silently stops recording.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use web_sys::{
    PerformanceObserver, PerformanceObserverEntryList, PerformanceObserverInit,
    PerformanceResourceTiming,
};

use crate::state::{Honesty, Phases};

#[derive(Default)]
struct Sums {
    protocol: Option<String>,
    phases: Phases,
    hidden: bool,
}

type Observer = (
    PerformanceObserver,
    Closure<dyn FnMut(PerformanceObserverEntryList)>,
);

struct Inner {
    sums: RefCell<Sums>,
    observer: RefCell<Option<Observer>>,
}

/// Watches Resource Timing entries for one target while a run lasts.
#[derive(Clone)]
pub struct ResourceWatch(Rc<Inner>);

impl ResourceWatch {
    pub fn start(target_url: &str) -> Self {
        let inner = Rc::new(Inner {
            sums: RefCell::default(),
            observer: RefCell::default(),
        });
        let prefix = origin_of(target_url);
        let sink = Rc::downgrade(&inner);
        let callback = Closure::<dyn FnMut(PerformanceObserverEntryList)>::new(
            move |list: PerformanceObserverEntryList| {
                let Some(inner) = sink.upgrade() else { return };
                let mut sums = inner.sums.borrow_mut();
                for entry in list.get_entries().iter() {
                    let Ok(e) = entry.dyn_into::<PerformanceResourceTiming>() else {
                        continue;
                    };
                    if !e.name().starts_with(&prefix) {
                        continue;
                    }
                    let protocol = e.next_hop_protocol();
                    if !protocol.is_empty() {
                        sums.protocol = Some(protocol);
                    }
                    // Zero without Timing-Allow-Origin: no phases to add.
                    if e.request_start() > 0.0 && e.response_start() > 0.0 {
                        let connect = (e.connect_end() - e.connect_start()).max(0.0);
                        let p = &mut sums.phases;
                        p.samples += 1;
                        p.queueing += (e.request_start() - e.start_time() - connect).max(0.0);
                        p.connect += connect;
                        p.ttfb += (e.response_start() - e.request_start()).max(0.0);
                        p.download += (e.response_end() - e.response_start()).max(0.0);
                    }
                }
                drop(sums);
                super::performance().clear_resource_timings();
            },
        );
        if let Ok(observer) = PerformanceObserver::new(callback.as_ref().unchecked_ref()) {
            let init = PerformanceObserverInit::new(&js_sys::Array::of1(&"resource".into()));
            observer.observe(&init);
            *inner.observer.borrow_mut() = Some((observer, callback));
        }
        Self(inner)
    }

    /// The current picture (means of the phases so far).
    pub fn read(&self) -> Honesty {
        let window = super::window();
        let hidden = window.document().is_some_and(|d| d.hidden());
        let mut sums = self.0.sums.borrow_mut();
        sums.hidden |= hidden;
        let p = sums.phases;
        let n = p.samples as f64;
        let phases = (p.samples > 0).then(|| Phases {
            samples: p.samples,
            queueing: p.queueing / n,
            connect: p.connect / n,
            ttfb: p.ttfb / n,
            download: p.download / n,
        });
        Honesty {
            protocol: sums.protocol.clone(),
            cross_origin_isolated: cross_origin_isolated(),
            phases,
            hidden_during_run: sums.hidden,
        }
    }

    pub fn stop(&self) {
        if let Some((observer, _callback)) = self.0.observer.borrow_mut().take() {
            observer.disconnect();
        }
    }
}

/// `scheme://host:port` of a URL, to pick its entries out of the page's.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            url[..i + 3 + end].to_string()
        }
        None => url.to_string(),
    }
}

/// Whether the page can read precise timers: `crossOriginIsolated`.
pub fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&super::window(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
