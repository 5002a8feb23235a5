//! URL templates: `UrlTemplate::parse`, then `expand`. Parsing any text must return, never
//! panic; a parsed template must expand without panicking, the same way for the same seed, and a
//! template without fields must expand to its own text.
#![no_main]

use flak_core::UrlTemplate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = UrlTemplate::parse(text) else {
        return;
    };
    assert_eq!(template.as_str(), text);
    let seed = data.len() as u64;
    let (mut a, mut b) = (String::new(), String::new());
    let (mut rng_a, mut rng_b) = (
        fastrand::Rng::with_seed(seed),
        fastrand::Rng::with_seed(seed),
    );
    for _ in 0..8 {
        template.expand(&mut rng_a, &mut a);
        template.expand(&mut rng_b, &mut b);
        assert_eq!(a, b, "the same seed expanded {text:?} two ways");
        if template.is_fixed() {
            assert_eq!(a, text, "a template without fields changed when expanded");
        }
    }
});
