//! What a job step needs from the Workers runtime: HTTP over `fetch` (GitHub), embeddings from
//! gpu-service over `fetch`, an OpenAI-compatible chat model over `fetch`, the clock, and timers.

use std::time::Duration;

use futures::future::{select, Either};

use doctown_core::embed::wire::{read_reply, BatchRequest, VectorEncoding, BATCH_PATH};
use doctown_core::embed::{EmbedError, Embedder, TestEmbedder, DIMENSIONS, MODEL_ID};
use doctown_core::events::Clock;
use doctown_core::generate::llm::{ChatClient, ChatError, ChatRequest, ChatResponse, Price};
use doctown_core::generate::transport::{self, ChatTransport, Failure};
use doctown_core::github::{HttpClient, HttpRequest, HttpResponse};
use doctown_core::job::{LlmSettings, StepHost, LLM_REQUESTS_PER_STEP, STEP_SOURCE_BYTES};
use worker::{AbortController, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// One chat request may take this long by default (`LLM_TIMEOUT_SECS`): a busy model answering
/// a long prompt can take a minute; past two the endpoint is presumed stuck and the request is
/// asked again.
const LLM_TIMEOUT_SECS: u64 = 120;
/// One embedding batch may take this long by default (`GPU_SERVICE_TIMEOUT_SECS`): a batch of
/// 256 chunks takes well under a second on a GPU and seconds on a busy CPU; past a minute the
/// service is presumed stuck and the batch is retried.
const GPU_SERVICE_TIMEOUT_SECS: u64 = 60;
/// A GitHub request (the commit, the tarball, a file) may take this long: a large tarball over a
/// slow link takes a minute.
const GITHUB_TIMEOUT: Duration = Duration::from_secs(180);
/// The largest chat reply read: far above any text's reply limit.
const MAX_CHAT_REPLY_BYTES: u64 = 4 << 20;
/// The largest batch reply read: 256 vectors of 384 f32 as JSON are about 1 MB.
const MAX_BATCH_REPLY_BYTES: u64 = 16 << 20;

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
    pub gpu_service_timeout: Duration,
    /// The chat model that writes the texts (`LLM_BASE_URL`, `LLM_MODEL`), if one is set.
    pub llm: Option<LlmSettings>,
    pub llm_api_key: Option<String>,
    pub llm_timeout: Duration,
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
        let number = |name: &str| -> worker::Result<Option<f64>> {
            text(name)
                .map(|v| {
                    v.parse::<f64>().ok().filter(|n| *n >= 0.0).ok_or_else(|| {
                        worker::Error::RustError(format!(
                            "{name} is `{v}`: give a number of 0 or more"
                        ))
                    })
                })
                .transpose()
        };
        let llm = match (text("LLM_BASE_URL"), text("LLM_MODEL")) {
            (None, None) => None,
            (Some(endpoint), Some(model)) => {
                let price = match (number("LLM_PRICE_INPUT")?, number("LLM_PRICE_OUTPUT")?) {
                    (Some(input), Some(output)) => Price {
                        input_per_million: input,
                        output_per_million: output,
                    },
                    // A model of OpenAI's price table; others (a local model) cost nothing.
                    _ => Price::of_model(&model).unwrap_or(Price::FREE),
                };
                Some(LlmSettings {
                    endpoint: endpoint.trim_end_matches('/').to_owned(),
                    model,
                    price,
                    requests_per_step: number("LLM_REQUESTS_PER_STEP")?
                        .map_or(LLM_REQUESTS_PER_STEP, |n| (n as usize).max(1)),
                })
            }
            _ => {
                return Err(worker::Error::RustError(
                    "set both LLM_BASE_URL and LLM_MODEL in wrangler.toml [vars] (or neither, for the template's texts)"
                        .into(),
                ))
            }
        };
        Ok(Settings {
            llm,
            llm_api_key: text("LLM_API_KEY"),
            gpu_service_timeout: Duration::from_secs_f64(
                number("GPU_SERVICE_TIMEOUT_SECS")?.unwrap_or(GPU_SERVICE_TIMEOUT_SECS as f64),
            ),
            llm_timeout: Duration::from_secs_f64(
                number("LLM_TIMEOUT_SECS")?.unwrap_or(LLM_TIMEOUT_SECS as f64),
            ),
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
    chat: FetchChat,
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
                    timeout: settings.gpu_service_timeout,
                })
            },
            chat: FetchChat {
                endpoint: format!(
                    "{}/chat/completions",
                    settings.llm.as_ref().map_or("", |l| l.endpoint.as_str())
                ),
                api_key: settings.llm_api_key.clone(),
                timeout: settings.llm_timeout,
            },
            settings,
        }
    }
}

impl StepHost for WorkerHost {
    type Embedder = EdgeEmbedder;
    type Http = FetchClient;
    type Clock = WorkerClock;
    type Chat = FetchChat;

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

    fn llm(&self) -> Option<(&FetchChat, &LlmSettings)> {
        self.settings.llm.as_ref().map(|llm| (&self.chat, llm))
    }
}

/// An OpenAI-compatible `POST {base}/chat/completions` over `fetch`; a request without a reply
/// within its timeout is aborted and asked again.
#[derive(Debug)]
pub struct FetchChat {
    endpoint: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl ChatTransport for FetchChat {
    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let body = serde_json::to_string(request).map_err(|e| Failure::fatal(e.to_string()))?;
        let req = json_post(&self.endpoint, self.api_key.as_deref(), body)
            .map_err(|e| Failure::fatal(e.to_string()))?;
        // Each attempt waits at most the timeout; the transport retries.
        let reply = send(req, self.timeout, MAX_CHAT_REPLY_BYTES)
            .await
            .map_err(|e| Failure::retry(e, None))?;
        transport::read_reply(reply.status, reply.retry_after.as_deref(), &reply.body)
    }

    async fn sleep(&self, wait: Duration) {
        Delay::from(wait).await;
    }

    fn jitter(&self) -> f64 {
        worker::js_sys::Math::random()
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl ChatClient for FetchChat {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        transport::complete(self, request).await
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

/// A POST of a JSON body, with a bearer token when there is one.
fn json_post(url: &str, token: Option<&str>, body: String) -> worker::Result<Request> {
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(token) = token {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    request(url, Method::Post, &headers, Some(body))
}

/// What came back for a request.
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
}

/// Sends `req` over the runtime's `fetch`, aborting it when no whole reply (headers and body)
/// comes within `timeout`: a stuck service fails the request, which its caller retries, instead
/// of holding the job's step forever. A body declared or found larger than `max_bytes` is
/// refused.
async fn send(req: Request, timeout: Duration, max_bytes: u64) -> Result<Reply, String> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = Box::pin(async move {
        let mut response = Fetch::Request(req)
            .send_with_signal(&signal)
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
        let retry_after = response.headers().get("retry-after").ok().flatten();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() as u64 > max_bytes {
            return Err(format!("the reply is larger than {max_bytes} bytes"));
        }
        Ok(Reply {
            status: response.status_code(),
            retry_after,
            body,
        })
    });
    match select(exchange, Delay::from(timeout)).await {
        Either::Left((reply, _)) => reply,
        Either::Right(_) => {
            controller.abort();
            Err(format!("no reply within {} s", timeout.as_secs_f64()))
        }
    }
}

/// GETs over the runtime's `fetch` (redirects followed).
#[derive(Debug)]
pub struct FetchClient;

impl HttpClient for FetchClient {
    async fn get(&self, get: HttpRequest, max_bytes: u64) -> Result<HttpResponse, String> {
        let req = request(&get.url, Method::Get, &get.headers, None).map_err(|e| e.to_string())?;
        let reply = send(req, GITHUB_TIMEOUT, max_bytes).await?;
        Ok(HttpResponse {
            status: reply.status,
            body: reply.body,
        })
    }
}

/// gpu-service's batch endpoint over `fetch`, vectors as half floats (as the CLI asks, so both
/// hosts embed to the same bits).
#[derive(Debug)]
pub struct GpuService {
    endpoint: String,
    token: Option<String>,
    timeout: Duration,
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
        let req = json_post(&self.endpoint, self.token.as_deref(), body)
            .map_err(|e| unavailable(e.to_string()))?;
        let reply = send(req, self.timeout, MAX_BATCH_REPLY_BYTES)
            .await
            .map_err(unavailable)?;
        let body = String::from_utf8_lossy(&reply.body);
        read_reply(
            reply.status,
            reply.retry_after.as_deref(),
            &body,
            texts.len(),
        )
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
