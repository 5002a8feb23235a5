//! URL templates: `http://h/users/{rand:1-100000}?sort={pick:asc,desc}` expands per request, so a
//! test hits a wide swath of data rather than one cached URL. Expansion is a pure function of
//! (seed, request index): repeatable, and the same on every thread, process and machine.

use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::syntax;

/// A URL template that does not parse, or one of whose expansions is not an absolute http(s)
/// URL. [`crate::PlanError`] wraps it, with the same message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid URL {url:?}: {reason}")]
pub struct TemplateError {
    /// The template as written.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    /// `{rand:MIN-MAX}`: a whole number in MIN..=MAX.
    Rand {
        min: u64,
        max: u64,
    },
    /// `{pick:a,b,c}`: one of the choices.
    Pick(Vec<String>),
}

/// A parsed URL template. A URL without `{…}` fields is a template with one literal part.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlTemplate {
    source: String,
    parts: Vec<Part>,
}

impl UrlTemplate {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let err = |reason: String| TemplateError {
            url: source.to_string(),
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let close = rest[open..].find('}').ok_or_else(|| {
                err(format!(
                    "unclosed '{{' at byte {}",
                    source.len() - rest.len() + open
                ))
            })?;
            parts.push(parse_field(&rest[open + 1..open + close]).map_err(err)?);
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(err("'}' without a matching '{'".into()));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        let template = Self {
            source: source.to_string(),
            parts,
        };
        // Expansions differ only inside fields: check every field at both ends of its range
        // (a port field must stay in range) and every pick choice (one may hold a space), with
        // the other fields at their smallest.
        let fields = template
            .parts
            .iter()
            .filter(|p| !matches!(p, Part::Literal(_)))
            .count();
        let mut samples = vec![(usize::MAX, 0usize)];
        for (i, part) in template
            .parts
            .iter()
            .filter(|p| !matches!(p, Part::Literal(_)))
            .enumerate()
        {
            match part {
                Part::Rand { .. } => samples.push((i, 1)),
                Part::Pick(choices) => samples.extend((1..choices.len()).map(|c| (i, c))),
                Part::Literal(_) => {}
            }
        }
        debug_assert!(samples.iter().all(|(i, _)| *i == usize::MAX || *i < fields));
        let mut sample = String::new();
        for (field, variant) in samples {
            sample.clear();
            let mut n = 0;
            template.expand_with(&mut sample, |part| {
                let this = n;
                n += 1;
                let pick = if this == field { variant } else { 0 };
                match part {
                    Part::Rand { min, max } => if pick == 1 { max } else { min }.to_string(),
                    Part::Pick(choices) => choices[pick].clone(),
                    Part::Literal(_) => unreachable!(),
                }
            });
            syntax::check_url(&sample)
                .map_err(|reason| err(format!("{reason} (in the expansion {sample:?})")))?;
        }
        Ok(template)
    }

    /// The text the template was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when every request gets the same URL.
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Writes the URL of one request into `out` (cleared first), drawing random fields from `rng`.
    pub fn expand(&self, rng: &mut fastrand::Rng, out: &mut String) {
        out.clear();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Rand { min, max } => {
                    let _ = write!(out, "{}", rng.u64(*min..=*max));
                }
                Part::Pick(choices) => out.push_str(&choices[rng.usize(..choices.len())]),
            }
        }
    }

    fn expand_with(&self, out: &mut String, mut field: impl FnMut(&Part) -> String) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                other => out.push_str(&field(other)),
            }
        }
    }
}

fn parse_field(field: &str) -> Result<Part, String> {
    let (kind, arg) = field.split_once(':').ok_or_else(|| {
        format!("field {{{field}}} needs a kind: {{rand:MIN-MAX}} or {{pick:a,b}}")
    })?;
    match kind {
        "rand" => {
            let (lo, hi) = arg
                .split_once('-')
                .ok_or_else(|| format!("{{rand:{arg}}} needs a range MIN-MAX, such as 1-1000"))?;
            let parse = |s: &str| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{{rand:{arg}}}: {s:?} is not a whole number"))
            };
            let (min, max) = (parse(lo)?, parse(hi)?);
            if min > max {
                return Err(format!(
                    "{{rand:{arg}}}: MIN {min} is greater than MAX {max}"
                ));
            }
            Ok(Part::Rand { min, max })
        }
        "pick" => {
            let choices: Vec<String> = arg.split(',').map(str::to_string).collect();
            if choices.iter().any(String::is_empty) {
                return Err(format!("{{pick:{arg}}}: empty choice"));
            }
            Ok(Part::Pick(choices))
        }
        other => Err(format!(
            "unknown field kind {other:?} (expected rand or pick)"
        )),
    }
}

impl Serialize for UrlTemplate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for UrlTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_url_is_one_literal() {
        let t = UrlTemplate::parse("http://127.0.0.1:8080/a?b=c").unwrap();
        assert!(t.is_fixed());
        let mut out = String::new();
        t.expand(&mut fastrand::Rng::with_seed(1), &mut out);
        assert_eq!(out, "http://127.0.0.1:8080/a?b=c");
    }

    #[test]
    fn fields_expand_within_their_bounds_and_repeat_with_the_seed() {
        let t = UrlTemplate::parse("http://h/u/{rand:5-7}/{pick:a,b}").unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut out = String::new();
        let mut rng = fastrand::Rng::with_seed(42);
        for _ in 0..200 {
            t.expand(&mut rng, &mut out);
            seen.insert(out.clone());
        }
        let want: std::collections::BTreeSet<String> = ["5", "6", "7"]
            .iter()
            .flat_map(|n| ["a", "b"].map(|p| format!("http://h/u/{n}/{p}")))
            .collect();
        assert_eq!(seen, want);
        let (mut a, mut b) = (String::new(), String::new());
        t.expand(&mut fastrand::Rng::with_seed(9), &mut a);
        t.expand(&mut fastrand::Rng::with_seed(9), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (url, want) in [
            ("http://h/{rand:9-1}", "greater than MAX"),
            ("http://h/{rand:1}", "needs a range"),
            ("http://h/{rand:a-9}", "not a whole number"),
            ("http://h/{pick:a,,b}", "empty choice"),
            ("http://h/{dice:6}", "unknown field kind"),
            ("http://h/{rand:1-2", "unclosed"),
            ("http://h/}", "without a matching"),
            ("/relative", "missing scheme"),
            ("ws://h/", "not supported"),
            ("http://{pick:a b,c}/", "invalid URL"),
            ("http://127.0.0.1:70000/", "port 70000 is out of range"),
            (
                "http://127.0.0.1:{rand:60000-99999}/",
                "port 99999 is out of range",
            ),
            ("http://h/{pick:a,b c}", "invalid URL"),
        ] {
            let err = UrlTemplate::parse(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err:?} should contain {want:?}");
        }
    }
}
