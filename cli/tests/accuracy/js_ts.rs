//! JavaScript, TypeScript and TSX against TypeScript's own parser (typescript 5.9 from npm,
//! installed by scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{assert_found, copy_tree, fixture, reference_items, repo_root};

/// Where tree-sitter's grammar and TypeScript's parser disagree on valid code, as `(path, name)`:
/// tree-sitter-javascript 0.25 does not insert the semicolon after an arrow function's body
/// when the next line starts with `[`, and reads `(…) => {…}\n[…]` as a subscript of the arrow
/// function, so the declarator's value is no longer an arrow function.
const GRAMMAR_DIVERGENCES: &[(&str, &str)] = &[("npm-lib/base-cmd.js", "genMsg")];

fn ts_ast(dir: &Path) -> std::collections::BTreeSet<super::Item> {
    let modules = repo_root().join("tests/accuracy/node_modules/typescript");
    assert!(
        modules.is_dir(),
        "TypeScript is not installed for the accuracy tests: run scripts/setup.sh"
    );
    reference_items(
        "node",
        &[&repo_root().join("tests/accuracy/ts_ast.mjs"), dir],
    )
}

#[test]
fn fixtures_match_typescripts_parser() {
    for lang in ["typescript", "tsx", "javascript"] {
        let dir = fixture(lang);
        assert_found(lang, &ts_ast(&dir), &dir, &[], 15);
    }
}

#[test]
fn real_code_matches_typescripts_parser() {
    let corpus = tempfile::tempdir().unwrap();
    // TypeScript's standard library declarations: interfaces, method signatures, overloads.
    let lib = repo_root().join("tests/accuracy/node_modules/typescript/lib");
    copy_tree(&lib, &corpus.path().join("ts-lib"), &|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with("lib.es20") && name.ends_with(".d.ts")
    });
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
    copy_tree(&npm_lib, &corpus.path().join("npm-lib"), &|_| true);
    let what = "TypeScript's lib.es20*.d.ts and npm's lib/";
    assert_found(
        what,
        &ts_ast(corpus.path()),
        corpus.path(),
        GRAMMAR_DIVERGENCES,
        1000,
    );
}
