//! What the scheduler needs from a front end to send one request. The CLI implements it with its
//! own lean HTTP/1.1 and HTTP/2 clients, the browser app with `fetch()`, tests with
//! [`crate::sim::ScriptedTransport`].
//!
//! A failed request is data, not an `Err`: it comes back as an [`Outcome::Error`] with a kind that
//! is counted.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::plan::RequestSpec;

/// One request, as the scheduler hands it to the transport.
#[derive(Debug)]
pub struct Request<'a> {
    /// Global index of the request in the run (over all shards).
    pub index: u64,
    /// Which of the plan's request templates this is.
    pub spec_index: usize,
    pub spec: &'a RequestSpec,
    /// The URL with template fields expanded.
    pub url: &'a str,
}

/// A response that came back, whatever its status.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Response {
    /// HTTP status; 0 for an opaque (no-cors) browser response.
    pub status: u16,
    /// Body bytes received.
    pub bytes: u64,
    /// Time to the first byte of the response, from the start of the request.
    pub ttfb: Option<Duration>,
    /// Time spent opening a new connection (TCP + TLS), when this request opened one.
    pub connect: Option<Duration>,
}

/// Why a request got no (complete) response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// No complete response within the request timeout.
    Timeout,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// Nothing listening: the connection was refused.
    ConnectRefused,
    /// The connection was reset by the peer.
    Reset,
    /// The server closed the connection before a complete response.
    Closed,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (e.g. a certificate that does not verify).
    Tls,
    /// The browser refused or failed the fetch (CORS, mixed content, offline): the browser does
    /// not say which.
    Network,
    /// The server answered with something that is not valid HTTP.
    Protocol,
    /// The response started but its body failed (wrong length, cut off).
    Body,
    /// Anything else.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 11] = [
        Self::Timeout,
        Self::ConnectTimeout,
        Self::ConnectRefused,
        Self::Reset,
        Self::Closed,
        Self::Dns,
        Self::Tls,
        Self::Network,
        Self::Protocol,
        Self::Body,
        Self::Other,
    ];

    /// The name used in reports and JSON (`connect_refused`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ConnectTimeout => "connect_timeout",
            Self::ConnectRefused => "connect_refused",
            Self::Reset => "reset",
            Self::Closed => "closed",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Network => "network",
            Self::Protocol => "protocol",
            Self::Body => "body",
            Self::Other => "other",
        }
    }

    pub fn is_timeout(self) -> bool {
        matches!(self, Self::Timeout | Self::ConnectTimeout)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed request: its kind and a readable message (the first of each kind is kept).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    pub kind: ErrorKind,
    pub message: String,
}

impl RequestError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Response),
    Error(RequestError),
}

/// Sends requests. One `Session` lives per in-flight slot, so a transport can keep one
/// connection per slot (what users expect from `-c`).
pub trait Transport {
    type Session;

    /// State for in-flight slot `slot` (e.g. its connection), created lazily by the scheduler.
    fn session(&self, slot: usize) -> Self::Session;

    /// Sends one request and waits for the whole response. Dropping the future abandons the
    /// request (timeout, stop): the transport must then not reuse a half-used connection.
    fn send(
        &self,
        session: &mut Self::Session,
        request: &Request<'_>,
    ) -> impl Future<Output = Outcome>;
}
