//! [`LiteMap`]s written as JSON objects even when empty: litemap writes an empty map (whose key
//! type it cannot inspect) as an array, which a results file's readers and its schema refuse.

use litemap::LiteMap;
use serde::{Serialize, Serializer};

/// `#[serde(serialize_with)]` for a map field: always an object.
pub(crate) fn as_map<K: Serialize, V: Serialize, S: Serializer>(
    map: &LiteMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter())
}

/// The same for an optional map field that is skipped when `None`.
pub(crate) fn as_some_map<K: Serialize, V: Serialize, S: Serializer>(
    map: &Option<LiteMap<K, V>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match map {
        Some(map) => serializer.collect_map(map.iter()),
        None => serializer.serialize_none(),
    }
}
