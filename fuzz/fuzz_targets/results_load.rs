//! Results-file import (`flak merge`, the browser app's import): `Results::load`. Any text must
//! load or be refused, never panic; a file that loads must pass `common::check_loaded` (merge
//! with itself, write, load back, same statistics, same file).
#![no_main]

mod common;

use flak_core::Results;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((stats, results)) = Results::load(text) {
        common::check_loaded(&stats, &results);
    }
});
