//! The HTTP/3 client through the transport against a small quinn + h3 server in the test:
//! sizes, bodies, connection sharing per group, and the error kinds (certificate, no answer,
//! stream reset).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use bytes::{Buf as _, Bytes};
use flak_core::{Body, ErrorKind, Outcome, Request, RequestSpec, Transport as _};

use super::H3Client;
use crate::{HttpTransport, TransportConfig};

/// A QUIC + HTTP/3 server on 127.0.0.1 with a fresh self-signed certificate: `/bytes/N` sends
/// N bytes, `/moved` redirects to `/bytes/3`, `/echo` answers with the length of the request body, `/reset` resets the stream,
/// `/told` tells what arrived (authorization, content-length, body) with `X-Token: final` and
/// `X-Other: unwanted`, anything else is 404. Counts the connections it accepted.
async fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key.into())
        .unwrap();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                counted.fetch_add(1, SeqCst);
                let mut h3 =
                    h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn))
                        .await
                        .unwrap();
                while let Ok(Some(resolver)) = h3.accept().await {
                    tokio::spawn(async move {
                        let Ok((req, mut stream)) = resolver.resolve_request().await else {
                            return;
                        };
                        let mut received = Vec::new();
                        while let Ok(Some(mut chunk)) = stream.recv_data().await {
                            while chunk.has_remaining() {
                                let piece = chunk.chunk();
                                received.extend_from_slice(piece);
                                let n = piece.len();
                                chunk.advance(n);
                            }
                        }
                        let path = req.uri().path();
                        if path == "/told" {
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .map(|v| v.to_str().unwrap().to_string())
                                    .unwrap_or_default()
                            };
                            let told = format!(
                                "auth={} len={} body={}",
                                header("authorization"),
                                header("content-length"),
                                String::from_utf8_lossy(&received)
                            );
                            let response = http::Response::builder()
                                .header("X-Token", "final")
                                .header("X-Other", "unwanted")
                                .body(())
                                .unwrap();
                            let _ = stream.send_response(response).await;
                            let _ = stream.send_data(Bytes::from(told)).await;
                            let _ = stream.finish().await;
                            return;
                        }
                        let received = received.len();
                        let (status, body) = if let Some(n) = path.strip_prefix("/bytes/") {
                            (200, vec![b'x'; n.parse().unwrap()])
                        } else if path == "/echo" {
                            (200, received.to_string().into_bytes())
                        } else if path == "/moved" {
                            let response = http::Response::builder()
                                .status(302)
                                .header("location", "/bytes/3")
                                .body(())
                                .unwrap();
                            let _ = stream.send_response(response).await;
                            let _ = stream.finish().await;
                            return;
                        } else if path == "/reset" {
                            stream.stop_stream(h3::error::Code::H3_REQUEST_REJECTED);
                            return;
                        } else {
                            (404, Vec::new())
                        };
                        let response = http::Response::builder().status(status).body(()).unwrap();
                        let _ = stream.send_response(response).await;
                        let _ = stream.send_data(Bytes::from(body)).await;
                        let _ = stream.finish().await;
                    });
                }
            });
        }
    });
    (addr, connections)
}

fn h3_transport(spec: &RequestSpec, insecure: bool, timeout: Option<Duration>) -> HttpTransport {
    let config = TransportConfig {
        http3: true,
        insecure,
        connect_timeout: timeout,
        ..TransportConfig::default()
    };
    HttpTransport::new(config, None, std::slice::from_ref(spec)).unwrap()
}

fn request(spec: &RequestSpec) -> Request<'_> {
    Request::new(0, 0, spec, spec.url.as_str())
}

#[tokio::test]
async fn sizes_bodies_and_statuses_come_back() {
    let (addr, connections) = server().await;
    let spec = RequestSpec::new("GET", &format!("https://{addr}/bytes/100000")).unwrap();
    let transport = h3_transport(&spec, true, None);
    let mut session = transport.session(0);
    for round in 0..3 {
        match transport.send(&mut session, &request(&spec)).await {
            Outcome::Response(r) => {
                assert_eq!((r.status, r.bytes), (200, 100_000));
                assert!(r.ttfb.is_some());
                // Only the request that opened the connection pays for the handshake.
                assert_eq!(r.connect.is_some(), round == 0, "round {round}");
            }
            Outcome::Error(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(connections.load(SeqCst), 1);

    let mut post = RequestSpec::new("POST", &format!("https://{addr}/echo")).unwrap();
    post.body = Body::from("twelve bytes");
    let transport = h3_transport(&post, true, None);
    let mut session = transport.session(0);
    match transport.send(&mut session, &request(&post)).await {
        // "12": two bytes saying the server read the whole body.
        Outcome::Response(r) => assert_eq!((r.status, r.bytes), (200, 2)),
        Outcome::Error(e) => panic!("{e:?}"),
    }

    let missing = RequestSpec::new("GET", &format!("https://{addr}/nothing")).unwrap();
    let transport = h3_transport(&missing, true, None);
    let mut session = transport.session(0);
    match transport.send(&mut session, &request(&missing)).await {
        Outcome::Response(r) => assert_eq!((r.status, r.bytes), (404, 0)),
        Outcome::Error(e) => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn slots_of_a_group_share_one_connection() {
    let (addr, connections) = server().await;
    let spec = RequestSpec::new("GET", &format!("https://{addr}/bytes/10")).unwrap();
    // Eight slots, four to a connection: two connections, each with four streams in flight.
    let client = H3Client::new(
        std::slice::from_ref(&spec),
        true,
        &crate::TlsOptions::default(),
        true,
        None,
        0,
        4,
    )
    .unwrap();
    let mut slots: Vec<_> = (0..8).map(|k| client.slot(k)).collect();
    let request = request(&spec);
    for _ in 0..3 {
        let outcomes =
            futures::future::join_all(slots.iter_mut().map(|slot| client.send(slot, &request)))
                .await;
        for outcome in outcomes {
            match outcome {
                Outcome::Response(r) => assert_eq!((r.status, r.bytes), (200, 10)),
                Outcome::Error(e) => panic!("{e:?}"),
            }
        }
    }
    assert_eq!(connections.load(SeqCst), 2);
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_is_tls() {
    let (addr, _) = server().await;
    let spec = RequestSpec::new("GET", &format!("https://{addr}/bytes/1")).unwrap();
    let transport = h3_transport(&spec, false, Some(Duration::from_secs(5)));
    let mut session = transport.session(0);
    match transport.send(&mut session, &request(&spec)).await {
        Outcome::Error(e) => assert_eq!(e.kind, ErrorKind::Tls, "{e:?}"),
        Outcome::Response(r) => panic!("{r:?}"),
    }
}

#[tokio::test]
async fn no_answer_is_a_connect_timeout() {
    // A UDP port nobody listens on any more.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = RequestSpec::new("GET", &format!("https://127.0.0.1:{port}/")).unwrap();
    let transport = h3_transport(&spec, true, Some(Duration::from_millis(300)));
    let mut session = transport.session(0);
    let begin = Instant::now();
    match transport.send(&mut session, &request(&spec)).await {
        Outcome::Error(e) => assert_eq!(e.kind, ErrorKind::ConnectTimeout, "{e:?}"),
        Outcome::Response(r) => panic!("{r:?}"),
    }
    assert!(begin.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_reset_stream_is_reset_and_the_connection_lives_on() {
    let (addr, connections) = server().await;
    let reset = RequestSpec::new("GET", &format!("https://{addr}/reset")).unwrap();
    let fine = RequestSpec::new("GET", &format!("https://{addr}/bytes/5")).unwrap();
    let specs = [reset, fine];
    let client = H3Client::new(
        &specs,
        true,
        &crate::TlsOptions::default(),
        true,
        None,
        0,
        1,
    )
    .unwrap();
    let mut slot = client.slot(0);
    let outcome = client
        .send(
            &mut slot,
            &Request::new(0, 0, &specs[0], specs[0].url.as_str()),
        )
        .await;
    match outcome {
        Outcome::Error(e) => assert_eq!(e.kind, ErrorKind::Reset, "{e:?}"),
        Outcome::Response(r) => panic!("{r:?}"),
    }
    let outcome = client
        .send(
            &mut slot,
            &Request::new(1, 1, &specs[1], specs[1].url.as_str()),
        )
        .await;
    assert!(matches!(outcome, Outcome::Response(r) if r.bytes == 5));
    assert_eq!(connections.load(SeqCst), 1);
}

#[test]
fn an_http_url_is_refused() {
    let spec = RequestSpec::new("GET", "http://127.0.0.1:9/").unwrap();
    let transport = h3_transport(&spec, true, None);
    let mut session = transport.session(0);
    let outcome = futures::executor::block_on(transport.send(&mut session, &request(&spec)));
    assert!(matches!(outcome, Outcome::Error(e) if e.message.contains("https")));
}

#[tokio::test]
async fn redirects_are_followed_on_the_same_connection() {
    let (addr, connections) = server().await;
    let spec = RequestSpec::new("GET", &format!("https://{addr}/moved")).unwrap();
    let client = H3Client::new(
        std::slice::from_ref(&spec),
        true,
        &crate::TlsOptions::default(),
        true,
        None,
        1,
        1,
    )
    .unwrap();
    let mut slot = client.slot(0);
    match client.send(&mut slot, &request(&spec)).await {
        Outcome::Response(r) => assert_eq!((r.status, r.bytes), (200, 3)),
        Outcome::Error(e) => panic!("{e:?}"),
    }
    // Without redirects the 302 itself is the answer.
    let client = H3Client::new(
        std::slice::from_ref(&spec),
        true,
        &crate::TlsOptions::default(),
        true,
        None,
        0,
        1,
    )
    .unwrap();
    let mut slot = client.slot(0);
    assert!(matches!(
        client.send(&mut slot, &request(&spec)).await,
        Outcome::Response(r) if r.status == 302
    ));
    assert_eq!(connections.load(SeqCst), 2);
}

#[tokio::test]
async fn a_journeys_headers_and_body_arrive_and_the_capture_keeps_the_final_response() {
    let (addr, _) = server().await;
    let spec = RequestSpec::new("POST", &format!("https://{addr}/told")).unwrap();
    let transport = h3_transport(&spec, true, None);
    let mut session = transport.session(0);
    let capture = flak_core::Capture::new(["X-TOKEN"], true);
    let headers = [("Authorization".to_string(), "Bearer tok-7".to_string())];
    let journey = Request {
        headers: &headers,
        body: Some(b"expanded"),
        capture: Some(&capture),
        ..request(&spec)
    };
    match transport.send(&mut session, &journey).await {
        Outcome::Response(r) => assert_eq!(r.status, 200),
        Outcome::Error(e) => panic!("{e:?}"),
    }
    let got = capture.got().clone();
    assert_eq!(got.headers, [("x-token".to_string(), b"final".to_vec())]);
    assert_eq!(
        String::from_utf8(got.body).unwrap(),
        "auth=Bearer tok-7 len=8 body=expanded"
    );
    assert!(!got.truncated);
    // Without a capture nothing is kept; and a redirect's response is not the one captured.
    let plain = Request::new(1, 0, &spec, spec.url.as_str());
    let _ = transport.send(&mut session, &plain).await;
    assert_eq!(capture.got().headers.len(), 1);
    let moved = RequestSpec::get(&format!("https://{addr}/moved")).unwrap();
    let config = TransportConfig {
        http3: true,
        insecure: true,
        redirects: 1,
        ..TransportConfig::default()
    };
    let transport = HttpTransport::new(config, None, std::slice::from_ref(&moved)).unwrap();
    let mut session = transport.session(0);
    let capture = flak_core::Capture::new(["location"], true);
    let followed = Request {
        capture: Some(&capture),
        ..request(&moved)
    };
    match transport.send(&mut session, &followed).await {
        Outcome::Response(r) => assert_eq!((r.status, r.bytes), (200, 3)),
        Outcome::Error(e) => panic!("{e:?}"),
    }
    let got = capture.got();
    assert!(got.headers.is_empty(), "{:?}", got.headers);
    assert_eq!(got.body, b"xxx");
}
