//! A request body: raw bytes, written to JSON as text when it is UTF-8 and as base64 otherwise.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body(pub Vec<u8>);

impl Body {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}
impl From<&str> for Body {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}
impl From<String> for Body {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Wire<'a> {
    Text(&'a str),
    Binary { base64: String },
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => Wire::Text(text),
            Err(_) => Wire::Binary {
                base64: STANDARD.encode(&self.0),
            },
        }
        .serialize(s)
    }
}

/// Text, or `{"base64": …}`, read by hand: `#[serde(untagged)]` would buffer the value first.
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> de::Visitor<'de> for Either {
            type Value = Body;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or {\"base64\": \"…\"}")
            }
            fn visit_str<E>(self, text: &str) -> Result<Body, E> {
                Ok(Body::from(text))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                let mut base64: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "base64" {
                        base64 = Some(map.next_value()?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                let base64 = base64.ok_or_else(|| de::Error::missing_field("base64"))?;
                STANDARD
                    .decode(base64)
                    .map(Body)
                    .map_err(|e| de::Error::custom(format!("body: invalid base64: {e}")))
            }
        }
        d.deserialize_any(Either)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_round_trip() {
        for body in [Body::from("{\"a\":1}"), Body(vec![0, 159, 146, 150])] {
            let json = serde_json::to_string(&body).unwrap();
            assert_eq!(serde_json::from_str::<Body>(&json).unwrap(), body);
        }
        assert_eq!(serde_json::to_string(&Body::from("hi")).unwrap(), "\"hi\"");
    }

    #[test]
    fn bad_bodies_say_what_was_wanted() {
        for (json, want) in [
            ("5", "expected a string or {\"base64\""),
            ("{\"text\": \"x\"}", "missing field `base64`"),
            ("{\"base64\": \"!!\"}", "body: invalid base64"),
        ] {
            let err = serde_json::from_str::<Body>(json).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }
}
