//! A lean HTTP/2 client connection for the hot path, the HTTP/2 sibling of `h1.rs`. A slot owns
//! its connection and runs one stream at a time on it, so there is no connection task, no
//! channel and no stream table: the exchange itself reads and answers frames. The request's
//! header block is HPACK-encoded once per template; the connection advertises a zero-size HPACK
//! dynamic table, so response header blocks decode without a table, and only `:status`,
//! `content-length` and (for redirects) `location` are looked at, without a header map.

use std::io::ErrorKind as Io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use flak_core::{ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::h1::Exchanged;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

// Frame flags.
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// The receive window granted to the connection and to each stream: large, so that responses
/// up to half of it need no WINDOW_UPDATE at all.
const RECV_WINDOW: u32 = 1 << 30;
/// The flow-control window every connection and stream starts with (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: i64 = 65_535;
/// The largest frame we accept: the default SETTINGS_MAX_FRAME_SIZE, which we keep.
const MAX_FRAME: usize = 16_384;
/// A response header block larger than this is refused.
const MAX_HEAD: usize = 256 * 1024;
const MAX_STREAM_ID: u32 = (1 << 31) - 1;
/// The largest flow-control window (RFC 9113 §6.9.1).
const MAX_WINDOW: i64 = (1 << 31) - 1;
/// Each connection's read buffer starts this small and grows to a whole frame on demand.
const INITIAL_BUFFER: usize = 4 * 1024;

/// One HTTP/2 connection over any byte stream (TCP with prior knowledge, or TLS after ALPN).
pub struct H2Conn<S> {
    io: S,
    /// Received bytes in `rbuf[start..end]`; the whole vector stays initialized, so reads need
    /// no zeroing.
    rbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// Frames waiting to be written: the preface before the first request, SETTINGS and PING
    /// acknowledgements, window updates.
    wbuf: Vec<u8>,
    /// A header block split over CONTINUATION frames, gathered here.
    block: Vec<u8>,
    next_stream: u32,
    /// The connection's send window, and the window each new stream starts with (the peer's
    /// SETTINGS_INITIAL_WINDOW_SIZE).
    send_window: i64,
    initial_send_window: i64,
    peer_max_frame: usize,
    /// DATA bytes received since the connection's receive window was last topped up.
    recv_used: u32,
    /// False after GOAWAY, when stream ids run out, or once a response broke the protocol.
    reusable: bool,
}

fn io_error(e: &std::io::Error, stage: Stage) -> RequestError {
    let kind = match e.kind() {
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
        _ if stage == Stage::Body => ErrorKind::Body,
        Io::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Other,
    };
    RequestError::new(kind, format!("{}: {e}", stage.what()))
}

fn protocol(what: impl std::fmt::Display) -> RequestError {
    RequestError::new(
        ErrorKind::Protocol,
        format!("invalid HTTP/2 response: {what}"),
    )
}

/// Where in the exchange an error happened: before the response head it is the request that
/// failed; after it, the body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Request,
    Body,
}

impl Stage {
    fn what(self) -> &'static str {
        match self {
            Stage::Request => "request",
            Stage::Body => "body",
        }
    }
}

fn put_frame_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = len as u32;
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
}

fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_frame_header(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// The state of the one stream in flight.
struct Exchange {
    id: u32,
    stage: Stage,
    send_window: i64,
    body_sent: usize,
    /// DATA bytes received on this stream since its window was last topped up.
    recv_used: u32,
    head: Head,
    status: u16,
    bytes: u64,
    started: Instant,
    /// When the final response head arrived, counted from `started`.
    ttfb: Duration,
    done: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H2Conn<S> {
    /// A new connection: the preface and our SETTINGS are queued and go out with the first
    /// request, in the same write.
    pub fn new(io: S) -> Self {
        let mut wbuf = Vec::with_capacity(256);
        wbuf.extend_from_slice(PREFACE);
        let settings: [(u16, u32); 3] = [
            (0x1, 0),           // SETTINGS_HEADER_TABLE_SIZE: no dynamic table for responses
            (0x2, 0),           // SETTINGS_ENABLE_PUSH: off
            (0x4, RECV_WINDOW), // SETTINGS_INITIAL_WINDOW_SIZE
        ];
        put_frame_header(&mut wbuf, settings.len() * 6, SETTINGS, 0, 0);
        for (id, value) in settings {
            wbuf.extend_from_slice(&id.to_be_bytes());
            wbuf.extend_from_slice(&value.to_be_bytes());
        }
        put_window_update(&mut wbuf, 0, RECV_WINDOW - DEFAULT_WINDOW as u32);
        Self {
            io,
            rbuf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            wbuf,
            block: Vec::new(),
            next_stream: 1,
            send_window: DEFAULT_WINDOW,
            initial_send_window: DEFAULT_WINDOW,
            peer_max_frame: MAX_FRAME,
            recv_used: 0,
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

    /// Sends one request (its HPACK header block from [`encode_request`] and its body) on a new
    /// stream and reads the whole response.
    pub async fn exchange(
        &mut self,
        block: &[u8],
        body: &[u8],
        head_request: bool,
        want_location: bool,
        started: Instant,
    ) -> Result<Exchanged, RequestError> {
        let result = self
            .exchange_inner(block, body, head_request, want_location, started)
            .await;
        if result.is_err() {
            self.reusable = false;
        }
        result
    }

    async fn exchange_inner(
        &mut self,
        block: &[u8],
        body: &[u8],
        head_request: bool,
        want_location: bool,
        started: Instant,
    ) -> Result<Exchanged, RequestError> {
        let id = self.next_stream;
        self.next_stream += 2;
        if self.next_stream > MAX_STREAM_ID {
            self.reusable = false;
        }
        self.put_headers(id, block, body.is_empty());
        let mut ex = Exchange {
            id,
            stage: Stage::Request,
            send_window: self.initial_send_window,
            body_sent: 0,
            recv_used: 0,
            head: Head::default(),
            status: 0,
            bytes: 0,
            started,
            ttfb: Duration::ZERO,
            done: false,
        };
        loop {
            if ex.body_sent < body.len() {
                if ex.done {
                    // The server answered before taking the whole body: close our side.
                    put_frame_header(&mut self.wbuf, 4, RST_STREAM, 0, id);
                    self.wbuf.extend_from_slice(&0u32.to_be_bytes()); // NO_ERROR
                } else {
                    self.put_body(&mut ex, body);
                }
            }
            if !self.wbuf.is_empty() {
                self.write_out(ex.stage).await?;
            }
            if ex.done {
                break;
            }
            self.read_frame(&mut ex, want_location).await?;
        }
        if self.goaway_buffered() {
            self.reusable = false;
        }
        let no_body = head_request || ex.status == 204 || ex.status == 304;
        if let Some(length) = ex.head.content_length
            && !no_body
            && length != ex.bytes
        {
            return Err(RequestError::new(
                ErrorKind::Body,
                format!(
                    "body: {} bytes received, content-length says {length}",
                    ex.bytes
                ),
            ));
        }
        Ok(Exchanged {
            status: ex.status,
            bytes: ex.bytes,
            ttfb: ex.ttfb,
            location: ex.head.location.take(),
        })
    }

    /// Queues HEADERS (and CONTINUATION frames for a block larger than a frame).
    fn put_headers(&mut self, id: u32, block: &[u8], end_stream: bool) {
        let max = self.peer_max_frame;
        let end = if end_stream { END_STREAM } else { 0 };
        let mut chunks = block.chunks(max).peekable();
        let first = chunks.next().unwrap_or(&[]);
        let flags = end
            | if chunks.peek().is_none() {
                END_HEADERS
            } else {
                0
            };
        put_frame_header(&mut self.wbuf, first.len(), HEADERS, flags, id);
        self.wbuf.extend_from_slice(first);
        while let Some(chunk) = chunks.next() {
            let flags = if chunks.peek().is_none() {
                END_HEADERS
            } else {
                0
            };
            put_frame_header(&mut self.wbuf, chunk.len(), CONTINUATION, flags, id);
            self.wbuf.extend_from_slice(chunk);
        }
    }

    /// Queues as much of the body as the flow-control windows allow.
    fn put_body(&mut self, ex: &mut Exchange, body: &[u8]) {
        while ex.body_sent < body.len() {
            let window = self.send_window.min(ex.send_window);
            if window <= 0 {
                return;
            }
            let left = body.len() - ex.body_sent;
            let n = left.min(self.peer_max_frame).min(window as usize);
            let flags = if n == left { END_STREAM } else { 0 };
            put_frame_header(&mut self.wbuf, n, DATA, flags, ex.id);
            self.wbuf
                .extend_from_slice(&body[ex.body_sent..ex.body_sent + n]);
            ex.body_sent += n;
            self.send_window -= n as i64;
            ex.send_window -= n as i64;
        }
    }

    async fn write_out(&mut self, stage: Stage) -> Result<(), RequestError> {
        let result = async {
            self.io.write_all(&self.wbuf).await?;
            self.io.flush().await
        }
        .await;
        self.wbuf.clear();
        result.map_err(|e| io_error(&e, stage))
    }

    /// Makes sure `rbuf[start..start + need]` holds received bytes.
    async fn fill(&mut self, need: usize, stage: Stage) -> Result<(), RequestError> {
        while self.end - self.start < need {
            if self.start + need > self.rbuf.len() {
                self.rbuf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if need > self.rbuf.len() {
                    self.rbuf.resize(need.max(2 * self.rbuf.len()), 0);
                }
            }
            let n = self
                .io
                .read(&mut self.rbuf[self.end..])
                .await
                .map_err(|e| io_error(&e, stage))?;
            if n == 0 {
                let what = match stage {
                    Stage::Request if self.end == self.start => {
                        "connection closed before the response"
                    }
                    Stage::Request => "connection closed in the middle of the response head",
                    Stage::Body => "body: connection closed in the middle of the response body",
                };
                let kind = match stage {
                    Stage::Request => ErrorKind::Closed,
                    Stage::Body => ErrorKind::Body,
                };
                return Err(RequestError::new(kind, what));
            }
            self.end += n;
        }
        Ok(())
    }

    /// Reads one whole frame: (type, flags, stream id, payload range in `rbuf`).
    async fn next_frame(
        &mut self,
        stage: Stage,
    ) -> Result<(u8, u8, u32, std::ops::Range<usize>), RequestError> {
        self.fill(9, stage).await?;
        let h = &self.rbuf[self.start..self.start + 9];
        let len = (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
        let (kind, flags) = (h[3], h[4]);
        let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & MAX_STREAM_ID;
        if len > MAX_FRAME {
            return Err(protocol(format!(
                "{len}-byte frame, larger than SETTINGS_MAX_FRAME_SIZE"
            )));
        }
        self.fill(9 + len, stage).await?;
        let payload = self.start + 9..self.start + 9 + len;
        self.start += 9 + len;
        if self.start == self.end {
            // Everything consumed: reads start at the front again (the payload stays readable
            // until the next fill).
            self.start = 0;
            self.end = 0;
        }
        Ok((kind, flags, stream, payload))
    }

    /// Whether a GOAWAY already sits, read but not yet handled, behind the response: it came
    /// with the response's last frames, and a next request on this connection would be refused.
    fn goaway_buffered(&self) -> bool {
        let mut at = self.start;
        while let Some(h) = self.rbuf[..self.end].get(at..at + 9) {
            if h[3] == GOAWAY {
                return true;
            }
            at += 9 + ((usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]));
        }
        false
    }

    /// Reads one frame and acts on it.
    async fn read_frame(
        &mut self,
        ex: &mut Exchange,
        want_location: bool,
    ) -> Result<(), RequestError> {
        let (kind, flags, stream, range) = self.next_frame(ex.stage).await?;
        let len = range.len();
        match kind {
            DATA => {
                if stream == 0 {
                    return Err(protocol("DATA on stream 0"));
                }
                self.recv_used += len as u32;
                if self.recv_used >= RECV_WINDOW / 2 {
                    put_window_update(&mut self.wbuf, 0, self.recv_used);
                    self.recv_used = 0;
                }
                if stream != ex.id {
                    return Ok(());
                }
                if ex.stage != Stage::Body {
                    return Err(protocol("DATA before the response head"));
                }
                let payload = &self.rbuf[range];
                let data = unpad(payload, flags)?;
                ex.bytes += data.len() as u64;
                if flags & END_STREAM != 0 {
                    ex.done = true;
                } else {
                    ex.recv_used += len as u32;
                    if ex.recv_used >= RECV_WINDOW / 2 {
                        put_window_update(&mut self.wbuf, ex.id, ex.recv_used);
                        ex.recv_used = 0;
                    }
                }
            }
            HEADERS => {
                if stream != ex.id {
                    return Err(protocol(format!(
                        "HEADERS on stream {stream}, not {}",
                        ex.id
                    )));
                }
                let payload = &self.rbuf[range];
                let mut fragment = unpad(payload, flags)?;
                if flags & PRIORITY != 0 {
                    fragment = fragment
                        .get(5..)
                        .ok_or_else(|| protocol("HEADERS too short for its priority"))?;
                }
                let end_stream = flags & END_STREAM != 0;
                if flags & END_HEADERS != 0 {
                    on_head(ex, fragment, end_stream, want_location)?;
                } else {
                    let mut block = std::mem::take(&mut self.block);
                    block.clear();
                    block.extend_from_slice(fragment);
                    loop {
                        let (kind, flags, s, range) = self.next_frame(ex.stage).await?;
                        if kind != CONTINUATION || s != ex.id {
                            return Err(protocol("header block not continued"));
                        }
                        block.extend_from_slice(&self.rbuf[range]);
                        if block.len() > MAX_HEAD {
                            return Err(protocol("response head larger than 256 KiB"));
                        }
                        if flags & END_HEADERS != 0 {
                            break;
                        }
                    }
                    let result = on_head(ex, &block, end_stream, want_location);
                    self.block = block;
                    result?;
                }
            }
            RST_STREAM if stream == ex.id => {
                let code = self.rbuf[range]
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| protocol("RST_STREAM of the wrong size"))?;
                let kind = match ex.stage {
                    Stage::Request => ErrorKind::Other,
                    Stage::Body => ErrorKind::Body,
                };
                return Err(RequestError::new(
                    kind,
                    format!(
                        "{}: stream reset by the server: {}",
                        ex.stage.what(),
                        error_name(code)
                    ),
                ));
            }
            SETTINGS => {
                if stream != 0 {
                    return Err(protocol("SETTINGS on a stream"));
                }
                if flags & ACK != 0 {
                    return Ok(());
                }
                if len % 6 != 0 {
                    return Err(protocol("SETTINGS of the wrong size"));
                }
                for s in self.rbuf[range].chunks_exact(6) {
                    let id = u16::from_be_bytes([s[0], s[1]]);
                    let value = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
                    match id {
                        0x4 => {
                            if value > MAX_STREAM_ID {
                                return Err(protocol("SETTINGS_INITIAL_WINDOW_SIZE too large"));
                            }
                            let delta = i64::from(value) - self.initial_send_window;
                            ex.send_window += delta;
                            self.initial_send_window = i64::from(value);
                            if ex.send_window > MAX_WINDOW {
                                return Err(protocol(
                                    "SETTINGS_INITIAL_WINDOW_SIZE takes the stream's window past 2^31-1",
                                ));
                            }
                        }
                        0x5 => {
                            if !(16_384..=16_777_215).contains(&value) {
                                return Err(protocol("SETTINGS_MAX_FRAME_SIZE out of range"));
                            }
                            self.peer_max_frame = value as usize;
                        }
                        // Header table size (our requests never index), concurrency (one
                        // stream at a time), header list size, and anything unknown.
                        _ => {}
                    }
                }
                put_frame_header(&mut self.wbuf, 0, SETTINGS, ACK, 0);
            }
            PING => {
                if len != 8 {
                    return Err(protocol("PING of the wrong size"));
                }
                if flags & ACK == 0 {
                    put_frame_header(&mut self.wbuf, 8, PING, ACK, 0);
                    self.wbuf.extend_from_slice(&self.rbuf[range]);
                }
            }
            GOAWAY => {
                let p = &self.rbuf[range];
                if p.len() < 8 {
                    return Err(protocol("GOAWAY too short"));
                }
                let last = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & MAX_STREAM_ID;
                let code = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
                self.reusable = false;
                if ex.id > last {
                    return Err(RequestError::new(
                        ErrorKind::Closed,
                        format!(
                            "{}: the server is closing the connection (GOAWAY {}) and did not take this request",
                            ex.stage.what(),
                            error_name(code)
                        ),
                    ));
                }
            }
            WINDOW_UPDATE => {
                let p = &self.rbuf[range];
                if p.len() != 4 {
                    return Err(protocol("WINDOW_UPDATE of the wrong size"));
                }
                let increment =
                    i64::from(u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & MAX_STREAM_ID);
                let window = if stream == 0 {
                    &mut self.send_window
                } else if stream == ex.id {
                    &mut ex.send_window
                } else {
                    return Ok(());
                };
                if increment == 0 {
                    return Err(protocol("WINDOW_UPDATE of 0"));
                }
                // A window past 2^31-1 is a FLOW_CONTROL_ERROR (RFC 9113 §6.9.1); unchecked, a
                // server repeating updates would also overflow the i64 in the end.
                *window += increment;
                if *window > MAX_WINDOW {
                    return Err(protocol("WINDOW_UPDATE takes a window past 2^31-1"));
                }
            }
            PUSH_PROMISE => return Err(protocol("PUSH_PROMISE, though push is off")),
            CONTINUATION => return Err(protocol("CONTINUATION without HEADERS")),
            // PRIORITY and unknown frame types are ignored.
            _ => {}
        }
        Ok(())
    }
}

/// A complete header block on our stream: an interim (1xx) head, the final head, or trailers.
fn on_head(
    ex: &mut Exchange,
    block: &[u8],
    end_stream: bool,
    want_location: bool,
) -> Result<(), RequestError> {
    if ex.stage == Stage::Body {
        // Trailers: nothing in them is reported.
        if !end_stream {
            return Err(protocol("trailers without END_STREAM"));
        }
        ex.done = true;
        return Ok(());
    }
    let mut head = Head::default();
    decode_block(block, want_location, &mut head)?;
    let status = head.status.ok_or_else(|| protocol("no :status"))?;
    if (100..200).contains(&status) {
        if end_stream {
            return Err(protocol("interim response ends the stream"));
        }
        return Ok(());
    }
    ex.status = status;
    ex.head = head;
    ex.ttfb = ex.started.elapsed();
    ex.stage = Stage::Body;
    ex.done = end_stream;
    Ok(())
}

/// A DATA or HEADERS payload without its padding.
fn unpad(payload: &[u8], flags: u8) -> Result<&[u8], RequestError> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let (&pad, rest) = payload
        .split_first()
        .ok_or_else(|| protocol("padded frame without a pad length"))?;
    rest.len()
        .checked_sub(usize::from(pad))
        .map(|n| &rest[..n])
        .ok_or_else(|| protocol("padding longer than the frame"))
}

fn error_name(code: u32) -> String {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    NAMES
        .get(code as usize)
        .map_or_else(|| format!("error code {code:#x}"), |n| (*n).to_string())
}

// --- HPACK (RFC 7541) -----------------------------------------------------------------------

/// Encodes a request's header block: pseudo-headers, then `headers` (names lower-case, as
/// HTTP/2 requires). Every field is a literal without indexing, or a static-table entry, so the
/// block depends on nothing the connection has sent before and can be reused on any connection.
pub fn encode_request<'a>(
    out: &mut Vec<u8>,
    method: &str,
    https: bool,
    authority: &str,
    path: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) {
    out.clear();
    match method {
        "GET" => out.push(0x82),
        "POST" => out.push(0x83),
        _ => put_literal(out, 2, method.as_bytes()),
    }
    out.push(if https { 0x87 } else { 0x86 });
    put_literal(out, 1, authority.as_bytes());
    let path = if !path.is_empty() {
        path
    } else if method == "OPTIONS" {
        "*"
    } else {
        "/"
    };
    if path == "/" {
        out.push(0x84);
    } else {
        put_literal(out, 4, path.as_bytes());
    }
    for (name, value) in headers {
        out.push(0x00);
        put_string(out, name.as_bytes());
        put_string(out, value);
    }
}

/// A literal field without indexing whose name is static-table entry `index` (< 15).
fn put_literal(out: &mut Vec<u8>, index: u8, value: &[u8]) {
    out.push(index);
    put_string(out, value);
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0x00, 7, s.len());
    out.extend_from_slice(s);
}

fn put_int(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// What the response head says that flak uses.
#[derive(Default, Debug)]
struct Head {
    status: Option<u16>,
    content_length: Option<u64>,
    location: Option<String>,
}

/// Status codes of static-table entries 8 to 14.
const STATIC_STATUS: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
const NAME_STATUS: usize = 8;
const NAME_CONTENT_LENGTH: usize = 28;
const NAME_LOCATION: usize = 46;
const STATIC_ENTRIES: usize = 61;

/// Decodes a response header block, given the zero-size dynamic table this connection
/// advertised: every field is either a static-table entry or a literal.
fn decode_block(mut b: &[u8], want_location: bool, head: &mut Head) -> Result<(), RequestError> {
    while let Some(&first) = b.first() {
        if first & 0x80 != 0 {
            let index = get_int(&mut b, 7)?;
            match index {
                8..=14 => head.status = Some(STATIC_STATUS[index - 8]),
                1..=STATIC_ENTRIES => {}
                _ => return Err(protocol(format!("HPACK index {index} out of the table"))),
            }
            continue;
        }
        if first & 0xe0 == 0x20 {
            if get_int(&mut b, 5)? != 0 {
                return Err(protocol("HPACK table size above the advertised 0"));
            }
            continue;
        }
        // A literal, with incremental indexing (01), without (0000) or never indexed (0001).
        // With a zero-size table an indexed literal leaves no entry behind.
        let prefix = if first & 0x40 != 0 { 6 } else { 4 };
        let index = get_int(&mut b, prefix)?;
        let name = match index {
            0 => {
                let (huffman, raw) = get_string(&mut b)?;
                literal_name(huffman, raw)
            }
            8..=14 => NAME_STATUS,
            i if i <= STATIC_ENTRIES => i,
            _ => return Err(protocol(format!("HPACK index {index} out of the table"))),
        };
        let (huffman, value) = get_string(&mut b)?;
        match name {
            NAME_STATUS => {
                let n = digits(huffman, value).filter(|n| (100..1000).contains(n));
                head.status = Some(n.ok_or_else(|| protocol("bad :status"))? as u16);
            }
            NAME_CONTENT_LENGTH => {
                let n = digits(huffman, value).ok_or_else(|| protocol("bad content-length"))?;
                if head.content_length.is_some_and(|l| l != n) {
                    return Err(protocol("conflicting content-length headers"));
                }
                head.content_length = Some(n);
            }
            NAME_LOCATION if want_location => {
                let mut s = Vec::with_capacity(value.len() * 2);
                if huffman {
                    huffman_decode(value, |c| {
                        s.push(c);
                        true
                    })
                    .ok_or_else(|| protocol("bad Huffman string"))?;
                } else {
                    s.extend_from_slice(value);
                }
                head.location = String::from_utf8(s).ok();
            }
            _ => {}
        }
    }
    Ok(())
}

/// The static-table name index a literal name stands for, when it is one flak reads (else 0).
/// Huffman-coded names are compared in their coded form (the coding of a string is unique), so
/// the names flak skips (nginx sends `etag` and `accept-ranges` as literals) are never decoded.
fn literal_name(huffman: bool, raw: &[u8]) -> usize {
    static CODED: OnceLock<[(Vec<u8>, usize); 3]> = OnceLock::new();
    const NAMES: [(&[u8], usize); 3] = [
        (b":status", NAME_STATUS),
        (b"content-length", NAME_CONTENT_LENGTH),
        (b"location", NAME_LOCATION),
    ];
    let found = if huffman {
        let coded = CODED.get_or_init(|| NAMES.map(|(name, index)| (huffman_encode(name), index)));
        coded
            .iter()
            .find(|(name, _)| name == raw)
            .map(|(_, index)| *index)
    } else {
        NAMES
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, index)| *index)
    };
    found.unwrap_or(0)
}

/// Huffman-codes `src` (flak never sends Huffman; this is for recognising coded names).
fn huffman_encode(src: &[u8]) -> Vec<u8> {
    let t = canonical();
    let (mut bits, mut n, mut out) = (0u64, 0u32, Vec::new());
    for &c in src {
        let len = CODE_LENGTHS[usize::from(c)];
        // Canonical: a code is its length's first code plus its rank among that length's symbols.
        let rank = CODE_LENGTHS[..usize::from(c)]
            .iter()
            .filter(|&&l| l == len)
            .count();
        bits = (bits << len) | u64::from(t.first[usize::from(len)] + rank as u32);
        n += u32::from(len);
        while n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    if n > 0 {
        out.push(((bits << (8 - n)) as u8) | ((1u8 << (8 - n)) - 1));
    }
    out
}

/// A decimal number (at most 19 digits), raw or Huffman-coded.
fn digits(huffman: bool, raw: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut count = 0;
    let mut push = |c: u8| {
        count += 1;
        if !c.is_ascii_digit() || count > 19 {
            return false;
        }
        n = n * 10 + u64::from(c - b'0');
        true
    };
    if huffman {
        huffman_decode(raw, push)?;
    } else if !raw.iter().all(|&c| push(c)) {
        return None;
    }
    (count > 0).then_some(n)
}

fn get_int(b: &mut &[u8], prefix: u32) -> Result<usize, RequestError> {
    let max = (1usize << prefix) - 1;
    let (&first, rest) = b.split_first().ok_or_else(|| protocol("truncated HPACK"))?;
    *b = rest;
    let mut value = usize::from(first) & max;
    if value < max {
        return Ok(value);
    }
    let mut shift = 0;
    loop {
        let (&byte, rest) = b.split_first().ok_or_else(|| protocol("truncated HPACK"))?;
        *b = rest;
        value += usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            return Err(protocol("HPACK integer too large"));
        }
    }
}

/// A string literal: (Huffman-coded, raw bytes).
fn get_string<'a>(b: &mut &'a [u8]) -> Result<(bool, &'a [u8]), RequestError> {
    let huffman = b.first().is_some_and(|f| f & 0x80 != 0);
    let len = get_int(b, 7)?;
    if len > b.len() {
        return Err(protocol("truncated HPACK string"));
    }
    let (s, rest) = b.split_at(len);
    *b = rest;
    Ok((huffman, s))
}

/// Decodes a Huffman-coded string, handing each byte to `out` (which returns false to stop).
/// `None` if the code is invalid or `out` stopped.
fn huffman_decode(src: &[u8], mut out: impl FnMut(u8) -> bool) -> Option<()> {
    let t = canonical();
    let mut code: u32 = 0;
    let mut len = 0usize;
    for &byte in src {
        for bit in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> bit) & 1);
            len += 1;
            let offset = code.wrapping_sub(t.first[len]);
            if offset < t.count[len] {
                let symbol = t.symbols[t.start[len] + offset as usize];
                if symbol == 256 || !out(symbol as u8) {
                    return None;
                }
                code = 0;
                len = 0;
            } else if len == 30 {
                return None;
            }
        }
    }
    // Padding: fewer than 8 bits, all ones (a prefix of EOS).
    (len < 8 && code == (1 << len) - 1).then_some(())
}

/// The HPACK Huffman code is canonical: codes of each length are consecutive and ordered by
/// symbol, so decoding needs only, per length, the first code, the count, and where its
/// symbols start in the symbols sorted by (length, symbol).
struct Canonical {
    first: [u32; 31],
    count: [u32; 31],
    start: [usize; 31],
    symbols: [u16; 257],
}

fn canonical() -> &'static Canonical {
    static TABLE: OnceLock<Canonical> = OnceLock::new();
    TABLE.get_or_init(|| {
        let length = |s: usize| {
            if s == 256 {
                30
            } else {
                usize::from(CODE_LENGTHS[s])
            }
        };
        let mut t = Canonical {
            first: [0; 31],
            count: [0; 31],
            start: [0; 31],
            symbols: [0; 257],
        };
        let mut order: Vec<u16> = (0..=256).collect();
        order.sort_by_key(|&s| (length(usize::from(s)), s));
        t.symbols.copy_from_slice(&order);
        for s in 0..=256 {
            t.count[length(s)] += 1;
        }
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..=30 {
            t.first[len] = code;
            t.start[len] = index;
            index += t.count[len] as usize;
            code = (code + t.count[len]) << 1;
        }
        t
    })
}

/// Code lengths of the HPACK Huffman code for bytes 0 to 255 (RFC 7541 Appendix B); EOS (256)
/// has 30 bits. The codes themselves follow from the lengths (the code is canonical).
const CODE_LENGTHS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use flak_core::{Outcome, Request, RequestSpec, Transport as _};
    use http_body_util::{BodyExt as _, Full};
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio::io::ReadBuf;

    use super::*;
    use crate::transport::{HttpTransport, TransportConfig};

    fn huffman_string(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        huffman_decode(src, |c| {
            out.push(c);
            true
        })
        .map(|()| out)
        .unwrap()
    }

    #[test]
    fn huffman_matches_rfc_7541_and_round_trips_every_byte() {
        // RFC 7541 C.4.1.
        let www = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(huffman_encode(b"www.example.com"), www);
        assert_eq!(huffman_string(&www), b"www.example.com");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(huffman_string(&huffman_encode(&all)), all);
        // Padding longer than 7 bits, or not all ones, is an error.
        assert!(huffman_decode(&[0xff], |_| true).is_none());
        assert!(huffman_decode(&[0x06], |_| true).is_none());
    }

    #[test]
    fn response_heads_decode_without_a_table() {
        let mut block = vec![0x48]; // :status, literal with indexing, static name
        block.push(0x80 | 2);
        block.extend(huffman_encode(b"302"));
        block.extend([0x0f, 46 - 15]); // location (46), literal without indexing
        let loc = huffman_encode(b"https://www.example.com");
        block.push(0x80 | loc.len() as u8);
        block.extend(&loc);
        block.extend([0x00, 14]); // a literal name: content-length, raw
        block.extend(b"content-length");
        block.extend([2]);
        block.extend(b"42");
        block.push(0x20); // table size update to 0
        let mut head = Head::default();
        decode_block(&block, true, &mut head).unwrap();
        assert_eq!(head.status, Some(302));
        assert_eq!(head.location.as_deref(), Some("https://www.example.com"));
        assert_eq!(head.content_length, Some(42));
        // A Huffman-coded literal name is recognised without decoding it.
        let name = huffman_encode(b"location");
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([2, b'/', b'x']);
        let mut head = Head::default();
        decode_block(&block, true, &mut head).unwrap();
        assert_eq!(head.location.as_deref(), Some("/x"));
        let mut head = Head::default();
        assert!(decode_block(&[0x80 | 62], false, &mut head).is_err());
        assert!(decode_block(&[0x3f, 0xe1, 0x1f], false, &mut head).is_err());
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
                            return Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                Bytes::from(body.len().to_string()),
                            )));
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
            insecure: false,
            keepalive: true,
            connect_timeout: None,
            redirects,
        };
        let url = spec.url.as_str().to_string();
        let transport = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
        let mut session = transport.session(0);
        let mut last = (0, 0);
        // Twice on the same connection: the second request reuses it.
        for index in 0..2 {
            let request = Request {
                index,
                spec_index: 0,
                spec: &spec,
                url: &url,
            };
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
        // Bytes count every hop's body, as for HTTP/1.1.
        assert_eq!(send(redirect(), 1).await, (200, 8), "redirect followed");
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

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_frame_header(&mut out, payload.len(), kind, flags, stream);
        out.extend_from_slice(payload);
        out
    }

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
                        let len = (usize::from(h[0]) << 16)
                            | (usize::from(h[1]) << 8)
                            | usize::from(h[2]);
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
            insecure: false,
            keepalive: true,
            connect_timeout: None,
            redirects: 0,
        };
        let url = spec.url.as_str().to_string();
        let transport = HttpTransport::new(config, None, std::slice::from_ref(spec)).unwrap();
        let mut session = transport.session(0);
        let mut out = Vec::new();
        for index in 0..n {
            let request = Request {
                index,
                spec_index: 0,
                spec,
                url: &url,
            };
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

    #[tokio::test]
    async fn a_misbehaving_server_is_an_error_of_a_clear_kind_and_never_reused() {
        let cases: Vec<(&str, Answer, ErrorKind)> = vec![
            (
                "a frame over our SETTINGS_MAX_FRAME_SIZE",
                |s| frame(DATA, 0, s, &[0; MAX_FRAME + 1]),
                ErrorKind::Protocol,
            ),
            (
                "GOAWAY below our stream",
                |_| frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
                ErrorKind::Closed,
            ),
            (
                "REFUSED_STREAM",
                |s| frame(RST_STREAM, 0, s, &7u32.to_be_bytes()),
                ErrorKind::Other,
            ),
            (
                "RST_STREAM after the head",
                |s| {
                    let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(5));
                    out.extend(frame(RST_STREAM, 0, s, &8u32.to_be_bytes()));
                    out
                },
                ErrorKind::Body,
            ),
            (
                "fewer DATA bytes than content-length",
                |s| {
                    let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(10));
                    out.extend(frame(DATA, END_STREAM, s, b"short"));
                    out
                },
                ErrorKind::Body,
            ),
            (
                "more DATA bytes than content-length",
                |s| {
                    let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(1));
                    out.extend(frame(DATA, END_STREAM, s, b"longer"));
                    out
                },
                ErrorKind::Body,
            ),
            (
                "content-length but END_STREAM on the head",
                |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &ok_head(3)),
                ErrorKind::Body,
            ),
            (
                "an index into the dynamic table we set to 0",
                |s| {
                    // x-a: b with incremental indexing, then index 62 as if it were kept.
                    let block = [0x40, 3, b'x', b'-', b'a', 1, b'b', 0x88, 0x80 | 62];
                    frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
                },
                ErrorKind::Protocol,
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
            ),
            (
                "invalid Huffman code (padding not all ones)",
                |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &[0x08, 0x81, 0x00]),
                ErrorKind::Protocol,
            ),
            (
                "Huffman EOS in a string",
                |s| {
                    let block = [0x88, 0x0f, 0x0d, 0x84, 0xff, 0xff, 0xff, 0xff];
                    frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
                },
                ErrorKind::Protocol,
            ),
            (
                "an HPACK integer too large",
                |s| {
                    let block = [0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
                    frame(HEADERS, END_HEADERS | END_STREAM, s, &block)
                },
                ErrorKind::Protocol,
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
            ),
            (
                "padding longer than the frame",
                |s| {
                    let mut out = frame(HEADERS, END_HEADERS, s, &ok_head(3));
                    out.extend(frame(DATA, PADDED | END_STREAM, s, &[200, 1, 2, 3]));
                    out
                },
                ErrorKind::Protocol,
            ),
            (
                "HEADERS too short for its priority",
                |s| frame(HEADERS, END_HEADERS | PRIORITY, s, &[0x88]),
                ErrorKind::Protocol,
            ),
            (
                "a connection window past 2^31-1",
                |_| frame(WINDOW_UPDATE, 0, 0, &MAX_STREAM_ID.to_be_bytes()),
                ErrorKind::Protocol,
            ),
            (
                "a stream window past 2^31-1",
                |s| frame(WINDOW_UPDATE, 0, s, &MAX_STREAM_ID.to_be_bytes()),
                ErrorKind::Protocol,
            ),
            (
                "an initial window that takes the stream past 2^31-1",
                |s| {
                    let mut out = frame(WINDOW_UPDATE, 0, s, &(1u32 << 30).to_be_bytes());
                    out.extend(settings(&[(0x4, MAX_STREAM_ID)]));
                    out
                },
                ErrorKind::Protocol,
            ),
            (
                "WINDOW_UPDATE of 0",
                |s| frame(WINDOW_UPDATE, 0, s, &0u32.to_be_bytes()),
                ErrorKind::Protocol,
            ),
            (
                "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1",
                |_| settings(&[(0x4, 1 << 31)]),
                ErrorKind::Protocol,
            ),
            (
                "SETTINGS_MAX_FRAME_SIZE under 16384",
                |_| settings(&[(0x5, 100)]),
                ErrorKind::Protocol,
            ),
            (
                "SETTINGS of the wrong size",
                |_| frame(SETTINGS, 0, 0, &[0, 4, 0]),
                ErrorKind::Protocol,
            ),
            (
                "PING of the wrong size",
                |_| frame(PING, 0, 0, b"ping"),
                ErrorKind::Protocol,
            ),
            (
                "PUSH_PROMISE though push is off",
                |s| frame(PUSH_PROMISE, END_HEADERS, s, &[0, 0, 0, 2, 0x82]),
                ErrorKind::Protocol,
            ),
            (
                "DATA before the head",
                |s| frame(DATA, END_STREAM, s, b"x"),
                ErrorKind::Protocol,
            ),
            (
                "DATA on stream 0",
                |_| frame(DATA, 0, 0, b"x"),
                ErrorKind::Protocol,
            ),
            (
                "an interim response that ends the stream",
                |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &literal(8, b"100")),
                ErrorKind::Protocol,
            ),
            (
                "a head without :status",
                |s| frame(HEADERS, END_HEADERS | END_STREAM, s, &content_length(0)),
                ErrorKind::Protocol,
            ),
            (
                "CONTINUATION without HEADERS",
                |s| frame(CONTINUATION, END_HEADERS, s, &[0x88]),
                ErrorKind::Protocol,
            ),
            (
                "a header block interrupted by another frame",
                |s| {
                    let mut out = frame(HEADERS, END_STREAM, s, &[0x88]);
                    out.extend(frame(PING, 0, 0, b"pingpong"));
                    out
                },
                ErrorKind::Protocol,
            ),
            (
                "HEADERS on another stream",
                |s| frame(HEADERS, END_HEADERS | END_STREAM, s + 2, &[0x88]),
                ErrorKind::Protocol,
            ),
            (
                "trailers without END_STREAM",
                |s| {
                    let mut out = frame(HEADERS, END_HEADERS, s, &[0x88]);
                    out.extend(frame(HEADERS, END_HEADERS, s, &[0x00, 1, b'x', 1, b'y']));
                    out
                },
                ErrorKind::Protocol,
            ),
        ];
        for (what, answer, kind) in cases {
            let server = scripted(move |f| {
                if f.kind == HEADERS {
                    answer(f.stream)
                } else {
                    Vec::new()
                }
            })
            .await;
            let spec = RequestSpec::get(&server.url).unwrap();
            // Each request fails alone: the connection it broke is not used again.
            assert_eq!(send_n(&spec, 2).await, vec![Err(kind); 2], "{what}");
            assert_eq!(server.connections.load(SeqCst), 2, "{what}");
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
        // The first 65,535 body bytes go out with the request, before the server's SETTINGS.
        // Then SETTINGS_INITIAL_WINDOW_SIZE = 1000 puts the stream's window at -64,535, and a
        // WINDOW_UPDATE of 74,535 lets exactly 10,000 more bytes through. The server answers
        // once it has 75,535 bytes; the client then resets the rest of its body.
        const ALLOWED: usize = 65_535 + 10_000;
        let received = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&received);
        let server = scripted(move |f| match f.kind {
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
    async fn an_abandoned_request_leaves_its_connection_behind() {
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
            insecure: false,
            keepalive: true,
            connect_timeout: None,
            redirects: 0,
        };
        let url = spec.url.as_str().to_string();
        let transport = HttpTransport::new(config, None, std::slice::from_ref(&spec)).unwrap();
        let mut session = transport.session(0);
        for index in 0..3 {
            let request = Request {
                index,
                spec_index: 0,
                spec: &spec,
                url: &url,
            };
            let sent = transport.send(&mut session, &request);
            match tokio::time::timeout(Duration::from_millis(200), sent).await {
                Ok(Outcome::Response(r)) => assert!(index > 0 && r.status == 200),
                Ok(Outcome::Error(e)) => panic!("{e:?}"),
                Err(_) => assert_eq!(index, 0),
            }
        }
        assert_eq!(server.connections.load(SeqCst), 2);
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
        let mut conn = H2Conn::new(tcp);
        conn.next_stream = MAX_STREAM_ID - 2;
        let mut block = Vec::new();
        encode_request(&mut block, "GET", false, addr, "/", []);
        for last in [false, true] {
            assert!(conn.is_reusable());
            let r = conn
                .exchange(&block, b"", false, false, Instant::now())
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
        block.extend(huffman_encode(b"302"));
        let location = huffman_encode(b"/final");
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
        // The seed itself is a valid response.
        let mut conn = H2Conn::new(Replay {
            input: seed.clone(),
            at: 0,
            piece: 1000,
        });
        let r = conn
            .exchange(&block, &[7; 100], false, true, Instant::now())
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
            let mut conn = H2Conn::new(Replay {
                input,
                at: 0,
                piece: rng.usize(1..5000),
            });
            // Ok or an error, never a panic; the input ends, so the exchange ends.
            let _ = conn
                .exchange(&block, &body, rng.bool(), true, Instant::now())
                .await;
        }
    }

    #[test]
    fn random_header_blocks_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7541);
        let seeds: [&[u8]; 3] = [
            &[0x88, 0x0f, 0x0d, 0x82, 0x0b, 0xe3],
            &[
                0x48, 0x83, 0x64, 0x0b, 0x5f, 0x0f, 0x1f, 0x85, 0x61, 0x09, 0xb5, 0x6b, 0xff,
            ],
            &[0x3f, 0xe1, 0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ];
        for _ in 0..50_000 {
            let mut b = if rng.bool() {
                seeds[rng.usize(..seeds.len())].to_vec()
            } else {
                Vec::new()
            };
            for _ in 0..rng.usize(..12) {
                b.insert(rng.usize(..=b.len()), rng.u8(..));
            }
            let mut head = Head::default();
            let _ = decode_block(&b, true, &mut head);
            let _ = huffman_decode(&b, |_| true);
        }
    }
}
