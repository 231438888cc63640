//! `doctown`: every pipeline stage in-process.

mod bench;
mod bench_assemble;
mod bench_edge;
mod bench_embed;
mod bench_load;
mod embed;
mod generate;
mod llm;
mod sources;
mod view;

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Parser, Subcommand};
use doctown_core::events::{json_line, Clock, Emitter, Event, EventSink};
use doctown_core::github::DEFAULT_API_BASE;
use doctown_core::ingest::ingest;
use doctown_core::policy::Limits;

use crate::sources::SourceOptions;

/// See the workspace manifest and `doctown_gpu_service::allocator`: the model's tensors
/// page-fault under glibc's allocator, and under mimalloc's defaults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "doctown",
    version,
    about = "Documentation computed from code, verbalized."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct SourceArgs {
    /// A directory, a .zip or .tar.gz archive, a git repository path or URL, or
    /// https://github.com/OWNER/REPO[/tree/REF].
    source: String,
    /// The git ref (branch, tag or commit) to read; for a local git repository it reads the
    /// committed tree at that ref instead of the working directory.
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// A GitHub token with read access, for private repositories.
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true)]
    github_token: Option<String>,
    /// GitHub's API base URL (GitHub Enterprise, or a local server in tests).
    #[arg(long, env = "DOCTOWN_GITHUB_API_URL", default_value = DEFAULT_API_BASE)]
    github_api_url: String,
}

impl SourceArgs {
    fn options(&self) -> SourceOptions {
        SourceOptions {
            git_ref: self.git_ref.clone(),
            github_token: self.github_token.clone().filter(|t| !t.is_empty()),
            github_api_url: self.github_api_url.clone(),
            limits: Limits::default(),
        }
    }
}

#[derive(clap::Args, Debug)]
struct EmbedArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// `local` (the model in-process, on the CPU), a gpu-service URL (http://host:port), or
    /// `test` (no model: deterministic vectors that mean nothing, for benchmarks).
    #[arg(long, env = "DOCTOWN_EMBEDDER", default_value = "local")]
    embedder: String,
    /// The all-MiniLM-L6-v2 folder for `local` (default: the Hugging Face cache).
    #[arg(long, env = "DOCTOWN_MODEL_DIR")]
    model_dir: Option<std::path::PathBuf>,
    /// gpu-service's API key, when it wants one.
    #[arg(long, env = "DOCTOWN_GPU_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    #[command(flatten)]
    embed: EmbedArgs,
    /// Where to write the docpack.
    #[arg(short, long, default_value = "repo.docpack")]
    out: std::path::PathBuf,
    /// Print every event as a JSON line on stdout instead of progress on stderr.
    #[arg(long)]
    json: bool,
    /// Verbalize with an OpenAI-compatible chat model at this base URL
    /// (https://api.openai.com/v1, http://localhost:11434/v1 for Ollama) instead of the
    /// template.
    #[arg(long, env = "DOCTOWN_LLM_URL")]
    llm_url: Option<String>,
    /// The chat model's name.
    #[arg(long, env = "DOCTOWN_LLM_MODEL", default_value = "gpt-4o-mini")]
    llm_model: String,
    /// The endpoint's API key (else OPENAI_API_KEY, for api.openai.com only); never printed
    /// or packed.
    #[arg(long, env = "DOCTOWN_LLM_API_KEY", hide_env_values = true)]
    llm_api_key: Option<String>,
    /// Seconds one request to the model may take before it is presumed stuck and retried:
    /// raise it for a slow local model.
    #[arg(long, env = "DOCTOWN_LLM_TIMEOUT", value_name = "SECONDS", default_value_t = llm::DEFAULT_TIMEOUT_SECS)]
    llm_timeout: u64,
    /// A style guide (a text file) added to every prompt.
    #[arg(long)]
    style: Option<std::path::PathBuf>,
    /// Agree to the LLM run's estimated cost without being asked.
    #[arg(long)]
    yes: bool,
    /// Spend at most this many US dollars on the LLM (implies agreement); texts past the cap
    /// are the template's and the docpack is `partial`.
    #[arg(long, value_name = "USD")]
    max_cost: Option<f64>,
    /// The model's price per million prompt tokens, in USD (overrides the built-in table).
    #[arg(long, value_name = "USD", requires = "price_output")]
    price_input: Option<f64>,
    /// The model's price per million completion tokens, in USD.
    #[arg(long, value_name = "USD", requires = "price_input")]
    price_output: Option<f64>,
    /// Ask the model again for every text instead of reusing texts written before (kept in
    /// DOCTOWN_CACHE_DIR, else ~/.cache/doctown/texts).
    #[arg(long)]
    no_cache: bool,
}

impl GenerateArgs {
    /// The chat model to use, if any; refuses to spend without consent.
    fn llm(&self) -> Result<Option<generate::LlmOptions>> {
        let Some(base_url) = self.llm_url.clone() else {
            return Ok(None);
        };
        if self.llm_timeout == 0 {
            anyhow::bail!("--llm-timeout must be 1 second or more");
        }
        if self.max_cost.is_some_and(|c| c.is_nan() || c < 0.0) {
            anyhow::bail!("--max-cost must be a number of US dollars, 0 or more");
        }
        let style = match &self.style {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the style guide {}: {e}", path.display())
            })?),
            None => None,
        };
        // OpenAI's key goes to OpenAI only, never to another endpoint by default.
        let openai = base_url.starts_with("https://api.openai.com/");
        let api_key = self.llm_api_key.clone().or_else(|| {
            openai
                .then(|| std::env::var("OPENAI_API_KEY").ok())
                .flatten()
        });
        for price in [self.price_input, self.price_output].into_iter().flatten() {
            if !price.is_finite() || price < 0.0 {
                anyhow::bail!(
                    "--price-input and --price-output are US dollars per million tokens, 0 or more"
                );
            }
        }
        let price = self
            .price_input
            .zip(self.price_output)
            .map(|(input, output)| doctown_core::generate::llm::Price {
                input_per_million: input,
                output_per_million: output,
            });
        Ok(Some(generate::LlmOptions {
            base_url,
            model: self.llm_model.clone(),
            api_key,
            timeout: std::time::Duration::from_secs(self.llm_timeout),
            style,
            price,
            max_cost: self.max_cost,
            yes: self.yes,
            cache_dir: if self.no_cache {
                None
            } else {
                llm::FileCache::default_dir()
            },
        }))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ExportFormat {
    Markdown,
    Html,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Document a repository: ingest → embed → assemble → generate → pack, in-process; writes
    /// a .docpack and prints its id and summary.
    Generate(GenerateArgs),
    /// Check a docpack's checksums and schema; names the part that is wrong.
    Verify { file: std::path::PathBuf },
    /// Print a docpack's summary: counts, top symbols by PageRank, clusters, skipped files.
    Show { file: std::path::PathBuf },
    /// Write a docpack as browsable pages: an index and a page per module, with diagrams.
    Export {
        file: std::path::PathBuf,
        /// `markdown` or `html`.
        #[arg(long, default_value = "markdown")]
        format: ExportFormat,
        /// The folder to write the pages into.
        #[arg(short, long, default_value = "docs-out")]
        out: std::path::PathBuf,
    },
    /// Serve the website's explorer for a docpack on disk, on localhost.
    View {
        file: std::path::PathBuf,
        /// The port to listen on (0: any free one; the URL is printed).
        #[arg(long, default_value_t = 8790)]
        port: u16,
        /// The built website (scripts/build-web.sh); this source tree's web/dist by default.
        #[arg(long, env = "DOCTOWN_SITE_DIR")]
        site: Option<std::path::PathBuf>,
        /// The repository's checkout, for source excerpts on symbol pages.
        #[arg(long)]
        source: Option<std::path::PathBuf>,
    },
    /// Read a repository and stream the ingest events (`ingest.*.v1`) as JSON lines.
    Ingest(SourceArgs),
    /// Ingest and embed, overlapped: streams the `ingest.*` and `embedding.*` events as JSON
    /// lines, and prints the run's timeline to stderr.
    Embed(EmbedArgs),
    /// Measure a stage and print it beside a reference run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    doctown_gpu_service::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Ingest(args) => {
            let options = args.options();
            let snapshot = sources::load(&args.source, &options).await?;
            let (job_id, trace_id) = new_job();
            let mut emitter = Emitter::new(job_id, trace_id, JsonLines::default(), SystemClock);
            ingest(snapshot, &options.limits, &mut emitter);
            emitter.into_sink().finish()
        }
        Command::Embed(args) => run_embed(args).await,
        Command::Generate(args) => {
            let embed = &args.embed;
            let llm = args.llm()?;
            let options = embed.source.options();
            let backend = embed::Backend::open(
                &embed.embedder,
                embed.model_dir.as_deref(),
                embed.api_key.clone(),
            )
            .await?;
            generate::run(
                &embed.source.source,
                &options,
                &backend,
                llm.as_ref(),
                &args.out,
                args.json,
            )
            .await?;
            let docpack = generate::open(&args.out)?;
            if !args.json {
                println!("{}", generate::summary(&docpack));
            }
            Ok(())
        }
        Command::View {
            file,
            port,
            site,
            source,
        } => {
            let site = site.unwrap_or_else(view::default_site);
            view::run(&file, &site, source.as_deref(), port).await
        }
        Command::Verify { file } => {
            let docpack = generate::open(&file)?;
            println!(
                "{}: ok, docpack id {} ({} parts verified)",
                file.display(),
                docpack.id,
                docpack.manifest.parts.len() + 1
            );
            Ok(())
        }
        Command::Export { file, format, out } => {
            let docpack = generate::open(&file)?;
            let format = match format {
                ExportFormat::Markdown => doctown_core::export::Format::Markdown,
                ExportFormat::Html => doctown_core::export::Format::Html,
            };
            let pages = doctown_core::export::export(&docpack, format);
            for (path, page) in &pages {
                let target = out.join(path);
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                }
                std::fs::write(&target, page)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
            }
            println!("wrote {} pages to {}", pages.len(), out.display());
            Ok(())
        }
        Command::Show { file } => {
            print!("{}", generate::summary(&generate::open(&file)?));
            Ok(())
        }
        Command::Bench(command) => bench::run(command).await,
    }
}

async fn run_embed(args: EmbedArgs) -> Result<()> {
    let options = args.source.options();
    // The backend first: a missing model or a bad URL is reported before any work.
    let backend =
        embed::Backend::open(&args.embedder, args.model_dir.as_deref(), args.api_key).await?;
    let snapshot = sources::load(&args.source.source, &options).await?;
    let (job_id, trace_id) = new_job();
    let (events, ingest) = embed::spawn_ingest(snapshot, options.limits, &job_id, &trace_id);
    let sink = embed::Timeline::new(JsonLines::default());
    let mut emitter = Emitter::new(job_id, trace_id, sink, SystemClock);
    let embeddings = backend.stream(events, &mut emitter).await;
    ingest.join()?;
    let timeline = emitter.into_sink();
    eprintln!(
        "embedded {} chunks ({} skipped); timeline:\n{}",
        embeddings.vectors.len(),
        embeddings.skipped.len(),
        timeline.report()
    );
    timeline.inner.finish()
}

/// A client for Doctown's calls to its services (gpu-service, a chat model): one request may
/// take `timeout`, and Doctown names itself.
pub(crate) fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("doctown/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A fresh job id and trace id.
fn new_job() -> (String, String) {
    (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().simple().to_string(),
    )
}

/// Writes each event to stdout as one JSON line as soon as it is emitted.
#[derive(Debug, Default)]
pub(crate) struct JsonLines {
    error: Option<std::io::Error>,
}

impl EventSink for JsonLines {
    fn emit(&mut self, event: Event) {
        let line = serde_json::to_vec(&event).unwrap_or_default();
        self.write_line(line);
    }

    fn emit_serialized(&mut self, event: Event, payload_json: &[u8]) {
        self.write_line(json_line(&event, payload_json));
    }
}

impl JsonLines {
    fn write_line(&mut self, mut line: Vec<u8>) {
        if self.error.is_some() {
            return;
        }
        // One write per line: stdout is line-buffered, and many small writes would each be
        // scanned for newlines.
        line.push(b'\n');
        let mut out = std::io::stdout().lock();
        let written = out.write_all(&line).and_then(|()| out.flush());
        self.error = written.err();
    }
}

impl JsonLines {
    pub(crate) fn finish(self) -> Result<()> {
        match self.error {
            // The reader went away (`doctown ingest … | head`): not an error of ours.
            Some(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Some(err) => Err(anyhow::anyhow!("cannot write events to stdout: {err}")),
            None => Ok(()),
        }
    }
}

/// Wall-clock time for event timestamps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}
