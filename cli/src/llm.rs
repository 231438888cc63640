//! The chat-completions transport for the LLM verbalizer: any OpenAI-compatible endpoint
//! (OpenAI, vLLM, Ollama, llama.cpp's server), with retries on 429, 5xx, timeouts, dropped
//! connections and unreadable bodies: exponential backoff with jitter, `Retry-After` honoured.

use std::time::Duration;

use doctown_core::generate::llm::{ChatClient, ChatError, ChatRequest, ChatResponse};

/// One request may take this long by default (`--llm-timeout`): a busy local model answering a
/// long prompt can take a minute; past two the endpoint is presumed stuck and the request is
/// retried.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// Attempts per request (the first and three retries), as for embedding batches.
pub const MAX_ATTEMPTS: u32 = 4;
/// The first retry waits about this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `Retry-After` longer than this is not waited for: the request fails instead.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// An OpenAI-compatible `POST {base}/chat/completions`.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
}

impl OpenAiClient {
    /// `base_url` as OpenAI's SDKs take it (`https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` for Ollama); a request taking longer than `timeout` is
    /// retried.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        let http = crate::http_client(timeout)?;
        Ok(OpenAiClient {
            http,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
        })
    }

    /// The wait before retry `attempt` (1-based): doubling from the first, with up to half of
    /// it again as jitter so many clients do not retry in step; `Retry-After` wins when given.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let base = FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1).min(10));
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()) as f64
            / 1e9;
        base.mul_f64(1.0 + jitter / 2.0).min(MAX_BACKOFF)
    }

    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let mut call = self.http.post(&self.endpoint).json(request);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call
            .send()
            .await
            .map_err(|e| Failure::retry(e.to_string(), None))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok());
            let body = response.text().await.unwrap_or_default();
            let message = format!("{status}: {}", body.chars().take(300).collect::<String>());
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                Failure::retry(message, retry_after)
            } else {
                Failure::fatal(message)
            });
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::retry(e.to_string(), None))?;
        serde_json::from_slice(&body).map_err(|e| {
            Failure::retry(
                format!(
                    "an unreadable reply ({e}): {:.200}",
                    String::from_utf8_lossy(&body)
                ),
                None,
            )
        })
    }
}

struct Failure {
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn retry(message: String, retry_after: Option<Duration>) -> Self {
        Failure {
            message,
            retryable: true,
            retry_after,
        }
    }

    fn fatal(message: String) -> Self {
        Failure {
            message,
            retryable: false,
            retry_after: None,
        }
    }
}

impl ChatClient for OpenAiClient {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        let mut attempt = 1;
        loop {
            match self.attempt(request).await {
                Ok(reply) => return Ok(reply),
                Err(failure) => {
                    let wait = self.backoff(attempt, failure.retry_after);
                    if !failure.retryable || attempt >= MAX_ATTEMPTS || wait > MAX_BACKOFF {
                        return Err(ChatError(format!(
                            "{} after {attempt} attempt(s): {}",
                            self.endpoint, failure.message
                        )));
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// tiktoken's encoding for the model (o200k_base, GPT-4o's, for models tiktoken does not know:
/// a local model's own tokenizer counts differently, and the estimate says so).
#[derive(Clone, Copy)]
pub struct Tiktoken {
    bpe: &'static tiktoken_rs::CoreBPE,
    /// Whether tiktoken knows the model's own encoding.
    pub exact: bool,
}

impl Tiktoken {
    pub fn for_model(model: &str) -> Self {
        match tiktoken_rs::bpe_for_model(model) {
            Ok(bpe) => Tiktoken { bpe, exact: true },
            Err(_) => Tiktoken {
                bpe: tiktoken_rs::o200k_base_singleton(),
                exact: false,
            },
        }
    }
}

impl doctown_core::generate::llm::TokenCounter for Tiktoken {
    fn count(&self, text: &str) -> usize {
        self.bpe.encode_ordinary(text).len()
    }
}

/// Texts on disk, one file per key under `dir/ab/abcdef….txt`. A text that cannot be read or
/// written is simply not cached: the cache saves money, it never fails a run.
#[derive(Debug, Clone)]
pub struct FileCache {
    dir: std::path::PathBuf,
}

impl FileCache {
    /// `DOCTOWN_CACHE_DIR`, else `$XDG_CACHE_HOME/doctown/texts`, else `~/.cache/doctown/texts`.
    pub fn default_dir() -> Option<std::path::PathBuf> {
        if let Some(dir) = std::env::var_os("DOCTOWN_CACHE_DIR") {
            return Some(dir.into());
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache"))
            })?;
        Some(base.join("doctown").join("texts"))
    }

    pub fn new(dir: std::path::PathBuf) -> Self {
        FileCache { dir }
    }

    fn path(&self, key: &str) -> std::path::PathBuf {
        self.dir
            .join(&key[..2.min(key.len())])
            .join(format!("{key}.txt"))
    }
}

impl doctown_core::generate::llm::TextCache for FileCache {
    fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.path(key)).ok()
    }

    fn put(&self, key: &str, text: &str) {
        let path = self.path(key);
        // Written aside and renamed, so a reader never sees half a text.
        let partial = path.with_extension("txt.partial");
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&partial, text))
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(err) = written {
            eprintln!("note: cannot cache a text at {}: {err}", path.display());
        }
    }
}
