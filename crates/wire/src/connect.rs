//! Opening connections: DNS (asked once per host), TCP with a deadline, TLS with ALPN, and the
//! HTTP/1.1 or HTTP/2 connection on top. A [`Conn`] is one open connection, ready to exchange.

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
use crate::stream::Stream;
use crate::target::Target;

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
    /// Speak HTTP/2 with prior knowledge over plain TCP (over TLS, ALPN decides).
    http2: bool,
    connect_timeout: Option<Duration>,
    /// Resolved addresses per `host:port`, so DNS is asked once per host and thread.
    dns: RefCell<HashMap<(String, u16), SocketAddr>>,
}

impl Connector {
    pub fn new(
        tls: Option<Arc<rustls::ClientConfig>>,
        http2: bool,
        connect_timeout: Option<Duration>,
    ) -> Self {
        Self {
            tls: tls.map(tokio_rustls::TlsConnector::from),
            http2,
            connect_timeout,
            dns: RefCell::default(),
        }
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

    /// Opens a connection to `target`, with TLS for https.
    pub async fn connect(&self, target: &Target) -> Result<Conn, RequestError> {
        let addr = self.resolve(target).await?;
        let tcp = TcpStream::connect(addr);
        let tcp = match self.connect_timeout {
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
        let sender = if target.https {
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
            sender(Stream::Tls(Box::new(stream)), h2)
        } else {
            sender(Stream::Tcp(tcp), self.http2)
        };
        Ok(Conn { key, sender })
    }
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
