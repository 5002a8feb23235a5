//! Opening HTTP/3 connections: one UDP endpoint per worker thread and address family, the QUIC
//! handshake with ALPN `h3` under the connect timeout, and the h3 connection on top, whose
//! driver runs as its own task on the worker's runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flak_core::{ErrorKind, RequestError};
use quinn::crypto::rustls::QuicClientConfig;

use super::errors::{connection_error, quic_error};
use crate::target::Target;

/// What the slots of a group share: `SendRequest` is a cheap handle, cloned per request.
pub(crate) type Sender = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

/// One open HTTP/3 connection.
pub(crate) struct H3Conn {
    pub key: String,
    pub quic: quinn::Connection,
    pub send: Sender,
}

impl H3Conn {
    /// Whether new requests may still go on it (no close, no GOAWAY seen by a request yet).
    pub fn is_open(&self) -> bool {
        self.quic.close_reason().is_none()
    }
}

/// Opens QUIC connections for one worker thread.
pub(crate) struct QuicConnector {
    config: quinn::ClientConfig,
    connect_timeout: Option<Duration>,
    /// Created on first use: quinn needs the worker's runtime, which the transport is built
    /// before. Index 0 for IPv4 targets, 1 for IPv6.
    endpoints: RefCell<[Option<quinn::Endpoint>; 2]>,
    dns: RefCell<HashMap<(String, u16), SocketAddr>>,
}

impl QuicConnector {
    pub fn new(
        insecure: bool,
        tls: &crate::TlsOptions,
        connect_timeout: Option<Duration>,
    ) -> Result<Self, RequestError> {
        // The same roots, `--cacert`, client certificate, `--sni` and `--insecure` as TCP
        // connections; QUIC speaks only TLS 1.3,
        // which the safe defaults include.
        let mut tls = (*crate::tls::client_config(insecure, false, tls)).clone();
        tls.alpn_protocols = vec![b"h3".to_vec()];
        let quic = QuicClientConfig::try_from(tls).map_err(|e| {
            RequestError::new(ErrorKind::Tls, format!("TLS settings unfit for QUIC: {e}"))
        })?;
        Ok(Self {
            config: quinn::ClientConfig::new(Arc::new(quic)),
            connect_timeout,
            endpoints: RefCell::default(),
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

    fn endpoint(&self, addr: SocketAddr) -> Result<quinn::Endpoint, RequestError> {
        let family = usize::from(addr.is_ipv6());
        if let Some(endpoint) = &self.endpoints.borrow()[family] {
            return Ok(endpoint.clone());
        }
        let local: SocketAddr = if addr.is_ipv6() {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = quinn::Endpoint::client(local).map_err(|e| {
            RequestError::new(
                ErrorKind::Other,
                format!("cannot open a UDP socket on {local}: {e}"),
            )
        })?;
        self.endpoints.borrow_mut()[family] = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// The QUIC handshake and the h3 SETTINGS exchange with `target`, within the connect timeout.
    pub async fn connect(&self, target: &Target) -> Result<H3Conn, RequestError> {
        if !target.https {
            return Err(RequestError::new(
                ErrorKind::Other,
                format!("HTTP/3 needs an https URL, not {}", target.key),
            ));
        }
        let addr = self.resolve(target).await?;
        let connecting = self
            .endpoint(addr)?
            .connect_with(self.config.clone(), addr, &target.host)
            .map_err(|e| {
                RequestError::new(ErrorKind::Other, format!("QUIC connect to {addr}: {e}"))
            })?;
        let open = async {
            let quic = connecting.await.map_err(|e| quic_error(&e, addr))?;
            let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(quic.clone()))
                .await
                .map_err(|e| connection_error(&e))?;
            // The driver answers the server's control stream; it ends with the connection.
            tokio::spawn(async move {
                let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
            });
            Ok(H3Conn {
                key: target.key.clone(),
                quic,
                send,
            })
        };
        match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, open).await.map_err(|_| {
                RequestError::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "no QUIC handshake with {addr} within {}",
                        flak_core::plan::format_duration(limit)
                    ),
                )
            })?,
            None => open.await,
        }
    }
}
