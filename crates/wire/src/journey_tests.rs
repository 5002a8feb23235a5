//! A journey's requests through the transport over HTTP/1.1 and HTTP/2, against hyper servers
//! on 127.0.0.1: expanded headers and bodies arrive (with their length), a capture keeps the
//! final response's wanted headers and body (not a redirect's, not unwanted headers, cut at
//! the limit), and a request without one keeps nothing. HTTP/3's are in `h3/tests.rs`.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;

use bytes::Bytes;
use flak_core::{CAPTURE_BODY_LIMIT, Capture, Outcome, Request, RequestSpec, Transport as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{HttpTransport, Proxy, TransportConfig};

/// What the servers answer: `/echo` tells what arrived (method, two headers, the
/// content-length header and the body) and sends `X-Token: final` and `X-Other: unwanted`;
/// `/redirect` is a 302 to `/echo` with its own `X-Token` and body; `/huge` is the capture
/// limit plus 5 bytes of `h`.
async fn answer(req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let told = format!(
        "{} auth={} type={} len={}",
        req.method(),
        header("authorization"),
        header("content-type"),
        header("content-length")
    );
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let response = hyper::Response::builder();
    let response = match path.as_str() {
        "/redirect" => response
            .status(302)
            .header("location", "/echo")
            .header("X-Token", "from-redirect")
            .body(Full::new(Bytes::from_static(b"redirect body"))),
        "/huge" => response.body(Full::new(Bytes::from(vec![b'h'; CAPTURE_BODY_LIMIT + 5]))),
        _ => response
            .header("X-Token", "final")
            .header("X-Other", "unwanted")
            .body(Full::new(Bytes::from(format!(
                "{told} body={}",
                String::from_utf8_lossy(&body)
            )))),
    };
    Ok(response.unwrap())
}

/// A server on 127.0.0.1 speaking HTTP/1.1 (header names in title case on the wire) or
/// HTTP/2 with prior knowledge; its base URL.
async fn server(http2: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let io = TokioIo::new(tcp);
            if http2 {
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service_fn(answer)),
                );
            } else {
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .title_case_headers(true)
                        .serve_connection(io, service_fn(answer)),
                );
            }
        }
    });
    format!("http://{addr}")
}

fn transport(spec: &RequestSpec, http2: bool, redirects: u32) -> HttpTransport {
    let config = TransportConfig {
        http2,
        redirects,
        ..TransportConfig::default()
    };
    HttpTransport::new(config, None, std::slice::from_ref(spec)).unwrap()
}

/// Sends `spec` with these expanded headers and body, keeping what `capture` wants.
async fn send(
    transport: &HttpTransport,
    session: &mut crate::Session,
    spec: &RequestSpec,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    capture: Option<&Capture>,
) -> (u16, u64) {
    let request = Request {
        headers,
        body,
        capture,
        ..Request::new(0, 0, spec, spec.url.as_str())
    };
    match transport.send(session, &request).await {
        Outcome::Response(r) => (r.status, r.bytes),
        Outcome::Error(e) => panic!("{}: {e:?}", spec.url.as_str()),
    }
}

fn expanded() -> Vec<(String, String)> {
    vec![("Authorization".into(), "Bearer tok-7".into())]
}

fn body_text(capture: &Capture) -> String {
    String::from_utf8(capture.got().body.clone()).unwrap()
}

async fn expanded_headers_and_body_arrive_and_the_capture_keeps_what_it_wants(http2: bool) {
    let base = server(http2).await;
    let spec = RequestSpec::new("POST", &format!("{base}/echo"))
        .unwrap()
        .header("Content-Type", "application/json")
        .unwrap()
        .body(b"{\"fixed\": true}".to_vec());
    let t = transport(&spec, http2, 0);
    let mut session = t.session(0);
    let capture = Capture::new(["x-token"], true);
    let body = br#"{"user": "u42"}"#;
    // Twice: the second request goes on the kept-alive connection, and the capture holds the
    // second response alone.
    for _ in 0..2 {
        let (status, bytes) = send(
            &t,
            &mut session,
            &spec,
            &expanded(),
            Some(body),
            Some(&capture),
        )
        .await;
        let want = r#"POST auth=Bearer tok-7 type=application/json len=15 body={"user": "u42"}"#;
        assert_eq!((status, bytes), (200, want.len() as u64));
        assert_eq!(body_text(&capture), want);
        let got = capture.got();
        assert_eq!(got.headers, [("x-token".to_string(), b"final".to_vec())]);
        assert!(!got.truncated);
    }
    // The template alone: its own body and headers, the pre-encoded request.
    let (_, bytes) = send(&t, &mut session, &spec, &[], None, Some(&capture)).await;
    let want = r#"POST auth= type=application/json len=15 body={"fixed": true}"#;
    assert_eq!(
        (body_text(&capture), bytes),
        (want.to_string(), want.len() as u64)
    );
    // Without a capture nothing is kept: the last capture stays as it was.
    send(&t, &mut session, &spec, &expanded(), Some(b"other"), None).await;
    assert_eq!(body_text(&capture), want);
    // A capture that wants headers only keeps no body, and the reverse.
    let headers_only = Capture::new(["X-TOKEN"], false);
    send(&t, &mut session, &spec, &[], None, Some(&headers_only)).await;
    assert_eq!(headers_only.got().headers.len(), 1);
    assert!(headers_only.got().body.is_empty());
    let body_only = Capture::new([] as [&str; 0], true);
    send(&t, &mut session, &spec, &[], None, Some(&body_only)).await;
    assert!(body_only.got().headers.is_empty());
    assert_eq!(body_text(&body_only), want);
}

#[tokio::test]
async fn http1_expanded_headers_and_body_arrive_and_the_capture_keeps_what_it_wants() {
    expanded_headers_and_body_arrive_and_the_capture_keeps_what_it_wants(false).await;
}

#[tokio::test]
async fn http2_expanded_headers_and_body_arrive_and_the_capture_keeps_what_it_wants() {
    expanded_headers_and_body_arrive_and_the_capture_keeps_what_it_wants(true).await;
}

async fn a_redirect_is_not_captured(http2: bool) {
    let base = server(http2).await;
    let spec = RequestSpec::get(&format!("{base}/redirect")).unwrap();
    let t = transport(&spec, http2, 1);
    let mut session = t.session(0);
    let capture = Capture::new(["x-token"], true);
    let (status, _) = send(&t, &mut session, &spec, &expanded(), None, Some(&capture)).await;
    assert_eq!(status, 200);
    let got = capture.got();
    assert_eq!(got.headers, [("x-token".to_string(), b"final".to_vec())]);
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        "GET auth=Bearer tok-7 type= len= body="
    );
}

#[tokio::test]
async fn http1_a_redirect_is_not_captured() {
    a_redirect_is_not_captured(false).await;
}

#[tokio::test]
async fn http2_a_redirect_is_not_captured() {
    a_redirect_is_not_captured(true).await;
}

async fn a_body_past_the_limit_is_cut(http2: bool) {
    let base = server(http2).await;
    let spec = RequestSpec::get(&format!("{base}/huge")).unwrap();
    let t = transport(&spec, http2, 0);
    let mut session = t.session(0);
    let capture = Capture::new([] as [&str; 0], true);
    let (status, bytes) = send(&t, &mut session, &spec, &[], None, Some(&capture)).await;
    assert_eq!((status, bytes), (200, CAPTURE_BODY_LIMIT as u64 + 5));
    let got = capture.got();
    assert_eq!(got.body.len(), CAPTURE_BODY_LIMIT);
    assert!(got.body.iter().all(|&b| b == b'h'));
    assert!(got.truncated);
}

#[tokio::test]
async fn http1_a_body_past_the_limit_is_cut() {
    a_body_past_the_limit_is_cut(false).await;
}

#[tokio::test]
async fn http2_a_body_past_the_limit_is_cut() {
    a_body_past_the_limit_is_cut(true).await;
}

/// Plain http through a proxy goes in absolute form, encoded per request with the expanded
/// headers and body; the proxy here answers itself, as a caching proxy may.
#[tokio::test]
async fn through_a_proxy_expanded_headers_and_body_arrive_and_are_captured() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"expanded") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        tcp.write_all(b"HTTP/1.1 200 OK\r\nx-token: via-proxy\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        String::from_utf8(got).unwrap()
    });
    let spec = RequestSpec::new("PUT", "http://origin.invalid/u").unwrap();
    let config = TransportConfig {
        route: crate::Route {
            proxy: Some(Proxy::parse(&format!("http://{addr}")).unwrap()),
            ..crate::Route::default()
        },
        ..TransportConfig::default()
    };
    let t = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
    let mut session = t.session(0);
    let capture = Capture::new(["X-Token"], true);
    let (status, _) = send(
        &t,
        &mut session,
        &spec,
        &expanded(),
        Some(b"expanded"),
        Some(&capture),
    )
    .await;
    assert_eq!(status, 200);
    let request = seen.await.unwrap();
    assert!(
        request.starts_with("PUT http://origin.invalid/u HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\nAuthorization: Bearer tok-7\r\n"),
        "{request}"
    );
    assert!(request.contains("\r\nContent-Length: 8\r\n"), "{request}");
    assert_eq!(
        capture.got().headers,
        [("x-token".to_string(), b"via-proxy".to_vec())]
    );
    assert_eq!(capture.got().body, b"ok");
}
