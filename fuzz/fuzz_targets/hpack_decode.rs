//! HPACK header blocks as an HTTP/2 server sends them, several in sequence on one decoder
//! (`HpackDecoder`), so the dynamic table carries entries, evictions and size updates from one
//! block to the next. Input: byte 0 bit 0 says whether Location is wanted, bits 1-2 pick the
//! table size (0, 64, 256 or 4096), bit 3 whether that is advertised (`new`: the default 4096
//! holds until the server's first size update) or the table's fixed maximum (`with_max`);
//! then blocks, each a length byte and that many bytes (the last one may be shorter).
//! Besides never panicking: the table never exceeds its bound; a decoder that wants Location
//! and one that does not, fed the same blocks, agree on every status, length and table while
//! the first succeeds, and the second succeeds too (Location is the only field skipped); a decoded status has three digits; Location
//! is kept only when wanted. A third decoder captures headers for a journey (`decode_keeping`,
//! keeping values from the start when bit 4 is set, else from the second block on): while it
//! succeeds, so does the plain one, and it agrees on the table, status and length; it keeps
//! only wanted names, and a (non-empty) Location it keeps is the one the head reads.
#![no_main]

use flak_core::Capture;
use flak_wire::fuzz_bridge::{H2Head, HpackDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let want_location = flags & 1 != 0;
    let limit = [0, 64, 256, 4096][usize::from((flags >> 1) & 3)];
    let (mut wanting, mut plain, bound) = if flags & 8 != 0 {
        (
            HpackDecoder::new(limit),
            HpackDecoder::new(limit),
            limit.max(4096),
        )
    } else {
        (
            HpackDecoder::with_max(limit),
            HpackDecoder::with_max(limit),
            limit,
        )
    };
    let mut keeping = if flags & 8 != 0 {
        HpackDecoder::new(limit)
    } else {
        HpackDecoder::with_max(limit)
    };
    let mut keeping_ok = true;
    if flags & 16 != 0 {
        keeping.keep_values();
    }
    let wanted = ["location", "x-a", "server", "content-length", "date"];
    let capture = Capture::new(wanted, false);
    let mut blocks = 0;
    while let Some((&len, after)) = rest.split_first() {
        let (block, next) = after.split_at(usize::from(len).min(after.len()));
        rest = next;
        let mut head = H2Head::default();
        let result = wanting.decode(block, want_location, &mut head);
        let mut other = H2Head::default();
        let other_result = plain.decode(block, false, &mut other);
        if keeping_ok {
            capture.clear();
            let mut kept = H2Head::default();
            let kept_result = keeping.decode_keeping(block, true, &mut kept, &capture);
            if kept_result.is_ok() {
                assert!(other_result.is_ok(), "{other_result:?}");
                assert_eq!(
                    (keeping.table_len(), keeping.table_size()),
                    (plain.table_len(), plain.table_size())
                );
                assert_eq!(
                    (kept.status, kept.content_length),
                    (other.status, other.content_length)
                );
                let got = capture.got();
                for (name, _) in &got.headers {
                    assert!(wanted.contains(&name.as_str()), "{name}");
                }
                if let Some((_, value)) = got.headers.iter().rev().find(|(n, _)| n == "location")
                    && !value.is_empty()
                    && let Ok(text) = std::str::from_utf8(value)
                {
                    assert_eq!(kept.location.as_deref(), Some(text));
                }
            } else {
                keeping_ok = false;
            }
            blocks += 1;
            if blocks == 1 {
                keeping.keep_values();
            }
        }
        assert!(
            wanting.table_size() <= bound,
            "table {} > {bound}",
            wanting.table_size()
        );
        if let Some(status) = head.status {
            assert!((100..1000).contains(&status), "status {status}");
        }
        if !want_location {
            assert!(head.location.is_none());
        }
        assert!(other.location.is_none());
        // A string flak skips is never Huffman-decoded, so a bad code in a Location that is
        // not wanted (and not inserted) goes unnoticed: only "wanting succeeds" implies
        // "plain succeeds".
        if result.is_err() {
            // An HPACK error ends the connection: nothing more is decoded on it.
            return;
        }
        assert!(other_result.is_ok(), "{other_result:?}");
        assert_eq!(
            (wanting.table_len(), wanting.table_size()),
            (plain.table_len(), plain.table_size())
        );
        assert_eq!(
            (head.status, head.content_length),
            (other.status, other.content_length)
        );
    }
});
