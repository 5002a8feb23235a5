//! Sharing results, wired: a report page (`flak report`, "Export HTML") opening the results it
//! carries inline, `?results=URL` loading a results file by URL, and "Export HTML" assembling
//! the report from the app's own files with core's `html_report`, as `flak report` does.

use flak_core::html_report::{self, AppFileNames, AppFiles, Hashes, RESULTS_ID};

use crate::browser::{files, remote};
use crate::model::report::{self, MAX_RESULTS_BYTES};

/// Whether this page is a report: it carries its results inline and makes no request.
pub fn is_report_page() -> bool {
    remote::element_text(RESULTS_ID).is_some()
}

/// A report page's inline results (name, text), to open as an opened file is (same checks).
pub fn inline_results() -> Option<(String, String)> {
    let text = remote::element_text(RESULTS_ID)?;
    Some((report::INLINE_NAME.to_string(), text))
}

/// The results file `?results=URL` names, if the address has one.
pub fn results_url(search: &str) -> Option<String> {
    remote::query_param(search, "results")
}

/// The file at `url` (name, text), loaded (at most [`MAX_RESULTS_BYTES`]) to open as an opened
/// file is; an error is one line naming the URL.
pub async fn fetch_results(url: &str) -> Result<(String, String), String> {
    let text = remote::text_capped(url, MAX_RESULTS_BYTES)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok((report::file_name(url), text))
}

/// "Export HTML": the results file's JSON put into the app's own files (fetched from where the
/// page came from) as one report page, and downloaded.
pub async fn export_html(json: &str, stamp: &str) -> Result<(), String> {
    if is_report_page() {
        return Err("this page is a report already: share its file".into());
    }
    let text = |bytes: Vec<u8>, name: &str| {
        String::from_utf8(bytes).map_err(|_| format!("the app's {name} is not UTF-8"))
    };
    let names = AppFileNames::of(&text(remote::own_file("index.html").await?, "index.html")?)
        .map_err(|e| e.to_string())?;
    let glue = text(remote::own_file(&names.glue).await?, &names.glue)?;
    let mut snippets = Vec::new();
    for path in html_report::snippet_paths(&glue).map_err(|e| e.to_string())? {
        let module = text(remote::own_file(&path).await?, &path)?;
        snippets.push((path, module));
    }
    let css = text(remote::own_file(&names.css).await?, &names.css)?;
    let wasm = remote::own_file(&names.wasm).await?;
    let app = AppFiles {
        css: &css,
        glue: &glue,
        snippets: &snippets,
        wasm: &wasm,
    };
    let script = html_report::inline_script(&app).map_err(|e| e.to_string())?;
    let hashes = Hashes {
        script: remote::sha256_base64(script.as_bytes()).await?,
        style: remote::sha256_base64(css.as_bytes()).await?,
    };
    let page = html_report::page(&app, &script, &hashes, json).map_err(|e| e.to_string())?;
    files::download(&format!("flak-{stamp}.html"), "text/html", page.as_bytes())
}
