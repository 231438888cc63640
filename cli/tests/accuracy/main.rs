//! Extraction checked against each language's own parser: every definition the reference
//! parser sees must be found by `doctown ingest` with the same path, kind, name and first line.
//! Each language runs on its fixture and on real code already on the machine.
//!
//! - Rust: `syn` (the parser behind Rust's procedural macros), on crates of the cargo registry.
//! - Python: the `ast` module (`tests/accuracy/python_ast.py`), on the standard library.
//! - Go: `go/parser` (`tests/accuracy/go_ast.go`), on Go's standard library.
//! - JavaScript, TypeScript, TSX: TypeScript's compiler (`tests/accuracy/ts_ast.mjs`), on
//!   TypeScript's own declarations and npm's sources.

mod go;
mod js_ts;
mod python;
mod rust;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `(path, kind, name, first line)`.
pub type Item = (String, String, String, u64);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(lang: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(lang)
}

/// Runs a reference script that prints `[{path, kind, name, line}]` for a directory.
pub fn reference_items(program: &str, args: &[&Path]) -> BTreeSet<Item> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run scripts/setup.sh"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).expect("the reference prints JSON");
    items
        .iter()
        .map(|i| {
            let field = |name: &str| i[name].as_str().unwrap().to_owned();
            (
                field("path"),
                field("kind"),
                field("name"),
                i["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// What `doctown ingest` finds under `dir`, and the paths it skipped.
pub fn doctown_items(dir: &Path) -> (BTreeSet<Item>, BTreeSet<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("ingest")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut items = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let payload = &event["payload"];
        match event["event"].as_str() {
            Some("ingest.file_skipped.v1") => {
                skipped.insert(payload["path"].as_str().unwrap().to_owned());
            }
            Some("ingest.chunk_created.v1") => {
                let s = &payload["symbol"];
                let field = |name: &str| s[name].as_str().unwrap().to_owned();
                items.insert((
                    field("path"),
                    field("kind"),
                    field("name"),
                    s["start_line"].as_u64().unwrap(),
                ));
            }
            _ => {}
        }
    }
    (items, skipped)
}

/// Asserts that every expected item outside the files Doctown skipped (and outside `known`,
/// documented grammar divergences) is found; returns how many were compared.
pub fn assert_found(
    what: &str,
    expected: &BTreeSet<Item>,
    dir: &Path,
    known: &[(&str, &str)],
    at_least: usize,
) {
    let (found, skipped) = doctown_items(dir);
    let is_known = |i: &Item| {
        known
            .iter()
            .any(|(path, name)| i.0 == *path && i.2 == *name)
    };
    let compared: Vec<&Item> = expected
        .iter()
        .filter(|i| !skipped.contains(&i.0) && !is_known(i))
        .collect();
    let missing: Vec<&&Item> = compared.iter().filter(|i| !found.contains(**i)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} definitions the reference parser sees are missing or differ in doctown's output; the first 20:\n{:#?}",
        missing.len(),
        compared.len(),
        &missing[..missing.len().min(20)]
    );
    assert!(
        compared.len() >= at_least,
        "{what}: only {} definitions compared",
        compared.len()
    );
    println!(
        "{what}: all {} definitions the reference parser sees are found, same kind, name and line",
        compared.len()
    );
}

/// Copies the files under `from` that `keep` accepts into `to`, keeping the layout.
pub fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir()
            && !["__pycache__", "testdata", "vendor", "node_modules"]
                .contains(&entry.file_name().to_str().unwrap_or(""))
        {
            copy_tree(&path, &target, keep);
        } else if kind.is_file() && keep(&path) {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(&path, target).unwrap();
        }
    }
}

pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e))
}
