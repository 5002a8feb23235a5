//! Everything that talks to the browser: the fetch transport and clock the core scheduler runs
//! on, the run loop on an event loop (a Web Worker's, or the page's as a fallback), the page's
//! side of a run in the worker, Resource Timing, files, storage and the clipboard, files by URL
//! (`remote`), and zlib for the results file's histograms.
//!
//! These adapters take plain values and their own small types, never the page's model or its
//! components: the model maps its types onto theirs, so the adapters can be read, tested and
//! changed without the page.

pub mod clock;
pub mod drive;
pub mod engine;
pub mod fetch;
pub mod files;
pub mod live;
pub mod remote;
pub mod run;
pub mod timing;
pub mod worker;
pub mod zlib;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast as _, JsValue};

/// The page's `window`; only the page's code calls this (the run path also runs in a worker,
/// and reaches what it needs through the global scope instead).
pub fn window() -> web_sys::Window {
    web_sys::window().expect("flak-web's page runs in a browser window")
}

/// `performance` of the global scope (a window's or a worker's), for the clock and Resource
/// Timing.
pub fn performance() -> web_sys::Performance {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .expect("every browser global scope has performance")
        .unchecked_into()
}

// The timer functions of whichever global scope the code runs in: both a window and a worker
// have them, so the run path needs neither.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> i32;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: i32);
}

/// A thrown JS value as a person reads it: `Name: message` for an `Error`.
pub fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| format!("{}: {}", err.name(), err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
