//! Duration strings (`-z`, `-t`, `--connect-timeout`, `--grace`): `plan::parse_duration`. Any
//! text must parse or be refused, never panic; a parsed duration must format without panicking.
#![no_main]

use flak_core::plan::{format_duration, parse_duration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = parse_duration(text) {
        let shown = format_duration(d);
        assert!(!shown.is_empty());
    }
});
