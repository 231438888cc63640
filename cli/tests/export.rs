//! `doctown export` through the real binary: every page and link of the Markdown tree, the
//! same pages again on a second export, and HTML in which nothing from the repository is markup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn doctown(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(args)
        .output()
        .expect("cannot run doctown");
    assert!(
        output.status.success(),
        "doctown {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn generate(repo: &Path, out: &Path) {
    doctown(&[
        "generate".as_ref(),
        repo.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
}

fn export(docpack: &Path, format: &str, out: &Path) -> BTreeMap<PathBuf, String> {
    doctown(&[
        "export".as_ref(),
        docpack.as_os_str(),
        "--format".as_ref(),
        format.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let mut pages = BTreeMap::new();
    for dir in [out.to_path_buf(), out.join("modules")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let text = std::fs::read_to_string(&path).unwrap();
                pages.insert(path.strip_prefix(out).unwrap().to_path_buf(), text);
            }
        }
    }
    pages
}

#[test]
fn markdown_pages_link_to_pages_and_anchors_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let docpack = dir.path().join("rust.docpack");
    generate(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/rust"
        )),
        &docpack,
    );
    let d = doctown_core::docpack::read(&std::fs::read(&docpack).unwrap()).unwrap();
    let pages = export(&docpack, "markdown", &dir.path().join("md"));
    assert!(pages.contains_key(Path::new("index.md")));
    assert_eq!(
        pages.len(),
        d.modules.modules.len() + 1,
        "{:?}",
        pages.keys()
    );
    let index = &pages[Path::new("index.md")];
    assert!(index.contains("```mermaid\ngraph LR"), "{index}");
    assert!(index.contains(&d.modules.architecture.text));

    // Every relative link names a page that exists and, with a fragment, an anchor on it.
    let mut links = 0;
    for (path, text) in &pages {
        let base = path.parent().unwrap();
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if target.starts_with("http") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let resolved = normalize(&base.join(file));
            let page = pages
                .get(&resolved)
                .unwrap_or_else(|| panic!("{}: link to missing {target}", path.display()));
            if !anchor.is_empty() {
                assert!(
                    page.contains(&format!("<a id=\"{anchor}\">")),
                    "{}: no #{anchor} in {}",
                    path.display(),
                    resolved.display()
                );
            }
            links += 1;
        }
    }
    assert!(links > d.nodes.len(), "{links} links");
    // Each symbol has its section, and a caller's neighbourhood diagram.
    let all: String = pages.values().cloned().collect();
    for n in &d.nodes {
        assert!(
            all.contains(&format!("<a id=\"sym-{}\">", n.id)),
            "{}",
            n.qualified_name
        );
    }
    assert!(all.contains("  s --> c0["), "a call neighbourhood is drawn");

    // The same docpack exports to the same pages.
    assert_eq!(
        export(&docpack, "markdown", &dir.path().join("again")),
        pages
    );
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn html_shows_markup_from_the_repository_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("hostile");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("evil.py"),
        "def run_script():\n    \"\"\"Runs <script>alert('x')</script> & <img src=x onerror=alert(1)>.\"\"\"\n    return helper()\n\n\ndef helper():\n    return 1\n",
    )
    .unwrap();
    let docpack = dir.path().join("hostile.docpack");
    generate(&repo, &docpack);
    let pages = export(&docpack, "html", &dir.path().join("html"));
    let page = pages
        .iter()
        .find(|(p, _)| p.starts_with("modules"))
        .map(|(_, t)| t)
        .unwrap();
    assert!(page.contains("&lt;script&gt;alert"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(page.contains("Content-Security-Policy"));
    assert!(pages
        .keys()
        .all(|p| p.extension().is_some_and(|e| e == "html")));
}
