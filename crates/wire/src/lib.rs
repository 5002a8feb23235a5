//! flak's HTTP clients, lean for the hot path: `h1/` (HTTP/1.1), `h2/` (HTTP/2 with its frame
//! codec and HPACK), `h3/` (HTTP/3 over QUIC, on quinn and h3), `tls` (rustls settings), `connect` (DNS, TCP, TLS, ALPN), `route` (`--connect-to`, unix socket, proxy, IP family, the pre-run DNS lookup), `proxy` (CONNECT tunnels, absolute form), and `transport`,
//! which implements flak-core's `Transport` over them. No command-line types: the CLI fills a
//! [`TransportConfig`].
//!
//! A failed request is data, not an `Err` that ends a run: every error is a
//! [`RequestError`] with an [`ErrorKind`] the report counts.

mod budget;
mod connect;
#[cfg(feature = "fuzzing")]
pub mod fuzz_bridge;
pub mod h1;
pub mod h2;
pub mod h3;
#[cfg(test)]
mod journey_tests;
mod proxy;
pub mod route;
mod stream;
mod target;
pub mod tls;
mod transport;

use std::time::Duration;

pub use connect::{Conn, Connector};
pub use flak_core::{ErrorKind, RequestError};
pub use route::{ConnectTo, Family, Proxy, Route};
pub use target::Target;
pub use tls::TlsOptions;
pub use transport::{HttpTransport, Session, TransportConfig};

/// Whether a failed request may have been acted on by the server, which decides whether it may
/// be sent again (RFC 9113 §8.7; RFC 9110 §9.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unprocessed {
    /// The server may have acted on it.
    No,
    /// The server says it did not (REFUSED_STREAM, above a GOAWAY's last stream id): any
    /// method may go again.
    Certainly,
    /// Nothing of the response came back before the connection closed: an idempotent request
    /// on a reused connection may go again, as browsers do.
    Maybe,
}

/// The `User-Agent` flak sends unless a request names its own.
pub const USER_AGENT: &str = concat!("flak/", env!("CARGO_PKG_VERSION"));

/// What came back from one exchange, over either protocol: status, body bytes, time to the
/// final response head, and the Location header when asked for.
#[derive(Debug)]
pub struct Exchanged {
    pub status: u16,
    pub bytes: u64,
    pub ttfb: Duration,
    pub location: Option<String>,
}
