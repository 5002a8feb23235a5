//! A lean HTTP/1.1 client connection for the hot path, because a load generator pays for every
//! instruction it spends per request: the request bytes are encoded once per template and
//! written with one call, and the response is framed with `httparse` without building a header
//! map (only Content-Length, Transfer-Encoding, Connection and, for redirects, Location are
//! read). This is what wrk does in C. HTTP/2 has its own lean client in `h2.rs`.

use std::io::ErrorKind as Io;
use std::time::{Duration, Instant};

use bytes::{Buf as _, BytesMut};
use flak_core::{ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Responses with more header lines than this are refused as not HTTP we can load-test.
const MAX_HEADERS: usize = 64;
/// A response head larger than this is refused (hyper's default limit is ~400 KiB).
const MAX_HEAD: usize = 256 * 1024;
/// Reads grow the buffer by this much when it is nearly full (large bodies).
const READ_CHUNK: usize = 16 * 1024;
/// Each connection starts small: with 10,000 connections, buffers are most of the memory.
const INITIAL_BUFFER: usize = 4 * 1024;

/// What came back from one exchange (HTTP/1.1 here, HTTP/2 in `h2.rs`): status, body bytes,
/// time to the final response head, the Location header when asked.
#[derive(Debug)]
pub struct Exchanged {
    pub status: u16,
    pub bytes: u64,
    pub ttfb: Duration,
    pub location: Option<String>,
}

/// One keep-alive connection over any byte stream (TCP or TLS).
pub struct H1Conn<S> {
    io: S,
    buf: BytesMut,
    /// False once the server said `Connection: close`, or framed the body by closing.
    reusable: bool,
}

fn io_error(e: &std::io::Error, stage: &str) -> RequestError {
    let kind = match e.kind() {
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
        Io::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Other,
    };
    RequestError::new(kind, format!("{stage}: {e}"))
}

fn protocol(what: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        ErrorKind::Protocol,
        format!("invalid HTTP response: {what}"),
    )
}

/// How the body of a response is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(INITIAL_BUFFER),
            reusable: true,
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
        self.io.read_buf(&mut self.buf).await
    }

    /// Sends `request` (complete bytes) and reads the whole response.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head_request: bool,
        want_location: bool,
        started: Instant,
    ) -> Result<Exchanged, RequestError> {
        self.io
            .write_all(request)
            .await
            .map_err(|e| io_error(&e, "sending the request"))?;
        let mut ttfb = None;
        // Skip interim 1xx responses (100 Continue, 103 Early Hints).
        let (status, framing, location) = loop {
            let (status, framing, location, used) = loop {
                if let Some(parsed) = self.parse_head(head_request, want_location)? {
                    break parsed;
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
            self.buf.advance(used);
            if !(100..200).contains(&status) || status == 101 {
                break (status, framing, location);
            }
        };
        let ttfb = ttfb.unwrap_or_else(|| started.elapsed());
        let bytes = self.read_body(framing).await?;
        Ok(Exchanged {
            status,
            bytes,
            ttfb,
            location,
        })
    }

    /// Parses a response head at the start of the buffer: `None` when incomplete.
    #[allow(clippy::type_complexity)]
    fn parse_head(
        &mut self,
        head_request: bool,
        want_location: bool,
    ) -> Result<Option<(u16, Framing, Option<String>, usize)>, RequestError> {
        // Uninitialised slots: zeroing 64 headers (2 KiB) cost more than parsing nginx's eight.
        let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            &self.buf,
            &mut headers,
        ) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => {
                self.reusable = false;
                return Err(protocol(e));
            }
        };
        let status = response.code.unwrap_or(0);
        let mut length = None;
        let mut chunked = false;
        let mut close = response.version == Some(0);
        let mut location = None;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let n = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| protocol("bad Content-Length"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(protocol("conflicting Content-Length headers"));
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .rsplit(|b| *b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                let v = h.value.trim_ascii();
                if v.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if v.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            } else if want_location && h.name.eq_ignore_ascii_case("location") {
                location = std::str::from_utf8(h.value).ok().map(str::to_string);
            }
        }
        if close {
            self.reusable = false;
        }
        let no_body =
            head_request || (100..200).contains(&status) || status == 204 || status == 304;
        let framing = if no_body {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        Ok(Some((status, framing, location, used)))
    }

    async fn read_body(&mut self, framing: Framing) -> Result<u64, RequestError> {
        match framing {
            Framing::None => Ok(0),
            Framing::Length(n) => {
                let mut left = n;
                loop {
                    let take = (self.buf.len() as u64).min(left) as usize;
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
                let mut total = self.buf.len() as u64;
                self.buf.clear();
                while self
                    .fill()
                    .await
                    .map_err(|e| io_error(&e, "reading the body"))?
                    > 0
                {
                    total += self.buf.len() as u64;
                    self.buf.clear();
                }
                Ok(total)
            }
            Framing::Chunked => self.read_chunked().await,
        }
    }

    async fn read_chunked(&mut self) -> Result<u64, RequestError> {
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

/// Encodes a whole request: request line, headers (Host and User-Agent unless given), body.
pub fn encode_request(
    out: &mut Vec<u8>,
    method: &str,
    path_and_query: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) {
    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(if path_and_query.is_empty() {
        b"/"
    } else {
        path_and_query.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has("user-agent") {
        out.extend_from_slice(b"User-Agent: ");
        out.extend_from_slice(crate::USER_AGENT.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let needs_length = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    if needs_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, duplex};

    use super::*;

    /// Runs one exchange against a scripted server reply.
    fn exchange(reply: &'static [u8], head: bool) -> (Result<Exchanged, RequestError>, bool) {
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
                .exchange(b"GET / HTTP/1.1\r\n\r\n", head, true, Instant::now())
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

    #[test]
    fn requests_are_encoded_once_with_host_agent_and_length() {
        let mut out = Vec::new();
        encode_request(
            &mut out,
            "POST",
            "/a?b=1",
            "h:8",
            &[("X-K".into(), "v".into())],
            b"{}",
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("POST /a?b=1 HTTP/1.1\r\nHost: h:8\r\nUser-Agent: flak/"));
        assert!(text.ends_with("X-K: v\r\nContent-Length: 2\r\n\r\n{}"));
        encode_request(
            &mut out,
            "GET",
            "",
            "h",
            &[("Host".into(), "other".into())],
            b"",
        );
        assert_eq!(String::from_utf8(out).unwrap().matches("Host").count(), 1);
    }
}
