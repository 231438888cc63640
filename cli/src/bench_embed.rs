//! `doctown bench embed`: candle's all-MiniLM-L6-v2 beside sentence-transformers, in one run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use doctown_core::embed::Embedder;
use doctown_core::source::Entry;
use doctown_gpu_service::local::LocalEmbedder;
use doctown_gpu_service::scheduler::SchedulerConfig;
use serde_json::{json, Value};

use crate::embed::HttpEmbedder;
use crate::sources::{self, SourceOptions};

/// Token lengths measured: short, medium and full chunks.
const LENGTHS: [usize; 3] = [64, 128, 256];
/// Texts per call on both sides (sentence-transformers' `batch_size`).
const CLIENT_BATCH: usize = 32;
/// Concurrent clients of the gpu-service run.
const CLIENTS: usize = 8;

#[derive(clap::Args, Debug)]
pub struct EmbedBench {
    /// Where the texts come from (as `doctown ingest`): lines of its source files.
    #[arg(default_value = ".")]
    source: String,
    /// Texts per length.
    #[arg(long, default_value_t = 64)]
    texts: usize,
    /// Rounds per side; the best counts.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Threads for both sides (candle's and torch's); default: every core.
    #[arg(long)]
    threads: Option<usize>,
    /// The Python with sentence-transformers (scripts/bench-embed.sh makes one).
    #[arg(long, env = "DOCTOWN_TORCH_PYTHON")]
    python: Option<PathBuf>,
    #[arg(long, env = "DOCTOWN_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Measure this running gpu-service (e.g. on a GPU) instead of one served here.
    #[arg(long)]
    service: Option<String>,
}

pub async fn run(args: EmbedBench) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // candle's CPU kernels and the tokenizer size their pools from these.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let dir = doctown_gpu_service::model::resolve(args.model_dir.as_deref()).await?;
    let embedder =
        LocalEmbedder::load(&dir, candle_core::Device::Cpu, SchedulerConfig::default()).await?;

    let lines = source_lines(&args.source).await?;
    let sets: Vec<(usize, Vec<String>)> = LENGTHS
        .iter()
        .map(|&n| (n, texts_of(&embedder, &lines, n, args.texts)))
        .collect();

    let python = args
        .python
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/doctown/torch-venv/bin/python"))
        })
        .filter(|p| p.exists());
    let mut torch = match &python {
        Some(python) => Some(Torch::start(python, &dir, threads)?),
        None => {
            eprintln!("no sentence-transformers Python (run scripts/bench-embed.sh, or pass --python): reference skipped");
            None
        }
    };
    // Rounds alternate between the two sides, length by length, so a change in the machine's
    // speed during the run (other tenants of a shared host) reaches both alike.
    let rounds = args.rounds.max(1);
    let mut candle_best = vec![Duration::MAX; sets.len()];
    let mut torch_best = torch.as_ref().map(|_| vec![Duration::MAX; sets.len()]);
    for _ in 0..rounds {
        for (i, (_, texts)) in sets.iter().enumerate() {
            let started = Instant::now();
            for batch in texts.chunks(CLIENT_BATCH) {
                embedder
                    .embed(batch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            candle_best[i] = candle_best[i].min(started.elapsed());
            if let (Some(torch), Some(best)) = (torch.as_mut(), torch_best.as_mut()) {
                best[i] = best[i].min(torch.round(texts)?);
            }
        }
    }
    let candle: Vec<(usize, usize, Duration)> = sets
        .iter()
        .zip(&candle_best)
        .map(|((n, texts), &best)| (*n, tokens_of(&embedder, texts), best))
        .collect();
    let candle_rss = peak_rss_kib();
    let torch_rss = torch.map(Torch::finish).transpose()?;

    println!("doctown bench embed: all-MiniLM-L6-v2 on the CPU, {threads} threads, {} texts per length, best of {rounds}", args.texts);
    println!(
        "  {:>7}  {:>22}  {:>22}  {:>6}",
        "tokens", "candle texts/s tok/s", "torch texts/s tok/s", "ratio"
    );
    for (i, (n, tokens, time)) in candle.iter().enumerate() {
        let texts = args.texts as f64;
        let rate = texts / time.as_secs_f64();
        let tok_rate = *tokens as f64 / time.as_secs_f64();
        match torch_best.as_ref().map(|best| best[i].as_secs_f64()) {
            Some(seconds) => println!(
                "  {n:>7}  {rate:>9.1} {tok_rate:>12.0}  {:>9.1} {:>12.0}  {:>5.2}x",
                texts / seconds,
                *tokens as f64 / seconds,
                seconds / time.as_secs_f64()
            ),
            None => println!(
                "  {n:>7}  {rate:>9.1} {tok_rate:>12.0}  {:>22}  {:>6}",
                "-", "-"
            ),
        }
    }

    // gpu-service on this machine, 8 clients at once, texts of ~128 tokens.
    let (n, texts) = &sets[1];
    let (served, wall) = serve_and_load(embedder.clone(), texts, args.service.as_deref()).await?;
    let in_process = candle[1].2;
    println!(
        "  gpu-service{}, {CLIENTS} concurrent clients, {n}-token texts: {:.1} texts/s ({:.2}x of in-process on this CPU)",
        args.service.as_deref().map_or(String::new(), |s| format!(" at {s}")),
        served as f64 / wall.as_secs_f64(),
        (served as f64 / wall.as_secs_f64()) / (args.texts as f64 / in_process.as_secs_f64())
    );
    println!(
        "  peak RSS: candle {} MiB (model, tokenizer, runtime){}",
        candle_rss / 1024,
        torch_rss.map_or(String::new(), |kib| format!(
            "; sentence-transformers {} MiB",
            kib / 1024
        ))
    );
    Ok(())
}

async fn source_lines(source: &str) -> Result<Vec<String>> {
    let options = SourceOptions::default();
    let snapshot = sources::load(source, &options).await?;
    let mut lines = Vec::new();
    for entry in &snapshot.entries {
        if let Entry::File { path, bytes } = entry {
            if doctown_core::policy::classify_path(path).is_ok() {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    lines.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    if lines.len() < 100 {
        bail!("{source}: too little source code to make benchmark texts from");
    }
    Ok(lines)
}

/// `count` texts of about `tokens` tokens each: consecutive lines of real code.
fn texts_of(
    embedder: &LocalEmbedder,
    lines: &[String],
    tokens: usize,
    count: usize,
) -> Vec<String> {
    let mut texts = Vec::with_capacity(count);
    let mut at = 0;
    while texts.len() < count {
        let mut text = String::new();
        loop {
            let line = &lines[at % lines.len()];
            at += 1;
            let candidate = if text.is_empty() {
                line.clone()
            } else {
                format!("{text}\n{line}")
            };
            let n = embedder
                .encoder()
                .encode(&[&candidate])
                .map_or(0, |e| e[0].ids.len());
            if n > tokens && !text.is_empty() {
                break;
            }
            text = candidate;
            if n >= tokens {
                break;
            }
        }
        texts.push(text);
    }
    texts
}

fn tokens_of(embedder: &LocalEmbedder, texts: &[String]) -> usize {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder
        .encoder()
        .encode(&refs)
        .map_or(0, |e| e.iter().map(|t| t.ids.len()).sum())
}

/// scripts/bench_embed_torch.py running beside this process, on the same model and threads: one
/// round of texts at a time. The script is built in, so the binary runs on a host without the
/// repository (a GPU host, scripts/cuda-check.sh).
struct Torch {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Torch {
    const SCRIPT: &str = include_str!("../../scripts/bench_embed_torch.py");

    fn start(python: &Path, model: &Path, threads: usize) -> Result<Self> {
        let mut child = Command::new(python)
            .args(["-c", Self::SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", python.display()))?;
        let mut torch = Torch {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().context("stdout")?),
            child,
        };
        torch
            .send(&json!({ "model_dir": model, "threads": threads, "batch_size": CLIENT_BATCH }))?;
        torch.reply()?;
        Ok(torch)
    }

    /// The time sentence-transformers takes to embed `texts`.
    fn round(&mut self, texts: &[String]) -> Result<Duration> {
        self.send(&json!({ "texts": texts }))?;
        let seconds = self.reply()?["seconds"]
            .as_f64()
            .context("the torch side's reply has no seconds")?;
        Ok(Duration::from_secs_f64(seconds))
    }

    /// Ends the script; its peak resident memory in KiB.
    fn finish(mut self) -> Result<u64> {
        drop(self.stdin.take());
        let peak = self.reply()?["peak_rss_kib"].as_u64().unwrap_or(0);
        self.child.wait()?;
        Ok(peak)
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .context("the torch side's input is closed")?;
        writeln!(stdin, "{message}")?;
        Ok(stdin.flush()?)
    }

    fn reply(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!(
                "the torch side (scripts/bench_embed_torch.py) ended early ({})",
                self.child.wait()?
            );
        }
        serde_json::from_str(&line).context("reading the torch side's figures")
    }
}

/// Serves `embedder` on a local port (or uses `service`) and sends `texts` from [`CLIENTS`]
/// clients at once, in batches of 16 per request; texts served and wall time.
async fn serve_and_load(
    embedder: LocalEmbedder,
    texts: &[String],
    service: Option<&str>,
) -> Result<(usize, Duration)> {
    let (base, server) = match service {
        Some(url) => (url.to_owned(), None),
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let app = doctown_gpu_service::server::router(embedder, None);
            (
                base,
                Some(tokio::spawn(
                    async move { axum::serve(listener, app).await },
                )),
            )
        }
    };
    let client = Arc::new(HttpEmbedder::new(&base, None)?);
    let texts: Arc<Vec<String>> = Arc::new(texts.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, texts) = (client.clone(), texts.clone());
        tasks.push(tokio::spawn(async move {
            let mut served = 0;
            for batch in texts.chunks(16).skip(c % 2) {
                served += client
                    .embed(batch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .len();
            }
            anyhow::Ok(served)
        }));
    }
    let mut served = 0;
    for task in tasks {
        served += task.await??;
    }
    let wall = started.elapsed();
    if let Some(server) = server {
        server.abort();
    }
    Ok((served, wall))
}

/// This process's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
