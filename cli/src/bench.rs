//! `doctown bench`: stage throughput beside a reference run, in one process and one run.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Subcommand;
use doctown_core::events::{json_line, Clock, Emitter, Event, EventSink};
use doctown_core::extract::Extractor;
use doctown_core::ingest::ingest;
use doctown_core::lang::{Language, Visit, Walk};
use doctown_core::policy::{classify_content, classify_path};
use doctown_core::source::Entry;

use crate::sources::{self, SourceOptions};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Full ingest (filter, parse, queries, chunks, events as JSON) against a bare tree-sitter
    /// parse of the same files.
    Ingest {
        /// What to ingest (as `doctown ingest`).
        source: String,
        /// Rounds; each runs both sides, alternating, and the median round counts.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// all-MiniLM-L6-v2 throughput: candle in-process beside sentence-transformers (PyTorch,
    /// CPU) on the same texts and thread count, at ~64, ~128 and ~256 tokens; then gpu-service
    /// under 8 concurrent clients; and peak memory of each side.
    Embed(crate::bench_embed::EmbedBench),
    /// Assembly time at 1k, 10k and 50k symbols; PageRank beside petgraph's at 4k nodes;
    /// clustering beside the plain `hdbscan` call on the full-dimension vectors.
    Assemble(crate::bench_assemble::AssembleBench),
    /// One repository through the edge Worker (workerd, `wrangler dev`) and through the CLI,
    /// embedding excluded: time and peak memory side by side.
    Edge(crate::bench_edge::EdgeBench),
    /// N jobs at once on the local edge stack: jobs per minute, p50/p95 job time, events checked
    /// to stay within their job, gpu-service's queue.
    Load(crate::bench_load::LoadBench),
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest { source, rounds } => bench_ingest(&source, rounds.max(1)).await,
        BenchCommand::Embed(args) => crate::bench_embed::run(args).await,
        BenchCommand::Assemble(args) => crate::bench_assemble::run(args),
        BenchCommand::Edge(args) => crate::bench_edge::run(args).await,
        BenchCommand::Load(args) => crate::bench_load::run(args).await,
    }
}

/// Serialises every event as the CLI would, into memory, and counts bytes.
#[derive(Default)]
struct CountingSink {
    events: u64,
    bytes: u64,
}

impl EventSink for CountingSink {
    fn emit(&mut self, event: Event) {
        self.events += 1;
        self.bytes += serde_json::to_vec(&event).map_or(0, |v| v.len() as u64 + 1);
    }

    fn emit_serialized(&mut self, event: Event, payload_json: &[u8]) {
        self.events += 1;
        self.bytes += json_line(&event, payload_json).len() as u64 + 1;
    }
}

struct ZeroClock;
impl Clock for ZeroClock {
    fn now_ms(&self) -> u64 {
        0
    }
}

async fn bench_ingest(source: &str, rounds: usize) -> Result<()> {
    let options = SourceOptions::default();
    let snapshot = sources::load(source, &options).await?;
    let limits = options.limits;
    // The bare side parses the files that pass the path and content checks (the per-job limits
    // and .gitignore, which full ingest also applies, drop none of a benchmark corpus).
    let files: Vec<(Language, String)> = snapshot
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::File { path, bytes } => {
                let language = classify_path(path).ok()?;
                let text = classify_content(language, bytes, &limits).ok()?;
                Some((language, text.to_owned()))
            }
            Entry::Skipped { .. } => None,
        })
        .collect();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    if files.is_empty() {
        bail!("{source}: no supported source files to measure");
    }

    // Compile every language's queries before timing anything.
    let mut warm = Extractor::new();
    for (language, text) in &files {
        warm.extract("warm-up", *language, text);
    }

    let mut bare_times = Vec::new();
    let mut walk_times = Vec::new();
    let mut extract_times = Vec::new();
    let mut full_times = Vec::new();
    let mut counts = (0u64, 0u64, 0u64);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut extractor = Extractor::new();
        let mut nodes = 0usize;
        for (language, text) in &files {
            if let Some(tree) = extractor.parse(*language, text) {
                nodes += tree.root_node().descendant_count();
            }
        }
        bare_times.push(started.elapsed());
        std::hint::black_box(nodes);

        let started = Instant::now();
        let mut walked = 0usize;
        for (language, text) in &files {
            if let Some(tree) = extractor.parse(*language, text) {
                walked += walk_tree(&tree);
            }
        }
        walk_times.push(started.elapsed());
        std::hint::black_box(walked);

        let started = Instant::now();
        let mut chunks = 0usize;
        for (i, (language, text)) in files.iter().enumerate() {
            chunks += extractor
                .extract(&i.to_string(), *language, text)
                .chunks
                .len();
        }
        extract_times.push(started.elapsed());
        std::hint::black_box(chunks);

        let copy = snapshot.clone();
        let started = Instant::now();
        let mut emitter = Emitter::new("bench", "bench", CountingSink::default(), ZeroClock);
        let summary = ingest(copy, &limits, &mut emitter);
        full_times.push(started.elapsed());
        let sink = emitter.into_sink();
        counts = (summary.chunks, sink.events, sink.bytes);
    }
    let bare = median(&mut bare_times);
    let walk = median(&mut walk_times);
    let extract = median(&mut extract_times);
    let full = median(&mut full_times);
    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!("doctown bench ingest: {source}");
    println!(
        "  {} files, {:.2} MB of source, {} chunks, {} events ({:.2} MB of JSON)",
        files.len(),
        mb,
        counts.0,
        counts.1,
        counts.2 as f64 / 1e6
    );
    println!("  median of {rounds} rounds, every side in each round:");
    for (label, time) in [
        ("bare tree-sitter parse (reference)", bare),
        ("parse + a walk over the named nodes", walk),
        ("extraction (parse, queries, chunks)", extract),
        ("full ingest (+ filters, events, JSON)", full),
    ] {
        println!(
            "  {label:<38} {:>9.1} ms {:>9.2} MB/s",
            time.as_secs_f64() * 1e3,
            rate(time)
        );
    }
    println!(
        "  ratio full / bare throughput: {:.2}x (goal >= 0.70x); parse + walk / bare: {:.2}x",
        rate(full) / rate(bare),
        rate(walk) / rate(bare)
    );
    Ok(())
}
/// Enters every named node of a tree with the walk Doctown's extraction uses: the floor under
/// any extraction that looks at the whole tree.
fn walk_tree(tree: &tree_sitter::Tree) -> usize {
    Walk::new(tree.root_node(), &[])
        .filter(|visit| matches!(visit, Visit::Enter(_)))
        .count()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
