//! The HPACK Huffman code (`huffman_decode`, `huffman_encode`). Any bytes decode or are
//! refused; the code is canonical and the decoder strict about padding (at most 7 bits, all
//! ones), so a string that decodes is exactly the encoding of what it decoded to; any bytes
//! encode and decode back to themselves; and a decoder told to stop early reports failure.
#![no_main]

use flak_wire::fuzz_bridge::{huffman_decode, huffman_encode};
use libfuzzer_sys::fuzz_target;

fn decode(src: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    huffman_decode(src, |c| {
        out.push(c);
        true
    })
    .map(|()| out)
}

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes as a coded string.
    if let Some(decoded) = decode(data) {
        assert_eq!(huffman_encode(&decoded), data, "decoded to {decoded:?}");
        if !decoded.is_empty() {
            let mut seen = 0;
            let stopped = huffman_decode(data, |_| {
                seen += 1;
                seen < decoded.len()
            });
            assert!(stopped.is_none() && seen == decoded.len());
        }
    }
    // Arbitrary bytes as a plain string.
    let coded = huffman_encode(data);
    assert_eq!(decode(&coded).as_deref(), Some(data));
    // Each symbol is 5 to 30 bits.
    assert!(coded.len() * 8 >= data.len() * 5 && coded.len() * 8 <= data.len() * 30 + 7);
});
