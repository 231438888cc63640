//! The core built for wasm32-unknown-unknown (with the real tree-sitter grammars) and run under
//! node gives exactly the native event stream for every fixture repository.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir`, sorted, as `(relative path, text)`: what run.mjs sends to the wasm.
fn read_tree(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let full = dir.join(&name);
        let path = format!("{rel}{name}");
        if full.is_dir() {
            read_tree(&full, &format!("{path}/"), out);
        } else {
            out.push((path, std::fs::read_to_string(&full).unwrap()));
        }
    }
}

#[test]
fn wasm_ingest_matches_native_on_every_fixture() {
    let root = repo_root();
    let build = Command::new(root.join("scripts/build-wasm.sh"))
        .output()
        .expect("run scripts/build-wasm.sh (needs bash; run scripts/setup.sh first)");
    assert!(
        build.status.success(),
        "wasm build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let wasm = String::from_utf8(build.stdout).unwrap().trim().to_owned();

    let fixtures = root.join("tests/fixtures");
    let mut compared = 0;
    for lang in ["rust", "python", "go", "javascript", "typescript", "tsx"] {
        let dir = fixtures.join(lang);
        let mut files = Vec::new();
        read_tree(&dir, "", &mut files);
        let native = doctown_wasm_harness::ingest_to_json_lines(files);

        let run = Command::new("node")
            .arg(root.join("tests/wasm-harness/run.mjs"))
            .arg(&wasm)
            .arg(&dir)
            .output()
            .expect("run node (Node.js 18 or newer) for the wasm parity test");
        assert!(
            run.status.success(),
            "node failed on {lang}:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let wasm_out = String::from_utf8(run.stdout).unwrap();

        let chunks = native
            .lines()
            .filter(|l| l.contains("\"ingest.chunk_created.v1\""))
            .count();
        assert!(
            chunks > 10,
            "{lang}: the fixture yields only {chunks} chunks"
        );
        for (i, (a, b)) in native.lines().zip(wasm_out.lines()).enumerate() {
            assert_eq!(a, b, "{lang}: event {i} differs between native and wasm");
        }
        assert_eq!(
            native.lines().count(),
            wasm_out.lines().count(),
            "{lang}: event counts differ"
        );
        compared += 1;
    }
    assert_eq!(compared, 6);
}
