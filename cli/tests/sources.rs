//! `doctown ingest` on every kind of source, through the real binary; GitHub is the local
//! stand-in of `common/github.rs`.

mod common;

use std::process::{Command, Output};

use common::github::{fixture_repo, git, serve_github, TOKEN};
use serde_json::Value;

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
