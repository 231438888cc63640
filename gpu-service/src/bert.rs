//! BERT's encoder for inference, on candle's tensors, reading the weights of Hugging Face's
//! `BertModel`. It computes what candle-transformers' BERT computes, with less work per layer:
//! one fused matmul for query, key and value; the 1/√d scale folded into the query weights
//! instead of a pass over the s×s scores; on a GPU, a padded batch with its mask built once; on
//! the CPU, the texts end to end with no padding at all, and the linear layers, attention, the
//! residual layer norms and the GELU as fused multi-threaded kernels (see `cpu_ops.rs`). No
//! dropout, no token types beyond the first (sentence embeddings use one segment).

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::cpu_ops::{Affine, Attention, ResidualNorm};

/// The fields of config.json this encoder reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub hidden_act: String,
}

#[derive(Debug)]
struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

#[derive(Debug)]
pub struct Bert {
    words: Embedding,
    positions: Tensor,
    segment: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

impl Bert {
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        if config.hidden_act != "gelu" {
            candle_core::bail!(
                "hidden_act {:?} is not supported (only BERT's erf GELU)",
                config.hidden_act
            );
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = config.hidden_size;
        let e = vb.pp("embeddings");
        let words = embedding(config.vocab_size, h, e.pp("word_embeddings"))?;
        let positions = e.get(
            (config.max_position_embeddings, h),
            "position_embeddings.weight",
        )?;
        let segment = e
            .get((config.type_vocab_size, h), "token_type_embeddings.weight")?
            .get(0)?;
        let embedding_norm = layer_norm(h, config.layer_norm_eps, e.pp("LayerNorm"))?;
        let heads = config.num_attention_heads;
        let head_size = h / heads;
        let scale = 1.0 / (head_size as f64).sqrt();
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention.self");
                let (qw, qb) = (a.get((h, h), "query.weight")?, a.get(h, "query.bias")?);
                let (kw, kb) = (a.get((h, h), "key.weight")?, a.get(h, "key.bias")?);
                let (vw, vb_) = (a.get((h, h), "value.weight")?, a.get(h, "value.bias")?);
                let weight = Tensor::cat(&[(qw * scale)?, kw, vw], 0)?;
                let bias = Tensor::cat(&[(qb * scale)?, kb, vb_], 0)?;
                Ok(Layer {
                    qkv: Linear::new(weight, Some(bias)),
                    attention_out: linear(h, h, l.pp("attention.output.dense"))?,
                    attention_norm: layer_norm(
                        h,
                        config.layer_norm_eps,
                        l.pp("attention.output.LayerNorm"),
                    )?,
                    intermediate: linear(h, config.intermediate_size, l.pp("intermediate.dense"))?,
                    output: linear(config.intermediate_size, h, l.pp("output.dense"))?,
                    output_norm: layer_norm(h, config.layer_norm_eps, l.pp("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Bert {
            words,
            positions,
            segment,
            embedding_norm,
            layers,
            heads,
        })
    }

    /// The last hidden states `(batch, seq, hidden)` of `ids` `(batch, seq)`, where `mask`
    /// `(batch, seq)` is 1 for real tokens and 0 for padding: candle's ops (the CUDA path).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.narrow(0, 0, seq)?)?;
        // Padding gets a large negative score before the softmax: (batch, 1, 1, seq).
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((batch, 1, 1, seq))?;
        self.encode(&x, Rows::Padded(&bias))
    }

    /// The last hidden states `(tokens, hidden)` of texts laid end to end: `ids` `(tokens)`,
    /// each text's length in `lengths`. Each text attends to its own tokens only, so no padding
    /// is computed and every row depends on its own text alone, bit for bit, whatever else is in
    /// the batch. On the CPU, with the fused kernels of `cpu_ops.rs`.
    pub fn forward_ragged(&self, ids: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let tokens = ids.dims1()?;
        if lengths.contains(&0) || lengths.iter().sum::<usize>() != tokens {
            candle_core::bail!("{tokens} token ids are not texts of lengths {lengths:?}");
        }
        let positions: Vec<u32> = lengths.iter().flat_map(|&n| 0..n as u32).collect();
        let positions = Tensor::from_vec(positions, tokens, ids.device())?;
        let x = (self.words.forward(ids)? + self.positions.index_select(&positions, 0)?)?;
        self.encode(&x, Rows::Ragged(lengths))
    }

    /// The encoder from the word and position embeddings `x`.
    fn encode(&self, x: &Tensor, rows: Rows) -> Result<Tensor> {
        let mut x = self
            .embedding_norm
            .forward(&x.broadcast_add(&self.segment)?)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &rows)?;
        }
        Ok(x)
    }

    fn layer(&self, layer: &Layer, x: &Tensor, rows: &Rows) -> Result<Tensor> {
        let fused = matches!(rows, Rows::Ragged(_));
        let qkv = project(&layer.qkv, x, fused, false)?;
        let context = match *rows {
            Rows::Ragged(lengths) => qkv.apply_op1_no_bwd(&Attention {
                heads: self.heads,
                lengths,
            })?,
            Rows::Padded(bias) => attention_by_ops(&qkv, bias, self.heads)?,
        };
        let attended = residual_norm(
            &layer.attention_norm,
            project(&layer.attention_out, &context, fused, false)?,
            x,
            fused,
        )?;
        let inner = project(&layer.intermediate, &attended, fused, true)?;
        residual_norm(
            &layer.output_norm,
            project(&layer.output, &inner, fused, false)?,
            &attended,
            fused,
        )
    }
}

/// How a batch's texts lie in the hidden states.
enum Rows<'a> {
    /// `(batch, seq, hidden)`, each text followed by padding, which this bias
    /// `(batch, 1, 1, seq)` masks in the softmax.
    Padded(&'a Tensor),
    /// `(tokens, hidden)`: the texts end to end, of these lengths.
    Ragged(&'a [usize]),
}

/// `layer(x)`, then BERT's GELU where `gelu`; `fused` as one [`Affine`] op on the CPU (a
/// contiguous `x`; every layer has a bias).
fn project(layer: &Linear, x: &Tensor, fused: bool, gelu: bool) -> Result<Tensor> {
    match (fused, layer.bias()) {
        (true, Some(bias)) => {
            x.contiguous()?
                .apply_op3_no_bwd(layer.weight(), bias, &Affine { gelu })
        }
        _ if gelu => layer.forward(x)?.gelu_erf(),
        _ => layer.forward(x),
    }
}

/// `norm(x + residual)`, `fused` as one [`ResidualNorm`] op on the CPU, in place in `x` (a
/// projection's output, which nothing else holds).
fn residual_norm(norm: &LayerNorm, x: Tensor, residual: &Tensor, fused: bool) -> Result<Tensor> {
    if fused {
        x.inplace_op2(residual, &ResidualNorm(norm))?;
        Ok(x)
    } else {
        norm.forward(&(x + residual)?)
    }
}

/// Attention with candle's ops (the CUDA path), from the fused projection `(batch, seq, 3 ·
/// heads · d)` and the padding bias `(batch, 1, 1, seq)`: `(batch, seq, heads · d)`.
pub(crate) fn attention_by_ops(qkv: &Tensor, bias: &Tensor, heads: usize) -> Result<Tensor> {
    let (batch, seq, width) = qkv.dims3()?;
    let d = width / (3 * heads);
    // (batch, seq, 3, heads, d) → three (batch, heads, seq, d)
    let qkv = qkv.reshape((batch, seq, 3, heads, d))?;
    let part = |i: usize| {
        qkv.narrow(2, i, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()
    };
    let (q, k, v) = (part(0)?, part(1)?, part(2)?);
    let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
    candle_nn::ops::softmax_last_dim(&scores)?
        .matmul(&v)?
        .transpose(1, 2)?
        .reshape((batch, seq, heads * d))
}
