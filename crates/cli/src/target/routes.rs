//! `flak target`'s routes (the table in `mod.rs`), and the headers every answer carries so the
//! browser app can load it cross-origin.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::counters::{Counters, InFlight};
use super::{precise_sleep, queue};

const BODY: &[u8] = b"Hello, flak!\n";
const MAX_BYTES: u64 = 1 << 30;

/// The most of a request body a route is given (`/login`'s); the listeners read no more.
pub(super) const MAX_BODY: usize = 64 * 1024;

pub(super) type Reply = Response<Full<Bytes>>;

pub(super) fn reply(
    status: StatusCode,
    body: impl Into<Bytes>,
    content_type: &'static str,
) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // So the browser app's fetch can read headers such as /login's `x-session`.
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert("timing-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    r
}

pub(super) fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    reply(status, body, "text/plain; charset=utf-8")
}

/// The connection is to be dropped without an answer.
#[derive(Debug)]
pub(super) struct Drop_;
impl std::fmt::Display for Drop_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed on request")
    }
}
impl std::error::Error for Drop_ {}

/// Answers a request over any protocol: the body type is the listener's (hyper's for TCP,
/// none for HTTP/3, whose listener reads bodies itself). `body` is what the listener read of
/// it, at most [`MAX_BODY`] (`None` if there was more): only `/login` needs it.
pub(super) async fn handle<B>(
    req: Request<B>,
    body: Option<Bytes>,
    counters: Arc<Counters>,
) -> Result<Reply, Drop_> {
    let path = req.uri().path().to_string();
    if req.method() == Method::OPTIONS {
        let mut r = text(StatusCode::NO_CONTENT, Bytes::new());
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("*"),
        );
        // `*` alone does not cover Authorization (the Fetch standard), so it is named.
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("*, authorization, content-type"),
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
    counters.arrive(&path, req.version());
    let _gauge = InFlight(&counters);
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (head, arg) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let ok = |body: &'static [u8]| Ok(text(StatusCode::OK, Bytes::from_static(body)));
    match head {
        "" => ok(BODY),
        "delay" => match arg.parse::<u64>() {
            Ok(ms) => {
                precise_sleep::sleep(Duration::from_millis(ms)).await;
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
                    precise_sleep::sleep(Duration::from_millis(fastrand::u64(lo..=hi))).await;
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
        "queue" => match queue::parse(req.uri().query()) {
            Ok((slots, ms)) => {
                queue::serve(slots, ms).await;
                ok(BODY)
            }
            Err(how) => Ok(text(StatusCode::BAD_REQUEST, how)),
        },
        // The listener has read and counted the body.
        "upload" => ok(b"ok\n"),
        "login" if arg.is_empty() => Ok(counters.journey.login(req.method(), body.as_ref())),
        "me" if arg.is_empty() => Ok(counters.journey.me(req.method(), req.headers())),
        "users" => Ok(counters.journey.user(req.method(), req.headers(), arg)),
        "items" => Ok(counters.journey.item(req.method(), arg)),
        _ => Ok(text(
            StatusCode::NOT_FOUND,
            "not found: try /, /delay/<ms>, /status/<code>, /bytes/<n>, /jitter/<min>-<max>, /queue?slots=<K>&ms=<D>, /close, /upload, POST /login, /me, /users/<id>, /items/<n>, /stats, /stats/reset\n",
        )),
    }
}
