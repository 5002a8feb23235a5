//! The HPACK Huffman code (RFC 7541 Appendix B), built from its code lengths: the code is
//! canonical, so a few small tables decode it a bit at a time.

use std::sync::OnceLock;

/// Huffman-codes `src` (flak never sends Huffman; this is for recognising coded names).
pub fn encode(src: &[u8]) -> Vec<u8> {
    let t = canonical();
    let (mut bits, mut n, mut out) = (0u64, 0u32, Vec::new());
    for &c in src {
        let len = CODE_LENGTHS[usize::from(c)];
        // Canonical: a code is its length's first code plus its rank among that length's symbols.
        let rank = CODE_LENGTHS[..usize::from(c)]
            .iter()
            .filter(|&&l| l == len)
            .count();
        bits = (bits << len) | u64::from(t.first[usize::from(len)] + rank as u32);
        n += u32::from(len);
        while n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    if n > 0 {
        out.push(((bits << (8 - n)) as u8) | ((1u8 << (8 - n)) - 1));
    }
    out
}

/// Decodes a Huffman-coded string, handing each byte to `out` (which returns false to stop).
/// `None` if the code is invalid or `out` stopped.
pub fn decode(src: &[u8], mut out: impl FnMut(u8) -> bool) -> Option<()> {
    let t = canonical();
    let mut code: u32 = 0;
    let mut len = 0usize;
    for &byte in src {
        for bit in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> bit) & 1);
            len += 1;
            let offset = code.wrapping_sub(t.first[len]);
            if offset < t.count[len] {
                let symbol = t.symbols[t.start[len] + offset as usize];
                if symbol == 256 || !out(symbol as u8) {
                    return None;
                }
                code = 0;
                len = 0;
            } else if len == 30 {
                return None;
            }
        }
    }
    // Padding: fewer than 8 bits, all ones (a prefix of EOS).
    (len < 8 && code == (1 << len) - 1).then_some(())
}

/// The HPACK Huffman code is canonical: codes of each length are consecutive and ordered by
/// symbol, so decoding needs only, per length, the first code, the count, and where its
/// symbols start in the symbols sorted by (length, symbol).
struct Canonical {
    first: [u32; 31],
    count: [u32; 31],
    start: [usize; 31],
    symbols: [u16; 257],
}

fn canonical() -> &'static Canonical {
    static TABLE: OnceLock<Canonical> = OnceLock::new();
    TABLE.get_or_init(|| {
        let length = |s: usize| {
            if s == 256 {
                30
            } else {
                usize::from(CODE_LENGTHS[s])
            }
        };
        let mut t = Canonical {
            first: [0; 31],
            count: [0; 31],
            start: [0; 31],
            symbols: [0; 257],
        };
        let mut order: Vec<u16> = (0..=256).collect();
        order.sort_by_key(|&s| (length(usize::from(s)), s));
        t.symbols.copy_from_slice(&order);
        for s in 0..=256 {
            t.count[length(s)] += 1;
        }
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..=30 {
            t.first[len] = code;
            t.start[len] = index;
            index += t.count[len] as usize;
            code = (code + t.count[len]) << 1;
        }
        t
    })
}

/// Code lengths of the HPACK Huffman code for bytes 0 to 255 (RFC 7541 Appendix B); EOS (256)
/// has 30 bits. The codes themselves follow from the lengths (the code is canonical).
const CODE_LENGTHS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn huffman_string(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decode(src, |c| {
            out.push(c);
            true
        })
        .map(|()| out)
        .unwrap()
    }

    #[test]
    fn huffman_matches_rfc_7541_and_round_trips_every_byte() {
        // RFC 7541 C.4.1.
        let www = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(encode(b"www.example.com"), www);
        assert_eq!(huffman_string(&www), b"www.example.com");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(huffman_string(&encode(&all)), all);
        // Padding longer than 7 bits, or not all ones, is an error.
        assert!(decode(&[0xff], |_| true).is_none());
        assert!(decode(&[0x06], |_| true).is_none());
    }
}
