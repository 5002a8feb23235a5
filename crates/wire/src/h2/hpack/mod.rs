//! HPACK (RFC 7541): `encode` for request blocks, `decode` for response blocks, `huffman` for
//! the string code both share.

pub mod decode;
pub mod encode;
pub mod huffman;

pub use decode::{Head, decode_block};
pub use encode::encode_request;

/// Decodes response header blocks (placeholder until the dynamic table lands in `decode`).
pub struct Decoder;

impl Decoder {
    pub fn new(_max_size: usize) -> Self {
        Self
    }

    pub fn decode(
        &mut self,
        block: &[u8],
        want_location: bool,
        head: &mut Head,
    ) -> Result<(), flak_core::RequestError> {
        decode_block(block, want_location, head)
    }
}
