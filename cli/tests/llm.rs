//! `doctown generate --llm-url` against a local server that speaks OpenAI's chat-completions
//! protocol (`POST /v1/chat/completions`, bearer auth, JSON mode, `usage`, OpenAI's error
//! bodies). It stands in for the hosted API, which this machine cannot reach. It answers from the
//! facts in the prompt and misbehaves on cue: 429 with `Retry-After`, 500, a body that is not
//! JSON, a slow reply, a reply that is not the JSON object asked for, and replies that name
//! symbols the repository does not have.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

const KEY: &str = "sk-test-key";
const MODEL: &str = "stand-in-chat";

/// What the server saw.
#[derive(Default)]
struct Seen {
    requests: usize,
    unauthorized: usize,
    /// The user messages asking to rewrite named-nonexistent texts.
    corrections: Vec<String>,
    /// Whether the one reply that is not JSON went out.
    malformed_sent: bool,
}

type Shared = Arc<Mutex<Seen>>;

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
    match n {
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
        4 => tokio::time::sleep(Duration::from_secs(2)).await,
        _ => {}
    }
    let messages = request["messages"].as_array().unwrap();
    let prompt = messages[1]["content"].as_str().unwrap();
    let facts: Value = serde_json::from_str(prompt.split_once("Facts:\n").unwrap().1).unwrap();
    let correcting = messages.len() > 2;
    if correcting {
        let last = messages.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_owned();
        seen.lock().unwrap().corrections.push(last);
    }
    let symbol = facts["symbol"].as_str();
    let malformed = symbol == Some("registry.Stack")
        && !std::mem::replace(&mut seen.lock().unwrap().malformed_sent, true);
    let content = match symbol {
        // Not the JSON object asked for, once.
        Some(_) if malformed => "Sure! Stack is a stack.".to_owned(),
        // Names a symbol that does not exist, then corrects itself when told.
        Some("geometry.Rect") if !correcting => {
            json!({"text": "`Rect` is a rectangle; see `geometry.FrobnicateAll`."}).to_string()
        }
        // Names a symbol that does not exist, every time.
        Some("registry.New") => {
            json!({"text": "`New` calls `registry.MakeEverything`."}).to_string()
        }
        Some(_) => json!({
            "text": format!("`{}` is a {} in `{}`.", facts["name"].as_str().unwrap(), facts["kind"].as_str().unwrap(), facts["file"].as_str().unwrap())
        })
        .to_string(),
        None if facts.get("metrics").is_some() => {
            json!({"text": format!("`{}` is a module.", facts["metrics"]["module"].as_str().unwrap())}).to_string()
        }
        None => json!({"text": format!("The repository has {} files.", facts["files"])}).to_string(),
    };
    let reply = json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": body.len() / 4, "completion_tokens": content.len() / 4, "total_tokens": body.len() / 4 + content.len() / 4}
    });
    Json(reply).into_response()
}

/// Starts the stand-in on a free local port, on its own thread.
fn serve() -> (SocketAddr, Shared) {
    let seen: Shared = Arc::default();
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

fn fixture(lang: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).join(lang)
}

fn generate(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("generate")
        .arg(fixture("go"))
        .arg("-o")
        .arg(out)
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("cannot run doctown")
}

#[test]
fn an_openai_compatible_model_writes_the_docs_and_inventions_are_refused() {
    let (addr, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.docpack");
    let url = format!("http://{addr}/v1");
    let output = generate(
        &[
            "--llm-url",
            &url,
            "--llm-model",
            MODEL,
            "--llm-api-key",
            KEY,
            "--yes",
        ],
        &out,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(KEY), "the key is never printed");
    let bytes = std::fs::read(&out).unwrap();
    assert!(!String::from_utf8_lossy(&zstd::decode_all(bytes.as_slice()).unwrap()).contains(KEY));
    let d = doctown_core::docpack::read(&bytes).expect("the docpack verifies");
    assert_eq!(d.manifest.verbalizer, MODEL);
    let node = |q: &str| d.nodes.iter().find(|n| n.qualified_name == q).unwrap();

    // Retried through 429 (honouring Retry-After), 500, an unreadable body and a slow reply.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.unauthorized, 0);
    assert!(
        seen.requests > d.nodes.len() + 4,
        "{} requests",
        seen.requests
    );
    // A reply that is not the JSON asked for is asked again.
    assert!(seen.malformed_sent);
    assert_eq!(node("registry.Stack").doc.verbalizer, MODEL);
    // An invented name is pointed out, and the corrected text kept.
    assert!(
        seen.corrections
            .iter()
            .any(|c| c.contains("`geometry.FrobnicateAll`")),
        "{:?}",
        seen.corrections
    );
    let rect = node("geometry.Rect");
    assert_eq!(rect.doc.verbalizer, MODEL);
    assert!(!rect.doc.text.contains("FrobnicateAll"));
    // Invented twice: the template's text, marked with the reason.
    let new = node("registry.New");
    assert_eq!(new.doc.verbalizer, "template");
    assert!(
        new.doc
            .rejected
            .as_deref()
            .unwrap()
            .contains("registry.MakeEverything"),
        "{:?}",
        new.doc
    );
    assert!(!new.doc.text.contains("MakeEverything"));
    // Everything else is the model's.
    let by_model = d.nodes.iter().filter(|n| n.doc.verbalizer == MODEL).count();
    assert_eq!(by_model, d.nodes.len() - 1);
    assert!(d
        .modules
        .modules
        .iter()
        .all(|m| m.overview.verbalizer == MODEL));
    assert_eq!(d.modules.architecture.verbalizer, MODEL);
    assert!(
        stderr.contains("prompt and") && stderr.contains("completion tokens"),
        "{stderr}"
    );
}

#[test]
fn the_model_is_not_called_without_consent_or_with_a_wrong_key() {
    let (addr, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/v1");
    let out = dir.path().join("x.docpack");
    let output = generate(&["--llm-url", &url, "--llm-model", MODEL], &out);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--yes"));
    assert_eq!(seen.lock().unwrap().requests, 0);

    // A wrong key is a 401, not worth retrying: every text falls back to the template, and the
    // docpack says why.
    let output = generate(
        &[
            "--llm-url",
            &url,
            "--llm-model",
            MODEL,
            "--llm-api-key",
            "wrong",
            "--yes",
        ],
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let d = doctown_core::docpack::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d.manifest.status, doctown_core::events::Status::Ok);
    assert!(d.nodes.iter().all(|n| n.doc.verbalizer == "template"
        && n.doc.rejected.as_deref().is_some_and(|r| r.contains("401"))));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.unauthorized, seen.requests, "no retry after a 401");
}
