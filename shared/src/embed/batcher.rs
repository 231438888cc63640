//! The client-side batching policy of the seed: chunks are sent as ingest produces them, when
//! at least [`BatchPolicy::min_batch`] are waiting and a slot is free, at most
//! [`BatchPolicy::max_batch`] at a time, or whatever waits once the oldest has waited
//! [`BatchPolicy::max_wait_ms`]. Identical texts are embedded once; a failed batch is retried
//! with exponential backoff up to [`BatchPolicy::max_attempts`] times, then given up.
//!
//! Pure state: the host supplies the time and performs the requests (the CLI with tokio timers,
//! the edge with Durable Object alarms).

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

use super::EmbedError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPolicy {
    /// A batch goes out early once this many chunks wait: fewer wastes a round trip.
    pub min_batch: usize,
    /// The most chunks in one request: gpu-service re-cuts them by tokens anyway, this bounds
    /// the request body (256 × ~1 KiB of text) and the work lost when one fails.
    pub max_batch: usize,
    /// The longest a chunk waits for company before it is sent alone.
    pub max_wait_ms: u64,
    /// Batches in flight at once: enough to keep a remote device busy across round trips.
    pub max_in_flight: usize,
    /// Attempts per batch, the first included.
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles it.
    pub backoff_ms: u64,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        BatchPolicy {
            min_batch: 16,
            max_batch: 256,
            max_wait_ms: 500,
            max_in_flight: 4,
            max_attempts: 3,
            backoff_ms: 250,
        }
    }
}

/// A request to make: texts in the order of `chunk_ids` (one canonical chunk per distinct text).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub chunk_ids: Vec<String>,
    pub texts: Vec<String>,
}

/// What became of a pushed chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// Queued for a batch.
    Queued,
    /// Its text is already queued or in flight; it gets that text's vector.
    Duplicate,
    /// Its text was embedded already: here is the vector.
    Ready(Vec<f32>),
    /// Its text's batch was given up; this chunk is skipped too.
    Skipped,
}

/// What the host does after a batch failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The batch is queued again and goes out no earlier than `at_ms`.
    Retry { attempt: u32, at_ms: u64 },
    /// Out of attempts (or not retryable): these chunks, duplicates included, get no vector.
    GaveUp { chunk_ids: Vec<String> },
}

#[derive(Debug)]
enum Group {
    /// Chunks waiting for this text's vector, the canonical one first.
    Pending(Vec<String>),
    Done(Vec<f32>),
    Skipped,
}

#[derive(Debug)]
struct Waiting {
    chunk_id: String,
    text: String,
    since_ms: u64,
}

#[derive(Debug)]
pub struct Batcher {
    policy: BatchPolicy,
    waiting: VecDeque<Waiting>,
    retries: VecDeque<(u64, Batch)>,
    groups: HashMap<[u8; 32], Group>,
    /// Canonical chunk id → its text's digest, for the chunks queued or in flight.
    digests: HashMap<String, [u8; 32]>,
    in_flight: usize,
    next_batch: u64,
    closed: bool,
}

impl Batcher {
    pub fn new(policy: BatchPolicy) -> Self {
        Batcher {
            policy,
            waiting: VecDeque::new(),
            retries: VecDeque::new(),
            groups: HashMap::new(),
            digests: HashMap::new(),
            in_flight: 0,
            next_batch: 0,
            closed: false,
        }
    }

    pub fn push(&mut self, chunk_id: String, text: String, now_ms: u64) -> Pushed {
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        match self.groups.get_mut(&digest) {
            Some(Group::Pending(chunks)) => {
                chunks.push(chunk_id);
                Pushed::Duplicate
            }
            Some(Group::Done(vector)) => Pushed::Ready(vector.clone()),
            Some(Group::Skipped) => Pushed::Skipped,
            None => {
                self.groups
                    .insert(digest, Group::Pending(vec![chunk_id.clone()]));
                self.digests.insert(chunk_id.clone(), digest);
                self.waiting.push_back(Waiting {
                    chunk_id,
                    text,
                    since_ms: now_ms,
                });
                Pushed::Queued
            }
        }
    }

    /// Numbers the next batches after `sent` earlier ones (a host resuming a checkpoint), so
    /// batch ids stay unique within the job.
    pub fn continue_after(mut self, sent: u64) -> Self {
        self.next_batch = sent;
        self
    }

    /// How many batches have been made so far.
    pub fn batches(&self) -> u64 {
        self.next_batch
    }

    /// No more chunks will come: whatever waits is sent without waiting for company.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// The next batch to send now, if the policy says one should go.
    pub fn poll(&mut self, now_ms: u64) -> Option<Batch> {
        if self.in_flight >= self.policy.max_in_flight {
            return None;
        }
        if self.retries.front().is_some_and(|(at, _)| *at <= now_ms) {
            let (_, batch) = self.retries.pop_front()?;
            self.in_flight += 1;
            return Some(batch);
        }
        let oldest = self.waiting.front()?.since_ms;
        let due = self.waiting.len() >= self.policy.min_batch
            || self.closed
            || now_ms >= oldest + self.policy.max_wait_ms;
        if !due {
            return None;
        }
        let take = self.waiting.len().min(self.policy.max_batch);
        let (chunk_ids, texts) = self
            .waiting
            .drain(..take)
            .map(|w| (w.chunk_id, w.text))
            .unzip();
        self.next_batch += 1;
        self.in_flight += 1;
        Some(Batch {
            id: format!("b{:05}", self.next_batch),
            attempt: 1,
            chunk_ids,
            texts,
        })
    }

    /// When the host should poll again if nothing else happens (a chunk's wait running out or
    /// a retry's backoff ending); `None` when only a push or a completion can make a batch due.
    pub fn wake_at(&self) -> Option<u64> {
        let wait = self
            .waiting
            .front()
            .map(|w| w.since_ms + self.policy.max_wait_ms);
        let retry = self.retries.iter().map(|(at, _)| *at).min();
        wait.into_iter().chain(retry).min()
    }

    /// Records a batch's vectors (in the order of its chunks) and returns every chunk that
    /// gets one, duplicates included.
    pub fn complete(&mut self, batch: &Batch, vectors: Vec<Vec<f32>>) -> Vec<(String, Vec<f32>)> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let mut out = Vec::new();
        for (chunk_id, vector) in batch.chunk_ids.iter().zip(vectors) {
            let Some(digest) = self.digests.remove(chunk_id) else {
                continue;
            };
            if let Some(Group::Pending(chunks)) = self.groups.get(&digest) {
                out.extend(chunks.iter().map(|c| (c.clone(), vector.clone())));
            }
            self.groups.insert(digest, Group::Done(vector));
        }
        out
    }

    /// Records a failed attempt: queues a retry with backoff (honouring the backend's
    /// `Retry-After`), or gives the batch up.
    pub fn fail(&mut self, batch: Batch, error: &EmbedError, now_ms: u64) -> Failure {
        self.in_flight = self.in_flight.saturating_sub(1);
        if error.is_retryable() && batch.attempt < self.policy.max_attempts {
            let backoff = self.policy.backoff_ms << (batch.attempt - 1).min(16);
            let hinted = match error {
                EmbedError::Unavailable {
                    retry_after_ms: Some(ms),
                    ..
                } => *ms,
                _ => 0,
            };
            let at_ms = now_ms + backoff.max(hinted);
            let attempt = batch.attempt + 1;
            self.retries.push_back((at_ms, Batch { attempt, ..batch }));
            self.retries.make_contiguous().sort_by_key(|(at, _)| *at);
            return Failure::Retry { attempt, at_ms };
        }
        let mut chunk_ids = Vec::new();
        for chunk_id in &batch.chunk_ids {
            let Some(digest) = self.digests.remove(chunk_id) else {
                continue;
            };
            if let Some(Group::Pending(chunks)) = self.groups.insert(digest, Group::Skipped) {
                chunk_ids.extend(chunks);
            }
        }
        Failure::GaveUp { chunk_ids }
    }

    /// Closed, and nothing waiting, retrying or in flight.
    pub fn is_done(&self) -> bool {
        self.closed && self.waiting.is_empty() && self.retries.is_empty() && self.in_flight == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_n(b: &mut Batcher, n: usize, now: u64) {
        for i in 0..n {
            assert_eq!(
                b.push(format!("c{i}"), format!("text {i}"), now),
                Pushed::Queued
            );
        }
    }

    #[test]
    fn waits_for_sixteen_or_half_a_second() {
        let mut b = Batcher::new(BatchPolicy::default());
        push_n(&mut b, 15, 0);
        assert_eq!(b.poll(499), None);
        assert_eq!(b.wake_at(), Some(500));
        let batch = b.poll(500).unwrap();
        assert_eq!(batch.texts.len(), 15);
        assert_eq!(batch.id, "b00001");

        let mut b = Batcher::new(BatchPolicy::default());
        push_n(&mut b, 16, 0);
        assert_eq!(b.poll(1).unwrap().chunk_ids.len(), 16);
    }

    #[test]
    fn caps_batches_and_slots() {
        let policy = BatchPolicy::default();
        let mut b = Batcher::new(policy);
        push_n(&mut b, 256 * 5 + 3, 0);
        for _ in 0..policy.max_in_flight {
            assert_eq!(b.poll(0).unwrap().texts.len(), 256);
        }
        assert_eq!(b.poll(0), None, "every slot is taken");
        let batch = Batch {
            id: "b00001".into(),
            attempt: 1,
            chunk_ids: (0..256).map(|i| format!("c{i}")).collect(),
            texts: vec![],
        };
        assert_eq!(b.complete(&batch, vec![vec![1.0]; 256]).len(), 256);
        assert_eq!(b.poll(0).unwrap().texts.len(), 256);
        b.close();
        assert!(!b.is_done());
    }

    #[test]
    fn identical_texts_are_embedded_once() {
        let mut b = Batcher::new(BatchPolicy::default());
        assert_eq!(b.push("a".into(), "same".into(), 0), Pushed::Queued);
        assert_eq!(b.push("b".into(), "same".into(), 0), Pushed::Duplicate);
        b.close();
        let batch = b.poll(0).unwrap();
        assert_eq!(batch.texts, vec!["same".to_string()]);
        let out = b.complete(&batch, vec![vec![0.5, 0.5]]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            b.push("c".into(), "same".into(), 9),
            Pushed::Ready(vec![0.5, 0.5])
        );
        assert!(b.is_done());
    }

    #[test]
    fn retries_with_backoff_then_gives_up_with_duplicates() {
        let mut b = Batcher::new(BatchPolicy::default());
        b.push("a".into(), "x".into(), 0);
        b.push("b".into(), "x".into(), 0);
        b.close();
        let down = EmbedError::Unavailable {
            message: "503".into(),
            retry_after_ms: None,
        };
        let batch = b.poll(0).unwrap();
        assert_eq!(
            b.fail(batch, &down, 0),
            Failure::Retry {
                attempt: 2,
                at_ms: 250
            }
        );
        assert_eq!(b.poll(100), None);
        assert_eq!(b.wake_at(), Some(250));
        let batch = b.poll(250).unwrap();
        let hinted = EmbedError::Unavailable {
            message: "429".into(),
            retry_after_ms: Some(2000),
        };
        assert_eq!(
            b.fail(batch, &hinted, 250),
            Failure::Retry {
                attempt: 3,
                at_ms: 2250
            }
        );
        let batch = b.poll(2250).unwrap();
        assert_eq!(batch.attempt, 3);
        assert_eq!(
            b.fail(batch, &down, 2300),
            Failure::GaveUp {
                chunk_ids: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(b.push("c".into(), "x".into(), 3000), Pushed::Skipped);
        assert!(b.is_done());
    }

    #[test]
    fn rejected_batches_are_not_retried() {
        let mut b = Batcher::new(BatchPolicy::default());
        b.push("a".into(), "x".into(), 0);
        b.close();
        let batch = b.poll(0).unwrap();
        let failure = b.fail(batch, &EmbedError::Rejected("bad".into()), 0);
        assert_eq!(
            failure,
            Failure::GaveUp {
                chunk_ids: vec!["a".into()]
            }
        );
    }
}
