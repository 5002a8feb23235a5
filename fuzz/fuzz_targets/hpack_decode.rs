//! HPACK header blocks as an HTTP/2 server sends them (`hpack_decode`), against the zero-size
//! dynamic table flak advertises. Input: byte 0 bit 0 says whether Location is wanted; the rest
//! is the block. Besides never panicking: a block that decodes with Location wanted decodes
//! without it to the same status and length (Location is the only field skipped then), a
//! decoded status has three digits, and Location is kept only when wanted.
#![no_main]

use flak_wire::fuzz_bridge::{H2Head, hpack_decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, block)) = data.split_first() else {
        return;
    };
    let want_location = flags & 1 != 0;
    let mut head = H2Head::default();
    let result = hpack_decode(block, want_location, &mut head);
    if let Some(status) = head.status {
        assert!((100..1000).contains(&status), "status {status}");
    }
    if !want_location {
        assert!(head.location.is_none());
    }
    if result.is_ok() && want_location {
        let mut plain = H2Head::default();
        hpack_decode(block, false, &mut plain).expect("decodes without Location too");
        assert_eq!(
            (plain.status, plain.content_length),
            (head.status, head.content_length)
        );
    }
});
