//! `doctown generate --llm-url` against the OpenAI stand-in (`common::openai`: a local server
//! that speaks OpenAI's chat-completions protocol, since the hosted API cannot be reached from
//! here), answering as asked or misbehaving on cue.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::openai::{serve, KEY, MODEL, PRICE_IN, PRICE_OUT};
use serde_json::Value;

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
