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
//!
//! # optional: load that changes over time, as --rate-stages or --concurrency-stages
//! [[stage]]
//! duration = "30s"
//! rate = 100            # or: concurrency = 20 (every stage the same kind)
//! ```

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use flak_core::{Body, Load, RequestSpec, Stage, Stages};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    #[allow(dead_code)] // a title for people reading the file
    name: Option<String>,
    #[serde(default)]
    request: Vec<Member>,
    #[serde(default)]
    stage: Vec<StageRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageRow {
    duration: String,
    rate: Option<f64>,
    concurrency: Option<f64>,
}

/// What a scenario file holds: the fan-out members and, optionally, the load's stages.
#[derive(Debug)]
pub struct Scenario {
    pub requests: Vec<RequestSpec>,
    pub load: Option<Load>,
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
pub fn read(path: &Path) -> anyhow::Result<Scenario> {
    let where_ = || format!("--scenario {}", path.display());
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", where_()))?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| anyhow!("{}: {e:#}", where_()))
}

fn parse(text: &str, dir: &Path) -> anyhow::Result<Scenario> {
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
    let load = stages(&file.stage)?;
    let requests = file
        .request
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
        .collect::<anyhow::Result<_>>()?;
    Ok(Scenario { requests, load })
}

/// The `[[stage]]` tables as a load: every one a `rate` or every one a `concurrency`.
fn stages(rows: &[StageRow]) -> anyhow::Result<Option<Load>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut stages = Vec::new();
    let mut rate = None;
    for (i, row) in rows.iter().enumerate() {
        let n = i + 1;
        let (target, is_rate) = match (row.rate, row.concurrency) {
            (Some(r), None) => (r, true),
            (None, Some(c)) => (c, false),
            _ => bail!("stage {n}: give rate or concurrency (one of them)"),
        };
        if *rate.get_or_insert(is_rate) != is_rate {
            bail!("stage {n}: every stage must set the same thing (all rate or all concurrency)");
        }
        if row.duration.trim().starts_with('-') {
            bail!("stage {n}: a negative duration ({})", row.duration.trim());
        }
        let duration = flak_core::plan::parse_duration(&row.duration)
            .map_err(|e| anyhow!("stage {n}: {e}"))?;
        stages.push(Stage { duration, target });
    }
    let stages = Stages::new(stages).map_err(|e| anyhow!(e))?;
    Ok(Some(if rate == Some(true) {
        Load::Rate(stages)
    } else {
        Load::Concurrency(stages)
    }))
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
        .unwrap()
        .requests;
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].display_name(), "a");
        assert_eq!(specs[1].display_name(), "POST /b");
        assert_eq!(specs[1].body.as_bytes(), b"{}");
    }

    #[test]
    fn stages_become_the_load() {
        let member = "[[request]]\nurl = \"http://h/\"\n";
        let s = parse(
            &format!("{member}[[stage]]\nduration = \"2s\"\nrate = 100\n[[stage]]\nduration = \"1s\"\nrate = 0\n"),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            s.load,
            Some(Load::Rate(Stages::parse("2s:100,1s:0").unwrap()))
        );
        for (stages, want) in [
            (
                "[[stage]]\nduration = \"2s\"\n",
                "stage 1: give rate or concurrency",
            ),
            (
                "[[stage]]\nduration = \"2s\"\nrate = 1\n[[stage]]\nduration = \"2s\"\nconcurrency = 1\n",
                "stage 2: every stage must set the same thing",
            ),
            (
                "[[stage]]\nduration = \"0s\"\nrate = 1\n",
                "stage 1: a duration of zero",
            ),
            (
                "[[stage]]\nduration = \"-1s\"\nrate = 1\n",
                "stage 1: a negative duration",
            ),
            (
                "[[stage]]\nduration = \"1s\"\nrate = -1\n",
                "not a number of zero or more",
            ),
            (
                "[[stage]]\nduration = \"1s\"\nrate = \"x\"\n",
                "invalid type",
            ),
        ] {
            let e = parse(&format!("{member}{stages}"), Path::new("."))
                .err()
                .unwrap()
                .to_string();
            assert!(
                e.contains(want),
                "{stages:?}: {e:?} should contain {want:?}"
            );
        }
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
