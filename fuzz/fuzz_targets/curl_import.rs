//! curl command lines: `import::curl::parse` (the bash-style tokenizer and curl's options),
//! then `to_scenario`, must return requests or one error line, never panic, whatever the text;
//! a journey made from them must pass core's own checks.
#![no_main]

use flak_core::import::{self, Options};
use flak_core::journey::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match import::curl::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(!e.0.contains('\n'), "a multi-line error: {e}");
            return;
        }
    };
    assert!(!parsed.requests.is_empty());
    for w in &parsed.warnings {
        assert!(!w.contains('\n'), "a multi-line warning: {w}");
    }
    let options = Options {
        keep_secrets: true,
        ..Options::default()
    };
    match import::to_scenario(&parsed.requests, &options) {
        Ok(imported) => {
            if let Err(e) = Scenario::from_def(imported.scenario) {
                panic!("an imported journey core refuses: {e}");
            }
        }
        Err(e) => assert!(!e.0.contains('\n'), "a multi-line error: {e}"),
    }
});
