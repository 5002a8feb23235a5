//! One HTTP/2 client connection (RFC 9113) carrying many streams at once, without a connection
//! task or channels: the streams share the connection through a `RefCell`, and whichever stream
//! is polled drives it — flushes the frames every stream queued, reads what arrived and hands
//! each frame to its stream, waking that stream only when it finished, failed or may send more
//! body. The socket remembers only the last waker that found it empty (the "reader"), so a
//! reader that leaves while other streams still wait wakes one of them to take its place.
//! Requests queued in one round of polls leave in one write, made by the round's "driver": the
//! first stream to queue one, which comes back after the others (or, back too early, is woken
//! by the last of them).
//!
//! A stream error (RST_STREAM, a bad response head) ends that stream only; a connection error
//! (a broken frame, HPACK) ends them all. Streams the server never processed (REFUSED_STREAM,
//! above a GOAWAY's last stream id) come back marked so the transport can send them again.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::ErrorKind as Io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use flak_core::{Capture, ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::frame::{
    self, ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE,
    PRIORITY, PUSH_PROMISE, RST_STREAM, SETTINGS, WINDOW_UPDATE, error_name, put_frame_header,
    put_window_update, unpad,
};
use super::hpack::{Decoder, Head, TABLE_SIZE};
use super::protocol;
use crate::{Exchanged, Unprocessed};

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
/// Reads in a row that found data before the driving stream gives way: a server that never
/// stops sending must not keep the worker's one task from its timers, `-z` and Ctrl-C.
const READ_BUDGET: u32 = 32;

/// One HTTP/2 connection over any byte stream (TCP with prior knowledge, or TLS after ALPN),
/// shared by the streams in flight on it.
pub struct H2Conn<S> {
    inner: RefCell<Inner<S>>,
}

struct Inner<S> {
    io: S,
    /// Received bytes in `rbuf[start..end]`; the whole vector stays initialized, so reads need
    /// no zeroing.
    rbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// Frames waiting to be written (`wbuf[written..]`): the preface, requests, bodies,
    /// acknowledgements, window updates, resets.
    wbuf: Vec<u8>,
    written: usize,
    flush: bool,
    /// A header block split over CONTINUATION frames: its stream, END_STREAM, and the bytes.
    continuing: Option<(u32, bool)>,
    block: Vec<u8>,
    decoder: Decoder,
    pub(super) next_stream: u32,
    /// The connection's send window, and the window each new stream starts with (the peer's
    /// SETTINGS_INITIAL_WINDOW_SIZE).
    send_window: i64,
    initial_send_window: i64,
    peer_max_frame: usize,
    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS.
    max_streams: u32,
    /// Whether the peer's first SETTINGS arrived: until then one stream at a time, so that a
    /// server with a low stream limit is not sent more than it takes (and refuses).
    settings_seen: bool,
    /// DATA bytes received since the connection's receive window was last topped up.
    recv_used: u32,
    /// The streams in flight; a finished stream's place is reused.
    streams: Vec<Option<StreamState>>,
    open: u32,
    /// Requests waiting for the server's stream limit to let them in, first come first served
    /// (a slot whose stream just ended must not jump the queue and starve the others).
    waiting: VecDeque<(u64, Waker)>,
    next_ticket: u64,
    /// The index of the stream whose waker the socket holds.
    reader: Option<usize>,
    /// The id of the stream woken to drive the connection for the frames queued in this round
    /// of polls: the streams that queue frames meanwhile leave the write to it.
    driver: Option<u32>,
    /// The driver came back while finished streams still waited for their slots (which queue
    /// their next requests when they collect them): the last of them to leave wakes it.
    driver_deferred: bool,
    /// The last stream id of a GOAWAY: no new streams.
    goaway: Option<u32>,
    /// Why the connection is finished, once it is.
    dead: Option<RequestError>,
    /// Streams that completed on this connection.
    completed: u64,
    /// The most streams in flight at once.
    peak: u32,
}

/// One stream's progress.
struct StreamState {
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
    want_location: bool,
    done: bool,
    failed: Option<(RequestError, Unprocessed)>,
    waker: Option<Waker>,
    /// Not yet polled since its HEADERS were queued.
    fresh: bool,
    /// What a journey keeps of the response, gathered here as frames arrive (whichever stream
    /// drives the connection reads them) and handed to the request's own [`Capture`] when the
    /// stream ends. `None` on the fast path.
    capture: Option<Box<Capture>>,
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
pub struct Ask<'a> {
    pub block: &'a [u8],
    pub body: &'a [u8],
    pub head_request: bool,
    pub want_location: bool,
    pub started: Instant,
    /// What to keep of the response, for a journey.
    pub capture: Option<&'a Capture>,
}

/// Why an exchange did not happen or did not complete.
#[derive(Debug)]
pub enum Failed {
    /// The connection takes no new streams (GOAWAY, broken, out of stream ids): nothing was
    /// sent; open another.
    Unusable,
    /// The request failed; `Unprocessed` says whether the server can have acted on it.
    Error(RequestError, Unprocessed),
}

/// Decodes a final head (or an interim one) for a stream whose journey captures headers; out
/// of line, so the fast path's `on_block` stays as small as before.
#[cold]
#[inline(never)]
fn decode_captured(
    decoder: &mut Decoder,
    block: &[u8],
    want_location: bool,
    head: &mut Head,
    capture: &Capture,
) -> Result<(), RequestError> {
    decoder.decode_keeping(block, want_location, head, capture)?;
    if head.status.is_some_and(|s| (100..200).contains(&s)) {
        // An interim head's headers are not the response's.
        capture.clear();
    }
    Ok(())
}

/// Gives the request's capture what its stream gathered.
fn hand_over(from: &Capture, to: &Capture) {
    to.clear();
    let got = from.got();
    for (name, value) in &got.headers {
        to.header(name.as_bytes(), value);
    }
    to.body(&got.body);
    if got.truncated {
        // Past the limit: one byte more than the room left sets `truncated`.
        to.body(&[0]);
    }
}

/// What a connection error does to a stream still in flight.
fn stream_failure(error: &RequestError, stream: &StreamState) -> (RequestError, Unprocessed) {
    let mut error = error.clone();
    if stream.stage == Stage::Body && error.kind != ErrorKind::Protocol {
        error.kind = ErrorKind::Body;
    }
    // Nothing of the response came back: the server may never have seen the request.
    let unprocessed = if stream.stage == Stage::Request
        && matches!(error.kind, ErrorKind::Closed | ErrorKind::Reset)
    {
        Unprocessed::Maybe
    } else {
        Unprocessed::No
    };
    (error, unprocessed)
}

impl<S: AsyncRead + AsyncWrite + Unpin> H2Conn<S> {
    /// A new connection: the preface and our SETTINGS are queued and go out with the first
    /// request, in the same write.
    pub fn new(io: S) -> Self {
        let mut wbuf = Vec::with_capacity(256);
        wbuf.extend_from_slice(PREFACE);
        let settings: [(u16, u32); 3] = [
            (0x1, TABLE_SIZE as u32), // SETTINGS_HEADER_TABLE_SIZE (see hpack::TABLE_SIZE)
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
            inner: RefCell::new(Inner {
                io,
                rbuf: vec![0; INITIAL_BUFFER],
                start: 0,
                end: 0,
                wbuf,
                written: 0,
                flush: false,
                continuing: None,
                block: Vec::new(),
                decoder: Decoder::new(TABLE_SIZE),
                next_stream: 1,
                send_window: DEFAULT_WINDOW,
                initial_send_window: DEFAULT_WINDOW,
                peer_max_frame: MAX_FRAME,
                max_streams: u32::MAX,
                settings_seen: false,
                recv_used: 0,
                streams: Vec::new(),
                open: 0,
                waiting: VecDeque::new(),
                next_ticket: 0,
                reader: None,
                driver: None,
                driver_deferred: false,
                goaway: None,
                dead: None,
                completed: 0,
                peak: 0,
            }),
        }
    }

    /// Whether new streams may be opened on this connection.
    pub fn is_reusable(&self) -> bool {
        self.inner.borrow().usable()
    }

    /// Whether the peer closed the connection while it was idle (no stream in flight), checked
    /// without consuming anything.
    pub fn closed_while_idle(&self, closed: impl FnOnce(&S) -> bool) -> bool {
        let inner = self.inner.borrow();
        inner.open == 0 && closed(&inner.io)
    }

    /// Streams in flight.
    pub fn in_flight(&self) -> u32 {
        self.inner.borrow().open
    }

    /// Streams that completed on this connection.
    pub fn completed(&self) -> u64 {
        self.inner.borrow().completed
    }

    /// The most streams that were in flight at once.
    pub fn peak(&self) -> u32 {
        self.inner.borrow().peak
    }

    #[cfg(test)]
    pub(super) fn set_next_stream(&self, id: u32) {
        self.inner.borrow_mut().next_stream = id;
    }

    /// Sends one request on a new stream and reads the whole response. `waited` gets the time
    /// spent waiting for the server's stream limit.
    pub async fn exchange(&self, ask: Ask<'_>, waited: &mut Duration) -> Result<Exchanged, Failed> {
        if let Some(capture) = ask.capture {
            capture.clear();
        }
        let mut wait_from = None;
        let mut queued = Queued {
            conn: self,
            ticket: None,
        };
        let index = std::future::poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            let result = inner.poll_open(cx, &ask, &mut queued.ticket);
            // Only the server's limit counts as waiting, not the first round trip for SETTINGS.
            if result.is_pending() && inner.settings_seen {
                wait_from.get_or_insert_with(Instant::now);
            }
            result
        })
        .await?;
        drop(queued);
        if let Some(from) = wait_from {
            *waited = from.elapsed();
        }
        let mut guard = Cancel {
            conn: self,
            index,
            armed: true,
        };
        let result =
            std::future::poll_fn(|cx| self.inner.borrow_mut().poll_stream(cx, index, &ask)).await;
        guard.armed = false;
        result.map_err(|(e, unprocessed)| Failed::Error(e, unprocessed))
    }
}

/// A request's place in the queue for a stream; leaving it (done, or abandoned by a timeout)
/// lets the next one in.
struct Queued<'a, S: AsyncRead + AsyncWrite + Unpin> {
    conn: &'a H2Conn<S>,
    ticket: Option<u64>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Drop for Queued<'_, S> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket
            && let Ok(mut inner) = self.conn.inner.try_borrow_mut()
        {
            inner.waiting.retain(|(t, _)| *t != ticket);
            inner.wake_next();
        }
    }
}

/// Resets a stream whose request was abandoned (timeout, stop), so the connection lives on.
struct Cancel<'a, S: AsyncRead + AsyncWrite + Unpin> {
    conn: &'a H2Conn<S>,
    index: usize,
    armed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Drop for Cancel<'_, S> {
    fn drop(&mut self) {
        if self.armed
            && let Ok(mut inner) = self.conn.inner.try_borrow_mut()
            && let Some(stream) = inner.streams.get(self.index).and_then(Option::as_ref)
        {
            let id = stream.id;
            if inner.dead.is_none() {
                put_frame_header(&mut inner.wbuf, 4, RST_STREAM, 0, id);
                inner.wbuf.extend_from_slice(&8u32.to_be_bytes()); // CANCEL
            }
            inner.remove(self.index);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    fn usable(&self) -> bool {
        self.dead.is_none() && self.goaway.is_none() && self.next_stream <= MAX_STREAM_ID
    }

    /// Opens a stream for `ask` and queues its HEADERS, once the server's limit allows and
    /// every request that came first has its stream.
    fn poll_open(
        &mut self,
        cx: &mut Context<'_>,
        ask: &Ask<'_>,
        ticket: &mut Option<u64>,
    ) -> Poll<Result<usize, Failed>> {
        // A request with a body waits for the server's SETTINGS (and so sends our
        // acknowledgement first): servers with a small receive window (nginx's
        // http2_body_preread_size) refuse a body that comes before it. Nothing else reads
        // the connection yet, so this request does.
        let wants_settings = !self.settings_seen && !ask.body.is_empty();
        // Likewise while the server allows no stream at all: with none open, nothing else
        // would see it raise the limit, send GOAWAY or close.
        let shut_out = self.settings_seen && self.max_streams == 0;
        if (wants_settings || shut_out) && self.open == 0 && self.dead.is_none() {
            self.drive(cx, usize::MAX);
        }
        if let Some(e) = &self.dead {
            return Poll::Ready(Err(Failed::Error(e.clone(), Unprocessed::No)));
        }
        if !self.usable() {
            return Poll::Ready(Err(Failed::Unusable));
        }
        let limit = match (self.settings_seen, wants_settings) {
            (true, _) => self.max_streams,
            (false, false) => 1,
            (false, true) => 0,
        };
        let first = match *ticket {
            None => self.waiting.is_empty(),
            Some(t) => self.waiting.front().is_some_and(|(f, _)| *f == t),
        };
        if !first || self.open >= limit {
            match *ticket {
                Some(t) => {
                    if let Some(entry) = self.waiting.iter_mut().find(|(w, _)| *w == t) {
                        entry.1 = cx.waker().clone();
                    }
                }
                None => {
                    let t = self.next_ticket;
                    self.next_ticket += 1;
                    *ticket = Some(t);
                    self.waiting.push_back((t, cx.waker().clone()));
                }
            }
            return Poll::Pending;
        }
        if ticket.take().is_some() {
            self.waiting.pop_front();
        }
        let id = self.next_stream;
        self.next_stream += 2;
        let stream = StreamState {
            id,
            stage: Stage::Request,
            send_window: self.initial_send_window,
            body_sent: 0,
            recv_used: 0,
            head: Head::default(),
            status: 0,
            bytes: 0,
            started: ask.started,
            ttfb: Duration::ZERO,
            want_location: ask.want_location,
            done: false,
            failed: None,
            waker: None,
            fresh: true,
            capture: ask.capture.map(|c| {
                if !c.header_names().is_empty() {
                    self.decoder.keep_values();
                }
                Box::new(Capture::new(c.header_names(), c.wants_body()))
            }),
        };
        let index = match self.streams.iter().position(Option::is_none) {
            Some(i) => {
                self.streams[i] = Some(stream);
                i
            }
            None => {
                self.streams.push(Some(stream));
                self.streams.len() - 1
            }
        };
        self.open += 1;
        self.peak = self.peak.max(self.open);
        self.put_headers(id, ask.block, ask.body.is_empty());
        // Room for more: the next in line may go too.
        if self.open < limit {
            self.wake_next();
        }
        Poll::Ready(Ok(index))
    }

    /// Ends stream `index`'s life on the connection; a waiting request may take its place.
    fn remove(&mut self, index: usize) {
        let mut was_driver = false;
        if let Some(stream) = self.streams[index].take() {
            self.open -= 1;
            was_driver = self.driver == Some(stream.id);
        }
        self.wake_next();
        let was_reader = self.reader == Some(index);
        if was_reader {
            self.reader = None;
        }
        if was_driver {
            self.driver = None;
            self.driver_deferred = false;
        }
        if self.driver_deferred
            && let Some(driver) = self.driver
            && !self.uncollected(driver)
        {
            // The last finished stream left (its slot has queued its next request, if any):
            // the driver's turn to write them all.
            self.driver_deferred = false;
            if let Some(waker) = self
                .streams
                .iter()
                .flatten()
                .find(|s| s.id == driver)
                .and_then(|s| s.waker.as_ref())
            {
                waker.wake_by_ref();
            }
        }
        if (was_reader || was_driver) && self.driver.is_none() {
            // The socket's waker, or the duty to write what others queued, is this stream's,
            // which is leaving: a stream that waits takes it over (a driver already woken
            // reads as well as writes).
            if let Some(s) = self.streams.iter().flatten().find(|s| s.waker.is_some()) {
                self.driver = Some(s.id);
                s.waker.as_ref().expect("found").wake_by_ref();
            }
        }
    }

    /// Whether a stream other than `except` finished and waits for its slot to collect it.
    fn uncollected(&self, except: u32) -> bool {
        self.streams
            .iter()
            .flatten()
            .any(|s| s.id != except && (s.done || s.failed.is_some()))
    }

    /// Wakes the first request waiting for a stream.
    fn wake_next(&self) {
        if let Some((_, waker)) = self.waiting.front() {
            waker.wake_by_ref();
        }
    }

    /// Wakes every request waiting for a stream (the connection ended, or its limits changed).
    fn wake_waiting(&self) {
        for (_, waker) in &self.waiting {
            waker.wake_by_ref();
        }
    }

    fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
        index: usize,
        ask: &Ask<'_>,
    ) -> Poll<Result<Exchanged, (RequestError, Unprocessed)>> {
        let fresh = self.streams[index]
            .as_mut()
            .is_some_and(|s| std::mem::take(&mut s.fresh));
        if fresh && self.open > 1 {
            // Other streams are in flight, and their slots are likely being polled in this same
            // round, each queueing its next request: one stream polled after them all writes
            // them out together (h2load batches the same way). The first one to queue comes
            // back at the end of the round to do it, the others leave it to that one; a
            // single wake per round, since every self-wake counts towards the executor's
            // (FuturesUnordered's) yield to the runtime, which polls the sockets once more.
            // A body is queued now, to go out with its HEADERS: nothing polls this stream again
            // before its response, unless a window opens.
            self.send_body(index, ask.body);
            let stream = self.streams[index]
                .as_mut()
                .expect("a stream in flight stays in its place");
            stream.waker = Some(cx.waker().clone());
            if self.driver.is_none() {
                self.driver = Some(stream.id);
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        }
        if let Some(id) = self.driver
            && self.streams[index].as_ref().is_some_and(|s| s.id == id)
            && self.uncollected(id)
        {
            // Back too early: the executor may poll a woken task before others woken earlier
            // (its place in the queue is where it was first woken). Those still to collect a
            // finished stream will queue requests too; the last of them wakes this one.
            if let Some(stream) = self.streams[index].as_mut() {
                stream.waker = Some(cx.waker().clone());
            }
            self.driver_deferred = true;
            return Poll::Pending;
        }
        // A stream another one finished for returns without driving, unless it was woken to
        // write what the others queue in this round: those frames then go out together.
        let finished = self.streams[index]
            .as_ref()
            .is_some_and(|s| (s.done || s.failed.is_some()) && self.driver != Some(s.id));
        let yielded = if finished {
            false
        } else {
            self.send_body(index, ask.body);
            self.drive(cx, index)
        };
        let stream = self.streams[index]
            .as_mut()
            .expect("a stream in flight stays in its place");
        if let Some(failed) = stream.failed.take() {
            self.remove(index);
            return Poll::Ready(Err(failed));
        }
        if !stream.done {
            if !yielded {
                stream.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let no_body = ask.head_request || stream.status == 204 || stream.status == 304;
        let result = match stream.head.content_length {
            Some(length) if !no_body && length != stream.bytes => Err((
                RequestError::new(
                    ErrorKind::Body,
                    format!(
                        "body: {} bytes received, content-length says {length}",
                        stream.bytes
                    ),
                ),
                Unprocessed::No,
            )),
            _ => Ok(Exchanged {
                status: stream.status,
                bytes: stream.bytes,
                ttfb: stream.ttfb,
                location: stream.head.location.take(),
            }),
        };
        if result.is_ok()
            && let (Some(to), Some(from)) = (ask.capture, &stream.capture)
        {
            hand_over(from, to);
        }
        let reset = stream.body_sent < ask.body.len();
        if reset {
            // The server answered before taking the whole body: close our side.
            put_frame_header(&mut self.wbuf, 4, RST_STREAM, 0, stream.id);
            self.wbuf.extend_from_slice(&0u32.to_be_bytes()); // NO_ERROR
        }
        self.completed += 1;
        self.remove(index);
        if reset {
            // Let the reset go out now rather than with the next request. (Otherwise frames
            // queued by other streams wait for their own poll, so that they go out together.)
            let _ = self.poll_write_out(cx);
        }
        Poll::Ready(result)
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

    /// Queues as much of stream `index`'s body as the flow-control windows allow.
    fn send_body(&mut self, index: usize, body: &[u8]) {
        let Some(stream) = self.streams[index].as_mut() else {
            return;
        };
        if stream.done || stream.failed.is_some() || self.dead.is_some() {
            return;
        }
        while stream.body_sent < body.len() {
            let window = self.send_window.min(stream.send_window);
            if window <= 0 {
                return;
            }
            let left = body.len() - stream.body_sent;
            let n = left.min(self.peer_max_frame).min(window as usize);
            let flags = if n == left { END_STREAM } else { 0 };
            put_frame_header(&mut self.wbuf, n, DATA, flags, stream.id);
            self.wbuf
                .extend_from_slice(&body[stream.body_sent..stream.body_sent + n]);
            stream.body_sent += n;
            self.send_window -= n as i64;
            stream.send_window -= n as i64;
        }
    }

    /// Writes queued frames until done or the socket is full; errors end the connection.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.written < self.wbuf.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.written..]) {
                Poll::Ready(Ok(0)) => {
                    let e = std::io::Error::from(Io::WriteZero);
                    self.fail(io_error(&e, Stage::Request));
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.flush = true;
                }
                Poll::Ready(Err(e)) => {
                    self.fail(io_error(&e, Stage::Request));
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        self.wbuf.clear();
        self.written = 0;
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush = false,
                Poll::Ready(Err(e)) => {
                    self.fail(io_error(&e, Stage::Request));
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(())
    }

    /// Drives the connection on behalf of stream `me`: writes what is queued, reads and handles
    /// every frame that arrived. Returns true when it stopped early to let the task yield (it
    /// has woken the task itself).
    fn drive(&mut self, cx: &mut Context<'_>, me: usize) -> bool {
        // Whatever is queued goes out now: no other stream need be woken to write it.
        self.driver = None;
        self.driver_deferred = false;
        let mut reads = 0;
        loop {
            if self.dead.is_some() {
                return false;
            }
            self.handle_buffered();
            if self.dead.is_some() {
                return false;
            }
            let _ = self.poll_write_out(cx);
            if self.dead.is_some() {
                return false;
            }
            if reads == READ_BUDGET {
                cx.waker().wake_by_ref();
                return true;
            }
            if self.end == self.rbuf.len() {
                // A frame larger than the buffer: make room (frames are at most MAX_FRAME).
                self.rbuf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.end == self.rbuf.len() {
                    let len = self.rbuf.len();
                    self.rbuf.resize((2 * len).max(9 + MAX_FRAME), 0);
                }
            }
            let mut buf = ReadBuf::new(&mut self.rbuf[self.end..]);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    if n == 0 {
                        self.closed();
                        return false;
                    }
                    self.end += n;
                    reads += 1;
                }
                Poll::Ready(Err(e)) => {
                    self.fail(io_error(&e, Stage::Request));
                    return false;
                }
                Poll::Pending => {
                    self.reader = Some(me);
                    return false;
                }
            }
        }
    }

    /// The peer closed the connection.
    fn closed(&mut self) {
        let what = if self.completed == 0 && self.start == self.end {
            "connection closed before the response"
        } else {
            "connection closed"
        };
        self.fail(RequestError::new(ErrorKind::Closed, what));
    }

    /// A connection error: every stream in flight fails with it.
    fn fail(&mut self, error: RequestError) {
        for stream in self.streams.iter_mut().flatten() {
            if stream.failed.is_none() && !stream.done {
                let mut failure = stream_failure(&error, stream);
                if failure.0.kind == ErrorKind::Body
                    && error.message.starts_with("connection closed")
                {
                    failure.0.message =
                        "body: connection closed in the middle of the response body".into();
                }
                stream.failed = Some(failure);
            }
            if let Some(waker) = stream.waker.take() {
                waker.wake();
            }
        }
        self.wake_waiting();
        self.dead = Some(error);
    }

    /// Handles every whole frame in the read buffer.
    fn handle_buffered(&mut self) {
        let mut rbuf = std::mem::take(&mut self.rbuf);
        while self.dead.is_none() {
            let Some(h) = rbuf[..self.end].get(self.start..self.start + 9) else {
                break;
            };
            let h: &[u8; 9] = h.try_into().expect("nine bytes");
            let (len, kind, flags, stream) = frame::parse_header(h);
            if len > MAX_FRAME {
                let error = if rbuf[self.start..].starts_with(b"HTTP/1.") {
                    protocol("the server answered HTTP/1.x (it does not speak HTTP/2 here)")
                } else {
                    protocol(format!(
                        "{len}-byte frame, larger than SETTINGS_MAX_FRAME_SIZE"
                    ))
                };
                self.fail(error);
                break;
            }
            if self.end - self.start < 9 + len {
                break;
            }
            let payload = &rbuf[self.start + 9..self.start + 9 + len];
            self.start += 9 + len;
            if let Err(e) = self.on_frame(kind, flags, stream, payload) {
                self.fail(e);
            }
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > rbuf.len() / 2 {
            rbuf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.rbuf = rbuf;
    }

    fn find(&self, id: u32) -> Option<usize> {
        self.streams
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.id == id))
    }

    /// Whether `id` names a stream we never opened (RFC 9113 §5.1 "idle"): the server can only
    /// speak on streams we opened.
    fn idle(&self, id: u32) -> bool {
        id.is_multiple_of(2) || id >= self.next_stream
    }

    /// Ends stream `index` with an error and wakes it.
    fn fail_stream(&mut self, index: usize, error: RequestError, unprocessed: Unprocessed) {
        if let Some(stream) = self.streams[index].as_mut() {
            stream.failed = Some((error, unprocessed));
            if let Some(waker) = stream.waker.take() {
                waker.wake();
            }
        }
    }

    fn finish_stream(&mut self, index: usize) {
        if let Some(stream) = self.streams[index].as_mut() {
            stream.done = true;
            if let Some(waker) = stream.waker.take() {
                waker.wake();
            }
        }
    }

    /// Acts on one frame; an `Err` is a connection error.
    fn on_frame(
        &mut self,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
    ) -> Result<(), RequestError> {
        let len = payload.len();
        if self.continuing.is_some() && kind != CONTINUATION {
            return Err(protocol("header block not continued"));
        }
        match kind {
            DATA => {
                if stream == 0 {
                    return Err(protocol("DATA on stream 0"));
                }
                if self.idle(stream) {
                    return Err(protocol(format!("DATA on stream {stream}, never opened")));
                }
                self.recv_used += len as u32;
                if self.recv_used >= RECV_WINDOW / 2 {
                    put_window_update(&mut self.wbuf, 0, self.recv_used);
                    self.recv_used = 0;
                }
                // A stream we already gave up on: its data only counts against the window.
                let Some(index) = self.find(stream) else {
                    return Ok(());
                };
                let data = unpad(payload, flags)?;
                let s = self.streams[index].as_mut().expect("found");
                if s.stage != Stage::Body {
                    let e = protocol("DATA before the response head");
                    self.reset(index, e);
                    return Ok(());
                }
                s.bytes += data.len() as u64;
                if let Some(capture) = &s.capture {
                    capture.body(data);
                }
                if flags & END_STREAM != 0 {
                    self.finish_stream(index);
                } else {
                    s.recv_used += len as u32;
                    if s.recv_used >= RECV_WINDOW / 2 {
                        put_window_update(&mut self.wbuf, s.id, s.recv_used);
                        s.recv_used = 0;
                    }
                }
            }
            HEADERS => {
                if stream == 0 || self.idle(stream) {
                    return Err(protocol(format!(
                        "HEADERS on stream {stream}, never opened"
                    )));
                }
                let mut fragment = unpad(payload, flags)?;
                if flags & PRIORITY != 0 {
                    fragment = fragment
                        .get(5..)
                        .ok_or_else(|| protocol("HEADERS too short for its priority"))?;
                }
                let end_stream = flags & END_STREAM != 0;
                if flags & END_HEADERS != 0 {
                    self.on_block(stream, fragment, end_stream)?;
                } else {
                    self.block.clear();
                    self.block.extend_from_slice(fragment);
                    self.continuing = Some((stream, end_stream));
                }
            }
            CONTINUATION => {
                let Some((on, end_stream)) = self.continuing else {
                    return Err(protocol("CONTINUATION without HEADERS"));
                };
                if stream != on {
                    return Err(protocol("header block not continued"));
                }
                self.block.extend_from_slice(payload);
                if self.block.len() > MAX_HEAD {
                    return Err(protocol("response head larger than 256 KiB"));
                }
                if flags & END_HEADERS != 0 {
                    self.continuing = None;
                    let block = std::mem::take(&mut self.block);
                    let result = self.on_block(stream, &block, end_stream);
                    self.block = block;
                    result?;
                }
            }
            RST_STREAM => {
                if stream == 0 {
                    return Err(protocol("RST_STREAM on stream 0"));
                }
                if self.idle(stream) {
                    return Err(protocol(format!(
                        "RST_STREAM on stream {stream}, never opened"
                    )));
                }
                let code = payload
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| protocol("RST_STREAM of the wrong size"))?;
                if let Some(index) = self.find(stream) {
                    let s = self.streams[index].as_ref().expect("found");
                    if s.done {
                        // After a complete response: the server stops reading the rest of our
                        // body (RFC 9113 §8.1), which is no failure.
                        return Ok(());
                    }
                    let (kind, unprocessed) = match (s.stage, code) {
                        // REFUSED_STREAM: the server did nothing with the request (§8.7).
                        (Stage::Request, 7) => (ErrorKind::Reset, Unprocessed::Certainly),
                        (Stage::Request, _) => (ErrorKind::Reset, Unprocessed::No),
                        (Stage::Body, _) => (ErrorKind::Body, Unprocessed::No),
                    };
                    let message = format!(
                        "{}: stream reset by the server: {}",
                        s.stage.what(),
                        error_name(code)
                    );
                    self.fail_stream(index, RequestError::new(kind, message), unprocessed);
                }
            }
            SETTINGS => {
                if stream != 0 {
                    return Err(protocol("SETTINGS on a stream"));
                }
                if flags & ACK != 0 {
                    if len != 0 {
                        return Err(protocol("SETTINGS acknowledgement with a payload"));
                    }
                    return Ok(());
                }
                if !len.is_multiple_of(6) {
                    return Err(protocol("SETTINGS of the wrong size"));
                }
                for s in payload.chunks_exact(6) {
                    let id = u16::from_be_bytes([s[0], s[1]]);
                    let value = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
                    self.on_setting(id, value)?;
                }
                if !self.settings_seen {
                    self.settings_seen = true;
                    self.wake_waiting();
                }
                put_frame_header(&mut self.wbuf, 0, SETTINGS, ACK, 0);
            }
            PING => {
                if stream != 0 {
                    return Err(protocol("PING on a stream"));
                }
                if len != 8 {
                    return Err(protocol("PING of the wrong size"));
                }
                if flags & ACK == 0 {
                    put_frame_header(&mut self.wbuf, 8, PING, ACK, 0);
                    self.wbuf.extend_from_slice(payload);
                }
            }
            GOAWAY => {
                if stream != 0 {
                    return Err(protocol("GOAWAY on a stream"));
                }
                if len < 8 {
                    return Err(protocol("GOAWAY too short"));
                }
                let p = payload;
                let last = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & MAX_STREAM_ID;
                let code = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
                self.goaway = Some(self.goaway.map_or(last, |l| l.min(last)));
                // Streams above the last id were never processed: they may go again elsewhere.
                let refused: Vec<(usize, Stage)> = self
                    .streams
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
                    .filter(|(_, s)| s.id > last && !s.done && s.failed.is_none())
                    .map(|(i, s)| (i, s.stage))
                    .collect();
                for (index, stage) in refused {
                    let error = RequestError::new(
                        ErrorKind::Closed,
                        format!(
                            "{}: the server is closing the connection (GOAWAY {}) and did not take this request",
                            stage.what(),
                            error_name(code)
                        ),
                    );
                    self.fail_stream(index, error, Unprocessed::Certainly);
                }
                self.wake_waiting();
            }
            WINDOW_UPDATE => {
                if len != 4 {
                    return Err(protocol("WINDOW_UPDATE of the wrong size"));
                }
                let p = payload;
                let increment =
                    i64::from(u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & MAX_STREAM_ID);
                if stream == 0 {
                    if increment == 0 {
                        return Err(protocol("WINDOW_UPDATE of 0"));
                    }
                    // A window past 2^31-1 is a FLOW_CONTROL_ERROR (RFC 9113 §6.9.1).
                    self.send_window += increment;
                    if self.send_window > MAX_WINDOW {
                        return Err(protocol("WINDOW_UPDATE takes a window past 2^31-1"));
                    }
                    self.wake_senders();
                } else if self.idle(stream) {
                    return Err(protocol(format!(
                        "WINDOW_UPDATE on stream {stream}, never opened"
                    )));
                } else if let Some(index) = self.find(stream) {
                    if increment == 0 {
                        self.reset(index, protocol("WINDOW_UPDATE of 0"));
                        return Ok(());
                    }
                    let s = self.streams[index].as_mut().expect("found");
                    s.send_window += increment;
                    if s.send_window > MAX_WINDOW {
                        self.reset(index, protocol("WINDOW_UPDATE takes a window past 2^31-1"));
                        return Ok(());
                    }
                    if let Some(waker) = s.waker.take() {
                        waker.wake();
                    }
                }
            }
            PUSH_PROMISE => return Err(protocol("PUSH_PROMISE, though push is off")),
            // PRIORITY and unknown frame types are ignored.
            _ => {}
        }
        Ok(())
    }

    fn on_setting(&mut self, id: u16, value: u32) -> Result<(), RequestError> {
        match id {
            0x2 if value > 1 => return Err(protocol("SETTINGS_ENABLE_PUSH above 1")),
            0x3 => {
                let more = value > self.max_streams;
                self.max_streams = value;
                if more {
                    self.wake_waiting();
                }
            }
            0x4 => {
                if value > MAX_STREAM_ID {
                    return Err(protocol("SETTINGS_INITIAL_WINDOW_SIZE too large"));
                }
                let delta = i64::from(value) - self.initial_send_window;
                self.initial_send_window = i64::from(value);
                for s in self.streams.iter_mut().flatten() {
                    s.send_window += delta;
                    if s.send_window > MAX_WINDOW {
                        return Err(protocol(
                            "SETTINGS_INITIAL_WINDOW_SIZE takes a stream's window past 2^31-1",
                        ));
                    }
                }
                if delta > 0 {
                    self.wake_senders();
                }
            }
            0x5 => {
                if !(16_384..=16_777_215).contains(&value) {
                    return Err(protocol("SETTINGS_MAX_FRAME_SIZE out of range"));
                }
                self.peer_max_frame = value as usize;
            }
            // Header table size (our requests never index), header list size, and anything
            // unknown.
            _ => {}
        }
        Ok(())
    }

    /// Wakes streams that may have body left to send now that a window opened.
    fn wake_senders(&mut self) {
        for s in self.streams.iter_mut().flatten() {
            if let Some(waker) = s.waker.take() {
                waker.wake();
            }
        }
    }

    /// A stream error: the stream fails and the server is told to stop sending on it.
    fn reset(&mut self, index: usize, error: RequestError) {
        if let Some(s) = self.streams[index].as_ref() {
            put_frame_header(&mut self.wbuf, 4, RST_STREAM, 0, s.id);
            self.wbuf.extend_from_slice(&1u32.to_be_bytes()); // PROTOCOL_ERROR
            self.fail_stream(index, error, Unprocessed::No);
        }
    }

    /// A complete header block: an interim (1xx) head, the final head, or trailers. Every
    /// block is decoded, even on a stream we gave up on, to keep the HPACK table in step.
    fn on_block(
        &mut self,
        stream: u32,
        block: &[u8],
        end_stream: bool,
    ) -> Result<(), RequestError> {
        let index = self.find(stream);
        let want_location = index
            .and_then(|i| self.streams[i].as_ref())
            .is_some_and(|s| s.want_location && s.stage == Stage::Request);
        let mut head = Head::default();
        // Only the final head's headers are captured, not trailers.
        let capture = index
            .and_then(|i| self.streams[i].as_ref())
            .filter(|s| s.stage == Stage::Request)
            .and_then(|s| s.capture.as_deref())
            .filter(|c| !c.header_names().is_empty());
        // An HPACK failure leaves the table out of step: a connection error.
        match capture {
            None => self.decoder.decode(block, want_location, &mut head)?,
            Some(capture) => {
                decode_captured(&mut self.decoder, block, want_location, &mut head, capture)?;
            }
        }
        let Some(index) = index else {
            return Ok(());
        };
        let s = self.streams[index].as_mut().expect("found");
        if s.stage == Stage::Body {
            // Trailers: nothing in them is reported.
            if !end_stream {
                self.reset(index, protocol("trailers without END_STREAM"));
                return Ok(());
            }
            self.finish_stream(index);
            return Ok(());
        }
        let Some(status) = head.status else {
            self.reset(index, protocol("no :status"));
            return Ok(());
        };
        if (100..200).contains(&status) {
            if end_stream {
                self.reset(index, protocol("interim response ends the stream"));
            }
            return Ok(());
        }
        s.status = status;
        s.head = head;
        s.ttfb = s.started.elapsed();
        s.stage = Stage::Body;
        if end_stream {
            self.finish_stream(index);
        }
        Ok(())
    }
}
