//! `gpu-service`: all-MiniLM-L6-v2 over HTTP (see the `server` module for the API).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use doctown_gpu_service::local::LocalEmbedder;
use doctown_gpu_service::minilm::pick_device;
use doctown_gpu_service::model;
use doctown_gpu_service::scheduler::SchedulerConfig;
use doctown_gpu_service::server::router;

/// See the workspace manifest and `doctown_gpu_service::allocator`: the model's tensors
/// page-fault under glibc's allocator, and under mimalloc's defaults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "gpu-service",
    version,
    about = "Doctown's embedding service (all-MiniLM-L6-v2, candle)."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on (RunPod sets PORT).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// The model folder (config.json, tokenizer.json, model.safetensors); default: the Hugging
    /// Face cache, else a hub download.
    #[arg(long, env = model::MODEL_DIR_ENV)]
    model_dir: Option<PathBuf>,
    /// Require `Authorization: Bearer KEY` on every route but /health.
    #[arg(long, env = "DOCTOWN_GPU_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[arg(long, value_enum, env = "DOCTOWN_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Padded tokens per forward pass (raise on a GPU: 32768 fits easily in 16 GB).
    #[arg(long, env = "DOCTOWN_MAX_BATCH_TOKENS", default_value_t = SchedulerConfig::default().max_batch_tokens)]
    max_batch_tokens: usize,
    /// Tokens waiting before requests are refused with 503.
    #[arg(long, env = "DOCTOWN_MAX_QUEUE_TOKENS", default_value_t = SchedulerConfig::default().max_queue_tokens)]
    max_queue_tokens: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeviceChoice {
    /// CUDA when built with it and a GPU answers, else the CPU.
    Auto,
    Cpu,
}

fn main() -> Result<()> {
    doctown_gpu_service::allocator::keep_freed_memory();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve())
}

async fn serve() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let dir = model::resolve(args.model_dir.as_deref()).await?;
    let device = pick_device(matches!(args.device, DeviceChoice::Auto));
    let config = SchedulerConfig {
        max_batch_tokens: args.max_batch_tokens.max(doctown_core::embed::MAX_TOKENS),
        max_queue_tokens: args.max_queue_tokens,
        ..SchedulerConfig::default()
    };
    let embedder = LocalEmbedder::load(&dir, device, config)
        .await
        .with_context(|| format!("loading the model from {}", dir.display()))?;
    let scheduler = embedder.scheduler().clone();
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("{}:{} is not an address to listen on", args.host, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        "gpu-service on http://{} ({}, model {})",
        listener.local_addr()?,
        embedder.device(),
        dir.display()
    );
    axum::serve(listener, router(embedder, args.api_key))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // In-flight requests have had their answers; finish whatever is still queued.
    scheduler.shutdown();
    tracing::info!("gpu-service stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
