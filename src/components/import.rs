//! Loading results files (from the CLI's `-o` or earlier browser runs): drop them or pick them.

use wasm_bindgen::JsCast;
use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

pub struct ImportProps {
    pub on_files: Callback<Vec<web_sys::File>>,
    pub error: Option<String>,
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The drop zone's highlight while files are dragged over it, set on the element itself: with
/// no state hook this view is a plain function, which costs the bundle less than a component.
fn highlight(e: &DragEvent, on: bool) {
    if let Some(zone) = e
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    {
        let _ = zone.set_attribute("class", if on { "import over" } else { "import" });
    }
}

pub fn import(props: &ImportProps) -> Html {
    let onchange = {
        let cb = props.on_files.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                cb.emit(files_of(input.files()));
                input.set_value("");
            }
        })
    };
    let ondragover = Callback::from(|e: DragEvent| {
        e.prevent_default();
        highlight(&e, true);
    });
    let ondragleave = Callback::from(|e: DragEvent| highlight(&e, false));
    let ondrop = {
        let cb = props.on_files.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            highlight(&e, false);
            cb.emit(files_of(e.data_transfer().and_then(|d| d.files())));
        })
    };
    html! {
        <section class="import" {ondragover} {ondragleave} {ondrop}
                 aria-label="Import results">
            <label for="import-files">{"Open results files (JSON from "}<code>{"flak -o"}</code>{" or an export here): several are merged exactly. A capacity report ("}<code>{"flak capacity -o"}</code>{") opens on its own as a chart."}</label>
            <input id="import-files" data-testid="import" type="file" accept=".json,application/json" multiple=true {onchange} />
            if let Some(error) = &props.error {
                <p class="error" role="alert" data-testid="import-error">{error.clone()}</p>
            }
        </section>
    }
}
