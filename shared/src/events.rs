//! The versioned pipeline events (`*.v1`), one envelope for all of them.
//!
//! Every stage reports through these; the CLI prints them as JSON lines and the edge pushes them
//! over WebSockets. Serialised as `{"event", "job_id", "trace_id", "seq", "idempotency_key",
//! "timestamp", "payload"}`. The idempotency key is derived from the job and the payload only, so
//! a replayed event (same job, same content) dedupes, whatever its `seq` or timestamp.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::extract::Diagnostic;
use crate::lang::Language;
use crate::policy::SkipReason;
use crate::source::SourceInfo;
use crate::symbols::{Chunk, Symbol};
use xxhash_rust::xxh3::Xxh3;

/// How a stage or job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Finished, but some input was skipped after retries (listed in the payload).
    Partial,
    Failed,
}

/// An event: the envelope and a typed payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub job_id: String,
    pub trace_id: String,
    /// Monotonic per job, from 0.
    pub seq: u64,
    pub idempotency_key: String,
    /// Unix time in milliseconds, read by the host (the core has no clock).
    pub timestamp: u64,
    #[serde(flatten)]
    pub body: EventBody,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Event", 7)?;
        s.serialize_field("event", self.body.name())?;
        s.serialize_field("job_id", &self.job_id)?;
        s.serialize_field("trace_id", &self.trace_id)?;
        s.serialize_field("seq", &self.seq)?;
        s.serialize_field("idempotency_key", &self.idempotency_key)?;
        s.serialize_field("timestamp", &self.timestamp)?;
        self.body.serialize_payload(&mut s)?;
        s.end()
    }
}

macro_rules! events {
    ($($variant:ident => $name:literal,)*) => {
        /// Every event of the seed, tagged by its versioned name.
        // `ChunkCreated` (a chunk and its symbol) dwarfs the rest; events are built once and
        // moved straight into a sink, so boxing it would buy nothing measurable.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(tag = "event", content = "payload")]
        pub enum EventBody {
            $(#[serde(rename = $name)] $variant($variant),)*
        }

        impl EventBody {
            /// The versioned event name, e.g. `ingest.chunk_created.v1`.
            pub fn name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $name,)* }
            }

            /// Every event name, in pipeline order.
            pub const NAMES: &'static [&'static str] = &[$($name,)*];

            fn serialize_payload<S: SerializeStruct>(&self, s: &mut S) -> Result<(), S::Error> {
                match self { $(Self::$variant(p) => s.serialize_field("payload", p),)* }
            }

            fn write_payload(&self, out: &mut Vec<u8>) {
                if let Self::ChunkCreated(payload) = self {
                    return crate::json::chunk_created(payload, out);
                }
                let written = match self { $(Self::$variant(p) => serde_json::to_writer(&mut *out, p),)* };
                // Payloads are plain data (strings, numbers, vectors) and the writers here are
                // in memory: serialising cannot fail.
                debug_assert!(written.is_ok());
            }
        }

        $(impl From<$variant> for EventBody {
            fn from(payload: $variant) -> Self { Self::$variant(payload) }
        })*
    };
}

events! {
    IngestStarted => "ingest.started.v1",
    FileDetected => "ingest.file_detected.v1",
    FileSkipped => "ingest.file_skipped.v1",
    PackageFound => "ingest.package_found.v1",
    ChunkCreated => "ingest.chunk_created.v1",
    IngestCompleted => "ingest.completed.v1",
    EmbeddingStarted => "embedding.started.v1",
    EmbeddingBatchStarted => "embedding.batch_started.v1",
    ChunkVector => "embedding.chunk_vector.v1",
    EmbeddingBatchCompleted => "embedding.batch_completed.v1",
    EmbeddingCompleted => "embedding.completed.v1",
    AssemblyStarted => "assembly.started.v1",
    ClusterCreated => "assembly.cluster_created.v1",
    GraphCompleted => "assembly.graph_completed.v1",
    AssemblyCompleted => "assembly.completed.v1",
    GenerationStarted => "generation.started.v1",
    SymbolDocumented => "generation.symbol_documented.v1",
    GenerationCompleted => "generation.completed.v1",
    PackStarted => "pack.started.v1",
    PackCompleted => "pack.completed.v1",
    JobCompleted => "job.completed.v1",
}

// ---------------------------------------------------------------- ingest

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestStarted {
    pub source: SourceInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDetected {
    pub path: String,
    pub language: Language,
    pub bytes: u64,
    pub sha256: String,
}

/// A package manifest (`Cargo.toml`, `package.json`, `go.mod`): its directory roots a package
/// that the repository's other code reaches by `name` ([`crate::manifest`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFound {
    /// The manifest's path; its directory is the package's root.
    pub manifest: String,
    /// The name code writes for the package (`polars_core`, `@tanstack/query-core`,
    /// `github.com/spf13/cobra`).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSkipped {
    pub path: String,
    pub reason: SkipReason,
    /// A human sentence: what was seen and, where one exists, how to include the file anyway.
    pub detail: String,
}

/// A chunk and its symbol. The symbol's `doc` and `references` come with the chunk of part 0
/// only (they belong to the symbol, not to a part); later parts carry the rest of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkCreated {
    pub chunk: Chunk,
    pub symbol: Symbol,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestCompleted {
    pub status: Status,
    /// The resolved commit, when the source can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub files_detected: u64,
    pub files_skipped: u64,
    pub symbols: u64,
    pub chunks: u64,
    /// Bytes of the detected (parsed) files.
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

// ---------------------------------------------------------------- embedding

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingStarted {
    pub model: String,
    pub dimensions: u32,
    /// The chunks to embed when known up front; 0 when they stream in from ingest.
    pub chunks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingBatchStarted {
    pub batch_id: String,
    pub chunk_ids: Vec<String>,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkVector {
    pub chunk_id: String,
    pub batch_id: String,
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingBatchCompleted {
    pub batch_id: String,
    pub status: Status,
    pub vectors: u64,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingCompleted {
    pub status: Status,
    pub vectors: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_chunks: Vec<String>,
}

// ---------------------------------------------------------------- assembly

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssemblyStarted {
    pub symbols: u64,
    pub vectors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterCreated {
    pub cluster_id: String,
    pub label: String,
    pub members: Vec<String>,
    pub top_terms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphCompleted {
    pub nodes: u64,
    pub edges: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssemblyCompleted {
    pub status: Status,
    pub nodes: u64,
    pub edges: u64,
    pub clusters: u64,
}

// ---------------------------------------------------------------- generation

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStarted {
    pub symbols: u64,
    pub verbalizer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolDocumented {
    pub symbol_id: String,
    pub doc: String,
    pub verbalizer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationCompleted {
    pub status: Status,
    pub documented: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

// ---------------------------------------------------------------- pack and job

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackStarted {
    pub nodes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackCompleted {
    pub status: Status,
    pub docpack_id: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCompleted {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docpack_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// ---------------------------------------------------------------- emitting

/// Where events go: a host writes them out, pushes them to clients, or collects them.
pub trait EventSink {
    fn emit(&mut self, event: Event);

    /// Takes an event together with its payload already serialised as JSON (the bytes its
    /// idempotency key was derived from), so a sink that writes JSON need not serialise the
    /// payload a second time: see [`json_line`].
    fn emit_serialized(&mut self, event: Event, _payload_json: &[u8]) {
        self.emit(event);
    }
}

/// `event` as JSON (no newline), byte for byte as its `Serialize` writes it, with
/// `payload_json` (the payload's JSON, as given to [`EventSink::emit_serialized`]) copied in.
pub fn json_line(event: &Event, payload_json: &[u8]) -> Vec<u8> {
    use crate::json::{number, string};
    let mut out = Vec::with_capacity(payload_json.len() + 256);
    out.extend_from_slice(b"{\"event\":");
    string(event.body.name(), &mut out);
    out.extend_from_slice(b",\"job_id\":");
    string(&event.job_id, &mut out);
    out.extend_from_slice(b",\"trace_id\":");
    string(&event.trace_id, &mut out);
    out.extend_from_slice(b",\"seq\":");
    number(event.seq, &mut out);
    out.extend_from_slice(b",\"idempotency_key\":");
    string(&event.idempotency_key, &mut out);
    out.extend_from_slice(b",\"timestamp\":");
    number(event.timestamp, &mut out);
    out.extend_from_slice(b",\"payload\":");
    out.extend_from_slice(payload_json);
    out.push(b'}');
    out
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, event: Event) {
        self.push(event);
    }
}

/// The host's clock, in Unix milliseconds.
pub trait Clock {
    fn now_ms(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// Wraps payloads in envelopes for one job: numbers them and derives their idempotency keys.
#[derive(Debug)]
pub struct Emitter<S, C> {
    job_id: String,
    trace_id: String,
    next_seq: u64,
    sink: S,
    clock: C,
    /// The payload being emitted, as JSON; kept to reuse its allocation.
    payload: Vec<u8>,
}

impl<S: EventSink, C: Clock> Emitter<S, C> {
    pub fn new(job_id: impl Into<String>, trace_id: impl Into<String>, sink: S, clock: C) -> Self {
        Emitter {
            job_id: job_id.into(),
            trace_id: trace_id.into(),
            next_seq: 0,
            sink,
            clock,
            payload: Vec::new(),
        }
    }

    pub fn emit(&mut self, body: impl Into<EventBody>) {
        let body = body.into();
        // The payload is serialised once: its bytes give the key and go to the sink.
        self.payload.clear();
        body.write_payload(&mut self.payload);
        let idempotency_key = key_of(&self.job_id, body.name(), &self.payload);
        let event = Event {
            job_id: self.job_id.clone(),
            trace_id: self.trace_id.clone(),
            seq: self.next_seq,
            idempotency_key,
            timestamp: self.clock.now_ms(),
            body,
        };
        self.next_seq += 1;
        self.sink.emit_serialized(event, &self.payload);
    }

    /// Numbers events from `next_seq` on: a host resuming a job from a checkpoint continues
    /// its sequence where the checkpoint left it.
    pub fn continue_at(mut self, next_seq: u64) -> Self {
        self.next_seq = next_seq;
        self
    }

    /// The sequence number the next event gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The host's clock.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Passes on an event of this job made by another emitter (a stage on another thread):
    /// it takes this emitter's next sequence number and keeps its key and timestamp.
    pub fn forward(&mut self, mut event: Event) {
        event.seq = self.next_seq;
        self.next_seq += 1;
        self.sink.emit(event);
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    pub fn into_sink(self) -> S {
        self.sink
    }
}

/// The key consumers dedupe by: the same job and the same content give the same key (a hash of
/// the job id, the event name and the payload's JSON).
pub fn idempotency_key(job_id: &str, body: &EventBody) -> String {
    let mut payload = Vec::new();
    body.write_payload(&mut payload);
    key_of(job_id, body.name(), &payload)
}

/// 64 bits of XXH3, in hex. A key only tells one event of a job from another, so a fast
/// non-cryptographic hash serves: a job's own input can at worst make two of its own events
/// share a key. SHA-256 over every payload took 26 ms of the 570 ms that ingesting 9.4 MB of
/// Rust costs beyond the parse.
fn key_of(job_id: &str, event: &str, payload_json: &[u8]) -> String {
    let mut hasher = Xxh3::new();
    hasher.update(job_id.as_bytes());
    hasher.update(&[0]);
    hasher.update(event.as_bytes());
    hasher.update(&[0]);
    hasher.update(payload_json);
    format!("{:016x}", hasher.digest())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;

    struct FixedClock;
    impl Clock for FixedClock {
        fn now_ms(&self) -> u64 {
            1_700_000_000_000
        }
    }

    #[test]
    fn envelope_orders_fields_and_round_trips() {
        let mut emitter = Emitter::new("job-1", "trace-1", Vec::new(), FixedClock);
        emitter.emit(IngestStarted {
            source: SourceInfo {
                kind: SourceKind::Directory,
                location: "/repo".into(),
                git_ref: None,
                commit: None,
            },
        });
        emitter.emit(JobCompleted {
            status: Status::Failed,
            docpack_id: None,
            skipped_files: vec!["a.rs".into()],
            reason: Some("no supported files".into()),
        });
        let events = emitter.into_sink();
        assert_eq!(events[1].seq, 1);
        for event in &events {
            let mut payload = Vec::new();
            event.body.write_payload(&mut payload);
            assert_eq!(
                String::from_utf8(json_line(event, &payload)).unwrap(),
                serde_json::to_string(event).unwrap()
            );
        }
        let json = serde_json::to_string(&events[0]).unwrap();
        assert!(
            json.starts_with(
                r#"{"event":"ingest.started.v1","job_id":"job-1","trace_id":"trace-1","seq":0,"#
            ),
            "{json}"
        );
        assert!(
            json.contains(r#""timestamp":1700000000000,"payload":{"source":"#),
            "{json}"
        );
        for event in &events {
            let back: Event = serde_json::from_str(&serde_json::to_string(event).unwrap()).unwrap();
            assert_eq!(&back, event);
        }
    }

    /// One of every event, with every optional field set.
    fn one_of_each() -> Vec<EventBody> {
        use crate::lang::Language;
        use crate::policy::SkipReason;
        use crate::symbols::{RawReference, ReferenceKind, Span, SymbolKind, Visibility};
        let span = Span {
            start_byte: 0,
            end_byte: 9,
            start_line: 1,
            end_line: 1,
        };
        let symbol = Symbol {
            id: "s1".into(),
            kind: SymbolKind::Method,
            name: "run".into(),
            qualified_name: "crate::Session::run".into(),
            language: Language::Rust,
            path: "src/lib.rs".into(),
            span,
            parent: Some("s0".into()),
            signature: "fn run()".into(),
            doc: Some("Runs.".into()),
            visibility: Some(Visibility::Public),
            references: vec![RawReference {
                kind: ReferenceKind::Call,
                target: "step".into(),
                qualifier: Some("self".into()),
                receiver: false,
                line: 1,
            }],
            complexity: 1,
        };
        let chunk = Chunk {
            id: "c1".into(),
            symbol_id: "s1".into(),
            path: "src/lib.rs".into(),
            language: Language::Rust,
            span,
            part: 0,
            parts: 1,
            tokens: 4,
            text: "fn run() {}".into(),
        };
        let source = SourceInfo {
            kind: SourceKind::GitHub,
            location: "https://github.com/a/b".into(),
            git_ref: Some("main".into()),
            commit: Some("ab".repeat(20)),
        };
        vec![
            IngestStarted { source }.into(),
            FileDetected {
                path: "src/lib.rs".into(),
                language: Language::Rust,
                bytes: 9,
                sha256: "00".repeat(32),
            }
            .into(),
            FileSkipped {
                path: "a.bin".into(),
                reason: SkipReason::Binary,
                detail: "NUL".into(),
            }
            .into(),
            PackageFound {
                manifest: "crates/core/Cargo.toml".into(),
                name: "kv_core".into(),
            }
            .into(),
            ChunkCreated { chunk, symbol }.into(),
            IngestCompleted {
                status: Status::Partial,
                commit: Some("ab".repeat(20)),
                files_detected: 1,
                files_skipped: 1,
                symbols: 2,
                chunks: 1,
                bytes: 9,
                diagnostics: vec![Diagnostic {
                    path: "x.py".into(),
                    line: 3,
                    message: "syntax error".into(),
                }],
            }
            .into(),
            EmbeddingStarted {
                model: "all-MiniLM-L6-v2".into(),
                dimensions: 384,
                chunks: 1,
            }
            .into(),
            EmbeddingBatchStarted {
                batch_id: "b1".into(),
                chunk_ids: vec!["c1".into()],
                attempt: 1,
            }
            .into(),
            ChunkVector {
                chunk_id: "c1".into(),
                batch_id: "b1".into(),
                vector: vec![0.25, -0.5],
            }
            .into(),
            EmbeddingBatchCompleted {
                batch_id: "b1".into(),
                status: Status::Failed,
                vectors: 0,
                attempt: 3,
                error: Some("503".into()),
            }
            .into(),
            EmbeddingCompleted {
                status: Status::Partial,
                vectors: 0,
                skipped_chunks: vec!["c1".into()],
            }
            .into(),
            AssemblyStarted {
                symbols: 2,
                vectors: 1,
            }
            .into(),
            ClusterCreated {
                cluster_id: "k1".into(),
                label: "sessions".into(),
                members: vec!["s1".into()],
                top_terms: vec!["session".into()],
            }
            .into(),
            GraphCompleted { nodes: 2, edges: 1 }.into(),
            AssemblyCompleted {
                status: Status::Ok,
                nodes: 2,
                edges: 1,
                clusters: 1,
            }
            .into(),
            GenerationStarted {
                symbols: 2,
                verbalizer: "template".into(),
                estimated_cost_usd: Some(0.01),
            }
            .into(),
            SymbolDocumented {
                symbol_id: "s1".into(),
                doc: "Runs the session.".into(),
                verbalizer: "template".into(),
            }
            .into(),
            GenerationCompleted {
                status: Status::Ok,
                documented: 2,
                cost_usd: Some(0.0),
            }
            .into(),
            PackStarted { nodes: 2 }.into(),
            PackCompleted {
                status: Status::Ok,
                docpack_id: "d1".into(),
                sha256: "11".repeat(32),
                bytes: 100,
            }
            .into(),
            JobCompleted {
                status: Status::Ok,
                docpack_id: Some("d1".into()),
                skipped_files: vec!["a.bin".into()],
                reason: None,
            }
            .into(),
        ]
    }

    #[test]
    fn every_event_round_trips_through_json() {
        let bodies = one_of_each();
        let names: Vec<&str> = bodies.iter().map(EventBody::name).collect();
        assert_eq!(
            names,
            EventBody::NAMES,
            "one_of_each covers every event, in order"
        );
        let mut emitter = Emitter::new("job", "trace", Vec::new(), FixedClock);
        for body in bodies {
            emitter.emit(body);
        }
        for (seq, event) in emitter.into_sink().into_iter().enumerate() {
            assert_eq!(event.seq, seq as u64);
            let json = serde_json::to_string(&event).unwrap();
            let back: Event = serde_json::from_str(&json).unwrap();
            assert_eq!(back, event, "{json}");
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
    }

    #[test]
    fn replayed_content_has_the_same_key() {
        let body: EventBody = PackStarted { nodes: 3 }.into();
        assert_eq!(
            idempotency_key("j", &body),
            idempotency_key("j", &body.clone())
        );
        assert_ne!(idempotency_key("j", &body), idempotency_key("k", &body));
        let other: EventBody = PackStarted { nodes: 4 }.into();
        assert_ne!(idempotency_key("j", &body), idempotency_key("j", &other));
    }

    #[test]
    fn names_are_versioned_and_unique() {
        let mut names = EventBody::NAMES.to_vec();
        assert_eq!(names.len(), 21);
        assert!(names.iter().all(|n| n.ends_with(".v1")));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 21);
    }
}
