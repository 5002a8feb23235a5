//! HdrHistogram's V2 encoding, by hand: the header, then the counts array as ZigZag LEB128
//! varints with runs of empty buckets folded into one negative number. The compressed form
//! (`HISTFAAA…` in base64) is the same bytes in a zlib stream behind an 8-byte frame.
//!
//! The `hdrhistogram` crate's serializers would do, but they bring flate2 + miniz_oxide into
//! the web app, where the browser's own `CompressionStream("deflate")` (zlib, as the format
//! wants) already does it. So this module does no compression itself: [`frame`] and [`unframe`]
//! handle the frame around a zlib stream someone else made or will inflate, natively
//! [`deflate`]/[`inflate`] (flate2), in the browser the app's `browser/zlib.rs`. It is tested
//! against the crate's own serializer and deserializer, both ways.

use hdrhistogram::{Counter, Histogram};

/// First four bytes of a plain V2 encoding.
pub const V2_COOKIE: u32 = 0x1c84_9313;
/// First four bytes of a compressed V2 encoding (`HISTFAAA` in base64).
pub const COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// Bits of a cookie that once held the word size; readers ignore them (Java's `getCookieBase`).
const COOKIE_IGNORED: u32 = 0xf0;
/// Cookie, payload length, normalizing index offset, significant digits, lowest and highest
/// value, integer-to-double ratio.
const HEADER_LEN: usize = 40;
/// No V2 histogram inflates to more than this (6 million buckets of at most 9 bytes).
pub const MAX_INFLATED: usize = 64 << 20;

/// Why bytes are not an HdrHistogram this module can read. The text reads after "not an
/// HdrHistogram: ".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes end inside the header, the counts, or the compressed stream.
    #[error("it ends early")]
    Truncated,
    /// Not V2 and not compressed V2 (V0 and V1 are not supported, like in the `hdrhistogram`
    /// crate).
    #[error("it starts with {0:#010x}, not a V2 cookie")]
    Cookie(u32),
    /// V2 features no integer histogram uses (a normalizing offset, a double histogram's
    /// conversion ratio).
    #[error("it uses {0}, which is not supported")]
    Unsupported(String),
    /// The header's range is not one a histogram can have.
    #[error(
        "lowest value {low}, highest value {high} and {digits} significant digits are not a valid range"
    )]
    Range { low: u64, high: u64, digits: u32 },
    /// A count is negative past the run-length encoding, or too large for the counter type.
    #[error("a count of {0} does not fit its counter")]
    Count(u64),
    /// More buckets than the header's range has.
    #[error("its counts run past its range")]
    TooLong,
    /// The zlib stream does not inflate.
    #[error("the compressed counts do not inflate ({0})")]
    Inflate(String),
}

/// `ceil(log2(2 * 10^digits))`: the bits of sub-bucket index a precision needs.
const SUB_BUCKET_BITS: [u32; 6] = [1, 5, 8, 11, 15, 18];

/// A histogram's bucket layout, from its public parameters: the same index arithmetic as every
/// HdrHistogram implementation.
struct Layout {
    unit_bits: u32,
    half_bits: u32,
    sub_bucket_mask: u64,
}

impl Layout {
    fn of<T: Counter>(h: &Histogram<T>) -> Self {
        // A value in bucket 0 is equivalent to the values one unit around it.
        let unit_bits = h.equivalent_range(0).trailing_zeros();
        let sub_bits = SUB_BUCKET_BITS[usize::from(h.sigfig())];
        Self {
            unit_bits,
            half_bits: sub_bits - 1,
            sub_bucket_mask: ((1u64 << sub_bits) - 1) << unit_bits,
        }
    }

    fn index(&self, value: u64) -> usize {
        let base = 64 - self.unit_bits - self.half_bits - 1;
        let bucket = base - (value | self.sub_bucket_mask).leading_zeros();
        let sub = value >> (bucket + self.unit_bits);
        (((u64::from(bucket) + 1) << self.half_bits) + sub - (1 << self.half_bits)) as usize
    }

    /// The lowest value of bucket `index`; `index` must be below the histogram's
    /// `distinct_values()`.
    fn value(&self, index: usize) -> u64 {
        let half = 1u64 << self.half_bits;
        let (bucket, sub) = match (index >> self.half_bits) as u32 {
            0 => (0, index as u64),
            b => (b - 1, (index as u64 & (half - 1)) + half),
        };
        sub << (bucket + self.unit_bits)
    }
}

/// Appends `h` in the plain V2 encoding, byte for byte what the `hdrhistogram` crate's
/// `V2Serializer` writes. Counts above `i64::MAX`, which V2 cannot hold, are written as
/// `i64::MAX` (no run comes near: results files refuse counts over 2^40).
pub fn encode<T: Counter>(h: &Histogram<T>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&V2_COOKIE.to_be_bytes());
    out.extend_from_slice(&[0; 4]); // payload length, filled in below
    out.extend_from_slice(&0u32.to_be_bytes()); // normalizing index offset
    out.extend_from_slice(&u32::from(h.sigfig()).to_be_bytes());
    out.extend_from_slice(&h.low().to_be_bytes());
    out.extend_from_slice(&h.high().to_be_bytes());
    out.extend_from_slice(&1f64.to_be_bytes()); // integer-to-double conversion ratio
    let layout = Layout::of(h);
    let mut next = 0;
    for v in h.iter_recorded() {
        let index = layout.index(v.value_iterated_to());
        match index - next {
            0 => {}
            // One empty bucket is written as a count of 0, a longer run as minus its length.
            1 => varint(0, out),
            zeros => varint(zigzag(-(zeros as i64)), out),
        }
        let count = i64::try_from(v.count_at_value().as_u64()).unwrap_or(i64::MAX);
        varint(zigzag(count), out);
        next = index + 1;
    }
    if next == 0 {
        // An empty histogram still has its first bucket.
        varint(0, out);
    }
    let payload = (out.len() - start - HEADER_LEN) as u32;
    out[start + 4..start + 8].copy_from_slice(&payload.to_be_bytes());
}

/// Reads a plain V2 encoding (anything after the counts it announces is ignored, as HdrHistogram
/// does). The histogram has the encoded range and precision, and does not auto-resize.
pub fn decode<T: Counter + TryFrom<u64>>(bytes: &[u8]) -> Result<Histogram<T>, CodecError> {
    let mut r = Reader(bytes);
    match r.cookie()? {
        V2_COOKIE => {}
        other => return Err(CodecError::Cookie(other)),
    }
    let payload_len = r.u32()? as usize;
    let offset = r.u32()?;
    if offset != 0 {
        return Err(CodecError::Unsupported(format!(
            "a normalizing index offset ({offset})"
        )));
    }
    let digits = r.u32()?;
    let low = r.u64()?;
    let high = r.u64()?;
    let ratio = f64::from_bits(r.u64()?);
    if ratio != 1.0 {
        return Err(CodecError::Unsupported(format!(
            "an integer-to-double ratio of {ratio}"
        )));
    }
    let mut h = u8::try_from(digits)
        .ok()
        .and_then(|d| Histogram::<T>::new_with_bounds(low, high, d).ok())
        .ok_or(CodecError::Range { low, high, digits })?;
    let mut counts = Reader(r.0.get(..payload_len).ok_or(CodecError::Truncated)?);
    let layout = Layout::of(&h);
    let buckets = h.distinct_values();
    let mut index = 0usize;
    while !counts.0.is_empty() {
        let n = unzigzag(counts.varint()?);
        if n < 0 {
            index = usize::try_from(n.unsigned_abs())
                .ok()
                .and_then(|zeros| index.checked_add(zeros))
                .ok_or(CodecError::TooLong)?;
            continue;
        }
        if n > 0 {
            if index >= buckets {
                return Err(CodecError::TooLong);
            }
            let count = T::try_from(n as u64).map_err(|_| CodecError::Count(n as u64))?;
            h.record_n(layout.value(index), count)
                .map_err(|_| CodecError::TooLong)?;
        }
        index += 1;
    }
    Ok(h)
}

/// What a histogram's bytes hold: plain V2, or the zlib stream of a compressed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed<'a> {
    Plain(&'a [u8]),
    /// Inflated, it is a plain V2 encoding.
    Compressed(&'a [u8]),
}

/// Tells plain from compressed V2 by the cookie, and takes the zlib stream out of its frame.
pub fn unframe(bytes: &[u8]) -> Result<Framed<'_>, CodecError> {
    let mut r = Reader(bytes);
    match r.cookie()? {
        V2_COOKIE => Ok(Framed::Plain(bytes)),
        COMPRESSED_COOKIE => {
            let len = r.u32()? as usize;
            r.0.get(..len)
                .map(Framed::Compressed)
                .ok_or(CodecError::Truncated)
        }
        other => Err(CodecError::Cookie(other)),
    }
}

/// The compressed V2 form of a zlib stream of a plain V2 encoding.
pub fn frame(zlib: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(zlib.len() + 8);
    out.extend_from_slice(&COMPRESSED_COOKIE.to_be_bytes());
    out.extend_from_slice(&(zlib.len() as u32).to_be_bytes());
    out.extend_from_slice(zlib);
    out
}

/// zlib at the default level, as HdrHistogram's own serializers compress.
#[cfg(not(target_arch = "wasm32"))]
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes)
        .and_then(|()| z.finish())
        .expect("compressing into memory cannot fail")
}

/// Inflates a zlib stream, refusing one that inflates to more than [`MAX_INFLATED`].
#[cfg(not(target_arch = "wasm32"))]
pub fn inflate(zlib: &[u8]) -> Result<Vec<u8>, CodecError> {
    use std::io::Read as _;
    // V2 counts compress about 2-4 times; `bufread` reads the slice in place, with no buffer.
    let mut out = Vec::with_capacity(zlib.len().saturating_mul(4).min(MAX_INFLATED));
    flate2::bufread::ZlibDecoder::new(zlib)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Inflate(e.to_string()))?;
    if out.len() > MAX_INFLATED {
        return Err(CodecError::Inflate(format!(
            "more than {} MiB",
            MAX_INFLATED >> 20
        )));
    }
    Ok(out)
}

/// Any V2 encoding, plain or compressed, with flate2.
#[cfg(not(target_arch = "wasm32"))]
pub fn decode_any<T: Counter + TryFrom<u64>>(bytes: &[u8]) -> Result<Histogram<T>, CodecError> {
    match unframe(bytes)? {
        Framed::Plain(v2) => decode(v2),
        Framed::Compressed(zlib) => decode(&inflate(zlib)?),
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// LEB128 with at most 9 bytes: the ninth holds the top 8 bits whole.
fn varint(mut n: u64, out: &mut Vec<u8>) {
    for _ in 0..8 {
        if n < 0x80 {
            out.push(n as u8);
            return;
        }
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let (head, rest) = self.0.split_first_chunk().ok_or(CodecError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        self.take().map(u32::from_be_bytes)
    }

    /// The cookie, with its ignored bits set as in the cookies written here when the rest is
    /// a V2 cookie (any other is returned as it is, for the error).
    fn cookie(&mut self) -> Result<u32, CodecError> {
        let c = self.u32()?;
        let normal = c & !COOKIE_IGNORED | V2_COOKIE & COOKIE_IGNORED;
        Ok(match normal {
            V2_COOKIE | COMPRESSED_COOKIE => normal,
            _ => c,
        })
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        self.take().map(u64::from_be_bytes)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut n = 0u64;
        for i in 0..9 {
            let [b] = self.take()?;
            if i == 8 {
                return Ok(n | u64::from(b) << 56);
            }
            n |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                break;
            }
        }
        Ok(n)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)] // test helpers outside #[test] fns
mod tests {
    use hdrhistogram::serialization::{
        Deserializer, Serializer as _, V2DeflateSerializer, V2Serializer,
    };

    use super::*;

    /// Histograms of every precision and unit, empty, with only zeros, sparse, dense, with
    /// single empty buckets between counts, and with counts needing all nine varint bytes.
    fn samples() -> Vec<Histogram<u64>> {
        let mut out = Vec::new();
        let mut rng = fastrand::Rng::with_seed(7);
        for digits in 0..=5u8 {
            for low in [1u64, 2, 3, 1000, 1 << 20] {
                let h = Histogram::<u64>::new_with_bounds(low, low * 1000, digits).unwrap();
                out.push(h.clone());
                let mut zeros = h.clone();
                zeros.record_n(0, 5).unwrap();
                out.push(zeros);
                let mut auto = h.clone();
                auto.auto(true);
                for _ in 0..300 {
                    // Wide ranges at high precision make arrays of millions of buckets.
                    let bits = rng.u32(1..if digits > 3 { 24 } else { 50 });
                    let v = rng.u64(..1 << bits);
                    auto.record_n(v, rng.u64(1..1000)).unwrap();
                }
                out.push(auto);
            }
        }
        let mut dense = Histogram::<u64>::new(3).unwrap();
        for v in 0..5000 {
            dense.record_n(v, v + 1).unwrap();
        }
        // One empty bucket between two counts, then two.
        dense.record(5001).unwrap();
        dense.record(5004).unwrap();
        out.push(dense);
        let mut huge = Histogram::<u64>::new(2).unwrap();
        huge.record_n(17, 1 << 62).unwrap();
        huge.record_n(u64::MAX / 4, 1 << 40).unwrap();
        out.push(huge);
        out
    }

    fn crate_v2<T: Counter>(h: &Histogram<T>) -> Vec<u8> {
        let mut buf = Vec::new();
        V2Serializer::new().serialize(h, &mut buf).unwrap();
        buf
    }

    fn crate_read<T: Counter>(bytes: &[u8]) -> Histogram<T> {
        Deserializer::new().deserialize(&mut &bytes[..]).unwrap()
    }

    /// Equal, field by field.
    fn same<T: Counter>(a: &Histogram<T>, b: &Histogram<T>) {
        assert_eq!(a, b);
        same_counts(a, b);
    }

    /// The same counts in the same layout. What the crate deserializes can differ from the
    /// histogram it came from in one way: with a unit above 1 and only zeros recorded, its
    /// restat sets the max to the top of the unit (e.g. 511) where recording left it at 0.
    fn same_counts<T: Counter>(a: &Histogram<T>, b: &Histogram<T>) {
        assert_eq!((a.len(), a.min()), (b.len(), b.min()));
        assert_eq!(a.highest_equivalent(a.max()), b.highest_equivalent(b.max()));
        assert_eq!(
            (a.low(), a.high(), a.sigfig()),
            (b.low(), b.high(), b.sigfig())
        );
        let recorded = |h: &Histogram<T>| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value().as_u64()))
                .collect::<Vec<_>>()
        };
        assert_eq!(recorded(a), recorded(b));
    }

    #[test]
    fn writes_what_the_crate_writes_and_reads_what_it_reads() {
        for h in samples() {
            let mut ours = Vec::new();
            encode(&h, &mut ours);
            assert_eq!(ours, crate_v2(&h), "plain V2 is byte for byte the crate's");
            same_counts(&decode::<u64>(&ours).unwrap(), &crate_read(&ours));
            same(&decode::<u64>(&ours).unwrap(), &h);
            // Compressed: the crate reads ours, and we read the crate's.
            let framed = frame(&deflate(&ours));
            assert_eq!(&framed[..4], &[0x1c, 0x84, 0x93, 0x14]);
            same_counts(&crate_read(&framed), &h);
            let mut theirs = Vec::new();
            V2DeflateSerializer::new()
                .serialize(&h, &mut theirs)
                .unwrap();
            assert_eq!(framed, theirs, "same zlib, same level: same bytes");
            same(&decode_any::<u64>(&theirs).unwrap(), &h);
        }
    }

    #[test]
    fn smaller_counters_read_back_or_refuse_what_does_not_fit() {
        let mut h = Histogram::<u32>::new(2).unwrap();
        for v in [0, 1, 150, 90_000, 3_000_000] {
            h.record_n(v, 7).unwrap();
        }
        let mut bytes = Vec::new();
        encode(&h, &mut bytes);
        assert_eq!(bytes, crate_v2(&h));
        same(&decode::<u32>(&bytes).unwrap(), &h);
        let mut big = Histogram::<u64>::new(2).unwrap();
        big.record_n(5, 1 << 33).unwrap();
        bytes.clear();
        encode(&big, &mut bytes);
        assert_eq!(decode::<u32>(&bytes), Err(CodecError::Count(1 << 33)));
        same(&decode::<u64>(&bytes).unwrap(), &big);
    }

    #[test]
    fn reads_what_java_hdrhistogram_wrote() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        // HdrHistogram_rust's tests/data/seq-nums.histz, written by the Java implementation:
        // 0..100000 recorded once each, lowest 1, highest Long.MAX_VALUE, 3 digits.
        let java = b64(
            "HISTFAAAAE54nO3IoRGAMBREwQQQSGawiDSBJp2BoAMapQMQoQD8333iZm45rzmlsqam/zbvT7Pd7egAgHAGIKwRCGsCwipAWBUI68iS9L/6At/YGc4=",
        );
        let mut want = Histogram::<u64>::new_with_bounds(1, u64::MAX >> 1, 3).unwrap();
        for v in 0..100_000 {
            want.record(v).unwrap();
        }
        same(&decode_any::<u64>(&java).unwrap(), &want);
        // Intervals of a jHiccup log (the same repository's tests/data/tagged-Log.logV2.hlog).
        for text in [
            "HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekILGZkKmcCAEf2CsI=",
            "HISTFAAAAEJ42pNpmSzMwMAgxwABTBDKT4GBgdnNYMcCBvsPEBEWLj45FTExAT4pBSEBKa6UkAgBi1uM7xjfMMlwMDABAC0CCjM=",
            "HISTFAAAAD942pNpmSzMwMAgwwABTBDKT4GBgdnNYMcCBvsPEBE+Ph4OLgk5OSkeIS4+LgEeswIDo1+MbmdYNASYAA51CSo=",
        ] {
            let bytes = b64(text);
            let ours = decode_any::<u64>(&bytes).unwrap();
            assert!(!ours.is_empty());
            same_counts(&ours, &crate_read(&bytes));
        }
    }

    #[test]
    fn bad_bytes_are_refused_never_a_panic() {
        let mut good = Vec::new();
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in [1, 10, 100, 1000, 10_000, 100_000] {
            h.record(v).unwrap();
        }
        encode(&h, &mut good);
        assert_eq!(decode::<u64>(&[]), Err(CodecError::Truncated));
        assert_eq!(decode::<u64>(&good[..20]), Err(CodecError::Truncated));
        assert_eq!(
            decode::<u64>(&good[..good.len() - 1]),
            Err(CodecError::Truncated)
        );
        assert_eq!(
            decode::<u64>(b"HIST\0\0\0\0"),
            Err(CodecError::Cookie(0x4849_5354))
        );
        let edit = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            b
        };
        assert!(matches!(
            decode::<u64>(&edit(8, &[0, 0, 0, 1])),
            Err(CodecError::Unsupported(_))
        ));
        assert!(matches!(
            decode::<u64>(&edit(12, &[0, 0, 0, 9])),
            Err(CodecError::Range { digits: 9, .. })
        ));
        assert!(matches!(
            decode::<u64>(&edit(16, &[0; 8])),
            Err(CodecError::Range { low: 0, .. })
        ));
        assert!(matches!(
            decode::<u64>(&edit(32, &2f64.to_be_bytes())),
            Err(CodecError::Unsupported(_))
        ));
        // A run of empty buckets past the end, then a count.
        let mut past = good[..HEADER_LEN].to_vec();
        varint(zigzag(-(1 << 40)), &mut past);
        varint(zigzag(3), &mut past);
        let payload = (past.len() - HEADER_LEN) as u32;
        past[4..8].copy_from_slice(&payload.to_be_bytes());
        assert_eq!(decode::<u64>(&past), Err(CodecError::TooLong));
        // The most negative run there is.
        let mut min = good[..HEADER_LEN].to_vec();
        varint(zigzag(i64::MIN), &mut min);
        varint(zigzag(1), &mut min);
        let payload = (min.len() - HEADER_LEN) as u32;
        min[4..8].copy_from_slice(&payload.to_be_bytes());
        assert_eq!(decode::<u64>(&min), Err(CodecError::TooLong));

        let framed = frame(&deflate(&good));
        assert_eq!(
            unframe(&framed[..framed.len() - 1]),
            Err(CodecError::Truncated)
        );
        let mut corrupt = framed.clone();
        corrupt[12] ^= 0xff;
        assert!(matches!(
            decode_any::<u64>(&corrupt),
            Err(CodecError::Inflate(_) | CodecError::Truncated | CodecError::Cookie(_))
        ));
        // A compressed frame holding another compressed frame is not V2 inside.
        let nested = frame(&deflate(&framed));
        assert_eq!(
            decode_any::<u64>(&nested),
            Err(CodecError::Cookie(COMPRESSED_COOKIE))
        );
        // Random bytes behind either cookie.
        let mut rng = fastrand::Rng::with_seed(1);
        for round in 0..20_000 {
            let mut b: Vec<u8> = (0..rng.usize(0..80)).map(|_| rng.u8(..)).collect();
            if round % 2 == 0 && b.len() >= HEADER_LEN {
                b[..HEADER_LEN].copy_from_slice(&good[..HEADER_LEN]);
                let len = (b.len() - HEADER_LEN) as u32;
                b[4..8].copy_from_slice(&len.to_be_bytes());
            }
            let _ = decode::<u64>(&b);
            let _ = decode::<u32>(&b);
            let _ = decode_any::<u64>(&b);
        }
    }

    #[test]
    fn an_inflation_bomb_is_refused() {
        let zeros = vec![0u8; MAX_INFLATED + 1];
        let bomb = frame(&deflate(&zeros));
        assert!(matches!(
            decode_any::<u64>(&bomb),
            Err(CodecError::Inflate(e)) if e.contains("64 MiB")
        ));
    }
}
