//! HPACK decoding of response header blocks (RFC 7541 §6), reading only what flak reports
//! (`:status`, `content-length`, `location`) and building no header map.

use std::sync::OnceLock;

use flak_core::RequestError;

use super::huffman;
use crate::h2::protocol;

/// What the response head says that flak uses.
#[derive(Default, Debug)]
pub struct Head {
    pub status: Option<u16>,
    pub content_length: Option<u64>,
    pub location: Option<String>,
}

/// Status codes of static-table entries 8 to 14.
const STATIC_STATUS: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
const NAME_STATUS: usize = 8;
const NAME_CONTENT_LENGTH: usize = 28;
const NAME_LOCATION: usize = 46;
const STATIC_ENTRIES: usize = 61;

/// Decodes a response header block, given the zero-size dynamic table this connection
/// advertised: every field is either a static-table entry or a literal.
pub fn decode_block(
    mut b: &[u8],
    want_location: bool,
    head: &mut Head,
) -> Result<(), RequestError> {
    while let Some(&first) = b.first() {
        if first & 0x80 != 0 {
            let index = get_int(&mut b, 7)?;
            match index {
                8..=14 => head.status = Some(STATIC_STATUS[index - 8]),
                1..=STATIC_ENTRIES => {}
                _ => return Err(protocol(format!("HPACK index {index} out of the table"))),
            }
            continue;
        }
        if first & 0xe0 == 0x20 {
            if get_int(&mut b, 5)? != 0 {
                return Err(protocol("HPACK table size above the advertised 0"));
            }
            continue;
        }
        // A literal, with incremental indexing (01), without (0000) or never indexed (0001).
        // With a zero-size table an indexed literal leaves no entry behind.
        let prefix = if first & 0x40 != 0 { 6 } else { 4 };
        let index = get_int(&mut b, prefix)?;
        let name = match index {
            0 => {
                let (huffman, raw) = get_string(&mut b)?;
                literal_name(huffman, raw)
            }
            8..=14 => NAME_STATUS,
            i if i <= STATIC_ENTRIES => i,
            _ => return Err(protocol(format!("HPACK index {index} out of the table"))),
        };
        let (huffman, value) = get_string(&mut b)?;
        match name {
            NAME_STATUS => {
                let n = digits(huffman, value).filter(|n| (100..1000).contains(n));
                head.status = Some(n.ok_or_else(|| protocol("bad :status"))? as u16);
            }
            NAME_CONTENT_LENGTH => {
                let n = digits(huffman, value).ok_or_else(|| protocol("bad content-length"))?;
                if head.content_length.is_some_and(|l| l != n) {
                    return Err(protocol("conflicting content-length headers"));
                }
                head.content_length = Some(n);
            }
            NAME_LOCATION if want_location => {
                let mut s = Vec::with_capacity(value.len() * 2);
                if huffman {
                    huffman::decode(value, |c| {
                        s.push(c);
                        true
                    })
                    .ok_or_else(|| protocol("bad Huffman string"))?;
                } else {
                    s.extend_from_slice(value);
                }
                head.location = String::from_utf8(s).ok();
            }
            _ => {}
        }
    }
    Ok(())
}

/// The static-table name index a literal name stands for, when it is one flak reads (else 0).
/// Huffman-coded names are compared in their coded form (the coding of a string is unique), so
/// the names flak skips (nginx sends `etag` and `accept-ranges` as literals) are never decoded.
fn literal_name(huffman: bool, raw: &[u8]) -> usize {
    static CODED: OnceLock<[(Vec<u8>, usize); 3]> = OnceLock::new();
    const NAMES: [(&[u8], usize); 3] = [
        (b":status", NAME_STATUS),
        (b"content-length", NAME_CONTENT_LENGTH),
        (b"location", NAME_LOCATION),
    ];
    let found = if huffman {
        let coded = CODED.get_or_init(|| NAMES.map(|(name, index)| (huffman::encode(name), index)));
        coded
            .iter()
            .find(|(name, _)| name == raw)
            .map(|(_, index)| *index)
    } else {
        NAMES
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, index)| *index)
    };
    found.unwrap_or(0)
}

/// A decimal number (at most 19 digits), raw or Huffman-coded.
fn digits(huffman: bool, raw: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut count = 0;
    let mut push = |c: u8| {
        count += 1;
        if !c.is_ascii_digit() || count > 19 {
            return false;
        }
        n = n * 10 + u64::from(c - b'0');
        true
    };
    if huffman {
        huffman::decode(raw, push)?;
    } else if !raw.iter().all(|&c| push(c)) {
        return None;
    }
    (count > 0).then_some(n)
}

pub(crate) fn get_int(b: &mut &[u8], prefix: u32) -> Result<usize, RequestError> {
    let max = (1usize << prefix) - 1;
    let (&first, rest) = b.split_first().ok_or_else(|| protocol("truncated HPACK"))?;
    *b = rest;
    let mut value = usize::from(first) & max;
    if value < max {
        return Ok(value);
    }
    let mut shift = 0;
    loop {
        let (&byte, rest) = b.split_first().ok_or_else(|| protocol("truncated HPACK"))?;
        *b = rest;
        value += usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            return Err(protocol("HPACK integer too large"));
        }
    }
}

/// A string literal: (Huffman-coded, raw bytes).
fn get_string<'a>(b: &mut &'a [u8]) -> Result<(bool, &'a [u8]), RequestError> {
    let huffman = b.first().is_some_and(|f| f & 0x80 != 0);
    let len = get_int(b, 7)?;
    if len > b.len() {
        return Err(protocol("truncated HPACK string"));
    }
    let (s, rest) = b.split_at(len);
    *b = rest;
    Ok((huffman, s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn response_heads_decode_without_a_table() {
        let mut block = vec![0x48]; // :status, literal with indexing, static name
        block.push(0x80 | 2);
        block.extend(huffman::encode(b"302"));
        block.extend([0x0f, 46 - 15]); // location (46), literal without indexing
        let loc = huffman::encode(b"https://www.example.com");
        block.push(0x80 | loc.len() as u8);
        block.extend(&loc);
        block.extend([0x00, 14]); // a literal name: content-length, raw
        block.extend(b"content-length");
        block.extend([2]);
        block.extend(b"42");
        block.push(0x20); // table size update to 0
        let mut head = Head::default();
        decode_block(&block, true, &mut head).unwrap();
        assert_eq!(head.status, Some(302));
        assert_eq!(head.location.as_deref(), Some("https://www.example.com"));
        assert_eq!(head.content_length, Some(42));
        // A Huffman-coded literal name is recognised without decoding it.
        let name = huffman::encode(b"location");
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([2, b'/', b'x']);
        let mut head = Head::default();
        decode_block(&block, true, &mut head).unwrap();
        assert_eq!(head.location.as_deref(), Some("/x"));
        let mut head = Head::default();
        assert!(decode_block(&[0x80 | 62], false, &mut head).is_err());
        assert!(decode_block(&[0x3f, 0xe1, 0x1f], false, &mut head).is_err());
    }

    #[test]
    fn random_header_blocks_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7541);
        let seeds: [&[u8]; 3] = [
            &[0x88, 0x0f, 0x0d, 0x82, 0x0b, 0xe3],
            &[
                0x48, 0x83, 0x64, 0x0b, 0x5f, 0x0f, 0x1f, 0x85, 0x61, 0x09, 0xb5, 0x6b, 0xff,
            ],
            &[0x3f, 0xe1, 0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ];
        for _ in 0..50_000 {
            let mut b = if rng.bool() {
                seeds[rng.usize(..seeds.len())].to_vec()
            } else {
                Vec::new()
            };
            for _ in 0..rng.usize(..12) {
                b.insert(rng.usize(..=b.len()), rng.u8(..));
            }
            let mut head = Head::default();
            let _ = decode_block(&b, true, &mut head);
            let _ = huffman::decode(&b, |_| true);
        }
    }
}
