//! Scenario files (TOML), read through core's model (`flak_core::journey`): a fan-out group
//! (top-level `[[request]]` tables, sent at once each iteration, as a page or an aggregator
//! calls several backends) or a journey (`[[step]]` tables run in order, with extracted values,
//! checks, think time and a data file). This module does the file I/O core does not: the
//! scenario, its body files and its data file, each relative to the scenario file.
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
//!
//! A journey: see docs/scenario-journey.toml.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use flak_core::data::{DataFormat, DataSet};
use flak_core::journey::{self, JourneyPlan};
use flak_core::{Load, RequestSpec};

/// Largest data file read into memory.
const MAX_DATA: u64 = 4 << 30;

/// What a scenario file holds.
#[derive(Debug)]
pub enum Scenario {
    /// The members of a fan-out plan.
    FanOut {
        requests: Vec<RequestSpec>,
        load: Option<Load>,
    },
    /// A journey, its data file read.
    Journey {
        plan: Box<JourneyPlan>,
        load: Option<Load>,
    },
}

/// Reads a scenario file, its body files and its data file (`data`, or `--data` in its place).
pub fn read(path: &Path, data: Option<&Path>) -> anyhow::Result<Scenario> {
    let where_ = || format!("--scenario {}", path.display());
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", where_()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir, data).map_err(|e| anyhow!("{}: {e:#}", where_()))
}

pub(crate) fn parse(text: &str, dir: &Path, data_flag: Option<&Path>) -> anyhow::Result<Scenario> {
    let scenario = journey::Scenario::from_toml(text)?;
    let read_body = |f: &str| std::fs::read(dir.join(f)).map_err(|e| e.to_string());
    let load = scenario.load().cloned();
    match scenario {
        journey::Scenario::FanOut(fan_out) => {
            if data_flag.is_some() {
                anyhow::bail!(
                    "--data needs a journey: a scenario with [[step]] tables (this one is a fan-out group of [[request]] tables)"
                );
            }
            Ok(Scenario::FanOut {
                requests: fan_out.specs(read_body)?,
                load,
            })
        }
        journey::Scenario::Journey(mut journey) => {
            let file = match data_flag {
                Some(flag) => {
                    journey.set_data_file(flag.display().to_string());
                    Some(("--data", flag.to_path_buf()))
                }
                None => journey.data_file().map(|f| ("data", dir.join(f))),
            };
            let data = file
                .map(|(field, path)| {
                    read_data(&path).map_err(|e| anyhow!("{field} {}: {e}", path.display()))
                })
                .transpose()?;
            let plan = JourneyPlan::new(journey, data, read_body)?;
            Ok(Scenario::Journey {
                plan: Box::new(plan),
                load,
            })
        }
    }
}

fn read_data(path: &Path) -> anyhow::Result<DataSet> {
    let name = path.display().to_string();
    let format = DataFormat::from_name(&name).ok_or_else(|| {
        anyhow!("name the file .csv (CSV with a header row) or .jsonl (JSON Lines)")
    })?;
    let len = std::fs::metadata(path)
        .map_err(|e| anyhow!("cannot read the file ({e})"))?
        .len();
    if len > MAX_DATA {
        anyhow::bail!("{len} bytes is more than the 4 GiB flak reads");
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read the file ({e})"))?;
    Ok(DataSet::parse(format, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flak_core::Stages;

    #[test]
    fn parses_members_in_order() {
        let specs = parse(
            "[[request]]\nname = \"a\"\nurl = \"http://h/a\"\n\n[[request]]\nmethod = \"POST\"\nurl = \"http://h/b\"\nheaders = [\"X: 1\"]\nbody = \"{}\"\n",
            Path::new("."),
            None,
        )
        .unwrap();
        let Scenario::FanOut {
            requests: specs, ..
        } = specs
        else {
            panic!("a fan-out scenario")
        };
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
            None,
        )
        .unwrap();
        let Scenario::FanOut { load, .. } = s else {
            panic!("a fan-out scenario")
        };
        assert_eq!(
            load,
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
            let e = parse(&format!("{member}{stages}"), Path::new("."), None)
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
            let e = parse(text, Path::new("."), None).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
        }
    }
}
