//! Scenario files: `Scenario::from_toml` and `from_json` must return (a scenario or one error
//! line), never panic, whatever the text; a journey that passed validation must check its data
//! fields against no data file without panicking either.
#![no_main]

use flak_core::journey::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [Scenario::from_toml(text), Scenario::from_json(text)] {
        match parsed {
            Ok(Scenario::Journey(journey)) => {
                let _ = journey.check_data(None);
                let _ = journey.new_vars();
            }
            Ok(Scenario::FanOut(_)) => {}
            Err(e) => assert!(!e.to_string().contains('\n'), "a multi-line error: {e}"),
        }
    }
});
