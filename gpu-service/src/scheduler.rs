//! One queue for every client: requests are split into texts (as token ids), and the inference
//! thread cuts the queue into batches by a token budget the moment the device is free, with no
//! timer (as huggingface/text-embeddings-inference does). A batch is built around the oldest
//! waiting text from its neighbours in length, so padding stays small and nothing starves. The
//! queue is bounded in tokens; past it, requests are refused with the time the backlog needs.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::minilm::MiniLm;
use doctown_core::embed::MAX_TOKENS;

#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Padded tokens (texts × longest text) in one forward pass. Activations grow with it (on
    /// the CPU, 8,192 tokens of 256 peak near 300 MB); throughput stops growing long before.
    pub max_batch_tokens: usize,
    /// Texts in one forward pass.
    pub max_batch_texts: usize,
    /// Tokens waiting before new requests are refused: with ~2,000 tokens/s on two CPU cores,
    /// 262,144 is about two minutes of work, more than any client waits for.
    pub max_queue_tokens: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_batch_tokens: 8_192,
            max_batch_texts: 256,
            max_queue_tokens: 262_144,
        }
    }
}

/// A request's vectors and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    /// Tokens of the request after truncation.
    pub tokens: usize,
    /// From submission to its first forward pass.
    pub queue_time: Duration,
    /// The forward passes it took part in.
    pub inference_time: Duration,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the queue is full ({queued} tokens waiting, limit {limit}); retry in {} s", retry_after.as_secs())]
    QueueFull {
        queued: usize,
        limit: usize,
        retry_after: Duration,
    },
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("inference failed: {0}")]
    Inference(String),
}

type Reply = oneshot::Sender<Result<Embedded, ScheduleError>>;

#[derive(Debug)]
struct Request {
    submitted: Instant,
    tokens: usize,
    vectors: Vec<Option<Vec<f32>>>,
    remaining: usize,
    first_pass: Option<Instant>,
    inference: Duration,
    reply: Option<Reply>,
}

#[derive(Debug)]
struct Entry {
    tokens: Vec<u32>,
    slot: usize,
    request: Arc<Mutex<Request>>,
}

#[derive(Debug, Default)]
struct State {
    /// In arrival order.
    queue: Vec<Entry>,
    queued_tokens: usize,
    closing: bool,
    /// Recent throughput, for Retry-After.
    tokens_per_second: f64,
}

impl State {
    /// The queue's size into the gauges.
    fn publish(&self, metrics: &Metrics) {
        metrics.queue_texts.set(self.queue.len() as i64);
        metrics.queue_tokens.set(self.queued_tokens as i64);
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    config: SchedulerConfig,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The queue and its inference thread. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Scheduler {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Scheduler {
    pub fn start(model: MiniLm, config: SchedulerConfig, metrics: Arc<Metrics>) -> Self {
        assert!(
            config.max_batch_tokens >= MAX_TOKENS && config.max_batch_texts > 0,
            "a batch must hold at least one text of {MAX_TOKENS} tokens"
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            config,
            metrics,
        });
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("inference".into())
                .spawn(move || run(&shared, &model))
                .expect("spawning the inference thread")
        };
        Scheduler {
            shared,
            worker: Mutex::new(Some(worker)),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Embeds texts given as token ids (each at most [`MAX_TOKENS`]).
    pub async fn embed(&self, texts: Vec<Vec<u32>>) -> Result<Embedded, ScheduleError> {
        if texts.is_empty() {
            return Ok(Embedded::default());
        }
        let receiver = self.submit(texts)?;
        receiver.await.unwrap_or(Err(ScheduleError::ShuttingDown))
    }

    fn submit(
        &self,
        mut texts: Vec<Vec<u32>>,
    ) -> Result<oneshot::Receiver<Result<Embedded, ScheduleError>>, ScheduleError> {
        // Counted after truncation, as the inference thread counts them off.
        texts.iter_mut().for_each(|t| t.truncate(MAX_TOKENS));
        let tokens: usize = texts.iter().map(Vec::len).sum();
        let (sender, receiver) = oneshot::channel();
        let mut state = self.shared.lock();
        if state.closing {
            return Err(ScheduleError::ShuttingDown);
        }
        let limit = self.shared.config.max_queue_tokens;
        if state.queued_tokens > 0 && state.queued_tokens + tokens > limit {
            self.shared.metrics.rejected.inc();
            // The backlog's expected drain time, at least a second.
            let rate = state.tokens_per_second.max(1.0);
            let retry_after =
                Duration::from_secs((state.queued_tokens as f64 / rate).ceil().max(1.0) as u64);
            return Err(ScheduleError::QueueFull {
                queued: state.queued_tokens,
                limit,
                retry_after,
            });
        }
        let request = Arc::new(Mutex::new(Request {
            submitted: Instant::now(),
            tokens,
            vectors: vec![None; texts.len()],
            remaining: texts.len(),
            first_pass: None,
            inference: Duration::ZERO,
            reply: Some(sender),
        }));
        for (slot, text) in texts.into_iter().enumerate() {
            state.queue.push(Entry {
                tokens: text,
                slot,
                request: request.clone(),
            });
        }
        state.queued_tokens += tokens;
        state.publish(&self.shared.metrics);
        drop(state);
        self.shared.wake.notify_one();
        Ok(receiver)
    }

    /// Refuses new requests, finishes every queued one, and stops the inference thread.
    pub fn shutdown(&self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(shared: &Shared, model: &MiniLm) {
    loop {
        let batch = {
            let mut state = shared.lock();
            while state.queue.is_empty() && !state.closing {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if state.queue.is_empty() {
                return;
            }
            let batch = take_batch(&mut state.queue, &shared.config);
            state.queued_tokens -= batch.iter().map(|e| e.tokens.len()).sum::<usize>();
            state.publish(&shared.metrics);
            batch
        };
        let started = Instant::now();
        let ids: Vec<&[u32]> = batch.iter().map(|e| e.tokens.as_slice()).collect();
        let longest = ids.iter().map(|t| t.len()).max().unwrap_or(0);
        let tokens: usize = ids.iter().map(|t| t.len()).sum();
        let result = model.embed_tokens(&ids);
        let took = started.elapsed();

        let metrics = &shared.metrics;
        metrics.batch_texts.observe(batch.len() as f64);
        metrics.batch_tokens.observe((batch.len() * longest) as f64);
        metrics.inference_seconds.observe(took.as_secs_f64());
        metrics.device_busy_seconds.inc_by(took.as_secs_f64());
        metrics.texts.inc_by(batch.len() as u64);
        metrics.tokens.inc_by(tokens as u64);
        {
            let mut state = shared.lock();
            let rate = tokens as f64 / took.as_secs_f64().max(1e-6);
            state.tokens_per_second = if state.tokens_per_second == 0.0 {
                rate
            } else {
                0.8 * state.tokens_per_second + 0.2 * rate
            };
        }
        match result {
            Ok(vectors) => {
                for (entry, vector) in batch.into_iter().zip(vectors) {
                    deliver(entry, Ok(vector), started, took, metrics);
                }
            }
            Err(err) => {
                let message = format!("{err:#}");
                for entry in batch {
                    deliver(entry, Err(message.clone()), started, took, metrics);
                }
            }
        }
    }
}

fn deliver(
    entry: Entry,
    result: Result<Vec<f32>, String>,
    started: Instant,
    took: Duration,
    metrics: &Metrics,
) {
    let mut request = entry.request.lock().unwrap_or_else(|p| p.into_inner());
    if request.first_pass.is_none() {
        request.first_pass = Some(started);
        metrics
            .queue_seconds
            .observe(started.duration_since(request.submitted).as_secs_f64());
    }
    request.inference += took;
    match result {
        Ok(vector) => {
            request.vectors[entry.slot] = Some(vector);
            request.remaining -= 1;
            if request.remaining == 0 {
                if let Some(reply) = request.reply.take() {
                    let embedded = Embedded {
                        vectors: request
                            .vectors
                            .iter_mut()
                            .filter_map(Option::take)
                            .collect(),
                        tokens: request.tokens,
                        queue_time: request
                            .first_pass
                            .map_or(Duration::ZERO, |f| f.duration_since(request.submitted)),
                        inference_time: request.inference,
                    };
                    let _ = reply.send(Ok(embedded));
                }
            }
        }
        Err(message) => {
            if let Some(reply) = request.reply.take() {
                let _ = reply.send(Err(ScheduleError::Inference(message)));
            }
        }
    }
}

/// Takes the next batch: the oldest text and its neighbours in length, grown one at a time
/// toward whichever side adds less padding, while the batch fits the budget.
fn take_batch(queue: &mut Vec<Entry>, config: &SchedulerConfig) -> Vec<Entry> {
    let len = |i: usize| queue[i].tokens.len();
    // Sorted by length, arrival order breaking ties; the oldest (index 0) is the seed.
    let mut order: Vec<usize> = (0..queue.len()).collect();
    order.sort_by_key(|&i| (len(i), i));
    let seed = order.iter().position(|&i| i == 0).unwrap_or(0);
    let (mut lo, mut hi) = (seed, seed + 1);
    let fits = |lo: usize, hi: usize| {
        let texts = hi - lo;
        texts <= config.max_batch_texts
            && texts * len(order[hi - 1]).max(1) <= config.max_batch_tokens
    };
    loop {
        let longest = len(order[hi - 1]);
        let down = (lo > 0 && fits(lo - 1, hi)).then(|| longest - len(order[lo - 1]));
        let up = (hi < order.len() && fits(lo, hi + 1))
            .then(|| (len(order[hi]) - longest) * (hi - lo + 1));
        match (down, up) {
            (Some(d), Some(u)) if u < d => hi += 1,
            (Some(_), _) => lo -= 1,
            (None, Some(_)) => hi += 1,
            (None, None) => break,
        }
    }
    let mut chosen = vec![false; queue.len()];
    for &i in &order[lo..hi] {
        chosen[i] = true;
    }
    let mut batch = Vec::with_capacity(hi - lo);
    let mut rest = Vec::with_capacity(queue.len() - (hi - lo));
    for (i, entry) in queue.drain(..).enumerate() {
        if chosen[i] {
            batch.push(entry);
        } else {
            rest.push(entry);
        }
    }
    *queue = rest;
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue_of(lengths: &[usize]) -> Vec<Entry> {
        let request = Arc::new(Mutex::new(Request {
            submitted: Instant::now(),
            tokens: 0,
            vectors: vec![],
            remaining: 0,
            first_pass: None,
            inference: Duration::ZERO,
            reply: None,
        }));
        lengths
            .iter()
            .enumerate()
            .map(|(slot, &n)| Entry {
                tokens: vec![1; n],
                slot,
                request: request.clone(),
            })
            .collect()
    }

    fn lengths(batch: &[Entry]) -> Vec<usize> {
        let mut l: Vec<usize> = batch.iter().map(|e| e.tokens.len()).collect();
        l.sort();
        l
    }

    #[test]
    fn batches_hold_the_oldest_and_its_neighbours_in_length() {
        let config = SchedulerConfig {
            max_batch_tokens: 1000,
            max_batch_texts: 256,
            max_queue_tokens: 1 << 20,
        };
        let mut queue = queue_of(&[100, 10, 250, 90, 110, 12, 240, 95]);
        let batch = take_batch(&mut queue, &config);
        // 100 is oldest; 90, 95, 110 are nearest; 9 × 110 ≤ 1000 would take more, but the
        // long ones (240, 250) would add far more padding than the short ones.
        assert!(lengths(&batch).contains(&100));
        assert!(batch.len() * lengths(&batch).last().unwrap() <= 1000);
        assert!(!lengths(&batch).contains(&250));
        let rest: usize = queue.len();
        assert_eq!(rest + batch.len(), 8);
        // The rest keeps arrival order.
        let mut last = 0;
        for e in &queue {
            assert!(e.slot >= last);
            last = e.slot;
        }
    }

    #[test]
    fn a_full_length_text_always_fits_alone() {
        let config = SchedulerConfig {
            max_batch_tokens: MAX_TOKENS,
            max_batch_texts: 4,
            max_queue_tokens: 1 << 20,
        };
        let mut queue = queue_of(&[256, 256, 3]);
        assert_eq!(take_batch(&mut queue, &config).len(), 1);
        assert_eq!(queue.len(), 2);
    }
}
