//! JavaScript, TypeScript and TSX extraction checked against TypeScript's own parser
//! (`tests/accuracy/ts_ast.mjs`, typescript 5.9 from npm, installed by scripts/setup.sh): every
//! function, method, class, interface, type alias, enum and namespace it sees must be found by
//! `doctown ingest` with the same name, kind and first line. Run on the fixtures and on real code:
//! npm's own JavaScript and TypeScript's standard library declarations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

type Item = (String, String, String, u64);

/// Where tree-sitter's grammar and TypeScript's parser disagree on valid code, as
/// `(path, name, why)`. Each is a grammar limitation upstream, not an extraction bug.
const GRAMMAR_DIVERGENCES: &[(&str, &str, &str)] = &[(
    "npm-lib/base-cmd.js",
    "genMsg",
    "tree-sitter-javascript 0.25 does not apply automatic semicolon insertion after an arrow \
     function's body when the next line starts with `[`, and reads `(…) => {…}\\n[…]` as a \
     subscript of the arrow function, so the declarator's value is not an arrow function",
)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reference_items(dir: &Path) -> BTreeSet<Item> {
    let script = root().join("tests/accuracy/ts_ast.mjs");
    assert!(
        root()
            .join("tests/accuracy/node_modules/typescript")
            .is_dir(),
        "TypeScript is not installed for the accuracy tests: run scripts/setup.sh"
    );
    let out = Command::new("node")
        .arg(script)
        .arg(dir)
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    items
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_owned(),
                i["kind"].as_str().unwrap().to_owned(),
                i["name"].as_str().unwrap().to_owned(),
                i["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// What `doctown ingest` finds, and the paths it skipped (with the reason).
fn doctown_items(dir: &Path) -> (BTreeSet<Item>, BTreeSet<String>) {
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
                items.insert((
                    s["path"].as_str().unwrap().to_owned(),
                    s["kind"].as_str().unwrap().to_owned(),
                    s["name"].as_str().unwrap().to_owned(),
                    s["start_line"].as_u64().unwrap(),
                ));
            }
            _ => {}
        }
    }
    (items, skipped)
}

fn assert_matches(what: &str, dir: &Path, at_least: usize) {
    let expected = reference_items(dir);
    let (found, skipped) = doctown_items(dir);
    let known = |i: &Item| {
        GRAMMAR_DIVERGENCES
            .iter()
            .any(|(path, name, _)| i.0 == *path && i.2 == *name)
    };
    let compared: Vec<&Item> = expected
        .iter()
        .filter(|i| !skipped.contains(&i.0) && !known(i))
        .collect();
    let missing: Vec<&&Item> = compared.iter().filter(|i| !found.contains(**i)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} definitions TypeScript's parser sees are missing or differ; the first 20:\n{:#?}",
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
        "{what}: all {} definitions TypeScript's parser sees are found, same kind, name and line",
        compared.len()
    );
}

#[test]
fn fixtures_match_typescripts_parser() {
    for lang in ["typescript", "tsx", "javascript"] {
        assert_matches(lang, &root().join("tests/fixtures").join(lang), 15);
    }
}

#[test]
fn real_code_matches_typescripts_parser() {
    let corpus = tempfile::tempdir().unwrap();
    // TypeScript's standard library declarations (interfaces, method signatures, overloads).
    let lib = root().join("tests/accuracy/node_modules/typescript/lib");
    let ts_dir = corpus.path().join("ts-lib");
    std::fs::create_dir_all(&ts_dir).unwrap();
    for entry in std::fs::read_dir(&lib).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("lib.es20") && name.ends_with(".d.ts") {
            std::fs::copy(&path, ts_dir.join(name)).unwrap();
        }
    }
    // npm's own JavaScript: the npm that comes with node.
    let npm_root = Command::new("npm")
        .args(["root", "-g"])
        .output()
        .expect("npm is installed");
    let npm_lib = PathBuf::from(String::from_utf8_lossy(&npm_root.stdout).trim()).join("npm/lib");
    assert!(
        npm_lib.is_dir(),
        "npm's sources are not at {}",
        npm_lib.display()
    );
    copy_tree(&npm_lib, &corpus.path().join("npm-lib"));
    assert_matches(
        "TypeScript's lib.es20*.d.ts and npm's lib/",
        corpus.path(),
        1000,
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
