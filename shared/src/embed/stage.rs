//! The embedding stage as every host runs it: chunks from ingest go into the [`Batcher`], due
//! batches come out announced (`embedding.batch_started`), their results go back in (vectors as
//! `embedding.chunk_vector`, then `embedding.batch_completed`), and the end is reported once
//! (`embedding.completed`, `partial` with the chunks given up). The host only moves bytes and
//! time: it sends each batch to its [`super::Embedder`] and wakes at [`EmbedStage::wake_at`].

use std::collections::BTreeMap;
use std::future::Future;

use futures::stream::{FuturesUnordered, StreamExt};

use super::batcher::{Batch, BatchPolicy, Batcher, Failure, Pushed};
use super::{EmbedError, Embedder};
use crate::events::{
    ChunkVector, Clock, EmbeddingBatchCompleted, EmbeddingBatchStarted, EmbeddingCompleted,
    EmbeddingStarted, Emitter, EventSink, Status,
};

/// What embedding produced: a vector per chunk id, and the chunks given up.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Embeddings {
    pub vectors: BTreeMap<String, Vec<f32>>,
    pub skipped: Vec<String>,
}

#[derive(Debug)]
pub struct EmbedStage {
    batcher: Batcher,
    model: String,
    dimensions: usize,
    announced: bool,
    out: Embeddings,
}

impl EmbedStage {
    pub fn new(policy: BatchPolicy, model: &str, dimensions: usize) -> Self {
        EmbedStage {
            batcher: Batcher::new(policy),
            model: model.to_owned(),
            dimensions,
            announced: false,
            out: Embeddings::default(),
        }
    }

    /// Continues a job's embedding from a checkpoint: `embedding.started` was emitted,
    /// `done` holds what earlier steps produced and `batches` batches were sent.
    pub fn resume(
        policy: BatchPolicy,
        model: &str,
        dimensions: usize,
        done: Embeddings,
        batches: u64,
    ) -> Self {
        EmbedStage {
            batcher: Batcher::new(policy).continue_after(batches),
            model: model.to_owned(),
            dimensions,
            announced: true,
            out: done,
        }
    }

    /// How many batches have been made so far (for a checkpoint).
    pub fn batches(&self) -> u64 {
        self.batcher.batches()
    }

    /// What is done so far, for a step that ends before embedding does.
    pub fn into_embeddings(self) -> Embeddings {
        self.out
    }

    /// Sends every batch the policy lets out to `embedder`, several at once, and takes their
    /// results, until nothing waits, retries or is in flight: a host that checkpoints between
    /// steps calls it at the end of each, so no work straddles a checkpoint. `sleep(ms)` waits
    /// for the policy's timers (a chunk's wait for company, a retry's backoff).
    pub async fn drain<E, S, C, W, F>(
        &mut self,
        embedder: &E,
        sleep: W,
        emitter: &mut Emitter<S, C>,
    ) where
        E: Embedder,
        S: EventSink,
        C: Clock,
        W: Fn(u64) -> F,
        F: Future<Output = ()>,
    {
        let mut in_flight = FuturesUnordered::new();
        loop {
            while let Some(batch) = self.poll(emitter.now_ms(), emitter) {
                in_flight.push(async move {
                    let result = embedder.embed(&batch.texts).await;
                    (batch, result)
                });
            }
            if let Some((batch, result)) = in_flight.next().await {
                self.completed(batch, result, emitter.now_ms(), emitter);
                continue;
            }
            match self.wake_at() {
                Some(at) => sleep(at.saturating_sub(emitter.now_ms())).await,
                None => return,
            }
        }
    }

    /// `embedding.started`, once, when the first chunk arrives (or at the end if none did).
    fn announce<S: EventSink, C: Clock>(&mut self, emitter: &mut Emitter<S, C>) {
        if !std::mem::replace(&mut self.announced, true) {
            emitter.emit(EmbeddingStarted {
                model: self.model.clone(),
                dimensions: self.dimensions as u32,
                chunks: 0,
            });
        }
    }

    /// A chunk made by ingest.
    pub fn chunk<S: EventSink, C: Clock>(
        &mut self,
        chunk_id: String,
        text: String,
        now_ms: u64,
        emitter: &mut Emitter<S, C>,
    ) {
        self.announce(emitter);
        match self.batcher.push(chunk_id.clone(), text, now_ms) {
            Pushed::Ready(vector) => self.vector(emitter, chunk_id, "dedup".into(), vector),
            Pushed::Skipped => self.out.skipped.push(chunk_id),
            Pushed::Queued | Pushed::Duplicate => {}
        }
    }

    /// Ingest is over: what waits goes out without waiting for company.
    pub fn close(&mut self) {
        self.batcher.close();
    }

    /// The next batch to send now, announced.
    pub fn poll<S: EventSink, C: Clock>(
        &mut self,
        now_ms: u64,
        emitter: &mut Emitter<S, C>,
    ) -> Option<Batch> {
        let batch = self.batcher.poll(now_ms)?;
        emitter.emit(EmbeddingBatchStarted {
            batch_id: batch.id.clone(),
            chunk_ids: batch.chunk_ids.clone(),
            attempt: batch.attempt,
        });
        Some(batch)
    }

    /// When to poll again if nothing else happens.
    pub fn wake_at(&self) -> Option<u64> {
        self.batcher.wake_at()
    }

    /// A batch's outcome, from the embedder.
    pub fn completed<S: EventSink, C: Clock>(
        &mut self,
        batch: Batch,
        result: Result<Vec<Vec<f32>>, EmbedError>,
        now_ms: u64,
        emitter: &mut Emitter<S, C>,
    ) {
        let (batch_id, attempt) = (batch.id.clone(), batch.attempt);
        let (status, vectors, error) = match result {
            Ok(vectors) => {
                let done = self.batcher.complete(&batch, vectors);
                let count = done.len() as u64;
                for (chunk_id, vector) in done {
                    self.vector(emitter, chunk_id, batch_id.clone(), vector);
                }
                (Status::Ok, count, None)
            }
            Err(error) => {
                if let Failure::GaveUp { chunk_ids } = self.batcher.fail(batch, &error, now_ms) {
                    self.out.skipped.extend(chunk_ids);
                }
                (Status::Failed, 0, Some(error.to_string()))
            }
        };
        emitter.emit(EmbeddingBatchCompleted {
            batch_id,
            status,
            vectors,
            attempt,
            error,
        });
    }

    /// Closed, and nothing waiting, retrying or in flight.
    pub fn is_done(&self) -> bool {
        self.batcher.is_done()
    }

    /// Reports the end (`ok`, or `partial` with the chunks given up) and hands the vectors over.
    pub fn finish<S: EventSink, C: Clock>(mut self, emitter: &mut Emitter<S, C>) -> Embeddings {
        self.announce(emitter);
        self.out.skipped.sort();
        emitter.emit(EmbeddingCompleted {
            status: if self.out.skipped.is_empty() {
                Status::Ok
            } else {
                Status::Partial
            },
            vectors: self.out.vectors.len() as u64,
            skipped_chunks: self.out.skipped.clone(),
        });
        self.out
    }

    fn vector<S: EventSink, C: Clock>(
        &mut self,
        emitter: &mut Emitter<S, C>,
        chunk_id: String,
        batch_id: String,
        vector: Vec<f32>,
    ) {
        self.out.vectors.insert(chunk_id.clone(), vector.clone());
        emitter.emit(ChunkVector {
            chunk_id,
            batch_id,
            vector,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{TestEmbedder, DIMENSIONS};
    use crate::events::{Event, EventBody};

    struct NoClock;
    impl Clock for NoClock {
        fn now_ms(&self) -> u64 {
            0
        }
    }

    fn names(events: &[Event]) -> Vec<&'static str> {
        let mut names: Vec<&str> = events.iter().map(|e| e.body.name()).collect();
        names.dedup();
        names
    }

    #[test]
    fn every_chunk_gets_a_vector_and_the_events_tell_the_story() {
        let embedder = TestEmbedder::default();
        let mut emitter = Emitter::new("job", "trace", Vec::new(), NoClock);
        let mut stage = EmbedStage::new(BatchPolicy::default(), "m", DIMENSIONS);
        for i in 0..20 {
            // Chunks 10..20 repeat the texts of 0..10.
            stage.chunk(format!("c{i}"), format!("text {}", i % 10), 0, &mut emitter);
        }
        stage.close();
        let batch = stage.poll(0, &mut emitter).unwrap();
        assert_eq!(batch.texts.len(), 10, "duplicates are embedded once");
        let vectors = batch.texts.iter().map(|t| embedder.vector(t)).collect();
        stage.completed(batch, Ok(vectors), 0, &mut emitter);
        assert!(stage.is_done());
        let out = stage.finish(&mut emitter);
        assert_eq!(out.vectors.len(), 20);
        assert_eq!(out.vectors["c3"], out.vectors["c13"]);
        let events = emitter.into_sink();
        assert_eq!(
            names(&events),
            [
                "embedding.started.v1",
                "embedding.batch_started.v1",
                "embedding.chunk_vector.v1",
                "embedding.batch_completed.v1",
                "embedding.completed.v1"
            ]
        );
        let EventBody::EmbeddingCompleted(done) = &events.last().unwrap().body else {
            panic!("last event is embedding.completed")
        };
        assert_eq!((done.status, done.vectors), (Status::Ok, 20));
    }

    #[test]
    fn a_batch_given_up_ends_partial_with_its_chunks() {
        let mut emitter = Emitter::new("job", "trace", Vec::new(), NoClock);
        let policy = BatchPolicy {
            max_attempts: 1,
            ..BatchPolicy::default()
        };
        let mut stage = EmbedStage::new(policy, "m", DIMENSIONS);
        stage.chunk("a".into(), "x".into(), 0, &mut emitter);
        stage.chunk("b".into(), "x".into(), 0, &mut emitter);
        stage.close();
        let batch = stage.poll(0, &mut emitter).unwrap();
        let down = EmbedError::Unavailable {
            message: "503".into(),
            retry_after_ms: None,
        };
        stage.completed(batch, Err(down), 0, &mut emitter);
        let out = stage.finish(&mut emitter);
        assert_eq!(out.skipped, ["a", "b"]);
        let events = emitter.into_sink();
        let EventBody::EmbeddingCompleted(done) = &events.last().unwrap().body else {
            panic!("last event is embedding.completed")
        };
        assert_eq!(done.status, Status::Partial);
        assert_eq!(done.skipped_chunks, ["a", "b"]);
    }
}
