//! Files in and out: downloads, reading dropped files, the clipboard, localStorage, and
//! turning a chart's SVG into a PNG.

use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use super::js_message;

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_message(&e))?;
    download_blob(name, &blob)
}

fn download_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|e| js_message(&e))?;
    let document = super::window().document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_message(&e))?
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

/// Reads a picked file's bytes (a data file need not be UTF-8 until its parser says so).
pub async fn read_bytes(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| "the browser could not read the file".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Copies text to the clipboard (best effort: the browser may refuse without a user gesture).
pub fn copy(text: &str) {
    let clipboard = super::window().navigator().clipboard();
    let _ = clipboard.write_text(text);
}

fn storage() -> Option<web_sys::Storage> {
    super::window().local_storage().ok().flatten()
}

/// The text kept under `key` in localStorage, if storage is on and holds it.
pub fn stored(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Keeps `text` under `key` in localStorage (best effort: storage may be off or full).
pub fn store(key: &str, text: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, text);
    }
}

/// An SVG element of the page as a standalone document, with the size its `viewBox` gives.
pub struct SvgDocument {
    pub markup: String,
    pub width: f64,
    pub height: f64,
}

/// The SVG of the element with `id`, if the page shows it.
pub fn svg_document(id: &str) -> Option<SvgDocument> {
    let document = super::window().document()?;
    let svg = document.get_element_by_id(id)?;
    let mut markup = svg.outer_html();
    if !markup.contains("xmlns=") {
        markup = markup.replacen("<svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"", 1);
    }
    // Charts differ in height (one bar per status or member): the PNG keeps each one's shape.
    let (width, height) = svg
        .get_attribute("viewBox")
        .and_then(|v| view_box_size(&v))
        .unwrap_or((640.0, 240.0));
    Some(SvgDocument {
        markup,
        width,
        height,
    })
}

/// Width and height of a `viewBox="x y width height"` in whole units, as the charts draw
/// theirs: `str::parse::<f64>` would bring ~10 KB of tables into the bundle for nothing.
fn view_box_size(view_box: &str) -> Option<(f64, f64)> {
    let mut numbers = view_box
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .skip(2)
        .map(|s| s.parse::<u32>().ok().filter(|v| *v > 0).map(f64::from));
    Some((numbers.next()??, numbers.next()??))
}

/// Draws an SVG document into a PNG download, at twice its size for sharpness.
pub async fn download_png(name: &str, svg: &SvgDocument) -> Result<(), String> {
    let document = super::window().document().ok_or("no document")?;
    let image = web_sys::HtmlImageElement::new().map_err(|e| js_message(&e))?;
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        image.set_onload(Some(&resolve));
        image.set_onerror(Some(&reject));
    });
    let encoded = js_sys::encode_uri_component(&svg.markup);
    image.set_src(&format!("data:image/svg+xml;charset=utf-8,{encoded}"));
    JsFuture::from(loaded)
        .await
        .map_err(|_| "the browser could not draw the chart".to_string())?;
    let (width, height) = (svg.width * 2.0, svg.height * 2.0);
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    canvas.set_width(width.ceil() as u32);
    canvas.set_height(height.ceil() as u32);
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        .ok_or("the browser has no 2D canvas")?;
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, width, height);
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&image, 0.0, 0.0, width, height)
        .map_err(|e| js_message(&e))?;
    let encoded = js_sys::Promise::new(&mut |resolve, reject| {
        if let Err(e) = canvas.to_blob(&resolve) {
            let _ = reject.call1(&wasm_bindgen::JsValue::NULL, &e);
        }
    });
    let blob = JsFuture::from(encoded)
        .await
        .map_err(|e| js_message(&e))?
        // toBlob hands over null when it cannot encode the canvas.
        .dyn_into::<web_sys::Blob>()
        .map_err(|_| "the browser could not encode the PNG".to_string())?;
    download_blob(name, &blob)
}

#[cfg(test)]
mod tests {
    use super::view_box_size;

    #[test]
    fn view_box_gives_width_and_height() {
        assert_eq!(view_box_size("0 0 640 138"), Some((640.0, 138.0)));
        assert_eq!(view_box_size("0,0,640,240"), Some((640.0, 240.0)));
        assert_eq!(view_box_size("0 0 640"), None);
        assert_eq!(view_box_size("0 0 0 240"), None);
        assert_eq!(view_box_size("0 0 640.5 240"), None);
    }
}
