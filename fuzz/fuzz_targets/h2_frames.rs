//! An HTTP/2 server's bytes, as they are: one exchange over them (`h2_exchanges`: a POST on
//! stream 1 and, if the connection is still reusable, a GET on stream 3), over a connection that
//! delivers them in pieces. The structure-aware `h2_exchange` builds well-formed frames; this
//! one lets the fuzzer mutate the bytes of real responses (the seeds).
//!
//! Input: byte 0 holds flags (bit 0: the request was HEAD; bits 1-2 pick the request body: none,
//! 1 byte, 100 bytes or 70,000, more than the default windows allow), bytes 1 to 3 the piece
//! sizes, and the rest is what the server sent; bit 3: the first exchange captures headers
//! and body for a journey. Checks: see `wire::check_h2_written` and `wire::check_capture`.
#![no_main]

mod wire;

use flak_wire::fuzz_bridge::h2_exchanges;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (flags, sizes, input) = (data[0], &data[1..4], &data[4..]);
    let body = vec![b'b'; [0, 1, 100, 70_000][usize::from(flags >> 1 & 3)]];
    let mut io = wire::Script::new(input, sizes);
    let capture = wire::capture();
    let keep = (flags & 8 != 0).then_some(&capture);
    let results = wire::run(h2_exchanges(&mut io, &body, flags & 1 != 0, keep));
    if keep.is_some() {
        wire::check_capture(&capture, &results[0]);
    }
    // A stream error (a reset, a broken head, a short body) leaves the connection usable
    // (RFC 9113 §5.4.2), so a second exchange may follow a failed first one, as in h2_exchange.
    assert!(!results.is_empty() && results.len() <= 2);
    wire::check_h2_written(&io.written, input, &body, &results);
});
