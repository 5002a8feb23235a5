//! flak's HTTP clients, lean for the hot path: `h1/` (HTTP/1.1), `h2/` (HTTP/2 with its frame
//! codec and HPACK), `h3/` (HTTP/3 over QUIC, on quinn and h3), `tls` (rustls settings), `connect` (DNS, TCP, TLS, ALPN), and `transport`,
//! which implements flak-core's `Transport` over them. No command-line types: the CLI fills a
//! [`TransportConfig`].
//!
//! A failed request is data, not an `Err` that ends a run: every error is a
//! [`RequestError`] with an [`ErrorKind`] the report counts.

mod connect;
#[cfg(feature = "fuzzing")]
pub mod fuzz_bridge;
pub mod h1;
pub mod h2;
pub mod h3;
mod stream;
mod target;
pub mod tls;
mod transport;

use std::time::Duration;

pub use connect::{Conn, Connector};
pub use flak_core::{ErrorKind, RequestError};
pub use target::Target;
pub use transport::{HttpTransport, Session, TransportConfig};

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
