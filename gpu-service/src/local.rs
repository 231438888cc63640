//! The in-process embedder: the model on this machine, behind the same token-budget scheduler
//! as the server, so a CLI run batches exactly as gpu-service does.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use candle_core::Device;
use doctown_core::embed::{normalize, EmbedError, Embedder, DIMENSIONS, MODEL_ID};

use crate::metrics::Metrics;
use crate::minilm::{device_name, Encoded, Encoder, MiniLm};
use crate::scheduler::{Embedded, ScheduleError, Scheduler, SchedulerConfig};

/// The tokenizer and the scheduler in front of the model.
#[derive(Debug, Clone)]
pub struct LocalEmbedder {
    encoder: Arc<Encoder>,
    scheduler: Arc<Scheduler>,
    device: &'static str,
}

impl LocalEmbedder {
    /// Loads the model from `dir` onto `device` and runs one warm-up pass, so the first real
    /// batch does not pay for allocations and kernel selection.
    pub async fn load(dir: &Path, device: Device, config: SchedulerConfig) -> Result<Self> {
        let encoder = Encoder::load(dir)?;
        let name = device_name(&device);
        let model = MiniLm::load(dir, device)?;
        let metrics = Arc::new(Metrics::new(name));
        let embedder = LocalEmbedder {
            encoder: Arc::new(encoder),
            scheduler: Arc::new(Scheduler::start(model, config, metrics)),
            device: name,
        };
        embedder
            .embed_texts(vec!["fn warm_up() {}".to_owned()])
            .await?;
        Ok(embedder)
    }

    pub fn device(&self) -> &'static str {
        self.device
    }

    pub fn encoder(&self) -> &Arc<Encoder> {
        &self.encoder
    }

    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    /// Tokenizes off the async threads.
    pub async fn tokenize(&self, texts: Vec<String>) -> Result<Vec<Encoded>> {
        let encoder = self.encoder.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            encoder.encode(&refs)
        })
        .await?
    }

    /// Tokenizes and queues the texts: their mean-pooled vectors, not yet normalised.
    pub async fn embed_texts(&self, texts: Vec<String>) -> Result<Embedded, ScheduleError> {
        let encoded = self
            .tokenize(texts)
            .await
            .map_err(|e| ScheduleError::Inference(format!("{e:#}")))?;
        self.scheduler
            .embed(encoded.into_iter().map(|e| e.ids).collect())
            .await
    }
}

impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        MODEL_ID
    }

    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self.embed_texts(texts.to_vec()).await {
            Ok(mut embedded) => {
                embedded.vectors.iter_mut().for_each(|v| normalize(v));
                Ok(embedded.vectors)
            }
            Err(ScheduleError::QueueFull { retry_after, .. }) => Err(EmbedError::Unavailable {
                message: "the local embedding queue is full".into(),
                retry_after_ms: Some(retry_after.as_millis() as u64),
            }),
            Err(err) => Err(EmbedError::Unavailable {
                message: err.to_string(),
                retry_after_ms: None,
            }),
        }
    }
}
