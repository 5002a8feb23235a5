//! `flak target`: the built-in HTTP server for calibration, demos and tests.
//!
//! | path | answer |
//! |---|---|
//! | `/` | 200, a 13-byte body |
//! | `/delay/<ms>` | 200 after `ms` milliseconds |
//! | `/status/<code>` | that status |
//! | `/bytes/<n>` | 200 with `n` bytes |
//! | `/jitter/<min>-<max>` | 200 after a random delay in min..=max ms |
//! | `/queue?slots=K&ms=D` | 200 after waiting for one of K slots (first come first served), then D ms: capacity K/D·1000 req/s (`queue.rs`) |
//! | `/close` | drops the connection without answering (over HTTP/3: resets the stream) |
//! | `POST /login` | JSON `{"user": "<id>"}` → a new random bearer token for that user, and an `x-session` header (`journey.rs`) |
//! | `/me` | the bearer token's user; 401 without a known token |
//! | `/users/<id>` | GET: the user's record, PUT: 200; only with a token issued to `<id>` (else 401, or 403 for another user's) |
//! | `/items/<n>` | 200 `{"item": "<n>"}`, no token needed |
//! | `/stats` | JSON: requests received (and how many over HTTP/2 and HTTP/3), in flight now and at peak, request body bytes read over HTTP/3, per-path counts, the journey routes' counts (`journey`) |
//! | `/stats/reset` | zeroes the counters and forgets the tokens |
//!
//! Every response allows any origin (CORS, Resource Timing, CORP) and exposes its headers, and
//! preflights are answered (allowing Authorization), so the browser app can load it cross-origin. With `--app` a second listener
//! serves the app (built into the binary, or `--app DIR`'s static files) with COOP/COEP, which makes the page cross-origin isolated
//! (5 µs timers instead of 100 µs). With `--http3` the same routes are served over HTTP/3 on
//! UDP, at the TCP listener's address and port number (`h3.rs`).

mod app_files;
mod counters;
mod h3;
mod journey;
pub mod precise_sleep;
mod queue;
mod routes;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::flags::TargetArgs;
use app_files::{AppRoot, serve_app_file};
use counters::Counters;
use routes::{Reply, handle};

/// How a listener serves its connections.
#[derive(Clone, Default)]
struct Serving {
    tls: Option<TlsAcceptor>,
    /// Counts accepted connections.
    counters: Option<Arc<Counters>>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS for HTTP/2 (hyper's default otherwise).
    max_streams: Option<u32>,
    /// Speak HTTP/1.1 only (no h2c either).
    http1_only: bool,
}

async fn accept_loop<F, Fut, E>(listener: TcpListener, serving: Serving, service: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Reply, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        if let Some(counters) = &serving.counters {
            counters.connections.fetch_add(1, Ordering::SeqCst);
        }
        let service = service.clone();
        let tls = serving.tls.clone();
        let max_streams = serving.max_streams;
        let http1_only = serving.http1_only;
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(service);
            let mut builder = auto::Builder::new(TokioExecutor::new());
            if http1_only {
                builder = builder.http1_only();
            }
            if let Some(n) = max_streams {
                builder.http2().max_concurrent_streams(n);
            }
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        });
    }
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the {what}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A new self-signed certificate for 127.0.0.1, ::1 and localhost, shared by the TLS and the
/// QUIC listener.
struct Cert {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl Cert {
    fn new() -> anyhow::Result<Self> {
        let names = vec![
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "localhost".to_string(),
        ];
        let cert = rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
        Ok(Self {
            der: cert.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()).into(),
        })
    }

    /// SHA-256 of the certificate as colon-separated hex, what browsers and
    /// `openssl x509 -fingerprint -sha256` show, so a client can pin it instead of --insecure.
    fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.der);
        let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":")
    }
}

/// A TLS acceptor with `cert`, offering HTTP/2 and HTTP/1.1
/// (or HTTP/1.1 alone).
fn tls_acceptor(cert: &Cert, http1_only: bool) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], cert.key.clone_key())
        .context("TLS certificate")?;
    config.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(TlsAcceptor::from(Arc::new(config)))
}

pub fn run(args: &TargetArgs) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let (listener, local) = bind(&args.listen, "target").await?;
        let counters = Arc::new(Counters::default());
        let cert = if args.tls || args.http3 {
            Some(Cert::new()?)
        } else {
            None
        };
        let tls = match (&cert, args.tls) {
            (Some(cert), true) => Some(tls_acceptor(cert, args.http1_only)?),
            _ => None,
        };
        let quic = match (&cert, args.http3) {
            (Some(cert), true) => Some(h3::endpoint(local, cert)?),
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        // One write for the whole banner: a reader that keeps only the first line and closes
        // the pipe must not make a later line fail (and end the server).
        let mut banner = String::new();
        writeln!(banner, "flak target listening on {scheme}://{local}/")?;
        if quic.is_some() {
            writeln!(
                banner,
                "flak target serving HTTP/3 on https://{local}/ (UDP)"
            )?;
        }
        if let Some(cert) = &cert {
            writeln!(
                banner,
                "certificate SHA-256 fingerprint: {}",
                cert.fingerprint()
            )?;
        }
        let app = match &args.app {
            Some(dir) => {
                let root = match dir {
                    Some(dir) => {
                        anyhow::ensure!(
                            dir.join("index.html").is_file(),
                            "--app {}: no index.html there (build the app first)",
                            dir.display()
                        );
                        AppRoot::Dir(dir.clone())
                    }
                    None => {
                        crate::app_bundle::files()?;
                        AppRoot::Embedded
                    }
                };
                let (app_listener, app_local) = bind(&args.app_listen, "app").await?;
                writeln!(
                    banner,
                    "flak app on http://{app_local}/?url={scheme}://{local}/"
                )?;
                Some((app_listener, Arc::new(root)))
            }
            None => None,
        };
        let mut out = std::io::stdout().lock();
        out.write_all(banner.as_bytes())?;
        out.flush()?;
        drop(out);
        if let Some((app_listener, root)) = app {
            tokio::spawn(accept_loop(app_listener, Serving::default(), move |req| {
                serve_app_file(req, Arc::clone(&root))
            }));
        }
        if let Some(endpoint) = quic {
            tokio::spawn(h3::serve(endpoint, Arc::clone(&counters)));
        }
        let serving = Serving {
            tls,
            counters: Some(Arc::clone(&counters)),
            max_streams: args.http2_max_streams,
            http1_only: args.http1_only,
        };
        accept_loop(listener, serving, move |req: Request<Incoming>| {
            let counters = Arc::clone(&counters);
            async move {
                use http_body_util::BodyExt as _;
                let (parts, body) = req.into_parts();
                // Only /upload reads its body (whole, to count what arrived) and /login (up to
                // MAX_BODY, to parse it); the others answer without waiting for one.
                let body = match parts.uri.path() {
                    "/upload" => {
                        let body = body.collect().await.map_err(|_| routes::Drop_)?;
                        counters.body(body.to_bytes().len() as u64);
                        Some(Bytes::new())
                    }
                    "/login" => {
                        match http_body_util::Limited::new(body, routes::MAX_BODY)
                            .collect()
                            .await
                        {
                            Ok(body) => Some(body.to_bytes()),
                            Err(e) if e.is::<http_body_util::LengthLimitError>() => None,
                            Err(_) => return Err(routes::Drop_),
                        }
                    }
                    _ => Some(Bytes::new()),
                };
                handle(Request::from_parts(parts, ()), body, counters).await
            }
        })
        .await;
        Ok(())
    })
}
