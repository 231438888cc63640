//! Go against Go's own parser (`go/parser`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{assert_found, copy_tree, fixture, has_extension, reference_items, repo_root};

fn go_ast(dir: &Path) -> std::collections::BTreeSet<super::Item> {
    let script = repo_root().join("tests/accuracy/go_ast.go");
    reference_items("go", &[Path::new("run"), &script, dir])
}

#[test]
fn fixture_matches_gos_parser() {
    let dir = fixture("go");
    assert_found("the go fixture", &go_ast(&dir), &dir, &[], 20);
}

#[test]
fn standard_library_matches_gos_parser() {
    let out = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go is installed (scripts/setup.sh)");
    let src = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("src");
    let corpus = tempfile::tempdir().unwrap();
    for package in [
        "net/http",
        "encoding/json",
        "bufio",
        "strings",
        "sort",
        "container",
        "text/template",
    ] {
        copy_tree(&src.join(package), &corpus.path().join(package), &|p| {
            has_extension(p, &["go"])
        });
    }
    assert_found(
        "Go's standard library",
        &go_ast(corpus.path()),
        corpus.path(),
        &[],
        2000,
    );
}
