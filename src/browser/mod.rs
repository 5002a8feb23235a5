//! Everything that talks to the browser: the fetch transport and clock the core scheduler runs
//! on, the run loop on the event loop, Resource Timing, files, storage and the clipboard, and
//! zlib for the results file's histograms.

pub mod clock;
pub mod drive;
pub mod fetch;
pub mod files;
pub mod run;
pub mod timing;
pub mod zlib;

/// The page's `window`; the app only runs in a window.
pub fn window() -> web_sys::Window {
    web_sys::window().expect("flak-web runs in a browser window")
}

/// `performance`, for the clock and Resource Timing.
pub fn performance() -> web_sys::Performance {
    window().performance().expect("the window has performance")
}
