//! The chat-completions transport for the LLM verbalizer: any OpenAI-compatible endpoint
//! (OpenAI, vLLM, Ollama, llama.cpp's server) over reqwest. What is retried, and how long to
//! wait, is the core's ([`doctown_core::generate::transport`]).

use std::time::Duration;

use doctown_core::generate::llm::{ChatClient, ChatError, ChatRequest, ChatResponse};
use doctown_core::generate::transport::{self, ChatTransport, Failure};

/// One request may take this long by default (`--llm-timeout`): a busy local model answering a
/// long prompt can take a minute; past two the endpoint is presumed stuck and the request is
/// retried.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;

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
}

impl ChatTransport for OpenAiClient {
    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, Failure> {
        let mut call = self.http.post(&self.endpoint).json(request);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call
            .send()
            .await
            .map_err(|e| Failure::retry(e.to_string(), None))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::retry(e.to_string(), None))?;
        transport::read_reply(status, retry_after.as_deref(), &body)
    }

    async fn sleep(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }

    fn jitter(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()) as f64
            / 1e9
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl ChatClient for OpenAiClient {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        transport::complete(self, request).await
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
