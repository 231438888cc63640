//! `doctown generate`: ingest → embed → assemble → generate → pack, in-process, with progress
//! on the terminal (bars), as plain lines (not a terminal), or as JSON-lines events (`--json`);
//! and `doctown show` / `doctown verify` for the docpack it writes.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use doctown_core::assemble::{assemble, AssemblySettings, Corpus};
use doctown_core::docpack::{self, BuildInput, Docpack, GenerationCost};
use doctown_core::events::{
    Event, EventBody, EventSink, JobCompleted, PackCompleted, PackStarted, Status,
};
use doctown_core::generate::llm::{
    is_reasoning_model, Budget, Estimate, LlmVerbalizer, NameTable, Price,
};
use doctown_core::generate::{generate, Documentation, TemplateVerbalizer, Verbalizer};
use doctown_core::hash::sha256_hex;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::embed::Backend;
use crate::llm::{FileCache, OpenAiClient, Tiktoken};
use crate::sources::SourceOptions;
use crate::JsonLines;

/// Where progress goes.
enum Output {
    Json(JsonLines),
    Bars(Bars),
    Lines,
}

/// Collects what ingest found for assembly, and shows progress, as events pass.
struct Progress {
    corpus: Corpus,
    output: Output,
}

impl EventSink for Progress {
    fn emit_serialized(&mut self, event: Event, payload_json: &[u8]) {
        match &mut self.output {
            Output::Json(lines) => {
                self.corpus.observe(&event.body);
                lines.emit_serialized(event, payload_json);
            }
            _ => self.emit(event),
        }
    }

    fn emit(&mut self, event: Event) {
        self.corpus.observe(&event.body);
        match &mut self.output {
            Output::Json(lines) => lines.emit(event),
            Output::Bars(bars) => bars.update(&event.body),
            Output::Lines => {
                if let Some(line) = milestone(&event.body) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// One line per stage milestone, for logs.
fn milestone(body: &EventBody) -> Option<String> {
    Some(match body {
        EventBody::IngestCompleted(e) => format!(
            "ingest: {} files ({} skipped), {} symbols, {} chunks [{:?}]",
            e.files_detected, e.files_skipped, e.symbols, e.chunks, e.status
        ),
        EventBody::EmbeddingCompleted(e) => format!(
            "embed: {} vectors, {} chunks skipped [{:?}]",
            e.vectors,
            e.skipped_chunks.len(),
            e.status
        ),
        EventBody::AssemblyCompleted(e) => format!(
            "assemble: {} nodes, {} edges, {} clusters [{:?}]",
            e.nodes, e.edges, e.clusters, e.status
        ),
        EventBody::GenerationCompleted(e) => {
            format!(
                "generate: {} symbols documented [{:?}]",
                e.documented, e.status
            )
        }
        EventBody::PackCompleted(e) => format!("pack: {} bytes [{:?}]", e.bytes, e.status),
        _ => return None,
    })
}

/// A bar per stage.
struct Bars {
    ingest: ProgressBar,
    embed: ProgressBar,
    assemble: ProgressBar,
    generate: ProgressBar,
    pack: ProgressBar,
}

impl Bars {
    fn new(files: u64) -> Self {
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{prefix:>9} {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = |name: &str, len: u64| {
            let bar = multi.add(ProgressBar::new(len));
            bar.set_style(style.clone());
            bar.set_prefix(name.to_owned());
            bar
        };
        Bars {
            ingest: bar("ingest", files),
            embed: bar("embed", 0),
            assemble: bar("assemble", 1),
            generate: bar("generate", 0),
            pack: bar("pack", 1),
        }
    }

    fn update(&mut self, body: &EventBody) {
        match body {
            EventBody::FileDetected(_) | EventBody::FileSkipped(_) => self.ingest.inc(1),
            EventBody::ChunkCreated(_) => self.embed.inc_length(1),
            EventBody::ChunkVector(_) => self.embed.inc(1),
            EventBody::ClusterCreated(c) => self.assemble.set_message(c.label.clone()),
            EventBody::GenerationStarted(g) => self.generate.set_length(g.symbols),
            EventBody::SymbolDocumented(_) => self.generate.inc(1),
            _ => {}
        }
        if let Some(line) = milestone(body) {
            let bar = match body {
                EventBody::IngestCompleted(_) => &self.ingest,
                EventBody::EmbeddingCompleted(_) => &self.embed,
                EventBody::AssemblyCompleted(_) => &self.assemble,
                EventBody::GenerationCompleted(_) => &self.generate,
                _ => &self.pack,
            };
            bar.set_position(bar.length().unwrap_or(0));
            bar.finish_with_message(line);
        }
    }
}

/// An OpenAI-compatible chat model to verbalize with.
#[derive(Debug, Clone)]
pub struct LlmOptions {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// How long one request may take before it is retried.
    pub timeout: std::time::Duration,
    /// A style guide added to every prompt.
    pub style: Option<String>,
    /// USD per million tokens, when the user overrides the price table.
    pub price: Option<Price>,
    /// Spend at most this many US dollars; texts past it are the template's.
    pub max_cost: Option<f64>,
    /// Agreed to the estimate in advance.
    pub yes: bool,
    /// Where written texts are kept for reruns; `None` to keep none.
    pub cache_dir: Option<std::path::PathBuf>,
}

/// Whether the user agrees to spend about `estimate`: `--yes` or `--max-cost` agree in
/// advance; on a terminal the user is asked; elsewhere the answer is no.
fn approve(llm: &LlmOptions, estimate: &Estimate) -> Result<bool> {
    // Nothing to pay (every text cached, or a price of zero the user gave): nothing to agree to.
    let free = estimate.requests == 0 || (llm.price.is_some() && estimate.usd == 0.0);
    if llm.yes || llm.max_cost.is_some() || free {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "not approved: pass --yes (or --max-cost USD) to let {} write the texts; the template writes them instead",
            llm.model
        );
        return Ok(false);
    }
    eprint!(
        "let {} write the texts for about ${:.4}? [y/N] ",
        llm.model, estimate.usd
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Generation by a chat model: the estimate, the user's approval (else the template writes the
/// texts), the cap, the report of what was spent, and the docpack's cost record.
async fn generate_with_llm<S: EventSink, C: doctown_core::events::Clock>(
    assembly: &doctown_core::assemble::Assembly,
    llm: &LlmOptions,
    emitter: &mut doctown_core::events::Emitter<S, C>,
) -> Result<(Documentation, String, Option<GenerationCost>)> {
    let client = OpenAiClient::new(&llm.base_url, llm.api_key.clone(), llm.timeout)?;
    let names = NameTable::new(assembly);
    let mut verbalizer =
        LlmVerbalizer::new(client, &llm.base_url, &llm.model, names, llm.style.clone());
    if let Some(dir) = &llm.cache_dir {
        verbalizer = verbalizer.with_cache(Box::new(FileCache::new(dir.clone())));
    }
    let counter = Tiktoken::for_model(&llm.model);
    let known = Price::of_model(&llm.model);
    let price = llm.price.or(known).unwrap_or(Price::FREE);
    let failed = |e: doctown_core::generate::VerbalizeError| anyhow::anyhow!("{e}");
    let estimate = verbalizer
        .estimate(assembly, &counter, price, true)
        .map_err(failed)?;
    eprintln!(
        "estimate for {}: {} requests, {} prompt and {} completion tokens, ${:.4} (at most ${:.4} if every reply ran to its limit{}){}{}",
        llm.model,
        estimate.requests,
        estimate.usage.prompt_tokens,
        estimate.usage.completion_tokens,
        estimate.usd,
        estimate.most_usd,
        if is_reasoning_model(&llm.model) {
            ", hidden reasoning included: a reasoning model bills it beyond the texts"
        } else {
            ""
        },
        if counter.exact {
            ""
        } else {
            " (tokens counted with o200k_base; the model's own tokenizer may differ)"
        },
        if llm.price.is_none() && known.is_none() {
            " (no known price: pass --price-input and --price-output)"
        } else {
            ""
        },
    );
    if !approve(llm, &estimate)? {
        let docs = generate(assembly, &TemplateVerbalizer, emitter).await;
        return Ok((docs, TemplateVerbalizer.name().to_owned(), None));
    }
    verbalizer = verbalizer.with_pricing(price, &estimate);
    if let Some(cap) = llm.max_cost {
        verbalizer = verbalizer.with_budget(Budget::new(cap, price, Box::new(counter)));
    }
    let docs = generate(assembly, &verbalizer, emitter).await;
    let usage = verbalizer.usage();
    eprintln!(
        "actual for {}: {} requests, {} prompt and {} completion tokens, ${:.4}{}",
        llm.model,
        verbalizer.requests(),
        usage.prompt_tokens,
        usage.completion_tokens,
        price.cost(usage),
        docs.stopped
            .as_deref()
            .map(|s| format!("; {s}"))
            .unwrap_or_default()
    );
    let cost = verbalizer
        .cost_record(assembly, &counter, price)
        .map_err(failed)?;
    Ok((docs, llm.model.clone(), Some(cost)))
}

/// Runs the whole pipeline on `source` and writes the docpack to `out`; the template
/// verbalizer writes the texts unless `llm` names a model.
pub async fn run(
    source: &str,
    options: &SourceOptions,
    backend: &Backend,
    llm: Option<&LlmOptions>,
    out: &Path,
    json: bool,
) -> Result<()> {
    let snapshot = crate::sources::load(source, options).await?;
    let files = snapshot.entries.len() as u64;
    let output = if json {
        Output::Json(JsonLines::default())
    } else if std::io::stderr().is_terminal() {
        Output::Bars(Bars::new(files))
    } else {
        Output::Lines
    };
    let (job_id, trace_id) = crate::new_job();
    let (events, ingest) = crate::embed::spawn_ingest(snapshot, options.limits, &job_id, &trace_id);
    let sink = Progress {
        corpus: Corpus::default(),
        output,
    };
    let mut emitter =
        doctown_core::events::Emitter::new(job_id, trace_id, sink, crate::SystemClock);
    let embeddings = backend.stream(events, &mut emitter).await;
    ingest.join()?;
    if emitter.sink().corpus.symbols.is_empty() {
        let reason =
            "no supported source files were found (Rust, Python, Go, JavaScript, TypeScript)";
        emitter.emit(JobCompleted {
            status: Status::Failed,
            docpack_id: None,
            skipped_files: emitter.sink().corpus.skipped.keys().cloned().collect(),
            reason: Some(reason.into()),
        });
        anyhow::bail!("{source}: {reason}; see the skipped files with `doctown ingest {source}`");
    }
    let corpus = std::mem::take(&mut emitter.sink_mut().corpus);
    let settings = AssemblySettings::default();
    let assembly = assemble(&corpus, &embeddings.vectors, &settings, &mut emitter);
    let (docs, verbalizer, generation) = match llm {
        None => {
            let docs = generate(&assembly, &TemplateVerbalizer, &mut emitter).await;
            (docs, TemplateVerbalizer.name().to_owned(), None)
        }
        Some(llm) => generate_with_llm(&assembly, llm, &mut emitter).await?,
    };
    emitter.emit(PackStarted {
        nodes: assembly.symbols.len() as u64,
    });
    let packed = docpack::build(&BuildInput {
        corpus: &corpus,
        assembly: &assembly,
        docs: &docs,
        settings: &settings,
        model_id: backend.model(),
        dimensions: backend.dimensions(),
        skipped_chunks: &embeddings.skipped,
        verbalizer: &verbalizer,
        tool_version: env!("CARGO_PKG_VERSION"),
        generation,
    })
    .context("cannot serialise the docpack")?;
    let bytes = docpack::pack(&packed).context("cannot pack the docpack")?;
    std::fs::write(out, &bytes)
        .with_context(|| format!("cannot write the docpack to {}", out.display()))?;
    let manifest: docpack::Manifest = serde_json::from_slice(&packed.parts[docpack::MANIFEST])?;
    emitter.emit(PackCompleted {
        status: manifest.status,
        docpack_id: packed.id.clone(),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
    });
    emitter.emit(JobCompleted {
        status: manifest.status,
        docpack_id: Some(packed.id.clone()),
        skipped_files: corpus.skipped_files(&embeddings.skipped),
        reason: None,
    });
    if let Output::Json(lines) = emitter.into_sink().output {
        lines.finish()?;
    }
    eprintln!(
        "wrote {} ({} bytes)\ndocpack id {}",
        out.display(),
        bytes.len(),
        packed.id
    );
    Ok(())
}

/// Reads and verifies a docpack file.
pub fn open(path: &Path) -> Result<Docpack> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    docpack::read(&bytes).with_context(|| format!("{} failed verification", path.display()))
}

/// How many top symbols and clusters `show` lists.
const SHOWN: usize = 10;

/// The summary `doctown show` prints.
pub fn summary(d: &Docpack) -> String {
    let m = &d.manifest;
    let mut out = String::new();
    let repo = &m.repository;
    out.push_str(&format!(
        "docpack {}\nrepository {} ({:?}{}{})\nstatus {:?}, made by doctown {} with {} and the {} verbalizer\n",
        d.id,
        repo.location,
        repo.kind,
        repo.git_ref.as_deref().map(|r| format!(", ref {r}")).unwrap_or_default(),
        repo.commit.as_deref().map(|c| format!(", commit {c}")).unwrap_or_default(),
        m.status,
        m.tool.version,
        m.model.id,
        m.verbalizer
    ));
    let c = &m.counts;
    out.push_str(&format!(
        "{} files ({} skipped), {} symbols, {} external nodes, {} edges, {} clusters, {} vectors\n",
        c.files, c.skipped_files, c.symbols, c.external_nodes, c.edges, c.clusters, c.embeddings
    ));
    out.push_str(&format!("\n{}\n", d.modules.architecture.text));
    let mut top: Vec<&docpack::Node> = d.nodes.iter().filter(|n| n.parent.is_some()).collect();
    top.sort_by_key(|n| n.metrics.rank);
    out.push_str("\ntop symbols by PageRank\n");
    for n in top.iter().take(SHOWN) {
        out.push_str(&format!(
            "  {:>3}. {:<50} {:<9} {:.5}  in {} out {}\n",
            n.metrics.rank,
            n.qualified_name,
            n.kind.name(),
            n.metrics.pagerank,
            n.metrics.fan_in,
            n.metrics.fan_out
        ));
    }
    out.push_str(&format!("\nclusters ({:?})\n", d.clusters.method));
    for cluster in d.clusters.clusters.iter().take(SHOWN) {
        out.push_str(&format!(
            "  {:>4}  {}\n",
            cluster.members.len(),
            cluster.label
        ));
    }
    if !m.skipped_files.is_empty() {
        out.push_str("\nskipped files\n");
        for s in m.skipped_files.iter().take(SHOWN) {
            out.push_str(&format!("  {} ({:?})\n", s.path, s.reason));
        }
        if m.skipped_files.len() > SHOWN {
            out.push_str(&format!("  … and {} more\n", m.skipped_files.len() - SHOWN));
        }
    }
    out
}
