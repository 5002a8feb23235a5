//! Fan-out scenario files (TOML): a group of requests that one iteration sends at once, as a
//! page or an aggregator calls several backends and waits for all of them.
//!
//! ```toml
//! [[request]]
//! name = "product"
//! url = "http://127.0.0.1:8081/delay/20"
//!
//! [[request]]
//! name = "reviews"
//! method = "POST"
//! url = "http://127.0.0.1:8081/delay/40"
//! headers = ["Content-Type: application/json"]
//! body = '{"product": 42}'
//! ```

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use flak_core::{Body, RequestSpec};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    #[allow(dead_code)] // a title for people reading the file
    name: Option<String>,
    #[serde(default)]
    request: Vec<Member>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Member {
    name: Option<String>,
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    body: Option<String>,
    /// A body read from this file, relative to the scenario file.
    #[serde(default)]
    body_file: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// Reads a scenario file into the members of a fan-out plan.
pub fn read(path: &Path) -> anyhow::Result<Vec<RequestSpec>> {
    let where_ = || format!("--scenario {}", path.display());
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", where_()))?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| anyhow!("{}: {e:#}", where_()))
}

fn parse(text: &str, dir: &Path) -> anyhow::Result<Vec<RequestSpec>> {
    let file: File = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            anyhow!("line {line}: {}", e.message())
        }
        None => anyhow!("{}", e.message()),
    })?;
    if file.request.is_empty() {
        bail!("no [[request]] entries");
    }
    file.request
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let label = m
                .name
                .clone()
                .unwrap_or_else(|| format!("request {}", i + 1));
            let mut spec =
                RequestSpec::new(&m.method, &m.url).map_err(|e| anyhow!("{label}: {e}"))?;
            if let Some(name) = m.name {
                spec = spec.named(name);
            }
            for h in &m.headers {
                spec = spec.header_line(h).map_err(|e| anyhow!("{label}: {e}"))?;
            }
            spec.body = match (m.body, m.body_file) {
                (Some(_), Some(_)) => bail!("{label}: give body or body_file, not both"),
                (Some(b), None) => Body::from(b),
                (None, Some(f)) => Body(
                    std::fs::read(dir.join(&f))
                        .with_context(|| format!("{label}: cannot read body_file {f:?}"))?,
                ),
                (None, None) => Body::default(),
            };
            Ok(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_in_order() {
        let specs = parse(
            "[[request]]\nname = \"a\"\nurl = \"http://h/a\"\n\n[[request]]\nmethod = \"POST\"\nurl = \"http://h/b\"\nheaders = [\"X: 1\"]\nbody = \"{}\"\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].display_name(), "a");
        assert_eq!(specs[1].display_name(), "POST /b");
        assert_eq!(specs[1].body.as_bytes(), b"{}");
    }

    #[test]
    fn bad_scenarios_say_what_is_wrong() {
        for (text, want) in [
            ("", "no [[request]]"),
            ("[[request]]\nname = \"x\"\n", "missing field `url`"),
            ("[[request]]\nurl = \"nope\"\n", "request 1: invalid URL"),
            (
                "[[request]]\nurl = \"http://h/\"\ncolour = \"red\"\n",
                "unknown field `colour`",
            ),
            (
                "[[request]]\nurl = \"http://h/\"\nheaders = [\"bad\"]\n",
                "invalid header",
            ),
            (
                "[[request]]\nurl = \"http://h/\"\n[[request]\n",
                "line 3: unclosed array table",
            ),
        ] {
            let e = parse(text, Path::new(".")).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
        }
    }
}
