//! Two runs compared, as `flak compare` does: pick a base and a new results file, see both on
//! the percentile plot and core's comparison table (each row: base, new, change, beyond noise),
//! with its verdict and the method named.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use flak_core::Stats;
use flak_core::compare::{Comparison, fmt_value};
use flak_core::report::Summary;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::files;
use crate::components::charts::{COMPARE_ID, percentile_chart};
use crate::components::markup::{esc, raw};
use crate::snapshot::PercentileRun;

/// What the view shows once both files are loaded.
#[derive(Clone, PartialEq)]
struct Compared {
    runs: Vec<PercentileRun>,
    comparison: Comparison,
}

impl Compared {
    fn of((base_name, base): &(String, Stats), (new_name, new): &(String, Stats)) -> Self {
        let run = |name: String, class, stats: &Stats| {
            PercentileRun::of(&name, class, stats, &Summary::of(stats).percentiles)
        };
        Self {
            runs: vec![
                run(format!("base ({base_name})"), "c1", base),
                run(format!("new ({new_name})"), "c2", new),
            ],
            comparison: Comparison::of(base, new),
        }
    }
}

type Loaded = Rc<RefCell<[Option<(String, Stats)>; 2]>>;

/// The compare section: two file pickers, then the overlay and the table.
#[function_component]
pub fn Compare() -> Html {
    let loaded: Loaded = use_mut_ref(Default::default);
    let shown = use_state(|| None::<Rc<Compared>>);
    let error = use_state(|| None::<String>);
    let pick = |slot: usize| {
        let (loaded, shown, error) = (loaded.clone(), shown.clone(), error.clone());
        Callback::from(move |e: Event| {
            let Some(file) = e
                .target_dyn_into::<HtmlInputElement>()
                .and_then(|i| i.files())
                .and_then(|l| l.get(0))
            else {
                return;
            };
            let (loaded, shown, error) = (loaded.clone(), shown.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let name = file.name();
                let read = match files::read_text(&file).await {
                    Ok(text) => crate::app::load(&text).await,
                    Err(e) => Err(e),
                };
                match read {
                    Ok((stats, _)) => {
                        loaded.borrow_mut()[slot] = Some((name, stats));
                        error.set(None);
                        if let [Some(base), Some(new)] = &*loaded.borrow() {
                            shown.set(Some(Rc::new(Compared::of(base, new))));
                        }
                    }
                    Err(e) => {
                        loaded.borrow_mut()[slot] = None;
                        shown.set(None);
                        error.set(Some(format!("{name}: {e}")));
                    }
                }
            });
        })
    };
    html! {
        <section class="compare" aria-label="Compare two runs">
            <h2>{"Compare two runs"}</h2>
            <div class="row">
                <label class="field">{"Base results file"}
                    <input data-testid="compare-base" type="file" accept=".json,application/json" onchange={pick(0)} />
                </label>
                <label class="field">{"New results file"}
                    <input data-testid="compare-new" type="file" accept=".json,application/json" onchange={pick(1)} />
                </label>
            </div>
            if let Some(e) = &*error {
                <p class="error" role="alert" data-testid="compare-error">{e.clone()}</p>
            }
            if let Some(c) = &*shown {
                { view(c) }
            }
        </section>
    }
}

/// The overlay, the table, the verdict and the method.
fn view(c: &Compared) -> Html {
    let mut table = String::from(
        r#"<table class="compare-table" data-testid="compare-table"><caption>Base against new, as <code>flak compare</code> prints it</caption><thead><tr><th>metric</th><th>base</th><th>new</th><th>change</th><th>beyond noise</th></tr></thead><tbody>"#,
    );
    for r in &c.comparison.rows {
        let change = r
            .change_pct
            .map_or("–".to_string(), |c| format!("{c:+.1}%"));
        let (flag, class) = match r.significant {
            Some(true) => ("yes", "changed"),
            Some(false) => ("no", ""),
            None => ("–", ""),
        };
        let _ = write!(
            table,
            r#"<tr class="{class}" data-metric="{0}" data-significant="{flag}"><th scope="row">{0}</th><td>{1}</td><td>{2}</td><td>{change}</td><td>{flag}</td></tr>"#,
            esc(&r.metric),
            fmt_value(r.base),
            fmt_value(r.new)
        );
    }
    let _ = write!(
        table,
        r#"</tbody></table><p class="verdict" data-testid="compare-verdict">{}</p><p class="note" data-testid="compare-method">Method: {}.</p>"#,
        verdict(&c.comparison),
        esc(c.comparison.method)
    );
    html! {
        <>
            { percentile_chart(COMPARE_ID, "Latency by percentile: base and new", &c.runs) }
            { raw(table) }
        </>
    }
}

/// [`Comparison::verdict`]'s words, with the p-value written without the exponent formatting
/// that would add its own code to the bundle.
fn verdict(c: &Comparison) -> String {
    let Some(t) = c.latency_test else {
        return "latency: one of the runs has no responses to compare".into();
    };
    let said = if c.latency_changed {
        "latency changed beyond noise"
    } else {
        "latency: no change beyond noise"
    };
    format!(
        "{said} (KS D = {:.3}, p = {}, n = {} and {})",
        t.d,
        scientific(t.p_value),
        t.n_base,
        t.n_new
    )
}

/// `v` as `{:.2e}` writes it (`2.57e-6`).
fn scientific(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v:.2}e0");
    }
    let mut e = v.abs().log10().floor() as i32;
    let mut m = v / 10f64.powi(e);
    if (m.abs() * 100.0).round() >= 1000.0 {
        m /= 10.0;
        e += 1;
    }
    format!("{m:.2}e{e}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn p_values_are_written_as_the_cli_writes_them() {
        for v in [2.57e-6, 1.0, 0.0999999, 3.3e-120, 0.5, 9.996e-3] {
            assert_eq!(super::scientific(v), format!("{v:.2e}"), "{v}");
        }
    }
}
