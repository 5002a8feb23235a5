//! HTTP/1.1 responses as a server sends them: the head parser (`h1_head`) on the raw bytes, and
//! a whole exchange (`h1_exchange`: interim 1xx heads, then the body framed by Content-Length,
//! chunks or close) over a connection that delivers the bytes in pieces.
//!
//! Input: byte 0 holds flags (bit 0: the request was HEAD; bit 1: keep Location in the
//! `h1_head` call), bytes 1 to 3 the sizes of the pieces the connection delivers (cycled), and
//! the rest is what the server sent. The exchange must end as a simple model of the whole
//! input says it does, whatever the piece sizes: the same status, Location and body count (for
//! Content-Length framing, the length itself), or an error of the same kind. A head that
//! parses has a status from 100 to 599, however many header lines it has. The exchange runs
//! with a journey's capture (wanting `x-a` and the body): when it succeeds the capture holds
//! the final head's `x-a` headers as httparse reads them and exactly the body bytes.
#![no_main]

mod wire;

use flak_core::Capture;
use flak_wire::ErrorKind;
use flak_wire::fuzz_bridge::{Framing, h1_exchange, h1_head};
use libfuzzer_sys::fuzz_target;

/// What the exchange should give: Ok((status, bytes, location)) or the error's kind, and
/// whether the connection stays reusable.
type Expected = (Result<(u16, u64, Option<String>), ErrorKind>, bool);

/// What a capture of `x-a` and the body should hold: (headers, body).
type Kept = (Vec<Vec<u8>>, Vec<u8>);

/// The `x-a` values of the head at the start of `input`, by httparse alone.
fn x_a(input: &[u8]) -> Vec<Vec<u8>> {
    let lines = input.iter().filter(|&&b| b == b'\n').count().max(1);
    let mut headers = vec![httparse::EMPTY_HEADER; lines];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(input) {
        Ok(httparse::Status::Complete(_)) => response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("x-a"))
            .map(|h| h.value.to_vec())
            .collect(),
        _ => Vec::new(),
    }
}

fn expected(input: &[u8], head_request: bool, kept: &mut Kept) -> Expected {
    let mut at = 0;
    // A `Connection: close` on an interim head counts too.
    let mut close = false;
    let head = loop {
        match h1_head(&input[at..], head_request, true, None) {
            Ok(Some(head)) => {
                kept.0 = x_a(&input[at..]);
                at += head.used;
                close |= head.close;
                if !(100..200).contains(&head.status) || head.status == 101 {
                    break head;
                }
            }
            Ok(None) => return (Err(ErrorKind::Closed), false),
            Err(e) => return (Err(e.kind), false),
        }
    };
    let body = &input[at..];
    let (bytes, reusable) = match head.framing {
        Framing::None => (Ok(0), !close),
        Framing::Length(n) if (body.len() as u64) >= n => {
            kept.1 = body[..n as usize].to_vec();
            (Ok(n), !close)
        }
        Framing::Length(_) => (Err(ErrorKind::Body), false),
        Framing::UntilClose => {
            kept.1 = body.to_vec();
            (Ok(body.len() as u64), false)
        }
        Framing::Chunked => {
            let (r, closed) = chunked(body, &mut kept.1);
            (r, !close && !closed)
        }
    };
    (bytes.map(|b| (head.status, b, head.location)), reusable)
}

/// A chunked body at the start of `body`: its size, and whether reading it met the end of the
/// connection.
fn chunked(mut body: &[u8], data: &mut Vec<u8>) -> (Result<u64, ErrorKind>, bool) {
    fn line<'a>(body: &mut &'a [u8]) -> Option<&'a [u8]> {
        let i = body.windows(2).position(|w| w == b"\r\n")?;
        let l = &body[..i];
        *body = &body[i + 2..];
        Some(l)
    }
    let mut total = 0u64;
    loop {
        let Some(l) = line(&mut body) else {
            return (Err(ErrorKind::Body), true);
        };
        let text = l
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let Some(size) = std::str::from_utf8(text)
            .ok()
            .and_then(|s| u64::from_str_radix(s, 16).ok())
        else {
            return (Err(ErrorKind::Body), false);
        };
        if size == 0 {
            loop {
                match line(&mut body) {
                    None => return (Err(ErrorKind::Body), true),
                    Some([]) => return (Ok(total), false),
                    Some(_) => {}
                }
            }
        }
        if (body.len() as u64) < size {
            return (Err(ErrorKind::Body), true);
        }
        data.extend_from_slice(&body[..size as usize]);
        body = &body[size as usize..];
        total += size;
        match line(&mut body) {
            None => return (Err(ErrorKind::Body), true),
            Some([]) => {}
            Some(_) => return (Err(ErrorKind::Body), false),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (flags, sizes, input) = (data[0], &data[1..4], &data[4..]);
    let head_request = flags & 1 != 0;

    // The head parser on the whole input, and on the prefix it says it used.
    if let Ok(Some(head)) = h1_head(input, head_request, flags & 2 != 0, None) {
        assert!(head.used > 0 && head.used <= input.len());
        assert!((100..600).contains(&head.status), "status {}", head.status);
        if head_request {
            assert_eq!(head.framing, Framing::None);
        }
        let again = h1_head(&input[..head.used], head_request, flags & 2 != 0, None)
            .expect("the head parses on its own")
            .expect("the head is complete on its own");
        assert_eq!(
            (again.status, again.framing, again.used),
            (head.status, head.framing, head.used)
        );
        assert!(
            matches!(
                h1_head(&input[..head.used - 1], head_request, false, None),
                Ok(None)
            ),
            "a complete head less its last byte is not incomplete"
        );
    }

    let mut io = wire::Script::new(input, sizes);
    let capture = Capture::new(["X-A"], true);
    let (result, reusable) = wire::run(h1_exchange(&mut io, head_request, Some(&capture)));
    assert!(io.written.starts_with(b"GET / HTTP/1.1\r\n"));
    let mut kept = Kept::default();
    let (want, want_reusable) = expected(input, head_request, &mut kept);
    match (&result, &want) {
        (Ok(got), Ok((status, bytes, location))) => {
            assert_eq!(
                (got.status, got.bytes, &got.location),
                (*status, *bytes, location)
            );
        }
        (Err(got), Err(kind)) => assert_eq!(got.kind, *kind, "{got:?}"),
        _ => panic!("exchange gave {result:?}, the model {want:?}"),
    }
    if result.is_ok() {
        assert_eq!(reusable, want_reusable, "reusable");
        let got = capture.got();
        let values: Vec<Vec<u8>> = got.headers.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(values, kept.0, "captured x-a");
        assert!(got.headers.iter().all(|(n, _)| n == "x-a"));
        let limit = flak_core::CAPTURE_BODY_LIMIT;
        assert_eq!(got.body, kept.1[..kept.1.len().min(limit)], "captured body");
        assert_eq!(got.truncated, kept.1.len() > limit);
    }
});
