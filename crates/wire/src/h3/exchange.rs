//! One request and its response on an HTTP/3 connection: the body is counted as it arrives,
//! never kept.

use std::time::Instant;

use bytes::{Buf, Bytes};
use flak_core::RequestError;

use super::connect::Sender;
use super::errors::stream_error;
use crate::Exchanged;

pub(super) async fn exchange(
    send: &mut Sender,
    request: http::Request<()>,
    body: Bytes,
    want_location: bool,
    started: Instant,
) -> Result<Exchanged, RequestError> {
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
    let mut bytes = 0u64;
    while let Some(chunk) = stream.recv_data().await.map_err(|e| stream_error(&e))? {
        bytes += chunk.remaining() as u64;
    }
    Ok(Exchanged {
        status: response.status().as_u16(),
        bytes,
        ttfb,
        location,
    })
}
