//! The page's server for `--ui`: the app built into the binary at `/`, and the run as
//! Server-Sent Events at `/events`, served beside the run (`crate::side_server`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::feed::Feed;
use crate::app_bundle;

type Body = BoxBody<Bytes, Infallible>;

/// A running `--ui` server; it lives as long as the process.
pub struct Server {
    pub addr: SocketAddr,
}

impl Server {
    /// Binds `addr` now and serves `feed` and the app from a thread of its own.
    pub fn start(addr: &str, feed: &Arc<Feed>) -> anyhow::Result<Self> {
        let (answering, ticking) = (Arc::clone(feed), Arc::clone(feed));
        let addr = crate::side_server::start(
            "--ui",
            addr,
            "flak-ui",
            move |req| answer(req, &answering),
            async move {
                let mut every = tokio::time::interval(Duration::from_millis(250));
                loop {
                    every.tick().await;
                    ticking.tick();
                }
            },
        )?;
        Ok(Self { addr })
    }

    /// The address to open, as printed.
    pub fn url(&self) -> String {
        format!("http://{}/?live", self.addr)
    }
}

fn answer<B>(req: &Request<B>, feed: &Arc<Feed>) -> Response<Body> {
    let path = req.uri().path();
    if path == "/events" {
        return events(feed);
    }
    let mut r = match app_bundle::served(path) {
        Some((bytes, content_type)) => {
            let mut r = Response::new(Full::new(Bytes::from_static(bytes)).boxed());
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
        None => {
            let missing = if app_bundle::files().is_ok() {
                "not found\n"
            } else {
                "this flak was built without the browser app (scripts/build-app.sh, then rebuild)\n"
            };
            let mut r = Response::new(Full::new(Bytes::from_static(missing.as_bytes())).boxed());
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    app_bundle::isolate(r.headers_mut());
    r
}

fn events(feed: &Arc<Feed>) -> Response<Body> {
    let watcher = feed.watch();
    let stream = futures::stream::unfold(watcher, |mut watcher| async move {
        let event = watcher.next().await?;
        Some((
            Ok::<_, Infallible>(Frame::data(Bytes::from(event.frame()))),
            watcher,
        ))
    });
    let mut r = Response::new(StreamBody::new(stream).boxed());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
