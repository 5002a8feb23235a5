//! HTTP/1.1 response heads: parsed with `httparse` into uninitialised header slots, reading only
//! what framing and reporting need (Content-Length, Transfer-Encoding, Connection, Location),
//! without a header map. A pure function of the bytes received so far, so it fuzzes directly.

use flak_core::RequestError;

use super::protocol;

/// Responses with more header lines than this are refused as not HTTP we can load-test.
const MAX_HEADERS: usize = 64;

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
/// Location header, for following redirects.
pub fn parse(
    buf: &[u8],
    head_request: bool,
    want_location: bool,
) -> Result<Option<Head>, RequestError> {
    // Uninitialised slots: zeroing 64 headers (2 KiB) cost more than parsing nginx's eight.
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(protocol(e)),
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
