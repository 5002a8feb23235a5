//! What the flak-wire targets share: an in-memory connection that plays a server's bytes back
//! in pieces, an executor for exchanges over it, and a reader of what the client wrote.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A server that sends `data` in pieces of the given sizes (cycled; 0 counts as 1), then closes
/// (EOF), and takes whatever the client writes.
pub struct Script<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
    pub written: Vec<u8>,
}

impl<'a> Script<'a> {
    pub fn new(data: &'a [u8], sizes: &[u8]) -> Self {
        let sizes = if sizes.is_empty() {
            vec![usize::MAX]
        } else {
            sizes.iter().map(|&s| usize::from(s).max(1)).collect()
        };
        Self {
            data,
            sizes,
            next: 0,
            written: Vec::new(),
        }
    }
}

impl AsyncRead for Script<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let n = size.min(self.data.len()).min(buf.remaining());
        let (piece, rest) = self.data.split_at(n);
        buf.put_slice(piece);
        self.data = rest;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Script<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs an exchange to its end. The clients use no timers and no runtime (only
/// `Instant::now()`), and the script is always ready, so the exchange returns `Pending` only
/// to yield (the read budget, every 64 reads that did not wait), and a poll after that goes
/// on. Many `Pending`s in a row would be a hang on a real connection that has nothing more to
/// send: each yield takes 64 reads of at least one byte, so the input's length bounds them.
pub fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    for _ in 0..100_000 {
        if let Poll::Ready(out) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return out;
        }
    }
    panic!("an exchange waits on a connection that is always ready")
}

/// HTTP/2 frames in `bytes` as (type, flags, stream, payload), as far as they are whole.
pub fn frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, &[u8])> {
    let mut out = Vec::new();
    while bytes.len() >= 9 {
        let h: &[u8; 9] = bytes[..9].try_into().unwrap();
        let (len, kind, flags, stream) = flak_wire::fuzz_bridge::h2_frame_header(h);
        let Some(payload) = bytes.get(9..9 + len) else {
            break;
        };
        out.push((kind, flags, stream, payload));
        bytes = &bytes[9 + len..];
    }
    out
}

/// Checks what an HTTP/2 client wrote, given what the server sent (`input`), the request body
/// and the exchanges' results: the preface and whole frames, DATA only on the request streams
/// and never more than the body, nor more than the connection's send window ever allowed; and
/// an exchange that succeeded sent its whole body or reset its stream.
pub fn check_h2_written(
    written: &[u8],
    input: &[u8],
    body: &[u8],
    results: &[Result<flak_wire::Exchanged, flak_wire::RequestError>],
) {
    use flak_wire::h2::frame::{DATA, END_STREAM, PREFACE, RST_STREAM, WINDOW_UPDATE};
    let rest = written
        .strip_prefix(PREFACE)
        .expect("the client starts with the preface");
    let mut at = 0;
    let out = frames(rest);
    for (_, _, _, p) in &out {
        at += 9 + p.len();
    }
    assert_eq!(at, rest.len(), "the client wrote a partial frame");
    // The most the connection's send window ever allowed: 65,535 plus every increment the
    // server sent on stream 0 (an upper bound: the client may not have read them all).
    let granted: i64 = 65_535
        + frames(input)
            .iter()
            .filter(|(kind, _, stream, p)| *kind == WINDOW_UPDATE && *stream == 0 && p.len() == 4)
            .map(|(_, _, _, p)| {
                i64::from(u32::from_be_bytes((*p).try_into().unwrap()) & 0x7fff_ffff)
            })
            .sum::<i64>();
    let mut data_total = 0i64;
    for (i, result) in results.iter().enumerate() {
        let id = 1 + 2 * i as u32;
        let this_body: &[u8] = if i == 0 { body } else { b"" };
        let mut sent = 0usize;
        let mut ended = false;
        let mut reset = false;
        for &(kind, flags, stream, payload) in &out {
            if stream != id {
                continue;
            }
            if kind == DATA {
                assert!(!ended, "DATA after END_STREAM on stream {id}");
                sent += payload.len();
                ended |= flags & END_STREAM != 0;
            }
            if kind == RST_STREAM {
                reset = true;
            }
        }
        assert!(
            sent <= this_body.len(),
            "stream {id}: {sent} DATA bytes for a {}-byte body",
            this_body.len()
        );
        if result.is_ok() && !reset {
            assert_eq!(
                sent,
                this_body.len(),
                "stream {id} succeeded with part of its body sent"
            );
        }
        data_total += sent as i64;
    }
    for &(kind, _, stream, _) in &out {
        if kind == DATA {
            assert!(
                stream >= 1 && stream as usize <= 2 * results.len() - 1,
                "DATA on stream {stream}"
            );
        }
    }
    assert!(
        data_total <= granted,
        "{data_total} DATA bytes sent, the connection window allowed {granted}"
    );
    let total_in: u64 = frames(input)
        .iter()
        .filter(|(kind, ..)| *kind == DATA)
        .map(|(_, _, _, p)| p.len() as u64)
        .sum();
    for r in results.iter().flatten() {
        assert!(
            r.bytes <= total_in,
            "{} body bytes out of {total_in} DATA bytes",
            r.bytes
        );
        assert!(
            (100..1000).contains(&r.status) && !(100..200).contains(&r.status),
            "status {}",
            r.status
        );
    }
}

/// The capture the HTTP/2 targets give their first exchange: two header names and the body.
pub fn capture() -> flak_core::Capture {
    flak_core::Capture::new(["x-a", "Server"], true)
}

/// What a capture holds after an exchange that succeeded: only wanted names, and as much of
/// the body as was counted, up to the limit.
pub fn check_capture(
    capture: &flak_core::Capture,
    result: &Result<flak_wire::Exchanged, flak_wire::RequestError>,
) {
    let Ok(exchanged) = result else { return };
    let got = capture.got();
    for (name, _) in &got.headers {
        assert!(name == "x-a" || name == "server", "{name}");
    }
    let limit = flak_core::CAPTURE_BODY_LIMIT as u64;
    assert_eq!(
        got.body.len() as u64,
        exchanged.bytes.min(limit),
        "captured body"
    );
    assert_eq!(got.truncated, exchanged.bytes > limit);
}
