//! The docpack id does not depend on the order anything arrives in: a fixture's files listed in
//! a shuffled order, and its ingest events observed in a shuffled order, give the same id as
//! the sorted run. Vectors come from the deterministic test embedder.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use doctown_core::assemble::{assemble, AssemblySettings, Corpus};
use doctown_core::docpack::{self, BuildInput};
use doctown_core::embed::TestEmbedder;
use doctown_core::events::{Clock, Emitter, Event, EventBody};
use doctown_core::generate::{generate, TemplateVerbalizer};
use doctown_core::ingest::ingest;
use doctown_core::policy::Limits;
use doctown_core::source::{Entry, Snapshot, SourceInfo, SourceKind};

struct Zero;
impl Clock for Zero {
    fn now_ms(&self) -> u64 {
        0
    }
}

/// Polls a future that is ready at once (the template verbalizer's).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the template verbalizer never waits"),
    }
}

fn read_dir(root: &Path, dir: &Path, out: &mut Vec<Entry>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_dir(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push(Entry::File {
                path: rel,
                bytes: std::fs::read(&path).unwrap(),
            });
        }
    }
}

/// A permutation from a seeded generator (xorshift), the same on every run.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// The docpack id of `entries`, with the ingest events fed to assembly in `order`.
fn docpack_id(entries: Vec<Entry>, reorder: impl FnOnce(&mut Vec<Event>)) -> String {
    let snapshot = Snapshot {
        source: SourceInfo {
            kind: SourceKind::Directory,
            location: "/somewhere/fixture".into(),
            git_ref: None,
            commit: None,
        },
        entries,
    };
    let mut emitter = Emitter::new("job", "trace", Vec::new(), Zero);
    ingest(snapshot, &Limits::default(), &mut emitter);
    let mut events = emitter.into_sink();
    reorder(&mut events);
    let mut corpus = Corpus::default();
    let embedder = TestEmbedder::default();
    let mut vectors = BTreeMap::new();
    for event in &events {
        corpus.observe(&event.body);
        if let EventBody::ChunkCreated(c) = &event.body {
            vectors.insert(c.chunk.id.clone(), embedder.vector(&c.chunk.text));
        }
    }
    let settings = AssemblySettings::default();
    let mut emitter = Emitter::new("job", "trace", Vec::new(), Zero);
    let assembly = assemble(&corpus, &vectors, &settings, &mut emitter);
    let docs = ready(generate(&assembly, &TemplateVerbalizer, &mut emitter));
    let packed = docpack::build(&BuildInput {
        corpus: &corpus,
        assembly: &assembly,
        docs: &docs,
        settings: &settings,
        model_id: "doctown/test-embedder",
        dimensions: embedder.dimensions,
        skipped_chunks: &[],
        verbalizer: "template",
        tool_version: "test",
        generation: None,
    })
    .unwrap();
    // What was packed reads back, with the same id.
    let bytes = docpack::pack(&packed).unwrap();
    assert_eq!(docpack::read(&bytes).unwrap().id, packed.id);
    packed.id
}

#[test]
fn input_order_does_not_change_the_docpack() {
    for lang in ["rust", "python", "go", "typescript"] {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).join(lang);
        let mut entries = Vec::new();
        read_dir(&root, &root, &mut entries);
        entries.sort_by(|a, b| a.path().cmp(b.path()));
        let sorted = docpack_id(entries.clone(), |_| {});
        for seed in [1, 7, 42] {
            let mut shuffled = entries.clone();
            shuffle(&mut shuffled, seed);
            let id = docpack_id(shuffled, |events| shuffle(events, seed * 31 + 5));
            assert_eq!(id, sorted, "{lang}, seed {seed}");
        }
    }
}
