//! One HTTP/1.1 keep-alive connection: writes a pre-encoded request and reads the response,
//! skipping interim 1xx heads and framing the body by length, chunks or close. Bodies are
//! counted, not kept, unless a journey's capture asks for them.

use std::io::ErrorKind as Io;
use std::time::Instant;

use bytes::{Buf as _, BytesMut};
use flak_core::{Capture, ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::head::{self, Framing};
use super::protocol;
use crate::Exchanged;
use crate::budget::ReadBudget;

/// A response head larger than this is refused (hyper's default limit is ~400 KiB).
const MAX_HEAD: usize = 256 * 1024;
/// Reads grow the buffer by this much when it is nearly full (large bodies).
const READ_CHUNK: usize = 16 * 1024;
/// Each connection starts small: with 10,000 connections, buffers are most of the memory.
const INITIAL_BUFFER: usize = 4 * 1024;

/// One keep-alive connection over any byte stream (TCP or TLS).
pub struct H1Conn<S> {
    io: S,
    buf: BytesMut,
    /// False once the server said `Connection: close`, or framed the body by closing.
    reusable: bool,
    /// A server that never stops sending must not starve the timeout racing this exchange.
    budget: ReadBudget,
}

fn io_error(e: &std::io::Error, stage: &str) -> RequestError {
    let kind = match e.kind() {
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
        Io::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Other,
    };
    RequestError::new(kind, format!("{stage}: {e}"))
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(INITIAL_BUFFER),
            reusable: true,
            budget: ReadBudget::default(),
        }
    }

    /// Whether another request may be sent on this connection.
    pub fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// The underlying stream, e.g. to check whether the peer closed it while idle.
    pub fn io(&self) -> &S {
        &self.io
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 512 {
            self.buf.reserve(READ_CHUNK);
        }
        self.budget.spend().await;
        self.io.read_buf(&mut self.buf).await
    }

    /// Sends `request` (complete bytes) and reads the whole response; `capture` (a journey's)
    /// gets the final head's headers and the body.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head_request: bool,
        want_location: bool,
        started: Instant,
        capture: Option<&Capture>,
    ) -> Result<Exchanged, RequestError> {
        if let Some(capture) = capture {
            capture.clear();
        }
        self.io
            .write_all(request)
            .await
            .map_err(|e| io_error(&e, "sending the request"))?;
        self.budget.refill();
        let mut ttfb = None;
        // Skip interim 1xx responses (100 Continue, 103 Early Hints).
        let head = loop {
            let head = loop {
                match head::parse(&self.buf, head_request, want_location, capture) {
                    Ok(Some(head)) => break head,
                    Ok(None) => {}
                    Err(e) => {
                        self.reusable = false;
                        return Err(e);
                    }
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(protocol("response head larger than 256 KiB"));
                }
                let n = self
                    .fill()
                    .await
                    .map_err(|e| io_error(&e, "reading the response"))?;
                if n == 0 {
                    self.reusable = false;
                    let what = if self.buf.is_empty() {
                        "connection closed before the response"
                    } else {
                        "connection closed in the middle of the response head"
                    };
                    return Err(RequestError::new(ErrorKind::Closed, what));
                }
                ttfb.get_or_insert_with(|| started.elapsed());
            };
            self.buf.advance(head.used);
            if head.close {
                self.reusable = false;
            }
            if !(100..200).contains(&head.status) || head.status == 101 {
                break head;
            }
        };
        let ttfb = ttfb.unwrap_or_else(|| started.elapsed());
        // Only a capture that wants the body sees it.
        let capture = capture.filter(|c| c.wants_body());
        let bytes = self.read_body(head.framing, capture).await?;
        Ok(Exchanged {
            status: head.status,
            bytes,
            ttfb,
            location: head.location,
        })
    }

    async fn read_body(
        &mut self,
        framing: Framing,
        capture: Option<&Capture>,
    ) -> Result<u64, RequestError> {
        match framing {
            Framing::None => Ok(0),
            Framing::Length(n) => {
                let mut left = n;
                loop {
                    let take = (self.buf.len() as u64).min(left) as usize;
                    if let Some(capture) = capture {
                        capture.body(&self.buf[..take]);
                    }
                    self.buf.advance(take);
                    left -= take as u64;
                    if left == 0 {
                        return Ok(n);
                    }
                    if self
                        .fill()
                        .await
                        .map_err(|e| io_error(&e, "reading the body"))?
                        == 0
                    {
                        self.reusable = false;
                        return Err(RequestError::new(
                            ErrorKind::Body,
                            format!("connection closed after {} of {n} body bytes", n - left),
                        ));
                    }
                }
            }
            Framing::UntilClose => {
                self.reusable = false;
                let mut total = 0;
                loop {
                    total += self.buf.len() as u64;
                    if let Some(capture) = capture {
                        capture.body(&self.buf);
                    }
                    self.buf.clear();
                    if self
                        .fill()
                        .await
                        .map_err(|e| io_error(&e, "reading the body"))?
                        == 0
                    {
                        break;
                    }
                }
                Ok(total)
            }
            Framing::Chunked => self.read_chunked(capture).await,
        }
    }

    async fn read_chunked(&mut self, capture: Option<&Capture>) -> Result<u64, RequestError> {
        let mut total = 0u64;
        loop {
            let line = self.read_line().await?;
            let size_text = line
                .split(|b| *b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            let size = std::str::from_utf8(size_text)
                .ok()
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or_else(|| RequestError::new(ErrorKind::Body, "invalid chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(total);
            }
            let mut left = size;
            while left > 0 {
                if self.buf.is_empty() && self.fill_body().await? == 0 {
                    return Err(RequestError::new(
                        ErrorKind::Body,
                        "connection closed inside a chunk",
                    ));
                }
                let take = (self.buf.len() as u64).min(left) as usize;
                if let Some(capture) = capture {
                    capture.body(&self.buf[..take]);
                }
                self.buf.advance(take);
                left -= take as u64;
            }
            total += size;
            if !self.read_line().await?.is_empty() {
                return Err(RequestError::new(
                    ErrorKind::Body,
                    "chunk not followed by CRLF",
                ));
            }
        }
    }

    async fn fill_body(&mut self) -> Result<usize, RequestError> {
        let n = self
            .fill()
            .await
            .map_err(|e| io_error(&e, "reading the body"))?;
        if n == 0 {
            self.reusable = false;
        }
        Ok(n)
    }

    /// One CRLF-terminated line of the chunked framing, without the CRLF.
    async fn read_line(&mut self) -> Result<Vec<u8>, RequestError> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(i + 2);
                return Ok(line[..i].to_vec());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(RequestError::new(ErrorKind::Body, "chunk line too long"));
            }
            if self.fill_body().await? == 0 {
                return Err(RequestError::new(
                    ErrorKind::Body,
                    "connection closed in the chunked body",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, duplex};

    use super::*;

    /// Runs one exchange against a scripted server reply.
    fn exchange(reply: &'static [u8], head: bool) -> (Result<Exchanged, RequestError>, bool) {
        exchange_capturing(reply, head, None)
    }

    fn exchange_capturing(
        reply: &'static [u8],
        head: bool,
        capture: Option<&Capture>,
    ) -> (Result<Exchanged, RequestError>, bool) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, mut server) = duplex(1 << 16);
            tokio::spawn(async move {
                let mut req = [0u8; 1024];
                let _ = server.read(&mut req).await;
                for piece in reply.chunks(7) {
                    let _ = server.write_all(piece).await;
                    tokio::task::yield_now().await;
                }
            });
            let mut conn = H1Conn::new(client);
            let r = conn
                .exchange(
                    b"GET / HTTP/1.1\r\n\r\n",
                    head,
                    true,
                    Instant::now(),
                    capture,
                )
                .await;
            (r, conn.is_reusable())
        })
    }

    #[test]
    fn frames_bodies_every_way_http_allows() {
        let (r, reuse) = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false);
        assert_eq!((r.unwrap().bytes, reuse), (5, true));
        let (r, _) = exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: 1\r\n\r\n", false);
        assert_eq!(r.unwrap().bytes, 11);
        let (r, reuse) = exchange(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
            false,
        );
        assert_eq!((r.unwrap().bytes, reuse), (13, false));
        let (r, _) = exchange(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            false,
        );
        assert_eq!(r.unwrap().status, 204);
        let (r, _) = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true);
        assert_eq!(
            r.unwrap().bytes,
            0,
            "HEAD has no body whatever Content-Length says"
        );
        let (r, _) = exchange(
            b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        assert_eq!(r.unwrap().location.as_deref(), Some("/next"));
    }

    #[test]
    fn a_capture_keeps_the_final_heads_wanted_headers_and_the_body_however_framed() {
        let capture = Capture::new(["x-token"], true);
        let replies: [&'static [u8]; 3] = [
            b"HTTP/1.1 100 Continue\r\nX-Token: early\r\n\r\nHTTP/1.1 200 OK\r\nX-Token: t\r\nX-No: n\r\nContent-Length: 11\r\n\r\nhello world",
            b"HTTP/1.1 200 OK\r\nx-token: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-Token: trailer\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-TOKEN: t\r\nConnection: close\r\n\r\nhello world",
        ];
        for reply in replies {
            let (r, _) = exchange_capturing(reply, false, Some(&capture));
            assert_eq!(r.unwrap().bytes, 11);
            let got = capture.got();
            assert_eq!(got.headers, [("x-token".to_string(), b"t".to_vec())]);
            assert_eq!((&got.body[..], got.truncated), (&b"hello world"[..], false));
        }
        // Headers only: the body is counted, not kept.
        let headers_only = Capture::new(["x-token"], false);
        let (r, _) = exchange_capturing(replies[0], false, Some(&headers_only));
        assert_eq!(r.unwrap().bytes, 11);
        assert!(headers_only.got().body.is_empty());
    }

    #[test]
    fn broken_responses_land_in_their_error_kind() {
        let kind = |reply: &'static [u8]| exchange(reply, false).0.unwrap_err().kind;
        assert_eq!(kind(b""), ErrorKind::Closed);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-"), ErrorKind::Closed);
        assert_eq!(kind(b"SSH-2.0-nope\r\n\r\n"), ErrorKind::Protocol);
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
            ErrorKind::Body
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            ErrorKind::Protocol
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            ErrorKind::Body
        );
    }
}
