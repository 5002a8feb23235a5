//! JSON Lines data files: one object per line, every line with the same keys as the first;
//! values are strings, numbers or bools (numbers and bools are kept as their JSON text).
//! Blank lines are skipped.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Builder, DataError, DataSet};

pub(super) fn parse(bytes: &[u8]) -> Result<DataSet, DataError> {
    let mut builder: Option<Builder> = None;
    let mut number = String::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // From a str, as every other JSON read: one instantiation of serde_json's reader in the
        // browser's bundle, not a second for byte slices.
        let Ok(line) = std::str::from_utf8(line) else {
            return Err(DataError::at(n, "not UTF-8 text"));
        };
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(DataError::at(n, "not a JSON object")),
            Err(e) => return Err(DataError::at(n, format!("invalid JSON: {e}"))),
        };
        let b = match &mut builder {
            Some(b) => b,
            None => builder.insert(Builder::new(
                object.keys().map(|k| Box::from(k.as_str())).collect(),
                n,
            )?),
        };
        // A missing key is named by the loop below; an extra one here.
        if let Some(extra) = object
            .keys()
            .find(|k| !b.columns.iter().any(|c| **c == ***k))
        {
            return Err(DataError::at(
                n,
                format!("key {extra:?} is not on the first line"),
            ));
        }
        for c in 0..b.columns.len() {
            let column = || b.columns[c].to_string();
            let cell = match object.get(&*b.columns[c]) {
                Some(Value::String(s)) => s.as_str(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    number.clear();
                    let _ = write!(number, "{v}");
                    number.as_str()
                }
                Some(_) => {
                    return Err(DataError::at(
                        n,
                        format!(
                            "key {:?}: values must be strings, numbers or bools",
                            column()
                        ),
                    ));
                }
                None => return Err(DataError::at(n, format!("key {:?} is missing", column()))),
            };
            b.push(cell, n)?;
        }
    }
    builder
        .ok_or_else(|| DataError::whole("the file is empty"))?
        .finish()
}
