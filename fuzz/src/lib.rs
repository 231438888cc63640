//! The bodies of Doctown's fuzz targets: each takes untrusted bytes the way the pipeline does
//! and checks what must hold whatever the bytes are, panicking when it does not. The libFuzzer
//! targets in `fuzz_targets/` call these (`scripts/fuzz.sh` runs them for a fixed time), and
//! `tests/regressions.rs` replays every input a run found into a failure, with the fixtures.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use doctown_core::archive;
use doctown_core::assemble::{assemble, AssemblySettings, Corpus};
use doctown_core::docpack::{self, BuildInput, Packed, MANIFEST, PARTS};
use doctown_core::embed::{Embedder, TestEmbedder};
use doctown_core::events::{Clock, Emitter, Event, EventBody};
use doctown_core::generate::{generate, TemplateVerbalizer};
use doctown_core::hash::sha256_hex;
use doctown_core::ingest::ingest;
use doctown_core::lang::Language;
use doctown_core::policy::Limits;
use doctown_core::source::{Entry, Snapshot, SourceInfo, SourceKind};

pub mod seeds;

/// Archive limits while fuzzing: what the CLI allows, but expansion capped at 64 MiB so an input
/// that inflates to the real 512 MiB limit is refused in milliseconds rather than seconds (the
/// refusal path is the same; only the threshold differs).
fn fuzz_limits() -> Limits {
    Limits {
        max_unpacked_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    }
}

/// The targets, by name: what `scripts/fuzz.sh` runs and the folders of
/// `fuzz/regressions/` are named after.
pub const TARGETS: [&str; 9] = [
    "archive",
    "docpack",
    "docpack_parts",
    "ingest_rust",
    "ingest_python",
    "ingest_go",
    "ingest_javascript",
    "ingest_typescript",
    "ingest_tsx",
];

/// Runs the target named `name` on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "archive" => unpack_archive(data),
        "docpack" => read_docpack(data),
        "docpack_parts" => read_docpack_parts(data),
        _ => {
            let language = name
                .strip_prefix("ingest_")
                .and_then(language_named)
                .unwrap_or_else(|| panic!("no fuzz target `{name}`"));
            ingest_file(language, data)
        }
    }
}

fn language_named(name: &str) -> Option<Language> {
    Some(match name {
        "rust" => Language::Rust,
        "python" => Language::Python,
        "go" => Language::Go,
        "javascript" => Language::JavaScript,
        "typescript" => Language::TypeScript,
        "tsx" => Language::Tsx,
        _ => return None,
    })
}

/// The file name a language's input is ingested under.
fn file_name(language: Language) -> &'static str {
    match language {
        Language::Rust => "src/fuzz.rs",
        Language::Python => "pkg/fuzz.py",
        Language::Go => "pkg/fuzz.go",
        Language::JavaScript => "src/fuzz.js",
        Language::TypeScript => "src/fuzz.ts",
        Language::Tsx => "src/fuzz.tsx",
    }
}

/// An archive is refused with an error, or unpacks to entries whose paths stay inside the root
/// and whose files fit the limits, and which ingest accounts for one by one.
pub fn unpack_archive(data: &[u8]) {
    let limits = fuzz_limits();
    let Ok(unpacked) = archive::unpack(data, &limits) else {
        return;
    };
    let mut total = 0u64;
    let mut paths = HashSet::new();
    for entry in &unpacked.entries {
        let path = entry.path();
        assert!(
            !path.is_empty() && !path.starts_with('/') && !path.contains('\\'),
            "unpacked path `{path}` is not relative"
        );
        assert!(
            path.split('/')
                .all(|p| !p.is_empty() && p != "." && p != ".."),
            "unpacked path `{path}` is not normalised"
        );
        assert!(paths.insert(path.to_owned()), "`{path}` unpacked twice");
        if let Entry::File { bytes, .. } = entry {
            assert!(
                bytes.len() as u64 <= limits.max_file_bytes,
                "`{path}` kept at {} bytes",
                bytes.len()
            );
            total += bytes.len() as u64;
        }
    }
    assert!(total <= limits.max_unpacked_bytes, "{total} bytes unpacked");
    // A small tree is ingested too, as a repository: every entry ends detected or skipped.
    if total <= MAX_INGESTED_TREE_BYTES {
        let entries = unpacked.entries.len() as u64;
        let events = ingest_events(unpacked.entries);
        let Some(EventBody::IngestCompleted(done)) = events.last().map(|e| &e.body) else {
            panic!("ingest of the unpacked tree did not complete");
        };
        assert_eq!(done.files_detected + done.files_skipped, entries);
    }
}

/// Unpacked trees up to this size are also ingested: past it an input costs seconds, and
/// libFuzzer's time is better spent on more inputs.
const MAX_INGESTED_TREE_BYTES: u64 = 1024 * 1024;

struct Zero;
impl Clock for Zero {
    fn now_ms(&self) -> u64 {
        0
    }
}

/// One file of `language` holding `data` is ingested: the file is skipped with a reason or
/// yields symbols and chunks that lie within it, every event survives a JSON round trip, and
/// the completion's counts match the events.
pub fn ingest_file(language: Language, data: &[u8]) {
    let path = file_name(language);
    let events = ingest_events(vec![Entry::File {
        path: path.to_owned(),
        bytes: data.to_vec(),
    }]);
    let (mut chunks, mut symbols, mut skipped) = (0u64, HashSet::new(), 0u64);
    let mut completed = None;
    for event in &events {
        let json = serde_json::to_string(event).expect("an event serialises");
        let back: Event = serde_json::from_str(&json).expect("an event parses back");
        assert_eq!(&back, event, "JSON round trip");
        match &event.body {
            EventBody::FileSkipped(s) => {
                assert!(!s.detail.is_empty(), "a skip without its reason");
                skipped += 1;
            }
            EventBody::ChunkCreated(c) => {
                chunks += 1;
                symbols.insert(c.symbol.id.clone());
                for span in [&c.chunk.span, &c.symbol.span] {
                    assert!(
                        span.start_byte <= span.end_byte && span.end_byte <= data.len(),
                        "span {span:?} outside the {} bytes of the file",
                        data.len()
                    );
                    assert!(
                        1 <= span.start_line && span.start_line <= span.end_line,
                        "lines of {span:?}"
                    );
                }
                assert!(
                    c.chunk.part < c.chunk.parts
                        && c.chunk.parts <= doctown_core::chunk::MAX_CHUNKS_PER_SYMBOL,
                    "part {} of {}",
                    c.chunk.part,
                    c.chunk.parts
                );
                assert!(
                    c.chunk.tokens <= doctown_core::chunk::CHUNK_TOKEN_BUDGET,
                    "a chunk of {} tokens",
                    c.chunk.tokens
                );
                assert_eq!(c.chunk.path, path);
            }
            EventBody::IngestCompleted(done) => completed = Some(done.clone()),
            _ => {}
        }
    }
    let done = completed.expect("ingest ends with ingest.completed");
    assert_eq!(done.chunks, chunks, "chunks counted");
    assert_eq!(done.files_skipped, skipped, "skips counted");
    assert_eq!(done.symbols, symbols.len() as u64, "symbols counted");
    assert_eq!(
        done.files_detected + skipped,
        1,
        "the file detected or skipped"
    );
    if skipped == 1 {
        assert_eq!(chunks, 0, "chunks of a skipped file");
    }
}

fn ingest_events(entries: Vec<Entry>) -> Vec<Event> {
    let snapshot = Snapshot {
        source: SourceInfo {
            kind: SourceKind::Directory,
            location: "fuzz".into(),
            git_ref: None,
            commit: None,
        },
        entries,
    };
    let mut emitter = Emitter::new("fuzz", "fuzz", Vec::new(), Zero);
    ingest(snapshot, &Limits::default(), &mut emitter);
    emitter.into_sink()
}

/// A docpack is refused with an error, or read whole: its id is its manifest's hash, and
/// everything it holds can be walked.
pub fn read_docpack(data: &[u8]) {
    let Ok(pack) = docpack::read(data) else {
        return;
    };
    for (row, node) in pack.nodes.iter().enumerate() {
        if node.embedding.is_some() {
            // Rows are only as many as vectors; `embedding` must not read past them.
            let _ = pack.embedding(row);
        }
    }
    assert_eq!(pack.id.len(), 64, "the id is a SHA-256");
}

/// A real docpack with one part replaced by the input (its first byte picks which, the rest is
/// the part) and the manifest's digest of it made true, so the fuzzer gets past the checksums to
/// the parsing and cross-checking of each part. Replacing the manifest itself keeps its bytes.
pub fn read_docpack_parts(data: &[u8]) {
    let Some((&pick, part)) = data.split_first() else {
        return;
    };
    let packed = patched(baseline(), pick, part);
    let bytes = docpack::pack(&packed).expect("packing parts in memory");
    read_docpack(&bytes);
}

/// The parts a docpack is made of: the manifest, then the rest in packing order.
pub fn part_names() -> Vec<&'static str> {
    std::iter::once(MANIFEST).chain(PARTS).collect()
}

/// `baseline` with the part `pick` picks (modulo their number) set to `part`.
pub fn patched(baseline: &Packed, pick: u8, part: &[u8]) -> Packed {
    let names = part_names();
    let name = names[usize::from(pick) % names.len()];
    let mut parts: BTreeMap<String, Vec<u8>> = baseline.parts.clone();
    parts.insert(name.to_owned(), part.to_vec());
    if name != MANIFEST {
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&parts[MANIFEST]).expect("the baseline manifest is JSON");
        manifest["parts"][name] = serde_json::json!({
            "sha256": sha256_hex(part),
            "bytes": part.len(),
        });
        parts.insert(
            MANIFEST.to_owned(),
            docpack::canonical_json(&manifest).expect("JSON values serialise"),
        );
    }
    Packed {
        id: sha256_hex(&parts[MANIFEST]),
        parts,
    }
}

/// A small real docpack, built once: a Rust and a Python file through ingest, assembly with the
/// deterministic test embedder, and the template verbalizer.
pub fn baseline() -> &'static Packed {
    static BASELINE: OnceLock<Packed> = OnceLock::new();
    BASELINE.get_or_init(|| {
        build_docpack(vec![
            Entry::File {
                path: "src/lib.rs".into(),
                bytes: SAMPLE_RUST.as_bytes().to_vec(),
            },
            Entry::File {
                path: "tool/cli.py".into(),
                bytes: SAMPLE_PYTHON.as_bytes().to_vec(),
            },
        ])
    })
}

/// The docpack of `entries`, as the CLI makes one offline.
fn build_docpack(entries: Vec<Entry>) -> Packed {
    let events = ingest_events(entries);
    let embedder = TestEmbedder::default();
    let mut corpus = Corpus::default();
    let mut vectors = BTreeMap::new();
    for event in &events {
        corpus.observe(&event.body);
        if let EventBody::ChunkCreated(c) = &event.body {
            vectors.insert(c.chunk.id.clone(), embedder.vector(&c.chunk.text));
        }
    }
    let settings = AssemblySettings::default();
    let mut emitter = Emitter::new("fuzz", "fuzz", Vec::new(), Zero);
    let assembly = assemble(&corpus, &vectors, &settings, &mut emitter);
    // The template verbalizer never waits: its future is ready on the first poll.
    let mut generating = pin!(generate(&assembly, &TemplateVerbalizer, &mut emitter));
    let Poll::Ready(docs) = generating
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        unreachable!("the template verbalizer never waits")
    };
    docpack::build(&BuildInput {
        corpus: &corpus,
        assembly: &assembly,
        docs: &docs,
        settings: &settings,
        model_id: embedder.model(),
        dimensions: embedder.dimensions,
        skipped_chunks: &[],
        verbalizer: "template",
        tool_version: "fuzz",
        generation: None,
    })
    .expect("the sample's parts serialise")
}

const SAMPLE_RUST: &str = r#"//! A tiny store.

/// Keeps values by name.
pub struct Store {
    values: Vec<(String, u32)>,
}

impl Store {
    /// Adds a value.
    pub fn put(&mut self, name: &str, value: u32) {
        self.values.push((name.to_owned(), value));
    }

    /// The value of a name.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}
"#;

const SAMPLE_PYTHON: &str = r#""""Reads a store from the command line."""

import sys


def parse(args):
    """Splits NAME=VALUE pairs."""
    return dict(arg.split("=", 1) for arg in args)


def main():
    print(parse(sys.argv[1:]))
"#;
