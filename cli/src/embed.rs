//! `doctown embed`: ingest and embedding overlapped. Ingest runs on its own thread and streams
//! its events here; every chunk goes to the client batcher at once, and batches go to the
//! embedder (the model in-process, or gpu-service over HTTP) while parsing continues.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use doctown_core::embed::batcher::BatchPolicy;
use doctown_core::embed::stage::{EmbedStage, Embeddings};
use doctown_core::embed::wire::{read_reply, BatchRequest, VectorEncoding, BATCH_PATH};
use doctown_core::embed::{EmbedError, Embedder, TestEmbedder, DIMENSIONS, MODEL_ID};
use doctown_core::events::{Clock, Emitter, Event, EventBody, EventSink};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::UnboundedReceiver;

/// How long one batch request may take: 256 chunks on a busy CPU service can take half a
/// minute; past two minutes the service is presumed gone and the batch is retried.
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

/// gpu-service's batch endpoint as an [`Embedder`]. Vectors travel as f16 in base64, a quarter
/// of the bytes of JSON numbers, at a cosine of ~0.99999 to the f32 vectors.
#[derive(Debug)]
pub struct HttpEmbedder {
    client: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
    next_batch: AtomicU64,
}

impl HttpEmbedder {
    pub fn new(base_url: &str, api_key: Option<String>) -> anyhow::Result<Self> {
        let client = crate::http_client(HTTP_TIMEOUT)?;
        Ok(HttpEmbedder {
            client,
            endpoint: format!("{}{BATCH_PATH}", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            next_batch: AtomicU64::new(1),
        })
    }
}

impl Embedder for HttpEmbedder {
    fn model(&self) -> &str {
        MODEL_ID
    }

    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let unavailable = |message: String| {
            EmbedError::Unavailable {
                message,
                retry_after_ms: None,
            }
            .context(&self.endpoint)
        };
        let batch_id = format!("http-{}", self.next_batch.fetch_add(1, Ordering::Relaxed));
        let request = BatchRequest::of_texts(batch_id, texts, VectorEncoding::F16Base64);
        let mut call = self.client.post(&self.endpoint).json(&request);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call.send().await.map_err(|e| unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        read_reply(status, retry_after.as_deref(), &body, texts.len())
            .map_err(|e| e.context(&self.endpoint))
    }
}

/// Forwards ingest's events (from `events`, until it closes) and embeds their chunks as they
/// come, through the core's [`EmbedStage`]; this host only supplies time and the requests.
pub async fn embed_stream<E: Embedder, S: EventSink, C: Clock>(
    mut events: UnboundedReceiver<Event>,
    embedder: &E,
    emitter: &mut Emitter<S, C>,
    policy: BatchPolicy,
) -> Embeddings {
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let mut stage = EmbedStage::new(policy, embedder.model(), embedder.dimensions());
    let mut in_flight = FuturesUnordered::new();
    let mut input_open = true;
    loop {
        let wake = stage
            .wake_at()
            .map(|at| started + Duration::from_millis(at));
        tokio::select! {
            event = events.recv(), if input_open => match event {
                Some(event) => {
                    let chunk = match &event.body {
                        EventBody::ChunkCreated(c) => Some((c.chunk.id.clone(), c.chunk.text.clone())),
                        _ => None,
                    };
                    emitter.forward(event);
                    if let Some((chunk_id, text)) = chunk {
                        stage.chunk(chunk_id, text, now(), emitter);
                    }
                }
                None => {
                    input_open = false;
                    stage.close();
                }
            },
            Some((batch, result)) = in_flight.next(), if !in_flight.is_empty() => {
                stage.completed(batch, result, now(), emitter);
            },
            _ = sleep_until(wake), if wake.is_some() => {},
        }
        while let Some(batch) = stage.poll(now(), emitter) {
            in_flight.push(async move {
                let result = embedder.embed(&batch.texts).await;
                (batch, result)
            });
        }
        if !input_open && stage.is_done() {
            break;
        }
    }
    stage.finish(emitter)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The embedder a run uses: the model in-process, or gpu-service over HTTP.
pub enum Backend {
    Local(doctown_gpu_service::local::LocalEmbedder),
    Http(HttpEmbedder),
    /// The core's deterministic embedder: no model, vectors that mean nothing. For benchmarks
    /// of everything but embedding (`doctown bench edge`).
    Test(TestEmbedder),
}

impl Backend {
    /// `local` (the model on the CPU, from `model_dir` or the Hugging Face cache) or a
    /// gpu-service URL. A missing model or a bad URL is reported here, before any work.
    pub async fn open(
        embedder: &str,
        model_dir: Option<&std::path::Path>,
        api_key: Option<String>,
    ) -> anyhow::Result<Self> {
        if embedder == "local" {
            let dir = doctown_gpu_service::model::resolve(model_dir).await?;
            let local = doctown_gpu_service::local::LocalEmbedder::load(
                &dir,
                candle_core::Device::Cpu,
                Default::default(),
            )
            .await?;
            Ok(Backend::Local(local))
        } else if embedder.starts_with("http://") || embedder.starts_with("https://") {
            Ok(Backend::Http(HttpEmbedder::new(embedder, api_key)?))
        } else if embedder == "test" {
            Ok(Backend::Test(TestEmbedder::default()))
        } else {
            anyhow::bail!(
                "--embedder {embedder:?} is neither `local` nor a gpu-service URL (http://host:port)"
            )
        }
    }

    /// [`embed_stream`] with this backend and the seed's batching policy.
    pub async fn stream<S: EventSink, C: Clock>(
        &self,
        events: UnboundedReceiver<Event>,
        emitter: &mut Emitter<S, C>,
    ) -> Embeddings {
        let policy = BatchPolicy::default();
        match self {
            Backend::Local(e) => embed_stream(events, e, emitter, policy).await,
            Backend::Http(e) => embed_stream(events, e, emitter, policy).await,
            Backend::Test(e) => embed_stream(events, e, emitter, policy).await,
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Backend::Local(e) => e.model(),
            Backend::Http(e) => e.model(),
            Backend::Test(e) => e.model(),
        }
    }

    pub fn dimensions(&self) -> usize {
        match self {
            Backend::Local(e) => e.dimensions(),
            Backend::Http(e) => e.dimensions(),
            Backend::Test(e) => e.dimensions(),
        }
    }
}

/// Ingest running on its own thread.
pub struct IngestThread(std::thread::JoinHandle<()>);

impl IngestThread {
    pub fn join(self) -> anyhow::Result<()> {
        self.0
            .join()
            .map_err(|_| anyhow::anyhow!("the ingest thread panicked"))
    }
}

/// Starts ingest of `snapshot` on its own thread, so parsing overlaps embedding; its events
/// arrive on the receiver.
pub fn spawn_ingest(
    snapshot: doctown_core::source::Snapshot,
    limits: doctown_core::policy::Limits,
    job_id: &str,
    trace_id: &str,
) -> (UnboundedReceiver<Event>, IngestThread) {
    let (sender, events) = tokio::sync::mpsc::unbounded_channel();
    let (job_id, trace_id) = (job_id.to_owned(), trace_id.to_owned());
    let thread = std::thread::spawn(move || {
        let mut emitter = Emitter::new(job_id, trace_id, ChannelSink(sender), crate::SystemClock);
        doctown_core::ingest::ingest(snapshot, &limits, &mut emitter);
    });
    (events, IngestThread(thread))
}

/// Sends each event to the embedding side (the ingest thread's sink).
#[derive(Debug)]
pub struct ChannelSink(pub tokio::sync::mpsc::UnboundedSender<Event>);

impl EventSink for ChannelSink {
    fn emit(&mut self, event: Event) {
        // The receiver only goes away when the run is over.
        let _ = self.0.send(event);
    }
}

/// Remembers when the milestones of a run passed, for the overlap report.
#[derive(Debug)]
pub struct Timeline<S> {
    pub inner: S,
    marks: Vec<(&'static str, u64)>,
}

/// The milestones, in the order they are reported.
const MILESTONES: [(&str, &str); 6] = [
    ("ingest.started.v1", "ingest started"),
    ("ingest.chunk_created.v1", "first chunk"),
    ("embedding.batch_started.v1", "first batch sent"),
    ("embedding.chunk_vector.v1", "first vector"),
    ("ingest.completed.v1", "ingest completed"),
    ("embedding.completed.v1", "embedding completed"),
];

impl<S> Timeline<S> {
    pub fn new(inner: S) -> Self {
        Timeline {
            inner,
            marks: Vec::new(),
        }
    }

    /// One line per milestone in time order, in ms from the first, by each event's own
    /// timestamp (ingest's events are stamped on the ingest thread).
    pub fn report(&self) -> String {
        let origin = self.marks.iter().map(|(_, t)| *t).min().unwrap_or(0);
        let mut lines: Vec<(u64, &str)> = MILESTONES
            .iter()
            .filter_map(|(name, label)| {
                let (_, t) = self.marks.iter().find(|(n, _)| n == name)?;
                Some((t - origin, *label))
            })
            .collect();
        lines.sort();
        lines
            .iter()
            .map(|(t, label)| format!("  {t:>8} ms  {label}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<S> Timeline<S> {
    fn mark(&mut self, event: &Event) {
        let name = event.body.name();
        if let Some((milestone, _)) = MILESTONES.iter().find(|(n, _)| *n == name) {
            if !self.marks.iter().any(|(n, _)| n == milestone) {
                self.marks.push((milestone, event.timestamp));
            }
        }
    }
}

impl<S: EventSink> EventSink for Timeline<S> {
    fn emit(&mut self, event: Event) {
        self.mark(&event);
        self.inner.emit(event);
    }

    fn emit_serialized(&mut self, event: Event, payload_json: &[u8]) {
        self.mark(&event);
        self.inner.emit_serialized(event, payload_json);
    }
}
