//! The `flak` binary's integration tests, one test binary (built and linked once) with a module
//! per subject. Every run is bounded by a request count or a duration and by a wall-clock limit;
//! all traffic goes to 127.0.0.1 or network namespaces the tests create.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod capacity;
mod cli;
mod compare;
mod connect;
mod deploy;
mod faults;
mod http3;
mod import;
mod journey;
mod metrics;
mod multiplexing;
mod netns;
mod otlp;
mod protocols;
mod redirects;
mod scenario;
mod server_quirks;
mod stages;
mod target_journey;
mod tui;
mod ui;
