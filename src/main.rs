//! flak-web: the browser front end (placeholder until the app lands).
fn main() {}
