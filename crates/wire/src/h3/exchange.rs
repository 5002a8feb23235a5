//! One request and its response on an HTTP/3 connection: the body is counted as it arrives,
//! kept only for a journey's capture.

use std::time::Instant;

use bytes::{Buf, Bytes};
use flak_core::{Capture, RequestError};

use super::connect::Sender;
use super::errors::stream_error;
use crate::Exchanged;

/// `None`s in a row from `recv_data` that end a body: empty DATA frames come one at a time.
const END_CONFIRMATIONS: u32 = 3;

pub(super) async fn exchange(
    send: &mut Sender,
    request: http::Request<()>,
    body: Bytes,
    want_location: bool,
    started: Instant,
    capture: Option<&Capture>,
) -> Result<Exchanged, RequestError> {
    if let Some(capture) = capture {
        capture.clear();
    }
    let mut stream = send
        .send_request(request)
        .await
        .map_err(|e| stream_error(&e))?;
    if !body.is_empty() {
        stream.send_data(body).await.map_err(|e| stream_error(&e))?;
    }
    stream.finish().await.map_err(|e| stream_error(&e))?;
    let response = stream.recv_response().await.map_err(|e| stream_error(&e))?;
    let ttfb = started.elapsed();
    let location = want_location
        .then(|| response.headers().get(http::header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(capture) = capture.filter(|c| !c.header_names().is_empty()) {
        for (name, value) in response.headers() {
            capture.header(name.as_str().as_bytes(), value.as_bytes());
        }
    }
    let capture = capture.filter(|c| c.wants_body());
    // h3 0.0.8 ends `recv_data` (`None`) at a DATA frame of no bytes as if the body were over;
    // quic-go (Caddy) sends one before the last bytes of a gzip body, which were then missed.
    // So `None` is believed only when it repeats: at the true end of the stream (or after
    // trailers) another call returns `None` at once.
    let mut bytes = 0u64;
    let mut ends = 0;
    while ends < END_CONFIRMATIONS {
        match stream.recv_data().await.map_err(|e| stream_error(&e))? {
            Some(mut chunk) => {
                bytes += chunk.remaining() as u64;
                ends = 0;
                if let Some(capture) = capture {
                    while chunk.has_remaining() {
                        let piece = chunk.chunk();
                        capture.body(piece);
                        let n = piece.len();
                        chunk.advance(n);
                    }
                }
            }
            None => ends += 1,
        }
    }
    Ok(Exchanged {
        status: response.status().as_u16(),
        bytes,
        ttfb,
        location,
    })
}
