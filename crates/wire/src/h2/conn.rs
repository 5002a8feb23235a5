//! One HTTP/2 client connection (RFC 9113) for the hot path. A slot owns its connection and
//! runs one stream at a time on it, so there is no connection task, no channel and no stream
//! table: the exchange itself reads and answers frames (SETTINGS, PING, WINDOW_UPDATE, GOAWAY)
//! and keeps the flow-control windows.

use std::io::ErrorKind as Io;
use std::time::{Duration, Instant};

use flak_core::{ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::frame::{
    self, ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE,
    PRIORITY, PUSH_PROMISE, RST_STREAM, SETTINGS, WINDOW_UPDATE, error_name, put_frame_header,
    put_window_update, unpad,
};
use super::hpack::{Decoder, Head, TABLE_SIZE};
use super::protocol;
use crate::Exchanged;

/// The receive window granted to the connection and to each stream: large, so that responses
/// up to half of it need no WINDOW_UPDATE at all.
const RECV_WINDOW: u32 = 1 << 30;
/// The flow-control window every connection and stream starts with (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: i64 = 65_535;
/// The largest frame we accept: the default SETTINGS_MAX_FRAME_SIZE, which we keep.
pub(super) const MAX_FRAME: usize = 16_384;
/// A response header block larger than this is refused.
const MAX_HEAD: usize = 256 * 1024;
pub(super) const MAX_STREAM_ID: u32 = (1 << 31) - 1;
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
    /// The HPACK dynamic table: every header block received must go through it, in order.
    hpack: Decoder,
    pub(super) next_stream: u32,
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

/// One request to send: its header block and body, and what the response is read for.
struct Ask<'a> {
    block: &'a [u8],
    body: &'a [u8],
    head_request: bool,
    want_location: bool,
    started: Instant,
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
            (0x1, TABLE_SIZE as u32), // SETTINGS_HEADER_TABLE_SIZE: why 0 in hpack::TABLE_SIZE
            (0x2, 0),                 // SETTINGS_ENABLE_PUSH: off
            (0x4, RECV_WINDOW),       // SETTINGS_INITIAL_WINDOW_SIZE
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
            hpack: Decoder::new(TABLE_SIZE),
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
        let ask = Ask {
            block,
            body,
            head_request,
            want_location,
            started,
        };
        let result = self.exchange_inner(ask).await;
        if result.is_err() {
            self.reusable = false;
        }
        result
    }

    async fn exchange_inner(&mut self, ask: Ask<'_>) -> Result<Exchanged, RequestError> {
        let Ask {
            block,
            body,
            head_request,
            want_location,
            started,
        } = ask;
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
        let mut h = [0u8; 9];
        h.copy_from_slice(&self.rbuf[self.start..self.start + 9]);
        let (len, kind, flags, stream) = frame::parse_header(&h);
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
                    on_head(&mut self.hpack, ex, fragment, end_stream, want_location)?;
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
                    let result = on_head(&mut self.hpack, ex, &block, end_stream, want_location);
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
    hpack: &mut Decoder,
    ex: &mut Exchange,
    block: &[u8],
    end_stream: bool,
    want_location: bool,
) -> Result<(), RequestError> {
    if ex.stage == Stage::Body {
        // Trailers: nothing in them is reported, but they may change the HPACK table.
        hpack.decode(block, false, &mut Head::default())?;
        if !end_stream {
            return Err(protocol("trailers without END_STREAM"));
        }
        ex.done = true;
        return Ok(());
    }
    let mut head = Head::default();
    hpack.decode(block, want_location, &mut head)?;
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
