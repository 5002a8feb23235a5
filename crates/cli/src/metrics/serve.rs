//! The scrape endpoint: `GET /metrics` (anything else 404), served beside the run
//! (`crate::side_server`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
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
        let mut registry = Registry::with_labels(
            live.labels
                .iter()
                .map(|(k, v)| (k.clone().into(), v.clone().into())),
        );
        registry.register_collector(Box::new(RunCollector(Arc::clone(live))));
        let registry = Arc::new(registry);
        let addr = crate::side_server::start(
            "--metrics",
            addr,
            "flak-metrics",
            move |req| answer(req, &registry),
            async {},
        )?;
        Ok(Self { addr })
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
