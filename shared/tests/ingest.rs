//! Ingest over in-memory snapshots: past the per-job limits files are skipped with a reason,
//! never dropped; package manifests are read on the way.

use doctown_core::events::{Clock, Emitter, Event, EventBody};
use doctown_core::ingest::ingest;
use doctown_core::policy::{Limits, SkipReason};
use doctown_core::source::{Entry, Snapshot, SourceInfo, SourceKind};

struct Zero;
impl Clock for Zero {
    fn now_ms(&self) -> u64 {
        0
    }
}

fn run(files: &[(&str, &str)], limits: Limits) -> Vec<Event> {
    let snapshot = Snapshot {
        source: SourceInfo {
            kind: SourceKind::Directory,
            location: "mem".into(),
            git_ref: None,
            commit: None,
        },
        entries: files
            .iter()
            .map(|(path, text)| Entry::File {
                path: (*path).into(),
                bytes: text.as_bytes().to_vec(),
            })
            .collect(),
    };
    let mut emitter = Emitter::new("job", "trace", Vec::new(), Zero);
    ingest(snapshot, &limits, &mut emitter);
    emitter.into_sink()
}

fn skips(events: &[Event]) -> Vec<(String, SkipReason)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::FileSkipped(s) => Some((s.path.clone(), s.reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn files_past_the_count_limit_are_skipped_in_path_order() {
    let files = [
        ("c.py", "def c(): pass\n"),
        ("a.py", "def a(): pass\n"),
        ("b.py", "def b(): pass\n"),
    ];
    let events = run(
        &files,
        Limits {
            max_files: 2,
            ..Limits::default()
        },
    );
    assert_eq!(skips(&events), [("c.py".to_owned(), SkipReason::FileLimit)]);
    let EventBody::IngestCompleted(done) = &events.last().unwrap().body else {
        panic!("last event")
    };
    assert_eq!((done.files_detected, done.files_skipped), (2, 1));
    assert_eq!(done.status, doctown_core::events::Status::Partial);
}

#[test]
fn files_past_the_byte_limit_are_skipped() {
    let big = "x = 1\n".repeat(100);
    let files = [
        ("a.py", big.as_str()),
        ("b.py", big.as_str()),
        ("c.py", "y = 2\n"),
    ];
    let events = run(
        &files,
        Limits {
            max_total_bytes: 1000,
            ..Limits::default()
        },
    );
    // b.py would pass the limit; the smaller c.py still fits after it.
    assert_eq!(
        skips(&events),
        [("b.py".to_owned(), SkipReason::TotalLimit)]
    );
}

#[test]
fn stream_starts_and_ends_with_the_stage_events() {
    let events = run(
        &[("src/lib.rs", "pub fn f() {}\n"), ("README.md", "# hi\n")],
        Limits::default(),
    );
    assert_eq!(events.first().unwrap().body.name(), "ingest.started.v1");
    assert_eq!(events.last().unwrap().body.name(), "ingest.completed.v1");
    let names: Vec<&str> = events.iter().map(|e| e.body.name()).collect();
    assert_eq!(
        names,
        [
            "ingest.started.v1",
            "ingest.file_skipped.v1",
            "ingest.file_detected.v1",
            "ingest.chunk_created.v1",
            "ingest.chunk_created.v1",
            "ingest.completed.v1"
        ]
    );
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64));
}

#[test]
fn a_cargo_manifest_names_its_crate_and_a_broken_one_is_a_diagnostic() {
    let files = [
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        ("crates/core/Cargo.toml", "[package]\nname = \"kv-core\"\n"),
        ("crates/core/src/lib.rs", "pub fn open() {}\n"),
        (
            "crates/cli/Cargo.toml",
            "[package]\nname = \"kv\"\nversion = 1.0.0\n",
        ),
    ];
    let events = run(&files, Limits::default());
    let found: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::PackageFound(p) => Some((p.manifest.clone(), p.name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        found,
        [("crates/core/Cargo.toml".to_owned(), "kv_core".to_owned())]
    );
    // Manifests are still not documented as code.
    assert_eq!(skips(&events).len(), 3);
    let Some(EventBody::IngestCompleted(done)) = events.last().map(|e| &e.body) else {
        panic!("ingest ends with ingest.completed");
    };
    let [problem] = &done.diagnostics[..] else {
        panic!("one diagnostic: {:?}", done.diagnostics);
    };
    assert_eq!(
        (problem.path.as_str(), problem.line),
        ("crates/cli/Cargo.toml", 3)
    );
}
