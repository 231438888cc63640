//! `doctown generate` on every fixture repository, through the real binary and the real model:
//! a snapshot per fixture of its golden id (less the vectors' bits, see [`id_less_vectors`]),
//! its edges, its PageRank top-k and its clusters; `doctown verify` naming each corrupted part;
//! `doctown show`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{assert_parts_follow_schemas, unpack};
use doctown_core::docpack::{self, Docpack, Packed};
use doctown_core::hash::sha256_hex;

const FIXTURES: [&str; 6] = ["go", "javascript", "python", "rust", "tsx", "typescript"];
/// Symbols listed in the PageRank snapshot.
const TOP_K: usize = 10;

fn fixture(lang: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).join(lang)
}

fn doctown(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(args)
        .output()
        .expect("cannot run doctown")
}

/// Runs `doctown generate DIR -o OUT` and reads the docpack back.
fn generate(dir: &Path, out: &Path) -> (Docpack, Output) {
    let output = doctown(&[
        "generate".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "doctown generate {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(out).expect("the docpack was written");
    (docpack::read(&bytes).expect("the docpack verifies"), output)
}

/// The docpack id with the vectors' bits left out: the SHA-256 of the canonical manifest less
/// `embeddings.bin`'s digest, so it still covers every other part. A vector's last f32 bits
/// follow the CPU (`gemm` blocks its sums by the cache sizes and picks AVX2 or AVX-512
/// kernels), and flip some f16 roundings, so the full id differs between an AMD and an Intel
/// host while nothing else does. What the vectors mean is checked against sentence-transformers
/// by gpu-service's parity test; that one machine gives the same bytes, by
/// `the_same_repository_gives_the_same_bytes`.
fn id_less_vectors(d: &Docpack) -> String {
    let mut manifest = d.manifest.clone();
    assert!(manifest.parts.remove(docpack::EMBEDDINGS).is_some());
    sha256_hex(&docpack::canonical_json(&manifest).unwrap())
}

/// The snapshot text: id less vectors, edges (by qualified name), PageRank top-k, clusters.
fn describe(d: &Docpack) -> String {
    let names = d.names();
    let mut out = format!(
        "docpack id less vectors {}\n\n# edges\n",
        id_less_vectors(d)
    );
    let mut edges: Vec<String> = d
        .graph
        .edges
        .iter()
        .map(|e| {
            let external = if d.nodes.iter().any(|n| n.id == e.target) {
                ""
            } else {
                " (external)"
            };
            format!(
                "{} -{:?}-> {}{external} {}",
                names[e.source.as_str()],
                e.kind,
                names[e.target.as_str()],
                e.confidence
            )
        })
        .collect();
    edges.sort();
    for e in edges {
        writeln!(out, "{e}").unwrap();
    }
    out.push_str("\n# pagerank top\n");
    let mut ranked: Vec<&docpack::Node> = d.nodes.iter().collect();
    ranked.sort_by_key(|n| n.metrics.rank);
    for n in ranked.iter().take(TOP_K) {
        writeln!(
            out,
            "{} {} {}",
            n.metrics.rank, n.qualified_name, n.metrics.pagerank
        )
        .unwrap();
    }
    writeln!(out, "\n# clusters ({:?})", d.clusters.method).unwrap();
    for c in &d.clusters.clusters {
        let mut members: Vec<&str> = c.members.iter().map(|m| names[m.as_str()]).collect();
        members.sort();
        writeln!(out, "{} [{}]: {}", c.label, c.id, members.join(", ")).unwrap();
    }
    out
}

#[test]
fn fixtures_give_their_golden_docpacks() {
    let dir = tempfile::tempdir().unwrap();
    for lang in FIXTURES {
        let out = dir.path().join(format!("{lang}.docpack"));
        let (d, output) = generate(&fixture(lang), &out);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(&d.id), "the summary names the id: {stdout}");
        assert!(!d.nodes.is_empty() && !d.graph.edges.is_empty(), "{lang}");
        // Every node has a generated text naming it, and every vector is a unit vector.
        for n in &d.nodes {
            assert!(
                n.doc.text.contains(&format!("`{}`", n.name)),
                "{}",
                n.doc.text
            );
            if let Some(row) = n.embedding {
                let v = d.embedding(row).unwrap();
                let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-2, "{norm}");
            }
        }
        assert_names_exist(&d);
        assert_parts_follow_schemas(&std::fs::read(&out).unwrap());
        insta::assert_snapshot!(format!("docpack_{lang}"), describe(&d));
    }
}

/// Every `name` a generated text puts in backticks is a node (by its name, or the tail of its
/// qualified name), an external node, or a file or module of the repository.
fn assert_names_exist(d: &Docpack) {
    let mut known: Vec<String> = Vec::new();
    for n in &d.nodes {
        known.push(n.qualified_name.clone());
        known.push(n.path.clone());
    }
    known.extend(d.graph.externals.iter().map(|e| e.name.clone()));
    known.extend(d.modules.modules.iter().map(|m| m.metrics.module.clone()));
    let exists = |name: &str| {
        known.iter().any(|k| {
            k == name
                || [".", "::", "/"]
                    .iter()
                    .any(|sep| k.ends_with(&format!("{sep}{name}")))
        })
    };
    let texts = d
        .nodes
        .iter()
        .map(|n| &n.doc.text)
        .chain(d.modules.modules.iter().map(|m| &m.overview.text))
        .chain(std::iter::once(&d.modules.architecture.text));
    for text in texts {
        for name in text.split('`').skip(1).step_by(2) {
            assert!(
                exists(name),
                "`{name}` in {text:?} names nothing in the docpack"
            );
        }
    }
}

#[test]
fn the_same_repository_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = generate(&fixture("python"), &dir.path().join("a.docpack"));
    // A copy of the fixture elsewhere, under another folder name and with files written in
    // another order, is the same repository.
    let copy = dir.path().join("elsewhere").join("python");
    copy_reversed(&fixture("python"), &copy);
    let (b, _) = generate(&copy, &dir.path().join("b.docpack"));
    assert_eq!(a.id, b.id);
    assert_eq!(
        std::fs::read(dir.path().join("a.docpack")).unwrap(),
        std::fs::read(dir.path().join("b.docpack")).unwrap()
    );
}

fn copy_reversed(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries.reverse();
    for path in entries {
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_reversed(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn verify_names_each_corrupted_part() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("rust.docpack");
    let (d, _) = generate(&fixture("rust"), &original);
    let ok = doctown(&["verify".as_ref(), original.as_os_str()]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains(&d.id));

    let parts = unpack(&std::fs::read(&original).unwrap());
    for name in parts.keys() {
        let mut corrupted = parts.clone();
        let bytes = corrupted.get_mut(name).unwrap();
        // Flip a byte in the middle: still the same length, no longer the same content.
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        let file = dir.path().join("corrupt.docpack");
        let packed = Packed {
            id: String::new(),
            parts: corrupted,
        };
        std::fs::write(&file, docpack::pack(&packed).unwrap()).unwrap();
        let output = doctown(&["verify".as_ref(), file.as_os_str()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{name}: verify passed a corrupted part"
        );
        assert!(stderr.contains(name.as_str()), "{name}: {stderr}");
    }

    // A file cut short is not a docpack, and says so.
    let bytes = std::fs::read(&original).unwrap();
    let file = dir.path().join("short.docpack");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let output = doctown(&["verify".as_ref(), file.as_os_str()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cut short"));
}

#[test]
fn a_repository_without_source_fails_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("docs-only");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("README.md"), "# nothing to parse\n").unwrap();
    let out = dir.path().join("x.docpack");
    let output = doctown(&[
        "generate".as_ref(),
        repo.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no supported source files"), "{stderr}");
    assert!(!out.exists(), "no docpack is written for a failed job");
}

#[test]
fn show_prints_counts_top_symbols_and_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.docpack");
    let (d, _) = generate(&fixture("go"), &out);
    let output = doctown(&["show".as_ref(), out.as_os_str()]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("{} symbols", d.nodes.len())),
        "{text}"
    );
    assert!(text.contains("top symbols by PageRank"), "{text}");
    let mut ranked: Vec<&docpack::Node> = d.nodes.iter().filter(|n| n.parent.is_some()).collect();
    ranked.sort_by_key(|n| n.metrics.rank);
    assert!(text.contains(&ranked[0].qualified_name), "{text}");
    assert!(text.contains("skipped files"), "{text}");
}
