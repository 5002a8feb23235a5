//! HTTP/1.1 response heads: parsed with `httparse` into uninitialised header slots, reading only
//! what framing and reporting need (Content-Length, Transfer-Encoding, Connection, Location),
//! without a header map. A pure function of the bytes received so far, so it fuzzes directly.

use flak_core::{Capture, RequestError};

use super::protocol;

/// Header slots on the stack; a head with more lines is parsed again with as many slots as it
/// has lines (bounded by the connection's 256 KiB head limit), so the common case costs
/// nothing more.
const MAX_HEADERS: usize = 64;

type Slot<'b> = std::mem::MaybeUninit<httparse::Header<'b>>;

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// What a response head says that flak uses.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    pub location: Option<String>,
    /// The server will close the connection after this response.
    pub close: bool,
    /// Bytes of the buffer the head took.
    pub used: usize,
}

/// Parses a response head at the start of `buf`: `None` while it is incomplete. `head_request`
/// says the request was HEAD (no body whatever the head says); `want_location` keeps the
/// Location header, for following redirects. A final (not 1xx) head offers its headers to
/// `capture` when there is one.
pub fn parse(
    buf: &[u8],
    head_request: bool,
    want_location: bool,
    capture: Option<&Capture>,
) -> Result<Option<Head>, RequestError> {
    // Uninitialised slots: zeroing 64 headers (2 KiB) cost more than parsing nginx's eight.
    let mut headers = [const { Slot::uninit() }; MAX_HEADERS];
    let mut many = Vec::new();
    let mut slots: &mut [Slot<'_>] = &mut headers;
    // One call site of the parser, so it stays inlined in the common case.
    loop {
        match parse_with(buf, slots, head_request, want_location, capture) {
            Ok(head) => return Ok(head),
            Err(Failed::Bad(e)) => return Err(e),
            Err(Failed::TooManyHeaders) if many.is_empty() => {
                many = more_slots(buf);
                slots = &mut many;
            }
            Err(Failed::TooManyHeaders) => return Err(protocol("too many headers")),
        }
    }
}

/// Slots for a head with more lines than [`MAX_HEADERS`]: every header line ends in a newline,
/// so as many as the buffer has newlines are enough.
#[cold]
#[inline(never)]
fn more_slots(buf: &[u8]) -> Vec<Slot<'_>> {
    let lines = buf.iter().filter(|&&b| b == b'\n').count().max(1);
    let mut many = Vec::with_capacity(lines);
    many.resize_with(lines, Slot::uninit);
    many
}

enum Failed {
    /// More header lines than slots: try again with more.
    TooManyHeaders,
    Bad(RequestError),
}

impl From<RequestError> for Failed {
    fn from(e: RequestError) -> Self {
        Self::Bad(e)
    }
}

#[inline(always)]
fn parse_with<'b>(
    buf: &'b [u8],
    headers: &mut [Slot<'b>],
    head_request: bool,
    want_location: bool,
    capture: Option<&Capture>,
) -> Result<Option<Head>, Failed> {
    let mut response = httparse::Response::new(&mut []);
    let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Failed::TooManyHeaders),
        Err(e) => return Err(protocol(e).into()),
    };
    let status = response.code.unwrap_or(0);
    // RFC 9110 §15: a status code is three digits from 100 to 599.
    if !(100..600).contains(&status) {
        return Err(protocol(format!("status {status:03} outside 100-599")).into());
    }
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
                return Err(protocol("conflicting Content-Length headers").into());
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
    if let Some(capture) = capture
        && !((100..200).contains(&status) && status != 101)
    {
        offer(capture, response.headers);
    }
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    let framing = if no_body {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        framing,
        location,
        close,
        used,
    }))
}

/// Offers a journey's capture the head's headers (the fast path never gets here).
#[cold]
#[inline(never)]
fn offer(capture: &Capture, headers: &[httparse::Header<'_>]) {
    if capture.header_names().is_empty() {
        return;
    }
    for h in headers {
        capture.header(h.name.as_bytes(), h.value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn many_headers(n: usize) -> Vec<u8> {
        let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        r.extend_from_slice(b"Location: /far\r\nContent-Length: 2\r\n\r\nok");
        r
    }

    #[test]
    fn any_number_of_header_lines_is_read() {
        for n in [0, 62, 63, 64, 150, 5000] {
            let buf = many_headers(n);
            let head = parse(&buf, false, true, None).unwrap().unwrap();
            assert_eq!(head.status, 200, "{n} lines");
            assert_eq!(head.framing, Framing::Length(2), "{n} lines");
            assert_eq!(head.location.as_deref(), Some("/far"), "{n} lines");
            assert_eq!(head.used, buf.len() - 2, "{n} lines");
            // Incomplete, with more lines than the stack slots: wait for the rest.
            assert!(
                parse(&buf[..buf.len() - 6], false, true, None)
                    .unwrap()
                    .is_none()
            );
        }
    }

    #[test]
    fn a_final_head_offers_its_wanted_headers_in_any_case() {
        let capture = Capture::new(["x-token"], false);
        let buf = b"HTTP/1.1 200 OK\r\nX-TOKEN: abc\r\nX-Other: no\r\nx-token: def\r\n\r\n";
        parse(buf, false, false, Some(&capture)).unwrap().unwrap();
        let got = capture.got().headers.clone();
        assert_eq!(
            got,
            [
                ("x-token".to_string(), b"abc".to_vec()),
                ("x-token".to_string(), b"def".to_vec())
            ]
        );
        // An interim head offers nothing.
        capture.clear();
        parse(
            b"HTTP/1.1 103 Early\r\nX-Token: 1\r\n\r\n",
            false,
            false,
            Some(&capture),
        )
        .unwrap()
        .unwrap();
        assert!(capture.got().headers.is_empty());
    }

    #[test]
    fn statuses_outside_100_to_599_are_protocol_errors() {
        for status in ["000", "099", "600", "999"] {
            let buf = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            let err = parse(buf.as_bytes(), false, false, None).unwrap_err();
            assert_eq!(err.kind, flak_core::ErrorKind::Protocol, "{status}");
            assert!(err.message.contains("outside 100-599"), "{}", err.message);
        }
        for status in [100, 101, 200, 599] {
            let buf = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(
                parse(buf.as_bytes(), false, false, None)
                    .unwrap()
                    .unwrap()
                    .status,
                status
            );
        }
    }
}
