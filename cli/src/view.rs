//! `doctown view FILE`: the website's docpack explorer on localhost, for a docpack on disk. It
//! serves the built site (`web/dist`, by `scripts/build-web.sh`) under `/view/` and the file's
//! bytes at `/api/view/docpack`; the explorer reads them as it reads a docpack from R2. With
//! `--source DIR` (the repository's checkout) it also serves excerpts at `/api/view/source`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// The site's Content-Security-Policy, as the Worker sends it (`web/public/_headers`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Where the built site is unless `--site` says: this source tree's `web/dist`.
pub fn default_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist")
}

/// Lines of an excerpt at most, as the Worker serves them.
const MAX_EXCERPT_LINES: usize = 200;

struct Served {
    docpack: Vec<u8>,
    site: PathBuf,
    /// The repository's files, for excerpts.
    source: Option<PathBuf>,
}

/// Serves `file` on `port` (0: any free one) until interrupted; prints the URL.
pub async fn run(file: &Path, site: &Path, source: Option<&Path>, port: u16) -> Result<()> {
    let docpack = crate::generate::open(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !site.join("index.html").is_file() {
        anyhow::bail!(
            "the website is not built at {}: run scripts/build-web.sh (or pass --site DIR)",
            site.display()
        );
    }
    let served = Arc::new(Served {
        docpack: bytes,
        site: site.to_owned(),
        source: source.map(Path::to_owned),
    });
    let app = Router::new()
        .route("/", get(|| async { Redirect::to("/view/") }))
        .route("/view", get(|| async { Redirect::to("/view/") }))
        .route("/view/", get(index))
        .route("/api/view/docpack", get(docpack_bytes))
        .route("/api/view/source", get(excerpt))
        .route("/assets/{*file}", get(asset))
        .with_state(served);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    println!(
        "docpack {} ({}) at http://{address}/view/ (Ctrl-C stops)",
        docpack.id,
        file.display()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// A response with the site's security headers.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn file(path: &Path, content_type: &'static str) -> Response {
    match std::fs::read(path) {
        Ok(bytes) => secured(([(header::CONTENT_TYPE, content_type)], bytes).into_response()),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn index(State(served): State<Arc<Served>>) -> Response {
    file(&served.site.join("index.html"), "text/html; charset=utf-8")
}

async fn asset(State(served): State<Arc<Served>>, UrlPath(name): UrlPath<String>) -> Response {
    // Only the site's own file names: no way out of its folder.
    if name.contains("..") || name.contains('/') || name.contains('\\') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let content_type = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    file(&served.site.join("assets").join(name), content_type)
}

async fn docpack_bytes(State(served): State<Arc<Served>>) -> Response {
    secured(
        (
            [(header::CONTENT_TYPE, "application/vnd.doctown.docpack")],
            served.docpack.clone(),
        )
            .into_response(),
    )
}

#[derive(serde::Deserialize)]
struct ExcerptQuery {
    path: String,
    start: usize,
    end: usize,
}

/// Lines of a file of `--source`, as the Worker answers `/api/docpacks/:id/source`.
async fn excerpt(
    State(served): State<Arc<Served>>,
    axum::extract::Query(query): axum::extract::Query<ExcerptQuery>,
) -> Response {
    let refuse = |status: StatusCode, message: &str| {
        let body = serde_json::json!({"error": {"code": "source_unavailable", "message": message}});
        (status, axum::Json(body)).into_response()
    };
    let Some(root) = &served.source else {
        return refuse(
            StatusCode::NOT_FOUND,
            "start doctown view with --source DIR (the repository) to see excerpts",
        );
    };
    if !doctown_core::github::valid_path(&query.path) {
        return refuse(StatusCode::BAD_REQUEST, "not a path inside the repository");
    }
    match std::fs::read(root.join(&query.path)) {
        Ok(bytes) => axum::Json(serde_json::json!({
            "path": query.path,
            "start": query.start,
            "text": doctown_core::github::excerpt(
                &String::from_utf8_lossy(&bytes),
                query.start,
                query.end,
                MAX_EXCERPT_LINES
            ),
        }))
        .into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, &format!("{}: {e}", query.path)),
    }
}
