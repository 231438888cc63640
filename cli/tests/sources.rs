//! `doctown ingest` on every kind of source, through the real binary.
//!
//! GitHub cannot be reached from the test machines, so a local server stands in for it. It speaks
//! the part of GitHub's documented REST API that Doctown uses: `GET /repos/{owner}/{repo}/commits/{ref}`
//! with `Accept: application/vnd.github.sha` answers the commit SHA as text, and
//! `GET /repos/{owner}/{repo}/tarball/{ref}` answers `302` to a codeload URL serving the tarball
//! that `git archive` makes (a pax header with the commit, one `owner-repo-sha/` directory), as
//! GitHub does. Private repositories answer 404 without a valid token, as GitHub does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

const TOKEN: &str = "ghp_testtoken0123456789";

fn fixture(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(lang)
}

fn git(dir: &Path, args: &[&str]) -> String {
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
fn fixture_repo(lang: &str) -> (tempfile::TempDir, String) {
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

fn copy_dir(from: &Path, to: &Path) {
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

fn doctown(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doctown"));
    cmd.args(args)
        .env_remove("GITHUB_TOKEN")
        .env_remove("DOCTOWN_GITHUB_API_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn events(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "doctown failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn completed(events: &[Value]) -> &Value {
    let last = events.last().unwrap();
    assert_eq!(last["event"], "ingest.completed.v1");
    &last["payload"]
}

fn chunk_paths(events: &[Value]) -> Vec<String> {
    let mut paths: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "ingest.chunk_created.v1")
        .map(|e| e["payload"]["chunk"]["path"].as_str().unwrap().to_owned())
        .collect();
    paths.dedup();
    paths
}

/// The GitHub stand-in: one public and one private repository, both the fixture repo.
struct GitHub {
    repo: PathBuf,
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
fn serve_github(repo: PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let state = Arc::new(GitHub { repo });
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route("/repos/{owner}/{repo}/commits/{*ref}", get(commit))
                .route("/repos/{owner}/{repo}/tarball/{*ref}", get(tarball))
                .route(
                    "/codeload/{owner}/{repo}/legacy.tar.gz/{sha}",
                    get(codeload),
                )
                .with_state(state);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}

#[test]
fn github_url_is_read_through_the_archive_endpoint() {
    let (repo, sha) = fixture_repo("python");
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    let api = serve_github(repo.path().to_owned());
    let env = [("DOCTOWN_GITHUB_API_URL", api.as_str())];

    let latest = events(&doctown(
        &["ingest", "https://github.com/acme/widgets"],
        &env,
    ));
    assert_eq!(latest[0]["payload"]["source"]["kind"], "github");
    assert_eq!(latest[0]["payload"]["source"]["commit"], head.as_str());
    let done = completed(&latest);
    assert_eq!(done["commit"], head.as_str());
    assert!(done["chunks"].as_u64().unwrap() > 10);
    let paths = chunk_paths(&latest);
    // The archive's `acme-widgets-sha/` directory is gone, and only the committed tree is read.
    assert!(
        paths.iter().all(|p| !p.starts_with("acme-widgets")),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.ends_with("added_after_v1.py")));

    let at_tag = events(&doctown(
        &["ingest", "https://github.com/acme/widgets/tree/v1"],
        &env,
    ));
    assert_eq!(completed(&at_tag)["commit"], sha.as_str());
    assert_eq!(at_tag[0]["payload"]["source"]["ref"], "v1");
    assert!(!chunk_paths(&at_tag)
        .iter()
        .any(|p| p.ends_with("added_after_v1.py")));
}

#[test]
fn private_github_repository_needs_a_token() {
    let (repo, _) = fixture_repo("go");
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    let api = serve_github(repo.path().to_owned());
    let url = "https://github.com/acme/secret";

    let denied = doctown(&["ingest", url], &[("DOCTOWN_GITHUB_API_URL", &api)]);
    assert!(!denied.status.success());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains("not found") && stderr.contains("GITHUB_TOKEN"),
        "{stderr}"
    );

    let allowed = doctown(
        &["ingest", url],
        &[("DOCTOWN_GITHUB_API_URL", &api), ("GITHUB_TOKEN", TOKEN)],
    );
    let stdout = String::from_utf8_lossy(&allowed.stdout).into_owned();
    assert!(!stdout.contains(TOKEN), "the token leaked into the events");
    assert_eq!(completed(&events(&allowed))["commit"], sha.as_str());
}

#[test]
fn missing_ref_and_unreachable_api_are_clear_errors() {
    let (repo, _) = fixture_repo("rust");
    let api = serve_github(repo.path().to_owned());
    let out = doctown(
        &[
            "ingest",
            "https://github.com/acme/widgets/tree/no-such-branch",
        ],
        &[("DOCTOWN_GITHUB_API_URL", &api)],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`no-such-branch` not found"));

    let out = doctown(
        &["ingest", "https://github.com/acme/widgets"],
        &[("DOCTOWN_GITHUB_API_URL", "http://127.0.0.1:9")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("could not reach http://127.0.0.1:9/repos/acme/widgets/commits/HEAD"));

    let out = doctown(&["ingest", "http://127.0.0.1:9/acme/widgets.git"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot clone `http://127.0.0.1:9/acme/widgets.git`"),
        "{stderr}"
    );

    // Credentials in a git URL never reach the output.
    let out = doctown(
        &[
            "ingest",
            "http://someone:s3cret-token@127.0.0.1:9/acme/widgets.git",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot clone `http://127.0.0.1:9/acme/widgets.git`"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-token"), "{stderr}");

    let out = doctown(
        &[
            "ingest",
            "https://github.com/acme/widgets/tree/../../../user",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a GitHub repository URL"));

    let out = doctown(&["ingest", "https://github.com/acme"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a GitHub repository URL"));
}

#[test]
fn local_git_repository_at_a_ref_and_git_url() {
    let (repo, sha) = fixture_repo("typescript");
    let path = repo.path().to_str().unwrap();

    let at_tag = events(&doctown(&["ingest", path, "--ref", "v1"], &[]));
    assert_eq!(completed(&at_tag)["commit"], sha.as_str());
    assert!(!chunk_paths(&at_tag)
        .iter()
        .any(|p| p.contains("added_after_v1")));

    let head = events(&doctown(&["ingest", path, "--ref", "main"], &[]));
    assert!(chunk_paths(&head)
        .iter()
        .any(|p| p.contains("added_after_v1")));

    let url = format!("file://{path}");
    let cloned = events(&doctown(&["ingest", &url, "--ref", "v1"], &[]));
    assert_eq!(completed(&cloned)["commit"], sha.as_str());
    assert_eq!(chunk_paths(&cloned), chunk_paths(&at_tag));
    let by_sha = events(&doctown(&["ingest", &url, "--ref", &sha], &[]));
    assert_eq!(completed(&by_sha)["commit"], sha.as_str());

    let out = doctown(&["ingest", path, "--ref", "nope"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ref `nope` does not exist"));
}

#[test]
fn archives_and_bad_paths() {
    let (repo, sha) = fixture_repo("javascript");
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("repo.tar.gz");
    let tarball_path = tarball.to_str().unwrap();
    git(
        repo.path(),
        &[
            "archive",
            "--format=tar.gz",
            "--prefix=repo/",
            "-o",
            tarball_path,
            "v1",
        ],
    );
    let from_tar = events(&doctown(&["ingest", tarball.to_str().unwrap()], &[]));
    assert_eq!(completed(&from_tar)["commit"], sha.as_str());

    let zipped = dir.path().join("repo.zip");
    git(
        repo.path(),
        &[
            "archive",
            "--format=zip",
            "-o",
            zipped.to_str().unwrap(),
            "v1",
        ],
    );
    let from_zip = events(&doctown(&["ingest", zipped.to_str().unwrap()], &[]));
    assert_eq!(chunk_paths(&from_zip), chunk_paths(&from_tar));

    let out = doctown(
        &["ingest", dir.path().join("missing").to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let not_archive = dir.path().join("notes.txt");
    std::fs::write(&not_archive, "hello").unwrap();
    let out = doctown(&["ingest", not_archive.to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a .zip or .tar.gz archive"));

    let evil = dir.path().join("evil.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
    writer
        .start_file("../../escape.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.finish().unwrap();
    let out = doctown(&["ingest", evil.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("points outside the archive"));
}

#[test]
fn directory_walk_skips_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("node_modules/dep")).unwrap();
    std::fs::write(root.join("src/app.py"), "def main():\n    pass\n").unwrap();
    std::fs::write(root.join("src/local.py"), "def secret():\n    pass\n").unwrap();
    std::fs::write(root.join(".gitignore"), "local.py\n").unwrap();
    std::fs::write(
        root.join("node_modules/dep/index.js"),
        "module.exports = 1;\n",
    )
    .unwrap();
    std::fs::write(root.join("src/big.py"), "x = 1\n".repeat(200_000)).unwrap();
    std::fs::write(root.join("src/blob.py"), b"\x00\x01\x02binary").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("src/passwd.py")).unwrap();

    let events = events(&doctown(&["ingest", root.to_str().unwrap()], &[]));
    let skips: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "ingest.file_skipped.v1")
        .map(|e| {
            (
                e["payload"]["path"].as_str().unwrap().to_owned(),
                e["payload"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let reason = |p: &str| {
        skips
            .iter()
            .find(|(path, _)| path == p)
            .map(|(_, r)| r.as_str())
    };
    assert_eq!(reason("src/local.py"), Some("gitignored"));
    assert_eq!(reason("node_modules/"), Some("vendored"));
    assert_eq!(reason("src/big.py"), Some("too_large"));
    assert_eq!(reason("src/blob.py"), Some("binary"));
    assert_eq!(reason("src/passwd.py"), Some("symlink"));
    assert_eq!(chunk_paths(&events), ["src/app.py"]);
}
