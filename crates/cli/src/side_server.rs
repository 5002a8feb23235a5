//! A small HTTP server beside a run (`--metrics`, `--ui`): bound before the run starts, so an
//! address in use is bad input and not a lost run, then served on a thread and current-thread
//! tokio runtime of its own, so it never takes a worker's time.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Binds `addr` for `flag` now and serves every connection with `answer` from a thread named
/// `name`; `beside` runs on the same runtime for as long as the process.
pub fn start<A, B>(
    flag: &str,
    addr: &str,
    name: &str,
    answer: A,
    beside: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<SocketAddr>
where
    A: Fn(&Request<Incoming>) -> Response<B> + Clone + Send + Sync + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("{flag} {addr}: cannot listen there"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for a server beside the run");
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                tokio::spawn(beside);
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let answer = answer.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let response = answer(&req);
                            async move { Ok::<_, std::convert::Infallible>(response) }
                        });
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .with_context(|| format!("starting the {flag} thread"))?;
    Ok(local)
}
