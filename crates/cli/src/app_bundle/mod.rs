//! The browser app embedded in the binary (by build.rs, from dist/): the files `flak target
//! --app` serves without a folder, and the pieces `flak report` inlines into one HTML file.
//! `--ui` serves the same files (`served`).

include!(concat!(env!("OUT_DIR"), "/app_files.rs"));

use flak_core::html_report::{self, AppFileNames, AppFiles};

/// The app's files, or the line saying this binary has none.
pub fn files() -> anyhow::Result<&'static [(&'static str, &'static [u8])]> {
    FILES.ok_or_else(|| {
        anyhow::anyhow!(
            "this flak was built without the browser app (dist/ was missing): run \
             scripts/build-app.sh, then build flak again, or give --app DIR"
        )
    })
}

/// One embedded file by its path under dist/ (`index.html`, `snippets/…/exchange.js`).
pub fn file(path: &str) -> Option<&'static [u8]> {
    FILES?.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// The embedded file a URL path names (`/` is index.html) with its content type: what `--ui`
/// serves.
pub fn served(url_path: &str) -> Option<(&'static [u8], &'static str)> {
    let rel = url_path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    Some((file(rel)?, content_type(rel)))
}

/// Headers every served app file carries (`flak target --app`, `--ui`): cross-origin isolated,
/// so the page's timers are precise (5 µs, not 100 µs), and never cached stale.
pub fn isolate(h: &mut hyper::HeaderMap) {
    use hyper::header::{CACHE_CONTROL, HeaderValue};
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-embedder-policy",
        HeaderValue::from_static("require-corp"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// The content type of an app file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn text(path: &str) -> anyhow::Result<&'static str> {
    let bytes = file(path).ok_or_else(|| anyhow::anyhow!("the embedded app has no {path}"))?;
    std::str::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the embedded app's {path} is not UTF-8"))
}

/// The shareable report: the embedded app with `results` inline (see core's `html_report`).
pub fn report_html(results: &str) -> anyhow::Result<String> {
    files()?;
    let names = AppFileNames::of(text("index.html")?)?;
    let glue = text(&names.glue)?;
    let snippets = html_report::snippet_paths(glue)?
        .into_iter()
        .map(|path| Ok((path.clone(), text(&path)?.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let wasm = file(&names.wasm)
        .ok_or_else(|| anyhow::anyhow!("the embedded app has no {}", names.wasm))?;
    let app = AppFiles {
        css: text(&names.css)?,
        glue,
        snippets: &snippets,
        wasm,
    };
    Ok(html_report::html(&app, results)?)
}
