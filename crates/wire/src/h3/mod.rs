//! HTTP/3 over QUIC (`--http3`), on quinn and hyperium's h3: unlike `h1/` and `h2/` not
//! hand-written, since QUIC (loss recovery, congestion control, TLS inside the transport) is
//! far more than a framing layer.
//!
//! Slots are grouped: the slots of one group share one connection, each request its own
//! stream, so a group of P slots keeps up to P requests in flight on one QUIC connection (as
//! `-p/--http2-parallel` does for HTTP/2). The request that opens a group's connection is
//! charged its connect time (the QUIC handshake and h3 SETTINGS).

mod connect;
mod errors;
mod exchange;

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flak_core::{ErrorKind, Outcome, Request, RequestError, RequestSpec, Response};
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::USER_AGENT;
use crate::target::{Target, is_redirect};
use connect::{H3Conn, QuicConnector, Sender};

/// Headers HTTP/3 forbids (RFC 9114 §4.2), dropped from the templates as for HTTP/2.
const CONNECTION_HEADERS: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// A request template, prepared once.
struct Prepared {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    target: Option<Target>,
}

/// The connection a group of slots shares. The lock also makes the group's other slots wait
/// for a handshake under way instead of each opening a connection of its own.
#[derive(Default)]
/// A group's connection, and its requests in flight.
struct Group(tokio::sync::Mutex<Option<H3Conn>>, std::cell::Cell<u32>);

/// One slot's share of the transport: the group it belongs to.
pub struct H3Slot {
    group: Rc<Group>,
}

/// HTTP/3 requests for one worker thread.
pub struct H3Client {
    prepared: Vec<Prepared>,
    connector: QuicConnector,
    keepalive: bool,
    redirects: u32,
    /// Slots per connection.
    streams: usize,
    groups: RefCell<Vec<Rc<Group>>>,
    /// Connections opened, streams in flight at most on one, redirect bodies: as the TCP
    /// transport counts them.
    stats: RefCell<flak_core::ConnectionStats>,
}

impl H3Client {
    /// Prepares the templates. `streams` is how many slots share one connection (at least 1).
    pub fn new(
        specs: &[RequestSpec],
        insecure: bool,
        tls: &crate::TlsOptions,
        keepalive: bool,
        connect_timeout: Option<Duration>,
        redirects: u32,
        streams: usize,
    ) -> Result<Self, RequestError> {
        let prepared = specs
            .iter()
            .map(|spec| {
                let bad = |what: &str, e: &dyn std::fmt::Display| {
                    RequestError::new(ErrorKind::Other, format!("{what}: {e}"))
                };
                let mut headers = HeaderMap::new();
                headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
                for (name, value) in &spec.headers {
                    let what = format!("header {name:?}");
                    let name =
                        HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&what, &e))?;
                    if CONNECTION_HEADERS.contains(&name.as_str()) {
                        continue;
                    }
                    let value = HeaderValue::from_str(value).map_err(|e| bad(&what, &e))?;
                    headers.insert(name, value);
                }
                let method = Method::from_bytes(spec.method.as_bytes())
                    .map_err(|e| bad(&format!("method {:?}", spec.method), &e))?;
                let body = Bytes::copy_from_slice(spec.body.as_bytes());
                if !body.is_empty() && !headers.contains_key(header::CONTENT_LENGTH) {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
                }
                let target = if spec.url.is_fixed() {
                    Some(Target::parse(spec.url.as_str())?)
                } else {
                    None
                };
                Ok(Prepared {
                    method,
                    headers,
                    body,
                    target,
                })
            })
            .collect::<Result<Vec<_>, RequestError>>()?;
        Ok(Self {
            prepared,
            connector: QuicConnector::new(insecure, tls, connect_timeout)?,
            keepalive,
            redirects,
            streams: streams.max(1),
            groups: RefCell::default(),
            stats: RefCell::default(),
        })
    }

    /// What the connections did so far on this worker.
    pub fn connection_stats(&self) -> flak_core::ConnectionStats {
        self.stats.borrow().clone()
    }

    /// Opens a QUIC connection and counts it.
    async fn open(&self, target: &Target) -> Result<H3Conn, RequestError> {
        let conn = self.connector.connect(target).await?;
        self.stats.borrow_mut().record_open("h3");
        Ok(conn)
    }

    /// The state of slot `slot`: slots `0..P` share the first connection, `P..2P` the next.
    pub fn slot(&self, slot: usize) -> H3Slot {
        let index = slot / self.streams;
        let mut groups = self.groups.borrow_mut();
        while groups.len() <= index {
            groups.push(Rc::default());
        }
        H3Slot {
            group: Rc::clone(&groups[index]),
        }
    }

    /// A handle on the group's connection to `target`, opening one when there is none (or it
    /// is closed, or to another origin after a redirect). The connection comes along when it
    /// is this request's alone (`--disable-keepalive`), so it lives until the request ends.
    async fn sender(
        &self,
        slot: &H3Slot,
        target: &Target,
        timing: &mut Response,
    ) -> Result<(Sender, usize, Option<H3Conn>), RequestError> {
        if !self.keepalive {
            let begin = Instant::now();
            let conn = self.open(target).await?;
            timing.connect = Some(begin.elapsed());
            return Ok((conn.send.clone(), conn.quic.stable_id(), Some(conn)));
        }
        let mut shared = slot.group.0.lock().await;
        if let Some(conn) = shared
            .as_ref()
            .filter(|c| c.key == target.key && c.is_open())
        {
            return Ok((conn.send.clone(), conn.quic.stable_id(), None));
        }
        *shared = None;
        let begin = Instant::now();
        let conn = self.open(target).await?;
        timing.connect = Some(begin.elapsed());
        let (send, id) = (conn.send.clone(), conn.quic.stable_id());
        *shared = Some(conn);
        Ok((send, id, None))
    }

    /// Forgets the group's connection after an error that ended it, unless another slot has
    /// already replaced it.
    async fn forget(&self, slot: &H3Slot, stable_id: usize) {
        let mut shared = slot.group.0.lock().await;
        if shared
            .as_ref()
            .is_some_and(|c| c.quic.stable_id() == stable_id)
        {
            *shared = None;
        }
    }

    /// Sends one request (following redirects) and says how it went.
    pub async fn send(&self, slot: &mut H3Slot, request: &Request<'_>) -> Outcome {
        let started = Instant::now();
        let prepared = &self.prepared[request.spec_index];
        let mut target = match Target::of(prepared.target.as_ref(), request.url) {
            Ok(t) => t,
            Err(e) => return Outcome::Error(e),
        };
        let mut method = prepared.method.clone();
        let mut timing = Response::default();
        let mut hops = 0;
        loop {
            let (mut send, stable_id, own) = match self.sender(slot, &target, &mut timing).await {
                Ok(s) => s,
                Err(e) => return Outcome::Error(e),
            };
            let same_method = method == prepared.method;
            let mut http_request = http::Request::new(());
            *http_request.method_mut() = method.clone();
            *http_request.uri_mut() = target.uri.clone();
            let headers = http_request.headers_mut();
            *headers = prepared.headers.clone();
            if let Err(e) = add_expanded(headers, request) {
                return Outcome::Error(e);
            }
            let body = match request.body {
                Some(expanded) if same_method => {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(expanded.len()));
                    Bytes::copy_from_slice(expanded)
                }
                _ if same_method => prepared.body.clone(),
                _ => {
                    // A redirect that turned the method into GET drops the body.
                    headers.remove(header::CONTENT_LENGTH);
                    Bytes::new()
                }
            };
            let in_flight = slot.group.1.get() + 1;
            slot.group.1.set(in_flight);
            {
                let mut stats = self.stats.borrow_mut();
                stats.peak_streams = stats.peak_streams.max(u64::from(in_flight));
            }
            let result = exchange::exchange(
                &mut send,
                http_request,
                body,
                self.redirects > 0,
                started,
                request.capture,
            )
            .await;
            slot.group.1.set(slot.group.1.get() - 1);
            drop(own);
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    if errors::ends_connection(e.kind) {
                        self.forget(slot, stable_id).await;
                    }
                    return Outcome::Error(e);
                }
            };
            timing.ttfb.get_or_insert(response.ttfb);
            match response.location {
                Some(location) if is_redirect(response.status) && hops < self.redirects => {
                    hops += 1;
                    self.stats.borrow_mut().redirect_bytes += response.bytes;
                    match target.follow(response.status, &location, &mut method) {
                        Ok(t) => target = Cow::Owned(t),
                        Err(e) => return Outcome::Error(e),
                    }
                }
                _ => {
                    return Outcome::Response(Response {
                        status: response.status,
                        bytes: response.bytes,
                        ..timing
                    });
                }
            }
        }
    }
}

/// Adds the headers a journey expanded for this request to the template's (none outside
/// journeys); a header that cannot be sent fails the request.
fn add_expanded(headers: &mut HeaderMap, request: &Request<'_>) -> Result<(), RequestError> {
    for (name, value) in request.headers {
        let bad = |e: &dyn std::fmt::Display| {
            RequestError::new(ErrorKind::Other, format!("header {name:?}: {e}"))
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
        if CONNECTION_HEADERS.contains(&name.as_str()) || name == header::CONTENT_LENGTH {
            continue;
        }
        headers.append(name, HeaderValue::from_str(value).map_err(|e| bad(&e))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
