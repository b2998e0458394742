//! LayerNorm and BatchNorm: forward in training and evaluation, backward, running
//! averages.
//!
//! With `x̂ = (x - μ) / σ`, `σ = sqrt(var + eps)` and `y = γ x̂ + β` over a group of `k`
//! values (a sample's features for LayerNorm, a feature's samples for BatchNorm), the
//! input gradient is `dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy · x̂))`, and the parameter
//! gradients are sums over the other axis: `dγ = Σ dy · x̂`, `dβ = Σ dy`. The forward pass
//! keeps `μ` and `1/σ` per group, not `x̂`: the backward pass recomputes `x̂` from its
//! input, which costs less than writing and reading it back.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::Real;
use crate::dense::{unit, unit_mut};

/// Features per task of BatchNorm, rows per task of LayerNorm.
const BLOCK: usize = 32;

/// What the backward pass and the running averages need from a forward pass, per group
/// (sample or feature), and the backward pass's own per-group scratch.
#[derive(Debug)]
pub(crate) struct Stats<T> {
    mean: Vec<T>,
    /// `1/σ`.
    inv_std: Vec<T>,
    /// BatchNorm: the batch's biased variance; evaluation: the shift per feature.
    var: Vec<T>,
    /// Evaluation: the scale per feature; backward: `γ/σ`.
    scale: Vec<T>,
    mean_dy: Vec<T>,
    mean_dyx: Vec<T>,
}

impl<T: Real> Stats<T> {
    pub(crate) fn new(groups: usize) -> Self {
        let zeros = || vec![T::zero(); groups];
        Self {
            mean: zeros(),
            inv_std: zeros(),
            var: zeros(),
            scale: zeros(),
            mean_dy: zeros(),
            mean_dyx: zeros(),
        }
    }
}

/// Independent partial sums in a row reduction: one chain of dependent additions would
/// wait on the adder's latency at every value, [`LANES`] chains fill its pipeline and its
/// vector registers. The lanes are combined in a fixed order, so a sum does not depend on
/// the thread count.
const LANES: usize = 8;

/// `Σ f(a_i, b_i, c_i)` over three equally long slices, in [`LANES`] interleaved partial
/// sums.
fn lane_sum<T: Real>(a: &[T], b: &[T], c: &[T], f: impl Fn(T, T, T) -> T) -> T {
    let mut lanes = [T::zero(); LANES];
    let (a_chunks, b_chunks, c_chunks) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let rest = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .zip(c_chunks.remainder());
    for ((a, b), c) in a_chunks.zip(b_chunks).zip(c_chunks) {
        for (((lane, &a), &b), &c) in lanes.iter_mut().zip(a).zip(b).zip(c) {
            *lane = *lane + f(a, b, c);
        }
    }
    for (lane, ((&a, &b), &c)) in lanes.iter_mut().zip(rest) {
        *lane = *lane + f(a, b, c);
    }
    lanes.iter().fold(T::zero(), |s, &l| s + l)
}

/// Mean and biased variance of `values`, two passes.
fn moments<T: Real>(values: &[T]) -> (T, T) {
    let k = T::of(values.len() as f64);
    let mean = lane_sum(values, values, values, |v, _, _| v) / k;
    let var = lane_sum(values, values, values, |v, _, _| (v - mean) * (v - mean)) / k;
    (mean, var)
}

pub(crate) fn layer_forward<T: Real>(
    x: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    bias: &[T],
    eps: f64,
    mut y: ArrayViewMut2<'_, T>,
) {
    let n = x.nrows();
    let eps = T::of(eps);
    y.axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), BLOCK))
        .zip(stats.mean[..n].par_chunks_mut(BLOCK))
        .zip(stats.inv_std[..n].par_chunks_mut(BLOCK))
        .with_max_len(1)
        .for_each(|(((mut y, x), mean), inv_std)| {
            for (((y, x), m), inv) in y
                .rows_mut()
                .into_iter()
                .zip(x.rows())
                .zip(mean)
                .zip(inv_std)
            {
                let x = unit(x);
                let var;
                (*m, var) = moments(x);
                *inv = T::one() / (var + eps).sqrt();
                let (m, inv) = (*m, *inv);
                for (((y, &x), &g), &b) in unit_mut(y).iter_mut().zip(x).zip(gain).zip(bias) {
                    *y = g * ((x - m) * inv) + b;
                }
            }
        });
}

pub(crate) fn layer_backward<T: Real>(
    x: ArrayView2<'_, T>,
    dy: ArrayView2<'_, T>,
    stats: &Stats<T>,
    gain: &[T],
    g_gain: &mut [T],
    g_bias: &mut [T],
    dx: Option<ArrayViewMut2<'_, T>>,
) {
    let n = dy.nrows();
    let (mean, inv_std) = (&stats.mean[..n], &stats.inv_std[..n]);
    // Sums over samples in sample order, per block of features: the same bits on any
    // thread count.
    g_gain
        .par_chunks_mut(BLOCK)
        .zip(g_bias.par_chunks_mut(BLOCK))
        .zip(dy.axis_chunks_iter(Axis(1), BLOCK))
        .zip(x.axis_chunks_iter(Axis(1), BLOCK))
        .with_max_len(1)
        .for_each(|(((gg, gb), dy), x)| {
            gg.fill(T::zero());
            gb.fill(T::zero());
            for (((dy, x), &m), &inv) in dy.rows().into_iter().zip(x.rows()).zip(mean).zip(inv_std)
            {
                let rows = gg.iter_mut().zip(gb.iter_mut());
                for (((gg, gb), &d), &x) in rows.zip(unit(dy)).zip(unit(x)) {
                    *gg = *gg + d * ((x - m) * inv);
                    *gb = *gb + d;
                }
            }
        });
    let Some(mut dx) = dx else { return };
    let k = T::of(dy.ncols() as f64);
    dx.axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(dy.axis_chunks_iter(Axis(0), BLOCK))
        .zip(x.axis_chunks_iter(Axis(0), BLOCK))
        .zip(mean.par_chunks(BLOCK).zip(inv_std.par_chunks(BLOCK)))
        .with_max_len(1)
        .for_each(|(((mut dx, dy), x), (mean, inv_std))| {
            let rows = dx.rows_mut().into_iter().zip(dy.rows()).zip(x.rows());
            for ((((dx, dy), x), &m), &inv) in rows.zip(mean).zip(inv_std) {
                let (dy, x) = (unit(dy), unit(x));
                let mean_g = lane_sum(dy, gain, gain, |d, g, _| d * g) / k;
                let mean_gx = lane_sum(dy, gain, x, |d, g, x| d * g * ((x - m) * inv)) / k;
                for (((dx, &d), &x), &g) in unit_mut(dx).iter_mut().zip(dy).zip(x).zip(gain) {
                    *dx = inv * (d * g - mean_g - ((x - m) * inv) * mean_gx);
                }
            }
        });
}

pub(crate) fn batch_forward<T: Real>(
    x: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    bias: &[T],
    eps: f64,
    mut y: ArrayViewMut2<'_, T>,
) {
    let n = x.nrows();
    let (k, eps) = (T::of(n as f64), T::of(eps));
    let Stats {
        mean,
        inv_std,
        var,
        scale,
        mean_dy: shift,
        ..
    } = stats;
    y.axis_chunks_iter_mut(Axis(1), BLOCK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(1), BLOCK))
        .zip(
            inv_std
                .par_chunks_mut(BLOCK)
                .zip(scale.par_chunks_mut(BLOCK)),
        )
        .zip(mean.par_chunks_mut(BLOCK).zip(var.par_chunks_mut(BLOCK)))
        .zip(shift.par_chunks_mut(BLOCK))
        .enumerate()
        .with_max_len(1)
        .for_each(
            |(block, ((((mut y, x), (inv_std, scale)), (mean, var)), shift))| {
                let features = block * BLOCK..block * BLOCK + mean.len();
                let (gain, bias) = (&gain[features.clone()], &bias[features]);
                // Row by row over the block's features: contiguous, and each feature's sums
                // still run over the samples in order.
                mean.fill(T::zero());
                for row in x.rows() {
                    for (m, &v) in mean.iter_mut().zip(unit(row)) {
                        *m = *m + v;
                    }
                }
                mean.iter_mut().for_each(|m| *m = *m / k);
                var.fill(T::zero());
                for row in x.rows() {
                    for ((s, &m), &v) in var.iter_mut().zip(&*mean).zip(unit(row)) {
                        *s = *s + (v - m) * (v - m);
                    }
                }
                for j in 0..mean.len() {
                    var[j] = var[j] / k;
                    inv_std[j] = T::one() / (var[j] + eps).sqrt();
                    scale[j] = gain[j] * inv_std[j];
                    shift[j] = bias[j] - mean[j] * scale[j];
                }
                for (y, x) in y.rows_mut().into_iter().zip(x.rows()) {
                    let columns = unit_mut(y).iter_mut().zip(unit(x));
                    for ((y, &x), (&a, &b)) in columns.zip(scale.iter().zip(&*shift)) {
                        *y = a * x + b;
                    }
                }
            },
        );
}

/// Evaluation: `y = γ (x - running mean) / sqrt(running var + eps) + β`, through a scale
/// and a shift per feature kept in `stats`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_eval<T: Real>(
    x: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    bias: &[T],
    running_mean: &[T],
    running_var: &[T],
    eps: f64,
    mut y: ArrayViewMut2<'_, T>,
) {
    let eps = T::of(eps);
    let (scale, shift) = (&mut stats.scale, &mut stats.mean_dy);
    for j in 0..gain.len() {
        scale[j] = gain[j] / (running_var[j] + eps).sqrt();
        shift[j] = bias[j] - running_mean[j] * scale[j];
    }
    let (scale, shift) = (&*scale, &*shift);
    y.axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), BLOCK))
        .with_max_len(1)
        .for_each(|(mut y, x)| {
            for (y, x) in y.rows_mut().into_iter().zip(x.rows()) {
                for (((y, &x), &a), &b) in unit_mut(y).iter_mut().zip(unit(x)).zip(scale).zip(shift)
                {
                    *y = a * x + b;
                }
            }
        });
}

pub(crate) fn batch_backward<T: Real>(
    x: ArrayView2<'_, T>,
    dy: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    g_gain: &mut [T],
    g_bias: &mut [T],
    dx: Option<ArrayViewMut2<'_, T>>,
) {
    let n = dy.nrows();
    let Stats {
        mean,
        inv_std,
        scale,
        mean_dy,
        mean_dyx,
        ..
    } = stats;
    let (mean, inv_std) = (&*mean, &*inv_std);
    // The sums over samples are the parameter gradients, and dx needs them.
    let sums =
        |start: usize, gg: &mut [T], gb: &mut [T], dy: ArrayView2<'_, T>, x: ArrayView2<'_, T>| {
            let (mean, inv_std) = (&mean[start..], &inv_std[start..]);
            gg.fill(T::zero());
            gb.fill(T::zero());
            for (dy, x) in dy.rows().into_iter().zip(x.rows()) {
                let columns = gg.iter_mut().zip(gb.iter_mut()).zip(unit(dy)).zip(unit(x));
                for ((((gg, gb), &d), &x), (&m, &inv)) in columns.zip(mean.iter().zip(inv_std)) {
                    *gg = *gg + d * ((x - m) * inv);
                    *gb = *gb + d;
                }
            }
        };
    let blocks = g_gain
        .par_chunks_mut(BLOCK)
        .zip(g_bias.par_chunks_mut(BLOCK))
        .zip(dy.axis_chunks_iter(Axis(1), BLOCK))
        .zip(x.axis_chunks_iter(Axis(1), BLOCK));
    let Some(mut dx) = dx else {
        blocks
            .enumerate()
            .with_max_len(1)
            .for_each(|(block, (((gg, gb), dy), x))| sums(block * BLOCK, gg, gb, dy, x));
        return;
    };
    let inv_k = T::one() / T::of(n as f64);
    blocks
        .zip(dx.axis_chunks_iter_mut(Axis(1), BLOCK))
        .zip(scale.par_chunks_mut(BLOCK))
        .zip(
            mean_dy
                .par_chunks_mut(BLOCK)
                .zip(mean_dyx.par_chunks_mut(BLOCK)),
        )
        .enumerate()
        .with_max_len(1)
        .for_each(
            |(block, ((((((gg, gb), dy), x), mut dx), scale), (mean_dy, mean_dyx)))| {
                let start = block * BLOCK;
                sums(start, gg, gb, dy, x);
                let (mean, inv_std) = (&mean[start..], &inv_std[start..]);
                // dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy · x̂)), per feature.
                for j in 0..scale.len() {
                    scale[j] = gain[start + j] * inv_std[j];
                    mean_dy[j] = gb[j] * inv_k;
                    mean_dyx[j] = gg[j] * inv_k;
                }
                for ((dx, dy), x) in dx.rows_mut().into_iter().zip(dy.rows()).zip(x.rows()) {
                    let columns = unit_mut(dx).iter_mut().zip(unit(dy)).zip(unit(x));
                    let per_feature = scale.iter().zip(&*mean_dy).zip(&*mean_dyx);
                    let normalizing = mean.iter().zip(inv_std);
                    for (((dx, &d), &x), (((&s, &md), &mdx), (&m, &inv))) in
                        columns.zip(per_feature.zip(normalizing))
                    {
                        *dx = s * (d - md - (x - m) * inv * mdx);
                    }
                }
            },
        );
}

/// `r ← (1 - momentum) r + momentum · batch`, the variance unbiased by `n / (n - 1)`
/// (left biased for a batch of one sample, whose variance is 0 either way).
pub(crate) fn update_running<T: Real>(
    stats: &Stats<T>,
    running_mean: &mut [T],
    running_var: &mut [T],
    momentum: f64,
    n: usize,
) {
    let unbias = if n > 1 {
        n as f64 / (n - 1) as f64
    } else {
        1.0
    };
    let (keep, take, unbias) = (T::of(1.0 - momentum), T::of(momentum), T::of(unbias));
    for (r, &m) in running_mean.iter_mut().zip(&stats.mean) {
        *r = keep * *r + take * m;
    }
    for (r, &v) in running_var.iter_mut().zip(&stats.var) {
        *r = keep * *r + take * v * unbias;
    }
}

/// BatchNorm over the channels of images: channel `c` of a row is its `pixels` values from
/// `c * pixels`, and its statistics cover every pixel of every sample, summed sample by
/// sample in order, so the bits never depend on the thread count.
pub(crate) fn channel_forward<T: Real>(
    x: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    bias: &[T],
    eps: f64,
    mut y: ArrayViewMut2<'_, T>,
) {
    let pixels = x.ncols() / gain.len();
    let (k, eps) = (T::of((x.nrows() * pixels) as f64), T::of(eps));
    let Stats {
        mean,
        inv_std,
        var,
        scale,
        mean_dy: shift,
        ..
    } = stats;
    y.axis_chunks_iter_mut(Axis(1), pixels)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(1), pixels))
        .zip(mean.par_iter_mut().zip(var.par_iter_mut()))
        .zip(inv_std.par_iter_mut().zip(scale.par_iter_mut()))
        .zip(shift.par_iter_mut())
        .zip(gain.par_iter().zip(bias))
        .for_each(
            |(((((mut y, x), (mean, var)), (inv_std, scale)), shift), (&g, &b))| {
                let sum = |f: &dyn Fn(T) -> T| {
                    x.rows().into_iter().fold(T::zero(), |s, row| {
                        let row = unit(row);
                        s + lane_sum(row, row, row, |v, _, _| f(v))
                    })
                };
                *mean = sum(&|v| v) / k;
                let m = *mean;
                *var = sum(&|v| (v - m) * (v - m)) / k;
                *inv_std = T::one() / (*var + eps).sqrt();
                *scale = g * *inv_std;
                *shift = b - m * *scale;
                let (a, b) = (*scale, *shift);
                for (y, x) in y.rows_mut().into_iter().zip(x.rows()) {
                    for (y, &x) in unit_mut(y).iter_mut().zip(unit(x)) {
                        *y = a * x + b;
                    }
                }
            },
        );
}

/// Evaluation over channels: each channel's scale and shift from its running averages.
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_eval<T: Real>(
    x: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    bias: &[T],
    running_mean: &[T],
    running_var: &[T],
    eps: f64,
    mut y: ArrayViewMut2<'_, T>,
) {
    let pixels = x.ncols() / gain.len();
    let eps = T::of(eps);
    let (scale, shift) = (&mut stats.scale, &mut stats.mean_dy);
    for j in 0..gain.len() {
        scale[j] = gain[j] / (running_var[j] + eps).sqrt();
        shift[j] = bias[j] - running_mean[j] * scale[j];
    }
    let (scale, shift) = (&*scale, &*shift);
    y.axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), BLOCK))
        .with_max_len(1)
        .for_each(|(mut y, x)| {
            for (y, x) in y.rows_mut().into_iter().zip(x.rows()) {
                let channels = unit_mut(y).chunks_mut(pixels).zip(unit(x).chunks(pixels));
                for ((y, x), (&a, &b)) in channels.zip(scale.iter().zip(shift)) {
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = a * x + b;
                    }
                }
            }
        });
}

/// The backward pass of [`channel_forward`]: per channel, `dγ = Σ dy · x̂`, `dβ = Σ dy`
/// over every pixel of every sample, and `dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy · x̂))`.
pub(crate) fn channel_backward<T: Real>(
    x: ArrayView2<'_, T>,
    dy: ArrayView2<'_, T>,
    stats: &mut Stats<T>,
    gain: &[T],
    g_gain: &mut [T],
    g_bias: &mut [T],
    dx: Option<ArrayViewMut2<'_, T>>,
) {
    let pixels = x.ncols() / gain.len();
    let inv_k = T::one() / T::of((x.nrows() * pixels) as f64);
    let (mean, inv_std) = (&stats.mean, &stats.inv_std);
    let sums = |gg: &mut T, gb: &mut T, x: ArrayView2<'_, T>, dy: ArrayView2<'_, T>, m, inv| {
        (*gg, *gb) = (T::zero(), T::zero());
        for (x, dy) in x.rows().into_iter().zip(dy.rows()) {
            let (dy, x) = (unit(dy), unit(x));
            *gg = *gg + lane_sum(dy, x, x, |d, x, _| d * ((x - m) * inv));
            *gb = *gb + lane_sum(dy, dy, dy, |d, _, _| d);
        }
    };
    let channels = g_gain
        .par_iter_mut()
        .zip(g_bias.par_iter_mut())
        .zip(x.axis_chunks_iter(Axis(1), pixels))
        .zip(dy.axis_chunks_iter(Axis(1), pixels))
        .zip(mean.par_iter().zip(inv_std))
        .zip(gain);
    let Some(mut dx) = dx else {
        channels.for_each(|(((((gg, gb), x), dy), (&m, &inv)), _)| sums(gg, gb, x, dy, m, inv));
        return;
    };
    channels
        .zip(dx.axis_chunks_iter_mut(Axis(1), pixels))
        .for_each(|((((((gg, gb), x), dy), (&m, &inv)), &g), mut dx)| {
            sums(gg, gb, x, dy, m, inv);
            let (s, md, mdx) = (g * inv, *gb * inv_k, *gg * inv_k);
            for ((dx, dy), x) in dx.rows_mut().into_iter().zip(dy.rows()).zip(x.rows()) {
                for ((dx, &d), &x) in unit_mut(dx).iter_mut().zip(unit(dy)).zip(unit(x)) {
                    *dx = s * (d - md - (x - m) * inv * mdx);
                }
            }
        });
}
