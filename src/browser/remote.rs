//! Files by URL, through gloo-net: a results file named in the address (`?results=URL`), read
//! with a size cap counted as the bytes arrive, and the app's own files, which "Export HTML"
//! puts into one page; and the text of an element a report page carries inline.

use gloo_net::http::Request;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use super::js_message;

/// The text of `url`, refused once it is over `cap` bytes: by its Content-Length before any
/// byte is read, else by counting the body as it arrives (a server may send none, or lie).
pub async fn text_capped(url: &str, cap: u64) -> Result<String, String> {
    let response = Request::get(url).send().await.map_err(|e| {
        format!(
            "could not load it: the server does not allow this page to read it (CORS), or \
             could not be reached ({e})"
        )
    })?;
    if !response.ok() {
        return Err(format!(
            "the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let declared = response
        .headers()
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > cap) {
        return Err(format!(
            "it is {n} bytes, over the {cap} bytes a results file may be"
        ));
    }
    let Some(body) = response.body() else {
        return Ok(String::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| "the browser gave no reader for the body".to_string())?;
    let mut bytes = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("the download broke off ({})", js_message(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).is_ok_and(|d| d.is_truthy());
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into())
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
            .ok_or_else(|| "the body is not bytes".to_string())?;
        if bytes.len() as u64 + u64::from(value.length()) > cap {
            let _ = reader.cancel();
            return Err(format!(
                "it is over the {cap} bytes a results file may be (counted as it arrived)"
            ));
        }
        let at = bytes.len();
        bytes.resize(at + value.length() as usize, 0);
        value.copy_to(&mut bytes[at..]);
    }
    String::from_utf8(bytes).map_err(|_| "it is not text (UTF-8)".to_string())
}

/// A same-origin file of the app, as text (CSS, JS) or bytes (wasm).
pub async fn own_file(path: &str) -> Result<Vec<u8>, String> {
    let response = Request::get(path)
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    if !response.ok() {
        return Err(format!("{path}: the server answered {}", response.status()));
    }
    response.binary().await.map_err(|e| format!("{path}: {e}"))
}

/// The text of the page's element with `id`, if it has one.
pub fn element_text(id: &str) -> Option<String> {
    super::window()
        .document()?
        .get_element_by_id(id)?
        .text_content()
}

/// The value of `name` in a query string (`?results=…`), decoded, if it is there and not empty.
pub fn query_param(search: &str, name: &str) -> Option<String> {
    web_sys::UrlSearchParams::new_with_str(search)
        .ok()?
        .get(name)
        .filter(|v| !v.trim().is_empty())
}

/// SHA-256 of `bytes` as base64, by the browser's SubtleCrypto (a secure context: https, or
/// localhost).
pub async fn sha256_base64(bytes: &[u8]) -> Result<String, String> {
    let window = super::window();
    let subtle = window
        .crypto()
        .map_err(|_| "the browser has no crypto here (https or localhost needed)".to_string())?
        .subtle();
    let digest = subtle
        .digest_with_str_and_u8_array("SHA-256", bytes)
        .map_err(|e| js_message(&e))?;
    let digest = JsFuture::from(digest).await.map_err(|e| js_message(&e))?;
    let binary: String = js_sys::Uint8Array::new(&digest)
        .to_vec()
        .into_iter()
        .map(char::from)
        .collect();
    window.btoa(&binary).map_err(|e| js_message(&e))
}
