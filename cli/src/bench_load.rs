//! `doctown bench load`: N jobs at once on the local edge stack (the Worker in workerd, and
//! gpu-service when `--gpu` names one), each from a different owner, each approved when its
//! estimate is ready. Every job's events are read over its WebSocket and checked: all of its own
//! job, numbered without a gap. Prints jobs per minute and the median and 95th-percentile job
//! times, and gpu-service's queue figures from its metrics.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::bench_edge::{edge_stack, ms, submit, EdgeStack};

#[derive(clap::Args, Debug)]
pub struct LoadBench {
    /// A directory to document (copied into a git repository and served as GitHub would).
    source: PathBuf,
    /// Jobs submitted at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// gpu-service's base URL (its metrics are read after the run); the deterministic test
    /// embedder without it.
    #[arg(long)]
    gpu: Option<String>,
}

/// The longest the whole run may take.
const RUN_LIMIT: Duration = Duration::from_secs(900);

/// What one job did.
struct JobRun {
    wall: Duration,
    status: String,
    events: usize,
    /// Events of another job, or out of sequence: must be none.
    strays: usize,
}

pub async fn run(args: LoadBench) -> Result<()> {
    // `work` holds the Worker's state: kept to the end.
    let EdgeStack {
        work: _work,
        mut wrangler,
        files,
        bytes,
        ..
    } = edge_stack(&args.source, args.gpu.as_deref()).await?;
    println!(
        "doctown bench load: {} jobs at once of {} ({files} files, {:.2} MB), embedding by {}",
        args.jobs,
        args.source.display(),
        bytes as f64 / 1e6,
        args.gpu
            .as_deref()
            .unwrap_or("the deterministic test embedder")
    );
    let started = Instant::now();
    let url = wrangler.url.clone();
    let jobs = futures::future::join_all((0..args.jobs).map(|_| one_job(&url)));
    // gpu-service's queue, sampled while the jobs run.
    let (mut deepest, mut samples) = (0.0f64, 0);
    tokio::pin!(jobs);
    let runs = loop {
        tokio::select! {
            runs = &mut jobs => break runs,
            _ = tokio::time::sleep(QUEUE_SAMPLE) => {
                if started.elapsed() > RUN_LIMIT {
                    bail!("the jobs did not all end within {RUN_LIMIT:?}");
                }
                if let Some(gpu) = &args.gpu {
                    if let Ok(tokens) = metric(gpu, "queue_tokens").await {
                        deepest = deepest.max(tokens);
                        samples += 1;
                    }
                }
            }
        }
    };
    let total = started.elapsed();
    wrangler.stop();
    let runs: Vec<JobRun> = runs.into_iter().collect::<Result<_>>()?;
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    walls.sort();
    let at = |q: f64| walls[((q * walls.len() as f64) as usize).min(walls.len() - 1)];
    let ok = runs.iter().filter(|r| r.status != "failed").count();
    println!(
        "  {ok} of {} jobs completed ({} ok) in {:.1} s: {:.1} jobs/minute",
        runs.len(),
        runs.iter().filter(|r| r.status == "ok").count(),
        total.as_secs_f64(),
        runs.len() as f64 / total.as_secs_f64() * 60.0
    );
    println!(
        "  job time: p50 {:.0} ms, p95 {:.0} ms, slowest {:.0} ms",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(*walls.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  events: {} in all; of another job or out of sequence: {}",
        runs.iter().map(|r| r.events).sum::<usize>(),
        runs.iter().map(|r| r.strays).sum::<usize>()
    );
    if let Some(gpu) = &args.gpu {
        println!(
            "  gpu-service: deepest queue {deepest} tokens over {samples} samples; requests shed with 503 so far: {}",
            metric(gpu, "rejected_total").await?
        );
    }
    Ok(())
}

/// How often gpu-service's queue is sampled.
const QUEUE_SAMPLE: Duration = Duration::from_millis(100);

/// A gpu-service metric (`doctown_gpu_NAME`), summed over its labels.
async fn metric(gpu: &str, name: &str) -> Result<f64> {
    let text = reqwest::get(format!("{}/metrics", gpu.trim_end_matches('/')))
        .await?
        .text()
        .await?;
    let wanted = format!("doctown_gpu_{name}");
    Ok(text
        .lines()
        .filter(|l| l.split(['{', ' ']).next() == Some(wanted.as_str()))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Submits a job as a new owner, follows it over its socket, approves it, and checks its events.
async fn one_job(url: &str) -> Result<JobRun> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let (id, token) = submit(&client, url).await?;
    let mut request = format!(
        "{}/api/jobs/{id}/events?since=0",
        url.replacen("http", "ws", 1)
    )
    .into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let (mut events, mut strays) = (0, 0);
    loop {
        let Some(message) = socket.next().await else {
            bail!("job {id}: the socket closed before job.completed");
        };
        let Message::Text(text) = message? else {
            continue;
        };
        let event: Value = serde_json::from_str(&text)?;
        if event["job_id"] != id.as_str() || event["seq"] != events {
            strays += 1;
        }
        events += 1;
        match event["event"].as_str() {
            Some("assembly.completed.v1") => {
                client
                    .post(format!("{url}/api/jobs/{id}/approve"))
                    .bearer_auth(&token)
                    .send()
                    .await?;
            }
            Some("job.completed.v1") => {
                return Ok(JobRun {
                    wall: started.elapsed(),
                    status: event["payload"]["status"].as_str().unwrap_or("").to_owned(),
                    events,
                    strays,
                })
            }
            _ => {}
        }
    }
}
