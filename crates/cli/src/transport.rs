//! The native transport over tokio, rustls for TLS. One connection per in-flight slot (what
//! `-c` means to users of wrk, hey and oha), kept alive between requests. HTTP/1.1 goes through
//! the lean client in `h1.rs` (requests encoded once, responses framed without a header map);
//! HTTP/2 on request through the lean client in `h2.rs` (ALPN over TLS, prior knowledge over
//! plain TCP).
//!
//! What does not change between requests (method, headers, body, parsed target, the encoded
//! HTTP/1.1 request, the HTTP/2 header block) is prepared once per request template.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flak_core::{ErrorKind, Outcome, Request, RequestError, RequestSpec, Response, Transport};
use hyper::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Method, Uri};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::h1::{H1Conn, encode_request};
use crate::h2::H2Conn;
use crate::tls;

/// Transport settings from the command line.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub http2: bool,
    pub insecure: bool,
    pub keepalive: bool,
    pub connect_timeout: Option<Duration>,
    pub redirects: u32,
}

/// Where a request goes, parsed once for fixed URLs.
#[derive(Debug, Clone)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// `scheme://host:port`: connections are reused only for the same key.
    key: String,
    host_header: HeaderValue,
    uri: Uri,
}

impl Target {
    fn parse(url: &str) -> Result<Self, RequestError> {
        let uri: Uri = url.parse().map_err(|e| {
            RequestError::new(ErrorKind::Other, format!("invalid URL {url:?}: {e}"))
        })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(RequestError::new(
                    ErrorKind::Other,
                    format!("unsupported URL {url:?}: use http or https"),
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| {
            RequestError::new(ErrorKind::Other, format!("URL {url:?} has no host"))
        })?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_header = HeaderValue::from_str(authority.as_str()).map_err(|e| {
            RequestError::new(ErrorKind::Other, format!("bad host in {url:?}: {e}"))
        })?;
        Ok(Self {
            https,
            key: format!("{}://{}:{port}", if https { "https" } else { "http" }, host),
            host,
            port,
            host_header,
            uri,
        })
    }
}

impl Target {
    /// The request target of an HTTP/1.1 request line.
    fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The `Host` header value: the URL's authority.
    fn host_header(&self) -> &str {
        self.host_header.to_str().unwrap_or(&self.host)
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

/// A TCP or TLS byte stream.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Stream {
    /// Whether the peer has closed (or sent something unasked on) an idle connection: a
    /// non-blocking peek, so nothing is consumed.
    fn closed_by_peer(&self) -> bool {
        let tcp = match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        };
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // Ready(Ok) with 0 bytes is EOF; with data (or an error) the connection is unusable too.
        matches!(tcp.poll_peek(&mut cx, &mut buf), Poll::Ready(_))
    }
}

/// A kept-alive connection idle longer than this is checked before reuse: servers close idle
/// connections (keepalive_timeout), and a request sent into a closing connection would fail
/// for no fault of the server's.
const IDLE_CHECK: Duration = Duration::from_millis(50);

enum Sender {
    H1(H1Conn<Stream>),
    H2(H2Conn<Stream>),
}

struct Conn {
    key: String,
    sender: Sender,
}

/// Per-slot state: its connection, whether a request on it was abandoned half-way, and a
/// buffer for encoding requests whose URL changes per request.
#[derive(Default)]
pub struct Session {
    conn: Option<Conn>,
    busy: bool,
    scratch: Vec<u8>,
    /// When the last exchange on `conn` ended.
    idle_since: Option<Instant>,
}

pub struct HttpTransport {
    config: TransportConfig,
    tls: Option<tokio_rustls::TlsConnector>,
    prepared: Vec<Prepared>,
    /// Resolved addresses per `host:port`, so DNS is asked once per host and thread.
    dns: RefCell<HashMap<(String, u16), SocketAddr>>,
}

impl HttpTransport {
    /// Prepares the templates; fails only on a header or method hyper cannot send (the plan has
    /// validated them already).
    pub fn new(
        config: TransportConfig,
        tls_config: Option<Arc<rustls::ClientConfig>>,
        specs: &[RequestSpec],
    ) -> anyhow::Result<Self> {
        let prepared = specs
            .iter()
            .map(|spec| {
                let mut headers = HeaderMap::new();
                headers.insert(USER_AGENT, HeaderValue::from_static(crate::USER_AGENT));
                for (name, value) in &spec.headers {
                    headers.insert(
                        HeaderName::from_bytes(name.as_bytes())?,
                        HeaderValue::from_str(value)?,
                    );
                }
                let target = if spec.url.is_fixed() {
                    Some(Target::parse(spec.url.as_str()).map_err(|e| anyhow::anyhow!(e.message))?)
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
                    );
                    out
                });
                let method = Method::from_bytes(spec.method.as_bytes())?;
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
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            tls: tls_config.map(tokio_rustls::TlsConnector::from),
            config,
            prepared,
            dns: RefCell::default(),
        })
    }

    async fn resolve(&self, target: &Target) -> Result<SocketAddr, RequestError> {
        let key = (target.host.clone(), target.port);
        if let Some(addr) = self.dns.borrow().get(&key) {
            return Ok(*addr);
        }
        let addr = tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                RequestError::new(
                    ErrorKind::Dns,
                    format!("host {:?} does not resolve", target.host),
                )
            })?;
        self.dns.borrow_mut().insert(key, addr);
        Ok(addr)
    }

    async fn connect(&self, target: &Target) -> Result<Conn, RequestError> {
        let addr = self.resolve(target).await?;
        let tcp = TcpStream::connect(addr);
        let tcp = match self.config.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, tcp).await.map_err(|_| {
                RequestError::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "no connection to {addr} within {}",
                        flak_core::plan::format_duration(limit)
                    ),
                )
            })?,
            None => tcp.await,
        }
        .map_err(|e| connect_error(&e, addr))?;
        // Latency, not throughput: never let Nagle hold back a small request.
        let _ = tcp.set_nodelay(true);
        let key = target.key.clone();
        if target.https {
            let tls = self
                .tls
                .as_ref()
                .ok_or_else(|| RequestError::new(ErrorKind::Tls, "TLS is not configured"))?;
            let name =
                rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(|e| {
                    RequestError::new(
                        ErrorKind::Tls,
                        format!("invalid TLS name {:?}: {e}", target.host),
                    )
                })?;
            let stream = tls.connect(name, tcp).await.map_err(|e| {
                RequestError::new(
                    ErrorKind::Tls,
                    format!("TLS handshake with {addr} failed: {e}"),
                )
            })?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let sender = handshake(Stream::Tls(Box::new(stream)), h2).await?;
            Ok(Conn { key, sender })
        } else {
            let sender = handshake(Stream::Tcp(tcp), self.config.http2).await?;
            Ok(Conn { key, sender })
        }
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
        let reusable = match session.conn.as_mut() {
            Some(conn) if conn.key == target.key => match &mut conn.sender {
                Sender::H1(c) => c.is_reusable() && !(idle_long && c.io().closed_by_peer()),
                Sender::H2(c) => c.is_reusable() && !(idle_long && c.io().closed_by_peer()),
            },
            _ => false,
        };
        if !reusable {
            self.reconnect(session, target, timing).await?;
        }
        let result = self
            .exchange_once(session, prepared, method, target, started, timing)
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
        session.conn = Some(self.connect(target).await?);
        timing.connect = Some(begin.elapsed());
        Ok(())
    }

    async fn exchange_once(
        &self,
        session: &mut Session,
        prepared: &Prepared,
        method: &Method,
        target: &Target,
        started: Instant,
        timing: &mut Response,
    ) -> Result<(u16, Option<String>), RequestError> {
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
    crate::h2::encode_request(
        out,
        method.as_str(),
        target.https,
        target.host_header(),
        target.path(),
        kept.map(|(name, value)| (name.as_str(), value.as_bytes()))
            .chain(length.as_deref().map(|l| ("content-length", l.as_bytes()))),
    );
}

async fn handshake(io: Stream, h2: bool) -> Result<Sender, RequestError> {
    if !h2 {
        return Ok(Sender::H1(H1Conn::new(io)));
    }
    Ok(Sender::H2(H2Conn::new(io)))
}

fn other(e: impl std::fmt::Display) -> RequestError {
    RequestError::new(ErrorKind::Other, e.to_string())
}

fn connect_error(e: &std::io::Error, addr: SocketAddr) -> RequestError {
    use std::io::ErrorKind as Io;
    let kind = match e.kind() {
        Io::ConnectionRefused => ErrorKind::ConnectRefused,
        Io::ConnectionReset => ErrorKind::Reset,
        Io::TimedOut => ErrorKind::ConnectTimeout,
        _ => ErrorKind::Other,
    };
    RequestError::new(kind, format!("connect to {addr}: {e}"))
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl Transport for HttpTransport {
    type Session = Session;

    fn session(&self, _slot: usize) -> Session {
        Session::default()
    }

    async fn send(&self, session: &mut Session, request: &Request<'_>) -> Outcome {
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
                    let next = resolve_location(&target.uri, &location)
                        .ok_or_else(|| {
                            other(format!("redirect to an invalid Location {location:?}"))
                        })
                        .and_then(|url| Target::parse(&url));
                    match next {
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

/// Resolves a redirect's Location against the URL that answered it.
fn resolve_location(base: &Uri, location: &str) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_string());
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = base.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

/// The rustls configuration for this run's https connections.
pub fn tls_config(config: &TransportConfig) -> Arc<rustls::ClientConfig> {
    tls::client_config(config.insecure, config.http2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_like_a_browser() {
        let base: Uri = "http://h:1/a/b?x".parse().unwrap();
        assert_eq!(resolve_location(&base, "/c").unwrap(), "http://h:1/c");
        assert_eq!(resolve_location(&base, "c").unwrap(), "http://h:1/a/c");
        assert_eq!(resolve_location(&base, "https://o/").unwrap(), "https://o/");
    }
}
