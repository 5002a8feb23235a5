//! The page's server for `--ui`: the app's files at `/`, and the run as Server-Sent Events at
//! `/events`, on a thread and tokio runtime of its own. Bound before the run starts, so an
//! address in use is bad input, not a lost run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::feed::Feed;

type Body = BoxBody<Bytes, Infallible>;

/// A file's bytes and content type.
pub type File = (&'static [u8], &'static str);

/// The app's files: a path's file, or `None` (then `missing` says why).
#[derive(Clone, Copy)]
pub struct App {
    pub file: fn(&str) -> Option<File>,
    pub missing: &'static str,
}

/// A running `--ui` server; it lives as long as the process.
pub struct Server {
    pub addr: SocketAddr,
}

impl Server {
    /// Binds `addr` now and serves `feed` and the app from a thread of its own.
    pub fn start(flag: &str, addr: &str, feed: &Arc<Feed>, app: App) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("{flag} {addr}: cannot listen there"))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let feed = Arc::clone(feed);
        std::thread::Builder::new()
            .name("flak-ui".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the --ui server");
                runtime.block_on(serve(listener, feed, app));
            })
            .context("starting the --ui thread")?;
        Ok(Self { addr: local })
    }

    /// The address to open, as printed.
    pub fn url(&self) -> String {
        format!("http://{}/?live", self.addr)
    }
}

async fn serve(listener: std::net::TcpListener, feed: Arc<Feed>, app: App) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let ticker = Arc::clone(&feed);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            every.tick().await;
            ticker.tick();
        }
    });
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let feed = Arc::clone(&feed);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let feed = Arc::clone(&feed);
                async move { Ok::<_, Infallible>(answer(&req, &feed, app)) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer<B>(req: &Request<B>, feed: &Arc<Feed>, app: App) -> Response<Body> {
    let path = req.uri().path();
    if path == "/events" {
        return events(feed);
    }
    let mut r = match (app.file)(path) {
        Some((bytes, content_type)) => {
            let mut r = Response::new(Full::new(Bytes::from_static(bytes)).boxed());
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
        None => {
            let mut r =
                Response::new(Full::new(Bytes::from_static(app.missing.as_bytes())).boxed());
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    // Cross-origin isolated, as `flak target --app` serves it: the page's timers are precise.
    let h = r.headers_mut();
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-embedder-policy",
        HeaderValue::from_static("require-corp"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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
