//! flak-core's `Transport` over the lean clients, kept alive between requests: HTTP/1.1 through
//! `h1/`, one connection per in-flight slot (what `-c` means to users of wrk, hey and oha);
//! HTTP/2 on request through `h2/` (ALPN over TLS, prior knowledge over plain TCP), where each
//! group of `http2_parallel` slots shares one connection, a stream per slot (oha's `-p`,
//! h2load's `-m`). Redirects are followed up to a limit; a request the server never processed
//! is sent once more (see [`Unprocessed`]).
//!
//! What does not change between requests (method, headers, body, parsed target, the encoded
//! HTTP/1.1 request, the HTTP/2 header block) is prepared once per request template. A
//! journey's request with expanded headers or body is encoded per request instead, and one
//! with a capture keeps what it asks of the final response (not of a redirect's).

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flak_core::{
    ConnectionStats, ErrorKind, Outcome, Request, RequestError, RequestSpec, Response, Transport,
};
use http::Method;
use http::header::{self, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};

use crate::connect::{Conn, Connector, Sender};
use crate::h1::{encode_request, encode_request_with};
use crate::h2::{Failed, H2Conn};
use crate::stream::Stream;
use crate::target::{Target, is_redirect};
use crate::{Exchanged, USER_AGENT, Unprocessed, h2};

/// Transport settings from the command line.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub http2: bool,
    /// HTTP/2 streams in flight per connection: this many slots share one connection.
    pub http2_parallel: u32,
    /// Speak HTTP/3 over QUIC (`h3/`); https URLs only.
    pub http3: bool,
    pub insecure: bool,
    pub keepalive: bool,
    pub connect_timeout: Option<Duration>,
    pub redirects: u32,
    /// `--cacert`, `--cert`/`--key`, `--sni`.
    pub tls_options: crate::tls::TlsOptions,
    /// `--connect-to`, `--unix-socket`, `--proxy`, `-4`/`-6`, and the pre-run DNS lookup.
    pub route: crate::route::Route,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            http2: false,
            http2_parallel: 1,
            http3: false,
            insecure: false,
            keepalive: true,
            connect_timeout: None,
            redirects: 0,
            tls_options: crate::TlsOptions::default(),
            route: crate::Route::default(),
        }
    }
}

impl TransportConfig {
    /// The rustls configuration for this run's https connections.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        crate::tls::client_config(self.insecure, self.http2, &self.tls_options)
    }
}

/// A request template, prepared once.
struct Prepared {
    method: Method,
    headers: HeaderMap,
    /// The template's own headers, for encoding HTTP/1.1 requests.
    raw_headers: Vec<(String, String)>,
    body: Bytes,
    target: Option<Target>,
    /// The whole HTTP/1.1 request, for fixed URLs.
    h1_request: Option<Vec<u8>>,
    /// The HTTP/2 header block, for fixed URLs.
    h2_block: Option<Vec<u8>>,
}

/// A kept-alive connection idle longer than this is checked before reuse: servers close idle
/// connections (keepalive_timeout), and a request sent into a closing connection would fail
/// for no fault of the server's.
const IDLE_CHECK: Duration = Duration::from_millis(50);

/// Per-slot state: its connection, whether a request on it was abandoned half-way, and a
/// buffer for encoding requests whose URL changes per request.
#[derive(Default)]
pub struct Session {
    conn: Option<Conn>,
    /// Which group of slots this one shares HTTP/2 connections with.
    group: usize,
    busy: bool,
    scratch: Vec<u8>,
    /// When the last exchange on `conn` ended.
    idle_since: Option<Instant>,
    /// Exchanges completed on `conn` (an HTTP/1.1 connection is the slot's own).
    used: u64,
    /// The slot's HTTP/3 state, in `--http3` runs.
    h3: Option<crate::h3::H3Slot>,
}

/// The HTTP/2 connections a group of slots shares, one per target (scheme, host and port).
#[derive(Default)]
struct Group {
    conns: Vec<(String, Rc<H2Conn<Stream>>)>,
    /// A connection is being opened for the group: the others wait for it rather than open
    /// their own.
    connecting: bool,
    waiting: Vec<Waker>,
    /// Targets that answered ALPN with HTTP/1.1 only: each slot keeps its own connection.
    h1_only: Vec<String>,
}

/// flak-core's [`Transport`] over the lean clients.
pub struct HttpTransport {
    config: TransportConfig,
    connector: Connector,
    prepared: Vec<Prepared>,
    groups: RefCell<Vec<Group>>,
    counters: RefCell<ConnectionStats>,
    /// Set in `--http3` runs, which go through it alone.
    h3: Option<crate::h3::H3Client>,
}

/// Clears a group's `connecting` mark however the opening ends (done, failed, or abandoned by a
/// timeout), and lets the waiting slots look again.
struct Opening<'a> {
    groups: &'a RefCell<Vec<Group>>,
    group: usize,
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        let mut groups = self.groups.borrow_mut();
        let group = &mut groups[self.group];
        group.connecting = false;
        for waker in group.waiting.drain(..) {
            waker.wake();
        }
    }
}

/// Methods a client may send again when it cannot know whether the server acted on them
/// (RFC 9110 §9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Whether an HTTP/1.1 error came before any byte of the response.
fn h1_unprocessed(e: &RequestError) -> Unprocessed {
    let early = match e.kind {
        ErrorKind::Closed => e.message == "connection closed before the response",
        ErrorKind::Reset => e.message.starts_with("sending the request"),
        _ => false,
    };
    if early {
        Unprocessed::Maybe
    } else {
        Unprocessed::No
    }
}

/// What a slot does for a connection its group may share.
enum Shared {
    /// The session now has the group's connection.
    Found,
    /// The server speaks HTTP/1.1 only: the slot opens its own.
    OwnConnection,
    /// No connection yet: this slot opens it for the group.
    Open,
    /// Another slot is opening it.
    Wait,
}

/// What one exchange gave the redirect loop.
struct Hop {
    status: u16,
    location: Option<String>,
    bytes: u64,
}

impl HttpTransport {
    /// Prepares the templates; fails only on a header, method or URL that cannot be sent (the
    /// plan has validated them already).
    pub fn new(
        config: TransportConfig,
        tls_config: Option<Arc<rustls::ClientConfig>>,
        specs: &[RequestSpec],
    ) -> Result<Self, RequestError> {
        let prepared = specs
            .iter()
            .map(|spec| {
                let mut headers = HeaderMap::new();
                headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
                for (name, value) in &spec.headers {
                    let bad = |e: &dyn std::fmt::Display| {
                        RequestError::new(ErrorKind::Other, format!("header {name:?}: {e}"))
                    };
                    headers.insert(
                        HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?,
                        HeaderValue::from_str(value).map_err(|e| bad(&e))?,
                    );
                }
                let target = if spec.url.is_fixed() {
                    Some(Target::parse(spec.url.as_str())?)
                } else {
                    None
                };
                let h1_request = target.as_ref().map(|t| {
                    let mut out = Vec::new();
                    encode_request(
                        &mut out,
                        &spec.method,
                        t.path(),
                        t.host_header(),
                        &spec.headers,
                        spec.body.as_bytes(),
                        USER_AGENT,
                    );
                    config.proxy_form(&mut out, t);
                    out
                });
                let method = Method::from_bytes(spec.method.as_bytes()).map_err(|e| {
                    RequestError::new(ErrorKind::Other, format!("method {:?}: {e}", spec.method))
                })?;
                // Only `--http2` runs speak HTTP/2; the others never need the block.
                let h2_block = target.as_ref().filter(|_| config.http2).map(|t| {
                    let mut out = Vec::new();
                    let plain = Request::new(0, 0, spec, spec.url.as_str());
                    encode_h2(
                        &mut out,
                        &method,
                        t,
                        &headers,
                        &plain,
                        spec.body.as_bytes().len(),
                    );
                    out
                });
                Ok(Prepared {
                    method,
                    headers,
                    raw_headers: spec.headers.clone(),
                    body: Bytes::copy_from_slice(spec.body.as_bytes()),
                    target,
                    h1_request,
                    h2_block,
                })
            })
            .collect::<Result<Vec<_>, RequestError>>()?;
        let asked = if config.http3 {
            "h3"
        } else if config.http2 {
            "h2"
        } else {
            "http/1.1"
        };
        // Slots share QUIC connections in groups of `http2_parallel`, as HTTP/2 ones.
        let h3 = config
            .http3
            .then(|| {
                crate::h3::H3Client::new(
                    specs,
                    config.insecure,
                    &config.tls_options,
                    config.keepalive,
                    config.connect_timeout,
                    config.redirects,
                    config.http2_parallel.max(1) as usize,
                )
            })
            .transpose()?;
        Ok(Self {
            h3,
            connector: Connector::new(tls_config, &config),
            config,
            prepared,
            groups: RefCell::default(),
            counters: RefCell::new(ConnectionStats {
                asked: Some(asked.to_string()),
                ..ConnectionStats::default()
            }),
        })
    }

    /// What the connections did so far on this worker.
    pub fn connection_stats(&self) -> ConnectionStats {
        let mut stats = self.counters.borrow().clone();
        if let Some(h3) = &self.h3 {
            let asked = stats.asked.take();
            stats.merge(&h3.connection_stats());
            stats.asked = asked;
        }
        stats
    }

    /// One request/response exchange, on the session's connection or a new one; a request the
    /// server never processed goes once more.
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        session: &mut Session,
        prepared: &Prepared,
        request: &Request<'_>,
        method: &Method,
        target: &Target,
        started: Instant,
        timing: &mut Response,
    ) -> Result<Hop, RequestError> {
        let mut retried = false;
        // A connection that turns unusable between being found and used is replaced; bounded,
        // so a server that refuses every connection cannot keep the request here.
        let mut replaced = 0;
        loop {
            let idle_long = session.idle_since.is_some_and(|t| t.elapsed() > IDLE_CHECK);
            let reusable = session
                .conn
                .as_ref()
                .is_some_and(|conn| conn.key == target.key && conn.is_reusable(idle_long));
            if !reusable {
                session.conn = None;
                self.connection(session, target, timing).await?;
            }
            let (result, reused) = self
                .exchange_on(session, prepared, request, method, target, started)
                .await;
            session.idle_since = Some(Instant::now());
            let (error, unprocessed) = match result {
                Ok(hop) => {
                    session.used += 1;
                    return Ok(hop);
                }
                Err(Failed::Unusable) if replaced < 3 => {
                    replaced += 1;
                    session.conn = None;
                    continue;
                }
                Err(Failed::Unusable) => {
                    return Err(RequestError::new(
                        ErrorKind::Closed,
                        "request: every connection opened was closing",
                    ));
                }
                Err(Failed::Error(e, unprocessed)) => (e, unprocessed),
            };
            let again = !retried
                && match unprocessed {
                    Unprocessed::Certainly => true,
                    Unprocessed::Maybe => reused && idempotent(method),
                    Unprocessed::No => false,
                };
            if again {
                retried = true;
                self.counters.borrow_mut().retries += 1;
                session.conn = None;
                continue;
            }
            return Err(error);
        }
    }

    /// Sends on the session's connection; also says whether the connection had served a
    /// request before (a request lost on a reused connection may go again).
    async fn exchange_on(
        &self,
        session: &mut Session,
        prepared: &Prepared,
        request: &Request<'_>,
        method: &Method,
        target: &Target,
        started: Instant,
    ) -> (Result<Hop, Failed>, bool) {
        let conn = session
            .conn
            .as_mut()
            .expect("connected before the exchange");
        // The pre-encoded request fits when the target is the template's own (not a redirect),
        // the method unchanged and nothing expanded for this request (a journey's headers or
        // body); a redirect that turned the method into GET drops the body.
        let same_method = *method == prepared.method;
        let fixed = same_method
            && prepared
                .target
                .as_ref()
                .is_some_and(|t| std::ptr::eq(t, target))
            && request.headers.is_empty()
            && request.body.is_none();
        let body: &[u8] = if same_method {
            request.body.unwrap_or(&prepared.body)
        } else {
            &[]
        };
        let head_request = *method == Method::HEAD;
        let want_location = self.config.redirects > 0;
        match &mut conn.sender {
            Sender::H1(h1) => {
                let bytes: &[u8] = match prepared.h1_request.as_deref().filter(|_| fixed) {
                    Some(bytes) => bytes,
                    None => {
                        encode_request_with(
                            &mut session.scratch,
                            method.as_str(),
                            target.path(),
                            target.host_header(),
                            [&prepared.raw_headers, request.headers],
                            body,
                            USER_AGENT,
                        );
                        self.config.proxy_form(&mut session.scratch, target);
                        &session.scratch
                    }
                };
                let result = h1
                    .exchange(bytes, head_request, want_location, started, request.capture)
                    .await;
                let reused = session.used > 0;
                if !(h1.is_reusable() && result.is_ok()) {
                    session.conn = None;
                }
                let result = result.map_err(|e| {
                    let unprocessed = h1_unprocessed(&e);
                    Failed::Error(e, unprocessed)
                });
                (result.map(hop), reused)
            }
            Sender::H2(h2) => {
                let h2 = Rc::clone(h2);
                let block: &[u8] = match prepared.h2_block.as_deref().filter(|_| fixed) {
                    Some(block) => block,
                    None => {
                        encode_h2(
                            &mut session.scratch,
                            method,
                            target,
                            &prepared.headers,
                            request,
                            body.len(),
                        );
                        &session.scratch
                    }
                };
                let ask = h2::Ask {
                    block,
                    body,
                    head_request,
                    want_location,
                    started,
                    capture: request.capture,
                };
                let reused = h2.completed() > 0;
                let mut waited = Duration::ZERO;
                let result = h2.exchange(ask, &mut waited).await;
                {
                    let mut counters = self.counters.borrow_mut();
                    if !waited.is_zero() {
                        counters.record_wait(waited.as_micros() as u64);
                    }
                    counters.peak_streams = counters.peak_streams.max(u64::from(h2.peak()));
                }
                if !h2.is_reusable() {
                    session.conn = None;
                }
                (result.map(hop), reused)
            }
        }
    }

    /// Gives the session a connection to `target`: its own for HTTP/1.1, its group's shared
    /// one for HTTP/2 (opened by the first slot that needs it while the others wait).
    async fn connection(
        &self,
        session: &mut Session,
        target: &Target,
        timing: &mut Response,
    ) -> Result<(), RequestError> {
        if !self.config.http2 || !self.config.keepalive {
            return self.reconnect(session, target, timing).await;
        }
        let group = session.group;
        loop {
            match self.shared(session, target) {
                Shared::Found => return Ok(()),
                Shared::OwnConnection => break,
                Shared::Open => return self.open_shared(session, target, timing).await,
                Shared::Wait => {}
            }
            std::future::poll_fn(|cx| {
                let mut groups = self.groups.borrow_mut();
                let g = &mut groups[group];
                if g.connecting {
                    g.waiting.push(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
        }
        self.reconnect(session, target, timing).await
    }

    /// Looks for the group's connection to `target`, and says what to do when there is none.
    fn shared(&self, session: &mut Session, target: &Target) -> Shared {
        let mut groups = self.groups.borrow_mut();
        if groups.len() <= session.group {
            groups.resize_with(session.group + 1, Group::default);
        }
        let g = &mut groups[session.group];
        g.conns.retain(|(_, c)| c.is_reusable());
        if let Some((_, c)) = g.conns.iter().find(|(key, _)| *key == target.key) {
            session.conn = Some(Conn {
                key: target.key.clone(),
                sender: Sender::H2(Rc::clone(c)),
            });
            session.used = 0;
            Shared::Found
        } else if g.h1_only.contains(&target.key) {
            Shared::OwnConnection
        } else if g.connecting {
            Shared::Wait
        } else {
            g.connecting = true;
            Shared::Open
        }
    }

    /// Opens the connection a group will share.
    async fn open_shared(
        &self,
        session: &mut Session,
        target: &Target,
        timing: &mut Response,
    ) -> Result<(), RequestError> {
        let opening = Opening {
            groups: &self.groups,
            group: session.group,
        };
        self.reconnect(session, target, timing).await?;
        let mut groups = self.groups.borrow_mut();
        let g = &mut groups[opening.group];
        match session.conn.as_ref().map(|c| &c.sender) {
            Some(Sender::H2(c)) => g.conns.push((target.key.clone(), Rc::clone(c))),
            _ => g.h1_only.push(target.key.clone()),
        }
        drop(groups);
        drop(opening);
        Ok(())
    }

    async fn reconnect(
        &self,
        session: &mut Session,
        target: &Target,
        timing: &mut Response,
    ) -> Result<(), RequestError> {
        session.conn = None;
        session.used = 0;
        let begin = Instant::now();
        let conn = self.connector.connect(target).await?;
        timing.connect = Some(begin.elapsed());
        let protocol = match conn.sender {
            Sender::H1(_) => "http/1.1",
            Sender::H2(_) => "h2",
        };
        self.counters.borrow_mut().record_open(protocol);
        session.conn = Some(conn);
        Ok(())
    }
}

fn hop(e: Exchanged) -> Hop {
    Hop {
        status: e.status,
        location: e.location,
        bytes: e.bytes,
    }
}

/// Connection-specific headers, which HTTP/2 forbids (RFC 9113 §8.2.2); dropped as hyper does.
const CONNECTION_HEADERS: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Whether HTTP/2 sends a header (RFC 9113 §8.2.2: no connection-specific ones, `te` only as
/// `trailers`).
fn h2_sendable(name: &str, value: &[u8]) -> bool {
    !CONNECTION_HEADERS.contains(&name) && (name != "te" || value == b"trailers")
}

/// Encodes an HTTP/2 request header block: the template's headers, then those `request`
/// expanded (names in lower case, as HTTP/2 requires), without connection-specific ones, and
/// `content-length` when the body is not empty or the method defines a body (what hyper
/// sends). An expanded body always gets its own length. Out of line: the fast path sends the
/// block prepared once, and this code in the exchange kept it from being inlined into `send`.
#[inline(never)]
fn encode_h2(
    out: &mut Vec<u8>,
    method: &Method,
    target: &Target,
    headers: &HeaderMap,
    request: &Request<'_>,
    body: usize,
) {
    let expanded_body = request.body.is_some();
    let length = (body != 0
        || !matches!(
            *method,
            Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
        ))
    .then(|| body.to_string())
    .filter(|_| expanded_body || !headers.contains_key(CONTENT_LENGTH));
    let kept = headers.iter().filter(|(name, value)| {
        h2_sendable(name.as_str(), value.as_bytes()) && !(expanded_body && *name == CONTENT_LENGTH)
    });
    // Empty outside journeys: no allocation.
    let expanded: Vec<(String, &[u8])> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes()))
        .filter(|(name, value)| h2_sendable(name, value) && name != "content-length")
        .collect();
    h2::encode_request(
        out,
        method.as_str(),
        target.https,
        target.host_header(),
        target.path(),
        kept.map(|(name, value)| (name.as_str(), value.as_bytes()))
            .chain(expanded.iter().map(|(name, value)| (name.as_str(), *value)))
            .chain(length.as_deref().map(|l| ("content-length", l.as_bytes()))),
    );
}

impl Transport for HttpTransport {
    type Session = Session;

    fn session(&self, slot: usize) -> Session {
        Session {
            group: slot / self.config.http2_parallel.max(1) as usize,
            h3: self.h3.as_ref().map(|h3| h3.slot(slot)),
            ..Session::default()
        }
    }

    async fn send(&self, session: &mut Session, request: &Request<'_>) -> Outcome {
        if let (Some(h3), Some(slot)) = (&self.h3, &mut session.h3) {
            return h3.send(slot, request).await;
        }
        let started = Instant::now();
        let prepared = &self.prepared[request.spec_index];
        if session.busy
            && matches!(
                session.conn.as_ref().map(|c| &c.sender),
                Some(Sender::H1(_))
            )
        {
            // The last request on this connection was abandoned mid-flight (timeout, stop):
            // its response may still arrive, so the connection cannot be trusted. (An HTTP/2
            // stream abandoned so is reset, and its connection lives on.)
            session.conn = None;
        }
        // Fixed URLs were parsed once; only templates and redirects make a new target.
        let mut target = match Target::of(prepared.target.as_ref(), request.url) {
            Ok(t) => t,
            Err(e) => return Outcome::Error(e),
        };
        let mut method = prepared.method.clone();
        let mut timing = Response::default();
        let mut hops = 0;
        session.busy = true;
        let result = loop {
            let hop = match self
                .exchange(
                    session,
                    prepared,
                    request,
                    &method,
                    &target,
                    started,
                    &mut timing,
                )
                .await
            {
                Ok(hop) => hop,
                Err(e) => break Err(e),
            };
            match hop.location {
                Some(location) if is_redirect(hop.status) && hops < self.config.redirects => {
                    hops += 1;
                    self.counters.borrow_mut().redirect_bytes += hop.bytes;
                    match target.follow(hop.status, &location, &mut method) {
                        Ok(t) => target = Cow::Owned(t),
                        Err(e) => break Err(e),
                    }
                }
                _ => {
                    timing.bytes = hop.bytes;
                    break Ok(hop.status);
                }
            }
        };
        session.busy = false;
        // A proxy may close a client connection after any response without saying so
        // (tinyproxy does after every one), and the next request would race its close: plain
        // http through a proxy uses each connection once.
        if !self.config.keepalive
            || self
                .config
                .route
                .is_absolute_form(&target, self.config.http2)
        {
            session.conn = None;
        }
        match result {
            Ok(status) => Outcome::Response(Response { status, ..timing }),
            Err(e) => Outcome::Error(e),
        }
    }
}
