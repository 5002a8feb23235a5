//! The scrape endpoint: `GET /metrics` (anything else 404), on its own thread and tokio
//! runtime. Bound before the run starts, so an address in use is bad input, not a lost run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;

use super::collector::RunCollector;
use super::live::Live;

/// A running metrics endpoint; it lives as long as the process.
pub struct Server {
    pub addr: SocketAddr,
}

impl Server {
    /// Binds `addr` now and serves `live` from a thread of its own.
    pub fn start(addr: &str, live: &Arc<Live>) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("--metrics {addr}: cannot listen there"))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let mut registry = Registry::with_labels(
            live.labels
                .iter()
                .map(|(k, v)| (k.clone().into(), v.clone().into())),
        );
        registry.register_collector(Box::new(RunCollector(Arc::clone(live))));
        let registry = Arc::new(registry);
        std::thread::Builder::new()
            .name("flak-metrics".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the metrics endpoint");
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let registry = Arc::clone(&registry);
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let registry = Arc::clone(&registry);
                                async move { Ok::<_, Infallible>(answer(&req, &registry)) }
                            });
                            let _ =
                                hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                        });
                    }
                });
            })
            .context("starting the metrics thread")?;
        Ok(Self { addr: local })
    }
}

fn answer<B>(req: &Request<B>, registry: &Registry) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"try /metrics\n")));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, registry).is_err() {
        let mut r = Response::new(Full::new(Bytes::from_static(b"encoding failed\n")));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return r;
    }
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    r
}
