//! Embeddings: the [`Embedder`] trait every backend implements (candle in-process, gpu-service
//! over HTTP, the edge's fetch client), the wire format of gpu-service, the client-side
//! batching policy, and a deterministic embedder for the tests of other stages.

pub mod batcher;
pub mod stage;
pub mod wire;

use std::future::Future;

use sha2::{Digest, Sha256};

/// The model every backend serves; vectors from different models never mix in one docpack.
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// all-MiniLM-L6-v2's output width.
pub const DIMENSIONS: usize = 384;
/// Inputs are truncated here: the model's `max_seq_length` (sentence_bert_config.json). The
/// position table has 512 rows, but the model was trained at 256 and degrades past it.
pub const MAX_TOKENS: usize = 256;

/// Why a batch was not embedded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedError {
    /// The input itself is wrong: retrying the same request cannot help.
    #[error("embedding request rejected: {0}")]
    Rejected(String),
    /// The backend is busy, down or unreachable: worth retrying, after `retry_after_ms` when
    /// the backend said so.
    #[error("embedding backend unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after_ms: Option<u64>,
    },
}

impl EmbedError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, EmbedError::Unavailable { .. })
    }

    /// The same error, its message prefixed with `what` failed (an endpoint, a backend).
    pub fn context(self, what: &str) -> Self {
        match self {
            EmbedError::Rejected(m) => EmbedError::Rejected(format!("{what}: {m}")),
            EmbedError::Unavailable {
                message,
                retry_after_ms,
            } => EmbedError::Unavailable {
                message: format!("{what}: {message}"),
                retry_after_ms,
            },
        }
    }
}

/// A batch of texts in, one L2-normalised vector per text out, in order.
///
/// Futures are not required to be `Send`: the edge's fetch futures are not, and hosts drive
/// several batches concurrently within one task.
pub trait Embedder {
    /// The model's id, recorded with the vectors.
    fn model(&self) -> &str;
    fn dimensions(&self) -> usize;
    fn embed(&self, texts: &[String]) -> impl Future<Output = Result<Vec<Vec<f32>>, EmbedError>>;
}

/// Scales `vector` to unit length (a zero vector stays zero).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The dot product, summed in eight fixed lanes: the compiler can vectorise it (a plain
/// `sum()` of floats must add in order), and the order is explicit, so every host gets the same
/// bits.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

/// Cosine similarity of two vectors of equal length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// A deterministic stand-in for the model, for unit tests of the stages after embedding only:
/// each text maps to a unit vector derived from its SHA-256, so equal texts get equal vectors
/// and different texts almost orthogonal ones. It knows nothing of meaning.
#[derive(Debug, Clone)]
pub struct TestEmbedder {
    pub dimensions: usize,
}

impl Default for TestEmbedder {
    fn default() -> Self {
        TestEmbedder {
            dimensions: DIMENSIONS,
        }
    }
}

impl TestEmbedder {
    pub fn vector(&self, text: &str) -> Vec<f32> {
        // Each block of the seed's hash chain gives 8 dimensions.
        let seed = Sha256::digest(text.as_bytes());
        let mut vector: Vec<f32> = (0..self.dimensions.div_ceil(8) as u64)
            .flat_map(|block| {
                let digest = Sha256::new()
                    .chain_update(seed)
                    .chain_update(block.to_le_bytes())
                    .finalize();
                (0..8).map(move |w| {
                    let word = u32::from_le_bytes([
                        digest[w * 4],
                        digest[w * 4 + 1],
                        digest[w * 4 + 2],
                        digest[w * 4 + 3],
                    ]);
                    (word as f32 / u32::MAX as f32) * 2.0 - 1.0
                })
            })
            .take(self.dimensions)
            .collect();
        normalize(&mut vector);
        vector
    }
}

impl Embedder for TestEmbedder {
    fn model(&self) -> &str {
        "doctown/test-embedder"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_embedder_is_deterministic_unit_length_and_separates_texts() {
        let e = TestEmbedder::default();
        let a = e.vector("fn a() {}");
        assert_eq!(a.len(), DIMENSIONS);
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(a, e.vector("fn a() {}"));
        assert!(cosine(&a, &e.vector("fn b() {}")).abs() < 0.3);
    }
}
