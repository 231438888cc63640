//! A job as a state machine of resumable steps: the coordinator's logic, written once for every
//! host that checkpoints (the edge's Durable Object runs one step per alarm).
//!
//! A host keeps two things durable: the [`Checkpoint`] (small) and the job's events (the log
//! clients replay). Everything else a step needs is rebuilt from them: [`Job::restore`] replays
//! the log into the corpus and the vectors, and the repository is unpacked again from the
//! archive the host stored after the fetch. A step that dies before the host committed its
//! events and checkpoint is simply run again: it emits the same events with the same sequence
//! numbers and idempotency keys, so nothing is lost and consumers dedupe what they saw twice.
//!
//! ```text
//! fetching ─▶ ingesting (steps, embedding as chunks come) ─▶ assembling ─▶ awaiting_approval
//!   ─approve▶ generating (steps) ─▶ completed    (cancel from any unfinished phase ─▶ cancelled;
//!                                                 a step failing for good ─▶ failed)
//! ```
//!
//! Where the host offers a chat model ([`StepHost::llm`]), the estimate the user approves is
//! the model's, and generation runs in steps of at most [`LlmSettings::requests_per_step`]
//! requests. The texts the model wrote are a third durable thing: each step hands its new ones
//! to the host ([`StepOutput::texts`]), and every later step (and a restored job, given them
//! back with [`Job::with_texts`]) takes them from there instead of paying for them again. The
//! last step writes every text from them and packs.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::archive;
use crate::assemble::{assemble, Assembly, AssemblySettings, Corpus};
use crate::docpack::{self, BuildInput, GenerationCost};
use crate::embed::batcher::BatchPolicy;
use crate::embed::stage::{EmbedStage, Embeddings};
use crate::embed::Embedder;
use crate::events::{
    Clock, Emitter, Event, EventBody, JobCompleted, PackCompleted, PackStarted, Status,
};
use crate::generate::llm::{
    ApproxTokens, ChatClient, ChatError, ChatRequest, ChatResponse, Estimate, LlmVerbalizer,
    NameTable, Price, TextCache, Usage,
};
use crate::generate::{generate, Documentation, TemplateVerbalizer, Verbalizer};
use crate::github::{FetchedArchive, GitHubRepo};
use crate::hash::sha256_hex;
use crate::ingest::{Ingest, IngestPosition};
use crate::policy::Limits;
use crate::source::{Snapshot, SourceInfo, SourceKind};

/// Source bytes one ingest step reads: about a quarter of a second of parsing in workerd, so a
/// step (with its embedding round trips, which cost wall time, not CPU) stays far inside the
/// Workers CPU limit per invocation (30 s by default).
pub const STEP_SOURCE_BYTES: u64 = 512 * 1024;

const NO_SOURCE: &str =
    "no supported source files were found (Rust, Python, Go, JavaScript, TypeScript)";

/// The version of Doctown recorded in docpacks; hosts built from one tree agree on it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a user asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    /// A GitHub repository URL (`https://github.com/OWNER/REPO`, optional `/tree/REF`).
    pub repo: String,
    /// The ref, when not in the URL; the default branch when neither names one.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

impl JobRequest {
    /// The repository to fetch, or why the request names none.
    pub fn repository(&self) -> Result<GitHubRepo, JobError> {
        let mut repo = GitHubRepo::parse(&self.repo).ok_or_else(|| {
            JobError::BadRequest(format!(
                "`{}` is not a GitHub repository URL: give https://github.com/OWNER/REPO, optionally with /tree/REF",
                self.repo
            ))
        })?;
        if let Some(git_ref) = &self.git_ref {
            if repo.git_ref.as_ref().is_some_and(|r| r != git_ref) {
                return Err(JobError::BadRequest(format!(
                    "the URL names ref `{}` and the request `{git_ref}`: give one",
                    repo.git_ref.as_deref().unwrap_or_default()
                )));
            }
            if !crate::github::valid_ref(git_ref) {
                return Err(JobError::BadRequest(format!(
                    "`{git_ref}` is not a valid git ref name"
                )));
            }
            repo.git_ref = Some(git_ref.clone());
        }
        Ok(repo)
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Fetching,
    Ingesting,
    Assembling,
    AwaitingApproval,
    Generating,
    Completed,
    Failed,
    Cancelled,
}

impl Phase {
    /// Nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::Failed | Phase::Cancelled)
    }

    /// The next step can run without anyone's say (not waiting for approval, not over).
    pub fn is_runnable(self) -> bool {
        !self.is_final() && self != Phase::AwaitingApproval
    }
}

/// What generation will cost, for the user to approve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Who writes the texts: `template`, or the chat model's name.
    pub verbalizer: String,
    pub symbols: u64,
    pub requests: u64,
    /// Tokens expected (counted by [`ApproxTokens`]: the edge carries no tokenizer).
    #[serde(default)]
    pub usage: Usage,
    pub usd: f64,
    /// The cost if every reply ran to its limit.
    #[serde(default)]
    pub most_usd: f64,
}

/// Requests one generation step sends at most: a few rounds of the verbalizer's concurrency,
/// so that a step takes seconds to a minute of waiting (far inside a Durable Object alarm's
/// 15 minutes) and a step run again after a restart repeats little.
pub const LLM_REQUESTS_PER_STEP: usize = 64;

/// The chat model a host offers to write the texts.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSettings {
    /// The base URL requests go to (it keys the texts, as in the CLI's cache).
    pub endpoint: String,
    pub model: String,
    pub price: Price,
    /// At most this many requests per generation step ([`LLM_REQUESTS_PER_STEP`]).
    pub requests_per_step: usize,
}

/// A host without a chat model.
#[derive(Debug, Clone, Copy)]
pub struct NoChat;

impl ChatClient for NoChat {
    async fn complete(&self, _: &ChatRequest) -> Result<ChatResponse, ChatError> {
        Err(ChatError("no chat model is configured".into()))
    }
}

/// The docpack a finished job made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocpackRef {
    pub id: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Everything durable about a job besides its events. Small: a host stores it whole after
/// every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub job_id: String,
    pub trace_id: String,
    pub request: JobRequest,
    pub phase: Phase,
    /// The sequence number of the job's next event.
    pub next_seq: u64,
    /// What was fetched (with the resolved commit), once it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    pub ingest: IngestPosition,
    /// Embedding batches made so far (their ids stay unique across steps).
    pub batches: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<CostEstimate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docpack: Option<DocpackRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Why the job failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Steps completed.
    pub steps: u64,
    /// The model's texts the host holds for this job (see [`StepOutput::texts`]).
    #[serde(default)]
    pub texts: u64,
    /// What the model billed so far, over every generation step, and its price in US dollars.
    #[serde(default)]
    pub spent: Usage,
    #[serde(default)]
    pub spent_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobError {
    /// The request cannot be done as asked; retrying will not help.
    #[error("{0}")]
    BadRequest(String),
    /// The step failed (an unreachable host, a refused archive); the message says why.
    #[error("{0}")]
    Step(String),
    /// The phase does not allow what was asked.
    #[error("the job is {phase:?}: {what}")]
    Phase { phase: Phase, what: String },
}

/// What a step hands back to its host: the events to log and push, in order, and what to store.
#[derive(Debug, Default)]
pub struct StepOutput {
    pub events: Vec<Event>,
    /// The fetched archive: the host stores it and passes it to every ingest step.
    pub archive: Option<Vec<u8>>,
    /// The finished docpack's bytes: the host stores them under [`DocpackRef::id`].
    pub docpack: Option<Vec<u8>>,
    /// Texts the model wrote in this step, as (key, entry): the host stores them with the
    /// checkpoint (they are numbered from `checkpoint.texts - texts.len()`) and gives every one
    /// back to a restored job ([`Job::with_texts`]).
    pub texts: Vec<(String, String)>,
}

/// What a step uses from its host.
#[allow(async_fn_in_trait)]
pub trait StepHost {
    type Embedder: Embedder;
    type Http: crate::github::HttpClient;
    type Clock: Clock;
    /// [`NoChat`] for a host without a chat model.
    type Chat: ChatClient;
    fn embedder(&self) -> &Self::Embedder;
    fn http(&self) -> &Self::Http;
    fn clock(&self) -> &Self::Clock;
    /// The GitHub API base URL (a local server in tests).
    fn github_api(&self) -> &str;
    fn github_token(&self) -> Option<&str>;
    /// Waits `ms` milliseconds (an embedding retry's backoff).
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
    /// Source bytes per ingest step.
    fn step_source_bytes(&self) -> u64 {
        STEP_SOURCE_BYTES
    }
    /// The chat model that writes the texts once the user approves its estimate; without one
    /// the template writes them.
    fn llm(&self) -> Option<(&Self::Chat, &LlmSettings)> {
        None
    }
}

/// The model's texts a job holds, by key; new ones wait in `fresh` for the host to store.
#[derive(Debug, Default)]
struct TextStore {
    known: RefCell<BTreeMap<String, String>>,
    fresh: RefCell<Vec<(String, String)>>,
}

/// The job's texts as the verbalizer's cache.
#[derive(Debug, Clone)]
struct JobTexts(Rc<TextStore>);

impl TextCache for JobTexts {
    fn get(&self, key: &str) -> Option<String> {
        self.0.known.borrow().get(key).cloned()
    }

    fn put(&self, key: &str, text: &str) {
        self.0
            .known
            .borrow_mut()
            .insert(key.to_owned(), text.to_owned());
        self.0
            .fresh
            .borrow_mut()
            .push((key.to_owned(), text.to_owned()));
    }
}

/// A step's share of requests: past it, requests fail at once and the step ends early.
struct StepQuota<'c, C> {
    client: &'c C,
    left: Cell<usize>,
    exhausted: Cell<bool>,
}

impl<C: ChatClient> ChatClient for StepQuota<'_, C> {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        if self.left.get() == 0 {
            self.exhausted.set(true);
            return Err(ChatError("this step's requests are spent".into()));
        }
        self.left.set(self.left.get() - 1);
        self.client.complete(request).await
    }
}

/// A job in memory: its checkpoint, and the corpus and vectors its events describe.
#[derive(Debug)]
pub struct Job {
    pub checkpoint: Checkpoint,
    corpus: Corpus,
    embeddings: Embeddings,
    /// Every chunk created so far, in order.
    chunk_ids: Vec<String>,
    /// Kept between steps of one process; rebuilt (silently) after a restart.
    assembly: Option<Assembly>,
    /// The unpacked repository being ingested, kept between the ingest steps of one process so
    /// that each step does not unpack the whole archive again; unpacked anew after a restart.
    ingest: Option<Ingest>,
    texts: Rc<TextStore>,
    /// Symbols whose `generation.symbol_documented` is logged, and whether
    /// `generation.started` is: a later generation step does not send them again.
    documented: HashSet<String>,
    generation_started: bool,
}

impl Job {
    /// A new job; the request is checked now, so a bad one is refused before anything runs.
    pub fn new(job_id: &str, trace_id: &str, request: JobRequest) -> Result<Job, JobError> {
        request.repository()?;
        Ok(Job::restore(
            Checkpoint {
                job_id: job_id.to_owned(),
                trace_id: trace_id.to_owned(),
                request,
                phase: Phase::Fetching,
                next_seq: 0,
                source: None,
                ingest: IngestPosition::default(),
                batches: 0,
                estimate: None,
                docpack: None,
                status: None,
                reason: None,
                steps: 0,
                texts: 0,
                spent: Usage::default(),
                spent_usd: 0.0,
            },
            [],
        ))
    }

    /// The job at `checkpoint`, its corpus and vectors rebuilt from its events (those numbered
    /// below the checkpoint's next; later ones belong to a step that did not commit).
    pub fn restore<'a>(checkpoint: Checkpoint, events: impl IntoIterator<Item = &'a Event>) -> Job {
        let mut job = Job {
            checkpoint,
            corpus: Corpus::default(),
            embeddings: Embeddings::default(),
            chunk_ids: Vec::new(),
            assembly: None,
            ingest: None,
            texts: Rc::default(),
            documented: HashSet::new(),
            generation_started: false,
        };
        for event in events {
            if event.seq < job.checkpoint.next_seq {
                job.observe(&event.body);
            }
        }
        // A checkpoint is taken with nothing in flight: a chunk without a vector was given up.
        job.embeddings.skipped = job
            .chunk_ids
            .iter()
            .filter(|c| !job.embeddings.vectors.contains_key(*c))
            .cloned()
            .collect();
        job
    }

    /// Gives back the texts the host holds for the job (every one its steps handed over).
    pub fn with_texts(self, texts: impl IntoIterator<Item = (String, String)>) -> Job {
        self.texts.known.borrow_mut().extend(texts);
        self
    }

    fn observe(&mut self, body: &EventBody) {
        self.corpus.observe(body);
        match body {
            EventBody::ChunkCreated(e) => self.chunk_ids.push(e.chunk.id.clone()),
            EventBody::SymbolDocumented(e) => {
                self.documented.insert(e.symbol_id.clone());
            }
            EventBody::GenerationStarted(_) => self.generation_started = true,
            EventBody::ChunkVector(e) => {
                self.embeddings
                    .vectors
                    .insert(e.chunk_id.clone(), e.vector.clone());
            }
            _ => {}
        }
    }

    pub fn phase(&self) -> Phase {
        self.checkpoint.phase
    }

    /// The user agrees to the estimate.
    pub fn approve(&mut self) -> Result<(), JobError> {
        if self.checkpoint.phase != Phase::AwaitingApproval {
            return Err(JobError::Phase {
                phase: self.checkpoint.phase,
                what: "only a job awaiting approval can be approved".into(),
            });
        }
        self.checkpoint.phase = Phase::Generating;
        Ok(())
    }

    /// The user stops the job: `job.completed` (failed, nothing charged) is its last event.
    pub fn cancel(&mut self, clock: &impl Clock) -> Result<Vec<Event>, JobError> {
        if self.checkpoint.phase.is_final() {
            return Err(JobError::Phase {
                phase: self.checkpoint.phase,
                what: "a finished job cannot be cancelled".into(),
            });
        }
        Ok(self.end(Phase::Cancelled, "cancelled by the user".into(), clock))
    }

    /// A step failed for good (the host gave up retrying it): the job fails with `reason`.
    pub fn fail(&mut self, reason: String, clock: &impl Clock) -> Vec<Event> {
        if self.checkpoint.phase.is_final() {
            return Vec::new();
        }
        self.end(Phase::Failed, reason, clock)
    }

    fn end(&mut self, phase: Phase, reason: String, clock: &impl Clock) -> Vec<Event> {
        let mut emitter = self.emitter(clock);
        emitter.emit(JobCompleted {
            status: Status::Failed,
            docpack_id: None,
            skipped_files: self.corpus.skipped_files(&self.embeddings.skipped),
            reason: Some(reason.clone()),
        });
        self.checkpoint.phase = phase;
        self.checkpoint.status = Some(Status::Failed);
        self.checkpoint.reason = Some(reason);
        self.commit(emitter)
    }

    fn emitter<'c, C: Clock>(&self, clock: &'c C) -> Emitter<Vec<Event>, &'c C> {
        Emitter::new(
            self.checkpoint.job_id.clone(),
            self.checkpoint.trace_id.clone(),
            Vec::new(),
            clock,
        )
        .continue_at(self.checkpoint.next_seq)
    }

    /// Takes in a finished step's events.
    fn commit<C: Clock>(&mut self, emitter: Emitter<Vec<Event>, C>) -> Vec<Event> {
        self.checkpoint.next_seq = emitter.next_seq();
        let events = emitter.into_sink();
        for event in &events {
            self.observe(&event.body);
        }
        events
    }

    /// Runs the next step. On `Err` the job is as it was (the host may retry the step); on
    /// `Ok` the host stores what the output holds and then the checkpoint, in that order.
    /// `archive` is what the fetch step handed back (ingest steps need it).
    pub async fn step<H: StepHost>(
        &mut self,
        host: &H,
        archive: Option<&[u8]>,
    ) -> Result<StepOutput, JobError> {
        let output = match self.checkpoint.phase {
            Phase::Fetching => self.fetch(host).await,
            Phase::Ingesting => {
                let archive = archive.ok_or_else(|| {
                    JobError::Step("the fetched archive is missing: fetch again".into())
                })?;
                self.ingest(host, archive).await
            }
            Phase::Assembling => self.assemble(host),
            Phase::Generating => self.generate(host).await,
            phase => Err(JobError::Phase {
                phase,
                what: "there is no step to run".into(),
            }),
        }?;
        self.checkpoint.steps += 1;
        Ok(output)
    }

    async fn fetch<H: StepHost>(&mut self, host: &H) -> Result<StepOutput, JobError> {
        let repo = self.checkpoint.request.repository()?;
        let limits = Limits::default();
        let fetched = crate::github::fetch_archive(
            host.http(),
            &repo,
            host.github_api(),
            host.github_token(),
            limits.max_unpacked_bytes,
        )
        .await
        .map_err(|e| JobError::Step(e.to_string()))?;
        // Refused now rather than at every ingest step.
        snapshot(&repo, &fetched.commit, &fetched.archive)?;
        self.checkpoint.source = Some(source_info(&repo, &fetched.commit));
        self.checkpoint.phase = Phase::Ingesting;
        let FetchedArchive { archive, .. } = fetched;
        Ok(StepOutput {
            archive: Some(archive),
            ..StepOutput::default()
        })
    }

    /// Ingests the next [`STEP_SOURCE_BYTES`] of source and embeds its chunks; the last step
    /// also closes ingest and embedding.
    async fn ingest<H: StepHost>(
        &mut self,
        host: &H,
        archive: &[u8],
    ) -> Result<StepOutput, JobError> {
        let repo = self.checkpoint.request.repository()?;
        let source =
            self.checkpoint.source.clone().ok_or_else(|| {
                JobError::Step("the job has no fetched source: fetch again".into())
            })?;
        let commit = source.commit.clone().unwrap_or_default();
        let clock = host.clock();
        let mut emitter = self.emitter(clock);
        let fresh = self.checkpoint.next_seq == 0;
        let mut ingest = match self.ingest.take() {
            Some(kept) if kept.position() == &self.checkpoint.ingest => kept,
            _ => {
                let snapshot = snapshot(&repo, &commit, archive)?;
                if fresh {
                    Ingest::start(snapshot, &mut emitter)
                } else {
                    Ingest::resume(snapshot, self.checkpoint.ingest.clone())
                }
            }
        };
        let embedder = host.embedder();
        let mut stage = if fresh {
            EmbedStage::new(
                BatchPolicy::default(),
                embedder.model(),
                embedder.dimensions(),
            )
        } else {
            EmbedStage::resume(
                BatchPolicy::default(),
                embedder.model(),
                embedder.dimensions(),
                std::mem::take(&mut self.embeddings),
                self.checkpoint.batches,
            )
        };
        let limits = Limits::default();
        let first_new = emitter.sink().len();
        let done = ingest.step(host.step_source_bytes(), &limits, &mut emitter);
        let chunks: Vec<(String, String)> = emitter.sink()[first_new..]
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::ChunkCreated(c) => Some((c.chunk.id.clone(), c.chunk.text.clone())),
                _ => None,
            })
            .collect();
        self.checkpoint.ingest = ingest.position().clone();
        if done {
            ingest.finish(&mut emitter);
        } else {
            self.ingest = Some(ingest);
        }
        for (id, text) in chunks {
            stage.chunk(id, text, clock.now_ms(), &mut emitter);
        }
        // What waits goes now: the step ends with nothing in flight.
        stage.close();
        stage
            .drain(embedder, |ms| host.sleep(ms), &mut emitter)
            .await;
        self.checkpoint.batches = stage.batches();
        self.embeddings = if done {
            self.checkpoint.phase = Phase::Assembling;
            stage.finish(&mut emitter)
        } else {
            stage.into_embeddings()
        };
        let mut events = self.commit(emitter);
        if done && self.chunk_ids.is_empty() {
            events.extend(self.end(Phase::Failed, NO_SOURCE.into(), clock));
        }
        Ok(StepOutput {
            events,
            ..StepOutput::default()
        })
    }

    /// Assembles, and estimates generation for the user to approve.
    fn assemble<H: StepHost>(&mut self, host: &H) -> Result<StepOutput, JobError> {
        let mut emitter = self.emitter(host.clock());
        let assembly = assemble(
            &self.corpus,
            &self.embeddings.vectors,
            &AssemblySettings::default(),
            &mut emitter,
        );
        let symbols = assembly.symbols.len() as u64;
        self.checkpoint.estimate = Some(match host.llm() {
            Some((chat, llm)) => {
                let estimate = self
                    .verbalizer(chat, llm, &assembly)
                    .estimate(&assembly, &ApproxTokens, llm.price, true)
                    .map_err(|e| JobError::Step(e.to_string()))?;
                CostEstimate {
                    verbalizer: llm.model.clone(),
                    symbols,
                    requests: estimate.requests,
                    usage: estimate.usage,
                    usd: estimate.usd,
                    most_usd: estimate.most_usd,
                }
            }
            // The template writes the texts: nothing to pay, but the user still sees what will
            // be written before it is.
            None => CostEstimate {
                verbalizer: TemplateVerbalizer.name().to_owned(),
                symbols,
                requests: 0,
                usage: Usage::default(),
                usd: 0.0,
                most_usd: 0.0,
            },
        });
        self.assembly = Some(assembly);
        self.checkpoint.phase = Phase::AwaitingApproval;
        Ok(StepOutput {
            events: self.commit(emitter),
            ..StepOutput::default()
        })
    }

    /// The model's verbalizer over `assembly`, its texts kept in the job.
    fn verbalizer<C: ChatClient>(
        &self,
        chat: C,
        llm: &LlmSettings,
        assembly: &Assembly,
    ) -> LlmVerbalizer<C> {
        LlmVerbalizer::new(
            chat,
            &llm.endpoint,
            &llm.model,
            NameTable::new(assembly),
            None,
        )
        .with_cache(Box::new(JobTexts(self.texts.clone())))
    }

    /// One generation step with the model: `None` when the step's share of requests ran out
    /// before every text was written (what it wrote is kept, and sent as events), else every
    /// text and the docpack's cost record.
    async fn generate_with<C: ChatClient, K: Clock>(
        &mut self,
        chat: &C,
        llm: &LlmSettings,
        assembly: &Assembly,
        emitter: &mut Emitter<Vec<Event>, K>,
    ) -> Result<Option<(Documentation, GenerationCost)>, JobError> {
        let quota = StepQuota {
            client: chat,
            left: Cell::new(llm.requests_per_step.max(1)),
            exhausted: Cell::new(false),
        };
        let estimated = Estimate {
            usd: self.checkpoint.estimate.as_ref().map_or(0.0, |e| e.usd),
            ..Estimate::default()
        };
        let verbalizer = self
            .verbalizer(&quota, llm, assembly)
            .with_pricing(llm.price, &estimated);
        // Generation runs from the start every step (the texts already written come from the
        // job's store); of its events, only those not sent by an earlier step go out.
        let mut scratch = Emitter::new("", "", Vec::new(), NoClock);
        let docs = generate(assembly, &verbalizer, &mut scratch).await;
        self.checkpoint.spent = self.checkpoint.spent.plus(verbalizer.usage());
        self.checkpoint.spent_usd = llm.price.cost(self.checkpoint.spent);
        let finished = !quota.exhausted.get();
        for event in scratch.into_sink() {
            let body = match event.body {
                EventBody::GenerationStarted(_) if self.generation_started => continue,
                EventBody::SymbolDocumented(e) if self.documented.contains(&e.symbol_id) => {
                    continue
                }
                // Before the last step, only what the model wrote: the rest is written again.
                EventBody::SymbolDocumented(e) if !finished && e.verbalizer != llm.model => {
                    continue
                }
                EventBody::GenerationCompleted(_) if !finished => continue,
                EventBody::GenerationCompleted(mut e) => {
                    e.cost_usd = Some(self.checkpoint.spent_usd);
                    EventBody::GenerationCompleted(e)
                }
                body => body,
            };
            emitter.emit(body);
        }
        if !finished {
            return Ok(None);
        }
        let cost = verbalizer
            .cost_record(assembly, &ApproxTokens, llm.price)
            .map_err(|e| JobError::Step(e.to_string()))?;
        Ok(Some((docs, cost)))
    }

    /// The texts written since the last step's output, counted into the checkpoint.
    fn take_fresh_texts(&mut self) -> Vec<(String, String)> {
        let fresh = std::mem::take(&mut *self.texts.fresh.borrow_mut());
        self.checkpoint.texts += fresh.len() as u64;
        fresh
    }

    /// Writes the texts (the model's over several steps, where the approved estimate is the
    /// model's) and packs the docpack.
    async fn generate<H: StepHost>(&mut self, host: &H) -> Result<StepOutput, JobError> {
        let settings = AssemblySettings::default();
        let assembly = match self.assembly.take() {
            Some(assembly) => assembly,
            // After a restart: the same assembly again, its events already logged.
            None => assemble(
                &self.corpus,
                &self.embeddings.vectors,
                &settings,
                &mut Emitter::new("", "", Vec::new(), NoClock),
            ),
        };
        let verbalizer = self
            .checkpoint
            .estimate
            .as_ref()
            .map_or(TemplateVerbalizer.name(), |e| e.verbalizer.as_str())
            .to_owned();
        let mut emitter = self.emitter(host.clock());
        let (docs, generation) = if verbalizer == TemplateVerbalizer.name() {
            (
                generate(&assembly, &TemplateVerbalizer, &mut emitter).await,
                None,
            )
        } else {
            let Some((chat, llm)) = host.llm().filter(|(_, llm)| llm.model == verbalizer) else {
                return Err(JobError::Step(format!(
                    "the estimate was approved for {verbalizer}, which this host no longer offers: configure it again, or cancel the job"
                )));
            };
            match self
                .generate_with(chat, llm, &assembly, &mut emitter)
                .await?
            {
                Some((docs, cost)) => (docs, Some(cost)),
                None => {
                    // Texts are left to write: the next step goes on.
                    self.assembly = Some(assembly);
                    let texts = self.take_fresh_texts();
                    return Ok(StepOutput {
                        events: self.commit(emitter),
                        texts,
                        ..StepOutput::default()
                    });
                }
            }
        };
        emitter.emit(PackStarted {
            nodes: assembly.symbols.len() as u64,
        });
        let embedder = host.embedder();
        let packed = docpack::build(&BuildInput {
            corpus: &self.corpus,
            assembly: &assembly,
            docs: &docs,
            settings: &settings,
            model_id: embedder.model(),
            dimensions: embedder.dimensions(),
            skipped_chunks: &self.embeddings.skipped,
            verbalizer: &verbalizer,
            tool_version: TOOL_VERSION,
            generation,
        })
        .map_err(|e| JobError::Step(format!("cannot serialise the docpack: {e}")))?;
        let bytes = docpack::pack(&packed)
            .map_err(|e| JobError::Step(format!("cannot pack the docpack: {e}")))?;
        let manifest: docpack::Manifest = serde_json::from_slice(&packed.parts[docpack::MANIFEST])
            .map_err(|e| JobError::Step(format!("cannot read the manifest back: {e}")))?;
        let docpack = DocpackRef {
            id: packed.id.clone(),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        };
        emitter.emit(PackCompleted {
            status: manifest.status,
            docpack_id: docpack.id.clone(),
            sha256: docpack.sha256.clone(),
            bytes: docpack.bytes,
        });
        emitter.emit(JobCompleted {
            status: manifest.status,
            docpack_id: Some(docpack.id.clone()),
            skipped_files: self.corpus.skipped_files(&self.embeddings.skipped),
            reason: None,
        });
        self.checkpoint.phase = Phase::Completed;
        self.checkpoint.status = Some(manifest.status);
        self.checkpoint.docpack = Some(docpack);
        let texts = self.take_fresh_texts();
        Ok(StepOutput {
            events: self.commit(emitter),
            docpack: Some(bytes),
            texts,
            ..StepOutput::default()
        })
    }
}

/// The source record of a GitHub repository at a commit, as the CLI writes it too.
pub fn source_info(repo: &GitHubRepo, commit: &str) -> SourceInfo {
    SourceInfo {
        kind: SourceKind::GitHub,
        location: repo.display(),
        git_ref: repo.git_ref.clone(),
        commit: Some(commit.to_owned()),
    }
}

/// A GitHub repository's tarball as a snapshot.
pub fn snapshot(repo: &GitHubRepo, commit: &str, archive: &[u8]) -> Result<Snapshot, JobError> {
    let unpacked = archive::unpack(archive, &Limits::default())
        .map_err(|e| JobError::Step(format!("{}: {e}", repo.display())))?;
    Ok(Snapshot {
        source: source_info(repo, commit),
        entries: unpacked.entries,
    })
}

/// For work whose events are thrown away.
struct NoClock;

impl Clock for NoClock {
    fn now_ms(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::TestEmbedder;
    use crate::github::{HttpClient, HttpRequest, HttpResponse};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    /// GitHub's two endpoints the fetch uses, answering from memory.
    struct Archive(Vec<u8>);

    impl HttpClient for Archive {
        async fn get(&self, request: HttpRequest, _max: u64) -> Result<HttpResponse, String> {
            let body = if request.url.contains("/commits/") {
                SHA.as_bytes().to_vec()
            } else if request.url.ends_with(&format!("/tarball/{SHA}")) {
                self.0.clone()
            } else {
                return Ok(HttpResponse {
                    status: 404,
                    body: Vec::new(),
                });
            };
            Ok(HttpResponse { status: 200, body })
        }
    }

    struct Host {
        http: Archive,
        embedder: TestEmbedder,
    }

    struct Tick(std::cell::Cell<u64>);

    impl Clock for Tick {
        fn now_ms(&self) -> u64 {
            self.0.set(self.0.get() + 1);
            self.0.get()
        }
    }

    /// A chat model that answers every request at once, from the prompt alone (so a text asked
    /// for twice reads the same), and counts what it was asked.
    #[derive(Default)]
    struct Scribe {
        requests: Cell<u64>,
    }

    const USAGE: Usage = Usage {
        prompt_tokens: 100,
        completion_tokens: 20,
    };

    impl ChatClient for Scribe {
        async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
            self.requests.set(self.requests.get() + 1);
            let prompt = &request.messages[1].content;
            let text = |k: usize| format!("Part {k} of a prompt of {} bytes.", prompt.len());
            let subjects = prompt.matches("\n\nSymbol ").count();
            let content = if subjects == 0 {
                serde_json::json!({ "text": text(1) })
            } else {
                let texts: serde_json::Map<String, serde_json::Value> = (1..=subjects)
                    .map(|k| (k.to_string(), text(k).into()))
                    .collect();
                serde_json::json!({ "texts": texts })
            };
            Ok(ChatResponse {
                choices: vec![crate::generate::llm::Choice {
                    message: crate::generate::llm::ChatMessage {
                        role: "assistant".into(),
                        content: content.to_string(),
                    },
                    finish_reason: None,
                }],
                usage: Some(USAGE),
            })
        }
    }

    struct TestHost {
        host: Host,
        clock: Tick,
        llm: Option<(Scribe, LlmSettings)>,
    }

    impl StepHost for TestHost {
        type Embedder = TestEmbedder;
        type Http = Archive;
        type Clock = Tick;
        type Chat = Scribe;
        fn embedder(&self) -> &TestEmbedder {
            &self.host.embedder
        }
        fn http(&self) -> &Archive {
            &self.host.http
        }
        fn clock(&self) -> &Tick {
            &self.clock
        }
        fn github_api(&self) -> &str {
            "http://github.test"
        }
        fn github_token(&self) -> Option<&str> {
            None
        }
        async fn sleep(&self, _ms: u64) {}
        // Several ingest steps even for a small repository.
        fn step_source_bytes(&self) -> u64 {
            60
        }
        fn llm(&self) -> Option<(&Scribe, &LlmSettings)> {
            self.llm.as_ref().map(|(chat, llm)| (chat, llm))
        }
    }

    fn llm_host() -> TestHost {
        TestHost {
            llm: Some((
                Scribe::default(),
                LlmSettings {
                    endpoint: "http://model.test/v1".into(),
                    model: "gpt-4o-mini".into(),
                    price: Price::of_model("gpt-4o-mini").unwrap(),
                    // A step per request: generation takes several steps.
                    requests_per_step: 1,
                },
            )),
            ..test_host()
        }
    }

    fn test_host() -> TestHost {
        let mut tar = tar::Builder::new(Vec::new());
        let files = [
            ("repo-abc/src/lib.rs", "//! The crate.\n\npub mod shapes;\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n"),
            ("repo-abc/src/shapes.rs", "/// A square.\npub struct Square { side: f64 }\n\nimpl Square {\n    /// Its area.\n    pub fn area(&self) -> f64 { crate::add(1, 2) as f64 * self.side * self.side }\n}\n"),
            ("repo-abc/tools/run.py", "def main():\n    \"\"\"Runs.\"\"\"\n    return helper()\n\n\ndef helper():\n    return 1\n"),
            ("repo-abc/logo.png", "\u{89}PNG\r\n\u{1a}\n\0\0"),
        ];
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, text.as_bytes()).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        TestHost {
            host: Host {
                http: Archive(gz.finish().unwrap()),
                embedder: TestEmbedder::default(),
            },
            clock: Tick(std::cell::Cell::new(0)),
            llm: None,
        }
    }

    fn request() -> JobRequest {
        JobRequest {
            repo: "https://github.com/acme/repo".into(),
            git_ref: Some("main".into()),
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    /// Runs a job to the end, approving when asked; `restart` rebuilds it from its checkpoint
    /// (through JSON) and its log before every step, and runs every step twice, the first
    /// time as a step that died before its host committed it.
    fn run_job(host: &TestHost, restart: bool) -> (Checkpoint, Vec<Event>, Vec<u8>) {
        let mut job = Job::new("job-1", "trace-1", request()).unwrap();
        let mut log: Vec<Event> = Vec::new();
        let mut texts: Vec<(String, String)> = Vec::new();
        let mut archive: Option<Vec<u8>> = None;
        let mut docpack = None;
        while !job.phase().is_final() {
            if restart {
                let saved: Checkpoint =
                    serde_json::from_str(&serde_json::to_string(&job.checkpoint).unwrap()).unwrap();
                let restored = || Job::restore(saved.clone(), &log).with_texts(texts.clone());
                let mut lost = restored();
                if lost.phase().is_runnable() {
                    run(lost.step(host, archive.as_deref())).unwrap();
                }
                job = restored();
            }
            if job.phase() == Phase::AwaitingApproval {
                job.approve().unwrap();
                continue;
            }
            let out = run(job.step(host, archive.as_deref())).unwrap();
            archive = out.archive.or(archive);
            docpack = out.docpack.or(docpack);
            log.extend(out.events);
            texts.extend(out.texts);
            assert_eq!(job.checkpoint.texts, texts.len() as u64);
        }
        (job.checkpoint, log, docpack.expect("a docpack"))
    }

    #[test]
    fn a_job_resumed_from_every_checkpoint_ends_as_one_run_straight_through() {
        let host = test_host();
        let (straight, events, bytes) = run_job(&host, false);
        assert_eq!(straight.phase, Phase::Completed);
        // fetch, three ingest steps, assembly, generation
        assert_eq!(straight.steps, 6);
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
        let docpack = docpack::read(&bytes).unwrap();
        let reference = straight.docpack.clone().unwrap();
        assert_eq!(docpack.id, reference.id);
        assert_eq!(docpack.manifest.repository.commit.as_deref(), Some(SHA));
        assert!(docpack
            .nodes
            .iter()
            .any(|n| n.qualified_name.ends_with("Square::area")));

        let (resumed, resumed_events, resumed_bytes) = run_job(&host, true);
        assert_eq!(resumed.docpack, straight.docpack);
        assert_eq!(resumed_bytes, bytes);
        let keys = |events: &[Event]| -> Vec<(u64, String)> {
            events
                .iter()
                .map(|e| (e.seq, e.idempotency_key.clone()))
                .collect()
        };
        assert_eq!(keys(&resumed_events), keys(&events));
    }

    #[test]
    fn a_model_writes_the_texts_in_steps_and_a_resumed_job_pays_for_no_text_twice() {
        let host = llm_host();
        let (straight, events, bytes) = run_job(&host, false);
        let chat = &host.llm.as_ref().unwrap().0;
        let estimate = straight.estimate.clone().unwrap();
        assert_eq!(estimate.verbalizer, "gpt-4o-mini");
        assert!(estimate.usd > 0.0 && estimate.most_usd >= estimate.usd);
        // The estimate foresaw every request, and each was sent once.
        assert_eq!(chat.requests.get(), estimate.requests);
        assert!(estimate.requests > 2, "{estimate:?}");
        // fetch, three ingest steps, assembly, then a generation step per request (the one
        // sending the last request also packs).
        assert_eq!(straight.steps, 5 + estimate.requests);
        let spent = Usage {
            prompt_tokens: USAGE.prompt_tokens * estimate.requests,
            completion_tokens: USAGE.completion_tokens * estimate.requests,
        };
        assert_eq!(straight.spent, spent);

        let docpack = docpack::read(&bytes).unwrap();
        assert_eq!(docpack.manifest.verbalizer, "gpt-4o-mini");
        let documented: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e.body, EventBody::SymbolDocumented(_)))
            .collect();
        assert_eq!(documented.len(), docpack.nodes.len());
        assert_eq!(documented.len() as u64, estimate.symbols);
        for doc in docpack.nodes.iter().map(|n| &n.doc) {
            assert_eq!(doc.verbalizer, "gpt-4o-mini");
            assert!(doc.text.starts_with("Part "), "{}", doc.text);
        }
        let price = Price::of_model("gpt-4o-mini").unwrap();
        let completed = events.iter().find_map(|e| match &e.body {
            EventBody::GenerationCompleted(g) => Some(g),
            _ => None,
        });
        assert_eq!(completed.unwrap().cost_usd, Some(price.cost(spent)));
        assert_eq!(
            docpack.manifest.generation.as_ref().unwrap().actual,
            spent,
            "the docpack records what the texts cost"
        );

        // Every step is run twice, the first time lost: the texts it paid for are lost with it,
        // the ones committed before are not paid for again, and the result is the same.
        let host = llm_host();
        let (resumed, resumed_events, resumed_bytes) = run_job(&host, true);
        assert_eq!(resumed_bytes, bytes);
        assert_eq!(resumed.docpack, straight.docpack);
        let keys = |events: &[Event]| -> Vec<(u64, String)> {
            events
                .iter()
                .map(|e| (e.seq, e.idempotency_key.clone()))
                .collect()
        };
        assert_eq!(keys(&resumed_events), keys(&events));
        assert_eq!(
            host.llm.as_ref().unwrap().0.requests.get(),
            2 * estimate.requests
        );
    }

    #[test]
    fn approval_cancel_and_bad_requests_are_refused_where_they_do_not_apply() {
        let bad = JobRequest {
            repo: "https://gitlab.com/a/b".into(),
            git_ref: None,
        };
        assert!(matches!(
            Job::new("j", "t", bad),
            Err(JobError::BadRequest(_))
        ));
        let host = test_host();
        let mut job = Job::new("j", "t", request()).unwrap();
        assert!(matches!(job.approve(), Err(JobError::Phase { .. })));
        run(job.step(&host, None)).unwrap();
        assert_eq!(job.phase(), Phase::Ingesting);
        let events = job.cancel(&host.clock).unwrap();
        let EventBody::JobCompleted(done) = &events[0].body else {
            panic!("job.completed")
        };
        assert_eq!(done.status, Status::Failed);
        assert_eq!(job.phase(), Phase::Cancelled);
        assert!(job.cancel(&host.clock).is_err());
        assert!(run(job.step(&host, None)).is_err());
    }
}
