//! The targets file (vegeta's format): `flak_core::targets::parse`. Any text must parse or be
//! refused with a line number, never panic; every parsed target names a line of the file and
//! holds a URL template that parses again on its own.
#![no_main]

use flak_core::UrlTemplate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    match flak_core::targets::parse(text) {
        Ok(targets) => {
            assert!(!targets.is_empty());
            for t in &targets {
                assert!(t.line >= 1 && t.line <= lines, "line {} of {lines}", t.line);
                UrlTemplate::parse(t.spec.url.as_str()).expect("a parsed target's URL parses");
            }
        }
        Err(e) => {
            assert!(e.line <= lines, "error on line {} of {lines}", e.line);
            let _ = e.to_string();
        }
    }
});
