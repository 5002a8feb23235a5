//! The private decoders, for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`): everything
//! here reads bytes a server sent, which nobody here can trust.

use std::time::Instant;

use flak_core::Capture;
use tokio::io::{AsyncRead, AsyncWrite};

pub use crate::h1::head::{Framing, Head as H1Head, parse as h1_head};
pub use crate::h2::frame::parse_header as h2_frame_header;
pub use crate::h2::hpack::decode::Keep as HpackKeep;
pub use crate::h2::hpack::encode::put_int as hpack_put_int;
pub use crate::h2::hpack::huffman::{decode as huffman_decode, encode as huffman_encode};
pub use crate::h2::hpack::{Decoder as HpackDecoder, Head as H2Head};
use crate::{Exchanged, RequestError};

pub use crate::proxy::MAX_HEAD as PROXY_MAX_HEAD;

/// A CONNECT to `h:443` through a proxy whose answer is read from `io`.
pub async fn proxy_connect<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
) -> Result<(), RequestError> {
    let proxy = crate::route::Proxy {
        host: "p".into(),
        port: 1,
        authorization: None,
    };
    crate::proxy::tunnel(io, &proxy, "h", 443).await
}

/// One HTTP/1.1 exchange over `io`: the request bytes are written, the response read whole,
/// what `capture` wants of it kept there.
pub async fn h1_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    head_request: bool,
    capture: Option<&Capture>,
) -> (Result<Exchanged, RequestError>, bool) {
    let mut conn = crate::h1::H1Conn::new(io);
    let r = conn
        .exchange(
            b"GET / HTTP/1.1\r\nHost: f\r\n\r\n",
            head_request,
            true,
            Instant::now(),
            capture,
        )
        .await;
    (r, conn.is_reusable())
}

/// One HTTP/2 exchange over `io` (a request with `body`), then, if the connection is still
/// reusable, a second one on the next stream; `capture` keeps what it wants of the first.
pub async fn h2_exchanges<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    body: &[u8],
    head_request: bool,
    capture: Option<&Capture>,
) -> Vec<Result<Exchanged, RequestError>> {
    let mut block = Vec::new();
    crate::h2::encode_request(&mut block, "POST", false, "f", "/", []);
    let conn = crate::h2::H2Conn::new(io);
    let ask = |body, head_request, capture| crate::h2::Ask {
        block: &block,
        body,
        head_request,
        want_location: true,
        started: Instant::now(),
        capture,
    };
    let failed = |f: crate::h2::Failed| match f {
        crate::h2::Failed::Error(e, _) => e,
        crate::h2::Failed::Unusable => RequestError::new(crate::ErrorKind::Closed, "unusable"),
    };
    let mut wait = std::time::Duration::ZERO;
    let mut out = vec![
        conn.exchange(ask(body, head_request, capture), &mut wait)
            .await
            .map_err(failed),
    ];
    if conn.is_reusable() {
        out.push(
            conn.exchange(ask(b"", false, None), &mut wait)
                .await
                .map_err(failed),
        );
    }
    out
}
