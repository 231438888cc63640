//! The fixture repositories under `tests/fixtures/<lang>/`, run through the real `doctown ingest`:
//! a snapshot of what is extracted from each, the structural invariants of the event stream,
//! and determinism. Agreement with each language's own parser is in `tests/accuracy/`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use doctown_core::events::{idempotency_key, Event};
use serde_json::Value;

const MAX_CHUNK_TOKENS: u64 = 254;

fn fixture_dir(lang: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).join(lang)
}

/// Runs `doctown ingest DIR` and parses its JSON lines.
fn ingest(dir: &Path) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("ingest")
        .arg(dir)
        .output()
        .expect("cannot run doctown");
    assert!(
        output.status.success(),
        "doctown ingest {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("events are UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn name(event: &Value) -> &str {
    event["event"].as_str().expect("every event has a name")
}

fn payloads<'a>(events: &'a [Value], event: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events
        .iter()
        .filter(move |e| name(e) == event)
        .map(|e| &e["payload"])
}

fn completed(events: &[Value]) -> &Value {
    let last = events.last().expect("no events");
    assert_eq!(name(last), "ingest.completed.v1", "the last event");
    &last["payload"]
}

/// Every symbol once, in the order first seen.
fn symbols(events: &[Value]) -> Vec<&Value> {
    let mut seen = HashSet::new();
    payloads(events, "ingest.chunk_created.v1")
        .map(|p| &p["symbol"])
        .filter(|s| seen.insert(s["id"].as_str().expect("symbol id")))
        .collect()
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {value}"))
}

fn u64_of(value: &Value, field: &str) -> u64 {
    value[field]
        .as_u64()
        .unwrap_or_else(|| panic!("`{field}` is not a number in {value}"))
}

/// The snapshot text: symbols, skipped files and diagnostics.
fn outline(events: &[Value]) -> String {
    let mut rows: Vec<(String, u64, String, String)> = symbols(events)
        .into_iter()
        .map(|s| {
            let (path, start) = (str_of(s, "path"), u64_of(s, "start_line"));
            let qualified = str_of(s, "qualified_name");
            let line = format!(
                "{} {qualified} {path}:{start}-{} vis={} doc={}",
                str_of(s, "kind"),
                u64_of(s, "end_line"),
                s["visibility"].as_str().unwrap_or("-"),
                if s["doc"].as_str().is_some_and(|d| !d.is_empty()) {
                    "yes"
                } else {
                    "no"
                },
            );
            (path.to_owned(), start, qualified.to_owned(), line)
        })
        .collect();
    rows.sort();
    let mut out = String::from("# symbols\n");
    for (_, _, _, line) in rows {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\n# skipped\n");
    for skip in payloads(events, "ingest.file_skipped.v1") {
        writeln!(out, "{} {}", str_of(skip, "path"), str_of(skip, "reason")).unwrap();
    }
    out.push_str("\n# diagnostics\n");
    for diag in completed(events)["diagnostics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        writeln!(
            out,
            "{}:{} {}",
            str_of(diag, "path"),
            u64_of(diag, "line"),
            str_of(diag, "message")
        )
        .unwrap();
    }
    out
}

fn snapshot(lang: &str) {
    let events = ingest(&fixture_dir(lang));
    insta::assert_snapshot!(lang, outline(&events));
}

fn check_invariants(lang: &str) {
    let events = ingest(&fixture_dir(lang));
    assert_eq!(name(&events[0]), "ingest.started.v1", "{lang}: first event");

    // Envelope: seq counts from 0, keys are unique and derived from the job and the payload.
    let mut keys = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(u64_of(event, "seq"), i as u64, "{lang}: seq of {event}");
        let key = str_of(event, "idempotency_key");
        assert!(keys.insert(key), "{lang}: idempotency key {key} repeats");
        let typed: Event = serde_json::from_value(event.clone()).expect("a valid event");
        assert_eq!(
            idempotency_key(&typed.job_id, &typed.body),
            key,
            "{lang}: idempotency key of {event}"
        );
    }

    // Chunks: within the token budget, unique ids, each naming the symbol it travels with.
    let mut chunk_ids = HashSet::new();
    let mut by_id: HashMap<&str, Value> = HashMap::new();
    for payload in payloads(&events, "ingest.chunk_created.v1") {
        let (chunk, symbol) = (&payload["chunk"], &payload["symbol"]);
        let tokens = u64_of(chunk, "tokens");
        assert!(
            tokens <= MAX_CHUNK_TOKENS,
            "{lang}: chunk {} of {} has {tokens} tokens",
            str_of(chunk, "id"),
            str_of(symbol, "qualified_name")
        );
        assert!(
            chunk_ids.insert(str_of(chunk, "id")),
            "{lang}: chunk id {} repeats",
            chunk["id"]
        );
        assert!(
            u64_of(chunk, "part") < u64_of(chunk, "parts"),
            "{lang}: {chunk}"
        );
        assert_eq!(chunk["symbol_id"], symbol["id"], "{lang}: chunk's symbol");
        assert_eq!(chunk["path"], symbol["path"], "{lang}: chunk's path");
        // A symbol id names one symbol: every chunk of it carries the same symbol, the first
        // with its doc and references, later parts without them.
        let id = str_of(symbol, "id");
        let mut slim = symbol.clone();
        slim.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "doc" && k != "references");
        if u64_of(chunk, "part") > 0 {
            assert_eq!(
                &slim, symbol,
                "{lang}: later parts carry neither doc nor references"
            );
        }
        if let Some(earlier) = by_id.insert(id, slim) {
            assert_eq!(earlier, by_id[id], "{lang}: two symbols share the id {id}");
        }
    }
    let symbols = symbols(&events);
    assert_eq!(symbols.len(), by_id.len());

    // Parents: every symbol but a file's own one has a parent in the same file.
    let detected: BTreeSet<&str> = payloads(&events, "ingest.file_detected.v1")
        .map(|p| str_of(p, "path"))
        .collect();
    let mut file_symbols: BTreeMap<&str, usize> = BTreeMap::new();
    for symbol in &symbols {
        let path = str_of(symbol, "path");
        assert!(detected.contains(path), "{lang}: {path} was not detected");
        match symbol["parent"].as_str() {
            None => {
                *file_symbols.entry(path).or_default() += 1;
                assert!(
                    matches!(str_of(symbol, "kind"), "file" | "module")
                        && u64_of(symbol, "start_line") == 1,
                    "{lang}: {symbol} has no parent but is not its file's symbol"
                );
            }
            Some(parent) => {
                let parent = by_id.get(parent).unwrap_or_else(|| {
                    panic!("{lang}: the parent of {symbol} is not a known symbol")
                });
                assert_eq!(parent["path"], symbol["path"], "{lang}: parent of {symbol}");
            }
        }
    }
    for path in &detected {
        assert_eq!(
            file_symbols.get(path),
            Some(&1),
            "{lang}: {path} needs exactly one file-level symbol"
        );
    }

    // The summary counts what was streamed.
    let summary = completed(&events);
    let count = |event: &str| payloads(&events, event).count() as u64;
    assert_eq!(summary["status"], "ok", "{lang}");
    assert_eq!(
        u64_of(summary, "files_detected"),
        count("ingest.file_detected.v1"),
        "{lang}: files_detected"
    );
    assert_eq!(
        u64_of(summary, "files_skipped"),
        count("ingest.file_skipped.v1"),
        "{lang}: files_skipped"
    );
    assert_eq!(
        u64_of(summary, "symbols"),
        symbols.len() as u64,
        "{lang}: symbols"
    );
    assert_eq!(
        u64_of(summary, "chunks"),
        count("ingest.chunk_created.v1"),
        "{lang}: chunks"
    );
    let bytes: u64 = payloads(&events, "ingest.file_detected.v1")
        .map(|p| u64_of(p, "bytes"))
        .sum();
    assert_eq!(u64_of(summary, "bytes"), bytes, "{lang}: bytes");
}

/// Two runs give the same events, apart from what names the run: its job and trace ids, the
/// timestamps, and the idempotency key (derived from the job id; checked in the invariants).
fn check_deterministic(lang: &str) {
    let strip = |mut events: Vec<Value>| {
        for event in &mut events {
            let envelope = event.as_object_mut().expect("an event is an object");
            for field in ["job_id", "trace_id", "timestamp", "idempotency_key"] {
                assert!(envelope.remove(field).is_some(), "{field} is missing");
            }
        }
        events
    };
    let first = strip(ingest(&fixture_dir(lang)));
    let second = strip(ingest(&fixture_dir(lang)));
    assert_eq!(first.len(), second.len(), "{lang}: event count");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a, b, "{lang}: the runs differ");
    }
}

macro_rules! fixture_tests {
    ($($lang:ident),* $(,)?) => {$(
        mod $lang {
            #[test]
            fn snapshot() {
                super::snapshot(stringify!($lang));
            }

            #[test]
            fn invariants() {
                super::check_invariants(stringify!($lang));
            }

            #[test]
            fn deterministic() {
                super::check_deterministic(stringify!($lang));
            }
        }
    )*};
}

fixture_tests!(rust, python, go, javascript, typescript, tsx);

#[test]
fn every_fixture_has_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(fixture_dir(""))
        .expect("tests/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found,
        ["go", "javascript", "python", "rust", "tsx", "typescript"]
    );
    // Each fixture's own `.gitignore` excludes one of its files, so git ignores that file in
    // this repository too: it is committed with `git add -f`.
    for path in [
        "go/generated_local.go",
        "javascript/generated_local.js",
        "python/generated_local.py",
        "rust/src/generated_local.rs",
        "tsx/src/generated_local.tsx",
        "typescript/generated_local.ts",
    ] {
        assert!(
            fixture_dir(path).is_file(),
            "tests/fixtures/{path} is missing: it is gitignored by its fixture, add it with `git add -f`"
        );
    }
}
