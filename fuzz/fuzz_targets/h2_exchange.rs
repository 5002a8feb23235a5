//! The structure-aware HTTP/2 target: the fuzzer builds a server's side as a list of frames
//! (any type, flags, and a stream id from a small set, with payloads shaped for their type:
//! HPACK blocks of status, content-length and location fields, SETTINGS, window increments,
//! padding) with now and then raw bytes between them, and a request body of up to ~70 KB (more
//! than the default flow-control windows). The frames are encoded and played to `h2_exchanges`
//! in pieces. Checks: see `wire::check_h2_written`.
#![no_main]

mod wire;

use flak_wire::fuzz_bridge::{h2_exchanges, huffman_encode};
use flak_wire::h2::frame;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    head_request: bool,
    body_len: u32,
    sizes: Vec<u8>,
    pieces: Vec<Piece>,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Frame {
        kind: Kind,
        flags: Flags,
        stream: Stream,
        payload: Payload,
    },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    Goaway,
    WindowUpdate,
    Continuation,
    Other(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Flags {
    None,
    EndStream,
    EndHeaders,
    EndBoth,
    Any(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Stream {
    Connection,
    First,
    Second,
    Unopened,
    Any(u32),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    Empty,
    Bytes(Vec<u8>),
    /// A HEADERS or CONTINUATION block.
    Block(Vec<Field>),
    /// DATA of this many bytes (up to 16 KiB).
    Zeros(u16),
    /// A SETTINGS payload.
    Settings(Vec<(Setting, u32)>),
    /// RST_STREAM's code, WINDOW_UPDATE's increment.
    Word(u32),
    /// GOAWAY: last stream id, error code.
    Goaway(u32, u32),
    Ping([u8; 8]),
    /// The inner payload behind a pad length, followed by that much padding (or less).
    Padded(u8, u8, Box<Payload>),
    /// HEADERS priority fields, then the inner payload.
    Prioritised([u8; 5], Box<Payload>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Setting {
    HeaderTableSize,
    EnablePush,
    MaxConcurrentStreams,
    InitialWindowSize,
    MaxFrameSize,
    MaxHeaderListSize,
    Other(u16),
}

#[derive(Arbitrary, Debug)]
enum Field {
    /// A static-table entry (8 to 14 are statuses), index up to 127.
    Indexed(u8),
    /// `:status` as a literal with a static name.
    Status(u16, Coding),
    ContentLength(u64, Coding),
    Location(String, Coding),
    /// A literal with a literal name.
    Literal(String, String, Coding),
    /// A literal with a static name index (up to 127).
    Named(u8, String, Coding),
    TableSize(u32),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Coding {
    /// Literal with incremental indexing, raw string.
    Indexing,
    /// Without indexing, Huffman-coded.
    Huffman,
    /// Never indexed, raw.
    Never,
}

fn put_string(out: &mut Vec<u8>, s: &[u8], huffman: bool) {
    if huffman {
        let coded = huffman_encode(s);
        flak_wire::fuzz_bridge::hpack_put_int(out, 0x80, 7, coded.len());
        out.extend_from_slice(&coded);
    } else {
        flak_wire::fuzz_bridge::hpack_put_int(out, 0, 7, s.len());
        out.extend_from_slice(s);
    }
}

fn put_literal(out: &mut Vec<u8>, index: usize, value: &[u8], coding: Coding) {
    match coding {
        Coding::Indexing => flak_wire::fuzz_bridge::hpack_put_int(out, 0x40, 6, index),
        Coding::Huffman => flak_wire::fuzz_bridge::hpack_put_int(out, 0x00, 4, index),
        Coding::Never => flak_wire::fuzz_bridge::hpack_put_int(out, 0x10, 4, index),
    }
    put_string(out, value, matches!(coding, Coding::Huffman));
}

fn encode_field(out: &mut Vec<u8>, field: &Field) {
    match field {
        Field::Indexed(i) => {
            flak_wire::fuzz_bridge::hpack_put_int(out, 0x80, 7, usize::from(*i & 0x7f))
        }
        Field::Status(s, c) => put_literal(out, 8, s.to_string().as_bytes(), *c),
        Field::ContentLength(n, c) => put_literal(out, 28, n.to_string().as_bytes(), *c),
        Field::Location(l, c) => put_literal(out, 46, l.as_bytes(), *c),
        Field::Literal(name, value, c) => {
            put_literal(out, 0, b"", *c);
            out.pop(); // the empty value: the name goes there, then the value
            put_string(out, name.as_bytes(), matches!(c, Coding::Huffman));
            put_string(out, value.as_bytes(), matches!(c, Coding::Huffman));
        }
        Field::Named(i, value, c) => put_literal(out, usize::from(*i & 0x7f), value.as_bytes(), *c),
        Field::TableSize(n) => flak_wire::fuzz_bridge::hpack_put_int(out, 0x20, 5, *n as usize),
        Field::Raw(b) => out.extend_from_slice(b),
    }
}

fn encode_payload(out: &mut Vec<u8>, payload: &Payload) {
    match payload {
        Payload::Empty => {}
        Payload::Bytes(b) => out.extend_from_slice(b),
        Payload::Block(fields) => fields.iter().for_each(|f| encode_field(out, f)),
        Payload::Zeros(n) => out.resize(out.len() + usize::from(*n % 16_385), 0),
        Payload::Settings(settings) => {
            for (id, value) in settings {
                let id = match id {
                    Setting::HeaderTableSize => 1,
                    Setting::EnablePush => 2,
                    Setting::MaxConcurrentStreams => 3,
                    Setting::InitialWindowSize => 4,
                    Setting::MaxFrameSize => 5,
                    Setting::MaxHeaderListSize => 6,
                    Setting::Other(id) => *id,
                };
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
        Payload::Word(w) => out.extend_from_slice(&w.to_be_bytes()),
        Payload::Goaway(last, code) => {
            out.extend_from_slice(&last.to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
        }
        Payload::Ping(p) => out.extend_from_slice(p),
        Payload::Padded(pad, given, inner) => {
            out.push(*pad);
            encode_payload(out, inner);
            out.resize(out.len() + usize::from(*pad.min(given)), 0);
        }
        Payload::Prioritised(p, inner) => {
            out.extend_from_slice(p);
            encode_payload(out, inner);
        }
    }
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Raw(b) => out.extend_from_slice(b),
            Piece::Frame {
                kind,
                flags,
                stream,
                payload: p,
            } => {
                let kind = match kind {
                    Kind::Data => frame::DATA,
                    Kind::Headers => frame::HEADERS,
                    Kind::Priority => 0x2,
                    Kind::RstStream => frame::RST_STREAM,
                    Kind::Settings => frame::SETTINGS,
                    Kind::PushPromise => frame::PUSH_PROMISE,
                    Kind::Ping => frame::PING,
                    Kind::Goaway => frame::GOAWAY,
                    Kind::WindowUpdate => frame::WINDOW_UPDATE,
                    Kind::Continuation => frame::CONTINUATION,
                    Kind::Other(k) => *k,
                };
                let flags = match flags {
                    Flags::None => 0,
                    Flags::EndStream => frame::END_STREAM,
                    Flags::EndHeaders => frame::END_HEADERS,
                    Flags::EndBoth => frame::END_STREAM | frame::END_HEADERS,
                    Flags::Any(f) => *f,
                };
                let stream = match stream {
                    Stream::Connection => 0,
                    Stream::First => 1,
                    Stream::Second => 3,
                    Stream::Unopened => 5,
                    Stream::Any(s) => *s,
                };
                payload.clear();
                encode_payload(&mut payload, p);
                payload.truncate((1 << 24) - 1);
                out.extend_from_slice(&frame::frame(kind, flags, stream, &payload));
            }
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let server = encode(&input.pieces);
    let body = vec![b'b'; input.body_len as usize % 70_001];
    let mut io = wire::Script::new(&server, &input.sizes);
    let capture = wire::capture();
    let results = wire::run(h2_exchanges(
        &mut io,
        &body,
        input.head_request,
        Some(&capture),
    ));
    wire::check_capture(&capture, &results[0]);
    // A stream error (a reset, a broken head, a short body) leaves the connection usable
    // (RFC 9113 §5.4.2), so a second exchange may follow a failed first one.
    assert!(!results.is_empty() && results.len() <= 2);
    wire::check_h2_written(&io.written, &server, &body, &results);
});
