//! flak-web: the browser front end. A Yew single-page app that runs the core scheduler on the
//! page's event loop with `fetch()`, and draws what comes back.

mod app;
mod browser;
mod components;
mod config;
mod snapshot;
mod state;

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<app::App>::new().render();
}
