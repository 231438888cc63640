//! gpu-service's HTTP API (axum):
//! - `POST /embed/batch`: Doctown's batch endpoint (see `doctown_core::embed::wire`);
//! - `POST /embed`: text-embeddings-inference's API (`inputs`, `normalize`, `truncate`);
//! - `POST /v1/embeddings`: OpenAI's API (`input`, `model`, `encoding_format`);
//! - `GET /health` and `GET /ping` (never behind auth: load balancers probe them), and
//!   `GET /metrics`.
//!
//! With an API key set, every route but `/health` wants `Authorization: Bearer KEY`. Every reply
//! carries TEI's timing headers; every error is JSON in the flavour of its endpoint, and a full
//! queue answers 503 with `Retry-After`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use doctown_core::embed::wire::{
    BatchRequest, BatchResponse, ChunkEmbedding, WireVector, BATCH_PATH,
};
use doctown_core::embed::{normalize, DIMENSIONS, MAX_TOKENS, MODEL_ID};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::local::LocalEmbedder;
use crate::scheduler::{Embedded, ScheduleError};

/// The largest request body: 256 chunks of ~1 KiB are ~0.3 MiB; 16 MiB leaves room for any
/// honest client and keeps one request from holding much memory.
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// The most of an oversized request body read, and dropped, before its 413 is sent: answering
/// mid-upload and closing makes this side's kernel reset the connection under the client, which
/// then sees a broken connection, not the 413. Past this, it may.
pub const MAX_DRAINED_BYTES: u64 = 64 << 20;
/// The most texts in one request: a few forward passes' worth; more belongs in several
/// requests, which the queue serves fairly.
pub const MAX_INPUTS: usize = 2_048;
/// The longest text accepted. The model reads 256 tokens (~1 KiB of code), so 64 KiB is
/// already 60x what counts; longer is a client bug that would only cost tokenizer time.
pub const MAX_TEXT_BYTES: usize = 64 << 10;

#[derive(Debug, Clone)]
struct AppState {
    embedder: LocalEmbedder,
    api_key: Option<Arc<str>>,
}

/// The service's routes around a loaded embedder.
pub fn router(embedder: LocalEmbedder, api_key: Option<String>) -> Router {
    let state = AppState {
        embedder,
        api_key: api_key.filter(|k| !k.is_empty()).map(Arc::from),
    };
    let protected = Router::new()
        .route(BATCH_PATH, post(batch))
        .route("/embed", post(tei_embed))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn(refuse_oversized))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/health", get(health))
        // RunPod's load balancer probes /ping on PORT_HEALTH.
        .route("/ping", get(health))
        .merge(protected)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// The metric label of a request's path.
fn endpoint_of(path: &str) -> &'static str {
    match path {
        BATCH_PATH => "batch",
        "/embed" => "tei",
        "/v1/embeddings" => "openai",
        "/health" | "/ping" => "health",
        "/metrics" => "metrics",
        _ => "other",
    }
}

/// Counts every request by endpoint and status (`doctown_gpu_requests_total`).
async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = endpoint_of(request.uri().path());
    let response = next.run(request).await;
    let metrics = state.embedder.scheduler().metrics();
    metrics.request(endpoint, response.status().as_u16());
    response
}

/// The error shapes of the three APIs.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Doctown,
    Tei,
    OpenAi,
}

#[derive(Debug)]
struct ApiError {
    flavor: Flavor,
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(
        flavor: Flavor,
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            flavor,
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Bad input: 422 in TEI's API, 400 in the others.
    fn invalid(flavor: Flavor, code: &'static str, message: impl Into<String>) -> Self {
        let status = match flavor {
            Flavor::Tei => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(flavor, status, code, message)
    }

    fn from_schedule(flavor: Flavor, err: ScheduleError) -> Self {
        match err {
            ScheduleError::QueueFull { retry_after, .. } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(
                    flavor,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_full",
                    err.to_string(),
                )
            },
            ScheduleError::ShuttingDown => ApiError::new(
                flavor,
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                err.to_string(),
            ),
            ScheduleError::Inference(_) => ApiError::new(
                flavor,
                StatusCode::INTERNAL_SERVER_ERROR,
                "inference_failed",
                err.to_string(),
            ),
        }
    }

    fn from_body(flavor: Flavor, rejection: BytesRejection) -> Self {
        ApiError::new(
            flavor,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body cannot be read ({rejection}); send at most {MAX_BODY_BYTES} bytes"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.flavor {
            Flavor::Doctown => json!({ "error": self.message, "code": self.code }),
            Flavor::Tei => json!({ "error": self.message, "error_type": self.code }),
            Flavor::OpenAi => json!({
                "error": { "message": self.message, "type": "invalid_request_error", "code": self.code }
            }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(after.as_secs().max(1)),
            );
        }
        response
    }
}

/// The error flavour of the endpoint at `path`.
fn flavor_of(path: &str) -> Flavor {
    match endpoint_of(path) {
        "tei" => Flavor::Tei,
        "openai" => Flavor::OpenAi,
        _ => Flavor::Doctown,
    }
}

/// Answers a body whose Content-Length is over [`MAX_BODY_BYTES`] with 413 before any handler
/// reads it, once it has arrived (up to [`MAX_DRAINED_BYTES`]), so the client gets the answer.
async fn refuse_oversized(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > MAX_BODY_BYTES as u64);
    let Some(declared) = declared else {
        return next.run(request).await;
    };
    let flavor = flavor_of(request.uri().path());
    if declared <= MAX_DRAINED_BYTES {
        let mut body = request.into_body().into_data_stream();
        while let Some(Ok(_)) = body.next().await {}
    }
    ApiError::new(
        flavor,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is {declared} bytes; send at most {MAX_BODY_BYTES} bytes"),
    )
    .into_response()
}

async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = &state.api_key else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        flavor_of(request.uri().path()),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong API key: send `Authorization: Bearer <key>`",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "model": MODEL_ID,
        "dimensions": DIMENSIONS,
        "max_tokens": MAX_TOKENS,
        "device": state.embedder.device(),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.embedder.scheduler().metrics().render(),
    )
}

fn parse<T: for<'de> Deserialize<'de>>(
    flavor: Flavor,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(flavor, r))?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(flavor, "invalid_json", format!("invalid request JSON: {e}"))
    })
}

fn check_texts(flavor: Flavor, texts: &[String]) -> Result<(), ApiError> {
    if texts.is_empty() {
        return Err(ApiError::invalid(
            flavor,
            "empty_input",
            "the input holds no texts: send at least one",
        ));
    }
    if texts.len() > MAX_INPUTS {
        return Err(ApiError::new(
            flavor,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_inputs",
            format!(
                "{} texts in one request; send at most {MAX_INPUTS} per request",
                texts.len()
            ),
        ));
    }
    if let Some((i, t)) = texts
        .iter()
        .enumerate()
        .find(|(_, t)| t.len() > MAX_TEXT_BYTES)
    {
        return Err(ApiError::new(
            flavor,
            StatusCode::PAYLOAD_TOO_LARGE,
            "text_too_large",
            format!(
                "text {i} has {} bytes; the model reads {MAX_TOKENS} tokens, so send at most {MAX_TEXT_BYTES} bytes per text",
                t.len()
            ),
        ));
    }
    Ok(())
}

/// Tokenizes, refusing truncation when the client asked for that (TEI's `truncate: false`),
/// then queues. Returns the vectors (normalised when asked) and the timing headers.
async fn run(
    state: &AppState,
    flavor: Flavor,
    texts: Vec<String>,
    allow_truncation: bool,
    normalized: bool,
) -> Result<(Embedded, HeaderMap), ApiError> {
    let started = Instant::now();
    let characters: usize = texts.iter().map(|t| t.chars().count()).sum();
    let encoded = state.embedder.tokenize(texts).await.map_err(|e| {
        ApiError::new(
            flavor,
            StatusCode::INTERNAL_SERVER_ERROR,
            "tokenizer_failed",
            format!("{e:#}"),
        )
    })?;
    if !allow_truncation {
        if let Some(i) = encoded.iter().position(|e| e.truncated) {
            return Err(ApiError::new(
                flavor,
                StatusCode::PAYLOAD_TOO_LARGE,
                "validation",
                format!("input {i} is longer than {MAX_TOKENS} tokens; shorten it or send `truncate: true`"),
            ));
        }
    }
    let tokenization = started.elapsed();
    let mut embedded = state
        .embedder
        .scheduler()
        .embed(encoded.into_iter().map(|e| e.ids).collect())
        .await
        .map_err(|e| ApiError::from_schedule(flavor, e))?;
    if normalized {
        embedded.vectors.iter_mut().for_each(|v| normalize(v));
    }
    let mut headers = HeaderMap::new();
    let ms = |d: Duration| HeaderValue::from(d.as_millis() as u64);
    headers.insert(
        "x-compute-type",
        HeaderValue::from_static(state.embedder.device()),
    );
    headers.insert("x-compute-time", ms(started.elapsed()));
    headers.insert("x-tokenization-time", ms(tokenization));
    headers.insert("x-queue-time", ms(embedded.queue_time));
    headers.insert("x-inference-time", ms(embedded.inference_time));
    headers.insert(
        "x-compute-tokens",
        HeaderValue::from(embedded.tokens as u64),
    );
    headers.insert("x-compute-characters", HeaderValue::from(characters as u64));
    Ok((embedded, headers))
}

async fn batch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let flavor = Flavor::Doctown;
    let request: BatchRequest = parse(flavor, body)?;
    let (ids, texts): (Vec<String>, Vec<String>) = request
        .chunks
        .into_iter()
        .map(|c| (c.chunk_id, c.content))
        .unzip();
    check_texts(flavor, &texts)?;
    let (embedded, headers) = run(&state, flavor, texts, true, true).await?;
    let response = BatchResponse {
        batch_id: request.batch_id,
        model: MODEL_ID.to_owned(),
        dimensions: DIMENSIONS,
        encoding: request.encoding,
        tokens: embedded.tokens as u64,
        vectors: ids
            .into_iter()
            .zip(&embedded.vectors)
            .map(|(chunk_id, v)| ChunkEmbedding {
                chunk_id,
                vector: WireVector::encode(v, request.encoding),
            })
            .collect(),
    };
    Ok((headers, Json(response)).into_response())
}

/// One text or several, as both TEI and OpenAI accept.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Inputs {
    One(String),
    Many(Vec<String>),
    Tokens(serde::de::IgnoredAny),
}

impl Inputs {
    fn into_texts(self, flavor: Flavor) -> Result<Vec<String>, ApiError> {
        match self {
            Inputs::One(t) => Ok(vec![t]),
            Inputs::Many(ts) => Ok(ts),
            Inputs::Tokens(_) => Err(ApiError::invalid(
                flavor,
                "unsupported_input",
                "input must be a string or an array of strings (token ids of another tokenizer mean nothing to this model)",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeiRequest {
    inputs: Inputs,
    #[serde(default = "yes")]
    normalize: bool,
    #[serde(default)]
    truncate: bool,
    #[serde(default)]
    truncation_direction: Option<String>,
    #[serde(default)]
    prompt_name: Option<String>,
}

fn yes() -> bool {
    true
}

async fn tei_embed(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let flavor = Flavor::Tei;
    let request: TeiRequest = parse(flavor, body)?;
    if request
        .truncation_direction
        .as_deref()
        .is_some_and(|d| !d.eq_ignore_ascii_case("right"))
    {
        return Err(ApiError::invalid(
            flavor,
            "validation",
            "only `truncation_direction: \"Right\"` is supported",
        ));
    }
    if request.prompt_name.is_some() {
        return Err(ApiError::invalid(
            flavor,
            "validation",
            "this model defines no prompts; omit `prompt_name`",
        ));
    }
    let texts = request.inputs.into_texts(flavor)?;
    check_texts(flavor, &texts)?;
    let (embedded, headers) =
        run(&state, flavor, texts, request.truncate, request.normalize).await?;
    Ok((headers, Json(embedded.vectors)).into_response())
}

#[derive(Debug, Deserialize)]
struct OpenAiRequest {
    input: Inputs,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

async fn openai_embeddings(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let flavor = Flavor::OpenAi;
    let request: OpenAiRequest = parse(flavor, body)?;
    if let Some(model) = &request.model {
        let short = MODEL_ID.rsplit('/').next().unwrap_or(MODEL_ID);
        if model != MODEL_ID && model != short {
            return Err(ApiError::new(
                flavor,
                StatusCode::NOT_FOUND,
                "model_not_found",
                format!("the model `{model}` is not served here; use `{MODEL_ID}`"),
            ));
        }
    }
    if request.dimensions.is_some_and(|d| d != DIMENSIONS) {
        return Err(ApiError::invalid(
            flavor,
            "invalid_dimensions",
            format!("this model has {DIMENSIONS} dimensions"),
        ));
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                flavor,
                "invalid_encoding_format",
                format!("encoding_format `{other}` is not `float` or `base64`"),
            ))
        }
    };
    let texts = request.input.into_texts(flavor)?;
    check_texts(flavor, &texts)?;
    let (embedded, headers) = run(&state, flavor, texts, true, true).await?;
    let data: Vec<Value> = embedded
        .vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    let body = json!({
        "object": "list",
        "data": data,
        "model": MODEL_ID,
        "usage": { "prompt_tokens": embedded.tokens, "total_tokens": embedded.tokens },
    });
    Ok((headers, Json(body)).into_response())
}
