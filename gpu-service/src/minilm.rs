//! all-MiniLM-L6-v2 with candle: BERT ([`crate::bert`]), the `tokenizers` crate, mean
//! pooling over the attention mask and L2 normalisation, as sentence-transformers computes it.

use std::path::Path;

use crate::bert::{Bert, Config};
use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use doctown_core::embed::MAX_TOKENS;
use tokenizers::{
    PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

/// Text to token ids, truncated at [`MAX_TOKENS`] (special tokens included), never padded.
///
/// The shipped tokenizer.json pads to a fixed 128 and truncates at 128: used as is, code chunks
/// would be cut at half the model's length and embed differently. Both are overridden here.
#[derive(Debug, Clone)]
pub struct Encoder {
    tokenizer: Tokenizer,
}

impl Encoder {
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer truncation: {e}"))?;
        tokenizer.with_padding(None::<PaddingParams>);
        Ok(Encoder { tokenizer })
    }

    /// Token ids per text, and whether the text was cut at [`MAX_TOKENS`].
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        Ok(encodings
            .into_iter()
            .map(|e| Encoded {
                truncated: !e.get_overflowing().is_empty(),
                ids: e.get_ids().to_vec(),
            })
            .collect())
    }
}

/// One text's token ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub truncated: bool,
}

/// The BERT encoder and its pooling.
pub struct MiniLm {
    model: Bert,
    device: Device,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("device", &self.device)
            .finish()
    }
}

impl MiniLm {
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_slice(
            &std::fs::read(&config_path).with_context(|| config_path.display().to_string())?,
        )
        .with_context(|| format!("{}: not a BERT config", config_path.display()))?;
        let weights_path = dir.join("model.safetensors");
        // Read, not memory-mapped: mapping is unsafe (the file could change under us) and the
        // weights are 90 MB.
        let weights =
            std::fs::read(&weights_path).with_context(|| weights_path.display().to_string())?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .with_context(|| format!("{}: not safetensors", weights_path.display()))?;
        let model = Bert::load(vb, &config).with_context(|| {
            format!("{}: not all-MiniLM-L6-v2's weights", weights_path.display())
        })?;
        Ok(MiniLm { model, device })
    }

    /// The mean of each text's token states over its tokens (token ids per text, each at most
    /// [`MAX_TOKENS`]), in order. Callers normalise (TEI's endpoint may ask for the raw mean).
    ///
    /// On the CPU the texts run end to end with no padding ([`Bert::forward_ragged`]), so a
    /// text's vector is a function of the text alone, bit for bit, whatever batch it rides in,
    /// and docpacks are reproducible. On a GPU the batch is padded to its longest text.
    pub fn embed_tokens(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if !self.device.is_cpu() {
            return self.forward_padded(batch);
        }
        let lengths: Vec<usize> = batch.iter().map(|t| t.len()).collect();
        let ids = Tensor::from_vec(batch.concat(), lengths.iter().sum::<usize>(), &self.device)?;
        let hidden = self.model.forward_ragged(&ids, &lengths)?;
        let width = hidden.dim(1)?;
        let hidden = hidden.flatten_all()?.to_vec1::<f32>()?;
        let mut rows = hidden.chunks_exact(width);
        Ok(lengths
            .iter()
            .map(|&n| {
                let mut mean = vec![0f32; width];
                for row in rows.by_ref().take(n) {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                mean.iter_mut().for_each(|m| *m /= n as f32);
                mean
            })
            .collect())
    }

    /// One forward pass over `batch`, every text padded to the longest.
    fn forward_padded(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let length = batch.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch.len() * length);
        let mut mask = Vec::with_capacity(batch.len() * length);
        for tokens in batch {
            ids.extend_from_slice(tokens);
            ids.resize(ids.len() + length - tokens.len(), 0);
            mask.extend(std::iter::repeat_n(1u32, tokens.len()));
            mask.extend(std::iter::repeat_n(0u32, length - tokens.len()));
        }
        let shape = (batch.len(), length);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let hidden = self.model.forward(&ids, &mask)?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        Ok(summed.broadcast_div(&counts)?.to_vec2::<f32>()?)
    }
}

/// The device to run on: CUDA when built with it and a GPU answers, else the CPU (same results).
pub fn pick_device(prefer_gpu: bool) -> Device {
    if prefer_gpu && candle_core::utils::cuda_is_available() {
        match Device::new_cuda(0) {
            Ok(device) => return device,
            Err(err) => tracing::warn!("CUDA device unavailable, using the CPU: {err}"),
        }
    }
    Device::Cpu
}

/// A short name of a device for logs, headers and metrics.
pub fn device_name(device: &Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda",
        Device::Metal(_) => "metal",
    }
}
