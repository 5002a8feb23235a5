//! The browser app's static files, served by `flak target --app [DIR]` with COOP/COEP so the
//! page is cross-origin isolated (5 µs timers instead of 100 µs): the app built into the binary,
//! or plain names under DIR.

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};

use super::routes::{Reply, reply, text};

/// Where the app's files come from.
pub(super) enum AppRoot {
    /// The app built into this binary (`crate::app_bundle`).
    Embedded,
    /// A folder, such as dist/.
    Dir(PathBuf),
}

pub(super) async fn serve_app_file(
    req: Request<Incoming>,
    root: Arc<AppRoot>,
) -> Result<Reply, Infallible> {
    let mut r = match app_file(&root, req.uri().path()).await {
        Some((bytes, content_type)) => reply(StatusCode::OK, bytes, content_type),
        None => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    let h = r.headers_mut();
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    crate::app_bundle::isolate(h);
    Ok(r)
}

async fn app_file(root: &AppRoot, url_path: &str) -> Option<(Vec<u8>, &'static str)> {
    let rel = url_path.trim_start_matches('/');
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_string()
    };
    let rel = Path::new(&rel);
    // Only plain names: no `..`, no absolute paths, so nothing outside the folder is served.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let (path, bytes) = match root {
        AppRoot::Dir(dir) => {
            let path = dir.join(rel);
            let bytes = tokio::fs::read(&path).await.ok()?;
            (path, bytes)
        }
        AppRoot::Embedded => {
            let bytes = crate::app_bundle::file(&rel.to_str()?.replace('\\', "/"))?;
            (rel.to_path_buf(), bytes.to_vec())
        }
    };
    let content_type = crate::app_bundle::content_type(&path.to_string_lossy());
    Some((bytes, content_type))
}
