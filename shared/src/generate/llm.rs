//! The LLM verbalizer: any OpenAI-compatible chat-completions endpoint puts the facts into
//! words, and every text it writes is checked against the symbol table before it is kept.
//!
//! The transport is the host's ([`ChatClient`]: reqwest in the CLI, fetch at the edge), and so
//! are retries and their waiting; this module builds the requests, reads the replies and
//! decides what passes. A reply that names something the repository does not have is sent back
//! once with the offending names pointed out; if the second reply still does, the text is
//! refused and generation writes the template's instead, marked with the reason.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::assemble::{Assembly, FactBundle};
use crate::docpack::GenerationCost;

use super::{
    ArchitectureFacts, CalleeDoc, ModuleFacts, SymbolItem, TemplateVerbalizer, Text,
    VerbalizeError, Verbalizer, SYMBOLS_PER_REQUEST,
};

/// Changes whenever the prompts change: part of what a cached text is keyed by.
pub const PROMPT_VERSION: u32 = 1;

/// The subset of the chat-completions request Doctown sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// 0 for the most repeatable wording; left out for reasoning models, which refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// `{"type": "json_object"}`: JSON mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// The most tokens the reply may have: what bounds a request's cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The same bound for reasoning models (which refuse `max_tokens`), hidden reasoning
    /// included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    pub stream: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    fn new(role: &str, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The subset of the chat-completions reply Doctown reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub message: ChatMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
        }
    }
}

/// A request that failed after the host's retries, with what the endpoint said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChatError(pub String);

/// One chat-completions call. The host retries what is worth retrying (429, 5xx, timeouts,
/// an unreadable body) before it returns an error.
pub trait ChatClient {
    fn complete(
        &self,
        request: &ChatRequest,
    ) -> impl Future<Output = Result<ChatResponse, ChatError>>;
}

impl<C: ChatClient> ChatClient for &C {
    fn complete(
        &self,
        request: &ChatRequest,
    ) -> impl Future<Output = Result<ChatResponse, ChatError>> {
        (**self).complete(request)
    }
}

/// Counts the tokens a model sees in a text; the host supplies the model's tokenizer
/// (tiktoken's encodings for OpenAI models).
pub trait TokenCounter {
    fn count(&self, text: &str) -> usize;
}

/// Bytes per token assumed where no tokenizer is at hand. OpenAI's rule of thumb is four
/// characters per token of English; the prompts here are mostly JSON facts and identifiers,
/// which tokenize denser: o200k_base counts 15,311 prompt tokens for the Python fixture's
/// estimate where this count makes 18,670 (about 3.7 bytes per token). Three errs toward a
/// higher estimate, by about a fifth.
pub const BYTES_PER_TOKEN: usize = 3;

/// Tokens counted by length ([`BYTES_PER_TOKEN`]): for hosts that cannot carry a tokenizer's
/// tables (a Worker's isolate has 128 MB for everything; o200k_base's take tens of MB).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxTokens;

impl TokenCounter for ApproxTokens {
    fn count(&self, text: &str) -> usize {
        text.len().div_ceil(BYTES_PER_TOKEN)
    }
}

/// What the chat format adds to a request's contents, as OpenAI counts it: 3 tokens per
/// message and 3 that prime the reply.
const TOKENS_PER_MESSAGE: usize = 3;
const TOKENS_PER_REPLY: usize = 3;

/// The prompt tokens of `messages`.
pub fn prompt_tokens(counter: &(impl TokenCounter + ?Sized), messages: &[ChatMessage]) -> u64 {
    let contents: usize = messages
        .iter()
        .map(|m| counter.count(&m.role) + counter.count(&m.content) + TOKENS_PER_MESSAGE)
        .sum();
    (contents + TOKENS_PER_REPLY) as u64
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Price {
    pub const FREE: Price = Price {
        input_per_million: 0.0,
        output_per_million: 0.0,
    };

    pub fn cost(&self, usage: Usage) -> f64 {
        (usage.prompt_tokens as f64 * self.input_per_million
            + usage.completion_tokens as f64 * self.output_per_million)
            / 1e6
    }

    /// OpenAI's list prices (standard tier), for the models people point Doctown at; others
    /// (local models) are free unless the user gives a price.
    pub fn of_model(model: &str) -> Option<Price> {
        const TABLE: &[(&str, f64, f64)] = &[
            ("gpt-4o-mini", 0.15, 0.60),
            ("gpt-4o", 2.50, 10.00),
            ("gpt-4.1-nano", 0.10, 0.40),
            ("gpt-4.1-mini", 0.40, 1.60),
            ("gpt-4.1", 2.00, 8.00),
            ("gpt-5-nano", 0.05, 0.40),
            ("gpt-5-mini", 0.25, 2.00),
            ("gpt-5", 1.25, 10.00),
        ];
        // Longest prefix first: `gpt-4o-mini-2024-07-18` is gpt-4o-mini, not gpt-4o.
        TABLE
            .iter()
            .filter(|(name, _, _)| model.starts_with(name))
            .max_by_key(|(name, _, _)| name.len())
            .map(|&(_, input, output)| Price {
                input_per_million: input,
                output_per_million: output,
            })
    }
}

/// What a run is expected to cost, before any request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub requests: u64,
    pub usage: Usage,
    pub usd: f64,
    /// The cost if every reply ran to its limit (for reasoning models, whose hidden reasoning
    /// is billed as completion, the limit includes it), corrections aside.
    #[serde(default)]
    pub most_usd: f64,
}

/// What each kind of text asks for: its instruction, and the most reply tokens allowed.
struct Task {
    instruction: &'static str,
    max_tokens: u32,
}

/// Tokens of the JSON around each text of a reply (`{"text": "…"}`, or `"1": "…",` among
/// several).
const JSON_TOKENS_PER_TEXT: u64 = 5;

const SYMBOL_TASK: Task = Task {
    instruction: "Document this symbol in one or two sentences: what it is and what it is for.",
    max_tokens: 200,
};
const MODULE_TASK: Task = Task {
    instruction: "Write an overview of this module in two to four sentences: what it provides, \
                  its central symbols, and how it relates to the modules it uses and that use it.",
    max_tokens: 400,
};
const ARCHITECTURE_TASK: Task = Task {
    instruction: "Write a summary of this repository's architecture in one paragraph: its \
                  languages and size, its most central symbols, its clusters of related code, \
                  and the modules the rest depends on.",
    max_tokens: 600,
};

/// What asks for several symbols' texts in one request (see [`SYMBOLS_PER_REQUEST`]).
const SYMBOLS_INSTRUCTION: &str = "Document each of these symbols in one or two sentences: \
                                   what it is and what it is for.";

/// Reasoning models (OpenAI's o-series and GPT-5) spend hidden reasoning tokens from the same
/// reply budget: they get this many times a task's limit.
const REASONING_HEADROOM: u32 = 8;

/// OpenAI's reasoning models, which take `max_completion_tokens` and no `temperature`.
pub fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|prefix| model.starts_with(prefix))
}

/// The rules every request carries.
const SYSTEM: &str = "You write reference documentation for a code repository. You are given \
facts that static analysis computed about one part of it, as JSON. Put those facts into words: \
say what it is and what it is for, judging from its name, signature, doc comment and \
neighbours. Do not invent behaviour the facts do not support. Write every identifier, file \
path and module name in backticks, and name only what appears in the facts.";
/// How the reply to one text is asked for, and to several.
const ANSWER_ONE: &str =
    " Answer with a JSON object of the form {\"text\": \"...\"} and nothing else.";
const ANSWER_MANY: &str = " Answer with a JSON object of the form {\"texts\": {\"1\": \"...\", \
\"2\": \"...\"}}, one text per symbol keyed by its number, and nothing else.";

/// Every name a text may put in backticks: each symbol's qualified name and its every tail
/// (`LruCache::insert`, `insert`), file paths and modules, external nodes.
#[derive(Debug, Clone, Default)]
pub struct NameTable {
    names: HashSet<String>,
}

impl NameTable {
    pub fn new(assembly: &Assembly) -> Self {
        let mut table = NameTable::default();
        for s in &assembly.symbols {
            table.add(&s.qualified_name);
            table.add(&s.path);
            table.add(&s.name);
        }
        for e in &assembly.externals {
            table.add(&e.name);
        }
        for m in &assembly.modules {
            table.add(&m.module);
        }
        table
    }

    fn add(&mut self, name: &str) {
        self.names.insert(name.to_owned());
        for (i, _) in name.match_indices(['.', ':', '/']) {
            let tail = name[i..].trim_start_matches(['.', ':', '/']);
            if !tail.is_empty() {
                self.names.insert(tail.to_owned());
            }
        }
    }

    /// The names in backticks that the repository does not have. A backticked span that is
    /// not a name (code with spaces or operators) is not checked.
    pub fn unknown(&self, text: &str) -> Vec<String> {
        let mut unknown: Vec<String> = text
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|span| span.trim().trim_end_matches("()"))
            .filter(|span| is_name(span) && !self.names.contains(*span))
            .map(str::to_owned)
            .collect();
        unknown.sort();
        unknown.dedup();
        unknown
    }
}

/// Identifiers joined by `.`, `::` or `/` (a path may hold `-` and a file extension).
fn is_name(span: &str) -> bool {
    !span.is_empty()
        && span
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '.')
        && span
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '$'))
}

/// A verbalizer backed by a chat model.
#[derive(Debug)]
pub struct LlmVerbalizer<C> {
    client: C,
    /// Where the model is served (part of the cache key).
    endpoint: String,
    model: String,
    names: NameTable,
    /// The user's style guide, added to every request.
    style: Option<String>,
    /// Tokens spent so far, as the endpoint reported them.
    spent: Cell<Usage>,
    requests: Cell<u64>,
    budget: Option<Budget>,
    cache: Option<Box<dyn TextCache>>,
    cache_hits: Cell<u64>,
    /// What the kept outcomes cost (see [`Self::written_usage`]).
    kept: Cell<Usage>,
    /// The price the run is charged at, and what it was estimated to cost.
    pricing: Option<(Price, f64)>,
}

/// Texts already written, by [`cache_key`]: a rerun on an unchanged repository sends nothing and
/// gets the same texts (and so the same docpack id). The host keeps them (files in the CLI).
pub trait TextCache: std::fmt::Debug {
    fn get(&self, key: &str) -> Option<String>;
    fn put(&self, key: &str, text: &str);
}

/// A cached outcome — the text, or why the model's texts were refused — and what it cost to
/// get, so a docpack made from the cache records the same cost as the run that paid.
#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry {
    outcome: Outcome,
    usage: Usage,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Text(String),
    Refused(String),
}

/// The key of a text: the SHA-256 of everything that shapes the reply — the endpoint (another
/// provider may serve another model under the same name), the model, the prompt version (which
/// also covers the request's fixed settings: temperature, JSON mode, reply limits), the system
/// prompt with the style guide, and the task over the facts.
pub fn cache_key(endpoint: &str, model: &str, messages: &[ChatMessage]) -> String {
    let mut parts: Vec<String> = vec![
        endpoint.to_owned(),
        model.to_owned(),
        PROMPT_VERSION.to_string(),
    ];
    parts.extend(
        messages
            .iter()
            .map(|m| format!("{}\0{}", m.role, m.content)),
    );
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    crate::hash::sha256_hex(refs.join("\u{1}").as_bytes())
}

/// A spending cap: no request goes out whose most possible cost (its prompt, counted, and its
/// `max_tokens` of reply) would take the spending past `cap_usd`.
pub struct Budget {
    pub cap_usd: f64,
    pub price: Price,
    pub counter: Box<dyn TokenCounter>,
    /// Set once a request was held back: every later text falls back at once.
    reached: Cell<bool>,
    /// The most the requests in flight may still cost.
    reserved: Cell<f64>,
    /// Spending the endpoint did not report: a failed request, or a reply without `usage`,
    /// is charged its reservation (it may have been billed).
    unreported: Cell<f64>,
}

impl Budget {
    /// A cap of `cap_usd` at `price`, prompts counted with `counter`.
    pub fn new(cap_usd: f64, price: Price, counter: Box<dyn TokenCounter>) -> Self {
        Budget {
            cap_usd,
            price,
            counter,
            reached: Cell::new(false),
            reserved: Cell::new(0.0),
            unreported: Cell::new(0.0),
        }
    }
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("cap_usd", &self.cap_usd)
            .field("price", &self.price)
            .field("reached", &self.reached)
            .finish()
    }
}

impl<C: ChatClient> LlmVerbalizer<C> {
    /// `endpoint`: where `client` sends requests (it keys the cache).
    pub fn new(
        client: C,
        endpoint: impl Into<String>,
        model: impl Into<String>,
        names: NameTable,
        style: Option<String>,
    ) -> Self {
        LlmVerbalizer {
            client,
            endpoint: endpoint.into(),
            model: model.into(),
            names,
            style,
            spent: Cell::new(Usage::default()),
            requests: Cell::new(0),
            budget: None,
            cache: None,
            cache_hits: Cell::new(0),
            kept: Cell::new(Usage::default()),
            pricing: None,
        }
    }

    /// Reports costs at `price` in generation's events, beside `estimate` (see
    /// [`Self::estimate`]).
    pub fn with_pricing(mut self, price: Price, estimate: &Estimate) -> Self {
        self.pricing = Some((price, estimate.usd));
        self
    }

    /// Reuses and keeps texts in `cache`.
    pub fn with_cache(mut self, cache: Box<dyn TextCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Texts taken from the cache so far.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.get()
    }

    /// What the cache holds for `messages`: a text (if it still names only what exists), or
    /// the refusal of the model's last attempts, so a rerun does not pay for them again.
    fn cached(&self, messages: &[ChatMessage]) -> Option<(Result<String, String>, Usage)> {
        let entry = self
            .cache
            .as_ref()?
            .get(&cache_key(&self.endpoint, &self.model, messages))?;
        let entry: CacheEntry = serde_json::from_str(&entry).ok()?;
        let outcome = match entry.outcome {
            Outcome::Text(text) => self.names.unknown(&text).is_empty().then_some(Ok(text))?,
            Outcome::Refused(reason) => Err(reason),
        };
        Some((outcome, entry.usage))
    }

    /// Adds what the outcome of one text cost (paid now or by the run that cached it).
    fn account(&self, usage: Usage) {
        self.kept.set(self.kept.get().plus(usage));
    }

    /// What the texts of this run cost to write, whether paid now or taken from the cache:
    /// the same on a rerun, so it can be recorded in the docpack.
    pub fn written_usage(&self) -> Usage {
        self.kept.get()
    }

    /// The docpack's record of what its texts cost, after generation: the cache-independent
    /// estimate beside [`Self::written_usage`], so a rerun from the cache records the same.
    pub fn cost_record(
        &self,
        assembly: &Assembly,
        counter: &impl TokenCounter,
        price: Price,
    ) -> Result<GenerationCost, VerbalizeError> {
        let written = self.written_usage();
        Ok(GenerationCost {
            model: self.model.clone(),
            price,
            estimate: self.estimate(assembly, counter, price, false)?,
            actual: written,
            actual_usd: price.cost(written),
        })
    }

    /// Keeps an outcome and its cost, in the cache and in the run's account.
    fn remember(&self, key: &str, outcome: Outcome, usage: Usage) {
        self.account(usage);
        let entry = CacheEntry { outcome, usage };
        if let (Some(cache), Ok(json)) = (&self.cache, serde_json::to_string(&entry)) {
            cache.put(key, &json);
        }
    }

    /// Stops spending at `budget.cap_usd`.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Whether the spending cap held back a request.
    pub fn cap_reached(&self) -> bool {
        self.budget.as_ref().is_some_and(|b| b.reached.get())
    }

    /// The prompts every text of `assembly` will send, counted, and the replies expected:
    /// what the run should cost at `price`. A reply is expected to be as long as the
    /// template's text of the same facts (it says the same things, in fewer words than a
    /// model's sentence may take, and more than some). It walks the symbols in generation's
    /// order and grouping, so a caller's prompt counts its callees' docs: their cached texts
    /// where the cache has them, else that expected text. Texts the cache holds cost nothing;
    /// correction rounds are not foreseen.
    ///
    /// With `use_cache` false it prices every text as if none were cached: what writing the
    /// docpack's texts costs, the same on every run (the manifest records that one).
    pub fn estimate(
        &self,
        assembly: &Assembly,
        counter: &impl TokenCounter,
        price: Price,
        use_cache: bool,
    ) -> Result<Estimate, VerbalizeError> {
        let cached = |messages: &[ChatMessage]| use_cache.then(|| self.cached(messages)).flatten();
        let mut estimate = Estimate::default();
        let mut most = Usage::default();
        // A request's prompt, its replies (the texts expected) and its reply limit.
        let mut count = |messages: &[ChatMessage], replies: &[&str], task: &Task| {
            let prompt = prompt_tokens(counter, messages);
            estimate.requests += 1;
            estimate.usage.prompt_tokens += prompt;
            estimate.usage.completion_tokens += replies
                .iter()
                .map(|text| counter.count(text) as u64 + JSON_TOKENS_PER_TEXT)
                .sum::<u64>();
            let limit = self.reply_limit(task.max_tokens * replies.len() as u32);
            most = most.plus(Usage {
                prompt_tokens: prompt,
                completion_tokens: u64::from(limit),
            });
        };
        let template = TemplateVerbalizer;
        // Texts as generation will have them: cached, or still to be written (the expected
        // text stands in for those).
        let mut written: BTreeMap<String, Text> = BTreeMap::new();
        let mut unknown: HashSet<String> = HashSet::new();
        for level in super::leaves_first(assembly) {
            let mut done = Vec::with_capacity(level.len());
            for group in level.chunks(SYMBOLS_PER_REQUEST) {
                // The group's symbols still to be written: facts, callee docs, expected text.
                let mut open: Vec<(String, Vec<CalleeDoc>, String)> = Vec::new();
                for &i in group {
                    let facts = &assembly.facts[i];
                    let callees = super::callee_docs(facts, &written);
                    // A prompt with a callee's expected text in it is not the one a cache
                    // entry was written for.
                    let guessed = facts
                        .calls
                        .iter()
                        .filter(|c| !c.external && written.contains_key(&c.id))
                        .take(super::MAX_CALLEE_DOCS)
                        .any(|c| unknown.contains(&c.id));
                    let facts_json = json(facts)?;
                    let messages = self.messages(&SYMBOL_TASK, &facts_json, &callees);
                    let text = match cached(&messages).filter(|_| !guessed) {
                        Some((Ok(text), _)) => text,
                        Some((Err(_), _)) => template.symbol_text(facts),
                        None => {
                            let expected = template.symbol_text(facts);
                            open.push((facts_json, callees, expected.clone()));
                            unknown.insert(facts.id.clone());
                            expected
                        }
                    };
                    done.push((facts.id.clone(), Text::written(text, &self.model)));
                }
                let replies: Vec<&str> = open.iter().map(|(_, _, text)| text.as_str()).collect();
                match open.as_slice() {
                    [] => {}
                    [(facts, callees, _)] => count(
                        &self.messages(&SYMBOL_TASK, facts, callees),
                        &replies,
                        &SYMBOL_TASK,
                    ),
                    _ => count(
                        &self.batch_messages(&subjects(&open)),
                        &replies,
                        &SYMBOL_TASK,
                    ),
                }
            }
            written.extend(done);
        }
        for facts in super::module_facts(assembly) {
            let messages = self.messages(&MODULE_TASK, &json(&facts)?, &[]);
            if cached(&messages).is_none() {
                count(&messages, &[&template.module_text(&facts)], &MODULE_TASK);
            }
        }
        let facts = super::architecture_facts(assembly);
        let messages = self.messages(&ARCHITECTURE_TASK, &json(&facts)?, &[]);
        if cached(&messages).is_none() {
            count(
                &messages,
                &[&template.architecture_text(&facts)],
                &ARCHITECTURE_TASK,
            );
        }
        estimate.usd = price.cost(estimate.usage);
        estimate.most_usd = price.cost(most);
        Ok(estimate)
    }

    /// The system prompt (with the style guide) and the task over the facts.
    fn messages(&self, task: &Task, facts: &str, callees: &[CalleeDoc]) -> Vec<ChatMessage> {
        let user = format!("{}\n\n{}", task.instruction, subject(facts, callees));
        vec![self.system(ANSWER_ONE), ChatMessage::new("user", user)]
    }

    /// One request for several symbols' texts: each symbol's facts (and callee docs) under
    /// its number.
    fn batch_messages(&self, subjects: &[(&str, &[CalleeDoc])]) -> Vec<ChatMessage> {
        let mut user = SYMBOLS_INSTRUCTION.to_owned();
        for (k, (facts, callees)) in subjects.iter().enumerate() {
            user.push_str(&format!(
                "\n\nSymbol {}:\n{}",
                k + 1,
                subject(facts, callees)
            ));
        }
        vec![self.system(ANSWER_MANY), ChatMessage::new("user", user)]
    }

    fn system(&self, answer: &str) -> ChatMessage {
        let mut system = format!("{SYSTEM}{answer}");
        if let Some(style) = &self.style {
            system.push_str("\n\nStyle guide from the repository's owners:\n");
            system.push_str(style);
        }
        ChatMessage::new("system", system)
    }

    /// Tokens spent so far, as the endpoint reported them.
    pub fn usage(&self) -> Usage {
        self.spent.get()
    }

    pub fn requests(&self) -> u64 {
        self.requests.get()
    }

    /// Asks for `task` over `facts` (from the cache if it holds it), checks the names of the
    /// reply, asks once more pointing out the names that do not exist, and refuses a second
    /// failure.
    async fn write(
        &self,
        task: &Task,
        facts: &impl Serialize,
        callees: &[CalleeDoc],
    ) -> Result<String, VerbalizeError> {
        let facts = serde_json::to_string(facts).map_err(|e| self.error(e.to_string()))?;
        let messages = self.messages(task, &facts, callees);
        if let Some(outcome) = self.take_cached(&messages) {
            return outcome;
        }
        self.converse(task, &facts, messages, None, Usage::default())
            .await
    }

    /// The cached outcome of `messages`, counted as a hit and accounted for.
    fn take_cached(&self, messages: &[ChatMessage]) -> Option<Result<String, VerbalizeError>> {
        let (outcome, usage) = self.cached(messages)?;
        self.cache_hits.set(self.cache_hits.get() + 1);
        self.account(usage);
        Some(outcome.map_err(|reason| self.error(reason)))
    }

    /// The conversation behind one text, from `messages`: the reply is read and its names
    /// checked; a malformed reply is asked for again, a text naming what does not exist is
    /// sent back once. `draft`, a text already had for these messages (from a request for
    /// several symbols), stands for the first reply; `prior` is what it cost.
    async fn converse(
        &self,
        task: &Task,
        facts: &str,
        mut messages: Vec<ChatMessage>,
        draft: Option<String>,
        prior: Usage,
    ) -> Result<String, VerbalizeError> {
        let key = cache_key(&self.endpoint, &self.model, &messages);
        // What this text's requests cost, corrections included.
        let mut spent = prior;
        let mut draft = draft.map(|text| serde_json::json!({ "text": text }).to_string());
        // One more request for a reply that is not the JSON asked for, one for a reply that
        // names what does not exist.
        let (mut malformed_retries, mut name_retries) = (1, 1);
        loop {
            let content = match draft.take() {
                Some(content) => content,
                None => {
                    let (content, usage) = self
                        .send(self.request(messages.clone(), task.max_tokens))
                        .await?;
                    spent = spent.plus(usage);
                    content
                }
            };
            let text = match read_reply(&content) {
                Ok(text) => text,
                Err(_) if malformed_retries > 0 => {
                    malformed_retries -= 1;
                    continue;
                }
                Err(e) => return Err(self.error(e)),
            };
            // A name the facts themselves hold (a parameter in the signature, a word of the doc
            // comment) is one the prompt allowed.
            let unknown: Vec<String> = self
                .names
                .unknown(&text)
                .into_iter()
                .filter(|name| !facts.contains(name.as_str()))
                .collect();
            if unknown.is_empty() {
                self.remember(&key, Outcome::Text(text.clone()), spent);
                return Ok(text);
            }
            let listed = unknown
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if name_retries == 0 {
                let reason = format!("named what does not exist in the repository: {listed}");
                self.remember(&key, Outcome::Refused(reason.clone()), spent);
                return Err(self.error(reason));
            }
            name_retries -= 1;
            messages.push(ChatMessage::new("assistant", content));
            messages.push(ChatMessage::new(
                "user",
                format!(
                    "These names do not exist in the repository: {listed}. Rewrite the text \
                     naming only what appears in the facts, in backticks, as the same JSON object."
                ),
            ));
        }
    }

    /// Several symbols' texts in one request: each one's text by position (`None` where the
    /// reply has none), and what it cost. A reply that is not the JSON asked for is asked for
    /// once more; if that one is not either, every text is `None`.
    async fn ask_many(
        &self,
        subjects: &[(&str, &[CalleeDoc])],
    ) -> Result<(Vec<Option<String>>, Usage), VerbalizeError> {
        let max_tokens = SYMBOL_TASK.max_tokens * subjects.len() as u32;
        let messages = self.batch_messages(subjects);
        let mut spent = Usage::default();
        for _ in 0..2 {
            let (content, usage) = self
                .send(self.request(messages.clone(), max_tokens))
                .await?;
            spent = spent.plus(usage);
            if let Ok(texts) = read_replies(&content, subjects.len()) {
                return Ok((texts, spent));
            }
        }
        Ok((vec![None; subjects.len()], spent))
    }

    /// A JSON-mode request of `messages`, its reply bounded by [`Self::reply_limit`].
    fn request(&self, messages: Vec<ChatMessage>, max_tokens: u32) -> ChatRequest {
        let reasoning = is_reasoning_model(&self.model);
        let limit = self.reply_limit(max_tokens);
        ChatRequest {
            model: self.model.clone(),
            messages,
            temperature: (!reasoning).then_some(0.0),
            response_format: Some(ResponseFormat {
                kind: "json_object".into(),
            }),
            max_tokens: (!reasoning).then_some(limit),
            max_completion_tokens: reasoning.then_some(limit),
            stream: false,
        }
    }

    /// The most reply tokens a request for `max_tokens` of text may take: several times that
    /// for reasoning models, whose hidden reasoning counts against it.
    fn reply_limit(&self, max_tokens: u32) -> u32 {
        if is_reasoning_model(&self.model) {
            max_tokens * REASONING_HEADROOM
        } else {
            max_tokens
        }
    }

    /// Sends `request` within the budget: the reply's content and what it cost.
    async fn send(&self, request: ChatRequest) -> Result<(String, Usage), VerbalizeError> {
        let reserved = self.reserve(&request)?;
        self.requests.set(self.requests.get() + 1);
        let reply = self.client.complete(&request).await;
        let usage = reply.as_ref().ok().and_then(|r| r.usage);
        if let Some(usage) = usage {
            self.spent.set(self.spent.get().plus(usage));
        }
        self.release(reserved, usage.is_some());
        let reply = reply.map_err(|e| self.error(e.0))?;
        let content = reply
            .choices
            .into_iter()
            .next()
            .map(|c| c.message.content)
            .unwrap_or_default();
        Ok((content, usage.unwrap_or_default()))
    }

    /// Refuses `request` if its most possible cost, with what the requests in flight may
    /// still cost, would pass the cap; else reserves it (see [`Self::release`]).
    fn reserve(&self, request: &ChatRequest) -> Result<f64, VerbalizeError> {
        let Some(budget) = &self.budget else {
            return Ok(0.0);
        };
        let most = budget.price.cost(Usage {
            prompt_tokens: prompt_tokens(&*budget.counter, &request.messages),
            completion_tokens: u64::from(
                request
                    .max_tokens
                    .or(request.max_completion_tokens)
                    .unwrap_or(0),
            ),
        });
        let spent = budget.price.cost(self.usage()) + budget.unreported.get();
        if budget.reached.get() || spent + budget.reserved.get() + most > budget.cap_usd {
            budget.reached.set(true);
            return Err(self.error(format!(
                "the cost cap of ${:.4} was reached (${spent:.4} spent)",
                budget.cap_usd
            )));
        }
        budget.reserved.set(budget.reserved.get() + most);
        Ok(most)
    }

    /// Gives back a reservation once its request is answered; if the endpoint did not say what
    /// it cost (`reported` false: a failure, or a reply without `usage`), the reservation is
    /// charged instead, since it may have been billed.
    fn release(&self, reserved: f64, reported: bool) {
        if let Some(budget) = &self.budget {
            budget
                .reserved
                .set((budget.reserved.get() - reserved).max(0.0));
            if !reported {
                budget.unreported.set(budget.unreported.get() + reserved);
            }
        }
    }

    fn error(&self, message: String) -> VerbalizeError {
        VerbalizeError {
            verbalizer: self.model.clone(),
            message,
        }
    }
}

/// A JSON-mode reply without a Markdown code fence around it, if it has one.
fn unfenced(content: &str) -> &str {
    let trimmed = content.trim();
    trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim()
}

/// The `text` of a JSON-mode reply.
pub fn read_reply(content: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Reply {
        text: String,
    }
    let reply: Reply = serde_json::from_str(unfenced(content))
        .map_err(|e| format!("the reply is not the JSON object asked for ({e}): {content:.200}"))?;
    let text = reply.text.trim().to_owned();
    if text.is_empty() {
        return Err("the reply's text is empty".into());
    }
    Ok(text)
}

/// The texts of a JSON-mode reply for `count` symbols, by their numbers from 1: `None` for one
/// the reply leaves out or leaves empty.
pub fn read_replies(content: &str, count: usize) -> Result<Vec<Option<String>>, String> {
    #[derive(Deserialize)]
    struct Replies {
        texts: BTreeMap<String, String>,
    }
    let replies: Replies = serde_json::from_str(unfenced(content))
        .map_err(|e| format!("the reply is not the JSON object asked for ({e}): {content:.200}"))?;
    Ok((1..=count)
        .map(|k| {
            let text = replies.texts.get(&k.to_string())?.trim();
            (!text.is_empty()).then(|| text.to_owned())
        })
        .collect())
}

/// What one symbol's part of a prompt says: the docs of what it calls, then its facts.
fn subject(facts: &str, callees: &[CalleeDoc]) -> String {
    let mut text = String::new();
    if !callees.is_empty() {
        text.push_str("What it calls, as already documented:");
        for c in callees {
            text.push_str(&format!("\n- `{}`: {}", c.name, c.doc));
        }
        text.push_str("\n\n");
    }
    text.push_str("Facts:\n");
    text.push_str(facts);
    text
}

/// `(facts, callee docs)` of each symbol, as [`LlmVerbalizer::batch_messages`] takes them.
fn subjects<T>(open: &[(String, Vec<CalleeDoc>, T)]) -> Vec<(&str, &[CalleeDoc])> {
    open.iter()
        .map(|(facts, callees, _)| (facts.as_str(), callees.as_slice()))
        .collect()
}

/// `usage` shared out over `n` texts as evenly as whole tokens allow, the first ones taking
/// the remainder: what each text of a request for several cost.
fn shares(usage: Usage, n: usize) -> Vec<Usage> {
    let n = n.max(1) as u64;
    let part = |total: u64, k: u64| total / n + u64::from(k < total % n);
    (0..n)
        .map(|k| Usage {
            prompt_tokens: part(usage.prompt_tokens, k),
            completion_tokens: part(usage.completion_tokens, k),
        })
        .collect()
}

fn json(facts: &impl Serialize) -> Result<String, VerbalizeError> {
    serde_json::to_string(facts).map_err(|e| VerbalizeError {
        verbalizer: "facts".into(),
        message: e.to_string(),
    })
}

impl<C: ChatClient> Verbalizer for LlmVerbalizer<C> {
    fn name(&self) -> &str {
        &self.model
    }

    fn estimated_usd(&self) -> Option<f64> {
        self.pricing.map(|(_, usd)| usd)
    }

    fn spent_usd(&self) -> Option<f64> {
        self.pricing.map(|(price, _)| price.cost(self.usage()))
    }

    fn stopped(&self) -> Option<String> {
        let budget = self.budget.as_ref().filter(|b| b.reached.get())?;
        Some(format!(
            "the cost cap of ${:.4} was reached",
            budget.cap_usd
        ))
    }

    async fn symbol(
        &self,
        facts: &FactBundle,
        callees: &[CalleeDoc],
    ) -> Result<String, VerbalizeError> {
        self.write(&SYMBOL_TASK, facts, callees).await
    }

    /// The cached texts first; the rest in one request when two or more are left. A text that
    /// reply leaves out or gets wrong goes through the one-symbol conversation (asked again,
    /// or corrected), so each symbol ends as it would alone.
    async fn symbols(&self, items: &[SymbolItem<'_>]) -> Vec<Result<String, VerbalizeError>> {
        let mut facts = Vec::with_capacity(items.len());
        for item in items {
            match json(item.facts) {
                Ok(json) => facts.push(json),
                Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
            }
        }
        let messages: Vec<Vec<ChatMessage>> = items
            .iter()
            .zip(&facts)
            .map(|(item, facts)| self.messages(&SYMBOL_TASK, facts, &item.callees))
            .collect();
        let mut results: Vec<Option<Result<String, VerbalizeError>>> =
            messages.iter().map(|m| self.take_cached(m)).collect();
        let open: Vec<usize> = (0..items.len()).filter(|&i| results[i].is_none()).collect();
        let mut drafts: Vec<(Option<String>, Usage)> = vec![(None, Usage::default()); items.len()];
        if open.len() > 1 {
            let subjects: Vec<(&str, &[CalleeDoc])> = open
                .iter()
                .map(|&i| (facts[i].as_str(), items[i].callees.as_slice()))
                .collect();
            match self.ask_many(&subjects).await {
                Ok((texts, usage)) => {
                    for ((&i, text), share) in open.iter().zip(texts).zip(shares(usage, open.len()))
                    {
                        drafts[i] = (text, share);
                    }
                }
                // The host has retried what was worth retrying.
                Err(error) => open
                    .iter()
                    .for_each(|&i| results[i] = Some(Err(error.clone()))),
            }
        }
        let conversations = open
            .iter()
            .filter(|&&i| results[i].is_none())
            .map(|&i| {
                let (draft, prior) = std::mem::take(&mut drafts[i]);
                let conversation =
                    self.converse(&SYMBOL_TASK, &facts[i], messages[i].clone(), draft, prior);
                async move { (i, conversation.await) }
            })
            .collect::<Vec<_>>();
        for (i, result) in futures::future::join_all(conversations).await {
            results[i] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(self.error("no text was asked for".into()))))
            .collect()
    }

    async fn module(&self, facts: &ModuleFacts) -> Result<String, VerbalizeError> {
        self.write(&MODULE_TASK, facts, &[]).await
    }

    async fn architecture(&self, facts: &ArchitectureFacts) -> Result<String, VerbalizeError> {
        self.write(&ARCHITECTURE_TASK, facts, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(names: &[&str]) -> NameTable {
        let mut t = NameTable::default();
        for n in names {
            t.add(n);
        }
        t
    }

    #[test]
    fn names_are_checked_by_their_tails() {
        let t = table(&[
            "crate::store::cache::LruCache::insert",
            "src/store/cache.rs",
        ]);
        assert!(t
            .unknown("`LruCache::insert` and `insert()` in `cache.rs`")
            .is_empty());
        assert_eq!(
            t.unknown("calls `evict_all` and `a + b`"),
            vec!["evict_all"]
        );
    }

    #[test]
    fn several_texts_are_read_back_by_number_and_share_the_cost() {
        assert_eq!(
            read_replies(r#"{"texts": {"2": " B. ", "1": "A.", "3": ""}}"#, 4).unwrap(),
            vec![Some("A.".into()), Some("B.".into()), None, None]
        );
        assert!(read_replies("Sure! Here they are", 2).is_err());
        let usage = Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        };
        let parts = shares(usage, 3);
        assert_eq!(
            parts.iter().fold(Usage::default(), |a, b| a.plus(*b)),
            usage
        );
        assert_eq!(
            parts.iter().map(|p| p.prompt_tokens).collect::<Vec<_>>(),
            [4, 3, 3]
        );
    }

    #[test]
    fn replies_are_read_from_json_with_or_without_a_fence() {
        assert_eq!(read_reply("{\"text\": \" Hi. \"}").unwrap(), "Hi.");
        assert_eq!(
            read_reply("```json\n{\"text\": \"Hi.\"}\n```").unwrap(),
            "Hi."
        );
        assert!(read_reply("Sure! Here it is").is_err());
        assert!(read_reply("{\"text\": \"\"}").is_err());
    }
}
