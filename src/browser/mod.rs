//! Everything that talks to the browser: the fetch transport and clock the core scheduler runs
//! on, the run loop on the event loop, Resource Timing, files, storage and the clipboard, files
//! by URL (`remote`), and zlib for the results file's histograms.
//!
//! These adapters take plain values and their own small types, never the page's model or its
//! components: the model maps its types onto theirs, so the adapters can be read, tested and
//! changed without the page.

pub mod clock;
pub mod drive;
pub mod fetch;
pub mod files;
pub mod live;
pub mod remote;
pub mod run;
pub mod timing;
pub mod zlib;

use wasm_bindgen::{JsCast as _, JsValue};

/// The page's `window`; the app only runs in a window.
pub fn window() -> web_sys::Window {
    web_sys::window().expect("flak-web runs in a browser window")
}

/// `performance`, for the clock and Resource Timing.
pub fn performance() -> web_sys::Performance {
    window().performance().expect("the window has performance")
}

/// A thrown JS value as a person reads it: `Name: message` for an `Error`.
pub fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| format!("{}: {}", err.name(), err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
