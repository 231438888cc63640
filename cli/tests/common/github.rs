//! The GitHub stand-in. GitHub cannot be reached from the test machines, so a local server
//! stands in for it. It speaks the part of GitHub's documented REST API that Doctown uses:
//! `GET /repos/{owner}/{repo}/commits/{ref}` with `Accept: application/vnd.github.sha` answers
//! the commit SHA as text, and `GET /repos/{owner}/{repo}/tarball/{ref}` answers `302` to a
//! codeload URL serving the tarball that `git archive` makes (a pax header with the commit, one
//! `owner-repo-sha/` directory), as GitHub does; `GET /repos/{owner}/{repo}/contents/{path}?ref=`
//! with `Accept: application/vnd.github.raw` answers the file's bytes. Private repositories
//! answer 404 without a valid token, as GitHub does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub const TOKEN: &str = "ghp_testtoken0123456789";

pub fn fixture(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(lang)
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A git repository holding a copy of a fixture, tagged `v1`, with one more commit after it.
pub fn fixture_repo(lang: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(lang), dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "fixture"]);
    git(dir.path(), &["tag", "v1"]);
    let sha = git(dir.path(), &["rev-parse", "HEAD"]);
    std::fs::write(
        dir.path().join("added_after_v1.py"),
        "def later():\n    pass\n",
    )
    .unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "later"]);
    (dir, sha)
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `GET /repos/{owner}/{repo}/contents/{path}?ref=REF` with the raw media type: the file's
/// bytes at that ref, as GitHub serves them (404 with a JSON message when there is none).
async fn contents(
    State(gh): State<Arc<GitHub>>,
    UrlPath((owner, repo, path)): UrlPath<(String, String, String)>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(status) = authorize(&owner, &repo, &headers) {
        return status.into_response();
    }
    if headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
        != Some("application/vnd.github.raw")
    {
        return (
            StatusCode::BAD_REQUEST,
            "this stand-in serves only the raw media type",
        )
            .into_response();
    }
    let git_ref = query.get("ref").map_or("HEAD", String::as_str);
    let shown = Command::new("git")
        .current_dir(&gh.repo)
        .args(["show", &format!("{git_ref}:{path}")])
        .output()
        .unwrap();
    if !shown.status.success() {
        let body = r#"{"message":"Not Found","status":"404"}"#;
        return (StatusCode::NOT_FOUND, body).into_response();
    }
    shown.stdout.into_response()
}

/// The GitHub stand-in: one public and one private repository, both the fixture repo.
struct GitHub {
    repo: PathBuf,
    /// Archive downloads asked for so far.
    downloads: Arc<AtomicUsize>,
    /// How many of the first downloads never answer (a stuck connection).
    hang_downloads: usize,
}

async fn commit(
    State(gh): State<Arc<GitHub>>,
    UrlPath((owner, repo, git_ref)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(status) = authorize(&owner, &repo, &headers) {
        return status.into_response();
    }
    if headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
        != Some("application/vnd.github.sha")
    {
        return (
            StatusCode::BAD_REQUEST,
            "this stand-in serves only the sha media type",
        )
            .into_response();
    }
    let resolved = Command::new("git")
        .current_dir(&gh.repo)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{git_ref}^{{commit}}"),
        ])
        .output()
        .unwrap();
    if !resolved.status.success() {
        let body = format!(r#"{{"message":"No commit found for SHA: {git_ref}"}}"#);
        return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
    }
    String::from_utf8(resolved.stdout)
        .unwrap()
        .trim()
        .to_owned()
        .into_response()
}

async fn tarball(
    UrlPath((owner, repo, git_ref)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(status) = authorize(&owner, &repo, &headers) {
        return status.into_response();
    }
    let location = format!("/codeload/{owner}/{repo}/legacy.tar.gz/{git_ref}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn codeload(
    State(gh): State<Arc<GitHub>>,
    UrlPath((owner, repo, sha)): UrlPath<(String, String, String)>,
) -> Response {
    if gh.downloads.fetch_add(1, Ordering::SeqCst) < gh.hang_downloads {
        std::future::pending::<()>().await;
    }
    let prefix = format!("--prefix={owner}-{repo}-{}/", &sha[..7.min(sha.len())]);
    let out = Command::new("git")
        .current_dir(&gh.repo)
        .args(["archive", "--format=tar.gz", &prefix, &sha])
        .output()
        .unwrap();
    if !out.status.success() {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "application/x-gzip")], out.stdout).into_response()
}

fn authorize(owner: &str, repo: &str, headers: &HeaderMap) -> Result<(), StatusCode> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match (owner, repo) {
        ("acme", "widgets") => Ok(()),
        ("acme", "secret") if auth == Some(&format!("Bearer {TOKEN}")) => Ok(()),
        // GitHub hides private repositories from unauthenticated callers behind a 404.
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// Starts the stand-in on a free port on a thread of its own; returns its base URL.
pub fn serve_github(repo: PathBuf) -> String {
    serve_github_hanging(repo, 0).0
}

/// The stand-in, with its first `hang_downloads` archive downloads never answered; returns its
/// base URL and the count of downloads asked for.
pub fn serve_github_hanging(repo: PathBuf, hang_downloads: usize) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let downloads = Arc::new(AtomicUsize::new(0));
    let state = Arc::new(GitHub {
        repo,
        downloads: downloads.clone(),
        hang_downloads,
    });
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route("/repos/{owner}/{repo}/commits/{*ref}", get(commit))
                .route("/repos/{owner}/{repo}/tarball/{*ref}", get(tarball))
                .route("/repos/{owner}/{repo}/contents/{*path}", get(contents))
                .route(
                    "/codeload/{owner}/{repo}/legacy.tar.gz/{sha}",
                    get(codeload),
                )
                .with_state(state);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, downloads)
}
