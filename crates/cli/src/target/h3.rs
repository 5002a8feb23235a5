//! `flak target --http3`: the same routes over HTTP/3, on a QUIC endpoint bound to the TCP
//! listener's address (same IP, same port number, UDP). Each request's body is read and
//! counted (its first 64 KiB kept for the route) before the route answers; `/close` resets the request's stream, since closing the
//! whole QUIC connection would take the other requests on it down too.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::header::{CONTENT_LENGTH, HeaderValue};

use super::counters::Counters;
use super::routes::{MAX_BODY, handle};

/// Streams in flight per connection that a client may open: enough for any `-p`, so the
/// server never becomes the limit it is measuring.
const MAX_STREAMS: u32 = 1024;

/// A QUIC endpoint on UDP `addr`, speaking `h3` with `cert`.
pub(super) fn endpoint(addr: SocketAddr, cert: &super::Cert) -> anyhow::Result<quinn::Endpoint> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], cert.key.clone_key())
        .context("TLS certificate")?;
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic =
        quinn::crypto::rustls::QuicServerConfig::try_from(tls).context("TLS settings for QUIC")?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(MAX_STREAMS.into());
    config.transport_config(Arc::new(transport));
    quinn::Endpoint::server(config, addr)
        .with_context(|| format!("cannot listen on UDP {addr} for HTTP/3"))
}

/// Accepts connections until the process ends; one task per connection and per request.
pub(super) async fn serve(endpoint: quinn::Endpoint, counters: Arc<Counters>) {
    while let Some(incoming) = endpoint.accept().await {
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let Ok(conn) = incoming.await else { return };
            let Ok(mut h3) =
                h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await
            else {
                return;
            };
            while let Ok(Some(resolver)) = h3.accept().await {
                let counters = Arc::clone(&counters);
                tokio::spawn(async move {
                    let _ = answer(resolver, counters).await;
                });
            }
        });
    }
}

async fn answer(
    resolver: h3::server::RequestResolver<h3_quinn::Connection, Bytes>,
    counters: Arc<Counters>,
) -> Result<(), h3::error::StreamError> {
    let (request, mut stream) = resolver.resolve_request().await?;
    let mut received = 0u64;
    // The first MAX_BODY bytes are kept for the route; `None` once there were more.
    let mut kept = Some(BytesMut::new());
    while let Some(mut chunk) = stream.recv_data().await? {
        let n = chunk.remaining();
        received += n as u64;
        kept = kept.filter(|k| k.len() + n <= MAX_BODY);
        match &mut kept {
            Some(k) => k.put(&mut chunk),
            None => chunk.advance(n),
        }
    }
    counters.body(received);
    let body = kept.map(BytesMut::freeze);
    let Ok(reply) = handle(request, body, counters).await else {
        stream.stop_stream(h3::error::Code::H3_REQUEST_REJECTED);
        return Ok(());
    };
    let (mut parts, body) = reply.into_parts();
    // Full<Bytes> is ready at once and cannot fail.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    stream
        .send_response(hyper::Response::from_parts(parts, ()))
        .await?;
    if !body.is_empty() {
        stream.send_data(body).await?;
    }
    stream.finish().await
}
