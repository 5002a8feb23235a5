//! The lean HTTP/1.1 client for the hot path, because a load generator pays for every
//! instruction it spends per request: `encode` builds the request bytes once per template,
//! `head` parses a response head without a header map, `conn` runs the exchange and frames the
//! body (length, chunked, until close). This is what wrk does in C.

mod conn;
mod encode;
pub(crate) mod head;

use flak_core::{ErrorKind, RequestError};

pub use conn::H1Conn;
pub use encode::{encode_request, encode_request_with};

/// A response that is not HTTP/1.1 we can read: the request failed, the connection is not
/// reused.
pub(crate) fn protocol(what: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        ErrorKind::Protocol,
        format!("invalid HTTP response: {what}"),
    )
}
