//! HPACK decoding of response header blocks (RFC 7541 §6), reading only what flak reports
//! (`:status`, `content-length`, `location`) and building no header map; a journey's capture
//! gets the fields it wants through [`Keep`] (`decode_keeping`).
//!
//! The dynamic table (§2.3.2, §4) is kept in a compact form: for each entry its size, which of
//! the three read names it has, and its value only when it has one of them. A field that is
//! neither read nor inserted costs no allocation and no Huffman decoding; one inserted with a
//! name flak ignores costs only counting its decoded length (the entry's size, for eviction).

use std::collections::VecDeque;
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

/// The dynamic table size the connection advertises (`SETTINGS_HEADER_TABLE_SIZE`): none.
/// Servers that honour it (nginx, hyper's h2) then start their first block with a size update
/// to 0 and insert nothing, so every field flak skips costs no Huffman decoding at all; with
/// HTTP/2's default 4096, nginx would have flak insert five entries per response (it sends
/// date, server, content-type, content-length and last-modified with incremental indexing).
/// Servers that ignore the setting (h2o 2.2.5 indexes responses whatever flak says) still
/// decode: see [`Decoder::new`].
pub const TABLE_SIZE: usize = 0;

/// HTTP/2's initial table size (RFC 9113 §6.5.2), which an encoder uses until it signals
/// another.
const DEFAULT_TABLE_SIZE: usize = 4096;

/// Status codes of static-table entries 8 to 14.
const STATIC_STATUS: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
const NAME_STATUS: usize = 8;
const NAME_CONTENT_LENGTH: usize = 28;
const NAME_LOCATION: usize = 46;
const STATIC_ENTRIES: usize = 61;

/// The static table (RFC 7541 Appendix A): names and values, read only for captured headers.
const STATIC: [(&str, &str); STATIC_ENTRIES] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Lengths of the static table's names, for the size of an entry inserted with a static name.
const STATIC_NAME_LEN: [u8; STATIC_ENTRIES] = {
    let mut lens = [0u8; STATIC_ENTRIES];
    let mut i = 0;
    while i < STATIC_ENTRIES {
        lens[i] = STATIC[i].0.len() as u8;
        i += 1;
    }
    lens
};

/// Where the header fields a journey wants go (beyond the three flak reads itself). The fast
/// path decodes with [`Nothing`], whose `ACTIVE` is false: every use of it compiles away.
pub trait Keep {
    const ACTIVE: bool;
    /// Whether a field of this (lower-case) name is wanted.
    fn wants(&self, name: &[u8]) -> bool;
    /// A wanted field, decoded.
    fn keep(&self, name: &[u8], value: &[u8]);
}

/// Keeps no field: the fast path.
pub struct Nothing;

impl Keep for Nothing {
    const ACTIVE: bool = false;
    fn wants(&self, _: &[u8]) -> bool {
        false
    }
    fn keep(&self, _: &[u8], _: &[u8]) {}
}

impl Keep for flak_core::Capture {
    const ACTIVE: bool = true;
    fn wants(&self, name: &[u8]) -> bool {
        self.wants_header(name)
    }
    fn keep(&self, name: &[u8], value: &[u8]) {
        self.header(name, value);
    }
}

/// RFC 7541 §4.1: an entry's size is its name and value lengths plus 32.
const ENTRY_OVERHEAD: usize = 32;

/// The part of a dynamic-table entry flak reads.
#[derive(Debug)]
enum Value {
    /// A name flak does not read.
    Ignored,
    Status(u16),
    Length(u64),
    /// Decoded bytes (not necessarily UTF-8).
    Location(Box<[u8]>),
    /// Any other name and its value, decoded: kept once a journey on the connection captures
    /// headers (see [`Decoder::keep_values`]).
    Kept(Box<(Vec<u8>, Vec<u8>)>),
}

#[derive(Debug)]
struct Entry {
    /// `NAME_STATUS`, `NAME_CONTENT_LENGTH`, `NAME_LOCATION`, or 0 for any other name.
    name: usize,
    name_len: usize,
    /// Name and value lengths plus 32.
    size: usize,
    value: Value,
}

/// One connection's HPACK decoding context: its dynamic table, bounded by the
/// `SETTINGS_HEADER_TABLE_SIZE` the connection advertised. Every header block the connection
/// receives must go through [`Decoder::decode`], in order, even those whose fields are not
/// wanted (trailers, other streams), or the table falls out of step with the server's.
#[derive(Debug)]
pub struct Decoder {
    /// Newest first: index 62 is `table[0]`.
    table: VecDeque<Entry>,
    /// Sum of the entries' sizes.
    size: usize,
    /// The current maximum, as last set by the server (at most `limit`).
    max: usize,
    /// What we advertised: a size update above it is an error.
    limit: usize,
    /// Entries inserted from now on keep every name and value, for captured headers.
    keep_all: bool,
}

impl Decoder {
    /// A decoder for a connection that advertised a table of `advertised` bytes. A size
    /// update above `advertised` is an error; but until the server's first size update the
    /// table may hold HTTP/2's default 4096 bytes, as it may before the server has read our
    /// SETTINGS. Lenient on purpose: a server that never signals the smaller size (h2o 2.2.5)
    /// keeps the default, and its responses still decode.
    pub fn new(advertised: usize) -> Self {
        Self {
            table: VecDeque::new(),
            size: 0,
            max: DEFAULT_TABLE_SIZE,
            limit: advertised,
            keep_all: false,
        }
    }

    /// From now on, entries inserted into the dynamic table keep their names and values, so a
    /// wanted header a later block names by index can be captured. Called when a request that
    /// captures headers opens a stream; the fast path never calls it. (An entry inserted
    /// before then is known by its size only: a server that ignores our 0-byte table and
    /// refers to it by index gives no value for it.)
    pub fn keep_values(&mut self) {
        self.keep_all = true;
    }

    /// A decoder whose table is `max` bytes from the start and may never grow past it (the
    /// RFC 7541 Appendix C examples assume one).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn with_max(max: usize) -> Self {
        Self {
            max,
            ..Self::new(max)
        }
    }

    /// Sum of the dynamic table's entry sizes (RFC 7541 §4.1).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn table_size(&self) -> usize {
        self.size
    }

    /// Entries in the dynamic table.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Decodes one complete header block into `head` (`location` only if `want_location`),
    /// updating the dynamic table. After an error the table is out of step with the server's:
    /// the connection must not be used again (HPACK errors are connection errors).
    pub fn decode(
        &mut self,
        b: &[u8],
        want_location: bool,
        head: &mut Head,
    ) -> Result<(), RequestError> {
        self.decode_keeping(b, want_location, head, &Nothing)
    }

    /// [`Self::decode`], also offering `keep` every field it [`Keep::wants`], decoded.
    #[inline(always)]
    pub fn decode_keeping<K: Keep>(
        &mut self,
        mut b: &[u8],
        want_location: bool,
        head: &mut Head,
        keep: &K,
    ) -> Result<(), RequestError> {
        let mut fields = false;
        while let Some(&first) = b.first() {
            if first & 0x80 != 0 {
                fields = true;
                let index = get_int(&mut b, 7)?;
                match index {
                    8..=14 => head.status = Some(STATIC_STATUS[index - 8]),
                    1..=STATIC_ENTRIES => {}
                    _ => self.entry(index)?.apply(head, want_location)?,
                }
                if K::ACTIVE {
                    self.keep_indexed(index, keep)?;
                }
                continue;
            }
            if first & 0xe0 == 0x20 {
                // §4.2: only at the start of a block.
                if fields {
                    return Err(protocol("HPACK table size update after a header field"));
                }
                let max = get_int(&mut b, 5)?;
                if max > self.limit {
                    return Err(protocol(format!(
                        "HPACK table size update to {max}, above the advertised {}",
                        self.limit
                    )));
                }
                self.max = max;
                self.evict(0);
                continue;
            }
            fields = true;
            // A literal, with incremental indexing (01), without (0000) or never indexed (0001).
            // Into a table of 0 bytes (what servers that honour our setting have) an indexed
            // literal leaves nothing, so it is read like the others.
            let indexing = first & 0x40 != 0;
            let insert = indexing && self.max > 0;
            let index = get_int(&mut b, if indexing { 6 } else { 4 })?;
            let mut literal_name_raw = None;
            let name = match index {
                0 => {
                    let (huffman, raw) = get_string(&mut b)?;
                    if insert || K::ACTIVE {
                        literal_name_raw = Some((huffman, raw));
                    }
                    literal_name(huffman, raw)
                }
                8..=14 => NAME_STATUS,
                i if i <= STATIC_ENTRIES => i,
                i => self.entry(i)?.name,
            };
            let (huffman, raw) = get_string(&mut b)?;
            match name {
                NAME_STATUS => {
                    let n = digits(huffman, raw).filter(|n| (100..1000).contains(n));
                    head.status = Some(n.ok_or_else(|| protocol("bad :status"))? as u16);
                }
                NAME_CONTENT_LENGTH => {
                    let n = digits(huffman, raw).ok_or_else(|| protocol("bad content-length"))?;
                    set_length(head, n)?;
                }
                NAME_LOCATION if want_location => {
                    head.location = String::from_utf8(string(huffman, raw)?).ok();
                }
                _ => {}
            }
            if K::ACTIVE {
                // Before the insert, which moves the dynamic indices.
                self.keep_literal(index, literal_name_raw, (huffman, raw), keep)?;
            }
            if insert {
                self.insert_literal(index, literal_name_raw, name, (huffman, raw), head)?;
            }
        }
        Ok(())
    }

    /// The dynamic-table entry at HPACK index `index` (above the static table's 61).
    fn entry(&self, index: usize) -> Result<&Entry, RequestError> {
        index
            .checked_sub(STATIC_ENTRIES + 1)
            .and_then(|i| self.table.get(i))
            .ok_or_else(|| {
                protocol(format!(
                    "HPACK index {index} out of the table ({} entries)",
                    STATIC_ENTRIES + self.table.len()
                ))
            })
    }

    /// Offers `keep` an indexed field, when its name is wanted.
    #[inline(never)]
    fn keep_indexed(&self, index: usize, keep: &impl Keep) -> Result<(), RequestError> {
        if index <= STATIC_ENTRIES {
            let (name, value) = STATIC[index - 1];
            if keep.wants(name.as_bytes()) {
                keep.keep(name.as_bytes(), value.as_bytes());
            }
            return Ok(());
        }
        let entry = self.entry(index)?;
        if let Some(name) = entry.name_bytes()
            && keep.wants(name)
        {
            keep.keep(name, &entry.value_bytes());
        }
        Ok(())
    }

    /// Offers `keep` a literal field (`index` its name's, 0 for the literal name `name_raw`),
    /// decoding its value only when its name is wanted.
    #[inline(never)]
    fn keep_literal(
        &self,
        index: usize,
        name_raw: Option<(bool, &[u8])>,
        (huffman, raw): (bool, &[u8]),
        keep: &impl Keep,
    ) -> Result<(), RequestError> {
        let literal;
        let name: &[u8] = match (index, name_raw) {
            (0, Some((huffman, raw))) => {
                literal = string(huffman, raw)?;
                &literal
            }
            (0, None) => return Ok(()),
            (i, _) if i <= STATIC_ENTRIES => STATIC[i - 1].0.as_bytes(),
            (i, _) => match self.entry(i)?.name_bytes() {
                Some(name) => name,
                None => return Ok(()),
            },
        };
        if keep.wants(name) {
            keep.keep(name, &string(huffman, raw)?);
        }
        Ok(())
    }

    /// Adds the literal just read into `head` to the table: `index` is its name's index (0 for
    /// the literal name `name_raw`), `name` what [`Self::decode`] made of it, `value` its value.
    #[inline(never)]
    fn insert_literal(
        &mut self,
        index: usize,
        name_raw: Option<(bool, &[u8])>,
        name: usize,
        (huffman, raw): (bool, &[u8]),
        head: &Head,
    ) -> Result<(), RequestError> {
        let name_len = match (index, name_raw) {
            (0, Some((huffman, raw))) => decoded_len(huffman, raw)?,
            (0, None) => 0,
            (8..=14, _) => 7,
            (i, _) if i <= STATIC_ENTRIES => usize::from(STATIC_NAME_LEN[i - 1]),
            (i, _) => self.entry(i)?.name_len,
        };
        // `decode` has just put this literal's value into `head` when it is one flak reads.
        let value = match (name, head.status, head.content_length) {
            (NAME_STATUS, Some(status), _) => Value::Status(status),
            (NAME_CONTENT_LENGTH, _, Some(n)) => Value::Length(n),
            (NAME_LOCATION, _, _) => Value::Location(string(huffman, raw)?.into_boxed_slice()),
            _ if self.keep_all => self.kept(index, name_raw, (huffman, raw))?,
            _ => Value::Ignored,
        };
        let value_len = match &value {
            Value::Location(bytes) => bytes.len(),
            Value::Kept(kept) => kept.1.len(),
            _ => decoded_len(huffman, raw)?,
        };
        self.insert(Entry {
            name,
            name_len,
            size: name_len + value_len + ENTRY_OVERHEAD,
            value,
        });
        Ok(())
    }

    /// A new entry's name and value, decoded, for a table that keeps them; `Ignored` when its
    /// name is that of an entry that kept none.
    fn kept(
        &self,
        index: usize,
        name_raw: Option<(bool, &[u8])>,
        (huffman, raw): (bool, &[u8]),
    ) -> Result<Value, RequestError> {
        let name = match (index, name_raw) {
            (0, Some((huffman, raw))) => string(huffman, raw)?,
            (0, None) => return Ok(Value::Ignored),
            (i, _) if i <= STATIC_ENTRIES => STATIC[i - 1].0.as_bytes().to_vec(),
            (i, _) => match self.entry(i)?.name_bytes() {
                Some(name) => name.to_vec(),
                None => return Ok(Value::Ignored),
            },
        };
        Ok(Value::Kept(Box::new((name, string(huffman, raw)?))))
    }

    /// §4.4: an entry larger than the table empties it and is not added.
    fn insert(&mut self, entry: Entry) {
        if entry.size > self.max {
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict(entry.size);
        self.size += entry.size;
        self.table.push_front(entry);
    }

    /// Drops the oldest entries until `room` more bytes fit under the maximum.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            let Some(old) = self.table.pop_back() else {
                break;
            };
            self.size -= old.size;
        }
    }
}

impl Entry {
    /// An indexed field naming this entry: what it says goes into `head`.
    fn apply(&self, head: &mut Head, want_location: bool) -> Result<(), RequestError> {
        match &self.value {
            Value::Ignored => {}
            Value::Status(s) => head.status = Some(*s),
            Value::Length(n) => set_length(head, *n)?,
            Value::Location(bytes) => {
                if want_location {
                    head.location = String::from_utf8(bytes.to_vec()).ok();
                }
            }
            Value::Kept(_) => {}
        }
        Ok(())
    }

    /// The entry's name, when known (not for names inserted before values were kept).
    fn name_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Ignored => None,
            Value::Status(_) => Some(b":status"),
            Value::Length(_) => Some(b"content-length"),
            Value::Location(_) => Some(b"location"),
            Value::Kept(kept) => Some(&kept.0),
        }
    }

    /// The entry's value, for an entry whose name is known.
    fn value_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.value {
            Value::Ignored => std::borrow::Cow::Borrowed(&[]),
            Value::Status(s) => s.to_string().into_bytes().into(),
            Value::Length(n) => n.to_string().into_bytes().into(),
            Value::Location(bytes) => std::borrow::Cow::Borrowed(bytes),
            Value::Kept(kept) => std::borrow::Cow::Borrowed(&kept.1),
        }
    }
}

fn set_length(head: &mut Head, n: u64) -> Result<(), RequestError> {
    if head.content_length.is_some_and(|l| l != n) {
        return Err(protocol("conflicting content-length headers"));
    }
    head.content_length = Some(n);
    Ok(())
}

/// A string literal's bytes, Huffman-decoded if coded.
fn string(huffman: bool, raw: &[u8]) -> Result<Vec<u8>, RequestError> {
    if !huffman {
        return Ok(raw.to_vec());
    }
    let mut s = Vec::with_capacity(raw.len() * 8 / 5 + 1);
    huffman::decode(raw, |c| {
        s.push(c);
        true
    })
    .ok_or_else(|| protocol("bad Huffman string"))?;
    Ok(s)
}

/// A string literal's decoded length, without keeping the bytes.
fn decoded_len(huffman: bool, raw: &[u8]) -> Result<usize, RequestError> {
    if !huffman {
        return Ok(raw.len());
    }
    let mut n = 0;
    huffman::decode(raw, |_| {
        n += 1;
        true
    })
    .ok_or_else(|| protocol("bad Huffman string"))?;
    Ok(n)
}

/// The static-table name index a literal name stands for, when it is one flak reads (else 0).
/// Huffman-coded names are compared in their coded form (the coding of a string is unique), so
/// the names flak skips (nginx sends `etag` and `accept-ranges` as literals) are never decoded.
#[inline(always)]
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
        // A table size update to 0, then :status as a literal with indexing, static name.
        let mut block = vec![0x20, 0x48];
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
        let mut head = Head::default();
        Decoder::new(0).decode(&block, true, &mut head).unwrap();
        assert_eq!(head.status, Some(302));
        assert_eq!(head.location.as_deref(), Some("https://www.example.com"));
        assert_eq!(head.content_length, Some(42));
        // A Huffman-coded literal name is recognised without decoding it.
        let name = huffman::encode(b"location");
        let mut block = vec![0x00, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([2, b'/', b'x']);
        let mut head = Head::default();
        Decoder::new(0).decode(&block, true, &mut head).unwrap();
        assert_eq!(head.location.as_deref(), Some("/x"));
        let mut head = Head::default();
        let mut d = Decoder::new(0);
        assert!(d.decode(&[0x80 | 62], false, &mut head).is_err());
        assert!(d.decode(&[0x3f, 0xe1, 0x1f], false, &mut head).is_err());
    }

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// Decodes `blocks` in sequence on one decoder; after each, the head and the table's
    /// (entries, size) as RFC 7541 Appendix C lists them.
    fn sequence(limit: usize, blocks: &[&str]) -> Vec<(Head, (usize, usize))> {
        let mut d = Decoder::with_max(limit);
        blocks
            .iter()
            .map(|b| {
                let mut head = Head::default();
                d.decode(&hex(b), true, &mut head).unwrap();
                (head, (d.table_len(), d.table_size()))
            })
            .collect()
    }

    /// RFC 7541 C.3 (requests, raw) and C.4 (the same, Huffman-coded): the table grows.
    #[test]
    fn rfc_7541_request_examples_fill_the_table() {
        let raw = [
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ];
        let coded = [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ];
        for blocks in [raw, coded] {
            let tables: Vec<_> = sequence(4096, &blocks).into_iter().map(|r| r.1).collect();
            assert_eq!(tables, [(1, 57), (2, 110), (3, 164)]);
        }
    }

    /// RFC 7541 C.5 (responses, raw) and C.6 (Huffman-coded) with a 256-byte table: entries
    /// are evicted, and later blocks refer to the survivors by index.
    #[test]
    fn rfc_7541_response_examples_evict_and_index() {
        let raw = [
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
             3d31",
        ];
        let coded = [
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ];
        for blocks in [raw, coded] {
            let got: Vec<_> = sequence(256, &blocks)
                .into_iter()
                .map(|(h, t)| (h.status, h.location, t))
                .collect();
            let location = || Some("https://www.example.com".to_string());
            assert_eq!(
                got,
                [
                    (Some(302), location(), (4, 222)),
                    // :status 307 evicts :status 302; location comes from the table (index 63).
                    (Some(307), location(), (4, 222)),
                    // Three entries in, four out; location is index 63 before the inserts.
                    (Some(200), location(), (3, 215)),
                ]
            );
        }
    }

    #[test]
    fn indexed_fields_read_status_length_and_location_from_the_table() {
        let mut d = Decoder::new(4096);
        // content-length: 42, :status 404 and location /next, each with incremental indexing.
        let mut block = vec![0x40 | 28, 2, b'4', b'2', 0x48, 3, b'4', b'0', b'4'];
        block.extend([0x40 | 46, 5]);
        block.extend(b"/next");
        let mut head = Head::default();
        d.decode(&block, false, &mut head).unwrap();
        assert_eq!((head.status, head.content_length), (Some(404), Some(42)));
        assert_eq!(head.location, None, "not wanted");
        // Now all three by index: location 62, :status 63, content-length 64.
        let mut head = Head::default();
        d.decode(&[0x80 | 62, 0x80 | 63, 0x80 | 64], true, &mut head)
            .unwrap();
        assert_eq!((head.status, head.content_length), (Some(404), Some(42)));
        assert_eq!(head.location.as_deref(), Some("/next"));
        // A literal without indexing naming a dynamic entry's name (64: content-length, a
        // 4-bit prefix: 15 then 49) with a new value.
        let mut head = Head::default();
        d.decode(&[0x88, 15, 64 - 15, 1, b'7'], false, &mut head)
            .unwrap();
        assert_eq!(head.content_length, Some(7));
        assert_eq!(
            (d.table_len(), d.table_size()),
            (3, 14 + 2 + 7 + 3 + 8 + 5 + 96)
        );
    }

    #[test]
    fn wanted_fields_are_kept_from_literals_the_static_table_and_the_dynamic_one() {
        use flak_core::Capture;
        let mut d = Decoder::new(4096);
        // Before values are kept: x-token: a, inserted with a literal name, known by size only.
        let mut head = Head::default();
        d.decode(
            &[0x40, 7, b'x', b'-', b't', b'o', b'k', b'e', b'n', 1, b'a'],
            false,
            &mut head,
        )
        .unwrap();
        d.keep_values();
        let capture = Capture::new(["X-Token", "server", "location", "accept-encoding"], false);
        // x-token: b (Huffman-coded name, inserted), server: s (static name 54, not indexed),
        // location: /l (static name 46, inserted), x-other: no (literal, not wanted),
        // accept-encoding from the static table with its value (16), the old entry (64).
        let name = huffman::encode(b"x-token");
        let mut block = vec![0x40, 0x80 | name.len() as u8];
        block.extend(&name);
        block.extend([1, b'b', 0x0f, 54 - 15, 1, b's', 0x40 | 46, 2, b'/', b'l']);
        block.extend([
            0x00, 7, b'x', b'-', b'o', b't', b'h', b'e', b'r', 2, b'n', b'o',
        ]);
        block.extend([0x80 | 16, 0x80 | 64]);
        let mut head = Head::default();
        d.decode_keeping(&block, false, &mut head, &capture)
            .unwrap();
        let text = |got: &flak_core::Captured| {
            got.headers
                .iter()
                .map(|(n, v)| format!("{n}={}", String::from_utf8_lossy(v)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text(&capture.got()),
            [
                "x-token=b",
                "server=s",
                "location=/l",
                "accept-encoding=gzip, deflate"
            ]
        );
        // Now by index: location (62), x-token: b (63); the table holds the same either way.
        capture.clear();
        let mut head = Head::default();
        d.decode_keeping(&[0x80 | 62, 0x80 | 63], true, &mut head, &capture)
            .unwrap();
        assert_eq!(text(&capture.got()), ["location=/l", "x-token=b"]);
        assert_eq!(head.location.as_deref(), Some("/l"));
        // A literal naming a kept entry's name (63, x-token) with a new value.
        capture.clear();
        d.decode_keeping(&[0x0f, 63 - 15, 1, b'c'], false, &mut head, &capture)
            .unwrap();
        assert_eq!(text(&capture.got()), ["x-token=c"]);
        assert_eq!(
            (d.table_len(), d.table_size()),
            (3, (7 + 1 + 32) + (8 + 2 + 32) + (7 + 1 + 32))
        );
    }

    #[test]
    fn size_updates_evict_and_are_bounded_by_what_was_advertised() {
        let mut d = Decoder::new(4096);
        let mut head = Head::default();
        // x-a: b with indexing (size 3 + 1 + 32 = 36), twice over with different values.
        d.decode(&[0x40, 3, b'x', b'-', b'a', 1, b'b'], false, &mut head)
            .unwrap();
        d.decode(&[0x40, 3, b'x', b'-', b'a', 1, b'c'], false, &mut head)
            .unwrap();
        assert_eq!((d.table_len(), d.table_size()), (2, 72));
        // Down to 40 bytes: the older entry goes; then to 0 and back up: all go.
        d.decode(&[0x20 | 31, 40 - 31, 0x88], false, &mut head)
            .unwrap();
        assert_eq!((d.table_len(), d.table_size()), (1, 36));
        d.decode(&[0x20, 0x3f, 0xe1, 0x1f], false, &mut head)
            .unwrap();
        assert_eq!((d.table_len(), d.table_size()), (0, 0));
        // 4096 is the limit; 4097 is above it.
        let err = d.decode(&[0x3f, 0xe2, 0x1f], false, &mut head).unwrap_err();
        assert!(err.message.contains("above the advertised 4096"), "{err:?}");
        // An update after a field is an error (§4.2: only at the start of a block).
        let err = Decoder::new(4096)
            .decode(&[0x88, 0x20], false, &mut head)
            .unwrap_err();
        assert!(err.message.contains("after a header field"), "{err:?}");
        // An entry larger than the table empties it and is not added (§4.4).
        let mut d = Decoder::with_max(40);
        d.decode(&[0x40, 3, b'x', b'-', b'a', 1, b'b'], false, &mut head)
            .unwrap();
        d.decode(
            &[
                0x40, 3, b'x', b'-', b'a', 6, b'l', b'o', b'n', b'g', b'e', b'r',
            ],
            false,
            &mut head,
        )
        .unwrap();
        assert_eq!((d.table_len(), d.table_size()), (0, 0));
    }

    /// What flak advertises (0): a server that honours it starts with a size update to 0 and
    /// leaves nothing in the table; one that ignores it may fill HTTP/2's default 4096 bytes.
    #[test]
    fn with_0_advertised_the_default_table_holds_until_the_server_shrinks_it() {
        let insert_and_read = [0x40, 3, b'x', b'-', b'a', 1, b'b', 0x88, 0x80 | 62];
        let mut head = Head::default();
        let mut ignores = Decoder::new(TABLE_SIZE);
        for _ in 0..200 {
            ignores.decode(&insert_and_read, false, &mut head).unwrap();
        }
        assert_eq!(
            ignores.table_size(),
            4096 / 36 * 36,
            "bounded by the default 4096"
        );
        let mut honours = Decoder::new(TABLE_SIZE);
        let mut block = vec![0x20];
        block.extend(&insert_and_read[..7]);
        honours.decode(&block, false, &mut head).unwrap();
        assert_eq!((honours.table_len(), honours.table_size()), (0, 0));
        assert!(honours.decode(&[0x80 | 62], false, &mut head).is_err());
        // Growing past what was advertised is an error, even back to the default.
        let err = honours
            .decode(&[0x3f, 0xe1, 0x1f], false, &mut head)
            .unwrap_err();
        assert!(err.message.contains("above the advertised 0"), "{err:?}");
    }

    #[test]
    fn indices_past_the_table_are_errors() {
        let mut head = Head::default();
        let mut d = Decoder::new(4096);
        for block in [&[0x80 | 62][..], &[0x80][..], &[0x40 | 62, 1, b'x'][..]] {
            let err = Decoder::new(4096)
                .decode(block, false, &mut head)
                .unwrap_err();
            assert_eq!(err.kind, flak_core::ErrorKind::Protocol, "{block:?}");
        }
        d.decode(&[0x40, 1, b'a', 1, b'b'], false, &mut head)
            .unwrap();
        d.decode(&[0x80 | 62], false, &mut head).unwrap();
        let err = d.decode(&[0x80 | 63], false, &mut head).unwrap_err();
        assert!(
            err.message
                .contains("HPACK index 63 out of the table (62 entries)"),
            "{err:?}"
        );
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
            let _ = Decoder::new(4096).decode(&b, true, &mut head);
            let _ = huffman::decode(&b, |_| true);
        }
    }
}
