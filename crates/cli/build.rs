//! Embeds the built browser app (dist/ at the workspace root, made by scripts/build-app.sh) in
//! the binary, so `flak target --app` and `flak report` need no other file. A binary built
//! without dist/ carries no app and says so where it would need it (src/app_bundle/).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("../../dist");
    // Cargo scans a directory for changes below it: a rebuilt app is embedded again.
    println!("cargo::rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
        files.sort();
    }
    let mut code = String::from(
        "/// The app's files (path under dist/, bytes), or `None` when dist/ was missing.\n",
    );
    if files.is_empty() {
        code.push_str("pub(crate) static FILES: Option<&[(&str, &[u8])]> = None;\n");
    } else {
        code.push_str("pub(crate) static FILES: Option<&[(&str, &[u8])]> = Some(&[\n");
        for (name, path) in &files {
            let _ = writeln!(code, "    ({name:?}, include_bytes!({path:?})),");
        }
        code.push_str("]);\n");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("app_files.rs"), code).expect("OUT_DIR is writable");
}

/// Every file under `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Trunk stages a build in dist/.stage: never half of one.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let abs = path.canonicalize().unwrap_or(path);
            files.push((rel.join("/"), abs.display().to_string()));
        }
    }
}
