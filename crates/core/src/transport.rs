//! What the scheduler needs from a front end to send one request. The CLI implements it with its
//! own lean HTTP/1.1 and HTTP/2 clients, the browser app with `fetch()`, tests with
//! [`crate::sim::ScriptedTransport`].
//!
//! A failed request is data, not an `Err`: it comes back as an [`Outcome::Error`] with a kind that
//! is counted.

use std::cell::{Ref, RefCell};
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
    /// Headers expanded for this request (a journey's `{var:…}` and `{data:…}` fields), sent
    /// after the spec's own fixed headers. Empty outside journeys.
    pub headers: &'a [(String, String)],
    /// A body expanded for this request, sent instead of the spec's.
    pub body: Option<&'a [u8]>,
    /// What of the response a journey's extractors and checks read; `None` on the fast path,
    /// where transports keep nothing.
    pub capture: Option<&'a Capture>,
}

impl<'a> Request<'a> {
    /// A request with nothing beyond its spec: no expanded headers or body, nothing captured.
    pub fn new(index: u64, spec_index: usize, spec: &'a RequestSpec, url: &'a str) -> Self {
        Self {
            index,
            spec_index,
            spec,
            url,
            headers: &[],
            body: None,
            capture: None,
        }
    }

    /// The body to send: the expanded one, else the spec's.
    pub fn body(&self) -> &'a [u8] {
        self.body.unwrap_or_else(|| self.spec.body.as_bytes())
    }
}

/// The most of a response body kept for extractors and checks; the rest is counted, not kept.
pub const CAPTURE_BODY_LIMIT: usize = 8 << 20;

/// What of a response to keep for a journey, and the place the transport keeps it. One lives
/// per slot and request of the journey, so buffers are reused from iteration to iteration.
///
/// A transport that is handed one calls [`Capture::clear`] before each exchange (a redirect's
/// response is not the one the step reads), offers every response header to
/// [`Capture::header`] and every body chunk to [`Capture::body`].
#[derive(Debug, Default)]
pub struct Capture {
    /// Response header names to keep, in lower case.
    headers: Vec<String>,
    /// Whether the body is read.
    body: bool,
    got: RefCell<Captured>,
}

/// What a transport kept of one response.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Captured {
    /// The wanted headers that came, as (lower-case name, value), in arrival order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, up to [`CAPTURE_BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
    /// True when the body was longer than the limit and cut there.
    pub truncated: bool,
}

impl Capture {
    /// Keeps these headers (any case) and, when `body`, the body.
    pub fn new(headers: impl IntoIterator<Item = impl AsRef<str>>, body: bool) -> Self {
        Self {
            headers: headers
                .into_iter()
                .map(|h| h.as_ref().to_ascii_lowercase())
                .collect(),
            body,
            got: RefCell::default(),
        }
    }

    /// Whether anything beyond the status is wanted.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && !self.body
    }

    /// The header names wanted, in lower case.
    pub fn header_names(&self) -> &[String] {
        &self.headers
    }

    /// Whether the body is wanted.
    pub fn wants_body(&self) -> bool {
        self.body
    }

    /// Whether a header of this name (any case) is wanted.
    pub fn wants_header(&self, name: &[u8]) -> bool {
        self.headers
            .iter()
            .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Forgets what the last exchange kept (buffers stay allocated).
    pub fn clear(&self) {
        let mut got = self.got.borrow_mut();
        got.headers.clear();
        got.body.clear();
        got.truncated = false;
    }

    /// Offers one response header; kept when wanted.
    pub fn header(&self, name: &[u8], value: &[u8]) {
        if self.wants_header(name) {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            self.got.borrow_mut().headers.push((name, value.to_vec()));
        }
    }

    /// Offers a chunk of the response body; kept when the body is wanted, up to the limit.
    pub fn body(&self, chunk: &[u8]) {
        if !self.body {
            return;
        }
        let mut got = self.got.borrow_mut();
        let room = CAPTURE_BODY_LIMIT.saturating_sub(got.body.len());
        if chunk.len() > room {
            got.truncated = true;
        }
        got.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// What was kept of the last response.
    pub fn got(&self) -> Ref<'_, Captured> {
        self.got.borrow()
    }
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

/// Whether a response with this status counts as succeeded: 2xx and 3xx, and 0 (an opaque
/// no-cors browser response, whose status the browser hides). Every count of successes and
/// failures uses this one rule.
pub fn is_success(status: u16) -> bool {
    (200..400).contains(&status) || status == 0
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
    /// A journey's check on the response failed (the response came, but not as asked).
    Check,
    /// A journey could not take a value it extracts from the response.
    Extract,
    /// Anything else.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 13] = [
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
        Self::Check,
        Self::Extract,
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
            Self::Check => "check",
            Self::Extract => "extract",
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
