//! The ingest stage: a repository snapshot → `ingest.*.v1` events, streamed file by file.
//!
//! Files are visited in path order so the stream (and everything built from it) does not depend
//! on the order a host listed them in. Each file's chunks are emitted as soon as it is parsed.

use serde::{Deserialize, Serialize};

use crate::events::{
    ChunkCreated, Clock, Emitter, EventSink, FileDetected, FileSkipped, IngestCompleted,
    IngestStarted, Status,
};
use crate::extract::{Diagnostic, Extractor};
use crate::hash::sha256_hex;
use crate::manifest;
use crate::policy::{
    classify_content, classify_path, is_gitignore, IgnoreRules, Limits, Skip, SkipReason,
};
use crate::source::{Entry, Snapshot};
use crate::symbols::Symbol;

/// Counts of one ingest, as in `ingest.completed.v1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestSummary {
    pub files_detected: u64,
    pub files_skipped: u64,
    pub symbols: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether a per-job limit (file count, total bytes) skipped any file.
    pub limited: bool,
}

/// Runs ingest over a snapshot, emitting every event through `emitter`.
pub fn ingest<S: EventSink, C: Clock>(
    snapshot: Snapshot,
    limits: &Limits,
    emitter: &mut Emitter<S, C>,
) -> IngestSummary {
    let mut run = Ingest::start(snapshot, emitter);
    run.step(u64::MAX, limits, emitter);
    run.finish(emitter)
}

/// Ingest in steps, for hosts that checkpoint between them (the edge's Durable Object): after
/// each [`Ingest::step`] the host may save [`Ingest::position`] and later [`Ingest::resume`]
/// from the same snapshot, and the events continue as if nothing had happened.
pub struct Ingest {
    commit: Option<String>,
    /// The entries not yet ingested, in path order.
    entries: std::vec::IntoIter<Entry>,
    rules: IgnoreRules,
    position: IngestPosition,
    extractor: Extractor,
}

/// How far an ingest has come: the entries done (in path order) and the counts so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestPosition {
    pub entries_done: usize,
    pub summary: IngestSummary,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("position", &self.position)
            .field("entries_left", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// Emits `ingest.started` and gets ready for the first file.
    pub fn start<S: EventSink, C: Clock>(snapshot: Snapshot, emitter: &mut Emitter<S, C>) -> Self {
        emitter.emit(IngestStarted {
            source: snapshot.source.clone(),
        });
        Self::resume(snapshot, IngestPosition::default())
    }

    /// Continues an ingest of the same snapshot from `position`, emitting nothing.
    pub fn resume(snapshot: Snapshot, position: IngestPosition) -> Self {
        let Snapshot {
            source,
            mut entries,
        } = snapshot;
        entries.sort_by(|a, b| a.path().cmp(b.path()));
        let mut rules = IgnoreRules::default();
        for entry in &entries {
            if let Entry::File { path, bytes } = entry {
                if is_gitignore(path) {
                    rules.add(path, &String::from_utf8_lossy(bytes));
                }
            }
        }
        let mut entries = entries.into_iter();
        if position.entries_done > 0 {
            entries.nth(position.entries_done - 1);
        }
        Ingest {
            commit: source.commit,
            entries,
            rules,
            position,
            extractor: Extractor::new(),
        }
    }

    pub fn position(&self) -> &IngestPosition {
        &self.position
    }

    /// Ingests files in path order until `max_bytes` of source have been read (at least one
    /// entry either way); returns whether every entry is done.
    pub fn step<S: EventSink, C: Clock>(
        &mut self,
        max_bytes: u64,
        limits: &Limits,
        emitter: &mut Emitter<S, C>,
    ) -> bool {
        let mut read = 0u64;
        while read < max_bytes {
            let Some(entry) = self.entries.next() else {
                return true;
            };
            self.position.entries_done += 1;
            read += match &entry {
                Entry::File { bytes, .. } => bytes.len() as u64,
                Entry::Skipped { .. } => 0,
            };
            self.entry(entry, limits, emitter);
        }
        self.entries.len() == 0
    }

    fn entry<S: EventSink, C: Clock>(
        &mut self,
        entry: Entry,
        limits: &Limits,
        emitter: &mut Emitter<S, C>,
    ) {
        let summary = &mut self.position.summary;
        let (path, bytes) = match entry {
            Entry::File { path, bytes } => (path, bytes),
            Entry::Skipped { path, skip } => {
                // What .gitignore excludes is reported as such, whoever skipped it first.
                let skip = self.rules.skip(&path, path.ends_with('/')).unwrap_or(skip);
                skipped(emitter, summary, path, skip);
                return;
            }
        };
        let checked = self
            .rules
            .skip(&path, false)
            .map_or_else(|| classify_path(&path), Err)
            .and_then(|language| {
                classify_content(language, &bytes, limits).map(|text| (language, text))
            })
            .and_then(|found| within_limits(summary, found.1.len() as u64, limits).map(|()| found));
        let (language, text) = match checked {
            Ok(found) => found,
            Err(skip) => {
                // A package manifest is not documented as code, but tells where packages are.
                if skip.reason == SkipReason::UnsupportedLanguage {
                    match manifest::package(&path, &bytes) {
                        Some(Ok(package)) => emitter.emit(package),
                        Some(Err(problem)) => summary.diagnostics.push(problem),
                        None => {}
                    }
                }
                skipped(emitter, summary, path, skip);
                return;
            }
        };
        emitter.emit(FileDetected {
            path: path.clone(),
            language,
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
        summary.files_detected += 1;
        summary.bytes += bytes.len() as u64;

        let outline = self.extractor.extract(&path, language, text);
        summary.symbols += outline.symbols.len() as u64;
        summary.chunks += outline.chunks.len() as u64;
        summary.diagnostics.extend(outline.diagnostics);
        // Chunks come grouped by symbol, in symbol order, every symbol with at least one. The
        // symbol's doc and references travel once, with its first part; later parts carry the
        // rest of the record.
        let mut symbols = outline.symbols.into_iter();
        let mut current = None;
        for chunk in outline.chunks {
            let symbol = if chunk.part == 0 {
                let symbol = symbols.find(|s| s.id == chunk.symbol_id);
                current = symbol
                    .as_ref()
                    .filter(|_| chunk.parts > 1)
                    .map(Symbol::without_details);
                symbol
            } else {
                current.clone()
            };
            if let Some(symbol) = symbol {
                emitter.emit(ChunkCreated { chunk, symbol });
            }
        }
    }

    /// Emits `ingest.completed` with the counts.
    pub fn finish<S: EventSink, C: Clock>(self, emitter: &mut Emitter<S, C>) -> IngestSummary {
        let summary = self.position.summary;
        // Files dropped by a per-job limit leave the repository partly documented.
        let status = if summary.limited {
            Status::Partial
        } else {
            Status::Ok
        };
        emitter.emit(IngestCompleted {
            status,
            commit: self.commit,
            files_detected: summary.files_detected,
            files_skipped: summary.files_skipped,
            symbols: summary.symbols,
            chunks: summary.chunks,
            bytes: summary.bytes,
            diagnostics: summary.diagnostics.clone(),
        });
        summary
    }
}

fn within_limits(summary: &IngestSummary, size: u64, limits: &Limits) -> Result<(), Skip> {
    if summary.files_detected as usize >= limits.max_files {
        return Err(Skip::new(
            SkipReason::FileLimit,
            format!(
                "past the {}-file limit per job (MAX_FILES); document a subdirectory to include it",
                limits.max_files
            ),
        ));
    }
    if summary.bytes + size > limits.max_total_bytes {
        return Err(Skip::new(
            SkipReason::TotalLimit,
            format!(
                "past the {}-byte limit of source per job (MAX_TOTAL_BYTES); document a subdirectory to include it",
                limits.max_total_bytes
            ),
        ));
    }
    Ok(())
}

fn skipped<S: EventSink, C: Clock>(
    emitter: &mut Emitter<S, C>,
    summary: &mut IngestSummary,
    path: String,
    skip: Skip,
) {
    summary.files_skipped += 1;
    summary.limited |= matches!(skip.reason, SkipReason::FileLimit | SkipReason::TotalLimit);
    emitter.emit(FileSkipped {
        path,
        reason: skip.reason,
        detail: skip.detail,
    });
}
