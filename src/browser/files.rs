//! Files in and out: downloads, reading dropped files, the clipboard, localStorage, and
//! turning a chart's SVG into a PNG.

use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::state::Recent;

const RECENT_KEY: &str = "flak.recent";

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    download_blob(name, &blob)
}

fn download_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|e| format!("{e:?}"))?;
    let document = super::window().document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Reads a picked or dropped file as text.
pub async fn read_text(file: &web_sys::File) -> Result<String, String> {
    JsFuture::from(file.text())
        .await
        .map_err(|_| "the browser could not read the file".to_string())?
        .as_string()
        .ok_or_else(|| "the file is not text".to_string())
}

/// Copies text to the clipboard (best effort: the browser may refuse without a user gesture).
pub fn copy(text: &str) {
    let clipboard = super::window().navigator().clipboard();
    let _ = clipboard.write_text(text);
}

fn storage() -> Option<web_sys::Storage> {
    super::window().local_storage().ok().flatten()
}

pub fn load_recent() -> Vec<Recent> {
    storage()
        .and_then(|s| s.get_item(RECENT_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

pub fn save_recent(list: &[Recent]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(list)) {
        let _ = s.set_item(RECENT_KEY, &json);
    }
}

/// The SVG of the element with `id`, as a standalone document.
pub fn svg_markup(id: &str) -> Option<String> {
    let document = super::window().document()?;
    let svg = document.get_element_by_id(id)?;
    let mut markup = svg.outer_html();
    if !markup.contains("xmlns=") {
        markup = markup.replacen("<svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"", 1);
    }
    Some(markup)
}

/// Renders an SVG document to a PNG download, at twice its size for sharpness.
pub fn download_png(name: String, svg: &str, width: u32, height: u32) -> Result<(), String> {
    let document = super::window().document().ok_or("no document")?;
    let image = web_sys::HtmlImageElement::new().map_err(|e| format!("{e:?}"))?;
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    canvas.set_width(width * 2);
    canvas.set_height(height * 2);
    let img = image.clone();
    let onload = wasm_bindgen::closure::Closure::once_into_js(move || {
        let Some(ctx) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        ctx.set_fill_style_str("#ffffff");
        ctx.fill_rect(0.0, 0.0, f64::from(width * 2), f64::from(height * 2));
        let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(
            &img,
            0.0,
            0.0,
            f64::from(width * 2),
            f64::from(height * 2),
        );
        let callback = wasm_bindgen::closure::Closure::once_into_js(move |blob: JsValue| {
            if let Ok(blob) = blob.dyn_into::<web_sys::Blob>() {
                let _ = download_blob(&name, &blob);
            }
        });
        let _ = canvas.to_blob(callback.unchecked_ref());
    });
    image.set_onload(Some(onload.unchecked_ref()));
    let encoded = js_sys::encode_uri_component(svg);
    image.set_src(&format!("data:image/svg+xml;charset=utf-8,{encoded}"));
    Ok(())
}
