//! The lean HTTP/2 client, the sibling of `h1/`: `frame` (frame headers and constants), `conn`
//! (one connection: streams, flow control, SETTINGS/PING/GOAWAY), `hpack` (header blocks).
//! Response header blocks go through the connection's HPACK decoder (dynamic table included),
//! and only `:status`, `content-length` and (for redirects) `location` are read, besides the
//! headers a journey's capture wants.

mod conn;
pub mod frame;
pub(crate) mod hpack;
#[cfg(test)]
mod tests;

use flak_core::{ErrorKind, RequestError};

pub use conn::{Ask, Failed, H2Conn};
pub use hpack::encode_request;

/// A response that breaks the protocol: the request failed, and the connection is not reused.
pub(crate) fn protocol(what: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        ErrorKind::Protocol,
        format!("invalid HTTP/2 response: {what}"),
    )
}
