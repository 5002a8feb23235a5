//! `flak target`: the built-in HTTP server for calibration, demos and tests.
//!
//! | path | answer |
//! |---|---|
//! | `/` | 200, a 13-byte body |
//! | `/delay/<ms>` | 200 after `ms` milliseconds |
//! | `/status/<code>` | that status |
//! | `/bytes/<n>` | 200 with `n` bytes |
//! | `/jitter/<min>-<max>` | 200 after a random delay in min..=max ms |
//! | `/close` | drops the connection without answering |
//! | `/stats` | JSON: requests received (and how many over HTTP/2), in flight now and at peak, per-path counts |
//! | `/stats/reset` | zeroes the counters |
//!
//! Every response allows any origin (CORS, Resource Timing, CORP), and preflights are
//! answered, so the browser app can load it cross-origin. With `--app DIR` a second listener
//! serves the app's static files with COOP/COEP, which makes the page cross-origin isolated
//! (5 µs timers instead of 100 µs).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::args::TargetArgs;

const BODY: &[u8] = b"Hello, flak!\n";
/// Distinct paths counted one by one; past this they are only counted together, so a run over
/// millions of template URLs cannot grow the server without bound.
const MAX_PATHS: usize = 10_000;
const MAX_BYTES: u64 = 1 << 30;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    closed: AtomicU64,
    http2: AtomicU64,
    paths: Mutex<BTreeMap<String, u64>>,
    other_paths: AtomicU64,
}

#[derive(Serialize)]
struct StatsBody {
    requests: u64,
    in_flight: u64,
    peak_in_flight: u64,
    closed: u64,
    /// Requests that came over HTTP/2.
    http2: u64,
    distinct_paths: usize,
    other_paths: u64,
    paths: BTreeMap<String, u64>,
}

impl Counters {
    fn snapshot(&self) -> StatsBody {
        let paths = self
            .paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        StatsBody {
            requests: self.requests.load(Ordering::SeqCst),
            // This /stats request itself is not counted.
            in_flight: self.in_flight.load(Ordering::SeqCst),
            peak_in_flight: self.peak_in_flight.load(Ordering::SeqCst),
            closed: self.closed.load(Ordering::SeqCst),
            http2: self.http2.load(Ordering::SeqCst),
            distinct_paths: paths.len(),
            other_paths: self.other_paths.load(Ordering::SeqCst),
            paths,
        }
    }

    fn reset(&self) {
        self.requests.store(0, Ordering::SeqCst);
        self.peak_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        self.closed.store(0, Ordering::SeqCst);
        self.http2.store(0, Ordering::SeqCst);
        self.other_paths.store(0, Ordering::SeqCst);
        self.paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn arrive(&self, path: &str, http2: bool) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if http2 {
            self.http2.fetch_add(1, Ordering::SeqCst);
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        let mut paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = paths.get_mut(path) {
            *n += 1;
        } else if paths.len() < MAX_PATHS {
            paths.insert(path.to_string(), 1);
        } else {
            self.other_paths.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Decrements the in-flight gauge however the handler ends (answered, or dropped mid-delay).
struct InFlight<'a>(&'a Counters);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>, content_type: &'static str) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert("timing-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    r
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    reply(status, body, "text/plain; charset=utf-8")
}

/// The connection is to be dropped without an answer.
#[derive(Debug)]
struct Drop_;
impl std::fmt::Display for Drop_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed on request")
    }
}
impl std::error::Error for Drop_ {}

async fn handle(req: Request<Incoming>, counters: Arc<Counters>) -> Result<Reply, Drop_> {
    let path = req.uri().path().to_string();
    if req.method() == Method::OPTIONS {
        let mut r = text(StatusCode::NO_CONTENT, Bytes::new());
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        return Ok(r);
    }
    match path.as_str() {
        "/stats" => {
            let json = serde_json::to_vec(&counters.snapshot()).unwrap_or_default();
            return Ok(reply(StatusCode::OK, json, "application/json"));
        }
        "/stats/reset" => {
            counters.reset();
            return Ok(text(StatusCode::OK, "reset\n"));
        }
        _ => {}
    }
    counters.arrive(&path, req.version() == hyper::Version::HTTP_2);
    let _gauge = InFlight(&counters);
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (head, arg) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let ok = |body: &'static [u8]| Ok(text(StatusCode::OK, Bytes::from_static(body)));
    match head {
        "" => ok(BODY),
        "delay" => match arg.parse::<u64>() {
            Ok(ms) => {
                crate::precise_sleep::sleep(Duration::from_millis(ms)).await;
                ok(BODY)
            }
            Err(_) => Ok(text(StatusCode::BAD_REQUEST, "use /delay/<milliseconds>\n")),
        },
        "jitter" => {
            let range = arg
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .filter(|(a, b)| a <= b);
            match range {
                Some((lo, hi)) => {
                    crate::precise_sleep::sleep(Duration::from_millis(fastrand::u64(lo..=hi)))
                        .await;
                    ok(BODY)
                }
                None => Ok(text(
                    StatusCode::BAD_REQUEST,
                    "use /jitter/<min>-<max> in ms\n",
                )),
            }
        }
        "status" => match arg
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(code) => Ok(text(code, format!("status {}\n", code.as_u16()))),
            None => Ok(text(StatusCode::BAD_REQUEST, "use /status/<100-999>\n")),
        },
        "bytes" => match arg.parse::<u64>() {
            Ok(n) if n <= MAX_BYTES => Ok(reply(
                StatusCode::OK,
                vec![b'x'; n as usize],
                "application/octet-stream",
            )),
            _ => Ok(text(
                StatusCode::BAD_REQUEST,
                "use /bytes/<n> with n up to 1 GiB\n",
            )),
        },
        "close" => {
            counters.closed.fetch_add(1, Ordering::SeqCst);
            Err(Drop_)
        }
        _ => Ok(text(
            StatusCode::NOT_FOUND,
            "not found: try /, /delay/<ms>, /status/<code>, /bytes/<n>, /jitter/<min>-<max>, /close, /stats\n",
        )),
    }
}

async fn serve_app_file(req: Request<Incoming>, root: Arc<PathBuf>) -> Result<Reply, Infallible> {
    let mut r = match app_file(&root, req.uri().path()).await {
        Some((bytes, content_type)) => reply(StatusCode::OK, bytes, content_type),
        None => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    let h = r.headers_mut();
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-embedder-policy",
        HeaderValue::from_static("require-corp"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

async fn app_file(root: &Path, url_path: &str) -> Option<(Vec<u8>, &'static str)> {
    let rel = url_path.trim_start_matches('/');
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_string()
    };
    let rel = Path::new(&rel);
    // Only plain names: no `..`, no absolute paths, so nothing outside the folder is served.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let path = root.join(rel);
    let bytes = tokio::fs::read(&path).await.ok()?;
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    Some((bytes, content_type))
}

async fn accept_loop<F, Fut, E>(listener: TcpListener, tls: Option<TlsAcceptor>, service: F)
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
        let service = service.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(service);
            let builder = auto::Builder::new(TokioExecutor::new());
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

/// A TLS acceptor with a new self-signed certificate for 127.0.0.1, ::1 and localhost, offering
/// HTTP/2 and HTTP/1.1.
fn self_signed() -> anyhow::Result<TlsAcceptor> {
    let names = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    let cert = rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
    let key = PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key.into())
        .context("TLS certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
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
        let tls = if args.tls { Some(self_signed()?) } else { None };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut out = std::io::stdout().lock();
        writeln!(out, "flak target listening on {scheme}://{local}/")?;
        let app = match &args.app {
            Some(dir) => {
                anyhow::ensure!(
                    dir.join("index.html").is_file(),
                    "--app {}: no index.html there (build the app first)",
                    dir.display()
                );
                let (app_listener, app_local) = bind(&args.app_listen, "app").await?;
                writeln!(
                    out,
                    "flak app on http://{app_local}/?url={scheme}://{local}/"
                )?;
                Some((app_listener, Arc::new(dir.clone())))
            }
            None => None,
        };
        out.flush()?;
        drop(out);
        if let Some((app_listener, root)) = app {
            tokio::spawn(accept_loop(app_listener, None, move |req| {
                serve_app_file(req, Arc::clone(&root))
            }));
        }
        accept_loop(listener, tls, move |req| handle(req, Arc::clone(&counters))).await;
        Ok(())
    })
}
