//! `doctown view`: the website's explorer for a docpack on disk, checked in Chromium
//! (`web/tests/browser.mjs view`), with a repository whose doc comment carries markup.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

#[test]
fn doctown_view_serves_the_explorer_and_markup_in_a_docpack_stays_text() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join("pkg")).unwrap();
    std::fs::write(
        repo.path().join("pkg/evil.py"),
        "\"\"\"A module whose docs try to run code in the viewer.\"\"\"\n\n\n\
         def render(page):\n    \
         \"\"\"Renders <script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"> as text.\"\"\"\n    \
         return helper(page)\n\n\n\
         def helper(page):\n    \"\"\"Helps `render`.\"\"\"\n    return page\n",
    )
    .unwrap();
    let docpack = repo.path().join("evil.docpack");
    let made = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("generate")
        .arg(repo.path())
        .args(["--embedder", "test", "-o"])
        .arg(&docpack)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let mut view = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("view")
        .arg(&docpack)
        .args(["--port", "0", "--source"])
        .arg(repo.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(view.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in `{line}`"))
        .to_owned();
    let checked = std::panic::catch_unwind(|| common::browser_checks("view", &url));
    view.kill().unwrap();
    view.wait().unwrap();
    checked.unwrap();
}

#[test]
fn doctown_view_names_a_file_that_is_not_a_docpack() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.docpack");
    std::fs::write(&bogus, b"not a docpack").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("view")
        .arg(&bogus)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("bogus.docpack failed verification"),
        "{stderr}"
    );
}
