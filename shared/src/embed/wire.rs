//! gpu-service's batch endpoint (`POST /embed/batch`): the seed's input, `batch_id` and
//! `chunks: [{chunk_id, content}]`, and vectors returned by `chunk_id`, as f32 numbers or, when
//! asked, as little-endian f16 packed in base64 (a quarter of the bytes of JSON numbers).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::EmbedError;

/// The path of the batch endpoint.
pub const BATCH_PATH: &str = "/embed/batch";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub batch_id: String,
    pub chunks: Vec<BatchChunk>,
    #[serde(default)]
    pub encoding: VectorEncoding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchChunk {
    pub chunk_id: String,
    pub content: String,
}

impl BatchRequest {
    /// A request for `texts`, each chunk named by its position (what
    /// [`BatchResponse::into_ordered`] reads back).
    pub fn of_texts(batch_id: String, texts: &[String], encoding: VectorEncoding) -> Self {
        BatchRequest {
            batch_id,
            chunks: texts
                .iter()
                .enumerate()
                .map(|(i, t)| BatchChunk {
                    chunk_id: i.to_string(),
                    content: t.clone(),
                })
                .collect(),
            encoding,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorEncoding {
    #[default]
    F32,
    /// IEEE half precision, little-endian, base64 (standard alphabet, padded).
    F16Base64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub batch_id: String,
    pub model: String,
    pub dimensions: usize,
    pub encoding: VectorEncoding,
    /// Model tokens of the batch after truncation.
    pub tokens: u64,
    pub vectors: Vec<ChunkEmbedding>,
}

impl BatchResponse {
    /// The vectors of a request made by [`BatchRequest::of_texts`] for `count` texts, in order.
    pub fn into_ordered(self, count: usize, dimensions: usize) -> Result<Vec<Vec<f32>>, String> {
        let mut vectors = vec![None; count];
        for v in self.vectors {
            let slot = v.chunk_id.parse::<usize>().ok().filter(|i| *i < count);
            let Some(slot) = slot else {
                return Err(format!("reply names an unknown chunk {:?}", v.chunk_id));
            };
            vectors[slot] = Some(v.vector.decode(dimensions)?);
        }
        vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| format!("reply lacks the vector of chunk {i}")))
            .collect()
    }
}

/// What a host's HTTP client got back for a [`BatchRequest::of_texts`] of `count` texts: the
/// vectors in order, or the error (retryable or not, see [`EmbedError::from_response`]). Every
/// host's gpu-service client reads replies here; it only moves the bytes.
pub fn read_reply(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    count: usize,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    if !(200..300).contains(&status) {
        return Err(EmbedError::from_response(status, retry_after, body));
    }
    let unavailable = |message: String| EmbedError::Unavailable {
        message,
        retry_after_ms: None,
    };
    let reply: BatchResponse =
        serde_json::from_str(body).map_err(|e| unavailable(format!("unreadable reply: {e}")))?;
    reply
        .into_ordered(count, super::DIMENSIONS)
        .map_err(unavailable)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkEmbedding {
    pub chunk_id: String,
    pub vector: WireVector,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireVector {
    F32(Vec<f32>),
    F16Base64(String),
}

impl WireVector {
    pub fn encode(vector: &[f32], encoding: VectorEncoding) -> WireVector {
        match encoding {
            VectorEncoding::F32 => WireVector::F32(vector.to_vec()),
            VectorEncoding::F16Base64 => {
                let bytes: Vec<u8> = vector
                    .iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect();
                WireVector::F16Base64(STANDARD.encode(bytes))
            }
        }
    }

    /// The vector as f32, checking its width.
    pub fn decode(&self, dimensions: usize) -> Result<Vec<f32>, String> {
        let vector = match self {
            WireVector::F32(v) => v.clone(),
            WireVector::F16Base64(text) => {
                let bytes = STANDARD
                    .decode(text)
                    .map_err(|e| format!("vector is not valid base64: {e}"))?;
                if bytes.len() % 2 != 0 {
                    return Err("f16 vector has an odd number of bytes".into());
                }
                bytes
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect()
            }
        };
        if vector.len() != dimensions {
            return Err(format!(
                "vector has {} dimensions, expected {dimensions}",
                vector.len()
            ));
        }
        Ok(vector)
    }
}

/// An error body, as gpu-service sends with every 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    /// A stable machine-readable code (`empty_input`, `queue_full`, `unauthorized`, …).
    pub code: String,
}

impl EmbedError {
    /// What a failed HTTP reply from an embedding service means: 429 and 5xx are worth retrying
    /// (after `Retry-After` seconds when given), any other status rejects the request. The
    /// message is the service's [`ErrorBody`] when it sent one, else its body.
    pub fn from_response(status: u16, retry_after: Option<&str>, body: &str) -> Self {
        let detail = serde_json::from_str::<ErrorBody>(body).map_or(body.to_owned(), |e| e.error);
        let message = format!("HTTP {status}: {detail}");
        if status == 429 || (500..600).contains(&status) {
            EmbedError::Unavailable {
                message,
                retry_after_ms: retry_after
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| s * 1000),
            }
        } else {
            EmbedError::Rejected(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trip_keeps_three_decimals_and_cuts_bytes() {
        let v: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let packed = WireVector::encode(&v, VectorEncoding::F16Base64);
        let back = packed.decode(384).unwrap();
        assert!(v.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-3));
        let plain = serde_json::to_string(&WireVector::encode(&v, VectorEncoding::F32)).unwrap();
        let small = serde_json::to_string(&packed).unwrap();
        assert!(
            small.len() * 3 < plain.len(),
            "{} vs {}",
            small.len(),
            plain.len()
        );
        assert!(packed.decode(383).is_err());
    }

    #[test]
    fn replies_come_back_in_request_order() {
        let texts = vec!["a".to_string(), "b".to_string()];
        let request = BatchRequest::of_texts("b1".into(), &texts, VectorEncoding::F32);
        let reply = BatchResponse {
            batch_id: request.batch_id,
            model: "m".into(),
            dimensions: 2,
            encoding: VectorEncoding::F32,
            tokens: 4,
            vectors: request
                .chunks
                .iter()
                .rev()
                .map(|c| ChunkEmbedding {
                    chunk_id: c.chunk_id.clone(),
                    vector: WireVector::F32(vec![c.chunk_id.parse::<f32>().unwrap(); 2]),
                })
                .collect(),
        };
        assert_eq!(
            reply.clone().into_ordered(2, 2).unwrap(),
            [[0.0, 0.0], [1.0, 1.0]]
        );
        assert!(reply
            .clone()
            .into_ordered(3, 2)
            .unwrap_err()
            .contains("chunk 2"));
        assert!(reply
            .into_ordered(1, 2)
            .unwrap_err()
            .contains("unknown chunk"));
    }

    #[test]
    fn statuses_say_whether_to_retry() {
        let busy =
            EmbedError::from_response(503, Some("7"), r#"{"error":"full","code":"queue_full"}"#);
        assert_eq!(
            busy,
            EmbedError::Unavailable {
                message: "HTTP 503: full".into(),
                retry_after_ms: Some(7000)
            }
        );
        assert!(EmbedError::from_response(429, None, "slow down").is_retryable());
        assert_eq!(
            EmbedError::from_response(400, None, "bad"),
            EmbedError::Rejected("HTTP 400: bad".into())
        );
    }

    #[test]
    fn request_defaults_to_f32() {
        let r: BatchRequest =
            serde_json::from_str(r#"{"batch_id":"b","chunks":[{"chunk_id":"c","content":"x"}]}"#)
                .unwrap();
        assert_eq!(r.encoding, VectorEncoding::F32);
    }
}
