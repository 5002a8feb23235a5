//! Finished runs remembered across visits: what each entry holds, and the list as it is kept
//! in localStorage (the browser adapter stores the text).

use flak_core::report::Summary;

use crate::model::config::FormConfig;

/// The localStorage key the list is kept under.
pub const STORAGE_KEY: &str = "flak.recent";

pub const MAX_RECENT: usize = 10;

/// A finished run, remembered in localStorage.
#[derive(Debug, Clone, PartialEq)]
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

/// The list from its stored text, one run a line (see [`to_stored`]); nothing stored, or text
/// it cannot read (written by another version, edited by hand), is an empty list.
pub fn from_stored(text: Option<&str>) -> Vec<Recent> {
    text.and_then(|text| text.lines().map(Recent::from_line).collect())
        .unwrap_or_default()
}

/// The list as text to store: one run a line, its fields split by tabs. Not JSON: serde's
/// reader and writer for this one type were ~3 KB of the page's gzipped wasm.
pub fn to_stored(list: &[Recent]) -> Option<String> {
    Some(
        list.iter()
            .map(Recent::to_line)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

impl Recent {
    fn to_line(&self) -> String {
        let ms = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        // The query is percent-encoded; a description can hold a step's name, so a tab or a
        // line break in it becomes a space.
        let description = self.description.replace(['\t', '\n', '\r'], " ");
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{description}",
            self.at_ms,
            self.total,
            self.rps,
            ms(self.p50_ms),
            ms(self.p99_ms),
            self.query
        )
    }

    fn from_line(line: &str) -> Option<Self> {
        let mut fields = line.split('\t');
        let mut next = || fields.next();
        let ms = |s: &str| match s {
            "" => Some(None),
            s => s.parse().ok().map(Some),
        };
        let run = Self {
            at_ms: next()?.parse().ok()?,
            total: next()?.parse().ok()?,
            rps: next()?.parse().ok()?,
            p50_ms: ms(next()?)?,
            p99_ms: ms(next()?)?,
            query: next()?.to_string(),
            description: next()?.to_string(),
        };
        fields.next().is_none().then_some(run)
    }
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
        // An older version's JSON list is garbage here too.
        assert_eq!(
            from_stored(Some(r#"[{"at_ms":1.0,"total":1}]"#)),
            Vec::new()
        );
    }

    #[test]
    fn a_run_reads_back_exactly_whatever_its_text_holds() {
        let odd = Recent {
            at_ms: 1_764_600_000_123.5,
            description: "journey of 2 steps (log\tin, \nout)".into(),
            query: "url=http%3A%2F%2F127.0.0.1%3A8081%2F&c=10".into(),
            total: u64::MAX,
            rps: 0.1 + 0.2,
            p50_ms: Some(1e-9),
            p99_ms: None,
        };
        let back = from_stored(to_stored(std::slice::from_ref(&odd)).as_deref());
        let want = Recent {
            description: "journey of 2 steps (log in,  out)".into(),
            ..odd
        };
        assert_eq!(back, vec![want]);
        assert_eq!(from_stored(Some("")), Vec::new());
    }
}
