//! Loading results files (from the CLI's `-o` or earlier browser runs): drop them or pick them.

use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ImportProps {
    pub on_files: Callback<Vec<web_sys::File>>,
    pub error: Option<String>,
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

#[function_component]
pub fn Import(props: &ImportProps) -> Html {
    let over = use_state(|| false);
    let onchange = {
        let cb = props.on_files.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                cb.emit(files_of(input.files()));
                input.set_value("");
            }
        })
    };
    let ondragover = {
        let over = over.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(true);
        })
    };
    let ondragleave = {
        let over = over.clone();
        Callback::from(move |_: DragEvent| over.set(false))
    };
    let ondrop = {
        let (cb, over) = (props.on_files.clone(), over.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(false);
            cb.emit(files_of(e.data_transfer().and_then(|d| d.files())));
        })
    };
    html! {
        <section class={classes!("import", (*over).then_some("over"))} {ondragover} {ondragleave} {ondrop}
                 aria-label="Import results">
            <label for="import-files">{"Open results files (JSON from "}<code>{"flak -o"}</code>{" or an export here): several are merged exactly. A capacity report ("}<code>{"flak capacity -o"}</code>{") opens on its own as a chart."}</label>
            <input id="import-files" data-testid="import" type="file" accept=".json,application/json" multiple=true {onchange} />
            if let Some(error) = &props.error {
                <p class="error" role="alert" data-testid="import-error">{error.clone()}</p>
            }
        </section>
    }
}
