//! What a job step needs from the Workers runtime: HTTP over `fetch` (GitHub), embeddings from
//! gpu-service over `fetch`, the clock, and timers.

use std::time::Duration;

use doctown_core::embed::wire::{read_reply, BatchRequest, VectorEncoding, BATCH_PATH};
use doctown_core::embed::{EmbedError, Embedder, TestEmbedder, DIMENSIONS, MODEL_ID};
use doctown_core::events::Clock;
use doctown_core::github::{HttpClient, HttpRequest, HttpResponse};
use doctown_core::job::{StepHost, STEP_SOURCE_BYTES};
use worker::{Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// Where the Worker finds gpu-service and GitHub: `wrangler.toml` vars and secrets.
#[derive(Debug, Clone)]
pub struct Settings {
    pub gpu_service_url: String,
    pub gpu_service_token: Option<String>,
    pub github_api_url: String,
    pub github_token: Option<String>,
    /// `test`: the core's deterministic embedder instead of gpu-service (no model; for
    /// benchmarks of everything but embedding).
    pub test_embedder: bool,
    /// Source bytes per ingest step ([`STEP_SOURCE_BYTES`] unless `INGEST_STEP_BYTES` says).
    pub ingest_step_bytes: u64,
}

impl Settings {
    pub fn from_env(env: &Env) -> worker::Result<Settings> {
        let text = |name: &str| {
            env.secret(name)
                .map(|s| s.to_string())
                .or_else(|_| env.var(name).map(|v| v.to_string()))
                .ok()
                .filter(|v| !v.is_empty())
        };
        Ok(Settings {
            test_embedder: text("EMBEDDER").as_deref() == Some("test"),
            gpu_service_url: text("GPU_SERVICE_URL").ok_or_else(|| {
                worker::Error::RustError(
                    "GPU_SERVICE_URL is not set: name gpu-service's base URL in wrangler.toml [vars]"
                        .into(),
                )
            })?,
            gpu_service_token: text("GPU_SERVICE_TOKEN"),
            github_api_url: text("GITHUB_API_URL")
                .unwrap_or_else(|| "https://api.github.com".into()),
            github_token: text("GITHUB_TOKEN"),
            ingest_step_bytes: text("INGEST_STEP_BYTES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(STEP_SOURCE_BYTES),
        })
    }
}

/// The step host of the Worker.
#[derive(Debug)]
pub struct WorkerHost {
    settings: Settings,
    http: FetchClient,
    embedder: EdgeEmbedder,
}

impl WorkerHost {
    pub fn new(settings: Settings) -> Self {
        WorkerHost {
            http: FetchClient,
            embedder: if settings.test_embedder {
                EdgeEmbedder::Test(TestEmbedder::default())
            } else {
                EdgeEmbedder::Gpu(GpuService {
                    endpoint: format!(
                        "{}{BATCH_PATH}",
                        settings.gpu_service_url.trim_end_matches('/')
                    ),
                    token: settings.gpu_service_token.clone(),
                })
            },
            settings,
        }
    }
}

impl StepHost for WorkerHost {
    type Embedder = EdgeEmbedder;
    type Http = FetchClient;
    type Clock = WorkerClock;

    fn embedder(&self) -> &EdgeEmbedder {
        &self.embedder
    }

    fn http(&self) -> &FetchClient {
        &self.http
    }

    fn clock(&self) -> &WorkerClock {
        &WorkerClock
    }

    fn github_api(&self) -> &str {
        &self.settings.github_api_url
    }

    fn github_token(&self) -> Option<&str> {
        self.settings.github_token.as_deref()
    }

    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }

    fn step_source_bytes(&self) -> u64 {
        self.settings.ingest_step_bytes
    }
}

/// Unix milliseconds from the runtime (frozen during a request's CPU work, as Workers do).
#[derive(Debug, Clone, Copy)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> u64 {
        Date::now().as_millis()
    }
}

fn request(
    url: &str,
    method: Method,
    headers: &[(String, String)],
    body: Option<String>,
) -> worker::Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(method);
    let h = Headers::new();
    for (name, value) in headers {
        h.set(name, value)?;
    }
    init.with_headers(h);
    if let Some(body) = body {
        init.with_body(Some(body.into()));
    }
    Request::new_with_init(url, &init)
}

/// GETs over the runtime's `fetch` (redirects followed).
#[derive(Debug)]
pub struct FetchClient;

impl HttpClient for FetchClient {
    async fn get(&self, get: HttpRequest, max_bytes: u64) -> Result<HttpResponse, String> {
        let req = request(&get.url, Method::Get, &get.headers, None).map_err(|e| e.to_string())?;
        let mut response = Fetch::Request(req)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let declared = response
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_bytes) {
            return Err(format!("the reply is larger than {max_bytes} bytes"));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() as u64 > max_bytes {
            return Err(format!("the reply is larger than {max_bytes} bytes"));
        }
        Ok(HttpResponse {
            status: response.status_code(),
            body,
        })
    }
}

/// gpu-service's batch endpoint over `fetch`, vectors as half floats (as the CLI asks, so both
/// hosts embed to the same bits).
#[derive(Debug)]
pub struct GpuService {
    endpoint: String,
    token: Option<String>,
}

impl Embedder for GpuService {
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
        let body = BatchRequest::of_texts("edge".into(), texts, VectorEncoding::F16Base64);
        let body = serde_json::to_string(&body).map_err(|e| EmbedError::Rejected(e.to_string()))?;
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(token) = &self.token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        let req = request(&self.endpoint, Method::Post, &headers, Some(body))
            .map_err(|e| unavailable(e.to_string()))?;
        let mut response = Fetch::Request(req)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status_code();
        let body = response
            .text()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let retry_after = response.headers().get("retry-after").ok().flatten();
        read_reply(status, retry_after.as_deref(), &body, texts.len())
            .map_err(|e| e.context(&self.endpoint))
    }
}

/// gpu-service, or the deterministic embedder (`EMBEDDER = "test"`).
#[derive(Debug)]
pub enum EdgeEmbedder {
    Gpu(GpuService),
    Test(TestEmbedder),
}

impl Embedder for EdgeEmbedder {
    fn model(&self) -> &str {
        match self {
            EdgeEmbedder::Gpu(e) => e.model(),
            EdgeEmbedder::Test(e) => e.model(),
        }
    }

    fn dimensions(&self) -> usize {
        match self {
            EdgeEmbedder::Gpu(e) => e.dimensions(),
            EdgeEmbedder::Test(e) => e.dimensions(),
        }
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            EdgeEmbedder::Gpu(e) => e.embed(texts).await,
            EdgeEmbedder::Test(e) => e.embed(texts).await,
        }
    }
}
