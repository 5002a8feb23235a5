//! The shareable HTML report: the browser app itself in one file, with a results file inline.
//! Pure text assembly (no I/O), so `flak report` and the app's "Export HTML" write the same file
//! from the same inputs: the app's built files (dist/) and the results text.
//!
//! The page holds the app's CSS in a `<style>`, its wasm-bindgen JS glue (with the snippets it
//! imports folded in, since a page opened from `file://` can import no module) as one inline
//! module script, the wasm as base64 in a data block, and the results in
//! `<script type="application/json" id="flak-results">`. Its Content-Security-Policy allows only
//! that style and that script (by hash) and `connect-src 'none'`: the report cannot reach the
//! network, by the browser's rule rather than by the app's good manners.

use base64::Engine as _;

/// The element the app looks for on boot: when it is there, the page is a report.
pub const RESULTS_ID: &str = "flak-results";
/// The data block holding the wasm module as base64.
pub const WASM_ID: &str = "flak-wasm";

/// Why a report could not be assembled from the app's files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HtmlReportError {
    /// index.html does not name one of the app's files (not a dist/ that Trunk built?).
    #[error("the app's index.html names no {0}")]
    Missing(&'static str),
    /// The JS glue or a snippet is not in the shape wasm-bindgen and terser give it.
    #[error("the app's JS glue: {0}")]
    Glue(String),
    /// A piece would end its own element early.
    #[error("the app's {0} contains '{1}', which would end its element in the page")]
    Unsafe(&'static str, &'static str),
}

/// The app's files as index.html names them, relative to it (`style-….css`, `flak-web-….js`,
/// `flak-web-…_bg.wasm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFileNames {
    pub css: String,
    pub glue: String,
    pub wasm: String,
}

impl AppFileNames {
    /// Reads the names from Trunk's index.html: the stylesheet, the module preloaded first (the
    /// glue), and the preloaded wasm.
    pub fn of(index_html: &str) -> Result<Self, HtmlReportError> {
        let links: Vec<&str> = index_html.split("<link ").skip(1).collect();
        let href = |tag: &str| {
            let start = tag.find("href=\"")? + "href=\"".len();
            let end = tag[start..].find('"')?;
            Some(tag[start..start + end].trim_start_matches("./").to_string())
        };
        let find = |want: &dyn Fn(&str) -> bool, what| {
            links
                .iter()
                .find(|tag| want(tag))
                .and_then(|tag| href(tag))
                .ok_or(HtmlReportError::Missing(what))
        };
        Ok(Self {
            css: find(&|t| t.contains("rel=\"stylesheet\""), "stylesheet")?,
            glue: find(
                &|t| t.contains("rel=\"modulepreload\"") && !t.contains("snippets/"),
                "JS glue",
            )?,
            wasm: find(&|t| t.contains("application/wasm"), "wasm module")?,
        })
    }
}

/// The snippet modules the glue imports (`snippets/…/exchange.js`), relative to the glue, in
/// the order it imports them.
pub fn snippet_paths(glue: &str) -> Result<Vec<String>, HtmlReportError> {
    Ok(imports(glue)?
        .into_iter()
        .map(|i| i.from.trim_start_matches("./").to_string())
        .collect())
}

/// The app's built files, read by the front end (from the binary, or fetched by the page).
#[derive(Debug, Clone, Copy)]
pub struct AppFiles<'a> {
    pub css: &'a str,
    pub glue: &'a str,
    /// Each snippet the glue imports, with its path as [`snippet_paths`] gives it.
    pub snippets: &'a [(String, String)],
    pub wasm: &'a [u8],
}

/// The report page: the app, with `results` (a results file or a capacity report, as text)
/// inline for it to open on boot. The caller checks the results first, as it would any file.
#[cfg(not(target_arch = "wasm32"))]
pub fn html(app: &AppFiles<'_>, results: &str) -> Result<String, HtmlReportError> {
    let script = inline_script(app)?;
    let hashes = Hashes {
        script: sha256_base64(script.as_bytes()),
        style: sha256_base64(app.css.as_bytes()),
    };
    page(app, &script, &hashes, results)
}

/// SHA-256 as base64, as a CSP hash source carries it.
#[cfg(not(target_arch = "wasm32"))]
pub fn sha256_base64(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

/// SHA-256 (base64) of the inline script ([`inline_script`]) and of the CSS: the page's CSP
/// names them. The app has the browser compute them (SubtleCrypto), which keeps a SHA-256
/// implementation out of its bundle; natively [`html`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub script: String,
    pub style: String,
}

/// The report page from the app's files, the inline script [`inline_script`] made of them,
/// their hashes and the results text: [`html`] without the hashing.
pub fn page(
    app: &AppFiles<'_>,
    script: &str,
    hashes: &Hashes,
    results: &str,
) -> Result<String, HtmlReportError> {
    if contains_ignoring_case(app.css, "</style") {
        return Err(HtmlReportError::Unsafe("CSS", "</style"));
    }
    for bad in ["</script", "<!--"] {
        if contains_ignoring_case(script, bad) {
            return Err(HtmlReportError::Unsafe("JS", bad));
        }
    }
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{}' 'wasm-unsafe-eval'; style-src 'sha256-{}'; \
         img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'",
        hashes.script, hashes.style,
    );
    let wasm = base64::engine::general_purpose::STANDARD.encode(app.wasm);
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         <meta name=\"color-scheme\" content=\"light dark\" />\n\
         <!-- A flak report: the app and its results in one file; it makes no request. -->\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\" />\n\
         <title>flak report</title>\n<link rel=\"icon\" href=\"data:,\" />\n\
         <style>{css}</style>\n\
         <script type=\"application/json\" id=\"{RESULTS_ID}\">{results}</script>\n\
         <script type=\"application/octet-stream\" id=\"{WASM_ID}\">{wasm}</script>\n\
         <script type=\"module\">{script}</script>\n</head>\n<body>\n\
         <noscript>This flak report needs JavaScript and WebAssembly.</noscript>\n\
         </body>\n</html>\n",
        css = app.css,
        results = escape_json(results),
    ))
}

/// Whether `text` contains `needle` (ASCII, lower case) in any case, as HTML reads tag names.
fn contains_ignoring_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// JSON that cannot end its `<script>` element, open a comment in it, or break a line in a
/// JS string: `<` (only ever inside strings in JSON) and U+2028/U+2029 as `\u` escapes, which a
/// JSON parser reads back as the same text.
pub fn escape_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// One `import {…} from "…"` statement of the glue.
struct Import {
    /// Byte range of the whole statement (with its `;`).
    span: std::ops::Range<usize>,
    /// The names inside the braces, as written (`Exchanges as n`).
    names: String,
    from: String,
}

fn imports(glue: &str) -> Result<Vec<Import>, HtmlReportError> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = glue[at..].find("import") {
        let start = at + i;
        at = start + "import".len();
        // A statement starts a line or follows `;` or `}` (minified); `get_imports` does not.
        let before = glue[..start].chars().next_back();
        if before.is_some_and(|c| !matches!(c, ';' | '}' | '\n' | ' ')) {
            continue;
        }
        let rest = glue[at..].trim_start();
        // `import(` and `import.meta` are not statements.
        if !rest.starts_with('{') {
            if rest.starts_with("*") || rest.starts_with('"') || rest.starts_with('\'') {
                return Err(HtmlReportError::Glue(
                    "an import that is not of named exports".into(),
                ));
            }
            continue;
        }
        let open = glue.len() - rest.len();
        let close = open
            + glue[open..]
                .find('}')
                .ok_or_else(|| HtmlReportError::Glue("an unclosed import".into()))?;
        let names = glue[open + 1..close].trim().to_string();
        let after = glue[close + 1..].trim_start();
        let Some(after) = after.strip_prefix("from") else {
            continue;
        };
        let after = after.trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| HtmlReportError::Glue("an import without a quoted path".into()))?;
        let body = &after[1..];
        let len = body
            .find(quote)
            .ok_or_else(|| HtmlReportError::Glue("an unclosed import path".into()))?;
        let from = body[..len].to_string();
        let mut end = glue.len() - body.len() + len + 1;
        if glue[end..].starts_with(';') {
            end += 1;
        }
        if !from.starts_with("./snippets/") {
            return Err(HtmlReportError::Glue(format!(
                "an import from {from}, not a snippet"
            )));
        }
        found.push(Import {
            span: start..end,
            names,
            from,
        });
        at = end;
    }
    Ok(found)
}

/// `a as b, c` → `a:b,c`: an import list as a destructuring pattern.
fn as_pattern(names: &str) -> String {
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| match n.split_once(" as ") {
            Some((from, to)) => format!("{}:{}", from.trim(), to.trim()),
            None => n.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The last `export {…}` statement of a module: its range and its `(local, exported)` names.
type Exports = (std::ops::Range<usize>, Vec<(String, String)>);

fn export_list(module: &str) -> Option<Exports> {
    let mut start = None;
    let mut at = 0;
    while let Some(i) = module[at..].find("export") {
        let s = at + i;
        at = s + "export".len();
        if module[at..].trim_start().starts_with('{') {
            start = Some(s);
        }
    }
    let start = start?;
    let open = start + module[start..].find('{')?;
    let close = open + module[open..].find('}')?;
    let mut end = close + 1;
    if module[end..].trim_start().starts_with(';') {
        end = module.len() - module[end..].trim_start().len() + 1;
    }
    let names = module[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| match n.split_once(" as ") {
            Some((local, exported)) => (local.trim().to_string(), exported.trim().to_string()),
            None => (n.to_string(), n.to_string()),
        })
        .collect();
    Some((start..end, names))
}

/// A snippet module as an expression giving an object of its exports: `export class X` and
/// `export function X` lose their `export`, an `export {…}` list becomes the returned object.
fn snippet_expression(path: &str, module: &str) -> Result<String, HtmlReportError> {
    let mut body = module.to_string();
    let mut returned = Vec::new();
    if let Some((span, names)) = export_list(&body) {
        returned.extend(
            names
                .into_iter()
                .map(|(local, exported)| format!("{exported}:{local}")),
        );
        body.replace_range(span, "");
    }
    for keyword in ["class ", "function ", "async function ", "const ", "let "] {
        let marker = format!("export {keyword}");
        while let Some(i) = body.find(&marker) {
            let name_start = i + marker.len();
            let name: String = body[name_start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            if name.is_empty() {
                return Err(HtmlReportError::Glue(format!(
                    "{path}: an export without a name"
                )));
            }
            returned.push(name);
            body.replace_range(i..i + "export ".len(), "");
        }
    }
    if body.contains("export ") || body.contains("export{") || !imports(&body)?.is_empty() {
        return Err(HtmlReportError::Glue(format!(
            "{path}: an import or export this report cannot fold in"
        )));
    }
    Ok(format!(
        "(()=>{{{body}\nreturn{{{}}}}})()",
        returned.join(",")
    ))
}

/// The glue with its snippets folded in and, at its end, the wasm started from the page's data
/// block instead of fetched.
pub fn inline_script(app: &AppFiles<'_>) -> Result<String, HtmlReportError> {
    let glue = app.glue;
    let found = imports(glue)?;
    let (export_span, exports) = export_list(glue)
        .ok_or_else(|| HtmlReportError::Glue("no export list (is it wasm-bindgen's?)".into()))?;
    let init = exports
        .iter()
        .find(|(_, exported)| exported == "default")
        .map(|(local, _)| local.clone())
        .ok_or_else(|| HtmlReportError::Glue("no default export (the init function)".into()))?;
    let mut script = String::new();
    for (i, import) in found.iter().enumerate() {
        let path = import.from.trim_start_matches("./");
        let (_, module) = app
            .snippets
            .iter()
            .find(|(p, _)| p == path)
            .ok_or_else(|| HtmlReportError::Glue(format!("the snippet {path} is missing")))?;
        script.push_str(&format!(
            "const __flakSnippet{i}={};\n",
            snippet_expression(path, module)?
        ));
    }
    // The glue, its imports read from the folded snippets and its export list dropped, in
    // source order (the spans do not overlap: the export list comes after every import).
    let mut cursor = 0;
    for (i, import) in found.iter().enumerate() {
        script.push_str(&glue[cursor..import.span.start]);
        script.push_str(&format!(
            "const{{{}}}=__flakSnippet{i};",
            as_pattern(&import.names)
        ));
        cursor = import.span.end;
    }
    if export_span.start < cursor {
        return Err(HtmlReportError::Glue(
            "an export list before an import".into(),
        ));
    }
    script.push_str(&glue[cursor..export_span.start]);
    script.push_str(&glue[export_span.end..]);
    script.push_str(&format!(
        "\n{{const s=atob(document.getElementById(\"{WASM_ID}\").textContent),\
         b=new Uint8Array(s.length);for(let i=0;i<s.length;i++)b[i]=s.charCodeAt(i);\
         await {init}({{module_or_path:b}})}}\n"
    ));
    Ok(script)
}

// Natively: the hashes are sha2's there (the app has the browser's SubtleCrypto compute them).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const INDEX: &str = r#"<link rel="stylesheet" href="./style-1.css" integrity="x"/>
    <link rel="icon" href="./favicon-2.svg"/>
<script type="module" src="./loader-3.js"></script>
  <link rel="modulepreload" href="./flak-web-4.js" crossorigin="anonymous"><link rel="modulepreload" href="./snippets/flak-web-5/src/browser/exchange.js"><link rel="preload" href="./flak-web-4_bg.wasm" as="fetch" type="application/wasm"></head>"#;

    const GLUE: &str = r#"import{Exchanges as n}from"./snippets/w/exchange.js";import{Sums as e,Other}from"./snippets/w/sums.js";function t(){return new n(1)+new e+Other}async function U(m){return m}function N(){}export{N as initSync,U as default};"#;

    fn snippets() -> Vec<(String, String)> {
        vec![
            (
                "snippets/w/exchange.js".into(),
                "export class Exchanges{constructor(t){this.t=t}}".into(),
            ),
            (
                "snippets/w/sums.js".into(),
                "class Sums{}function o(){return 2}export{Sums,o as Other};".into(),
            ),
        ]
    }

    #[test]
    fn names_come_from_trunks_index() {
        let names = AppFileNames::of(INDEX).expect("names");
        assert_eq!(names.css, "style-1.css");
        assert_eq!(names.glue, "flak-web-4.js");
        assert_eq!(names.wasm, "flak-web-4_bg.wasm");
        assert_eq!(
            AppFileNames::of("<html></html>"),
            Err(HtmlReportError::Missing("stylesheet"))
        );
        assert_eq!(
            snippet_paths(GLUE).expect("paths"),
            vec!["snippets/w/exchange.js", "snippets/w/sums.js"]
        );
    }

    #[test]
    fn the_script_folds_in_the_snippets_and_starts_the_inline_wasm() {
        let snippets = snippets();
        let app = AppFiles {
            css: "body{color:red}",
            glue: GLUE,
            snippets: &snippets,
            wasm: b"\0asm",
        };
        let script = inline_script(&app).expect("script");
        assert!(!script.contains("import"), "{script}");
        assert!(!script.contains("export"), "{script}");
        assert!(script.contains("const __flakSnippet0=(()=>{class Exchanges{constructor(t){this.t=t}}\nreturn{Exchanges}})();"), "{script}");
        assert!(script.contains("return{Sums:Sums,Other:o}"), "{script}");
        assert!(
            script.contains("const{Exchanges:n}=__flakSnippet0;"),
            "{script}"
        );
        assert!(
            script.contains("const{Sums:e,Other}=__flakSnippet1;"),
            "{script}"
        );
        assert!(script.contains("await U({module_or_path:b})"), "{script}");
        let page = html(&app, "{\"a\":\"</script><!-- \u{2028}\"}").expect("page");
        assert!(
            page.contains(r#"{"a":"\u003c/script>\u003c!-- \u2028"}"#),
            "{page}"
        );
        assert_eq!(page.matches("</script>").count(), 3);
        assert!(page.contains("connect-src 'none'"));
        let script_hash = sha256_base64(script.as_bytes());
        assert!(page.contains(&format!("script-src 'sha256-{script_hash}'")));
        let style_hash = sha256_base64(app.css.as_bytes());
        assert!(page.contains(&format!("style-src 'sha256-{style_hash}'")));
        assert!(page.contains(">AGFzbQ==</script>"));
    }

    #[test]
    fn hashes_are_what_browsers_compute() {
        // echo -n 'body{color:red}' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            sha256_base64(b"body{color:red}"),
            "FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E="
        );
    }

    #[test]
    fn pieces_that_would_break_the_page_are_refused() {
        let snippets = snippets();
        let mut app = AppFiles {
            css: "a{}</style>",
            glue: GLUE,
            snippets: &snippets,
            wasm: b"",
        };
        app.css = "a{}</STYLE>";
        assert_eq!(
            html(&app, "{}"),
            Err(HtmlReportError::Unsafe("CSS", "</style"))
        );
        app.css = "";
        app.glue = "function U(){}";
        assert!(matches!(html(&app, "{}"), Err(HtmlReportError::Glue(_))));
        app.glue = r#"import{x}from"./snippets/none.js";export{U as default}"#;
        assert!(matches!(html(&app, "{}"), Err(HtmlReportError::Glue(m)) if m.contains("missing")));
        app.glue = r#"import*as x from"./y.js";export{U as default}"#;
        assert!(matches!(html(&app, "{}"), Err(HtmlReportError::Glue(_))));
    }
}
