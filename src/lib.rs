//! flak-web: the browser front end. A Yew single-page app that runs the core scheduler with
//! `fetch()` in a Web Worker (on the page's event loop when it cannot), and draws what comes
//! back.
//!
//! `model` and `snapshot` are pure (tested natively); `browser` talks to the page and knows
//! nothing of the model; `components` draw the model; `app` wires them together, with `share`
//! for the report page, `?results=URL` and "Export HTML".

pub mod app;
pub mod browser;
pub mod components;
pub mod model;
pub mod share;
pub mod snapshot;

/// talc instead of std's dlmalloc: smaller in the bundle, and the page has one thread.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Mounts the app on the page's body.
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
