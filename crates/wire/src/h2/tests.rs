//! The HTTP/2 client against servers: hyper's, through the transport (redirects, flow control,
//! large bodies), and a scripted raw server for what hyper never sends (every frame type,
//! misbehaviour, GOAWAY, windows), plus replayed random and mutated frames.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use flak_core::{Outcome, Request, RequestSpec, Transport as _};
use futures::stream::{FuturesUnordered, StreamExt as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::ReadBuf;

use std::time::{Duration, Instant};

use flak_core::ErrorKind;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::conn::{MAX_FRAME, MAX_STREAM_ID};
use super::frame::*;
use super::hpack::encode::{put_int, put_string};
use super::hpack::huffman;
use super::{Ask, H2Conn, encode_request};
use crate::transport::{HttpTransport, TransportConfig};

/// One request for [`H2Conn::exchange`], timed from now.
fn ask<'a>(block: &'a [u8], body: &'a [u8], head_request: bool, want_location: bool) -> Ask<'a> {
    Ask {
        block,
        body,
        head_request,
        want_location,
        started: Instant::now(),
        capture: None,
    }
}

/// An HTTP/2 (prior knowledge) server: `/redirect` sends a 302 to `/final`, `/final` says
/// `done`, `/echo` answers with the request body's length, `/big` sends 3 MB.
async fn server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = service_fn(|req: hyper::Request<Incoming>| async move {
                let path = req.uri().path().to_string();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let response = hyper::Response::builder();
                let response = match path.as_str() {
                    "/redirect" => response.status(302).header("location", "/final"),
                    "/echo" => {
                        return Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                            body.len().to_string(),
                        ))));
                    }
                    "/big" => {
                        return Ok(hyper::Response::new(Full::new(Bytes::from(vec![
                            7u8;
                            3_000_000
                        ]))));
                    }
                    _ => response,
                };
                Ok(response
                    .body(Full::new(Bytes::from_static(b"done")))
                    .unwrap())
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    format!("http://{addr}")
}

async fn send(spec: RequestSpec, redirects: u32) -> (u16, u64) {
    let config = TransportConfig {
        http2: true,
        redirects,
        ..TransportConfig::default()
    };
    let url = spec.url.as_str().to_string();
    let transport = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
    let mut session = transport.session(0);
    let mut last = (0, 0);
    // Twice on the same connection: the second request reuses it.
    for index in 0..2 {
        let request = Request::new(index, 0, &spec, &url);
        match transport.send(&mut session, &request).await {
            Outcome::Response(r) => last = (r.status, r.bytes),
            Outcome::Error(e) => panic!("{url}: {e:?}"),
        }
    }
    last
}

#[tokio::test]
async fn redirects_bodies_and_flow_control_through_the_transport() {
    let base = server().await;
    let redirect = || RequestSpec::get(&format!("{base}/redirect")).unwrap();
    // Bytes are the final response's; the hop's own body is counted apart.
    assert_eq!(send(redirect(), 1).await, (200, 4), "redirect followed");
    assert_eq!(send(redirect(), 0).await, (302, 4), "redirect reported");
    // A body larger than the server's flow-control windows.
    let post = RequestSpec::new("POST", &format!("{base}/echo"))
        .unwrap()
        .body(vec![1u8; 3_000_000]);
    assert_eq!(send(post, 0).await, (200, 7));
    let big = RequestSpec::get(&format!("{base}/big")).unwrap();
    assert_eq!(send(big, 0).await, (200, 3_000_000));
}

// --- A scripted raw HTTP/2 server, for what hyper's server never sends ---------------------

/// A frame the client sent.
#[derive(Clone, Debug)]
struct Sent {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

struct Scripted {
    url: String,
    /// Every frame the clients sent, in order.
    sent: Arc<Mutex<Vec<Sent>>>,
    connections: Arc<AtomicUsize>,
}

/// A raw HTTP/2 server (prior knowledge) that answers each frame a client sends with the
/// bytes `script` returns for it (nothing for most frames).
async fn scripted(script: impl Fn(&Sent) -> Vec<u8> + Send + Sync + 'static) -> Scripted {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let connections: Arc<AtomicUsize> = Arc::default();
    let script = Arc::new(script);
    let (all, count) = (Arc::clone(&sent), Arc::clone(&connections));
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            count.fetch_add(1, SeqCst);
            let (all, script) = (Arc::clone(&all), Arc::clone(&script));
            tokio::spawn(async move {
                let mut preface = [0u8; 24];
                if tcp.read_exact(&mut preface).await.is_err() || preface != PREFACE {
                    return;
                }
                let mut h = [0u8; 9];
                while tcp.read_exact(&mut h).await.is_ok() {
                    let len =
                        (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
                    let mut payload = vec![0; len];
                    if tcp.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    let sent = Sent {
                        kind: h[3],
                        flags: h[4],
                        stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]),
                        payload,
                    };
                    let answer = script(&sent);
                    all.lock().unwrap().push(sent);
                    if !answer.is_empty() && tcp.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Scripted {
        url,
        sent,
        connections,
    }
}

/// Sends `n` requests in one session (one slot): each one's (status, bytes) or error kind.
async fn send_n(spec: &RequestSpec, n: u64) -> Vec<Result<(u16, u64), ErrorKind>> {
    let config = TransportConfig {
        http2: true,
        redirects: 0,
        ..TransportConfig::default()
    };
    let url = spec.url.as_str().to_string();
    let transport = HttpTransport::new(config, None, std::slice::from_ref(spec)).unwrap();
    let mut session = transport.session(0);
    let mut out = Vec::new();
    for index in 0..n {
        let request = Request::new(index, 0, spec, &url);
        // Bounded, so that a client waiting forever fails the test instead of hanging it.
        let sent = transport.send(&mut session, &request);
        out.push(
            match tokio::time::timeout(Duration::from_secs(5), sent).await {
                Ok(Outcome::Response(r)) => Ok((r.status, r.bytes)),
                Ok(Outcome::Error(e)) => Err(e.kind),
                Err(_) => Err(ErrorKind::Timeout),
            },
        );
    }
    out
}

#[tokio::test]
async fn an_http1_server_is_named_as_such() {
    let server = scripted(|f| {
        if f.kind == SETTINGS {
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nBad Request".to_vec()
        } else {
            Vec::new()
        }
    })
    .await;
    let config = TransportConfig {
        http2: true,
        ..TransportConfig::default()
    };
    let spec = RequestSpec::get(&server.url).unwrap();
    let url = server.url.clone();
    let transport = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
    let request = Request::new(0, 0, &spec, &url);
    match transport.send(&mut transport.session(0), &request).await {
        Outcome::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Protocol);
            assert!(
                e.message.contains("the server answered HTTP/1.x"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
}

/// An HPACK literal without indexing, with a static-table name.
fn literal(index: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_int(&mut out, 0x00, 4, usize::from(index));
    put_string(&mut out, value);
    out
}

fn content_length(n: usize) -> Vec<u8> {
    literal(28, n.to_string().as_bytes())
}

/// `:status 200` (static entry 8) and a content-length.
fn ok_head(length: usize) -> Vec<u8> {
    let mut block = vec![0x88];
    block.extend(content_length(length));
    block
}

fn settings(values: &[(u16, u32)]) -> Vec<u8> {
    let payload: Vec<u8> = values
        .iter()
        .flat_map(|(id, value)| id.to_be_bytes().into_iter().chain(value.to_be_bytes()))
        .collect();
    frame(SETTINGS, 0, 0, &payload)
}

/// A HEADERS frame with padding and priority, split over two CONTINUATION frames.
fn padded_continued_headers(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let (a, rest) = block.split_at(1);
    let (b, c) = rest.split_at(rest.len() / 2);
    let mut payload = vec![3]; // pad length
    payload.extend([0x80, 0, 0, 1, 16]); // exclusive dependency on stream 1, weight 16
    payload.extend(a);
    payload.extend([0, 0, 0]);
    let flags = PADDED | PRIORITY | if end_stream { END_STREAM } else { 0 };
    let mut out = frame(HEADERS, flags, stream, &payload);
    out.extend(frame(CONTINUATION, 0, stream, b));
    out.extend(frame(CONTINUATION, END_HEADERS, stream, c));
    out
}

#[tokio::test]
async fn every_frame_a_server_may_send_is_handled_and_the_connection_reused() {
    let server = scripted(|f| {
        if f.kind != HEADERS {
            return Vec::new();
        }
        let s = f.stream;
        let mut out = settings(&[(0x3, 100), (0x4, 1 << 20), (0x5, 32_768), (0x99, 7)]);
        out.extend(frame(PING, 0, 0, b"pingpong"));
        out.extend(frame(0xfa, 0xff, 0, b"unknown type")); // ignored
        out.extend(frame(0xfa, 0, s, b"unknown type"));
        out.extend(frame(0x2, 0, s, &[0, 0, 0, 0, 16])); // PRIORITY
        out.extend(frame(0x2, 0, s + 2, &[0, 0, 0, 0, 16])); // PRIORITY on an idle stream
        out.extend(frame(WINDOW_UPDATE, 0, 0, &1000u32.to_be_bytes()));
        out.extend(frame(WINDOW_UPDATE, 0, s, &1000u32.to_be_bytes()));
        // 103 Early Hints, then the final head with a table size update to 0 first.
        out.extend(frame(HEADERS, END_HEADERS, s, &literal(8, b"103")));
        let mut block = vec![0x20];
        block.extend(ok_head(11));
        out.extend(padded_continued_headers(s, &block, false));
        out.extend(frame(DATA, PADDED, s, b"\x05hello\0\0\0\0\0"));
        out.extend(frame(DATA, 0, s, b""));
        out.extend(frame(DATA, 0, s, b" world"));
        // Trailers, continued too.
        let mut trailer = vec![0x00, 11];
        trailer.extend(b"grpc-status");
        trailer.extend([1, b'0']);
        out.extend(padded_continued_headers(s, &trailer, true));
        out
    })
    .await;
    let spec = RequestSpec::get(&server.url).unwrap();
    assert_eq!(send_n(&spec, 3).await, vec![Ok((200, 11)); 3]);
    assert_eq!(server.connections.load(SeqCst), 1);
    // Each PING and SETTINGS is acknowledged (the server may not have read the last yet).
    let acks = || {
        let sent = server.sent.lock().unwrap();
        let pongs = sent
            .iter()
            .filter(|f| f.kind == PING && f.flags == ACK && f.payload == b"pingpong")
            .count();
        let acks = sent
            .iter()
            .filter(|f| f.kind == SETTINGS && f.flags == ACK && f.payload.is_empty())
            .count();
        (pongs, acks)
    };
    for _ in 0..200 {
        if acks() == (3, 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(acks(), (3, 3));
}

/// What a server sends in answer to the request on stream `s`.
type Answer = fn(u32) -> Vec<u8>;

/// A server that allows no stream (SETTINGS_MAX_CONCURRENT_STREAMS = 0) and then says GOAWAY:
/// the waiting request, with no stream open to read for it, reads the connection itself and
/// fails at once instead of waiting out its timeout (found by fuzzing h2_frames).
#[tokio::test]
async fn a_server_that_allows_no_stream_and_leaves_is_seen_by_the_waiting_request() {
    // The GOAWAY comes only once the client has acknowledged the SETTINGS, after it has read
    // them: by then the request is waiting for a stream.
    let server = scripted(|sent| match (sent.kind, sent.flags & 1) {
        (4, 0) => settings(&[(3, 0)]),
        (4, 1) => frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
        _ => Vec::new(),
    })
    .await;
    let spec = RequestSpec::new("POST", &server.url).unwrap().body("x");
    let started = std::time::Instant::now();
    let results = send_n(&spec, 1).await;
    assert_eq!(results, vec![Err(ErrorKind::Closed)]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_misbehaving_server_is_an_error_of_a_clear_kind_and_a_broken_connection_is_not_reused() {
    // Connections opened for two requests: 2 for a connection error (the connection is not
    // used again), 1 for a stream error (the stream is reset, the connection lives on).
    let cases: Vec<(&str, Answer, ErrorKind, usize)> = vec![
        (
            "a frame over our SETTINGS_MAX_FRAME_SIZE",
            |s| frame(DATA, 0, s, &[0; MAX_FRAME + 1]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "GOAWAY below our stream",
            |_| frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
            ErrorKind::Closed,
            4,
        ),
        (
            "REFUSED_STREAM",
            |s| frame(RST_STREAM, 0, s, &7u32.to_be_bytes()),
            ErrorKind::Reset,
            1,
        ),
        (
            "RST_STREAM after the head",
            |s| {
                let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(5));
                out.extend(frame(RST_STREAM, 0, s, &8u32.to_be_bytes()));
                out
            },
            ErrorKind::Body,
            1,
        ),
        (
            "fewer DATA bytes than content-length",
            |s| {
                let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(10));
                out.extend(frame(DATA, END_STREAM, s, b"short"));
                out
            },
            ErrorKind::Body,
            1,
        ),
        (
            "more DATA bytes than content-length",
            |s| {
                let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(1));
                out.extend(frame(DATA, END_STREAM, s, b"longer"));
                out
            },
            ErrorKind::Body,
            1,
        ),
        (
            "content-length but END_STREAM on the head",
            |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &ok_head(3)),
            ErrorKind::Body,
            1,
        ),
        (
            "an index past the end of the dynamic table",
            |s| {
                // x-a: b with incremental indexing (index 62), then index 63.
                let block = [0x40, 3, b'x', b'-', b'a', 1, b'b', 0x88, 0x80 | 63];
                frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "a dynamic table size update above 0",
            |s| {
                frame(
                    HEADERS,
                    END_HEADERS | END_STREAM,
                    s,
                    &[0x3f, 0xe1, 0x1f, 0x88],
                )
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "invalid Huffman code (padding not all ones)",
            |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &[0x08, 0x81, 0x00]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "Huffman EOS in a string",
            |s| {
                let block = [0x88, 0x0f, 0x0d, 0x84, 0xff, 0xff, 0xff, 0xff];
                frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "an HPACK integer too large",
            |s| {
                let block = [0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
                frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "a string longer than the block",
            |s| {
                frame(
                    HEADERS,
                    END_HEADERS | END_STREAM,
                    s,
                    &[0x88, 0x0f, 0x0d, 0x7e, b'1'],
                )
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "padding longer than the frame",
            |s| {
                let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(3));
                out.extend(frame(DATA, PADDED | END_STREAM, s, &[200, 1, 2, 3]));
                out
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "HEADERS too short for its priority",
            |s| frame(HEADERS, END_HEADERS | PRIORITY, s, &[0x88]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "a connection window past 2^31-1",
            |_| frame(WINDOW_UPDATE, 0, 0, &MAX_STREAM_ID.to_be_bytes()),
            ErrorKind::Protocol,
            2,
        ),
        (
            "a stream window past 2^31-1",
            |s| frame(WINDOW_UPDATE, 0, s, &MAX_STREAM_ID.to_be_bytes()),
            ErrorKind::Protocol,
            1,
        ),
        (
            "an initial window that takes the stream past 2^31-1",
            |s| {
                let mut out = frame(WINDOW_UPDATE, 0, s, &(1u32 << 30).to_be_bytes());
                out.extend(settings(&[(0x4, MAX_STREAM_ID)]));
                out
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "WINDOW_UPDATE of 0",
            |s| frame(WINDOW_UPDATE, 0, s, &0u32.to_be_bytes()),
            ErrorKind::Protocol,
            1,
        ),
        (
            "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1",
            |_| settings(&[(0x4, 1 << 31)]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "SETTINGS_MAX_FRAME_SIZE under 16384",
            |_| settings(&[(0x5, 100)]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "SETTINGS of the wrong size",
            |_| frame(SETTINGS, 0, 0, &[0, 4, 0]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "SETTINGS_ENABLE_PUSH above 1",
            |_| settings(&[(0x2, 2)]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "a SETTINGS acknowledgement with a payload",
            |_| frame(SETTINGS, ACK, 0, &[0; 6]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "PING on a stream",
            |s| frame(PING, 0, s, b"pingpong"),
            ErrorKind::Protocol,
            2,
        ),
        (
            "DATA on a stream never opened",
            |s| frame(DATA, 0, s + 2, b"x"),
            ErrorKind::Protocol,
            2,
        ),
        (
            "RST_STREAM on stream 0",
            |_| frame(RST_STREAM, 0, 0, &8u32.to_be_bytes()),
            ErrorKind::Protocol,
            2,
        ),
        (
            "RST_STREAM before the head",
            |s| frame(RST_STREAM, 0, s, &8u32.to_be_bytes()),
            ErrorKind::Reset,
            1,
        ),
        (
            "an HTTP/1.1 answer",
            |_| b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ErrorKind::Protocol,
            2,
        ),
        (
            "PING of the wrong size",
            |_| frame(PING, 0, 0, b"ping"),
            ErrorKind::Protocol,
            2,
        ),
        (
            "PUSH_PROMISE though push is off",
            |s| frame(PUSH_PROMISE, END_HEADERS, s, &[0, 0, 0, 2, 0x82]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "DATA before the head",
            |s| frame(DATA, END_STREAM, s, b"x"),
            ErrorKind::Protocol,
            1,
        ),
        (
            "DATA on stream 0",
            |_| frame(DATA, 0, 0, b"x"),
            ErrorKind::Protocol,
            2,
        ),
        (
            "an interim response that ends the stream",
            |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &literal(8, b"100")),
            ErrorKind::Protocol,
            1,
        ),
        (
            "a head without :status",
            |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &content_length(0)),
            ErrorKind::Protocol,
            1,
        ),
        (
            "CONTINUATION without HEADERS",
            |s| frame(CONTINUATION, END_HEADERS, s, &[0x88]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "a header block interrupted by another frame",
            |s| {
                let mut out = frame(HEADERS, END_STREAM, s, &[0x88]);
                out.extend(frame(PING, 0, 0, b"pingpong"));
                out
            },
            ErrorKind::Protocol,
            2,
        ),
        (
            "HEADERS on another stream",
            |s| frame(HEADERS, END_HEADERS | END_STREAM, s + 2, &[0x88]),
            ErrorKind::Protocol,
            2,
        ),
        (
            "trailers without END_STREAM",
            |s| {
                let mut out = frame(HEADERS, END_HEADERS, s, &[0x88]);
                out.extend(frame(HEADERS, END_HEADERS, s, &[0x00, 1, b'x', 1, b'y']));
                out
            },
            ErrorKind::Protocol,
            1,
        ),
    ];
    for (what, answer, kind, connections) in cases {
        let server = scripted(move |f| {
            if f.kind == HEADERS {
                answer(f.stream)
            } else {
                Vec::new()
            }
        })
        .await;
        let spec = RequestSpec::get(&server.url).unwrap();
        assert_eq!(send_n(&spec, 2).await, vec![Err(kind); 2], "{what}");
        assert_eq!(server.connections.load(SeqCst), connections, "{what}");
    }
}

#[tokio::test]
async fn goaway_at_or_above_our_stream_lets_the_response_finish_on_a_connection_not_reused() {
    let server = scripted(|f| {
        if f.kind != HEADERS {
            return Vec::new();
        }
        let mut goaway = f.stream.to_be_bytes().to_vec();
        goaway.extend(0u32.to_be_bytes());
        let mut out = frame(GOAWAY, 0, 0, &goaway);
        out.extend(frame(HEADERS, END_HEADERS, f.stream, &ok_head(2)));
        out.extend(frame(DATA, END_STREAM, f.stream, b"ok"));
        out
    })
    .await;
    let spec = RequestSpec::get(&server.url).unwrap();
    assert_eq!(send_n(&spec, 2).await, vec![Ok((200, 2)); 2]);
    assert_eq!(server.connections.load(SeqCst), 2);
}

#[tokio::test]
async fn goaway_behind_the_response_is_seen_before_the_next_request() {
    let server = scripted(|f| {
        if f.kind != HEADERS {
            return Vec::new();
        }
        let mut out = frame(HEADERS, END_HEADERS, f.stream, &ok_head(2));
        out.extend(frame(DATA, END_STREAM, f.stream, b"ok"));
        out.extend(frame(PING, 0, 0, b"pingpong"));
        let mut goaway = f.stream.to_be_bytes().to_vec();
        goaway.extend(0u32.to_be_bytes());
        out.extend(frame(GOAWAY, 0, 0, &goaway));
        out
    })
    .await;
    let spec = RequestSpec::get(&server.url).unwrap();
    // Not a request sent into a connection the server has already given up.
    assert_eq!(send_n(&spec, 3).await, vec![Ok((200, 2)); 3]);
    assert_eq!(server.connections.load(SeqCst), 3);
}

#[tokio::test]
async fn a_smaller_initial_window_can_make_the_stream_window_negative() {
    // The first 65,535 body bytes go out with the request, after the server's first (empty)
    // SETTINGS. Then a second SETTINGS_INITIAL_WINDOW_SIZE = 1000 puts the stream's window at
    // -64,535, and a WINDOW_UPDATE of 74,535 lets exactly 10,000 more bytes through. The
    // server answers once it has 75,535 bytes; the client then resets the rest of its body.
    const ALLOWED: usize = 65_535 + 10_000;
    let received = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&received);
    let server = scripted(move |f| match f.kind {
        SETTINGS if f.flags & ACK == 0 => settings(&[]),
        HEADERS => {
            let mut out = settings(&[(0x4, 1000)]);
            out.extend(frame(WINDOW_UPDATE, 0, f.stream, &74_535u32.to_be_bytes()));
            out.extend(frame(WINDOW_UPDATE, 0, 0, &1_000_000u32.to_be_bytes()));
            out
        }
        DATA => {
            let total = seen.fetch_add(f.payload.len(), SeqCst) + f.payload.len();
            if total >= ALLOWED && total - f.payload.len() < ALLOWED {
                let mut out = frame(HEADERS, END_HEADERS, f.stream, &ok_head(2));
                out.extend(frame(DATA, END_STREAM, f.stream, b"ok"));
                out
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    })
    .await;
    let spec = RequestSpec::new("POST", &server.url)
        .unwrap()
        .body(vec![1u8; 200_000]);
    assert_eq!(send_n(&spec, 1).await, vec![Ok((200, 2))]);
    // The client's RST_STREAM comes after all the DATA it sent.
    for _ in 0..200 {
        if server
            .sent
            .lock()
            .unwrap()
            .iter()
            .any(|f| f.kind == RST_STREAM)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        server
            .sent
            .lock()
            .unwrap()
            .iter()
            .any(|f| f.kind == RST_STREAM)
    );
    assert_eq!(received.load(SeqCst), ALLOWED);
}

#[tokio::test]
async fn an_abandoned_request_resets_its_stream_and_keeps_the_connection() {
    let heads = Arc::new(AtomicUsize::new(0));
    let server = scripted(move |f| {
        // The first request is never answered.
        if f.kind != HEADERS || heads.fetch_add(1, SeqCst) == 0 {
            return Vec::new();
        }
        let mut out = frame(HEADERS, END_HEADERS, f.stream, &ok_head(2));
        out.extend(frame(DATA, END_STREAM, f.stream, b"ok"));
        out
    })
    .await;
    let spec = RequestSpec::get(&server.url).unwrap();
    let config = TransportConfig {
        http2: true,
        redirects: 0,
        ..TransportConfig::default()
    };
    let url = spec.url.as_str().to_string();
    let transport = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
    let mut session = transport.session(0);
    for index in 0..3 {
        let request = Request::new(index, 0, &spec, &url);
        let sent = transport.send(&mut session, &request);
        match tokio::time::timeout(Duration::from_millis(200), sent).await {
            Ok(Outcome::Response(r)) => assert!(index > 0 && r.status == 200),
            Ok(Outcome::Error(e)) => panic!("{e:?}"),
            Err(_) => assert_eq!(index, 0),
        }
    }
    assert_eq!(server.connections.load(SeqCst), 1);
    // The abandoned stream was cancelled (RST_STREAM CANCEL), so the server stops on it.
    let resets: Vec<u32> = server
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.kind == RST_STREAM)
        .map(|f| f.stream)
        .collect();
    assert_eq!(resets, [1]);
}

#[tokio::test]
async fn the_last_stream_id_ends_the_connection() {
    let server = scripted(|f| {
        if f.kind != HEADERS {
            return Vec::new();
        }
        let mut out = frame(HEADERS, END_HEADERS, f.stream, &ok_head(2));
        out.extend(frame(DATA, END_STREAM, f.stream, b"ok"));
        out
    })
    .await;
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let conn = H2Conn::new(tcp);
    conn.set_next_stream(MAX_STREAM_ID - 2);
    let mut block = Vec::new();
    encode_request(&mut block, "GET", false, addr, "/", []);
    for last in [false, true] {
        assert!(conn.is_reusable());
        let r = conn
            .exchange(ask(&block, b"", false, false), &mut Duration::default())
            .await
            .unwrap();
        assert_eq!((r.status, r.bytes), (200, 2));
        assert_eq!(conn.is_reusable(), !last);
    }
    let streams: Vec<u32> = server
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.kind == HEADERS)
        .map(|f| f.stream)
        .collect();
    assert_eq!(streams, [MAX_STREAM_ID - 2, MAX_STREAM_ID]);
}

// --- Batching: the requests of one round leave in one write ---------------------------------

/// A byte stream that records the size of each write.
struct Counting<S> {
    io: S,
    writes: Rc<RefCell<Vec<usize>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.writes.borrow_mut().push(n);
        }
        result
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn the_requests_of_one_round_leave_in_one_write() {
    // More than 30 slots: join_all, like the scheduler, then polls them in a FuturesUnordered,
    // which yields to the runtime after two futures wake themselves in one poll.
    const SLOTS: usize = 40;
    const ROUNDS: usize = 3;
    // Answers only once every slot's request has arrived, all in one write: each round's
    // responses reach the client together, and every slot then sends its next request.
    let pending = Mutex::new(Vec::new());
    let server = scripted(move |f| match f.kind {
        SETTINGS if f.flags & ACK == 0 => settings(&[]),
        HEADERS => {
            let mut pending = pending.lock().unwrap();
            pending.push(f.stream);
            if pending.len() < SLOTS {
                return Vec::new();
            }
            pending
                .drain(..)
                .flat_map(|id| frame(HEADERS, END_HEADERS | END_STREAM, id, &ok_head(0)))
                .collect()
        }
        _ => Vec::new(),
    })
    .await;
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let writes: Rc<RefCell<Vec<usize>>> = Rc::default();
    let io = Counting {
        io: tokio::net::TcpStream::connect(addr).await.unwrap(),
        writes: Rc::clone(&writes),
    };
    let conn = H2Conn::new(io);
    let mut block = Vec::new();
    encode_request(&mut block, "GET", false, addr, "/", []);
    let slots: FuturesUnordered<_> = (0..SLOTS)
        .map(|_| async {
            for _ in 0..ROUNDS {
                let r = conn
                    .exchange(ask(&block, b"", false, false), &mut Duration::default())
                    .await
                    .unwrap();
                assert_eq!(r.status, 200);
            }
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(10), slots.collect::<Vec<()>>())
        .await
        .unwrap();
    assert_eq!(conn.completed(), (SLOTS * ROUNDS) as u64);
    // The preface with the first request (one stream until the server's SETTINGS), the
    // SETTINGS acknowledgement, then one write per round.
    let writes = writes.borrow();
    assert!(
        writes.len() <= ROUNDS + 2,
        "{} writes for {ROUNDS} rounds of {SLOTS} requests, of these sizes: {writes:?}",
        writes.len()
    );
}

// --- Robustness: random and mutated input never panics or hangs --------------------------

/// A byte stream that reads `input` in small pieces and swallows writes.
struct Replay {
    input: Vec<u8>,
    at: usize,
    piece: usize,
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (self.input.len() - self.at)
            .min(buf.remaining())
            .min(self.piece);
        let at = self.at;
        buf.put_slice(&self.input[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A valid answer on stream 1 using most of the protocol, to mutate.
fn seed_answer() -> Vec<u8> {
    let mut out = settings(&[(0x4, 1000), (0x5, 20_000)]);
    out.extend(frame(PING, 0, 0, b"pingpong"));
    out.extend(frame(WINDOW_UPDATE, 0, 1, &5000u32.to_be_bytes()));
    out.extend(frame(HEADERS, END_HEADERS, 1, &literal(8, b"100")));
    let mut block = vec![0x20, 0x48, 0x82];
    block.extend(huffman::encode(b"302"));
    let location = huffman::encode(b"/final");
    block.extend([0x0f, 46 - 15, 0x80 | location.len() as u8]);
    block.extend(location);
    block.extend(content_length(11));
    out.extend(padded_continued_headers(1, &block, false));
    out.extend(frame(DATA, PADDED, 1, b"\x02hello\0\0"));
    out.extend(frame(0xfa, 0, 1, b"?"));
    out.extend(frame(DATA, 0, 1, b" world"));
    out.extend(padded_continued_headers(1, &[0x00, 1, b'x', 1, b'y'], true));
    out
}

#[tokio::test]
async fn random_and_mutated_frames_never_panic() {
    let seed = seed_answer();
    let mut block = Vec::new();
    encode_request(&mut block, "POST", false, "h", "/", []);
    // The seed itself is a valid response. (Without a body: a request with one waits for the
    // server's SETTINGS and would read the whole replay, frames for its stream included,
    // before opening it.)
    let conn = H2Conn::new(Replay {
        input: seed.clone(),
        at: 0,
        piece: 1000,
    });
    let r = conn
        .exchange(ask(&block, b"", false, true), &mut Duration::default())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.bytes, r.location.as_deref()),
        (302, 11, Some("/final"))
    );
    let mut rng = fastrand::Rng::with_seed(9113);
    for _ in 0..3000 {
        let mut input = seed.clone();
        for _ in 0..rng.usize(1..8) {
            let at = rng.usize(..input.len());
            match rng.u8(..4) {
                0 => input[at] = rng.u8(..),
                1 => input[at] ^= 1 << rng.u8(..8),
                2 => input.insert(at, rng.u8(..)),
                _ => {
                    input.remove(at);
                }
            }
        }
        if rng.bool() {
            input.truncate(rng.usize(..=input.len()));
        }
        let body = vec![7; rng.usize(..70_000)];
        let conn = H2Conn::new(Replay {
            input,
            at: 0,
            piece: rng.usize(1..5000),
        });
        // Ok or an error, never a panic; the input ends, so the exchange ends.
        let _ = conn
            .exchange(
                ask(&block, &body, rng.bool(), true),
                &mut Duration::default(),
            )
            .await;
    }
}
