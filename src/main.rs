//! The app's entry point, built by Trunk (see index.html), for the page and for the Web Worker
//! that runs the load (the same wasm module; the worker's script calls `worker_main`).

/// Mounts the app on the page. wasm-bindgen calls `main` when the module is initialised, in the
/// worker too, where there is no window and nothing to mount.
fn main() {
    #[cfg(target_arch = "wasm32")]
    if web_sys::window().is_some() {
        flak_web::start();
    }
}

/// The worker's entry point (scripts/finish-dist.mjs writes the script that calls it).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn worker_main() {
    flak_web::browser::worker::main();
}
