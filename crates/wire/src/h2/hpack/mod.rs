//! HPACK (RFC 7541): `encode` for request blocks, `decode` for response blocks, `huffman` for
//! the string code both share.

pub mod decode;
pub mod encode;
pub mod huffman;

pub use decode::{Decoder, Head, TABLE_SIZE};
pub use encode::encode_request;
