//! A hyper server that records what each request looked like (Host, Accept-Encoding, HTTP
//! version, whether the TLS client showed a certificate), on TCP with TLS (a given certificate,
//! optionally requiring client certificates) or on a unix socket (plain or TLS). `/gzip` answers with a
//! real gzip body, for counting bytes as received.
#![allow(dead_code)] // not every test uses every part

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};

/// What one request looked like.
#[derive(Debug, Clone)]
pub struct Seen {
    pub host: String,
    pub accept_encoding: Option<String>,
    pub http2: bool,
    pub client_cert: bool,
}

/// The server's records and where it listens; stops with the test process.
pub struct Recording {
    pub addr: Option<SocketAddr>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recording {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The gzip body `/gzip` answers with: 10 000 bytes of text that compress to a few dozen.
pub fn gzip_body() -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&[b'a'; 10_000]).unwrap();
    enc.finish().unwrap()
}

fn serve<S>(io: S, client_cert: bool, seen: Arc<Mutex<Vec<Seen>>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let http2 = req.version() == hyper::Version::HTTP_2;
            let host = header("host")
                .or_else(|| req.uri().authority().map(|a| a.to_string()))
                .unwrap_or_default();
            seen.lock().unwrap().push(Seen {
                host,
                accept_encoding: header("accept-encoding"),
                http2,
                client_cert,
            });
            let response = if req.uri().path() == "/gzip" {
                Response::builder()
                    .header("content-encoding", "gzip")
                    .body(Full::new(Bytes::from(gzip_body())))
            } else {
                Response::builder().body(Full::new(Bytes::from_static(b"recorded\n")))
            };
            async move { response }
        });
        let _ = auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(io), service)
            .await;
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// HTTPS on 127.0.0.1 with this server configuration (certificate, client-certificate rule,
/// ALPN).
pub fn tls(config: rustls::ServerConfig) -> Recording {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let records = Arc::clone(&seen);
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let records = Arc::clone(&records);
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let client_cert = tls.get_ref().1.peer_certificates().is_some();
                        serve(tls, client_cert, records);
                    }
                });
            }
        });
    });
    Recording {
        addr: Some(addr),
        seen,
    }
}

/// HTTP on a unix socket at `path`, over TLS when given a server configuration.
pub fn unix(path: &Path, tls: Option<rustls::ServerConfig>) -> Recording {
    let acceptor = tls.map(|config| tokio_rustls::TlsAcceptor::from(Arc::new(config)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let records = Arc::clone(&seen);
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::UnixListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let records = Arc::clone(&records);
                match acceptor.clone() {
                    None => serve(stream, false, records),
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve(tls, false, records);
                            }
                        });
                    }
                }
            }
        });
    });
    Recording { addr: None, seen }
}

/// Plain HTTP on 127.0.0.1.
pub fn plain() -> Recording {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let records = Arc::clone(&seen);
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                serve(tcp, false, Arc::clone(&records));
            }
        });
    });
    Recording {
        addr: Some(addr),
        seen,
    }
}
