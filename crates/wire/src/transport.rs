//! flak-core's `Transport` over the lean clients, one connection per in-flight slot (what `-c`
//! means to users of wrk, hey and oha), kept alive between requests: HTTP/1.1 through `h1/`,
//! HTTP/2 on request through `h2/` (ALPN over TLS, prior knowledge over plain TCP), redirects
//! followed up to a limit.
//!
//! What does not change between requests (method, headers, body, parsed target, the encoded
//! HTTP/1.1 request, the HTTP/2 header block) is prepared once per request template.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flak_core::{ErrorKind, Outcome, Request, RequestError, RequestSpec, Response, Transport};
use http::Method;
use http::header::{self, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};

use crate::connect::{Conn, Connector, Sender};
use crate::h1::encode_request;
use crate::target::Target;
use crate::{USER_AGENT, h2};

/// Transport settings from the command line.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub http2: bool,
    /// Speak HTTP/3 over QUIC (`h3/`); https URLs only.
    pub http3: bool,
    pub insecure: bool,
    pub keepalive: bool,
    pub connect_timeout: Option<Duration>,
    pub redirects: u32,
}

impl TransportConfig {
    /// The rustls configuration for this run's https connections.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        crate::tls::client_config(self.insecure, self.http2)
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
    busy: bool,
    scratch: Vec<u8>,
    /// When the last exchange on `conn` ended.
    idle_since: Option<Instant>,
    /// The slot's HTTP/3 state, in `--http3` runs.
    h3: Option<crate::h3::H3Slot>,
}

/// flak-core's [`Transport`] over the lean clients: one connection per in-flight slot.
pub struct HttpTransport {
    config: TransportConfig,
    connector: Connector,
    prepared: Vec<Prepared>,
    /// Set in `--http3` runs, which go through it alone.
    h3: Option<crate::h3::H3Client>,
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
                    out
                });
                let method = Method::from_bytes(spec.method.as_bytes()).map_err(|e| {
                    RequestError::new(ErrorKind::Other, format!("method {:?}: {e}", spec.method))
                })?;
                // Only `--http2` runs speak HTTP/2; the others never need the block.
                let h2_block = target.as_ref().filter(|_| config.http2).map(|t| {
                    let mut out = Vec::new();
                    encode_h2(&mut out, &method, t, &headers, spec.body.as_bytes().len());
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
        // One connection per slot until HTTP/3 shares the HTTP/2 streams-per-connection setting.
        let h3 = config
            .http3
            .then(|| {
                crate::h3::H3Client::new(
                    specs,
                    config.insecure,
                    config.keepalive,
                    config.connect_timeout,
                    config.redirects,
                    1,
                )
            })
            .transpose()?;
        Ok(Self {
            h3,
            connector: Connector::new(tls_config, config.http2, config.connect_timeout),
            config,
            prepared,
        })
    }

    /// One request/response exchange on the session's connection, opening one if needed.
    async fn exchange(
        &self,
        session: &mut Session,
        prepared: &Prepared,
        method: &Method,
        target: &Target,
        started: Instant,
        timing: &mut Response,
    ) -> Result<(u16, Option<String>), RequestError> {
        let idle_long = session.idle_since.is_some_and(|t| t.elapsed() > IDLE_CHECK);
        let reusable = session
            .conn
            .as_ref()
            .is_some_and(|conn| conn.key == target.key && conn.is_reusable(idle_long));
        if !reusable {
            self.reconnect(session, target, timing).await?;
        }
        let result = async {
            let conn = session
                .conn
                .as_mut()
                .expect("connected before the exchange");
            // The pre-encoded request fits when the target is the template's own (not a redirect)
            // and the method unchanged; a redirect that turned the method into GET drops the body.
            let same_method = *method == prepared.method;
            let fixed = same_method
                && prepared
                    .target
                    .as_ref()
                    .is_some_and(|t| std::ptr::eq(t, target));
            let body: &[u8] = if same_method { &prepared.body } else { &[] };
            let head = *method == Method::HEAD;
            let want_location = self.config.redirects > 0;
            let (result, reusable) = match &mut conn.sender {
                Sender::H1(h1) => {
                    let request: &[u8] = match prepared.h1_request.as_deref().filter(|_| fixed) {
                        Some(bytes) => bytes,
                        None => {
                            encode_request(
                                &mut session.scratch,
                                method.as_str(),
                                target.path(),
                                target.host_header(),
                                &prepared.raw_headers,
                                body,
                                USER_AGENT,
                            );
                            &session.scratch
                        }
                    };
                    let result = h1.exchange(request, head, want_location, started).await;
                    let reusable = h1.is_reusable() && result.is_ok();
                    (result, reusable)
                }
                Sender::H2(h2) => {
                    let block: &[u8] = match prepared.h2_block.as_deref().filter(|_| fixed) {
                        Some(block) => block,
                        None => {
                            encode_h2(
                                &mut session.scratch,
                                method,
                                target,
                                &prepared.headers,
                                body.len(),
                            );
                            &session.scratch
                        }
                    };
                    let result = h2.exchange(block, body, head, want_location, started).await;
                    (result, h2.is_reusable())
                }
            };
            if !reusable {
                session.conn = None;
            }
            let response = result?;
            timing.ttfb.get_or_insert(response.ttfb);
            timing.bytes += response.bytes;
            Ok((response.status, response.location))
        }
        .await;
        session.idle_since = Some(Instant::now());
        result
    }

    async fn reconnect(
        &self,
        session: &mut Session,
        target: &Target,
        timing: &mut Response,
    ) -> Result<(), RequestError> {
        session.conn = None;
        let begin = Instant::now();
        session.conn = Some(self.connector.connect(target).await?);
        timing.connect = Some(begin.elapsed());
        Ok(())
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

/// Encodes an HTTP/2 request header block: the template's headers without connection-specific
/// ones (`te` only as `trailers`), and `content-length` when the body is not empty or the
/// method defines a body (what hyper sends).
fn encode_h2(
    out: &mut Vec<u8>,
    method: &Method,
    target: &Target,
    headers: &HeaderMap,
    body: usize,
) {
    let length = (body != 0
        || !matches!(
            *method,
            Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
        ))
    .then(|| body.to_string())
    .filter(|_| !headers.contains_key(CONTENT_LENGTH));
    let kept = headers.iter().filter(|(name, value)| {
        !CONNECTION_HEADERS.contains(&name.as_str())
            && (name.as_str() != "te" || value.as_bytes() == b"trailers")
    });
    h2::encode_request(
        out,
        method.as_str(),
        target.https,
        target.host_header(),
        target.path(),
        kept.map(|(name, value)| (name.as_str(), value.as_bytes()))
            .chain(length.as_deref().map(|l| ("content-length", l.as_bytes()))),
    );
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl Transport for HttpTransport {
    type Session = Session;

    fn session(&self, slot: usize) -> Session {
        Session {
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
        if session.busy {
            // The last request on this connection was abandoned mid-flight (timeout, stop):
            // its response may still arrive, so the connection cannot be trusted.
            session.conn = None;
        }
        // Fixed URLs were parsed once; only templates and redirects make a new target.
        let mut target: Cow<'_, Target> = match &prepared.target {
            Some(t) => Cow::Borrowed(t),
            None => match Target::parse(request.url) {
                Ok(t) => Cow::Owned(t),
                Err(e) => return Outcome::Error(e),
            },
        };
        let mut method = prepared.method.clone();
        let mut timing = Response::default();
        let mut hops = 0;
        session.busy = true;
        let result = loop {
            match self
                .exchange(session, prepared, &method, &target, started, &mut timing)
                .await
            {
                Ok((status, Some(location)))
                    if is_redirect(status) && hops < self.config.redirects =>
                {
                    hops += 1;
                    match target.redirect(&location) {
                        Ok(t) => target = Cow::Owned(t),
                        Err(e) => break Err(e),
                    }
                    if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                        method = Method::GET;
                    }
                }
                Ok((status, _)) => break Ok(status),
                Err(e) => break Err(e),
            }
        };
        session.busy = false;
        if !self.config.keepalive || result.is_err() {
            session.conn = None;
        }
        match result {
            Ok(status) => Outcome::Response(Response { status, ..timing }),
            Err(e) => Outcome::Error(e),
        }
    }
}
