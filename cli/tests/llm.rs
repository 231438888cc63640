//! `doctown generate --llm-url` against a local server that speaks OpenAI's chat-completions
//! protocol (`POST /v1/chat/completions`, bearer auth, JSON mode, `usage`, OpenAI's error
//! bodies). It stands in for the hosted API, which this machine cannot reach. It answers from the
//! facts in the prompt and misbehaves on cue: 429 with `Retry-After`, 500, a body that is not
//! JSON, a slow reply, a reply that never comes, a reply that is not the JSON object asked for,
//! and replies that name symbols the repository does not have.

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

mod common;

const KEY: &str = "sk-test-key";
/// A model of OpenAI's price table, so estimates and caps have a price to work with.
const MODEL: &str = "gpt-4o-mini";
const PRICE_IN: f64 = 0.15;
const PRICE_OUT: f64 = 0.60;

/// What the server saw (and whether it misbehaves).
#[derive(Default)]
struct Seen {
    /// Misbehave as scripted: faults on the first requests, a reply that is not JSON, texts
    /// that name what does not exist. Otherwise it answers as asked.
    faults: bool,
    /// Tokens billed, counted as OpenAI does.
    prompt_tokens: u64,
    completion_tokens: u64,
    requests: usize,
    unauthorized: usize,
    /// The user messages asking to rewrite named-nonexistent texts.
    corrections: Vec<String>,
    /// Whether the one reply that is not JSON went out.
    malformed_sent: bool,
    /// Whether the request that never gets a reply came.
    hung: bool,
    /// Prompts that carried their callees' docs, written before them.
    with_callee_docs: usize,
    /// Requests for several symbols' texts at once, and the symbols they asked for.
    batches: usize,
    batched_symbols: usize,
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
fn serve(faults: bool) -> (SocketAddr, Shared) {
    let seen: Shared = Arc::new(Mutex::new(Seen {
        faults,
        ..Seen::default()
    }));
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
        // Each test keeps its texts beside its docpack.
        .env("DOCTOWN_CACHE_DIR", out.parent().unwrap().join("texts"))
        .output()
        .expect("cannot run doctown")
}

/// `--llm-url URL --llm-model MODEL --llm-api-key KEY` and `more`.
fn llm_args<'a>(url: &'a str, key: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--llm-url", url, "--llm-model", MODEL, "--llm-api-key", key];
    args.extend_from_slice(more);
    args
}

#[test]
fn an_openai_compatible_model_writes_the_docs_and_inventions_are_refused() {
    let (addr, seen) = serve(true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.docpack");
    let url = format!("http://{addr}/v1");
    let output = generate(&llm_args(&url, KEY, &["--yes", "--llm-timeout", "4"]), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(KEY), "the key is never printed");
    let bytes = std::fs::read(&out).unwrap();
    assert!(!String::from_utf8_lossy(&zstd::decode_all(bytes.as_slice()).unwrap()).contains(KEY));
    let d = doctown_core::docpack::read(&bytes).expect("the docpack verifies");
    assert_eq!(d.manifest.verbalizer, MODEL);
    let node = |q: &str| d.nodes.iter().find(|n| n.qualified_name == q).unwrap();

    // Retried through 429 (honouring Retry-After), 500, an unreadable body, a slow reply and a
    // hung one.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.unauthorized, 0);
    assert!(seen.hung);
    // Symbols of one level go several to a request: fewer requests than texts.
    let texts = d.nodes.len() + d.modules.modules.len() + 1;
    assert!(seen.batches > 0 && seen.batched_symbols > seen.batches);
    assert!(
        seen.requests < texts,
        "{} requests for {texts} texts",
        seen.requests
    );
    // Callees come first, and their docs go into their callers' prompts.
    assert!(seen.with_callee_docs > 0);
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

/// `N requests, P prompt and C completion tokens` after `label` in the report.
fn tokens(stderr: &str, label: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {stderr}"));
    // "… for gpt-4o-mini: R requests, P prompt and C completion tokens, $…"
    let (_, counts) = line.split_once(": ").unwrap();
    let numbers: Vec<u64> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[1], numbers[2])
}

#[test]
fn the_estimate_is_within_ten_percent_of_what_is_billed() {
    // A model that answers as asked: the estimate does not foresee texts asked for again or
    // corrected (the first test has those).
    let (addr, seen) = serve(false);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.docpack");
    let url = format!("http://{addr}/v1");
    let output = generate(&llm_args(&url, KEY, &["--yes", "--json"]), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let (prompt, completion) = tokens(&stderr, "estimate for");
    let (actual_prompt, actual_completion) = tokens(&stderr, "actual for");
    let seen = seen.lock().unwrap();
    assert_eq!(
        (actual_prompt, actual_completion),
        (seen.prompt_tokens, seen.completion_tokens)
    );
    let estimated = (prompt + completion) as f64;
    let billed = (actual_prompt + actual_completion) as f64;
    let error = (estimated - billed).abs() / billed;
    eprintln!(
        "estimated {estimated} tokens, billed {billed}: {:.1}% apart",
        error * 100.0
    );
    assert!(
        error < 0.10,
        "estimated {estimated} tokens, billed {billed}"
    );
    // The manifest keeps both, beside each other, as its schema says.
    let bytes = std::fs::read(&out).unwrap();
    common::assert_parts_follow_schemas(&bytes);
    let d = doctown_core::docpack::read(&bytes).unwrap();
    let cost = d.manifest.generation.unwrap();
    assert_eq!(cost.estimate.usage.prompt_tokens, prompt);
    assert_eq!(cost.actual.prompt_tokens, actual_prompt);
    // Without corrections, nothing can cost more than every reply at its limit.
    assert!(cost.estimate.most_usd > cost.estimate.usd);
    assert!(cost.actual_usd <= cost.estimate.most_usd);
    // The generation events carry the estimate and what was spent, in dollars.
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let payload = |name: &str| {
        let event = events.iter().find(|e| e["event"] == name);
        event.unwrap_or_else(|| panic!("no {name}"))["payload"].clone()
    };
    let usd = |tokens: (u64, u64)| (tokens.0 as f64 * PRICE_IN + tokens.1 as f64 * PRICE_OUT) / 1e6;
    let started = payload("generation.started.v1")["estimated_cost_usd"].as_f64();
    let completed = payload("generation.completed.v1")["cost_usd"].as_f64();
    assert!((started.unwrap() - usd((prompt, completion))).abs() < 1e-9);
    assert!((completed.unwrap() - usd((actual_prompt, actual_completion))).abs() < 1e-9);
}

#[test]
fn a_second_run_takes_every_text_from_the_cache() {
    let (addr, seen) = serve(false);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/v1");
    let args = llm_args(&url, KEY, &["--yes"]);
    let first = dir.path().join("first.docpack");
    assert!(generate(&args, &first).status.success());
    let requests = seen.lock().unwrap().requests;
    assert!(requests > 0);

    let second = dir.path().join("second.docpack");
    let output = generate(&args, &second);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        seen.lock().unwrap().requests,
        requests,
        "the second run sent nothing"
    );
    assert!(
        stderr.contains("estimate for gpt-4o-mini: 0 requests"),
        "{stderr}"
    );
    assert!(
        stderr.contains("actual for gpt-4o-mini: 0 requests"),
        "{stderr}"
    );
    let a = doctown_core::docpack::read(&std::fs::read(&first).unwrap()).unwrap();
    let b = doctown_core::docpack::read(&std::fs::read(&second).unwrap()).unwrap();
    assert_eq!(a.id, b.id);
    // The cost recorded is what the first run paid, on both.
    let cost = a
        .manifest
        .generation
        .as_ref()
        .expect("the manifest records the cost");
    let seen = seen.lock().unwrap();
    assert_eq!(cost.actual.prompt_tokens, seen.prompt_tokens);
    assert_eq!(cost.actual.completion_tokens, seen.completion_tokens);
    assert!(cost.actual_usd > 0.0 && cost.estimate.usd > 0.0);
    assert_eq!(b.manifest.generation, a.manifest.generation);
    assert_eq!(b.manifest.verbalizer, MODEL);
}

#[test]
fn the_cost_cap_stops_spending_and_the_docpack_is_partial() {
    let (addr, seen) = serve(false);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.docpack");
    let url = format!("http://{addr}/v1");
    let cap = 0.0015;
    let output = generate(
        &llm_args(&url, KEY, &["--max-cost", &cap.to_string()]),
        &out,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let d = doctown_core::docpack::read(&std::fs::read(&out).unwrap())
        .expect("a capped docpack is valid");
    assert_eq!(
        d.manifest.status,
        doctown_core::events::Status::Partial,
        "{stderr}"
    );
    let by_model = d.nodes.iter().filter(|n| n.doc.verbalizer == MODEL).count();
    assert!(
        by_model > 0 && by_model < d.nodes.len(),
        "{by_model} of {}",
        d.nodes.len()
    );
    // Past the cap every text is the template's and says why.
    let capped = d
        .nodes
        .iter()
        .filter(|n| {
            n.doc
                .rejected
                .as_deref()
                .is_some_and(|r| r.contains("cost cap"))
        })
        .count();
    assert!(capped > 0);
    assert!(d
        .nodes
        .iter()
        .filter(|n| n.doc.verbalizer == "template")
        .all(|n| n.doc.rejected.is_some()));
    let seen = seen.lock().unwrap();
    let spent =
        (seen.prompt_tokens as f64 * PRICE_IN + seen.completion_tokens as f64 * PRICE_OUT) / 1e6;
    assert!(spent <= cap, "spent ${spent} past the ${cap} cap");
    assert!(stderr.contains("cost cap"), "{stderr}");
}

#[test]
fn the_model_is_not_called_without_consent_or_with_a_wrong_key() {
    let (addr, seen) = serve(false);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/v1");
    let out = dir.path().join("x.docpack");
    // Not a terminal and no --yes: the estimate is shown, nothing is sent, and the template
    // writes the texts (nothing computed is lost).
    let output = generate(&llm_args(&url, KEY, &[]), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("estimate for") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(seen.lock().unwrap().requests, 0);
    let d = doctown_core::docpack::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d.manifest.verbalizer, "template");

    // A wrong key is a 401, not worth retrying: every text falls back to the template, and the
    // docpack says why.
    let output = generate(&llm_args(&url, "wrong", &["--yes"]), &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let d = doctown_core::docpack::read(&std::fs::read(&out).unwrap()).unwrap();
    assert!(d.nodes.iter().all(|n| n.doc.verbalizer == "template"
        && n.doc.rejected.as_deref().is_some_and(|r| r.contains("401"))));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.unauthorized, seen.requests, "no retry after a 401");
}
