//! `JobCoordinator`: one Durable Object per job. It hosts the core's job state machine
//! ([`doctown_core::job`]), runs one step per alarm, commits the step's events and checkpoint
//! to its storage, and pushes the events to every connected WebSocket (hibernation API). A
//! client connecting with `?since=SEQ` gets the logged events from there, then the live ones,
//! in order and without a gap.

use std::cell::{Cell, RefCell};

use doctown_core::events::{Clock, Event};
use doctown_core::job::{Checkpoint, Job, JobError, JobRequest, Phase};
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair,
};

use crate::host::{Settings, WorkerClock, WorkerHost};
use crate::{error, meta, store};

/// Tries of a failing step (an unreachable GitHub, a storage error) before the job fails.
const MAX_STEP_ATTEMPTS: u32 = 3;
/// The first retry's delay; each later one doubles it.
const STEP_BACKOFF_MS: u64 = 1_000;
/// While a step runs, the alarm stands this far ahead: if the isolate dies mid-step, the step
/// runs again from the checkpoint then.
const STEP_WATCHDOG_MS: u64 = 10_000;
const FAILURES: &str = "failures";
/// A step started this many times without ending fails the job: the runtime died running it
/// each time (past its memory or CPU limit), and starting it again would go on forever. Above
/// [`MAX_STEP_ATTEMPTS`], so a step that fails cleanly is retried as usual.
const MAX_STEP_STARTS: u32 = MAX_STEP_ATTEMPTS + 1;
/// Which step was started last (its number) and how many times.
const STARTS: &str = "starts";
/// A cancel asked for while a step ran: kept in storage, so it outlives an isolate that dies
/// before the step ends.
const CANCEL: &str = "cancel";
/// The user who submitted the job.
const OWNER: &str = "owner";

/// Where the fetched repository archive waits for the ingest steps: R2 (a Durable Object value
/// is limited to 2 MB).
pub fn archive_key(job_id: &str) -> String {
    format!("jobs/{job_id}/source")
}

/// A docpack's content address in R2.
pub fn docpack_key(docpack_id: &str) -> String {
    format!("docpacks/{docpack_id}.docpack")
}

/// What a connected WebSocket has been sent; kept with the socket across hibernation.
#[derive(Debug, Serialize, Deserialize)]
struct Listener {
    next: u64,
    /// Caught up with the log: live events go to it from now on.
    live: bool,
}

#[durable_object]
pub struct JobCoordinator {
    state: State,
    env: Env,
    /// The job between steps, so a step need not replay the log; `None` after a restart.
    job: RefCell<Option<Job>>,
    archive: RefCell<Option<Vec<u8>>>,
    /// The next sequence number not yet committed, once known in this isolate.
    committed: Cell<Option<u64>>,
    /// The phase the metadata index last heard of from this isolate (`None`: tell it again).
    indexed: Cell<Option<Phase>>,
    running: Cell<bool>,
}

impl std::fmt::Debug for JobCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobCoordinator")
            .field("committed", &self.committed.get())
            .field("running", &self.running.get())
            .finish_non_exhaustive()
    }
}

impl DurableObject for JobCoordinator {
    fn new(state: State, env: Env) -> Self {
        JobCoordinator {
            state,
            env,
            job: RefCell::new(None),
            archive: RefCell::new(None),
            committed: Cell::new(None),
            indexed: Cell::new(None),
            running: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Post, "/start") => {
                let (job_id, request, owner): (String, JobRequest, String) = req.json().await?;
                self.start(&job_id, request, &owner).await
            }
            (Method::Get, "/status") => self.status().await,
            (Method::Post, "/approve") => self.approve().await,
            (Method::Post, "/cancel") => self.cancel().await,
            (Method::Get, "/events") => {
                let since = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "since")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                self.listen(since).await
            }
            _ => error(404, "not_found", "no such job endpoint"),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.step().await?;
        Response::ok("")
    }

    async fn websocket_message(
        &self,
        _ws: WebSocket,
        _message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        reason: String,
        _clean: bool,
    ) -> worker::Result<()> {
        // Completes the closing handshake; a socket already gone cannot take it.
        let _ = ws.close(Some(code as u16), Some(reason));
        Ok(())
    }
}

impl JobCoordinator {
    async fn start(
        &self,
        job_id: &str,
        request: JobRequest,
        owner: &str,
    ) -> worker::Result<Response> {
        let storage = self.state.storage();
        if store::checkpoint(&storage).await?.is_some() {
            return error(409, "job_exists", "this job has already started");
        }
        storage.put(OWNER, owner).await?;
        let trace_id = &job_id[..job_id.len().min(32)];
        let job = match Job::new(job_id, trace_id, request) {
            Ok(job) => job,
            Err(e) => return error(400, "bad_request", &e.to_string()),
        };
        store::commit(&storage, &[], &[], &job.checkpoint).await?;
        self.committed.set(Some(0));
        storage.set_alarm(0).await?;
        let response = self.view(&job.checkpoint);
        *self.job.borrow_mut() = Some(job);
        response.map(|r| r.with_status(201))
    }

    /// The job as the API shows it: its checkpoint, and the memory of the isolate running it.
    fn view(&self, checkpoint: &Checkpoint) -> worker::Result<Response> {
        let mut view = serde_json::to_value(checkpoint)?;
        view["isolate_memory_bytes"] = linear_memory_bytes().into();
        Response::from_json(&view)
    }

    async fn status(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        let Some(checkpoint) = store::checkpoint(&storage).await? else {
            return error(404, "not_found", "no such job");
        };
        // A job that should be moving but has no alarm (its runtime restarted between
        // steps) moves again.
        if checkpoint.phase.is_runnable()
            && !self.running.get()
            && storage.get_alarm().await?.is_none()
        {
            storage.set_alarm(0).await?;
        }
        self.view(&checkpoint)
    }

    /// The job in memory, or rebuilt from storage.
    async fn load(&self) -> worker::Result<Option<Job>> {
        if let Some(job) = self.job.borrow_mut().take() {
            return Ok(Some(job));
        }
        let storage = self.state.storage();
        let Some(checkpoint) = store::checkpoint(&storage).await? else {
            return Ok(None);
        };
        let events = store::events(&storage, 0).await?;
        let texts = store::texts(&storage).await?;
        Ok(Some(Job::restore(checkpoint, &events).with_texts(texts)))
    }

    async fn approve(&self) -> worker::Result<Response> {
        let Some(mut job) = self.load().await? else {
            return error(404, "not_found", "no such job");
        };
        let result = job.approve();
        let response = match result {
            Ok(()) => {
                self.commit(&job, &[], &[]).await?;
                self.state.storage().set_alarm(0).await?;
                self.view(&job.checkpoint)
            }
            Err(e) => error(409, "wrong_phase", &e.to_string()),
        };
        *self.job.borrow_mut() = Some(job);
        response
    }

    async fn cancel(&self) -> worker::Result<Response> {
        if self.running.get() {
            // The running step finishes and commits first; then the job is cancelled.
            self.state.storage().put(CANCEL, true).await?;
            return Response::from_json(&serde_json::json!({"cancel": "requested"}))
                .map(|r| r.with_status(202));
        }
        let Some(mut job) = self.load().await? else {
            return error(404, "not_found", "no such job");
        };
        let response = match job.cancel(&WorkerClock) {
            Ok(events) => {
                self.commit(&job, &events, &[]).await?;
                self.state.storage().delete_alarm().await?;
                self.view(&job.checkpoint)
            }
            Err(e) => error(409, "wrong_phase", &e.to_string()),
        };
        if !job.phase().is_final() {
            *self.job.borrow_mut() = Some(job);
        }
        response
    }

    /// Runs the job's next step and commits it; schedules the one after.
    async fn step(&self) -> worker::Result<()> {
        let storage = self.state.storage();
        if self.running.get() {
            // The watchdog of a step still waiting on its requests: it stands again.
            return storage.set_alarm(STEP_WATCHDOG_MS as i64).await;
        }
        let Some(mut job) = self.load().await? else {
            return Ok(());
        };
        if !job.phase().is_runnable() {
            *self.job.borrow_mut() = Some(job);
            return Ok(());
        }
        // A cancel that waits was asked for during a step of an isolate that died since.
        if storage.get::<bool>(CANCEL).await?.is_none() && !self.run_step(&mut job).await? {
            return Ok(());
        }
        if storage.get::<bool>(CANCEL).await?.is_some() {
            if let Ok(events) = job.cancel(&WorkerClock) {
                self.commit(&job, &events, &[]).await?;
            }
            storage.delete(CANCEL).await?;
        }
        if job.phase().is_runnable() {
            storage.set_alarm(0).await?;
        } else {
            storage.delete_alarm().await?;
        }
        if job.phase().is_final() {
            // Nothing more to do: the memory goes back to the isolate.
            self.archive.borrow_mut().take();
        } else {
            *self.job.borrow_mut() = Some(job);
        }
        Ok(())
    }

    /// Runs the job's next step and commits it, or counts its failure; `false` when nothing
    /// could be committed (the watchdog alarm runs the step again).
    async fn run_step(&self, job: &mut Job) -> worker::Result<bool> {
        let storage = self.state.storage();
        let step = job.checkpoint.steps;
        let starts = match storage.get::<(u64, u32)>(STARTS).await? {
            Some((last, n)) if last == step => n + 1,
            _ => 1,
        };
        if starts > MAX_STEP_STARTS {
            let reason = format!(
                "step {step} ({:?}) was started {MAX_STEP_STARTS} times and never ended: the runtime dies running it (past its memory or CPU limit?)",
                job.phase()
            );
            let events = job.fail(reason, &WorkerClock);
            self.commit(job, &events, &[]).await?;
            return Ok(true);
        }
        storage.put(STARTS, (step, starts)).await?;
        storage.set_alarm(STEP_WATCHDOG_MS as i64).await?;
        self.running.set(true);
        let phase = job.phase();
        let result = self.run(job).await;
        self.running.set(false);
        worker::console_log!(
            "job {}: step {} ({phase:?}) {}",
            job.checkpoint.job_id,
            job.checkpoint.steps,
            match &result {
                Ok((events, texts)) =>
                    format!("done, {} events, {} texts", events.len(), texts.len()),
                Err(e) => format!("failed: {e}"),
            }
        );
        let outcome = match result {
            Ok((events, texts)) => {
                storage.delete(FAILURES).await?;
                self.commit(job, &events, &texts).await
            }
            Err(e) => self.failed(job, e).await,
        };
        if let Err(e) = outcome {
            // Not committed: the watchdog alarm runs the step again.
            worker::console_error!("job {}: {e}", job.checkpoint.job_id);
            return Ok(false);
        }
        Ok(true)
    }

    /// One step, with the archive the ingest steps read: its events and the model's new texts.
    async fn run(&self, job: &mut Job) -> Result<(Vec<Event>, Vec<(String, String)>), String> {
        let settings = Settings::from_env(&self.env).map_err(|e| e.to_string())?;
        let host = WorkerHost::new(settings);
        let bucket = self.env.bucket("DOCPACKS").map_err(|e| e.to_string())?;
        let job_id = job.checkpoint.job_id.clone();
        if job.phase() == Phase::Ingesting && self.archive.borrow().is_none() {
            let object = bucket
                .get(archive_key(&job_id))
                .execute()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the fetched archive is gone from storage")?;
            let bytes = match object.body() {
                Some(body) => body.bytes().await.map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            *self.archive.borrow_mut() = Some(bytes);
        }
        let archive = self.archive.borrow_mut().take();
        let output = job.step(&host, archive.as_deref()).await;
        *self.archive.borrow_mut() = archive;
        let output = output.map_err(|e| match e {
            JobError::BadRequest(m) | JobError::Step(m) => m,
            e @ JobError::Phase { .. } => e.to_string(),
        })?;
        if let Some(archive) = output.archive {
            bucket
                .put(archive_key(&job_id), archive.clone())
                .execute()
                .await
                .map_err(|e| e.to_string())?;
            *self.archive.borrow_mut() = Some(archive);
        }
        if let (Some(bytes), Some(docpack)) = (output.docpack, &job.checkpoint.docpack) {
            bucket
                .put(docpack_key(&docpack.id), bytes)
                .execute()
                .await
                .map_err(|e| e.to_string())?;
            // The source is no longer needed.
            let _ = bucket.delete(archive_key(&job_id)).await;
        }
        Ok((output.events, output.texts))
    }

    /// A step failed: retried after a backoff, or the job fails once it has failed too often.
    async fn failed(&self, job: &mut Job, reason: String) -> worker::Result<()> {
        let storage = self.state.storage();
        // The step did not change the job; the copy in storage is the same.
        let failures = storage.get::<u32>(FAILURES).await?.unwrap_or(0) + 1;
        if failures < MAX_STEP_ATTEMPTS {
            storage.put(FAILURES, failures).await?;
            let backoff = STEP_BACKOFF_MS << (failures - 1);
            storage.set_alarm(backoff as i64).await?;
            return Err(worker::Error::RustError(format!(
                "step failed ({failures} of {MAX_STEP_ATTEMPTS}): {reason}"
            )));
        }
        let events = job.fail(reason, &WorkerClock);
        self.commit(job, &events, &[]).await
    }

    /// Stores the events, the texts and the checkpoint, then pushes the events to the live
    /// sockets; the metadata index learns of a new phase.
    async fn commit(
        &self,
        job: &Job,
        events: &[Event],
        texts: &[(String, String)],
    ) -> worker::Result<()> {
        let storage = self.state.storage();
        // The index first: if it fails the step is not committed and runs again (its rows are
        // written idempotently).
        if self.indexed.get() != Some(job.phase()) {
            let owner: String = storage.get(OWNER).await?.unwrap_or_default();
            let db = self.env.d1("DB")?;
            meta::update_job(&db, &job.checkpoint, &owner, WorkerClock.now_ms()).await?;
            self.indexed.set(Some(job.phase()));
        }
        store::commit(&storage, events, texts, &job.checkpoint).await?;
        self.committed.set(Some(job.checkpoint.next_seq));
        for ws in self.state.get_websockets() {
            let Ok(Some(mut listener)) = ws.deserialize_attachment::<Listener>() else {
                continue;
            };
            if !listener.live {
                continue;
            }
            send(&ws, &mut listener, events);
        }
        Ok(())
    }

    /// A WebSocket that gets the log from `since`, then every event as it is committed.
    async fn listen(&self, since: u64) -> worker::Result<Response> {
        let storage = self.state.storage();
        if self.committed.get().is_none() {
            let Some(checkpoint) = store::checkpoint(&storage).await? else {
                return error(404, "not_found", "no such job");
            };
            self.committed.set(Some(checkpoint.next_seq));
        }
        let pair = WebSocketPair::new()?;
        let ws = pair.server;
        self.state.accept_web_socket(&ws);
        let mut listener = Listener {
            next: since,
            live: false,
        };
        ws.serialize_attachment(&listener)?;
        // Catch up from the log; commits meanwhile are read in the next round. The check and
        // going live happen with no await between them, so no commit falls in a gap.
        loop {
            let events = store::events(&storage, listener.next).await?;
            send(&ws, &mut listener, &events);
            if listener.next >= self.committed.get().unwrap_or(0) {
                listener.live = true;
                ws.serialize_attachment(&listener)?;
                break;
            }
        }
        Response::from_websocket(pair.client)
    }
}

/// Sends the events the listener has not had, in order.
fn send(ws: &WebSocket, listener: &mut Listener, events: &[Event]) {
    let from = listener.next;
    for event in events.iter().filter(|e| e.seq >= from) {
        let Ok(text) = serde_json::to_string(event) else {
            continue;
        };
        if ws.send_with_str(text).is_err() {
            return;
        }
        listener.next = event.seq + 1;
    }
    let _ = ws.serialize_attachment(&*listener);
}

/// The WebAssembly linear memory of this isolate: what the Rust heap has ever needed (it grows
/// and never shrinks), the number to hold against the 128 MB isolate limit.
fn linear_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as u64 * 65_536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
