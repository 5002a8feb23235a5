//! HAR files: `import::har::parse`, then `to_scenario` with and without secrets kept, must
//! return requests or one error line, never panic, whatever the bytes; every journey made must
//! pass core's own checks (a recording never makes a scenario `--scenario` would refuse), and
//! every placeholder it lists must be a `{data:…}` field the scenario reads.
#![no_main]

use flak_core::import::{self, Options, ThinkFrom};
use flak_core::journey::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let har = match import::har::parse(data) {
        Ok(har) => har,
        Err(e) => {
            assert!(!e.0.contains('\n'), "a multi-line error: {e}");
            return;
        }
    };
    for r in &har.requests {
        let _ = r.host();
        let _ = r.tab_problem("http://127.0.0.1:8080");
    }
    for keep_secrets in [false, true] {
        let options = Options {
            keep_secrets,
            think: if keep_secrets { ThinkFrom::None } else { ThinkFrom::Recorded },
            ..Options::default()
        };
        match import::to_scenario(&har.requests, &options) {
            Ok(imported) => {
                let text = serde_json::to_string(&imported.scenario).expect("serializes");
                for s in &imported.secrets {
                    assert!(text.contains(&format!("{{data:{}}}", s.column)));
                }
                if let Err(e) = Scenario::from_def(imported.scenario) {
                    panic!("an imported journey core refuses: {e}");
                }
            }
            Err(e) => assert!(!e.0.contains('\n'), "a multi-line error: {e}"),
        }
    }
});
