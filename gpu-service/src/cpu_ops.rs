//! The encoder's linear layers, attention, residual layer norms and GELU as fused,
//! multi-threaded CPU kernels. candle runs unary and broadcast binary ops on one thread and
//! materialises every op's output: on a 2-core machine the erf GELU over the `(tokens, 1536)`
//! activations, and the attention scores written, soft-maxed and read back, cost as much as the
//! matmuls. The arithmetic is candle's up to rounding (max, `exp`, sum, the division by the sum
//! after the product with V instead of before; `gemm` for products; erf within 3·10⁻⁷; the
//! variance from centred values), and every value depends only on its own text, so a text's
//! vector does not depend on its batch. The CUDA path keeps candle's ops (see `bert.rs`).

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp3, InplaceOp2, Layout, Result, Shape};
use candle_nn::LayerNorm;
use rayon::prelude::*;

/// Elements per task of the GELU and the layer norms: enough to amortise rayon's scheduling.
const TASK_ELEMENTS: usize = 16 * 1024;

/// erf by Abramowitz and Stegun's 7.1.28: `1 − (1 + a₁x + … + a₆x⁶)⁻¹⁶`, odd; within 3·10⁻⁷ of
/// erf everywhere (a few f32 ulps of GELU's output), with no branch and no call, so a loop of
/// it is vectorised, where libm's `erff` is a call per value.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const A: [f32; 6] = [
        0.070_523_08,
        0.042_282_01,
        0.009_270_527,
        0.000_152_014_3,
        0.000_276_567_2,
        0.000_043_063_8,
    ];
    let t = x.abs();
    let p = 1.0 + t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * (A[4] + t * A[5])))));
    let mut r = 1.0 / p;
    r *= r;
    r *= r;
    r *= r;
    r *= r;
    (1.0 - r).copysign(x)
}

/// `eˣ` for `x ≤ 0` (a softmax's shifted scores) as `2ⁿ · eʳ`: `n` the nearest integer to
/// `x·log₂e`, `r = x − n·ln 2` (ln 2 in two parts, Cody and Waite's, so `r` stays exact) and `eʳ`
/// (|r| ≤ ½ln 2) by its Taylor series to the 7th power: within a few ulps, with no branch and no
/// call, so the loop is vectorised. Below 2⁻¹²⁶ (scores far under the row's maximum) it gives about 2⁻¹²⁶, which
/// adds nothing to a sum of at least 1.
#[inline(always)]
fn exp(x: f32) -> f32 {
    /// Adding and subtracting 1.5·2²³ rounds an f32 of magnitude below 2²² to an integer.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = larger(x, -87.0);
    // `rounded` holds n in the low bits of its mantissa: its bits less ROUND's are n.
    let rounded = x * std::f32::consts::LOG2_E + ROUND;
    let n = rounded - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.0
        + r * (1.0
            + r * (1.0 / 2.0
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2ⁿ by its exponent bits, in integer operations that vectorise (`n as i32` is a
    // saturating conversion, a branchy scalar one per value).
    let n_bits = rounded.to_bits().wrapping_sub(ROUND.to_bits());
    f32::from_bits(n_bits.wrapping_add(127) << 23) * p
}

/// BERT's GELU, `x · (1 + erf(x / √2)) / 2`, in place.
#[inline(always)]
fn gelu(values: &mut [f32]) {
    for x in values {
        *x = (erf(*x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * *x;
    }
}

/// Partial results kept side by side in the reductions (a softmax's maximum and sum, a layer
/// norm's mean and variance): one running value is a chain of dependent operations (~4 cycles
/// each, 1,000 per row of 256), eight are a vector.
const LANES: usize = 8;

/// `a` or `b`, whichever is larger: one vector instruction, where `f32::max` adds two to honour
/// NaN (which scores never are).
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// Each row of `scores` (rows as long as `sums`) as the numerators of its softmax (see
/// [`exponentiate`]), and the row's sum in `sums`.
#[inline(always)]
fn exponentiate_rows(scores: &mut [f32], sums: &mut [f32]) {
    for (row, sum) in scores.chunks_mut(sums.len()).zip(sums) {
        *sum = exponentiate(row);
    }
}

/// `row = exp(row − max)`, the numerators of `softmax(row)`, and their sum. The division by the
/// sum is left to the caller, who divides the `d` values of a context row instead of the `seq`
/// probabilities. Each pass is a plain loop over the row, which the compiler vectorises; one
/// loop doing it all is vectorised piecemeal and runs 3× slower.
#[inline(always)]
fn exponentiate(row: &mut [f32]) -> f32 {
    let max = in_lanes(row, f32::NEG_INFINITY, larger, larger);
    for s in row.iter_mut() {
        *s = exp(*s - max);
    }
    in_lanes(row, 0.0, add, add)
}

/// `values` folded with `step`, value `i` into lane `i % LANES`, then the lanes with `merge`.
#[inline(always)]
fn in_lanes(
    values: &[f32],
    start: f32,
    step: impl Fn(f32, f32) -> f32,
    merge: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut lanes = [start; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane = step(*lane, value);
        }
    }
    for (lane, &value) in lanes.iter_mut().zip(chunks.remainder()) {
        *lane = step(*lane, value);
    }
    lanes.into_iter().fold(start, merge)
}

#[inline(always)]
fn add(a: f32, b: f32) -> f32 {
    a + b
}

/// `x = LayerNorm(x + residual)` row by row (rows as long as `scale`): the sum, its mean, the
/// variance of the centred values (two passes, as torch computes it, rather than candle's
/// `E[x²] − mean²`), then scale and shift.
#[inline(always)]
fn residual_norm(x: &mut [f32], residual: &[f32], scale: &[f32], shift: &[f32], eps: f32) {
    let width = scale.len();
    for (out, residual) in x.chunks_mut(width).zip(residual.chunks(width)) {
        for (o, &r) in out.iter_mut().zip(residual) {
            *o += r;
        }
        let mean = in_lanes(out, 0.0, add, add) / width as f32;
        for o in out.iter_mut() {
            *o -= mean;
        }
        let variance = in_lanes(out, 0.0, |sum, v| sum + v * v, add) / width as f32;
        let inverse = 1.0 / (variance + eps).sqrt();
        for ((o, &scale), &shift) in out.iter_mut().zip(scale).zip(shift) {
            *o = *o * inverse * scale + shift;
        }
    }
}

/// Defines `$name`, which runs the `#[inline(always)]` kernel `$kernel` compiled for the widest
/// vectors the CPU has: AVX-512 (16 lanes) or AVX2 (8), else SSE2's 4. The kernel is inlined
/// into each build whatever its size, where a closure handed to a dispatcher is left a call to
/// SSE2 code once it is large. Rust never fuses a multiply and an add on its own, and the
/// reductions keep [`LANES`] partial results whatever the width, so every build computes the
/// same bits.
macro_rules! with_wide_vectors {
    (fn $name:ident($($arg:ident: $ty:ty),*) = $kernel:ident) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                with_wide_vectors!(@where "avx512f", $kernel($($arg: $ty),*));
                with_wide_vectors!(@where "avx2", $kernel($($arg: $ty),*));
            }
            $kernel($($arg),*)
        }
    };
    // Returns from the dispatcher with the kernel compiled for `$feature` where the CPU has it.
    (@where $feature:tt, $kernel:ident($($arg:ident: $ty:ty),*)) => {
        if std::arch::is_x86_feature_detected!($feature) {
            #[target_feature(enable = $feature)]
            fn build($($arg: $ty),*) {
                $kernel($($arg),*)
            }
            // SAFETY: the CPU has `$feature`, the only feature `build` is compiled for.
            #[allow(unsafe_code)]
            unsafe {
                build($($arg),*)
            };
            return;
        }
    };
}

with_wide_vectors!(fn gelu_wide(values: &mut [f32]) = gelu);
with_wide_vectors!(fn residual_norm_wide(
    x: &mut [f32], residual: &[f32], scale: &[f32], shift: &[f32], eps: f32
) = residual_norm);
with_wide_vectors!(fn exponentiate_rows_wide(scores: &mut [f32], sums: &mut [f32]) = exponentiate_rows);

/// BERT's residual add and layer norm, `x = LayerNorm(x + residual)` over the last dimension,
/// in place and multi-threaded: candle adds on one thread into a third tensor, then normalises
/// it into a fourth.
#[derive(Debug, Clone, Copy)]
pub struct ResidualNorm<'a>(pub &'a LayerNorm);

impl InplaceOp2 for ResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "fused-residual-layer-norm"
    }

    fn cpu_fwd(
        &self,
        x: &mut CpuStorage,
        x_layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> Result<()> {
        let scale = self.0.weight().to_vec1::<f32>()?;
        let Some(shift) = self.0.bias() else {
            bail!("residual norm: a layer norm without a bias");
        };
        let shift = shift.to_vec1::<f32>()?;
        let width = scale.len();
        if x_layout.shape() != residual_layout.shape()
            || x_layout.shape().dims().last() != Some(&width)
        {
            bail!(
                "residual norm: {:?} + {:?} over rows of {width}",
                x_layout.shape(),
                residual_layout.shape()
            );
        }
        let residual = f32_contiguous(residual, residual_layout)?;
        let x = f32_contiguous_mut(x, x_layout)?;
        let eps = self.0.eps() as f32;
        let task = (TASK_ELEMENTS / width).max(1) * width;
        x.par_chunks_mut(task)
            .zip(residual.par_chunks(task))
            .for_each(|(x, residual)| residual_norm_wide(x, residual, &scale, &shift, eps));
        Ok(())
    }
}

/// A linear layer, `x · Wᵀ + b` for `x` `(…, k)`, `W` `(n, k)` and `b` `(n)`, as one
/// multi-threaded gemm into a destination that starts as the bias rows, then BERT's GELU on it
/// in place where asked. candle's `Linear` zeroes a destination for the product, then reads it
/// back and writes a third tensor to add the bias, and its GELU runs on one thread into a fourth:
/// more passes over activations of up to 50 MB, which measured 10–25% of a layer's products.
#[derive(Debug, Clone, Copy)]
pub struct Affine {
    pub gelu: bool,
}

impl CustomOp3 for Affine {
    fn name(&self) -> &'static str {
        "fused-affine"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, weight, bias) = (
            f32_contiguous(x, x_layout)?,
            f32_contiguous(weight, weight_layout)?,
            f32_contiguous(bias, bias_layout)?,
        );
        let (n, k) = weight_layout.shape().dims2()?;
        let dims = x_layout.shape().dims();
        if dims.last() != Some(&k) || bias.len() != n {
            bail!(
                "affine: {:?} · ({n}, {k})ᵀ + ({}) does not fit",
                x_layout.shape(),
                bias.len()
            );
        }
        let m = x.len() / k;
        // The bias rows, written straight into new memory: `vec![0; …]` would zero it first, a
        // pass over up to 50 MB for nothing.
        let mut out = Vec::with_capacity(m * n);
        out.spare_capacity_mut()[..m * n]
            .par_chunks_mut(n)
            .for_each(|row| {
                row.write_copy_of_slice(bias);
            });
        // SAFETY: each of the m × n values was written just above.
        #[allow(unsafe_code)]
        unsafe {
            out.set_len(m * n)
        };
        // out (m × n) += x (m × k) · Wᵀ (k × n: W's column stride k, row stride 1)
        let (k_i, threads) = (k as isize, rayon::current_num_threads());
        product(
            &mut out,
            m,
            n,
            k,
            (x, 1, k_i),
            (weight, k_i, 1),
            true,
            gemm::Parallelism::Rayon(threads),
        );
        if self.gelu {
            out.par_chunks_mut(TASK_ELEMENTS).for_each(gelu_wide);
        }
        let mut shape = dims.to_vec();
        *shape.last_mut().expect("x has a last dimension of k") = n;
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

/// Multi-head self-attention straight from the fused query/key/value projection `(tokens, 3 ·
/// heads · d)` of texts laid end to end: for each text and head, `softmax(Q·Kᵀ)·V` over the
/// text's own tokens in one task, its `seq × seq` scores in a buffer that stays in cache,
/// written as `(tokens, heads · d)`. candle's ops (the CUDA path's `attention_by_ops`) copy Q,
/// K and V out of a padded batch, write all the scores to memory (150 MB a layer for 48 texts
/// of 256 tokens), mask the padding on one thread and copy the context back. The query weights
/// carry the 1/√d scale already.
#[derive(Debug)]
pub struct Attention<'a> {
    pub heads: usize,
    /// The texts' lengths, in the order of the rows.
    pub lengths: &'a [usize],
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "fused-self-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (tokens, width) = layout.shape().dims2()?;
        let heads = self.heads;
        let d = width / (3 * heads);
        if width != 3 * heads * d || self.lengths.iter().sum::<usize>() != tokens {
            bail!(
                "attention: {:?} is not (tokens, 3 × {heads} heads × d) for texts of {:?}",
                layout.shape(),
                self.lengths
            );
        }
        let qkv = f32_contiguous(storage, layout)?;
        let hidden = heads * d;
        let starts: Vec<usize> = self
            .lengths
            .iter()
            .scan(0, |at, &n| {
                *at += n;
                Some(*at - n)
            })
            .collect();
        let longest = self.lengths.iter().copied().max().unwrap_or(0);
        let width_i = width as isize;
        // Per text and head, its context (seq × d).
        let contexts: Vec<Vec<f32>> = (0..self.lengths.len() * heads)
            .into_par_iter()
            .map_init(
                || (vec![0f32; longest * longest], vec![0f32; longest]),
                |(scores, sums), task| {
                    let (text, head) = (task / heads, task % heads);
                    let (start, seq) = (starts[text], self.lengths[text]);
                    let (scores, sums) = (&mut scores[..seq * seq], &mut sums[..seq]);
                    let rows = &qkv[start * width..(start + seq) * width];
                    let (q, k, v) = (
                        &rows[head * d..],
                        &rows[hidden + head * d..],
                        &rows[2 * hidden + head * d..],
                    );
                    // scores (seq × seq) = Q (seq × d) · Kᵀ (d × seq)
                    product(
                        scores,
                        seq,
                        seq,
                        d,
                        (q, 1, width_i),
                        (k, width_i, 1),
                        false,
                        gemm::Parallelism::None,
                    );
                    exponentiate_rows_wide(scores, sums);
                    // context (seq × d) = softmax · V: the numerators' product, each row divided
                    // by its sum.
                    let mut context = vec![0f32; seq * d];
                    product(
                        &mut context,
                        seq,
                        d,
                        seq,
                        (scores, 1, seq as isize),
                        (v, 1, width_i),
                        false,
                        gemm::Parallelism::None,
                    );
                    for (values, sum) in context.chunks_mut(d).zip(sums.iter()) {
                        for value in values {
                            *value /= sum;
                        }
                    }
                    context
                },
            )
            .collect();
        // (text, head, t, i) → (start of text + t, head · d + i)
        let mut out = vec![0f32; tokens * hidden];
        for (task, context) in contexts.iter().enumerate() {
            let (text, head) = (task / heads, task % heads);
            for (t, values) in context.chunks(d).enumerate() {
                let at = (starts[text] + t) * hidden + head * d;
                out[at..at + d].copy_from_slice(values);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((tokens, hidden))))
    }
}

/// `dst (m × n, row-major) = lhs (m × k) · rhs (k × n)`, plus what `dst` held where
/// `accumulate`, where a matrix is its values with their column and row strides.
#[allow(unsafe_code, clippy::too_many_arguments)]
fn product(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    (lhs, lhs_cs, lhs_rs): (&[f32], isize, isize),
    (rhs, rhs_cs, rhs_rs): (&[f32], isize, isize),
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let last = |rows: usize, cols: usize, cs: isize, rs: isize| {
        (rows - 1) as isize * rs + (cols - 1) as isize * cs
    };
    assert!(dst.len() >= m * n);
    assert!(last(m, k, lhs_cs, lhs_rs) < lhs.len() as isize);
    assert!(last(k, n, rhs_cs, rhs_rs) < rhs.len() as isize);
    // SAFETY: the asserts keep every element gemm reads or writes inside its slice (strides
    // are positive), and `dst` is borrowed mutably, apart from `lhs` and `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The f32 values of a contiguous tensor, to write in place.
fn f32_contiguous_mut<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> Result<&'a mut [f32]> {
    let dtype = storage.dtype();
    let CpuStorage::F32(values) = storage else {
        bail!("expected f32 values, got {dtype:?}");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&mut values[start..end]),
        None => bail!("expected a contiguous tensor"),
    }
}

/// The f32 values of a contiguous tensor.
fn f32_contiguous<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        bail!("expected f32 values, got {:?}", storage.dtype());
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&values[start..end]),
        None => bail!("expected a contiguous tensor"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Module, Tensor};

    #[test]
    fn fused_ops_compute_what_candle_computes() -> Result<()> {
        let device = Device::Cpu;
        let x = Tensor::randn(0f32, 2.0, (3, 5, 40), &device)?;
        for x in [0.0f32, -1e-6, -0.3, -0.5, -0.69, -1.0, -7.5, -40.0, -87.0] {
            let relative = (exp(x) - x.exp()).abs() / x.exp();
            assert!(relative < 1e-6, "exp({x}) = {} ≠ {}", exp(x), x.exp());
        }
        assert!(exp(-1e9) < 1e-37);
        assert!(exp(-1e9) > 0.0);
        for x in [-1e30f32, -9.0, -0.97, -1e-3, 0.0, 1e-3, 0.5, 3.0, 1e30] {
            let exact = candle_core::cpu::erf::erf_f32(x);
            assert!(
                (erf(x) - exact).abs() < 5e-7,
                "erf({x}) = {} ≠ {exact}",
                erf(x)
            );
        }

        // The residual add and layer norm, against candle's, and shapes that do not fit.
        let residual = Tensor::randn(0f32, 3.0, (3, 5, 40), &device)?;
        let norm = LayerNorm::new(
            Tensor::randn(1f32, 0.2, 40, &device)?,
            Tensor::randn(0f32, 0.2, 40, &device)?,
            1e-12,
        );
        let fused = x.copy()?;
        fused.inplace_op2(&residual, &ResidualNorm(&norm))?;
        let plain = norm.forward(&(&x + &residual)?)?;
        let diff = (fused - plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{diff}");
        let other = Tensor::randn(0f32, 1.0, (3, 5, 41), &device)?;
        assert!(other.inplace_op2(&other, &ResidualNorm(&norm)).is_err());

        // A linear layer on (batch, seq, k) and on (rows, k), with and without the GELU, and a
        // weight that does not fit.
        let (weight, bias) = (
            Tensor::randn(0f32, 1.0, (7, 40), &device)?,
            Tensor::randn(0f32, 1.0, 7, &device)?,
        );
        let linear = candle_nn::Linear::new(weight.clone(), Some(bias.clone()));
        for x in [x.clone(), x.reshape((15, 40))?] {
            for gelu in [false, true] {
                let fused = x.apply_op3_no_bwd(&weight, &bias, &Affine { gelu })?;
                let plain = linear.forward(&x)?;
                let plain = if gelu { plain.gelu_erf()? } else { plain };
                assert_eq!(fused.dims(), plain.dims());
                let diff = (fused - plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
                assert!(diff < 1e-4, "{diff}");
            }
        }
        assert!(x
            .apply_op3_no_bwd(&weight.t()?.contiguous()?, &bias, &Affine { gelu: false })
            .is_err());

        // Texts of 4 tokens (all in the softmax's tail lanes), 19 (whole lanes and a tail) and
        // 8 (whole lanes) end to end, 3 heads of 4 dimensions: each text's rows as candle's ops
        // compute them for the text alone.
        let (lengths, heads, d) = ([4, 19, 8], 3, 4);
        let qkv = Tensor::randn(0f32, 1.0, (31, 3 * heads * d), &device)?;
        let fused = qkv.apply_op1_no_bwd(&Attention {
            heads,
            lengths: &lengths,
        })?;
        let mut start = 0;
        for seq in lengths {
            let alone = qkv.narrow(0, start, seq)?.unsqueeze(0)?;
            let no_mask = Tensor::zeros((1, 1, 1, seq), DType::F32, &device)?;
            let plain = crate::bert::attention_by_ops(&alone, &no_mask, heads)?.squeeze(0)?;
            let diff = (fused.narrow(0, start, seq)? - plain)?
                .abs()?
                .max_all()?
                .to_scalar::<f32>()?;
            assert!(diff < 1e-5, "a text of {seq} tokens: {diff}");
            start += seq;
        }
        assert!(qkv
            .apply_op1_no_bwd(&Attention {
                heads,
                lengths: &[4, 19],
            })
            .is_err());
        Ok(())
    }

    /// The kernels compiled for AVX-512 or AVX2 (whichever this CPU has) give the bits of the
    /// baseline build, so a vector does not depend on which of them a machine runs. Lengths
    /// leave tails beyond whole vectors of 16 and of 8.
    #[test]
    fn every_vector_width_computes_the_same_bits() -> Result<()> {
        let device = candle_core::Device::Cpu;
        let values = |n: usize, std: f32| -> Result<Vec<f32>> {
            Tensor::randn(0f32, std, n, &device)?.to_vec1::<f32>()
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();

        let input = values(1000, 3.0)?;
        let (mut narrow, mut wide) = (input.clone(), input);
        gelu(&mut narrow);
        gelu_wide(&mut wide);
        assert_eq!(bits(&narrow), bits(&wide));

        let scores = values(37 * 37, 4.0)?;
        let (mut narrow, mut wide) = (scores.clone(), scores);
        let (mut narrow_sums, mut wide_sums) = (vec![0f32; 37], vec![0f32; 37]);
        exponentiate_rows(&mut narrow, &mut narrow_sums);
        exponentiate_rows_wide(&mut wide, &mut wide_sums);
        assert_eq!(bits(&narrow), bits(&wide));
        assert_eq!(bits(&narrow_sums), bits(&wide_sums));

        let (a, b, scale, shift) = (
            values(3 * 45, 2.0)?,
            values(3 * 45, 2.0)?,
            values(45, 1.0)?,
            values(45, 1.0)?,
        );
        let (mut narrow, mut wide) = (a.clone(), a);
        residual_norm(&mut narrow, &b, &scale, &shift, 1e-12);
        residual_norm_wide(&mut wide, &b, &scale, &shift, 1e-12);
        assert_eq!(bits(&narrow), bits(&wide));
        Ok(())
    }
}
