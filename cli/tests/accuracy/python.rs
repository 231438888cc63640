//! Python against Python's `ast` module.

use std::path::PathBuf;
use std::process::Command;

use super::{assert_found, copy_tree, fixture, has_extension, reference_items, repo_root};

fn python_ast(dir: &std::path::Path) -> std::collections::BTreeSet<super::Item> {
    reference_items(
        "python3",
        &[&repo_root().join("tests/accuracy/python_ast.py"), dir],
    )
}

#[test]
fn fixture_matches_pythons_ast() {
    let dir = fixture("python");
    assert_found("the python fixture", &python_ast(&dir), &dir, &[], 20);
}

#[test]
fn standard_library_matches_pythons_ast() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 is installed (scripts/setup.sh)");
    let stdlib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let corpus = tempfile::tempdir().unwrap();
    for package in ["json", "email", "asyncio", "http", "logging"] {
        copy_tree(&stdlib.join(package), &corpus.path().join(package), &|p| {
            has_extension(p, &["py"])
        });
    }
    assert_found(
        "Python's standard library",
        &python_ast(corpus.path()),
        corpus.path(),
        &[],
        2000,
    );
}
