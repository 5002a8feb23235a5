//! Regexes from users: journeys' `regex:…` extractors and `flak import`'s `--include` /
//! `--exclude`. Natively they are regex-lite (flak-core's `regex` feature, on by default); on
//! wasm32 — the web app — they are the browser's own `RegExp`, which costs the bundle nothing
//! where regex-lite would add ~21 KB gzip. The two read the patterns people write for this
//! (classes, groups, `\d \w \s`, quantifiers, anchors) the same way; in the browser the syntax
//! is ECMAScript's. Compared by source, so scenarios compare equal across front ends.

/// A compiled regex.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    #[cfg(all(feature = "regex", not(target_arch = "wasm32")))]
    re: regex_lite::Regex,
    #[cfg(target_arch = "wasm32")]
    re: js_sys::RegExp,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Compiles a regex with exactly one capture group: the value an extractor takes.
    pub fn with_one_group(source: &str) -> Result<Self, String> {
        let pattern = Self::new(source)?;
        match pattern.groups() {
            1 => Ok(pattern),
            n => Err(format!(
                "regex {source:?} needs exactly one capture group (…), the value to take; it has {n}"
            )),
        }
    }

    #[cfg(any(feature = "regex", target_arch = "wasm32"))]
    fn invalid(source: &str, why: &str) -> String {
        let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("regex {source:?} does not compile: {why}")
    }

    #[cfg(all(feature = "regex", not(target_arch = "wasm32")))]
    pub fn new(source: &str) -> Result<Self, String> {
        let re =
            regex_lite::Regex::new(source).map_err(|e| Self::invalid(source, &e.to_string()))?;
        Ok(Self {
            source: source.to_string(),
            re,
        })
    }

    #[cfg(all(feature = "regex", not(target_arch = "wasm32")))]
    fn groups(&self) -> usize {
        self.re.captures_len() - 1
    }

    #[cfg(all(feature = "regex", not(target_arch = "wasm32")))]
    pub fn is_match(&self, text: &str) -> bool {
        self.re.is_match(text)
    }

    /// The first capture group of the first match in `text`.
    #[cfg(all(feature = "regex", not(target_arch = "wasm32")))]
    pub fn first_group(&self, text: &str) -> Option<String> {
        Some(self.re.captures(text)?.get(1)?.as_str().to_string())
    }

    #[cfg(target_arch = "wasm32")]
    pub fn new(source: &str) -> Result<Self, String> {
        Ok(Self {
            source: source.to_string(),
            re: browser_regexp(source)?,
        })
    }

    #[cfg(target_arch = "wasm32")]
    fn groups(&self) -> usize {
        // An alternative that matches the empty string makes every group show up (unmatched)
        // in the result's length.
        browser_regexp(&format!("(?:{})|", self.source))
            .ok()
            .and_then(|re| re.exec(""))
            .map_or(0, |m| (m.length() as usize).saturating_sub(1))
    }

    #[cfg(target_arch = "wasm32")]
    pub fn is_match(&self, text: &str) -> bool {
        self.re.test(text)
    }

    /// The first capture group of the first match in `text`.
    #[cfg(target_arch = "wasm32")]
    pub fn first_group(&self, text: &str) -> Option<String> {
        self.re.exec(text)?.get(1).as_string()
    }

    #[cfg(all(not(feature = "regex"), not(target_arch = "wasm32")))]
    pub fn new(source: &str) -> Result<Self, String> {
        Err(format!(
            "regex {source:?}: this build of flak leaves regexes out (flak-core's regex feature)"
        ))
    }

    #[cfg(all(not(feature = "regex"), not(target_arch = "wasm32")))]
    fn groups(&self) -> usize {
        0
    }

    #[cfg(all(not(feature = "regex"), not(target_arch = "wasm32")))]
    pub fn is_match(&self, _text: &str) -> bool {
        false
    }

    #[cfg(all(not(feature = "regex"), not(target_arch = "wasm32")))]
    pub fn first_group(&self, _text: &str) -> Option<String> {
        None
    }
}

/// `new RegExp(source, "u")`. It throws a SyntaxError on a pattern that does not parse, which
/// js-sys's binding of the constructor would not catch, so it is called through Reflect.
#[cfg(target_arch = "wasm32")]
fn browser_regexp(source: &str) -> Result<js_sys::RegExp, String> {
    use wasm_bindgen::JsCast;
    let ctor: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"RegExp".into())
        .map_err(|_| "this browser has no RegExp".to_string())?
        .unchecked_into();
    let args = js_sys::Array::of2(&source.into(), &"u".into());
    js_sys::Reflect::construct(&ctor, &args)
        .map(JsCast::unchecked_into)
        .map_err(|e| {
            let why = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_default();
            Pattern::invalid(source, &why)
        })
}
