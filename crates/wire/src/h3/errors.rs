//! What QUIC and h3 failures count as, in the kinds HTTP/1.1 and HTTP/2 use: a handshake
//! refused over the certificate is `tls`, no answer `connect_timeout`, a connection the peer
//! closed `closed` (or `reset`), a stream the peer reset `reset`.

use std::net::SocketAddr;

use flak_core::{ErrorKind, RequestError};
use h3::error::{ConnectionError, StreamError};
use h3::quic::ConnectionErrorIncoming;

/// QUIC's transport error codes for TLS alerts (RFC 9001 §4.8).
fn is_crypto(code: quinn::TransportErrorCode) -> bool {
    (0x100..=0x1ff).contains(&u64::from(code))
}

fn quic_kind(e: &quinn::ConnectionError) -> ErrorKind {
    use quinn::ConnectionError as C;
    match e {
        C::TransportError(t) if is_crypto(t.code) => ErrorKind::Tls,
        C::ConnectionClosed(c) if is_crypto(c.error_code) => ErrorKind::Tls,
        C::TransportError(_) | C::VersionMismatch => ErrorKind::Protocol,
        C::TimedOut => ErrorKind::Timeout,
        C::Reset => ErrorKind::Reset,
        _ => ErrorKind::Closed,
    }
}

/// A QUIC handshake that failed.
pub(super) fn quic_error(e: &quinn::ConnectionError, addr: SocketAddr) -> RequestError {
    let kind = match quic_kind(e) {
        // Nothing answered: over UDP a closed port looks like this too.
        ErrorKind::Timeout => ErrorKind::ConnectTimeout,
        kind => kind,
    };
    let what = if kind == ErrorKind::Tls {
        "QUIC TLS handshake"
    } else {
        "QUIC handshake"
    };
    RequestError::new(kind, format!("{what} with {addr} failed: {e}"))
}

fn connection_kind(e: &ConnectionError) -> ErrorKind {
    match e {
        ConnectionError::Remote {
            0: ConnectionErrorIncoming::Undefined(inner),
            ..
        } => inner
            .downcast_ref::<quinn::ConnectionError>()
            .map_or(ErrorKind::Closed, quic_kind),
        ConnectionError::Remote {
            0: ConnectionErrorIncoming::Timeout,
            ..
        }
        | ConnectionError::Timeout { .. } => ErrorKind::Timeout,
        _ => ErrorKind::Closed,
    }
}

/// A request, its response or its body that failed.
pub(super) fn stream_error(e: &StreamError) -> RequestError {
    let kind = match e {
        StreamError::RemoteTerminate { .. } => ErrorKind::Reset,
        StreamError::ConnectionError { 0: c, .. } => connection_kind(c),
        StreamError::RemoteClosing { .. } => ErrorKind::Closed,
        StreamError::StreamError { .. } | StreamError::HeaderTooBig { .. } => ErrorKind::Protocol,
        _ => ErrorKind::Other,
    };
    RequestError::new(kind, format!("HTTP/3: {e}"))
}

/// An h3 connection that could not be set up after the QUIC handshake.
pub(super) fn connection_error(e: &ConnectionError) -> RequestError {
    RequestError::new(connection_kind(e), format!("HTTP/3 connection: {e}"))
}

/// Whether the connection is done for after this error, so its group opens a new one.
pub(super) fn ends_connection(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Closed | ErrorKind::Timeout | ErrorKind::Protocol | ErrorKind::Tls
    )
}
