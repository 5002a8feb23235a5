//! The structure-aware companion of `results_load`. Byte mutations of JSON text seldom give a
//! file that still adds up, and never reach the counts near 2^64 where adding goes wrong; so this
//! target starts from a real results file (one of the seeds) and rewrites its numbers with
//! fuzzed ones: a single field set to any value, or a count added consistently to every field
//! that must agree with it. The file must then load or be refused, and one that loads must pass
//! `common::check_loaded`.
#![no_main]

mod common;

use flak_core::Results;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const BASES: [&str; 4] = [
    include_str!("../seeds/results_load/ok.json"),
    include_str!("../seeds/results_load/refused.json"),
    include_str!("../seeds/results_load/rated.json"),
    include_str!("../seeds/results_load/fanout.json"),
];

/// Top-level whole-number fields.
const FIELDS: [&str; 9] = [
    "total",
    "succeeded",
    "failed",
    "cancelled",
    "warmup",
    "bytes",
    "issued",
    "started_unix_us",
    "ended_unix_us",
];

#[derive(Arbitrary, Debug)]
enum Edit {
    /// Sets one top-level field.
    Set(u8, u64),
    /// Adds to `cancelled`, and to `issued` and `total` with it.
    Cancel(u64),
    /// Sets one series point's `count` (and `errors`, if the flag is set) to the value.
    Series(u8, u64, bool),
    /// Sets the count of the first status code or error kind.
    FirstCount(bool, u64),
}

#[derive(Arbitrary, Debug)]
struct Input {
    base: u8,
    edits: Vec<Edit>,
}

fn add(v: &mut Value, key: &str, n: u64) {
    if let Some(x) = v[key].as_u64() {
        v[key] = Value::from(x.wrapping_add(n));
    }
}

fn edit(doc: &mut Value, e: &Edit) {
    match *e {
        Edit::Set(field, value) => {
            doc[FIELDS[usize::from(field) % FIELDS.len()]] = Value::from(value);
        }
        Edit::Cancel(n) => {
            for key in ["cancelled", "issued", "total"] {
                add(doc, key, n);
            }
        }
        Edit::Series(i, value, errors) => {
            if let Some(points) = doc["series"].as_array_mut()
                && !points.is_empty()
            {
                let len = points.len();
                let p = &mut points[usize::from(i) % len];
                p["count"] = Value::from(value);
                if errors {
                    p["errors"] = Value::from(value);
                }
            }
        }
        Edit::FirstCount(status, value) => {
            let key = if status { "status_codes" } else { "errors" };
            if let Some((_, n)) = doc[key].as_object_mut().and_then(|m| m.iter_mut().next()) {
                *n = Value::from(value);
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let mut doc: Value = serde_json::from_str(BASES[usize::from(input.base) % BASES.len()])
        .expect("the seeds are JSON");
    for e in input.edits.iter().take(16) {
        edit(&mut doc, e);
    }
    let text = serde_json::to_string(&doc).expect("a JSON value serializes");
    if let Ok((stats, results)) = Results::load(&text) {
        common::check_loaded(&stats, &results);
    }
});
