//! The app's entry point, built by Trunk (see index.html).
fn main() {
    #[cfg(target_arch = "wasm32")]
    flak_web::start();
}
