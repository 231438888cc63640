//! The OpenAI stand-in: a local server that speaks OpenAI's chat-completions protocol
//! (`POST /v1/chat/completions`, bearer auth, JSON mode, `usage` counted with o200k_base as
//! OpenAI bills, OpenAI's error bodies). It stands in for the hosted API, which the test
//! machines cannot reach. It answers from the facts in the prompt and, when asked to, misbehaves
//! on cue: 429 with `Retry-After`, 500, a body that is not JSON, a slow reply, a reply that never
//! comes, a reply that is not the JSON object asked for, and replies that name symbols the
//! repository does not have.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const KEY: &str = "sk-test-key";
/// A model of OpenAI's price table, so estimates and caps have a price to work with.
pub const MODEL: &str = "gpt-4o-mini";
pub const PRICE_IN: f64 = 0.15;
pub const PRICE_OUT: f64 = 0.60;

/// What the server saw (and whether it misbehaves).
#[derive(Default)]
pub struct Seen {
    /// Misbehave as scripted: faults on the first requests, a reply that is not JSON, texts
    /// that name what does not exist. Otherwise it answers as asked.
    pub faults: bool,
    /// Tokens billed, counted as OpenAI does.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub requests: usize,
    pub unauthorized: usize,
    /// The user messages asking to rewrite named-nonexistent texts.
    pub corrections: Vec<String>,
    /// Whether the one reply that is not JSON went out.
    pub malformed_sent: bool,
    /// Whether the request that never gets a reply came.
    pub hung: bool,
    /// Prompts that carried their callees' docs, written before them.
    pub with_callee_docs: usize,
    /// Requests for several symbols' texts at once, and the symbols they asked for.
    pub batches: usize,
    pub batched_symbols: usize,
    /// How long every reply takes.
    pub delay: Duration,
}

pub type Shared = Arc<Mutex<Seen>>;

fn openai_error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    (status, Json(body)).into_response()
}

async fn chat(State(seen): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.requests += 1;
        seen.requests
    };
    let delay = seen.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}"))
    {
        seen.lock().unwrap().unauthorized += 1;
        return openai_error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided",
            "invalid_request_error",
        );
    }
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "We could not parse the JSON body",
            "invalid_request_error",
        );
    };
    if request["model"] != MODEL || request["stream"] != false || !request["messages"].is_array() {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "unexpected request",
            "invalid_request_error",
        );
    }
    assert_eq!(
        request["response_format"]["type"], "json_object",
        "JSON mode is asked for"
    );
    // Faults on the first requests of the run.
    let faults = seen.lock().unwrap().faults;
    match n {
        _ if !faults => {}
        1 => {
            let mut response = openai_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached",
                "requests",
            );
            response
                .headers_mut()
                .insert("retry-after", "1".parse().unwrap());
            return response;
        }
        2 => {
            return openai_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error",
                "server_error",
            )
        }
        3 => return (StatusCode::OK, "<html>upstream proxy error</html>").into_response(),
        // Slow, but within the client's timeout (`--llm-timeout 4` below).
        4 => tokio::time::sleep(Duration::from_secs(2)).await,
        // Hangs: the client gives up at its timeout and asks again.
        5 => {
            seen.lock().unwrap().hung = true;
            tokio::time::sleep(Duration::from_secs(3600)).await
        }
        _ => {}
    }
    let messages = request["messages"].as_array().unwrap();
    let prompt = messages[1]["content"].as_str().unwrap();
    // One symbol's (or module's, or the repository's) facts, or several symbols' under their
    // numbers, each on the line after `Facts:`.
    let subjects: Vec<Value> = prompt
        .split("Facts:\n")
        .skip(1)
        .map(|rest| serde_json::from_str(rest.lines().next().unwrap()).unwrap())
        .collect();
    let many = messages[0]["content"]
        .as_str()
        .unwrap()
        .contains(r#"{"texts": {"1""#);
    let correcting = messages.len() > 2;
    {
        let mut seen = seen.lock().unwrap();
        seen.with_callee_docs += prompt
            .matches("What it calls, as already documented:\n- `")
            .count();
        if many {
            seen.batches += 1;
            seen.batched_symbols += subjects.len();
        }
        if correcting {
            let last = messages.last().unwrap()["content"].as_str().unwrap();
            seen.corrections.push(last.to_owned());
        }
    }
    let texts: Option<Vec<String>> = subjects
        .iter()
        .map(|facts| answer(facts, correcting, &seen))
        .collect();
    let content = match texts {
        // Not the JSON object asked for.
        None => "Sure! Stack is a stack.".to_owned(),
        Some(texts) if many => {
            let texts: serde_json::Map<String, Value> = texts
                .into_iter()
                .enumerate()
                .map(|(k, text)| ((k + 1).to_string(), Value::String(text)))
                .collect();
            json!({ "texts": texts }).to_string()
        }
        Some(texts) => json!({ "text": texts[0] }).to_string(),
    };
    // Billed as OpenAI counts: each message's role and content plus 3, plus 3 for the reply.
    let bpe = tiktoken_rs::o200k_base_singleton();
    let prompt_tokens: usize = messages
        .iter()
        .map(|m| {
            bpe.encode_ordinary(m["role"].as_str().unwrap()).len()
                + bpe.encode_ordinary(m["content"].as_str().unwrap()).len()
                + 3
        })
        .sum::<usize>()
        + 3;
    let completion_tokens = bpe.encode_ordinary(&content).len();
    {
        let mut seen = seen.lock().unwrap();
        seen.prompt_tokens += prompt_tokens as u64;
        seen.completion_tokens += completion_tokens as u64;
    }
    let reply = json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    });
    Json(reply).into_response()
}

/// The text for one subject's facts, as scripted; `None` for the one reply that is not JSON.
fn answer(facts: &Value, correcting: bool, seen: &Shared) -> Option<String> {
    let mut seen = seen.lock().unwrap();
    let scripted = facts["symbol"].as_str().filter(|_| seen.faults);
    // Not the JSON object asked for, once.
    if scripted == Some("registry.Stack") && !std::mem::replace(&mut seen.malformed_sent, true) {
        return None;
    }
    Some(match scripted {
        // Names a symbol that does not exist, then corrects itself when told.
        Some("geometry.Rect") if !correcting => {
            "`Rect` is a rectangle; see `geometry.FrobnicateAll`.".to_owned()
        }
        // Names a symbol that does not exist, every time.
        Some("registry.New") => "`New` calls `registry.MakeEverything`.".to_owned(),
        _ if facts["symbol"].is_string() => format!(
            "`{}` is a {} in `{}`, with a complexity of {} over {} lines. It is used by {} other symbols and uses {}.",
            facts["name"].as_str().unwrap(),
            facts["kind"].as_str().unwrap(),
            facts["file"].as_str().unwrap(),
            facts["complexity"],
            facts["lines_of_code"],
            facts["fan_in"],
            facts["fan_out"]
        ),
        _ if facts.get("metrics").is_some() => {
            format!("`{}` is a module.", facts["metrics"]["module"].as_str().unwrap())
        }
        _ => format!("The repository has {} files.", facts["files"]),
    })
}

/// Starts the stand-in on a free local port, on its own thread.
pub fn serve(faults: bool) -> (SocketAddr, Shared) {
    serve_with(Seen {
        faults,
        ..Seen::default()
    })
}

/// Starts the stand-in as `seen` says (faults, delay).
pub fn serve_with(seen: Seen) -> (SocketAddr, Shared) {
    let seen: Shared = Arc::new(Mutex::new(seen));
    let state = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .route("/v1/chat/completions", post(chat))
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}
