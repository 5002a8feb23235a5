//! Results from elsewhere than a picked file: the address's `?results=URL` (a CI artifact link
//! as a shareable chart) and a report page's inline results: their names, and the size a
//! fetched file may have.

/// The most a results file loaded by URL may weigh: a day-long run's per-second series is
/// tens of MB; more is not a results file, and would hold the tab's memory hostage.
pub const MAX_RESULTS_BYTES: u64 = 100_000_000;

/// The name an inline report's results open under.
pub const INLINE_NAME: &str = "results.json";

/// What a file loaded from `url` is called on the page: the last part of its path.
pub fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() && !path.ends_with("//") => name.to_string(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_file() {
        assert_eq!(file_name("http://ci.test/a/run.json?token=1"), "run.json");
        assert_eq!(file_name("http://ci.test/"), "http://ci.test/");
    }
}
