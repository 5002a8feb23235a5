//! Read-only views built as markup text and placed as one node: many times smaller in the
//! bundle than the same elements written with `html!` (each element and attribute there is code
//! of its own). Used by the charts, the summary, the honesty panel and the compare table; every
//! value that comes from outside (file names, URLs, messages) goes through [`esc`].

use yew::Html;

/// Markup shown as it is.
pub fn raw(markup: String) -> Html {
    Html::from_html_unchecked(markup.into())
}

/// `text` escaped for HTML and SVG markup, in text and in double-quoted attributes.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            super::esc(r#"<img src=x onerror="a&b">"#),
            "&lt;img src=x onerror=&quot;a&amp;b&quot;&gt;"
        );
    }
}
