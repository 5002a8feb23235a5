//! Finished runs remembered across visits: what each entry holds, and the list as it is kept
//! in localStorage (the browser adapter stores the text).

use flak_core::report::Summary;

use crate::model::config::FormConfig;

/// The localStorage key the list is kept under.
pub const STORAGE_KEY: &str = "flak.recent";

pub const MAX_RECENT: usize = 10;

/// A finished run, remembered in localStorage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recent {
    pub at_ms: f64,
    pub description: String,
    pub query: String,
    pub total: u64,
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Recent {
    /// A run of `config` that ended at `at_ms` (ms since the epoch) with `summary`.
    pub fn of(config: &FormConfig, summary: &Summary, at_ms: f64) -> Self {
        Self {
            at_ms,
            description: config.describe(),
            query: config.to_query(false),
            total: summary.total,
            rps: summary.rps,
            p50_ms: summary.latency_ms.map(|l| l.p50),
            p99_ms: summary.latency_ms.map(|l| l.p99),
        }
    }
}

/// Adds a run to the front of the recent list, keeping at most [`MAX_RECENT`].
pub fn remember(mut list: Vec<Recent>, run: Recent) -> Vec<Recent> {
    list.insert(0, run);
    list.truncate(MAX_RECENT);
    list
}

/// The list from its stored text; nothing stored, or text it cannot read (written by another
/// version, edited by hand), is an empty list.
pub fn from_stored(text: Option<&str>) -> Vec<Recent> {
    text.and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// The list as text to store.
pub fn to_stored(list: &[Recent]) -> Option<String> {
    serde_json::to_string(list).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(i: u64) -> Recent {
        Recent {
            at_ms: i as f64,
            description: String::new(),
            query: String::new(),
            total: i,
            rps: 0.0,
            p50_ms: None,
            p99_ms: Some(1.5),
        }
    }

    #[test]
    fn recent_list_is_bounded() {
        let list = (0..15).fold(Vec::new(), |l, i| remember(l, run(i)));
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(list[0].total, 14);
    }

    #[test]
    fn the_stored_list_reads_back_and_garbage_reads_as_empty() {
        let list = vec![run(2), run(1)];
        let text = to_stored(&list).unwrap();
        assert_eq!(from_stored(Some(&text)), list);
        assert_eq!(from_stored(None), Vec::new());
        assert_eq!(from_stored(Some("{not json")), Vec::new());
    }
}
