//! Opening connections: an address (looked up before the run, or once per host and thread),
//! TCP, a unix socket or a proxy's tunnel, TLS with ALPN and SNI, all within the connect
//! timeout, and the HTTP/1.1 or HTTP/2 connection on top. A [`Conn`] is one open connection, ready to exchange.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use flak_core::{ErrorKind, RequestError};
use tokio::net::TcpStream;

use crate::h1::H1Conn;
use crate::h2::H2Conn;
use crate::route::{Addrs, Family, Route};
use crate::stream::{Plain, Stream};
use crate::target::Target;
use crate::transport::TransportConfig;

/// One open connection, for the targets with its key.
pub struct Conn {
    pub key: String,
    pub sender: Sender,
}

/// The protocol the connection speaks.
pub enum Sender {
    H1(H1Conn<Stream>),
    /// Shared by the slots of a group, a stream each.
    H2(Rc<H2Conn<Stream>>),
}

impl Conn {
    /// Whether another request may go on this connection. `check_peer` also peeks at the
    /// socket, for a connection idle long enough that the server may have closed it.
    pub fn is_reusable(&self, check_peer: bool) -> bool {
        match &self.sender {
            Sender::H1(c) => c.is_reusable() && !(check_peer && c.io().closed_by_peer()),
            Sender::H2(c) => {
                c.is_reusable() && !(check_peer && c.closed_while_idle(Stream::closed_by_peer))
            }
        }
    }
}

/// Opens connections for one worker thread.
pub struct Connector {
    tls: Option<tokio_rustls::TlsConnector>,
    /// `--sni`: the TLS name instead of the URL's host.
    sni: Option<String>,
    /// Speak HTTP/2 with prior knowledge over plain TCP (over TLS, ALPN decides).
    http2: bool,
    connect_timeout: Option<Duration>,
    route: Route,
    /// Addresses of hosts not looked up before the run (templated URLs, redirects), per
    /// `host:port`, so DNS is asked once per host and thread.
    dns: RefCell<HashMap<(String, u16), Addrs>>,
}

impl Connector {
    pub fn new(tls: Option<Arc<rustls::ClientConfig>>, config: &TransportConfig) -> Self {
        Self {
            tls: tls.map(tokio_rustls::TlsConnector::from),
            sni: config.tls_options.sni.clone(),
            http2: config.http2,
            connect_timeout: config.connect_timeout,
            route: config.route.clone(),
            dns: RefCell::default(),
        }
    }

    /// The next address for `host:port`: from the pre-run lookup, else looked up now, in the
    /// asked family, round robin over the host's addresses.
    async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, RequestError> {
        let resolved = &self.route.resolved;
        if let Some(addr) = resolved.get(host, port).and_then(|a| resolved.pick(a)) {
            return Ok(addr);
        }
        let key = (host.to_string(), port);
        let cached = self.dns.borrow().get(&key).cloned();
        let addrs = match cached {
            Some(addrs) => addrs,
            None => {
                let family = self.route.family;
                let addrs: Addrs = tokio::net::lookup_host((host, port))
                    .await
                    .map(|addrs| addrs.filter(|a| family.allows(a)).collect())
                    .unwrap_or_default();
                if addrs.is_empty() {
                    let which = match family {
                        Family::Any => "",
                        Family::V4 => " to an IPv4 address (-4)",
                        Family::V6 => " to an IPv6 address (-6)",
                    };
                    return Err(RequestError::new(
                        ErrorKind::Dns,
                        format!("host {host:?} does not resolve{which}"),
                    ));
                }
                self.dns.borrow_mut().insert(key, Arc::clone(&addrs));
                addrs
            }
        };
        resolved.pick(&addrs).ok_or_else(|| {
            RequestError::new(ErrorKind::Dns, format!("host {host:?} does not resolve"))
        })
    }

    /// Opens a connection to `target`, with TLS for https, within the connect timeout (TCP,
    /// a proxy's CONNECT and the TLS handshake together).
    pub async fn connect(&self, target: &Target) -> Result<Conn, RequestError> {
        let open = self.open(target);
        let sender = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, open).await.map_err(|_| {
                let (host, port) = self.route.dial(target);
                RequestError::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "no connection to {host}:{port} within {}",
                        flak_core::plan::format_duration(limit)
                    ),
                )
            })?,
            None => open.await,
        }?;
        Ok(Conn {
            key: target.key.clone(),
            sender,
        })
    }

    async fn open(&self, target: &Target) -> Result<Sender, RequestError> {
        let (plain, peer) = self.plain(target).await?;
        if !target.https {
            return Ok(sender(plain.into(), self.http2));
        }
        let tls = self
            .tls
            .as_ref()
            .ok_or_else(|| RequestError::new(ErrorKind::Tls, "TLS is not configured"))?;
        let name = self.sni.as_deref().unwrap_or(&target.host);
        let server_name =
            rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| {
                RequestError::new(ErrorKind::Tls, format!("invalid TLS name {name:?}: {e}"))
            })?;
        let stream = tls.connect(server_name, plain).await.map_err(|e| {
            RequestError::new(
                ErrorKind::Tls,
                format!("TLS handshake with {peer} failed: {e}"),
            )
        })?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(sender(Stream::Tls(Box::new(stream)), h2))
    }

    /// The stream under TLS (or under plain HTTP): a unix socket, a proxy's tunnel, or TCP to
    /// the destination; with what it reached, for messages.
    async fn plain(&self, target: &Target) -> Result<(Plain, String), RequestError> {
        if let Some(path) = &self.route.unix_socket {
            return unix(path).await;
        }
        let (host, port) = self.route.dial(target);
        let addr = self.resolve(host, port).await?;
        let mut tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| connect_error(&e, addr))?;
        // Latency, not throughput: never let Nagle hold back a small request.
        let _ = tcp.set_nodelay(true);
        if let Some(proxy) = &self.route.proxy
            && !self.route.is_absolute_form(target, self.http2)
        {
            let (host, port) = self.route.destination(target);
            crate::proxy::tunnel(&mut tcp, proxy, host, port).await?;
        }
        Ok((Plain::Tcp(tcp), addr.to_string()))
    }
}

#[cfg(unix)]
async fn unix(path: &std::path::Path) -> Result<(Plain, String), RequestError> {
    let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                ErrorKind::ConnectRefused
            }
            _ => ErrorKind::Other,
        };
        RequestError::new(kind, format!("connect to {}: {e}", path.display()))
    })?;
    Ok((Plain::Unix(stream), path.display().to_string()))
}

#[cfg(not(unix))]
async fn unix(path: &std::path::Path) -> Result<(Plain, String), RequestError> {
    Err(RequestError::new(
        ErrorKind::Other,
        format!(
            "{}: unix sockets are not supported on this system",
            path.display()
        ),
    ))
}

fn sender(io: Stream, h2: bool) -> Sender {
    if h2 {
        Sender::H2(Rc::new(H2Conn::new(io)))
    } else {
        Sender::H1(H1Conn::new(io))
    }
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
