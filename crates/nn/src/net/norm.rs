//! LayerNorm and BatchNorm: forward in training and evaluation, backward, running
//! averages.
//!
//! With `x̂ = (x - μ) / σ`, `σ = sqrt(var + eps)` and `y = γ x̂ + β` over a group of `k`
//! values (a sample's features for LayerNorm, a feature's samples for BatchNorm), the
//! input gradient is `dx = γ/σ · (dy - mean(dy) - x̂ · mean(dy · x̂))`, and the parameter
//! gradients are sums over the other axis: `dγ = Σ dy · x̂`, `dβ = Σ dy`.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use super::pass::{unit, unit_mut};
use crate::Real;

/// Features per task of BatchNorm, rows per task of LayerNorm.
const BLOCK: usize = 32;

/// What the backward pass and the running averages need from a forward pass.
#[derive(Debug)]
pub(crate) struct Stats<T> {
    /// `x̂` of every value.
    xhat: Array2<T>,
    /// `1/σ` per group.
    inv_std: Vec<T>,
    /// Per group: the batch mean and biased variance (BatchNorm), or evaluation's scale
    /// and shift.
    mean: Vec<T>,
    var: Vec<T>,
}

impl<T: Real> Stats<T> {
    pub(crate) fn new(rows: usize, width: usize, groups: usize) -> Self {
        Self {
            xhat: Array2::zeros((rows, width)),
            inv_std: vec![T::zero(); groups],
            mean: vec![T::zero(); groups],
            var: vec![T::zero(); groups],
        }
    }
}

/// Mean and biased variance of `values`, two passes.
fn moments<T: Real>(values: impl Iterator<Item = T> + Clone, count: usize) -> (T, T) {
    let k = T::of(count as f64);
    let mean = values.clone().fold(T::zero(), |s, v| s + v) / k;
    let var = values.fold(T::zero(), |s, v| s + (v - mean) * (v - mean)) / k;
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
    let (w, eps) = (x.ncols(), T::of(eps));
    stats
        .xhat
        .slice_mut(s![..n, ..])
        .axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(y.axis_chunks_iter_mut(Axis(0), BLOCK))
        .zip(x.axis_chunks_iter(Axis(0), BLOCK))
        .zip(stats.inv_std[..n].par_chunks_mut(BLOCK))
        .with_max_len(1)
        .for_each(|(((mut xhat, mut y), x), inv_std)| {
            for (((xhat, y), x), inv) in xhat
                .rows_mut()
                .into_iter()
                .zip(y.rows_mut())
                .zip(x.rows())
                .zip(inv_std)
            {
                let x = unit(x);
                let (mean, var) = moments(x.iter().copied(), w);
                *inv = T::one() / (var + eps).sqrt();
                for ((((h, y), &x), &g), &b) in unit_mut(xhat)
                    .iter_mut()
                    .zip(unit_mut(y))
                    .zip(x)
                    .zip(gain)
                    .zip(bias)
                {
                    *h = (x - mean) * *inv;
                    *y = g * *h + b;
                }
            }
        });
}

pub(crate) fn layer_backward<T: Real>(
    dy: ArrayView2<'_, T>,
    stats: &Stats<T>,
    gain: &[T],
    g_gain: &mut [T],
    g_bias: &mut [T],
    dx: Option<ArrayViewMut2<'_, T>>,
) {
    let n = dy.nrows();
    let xhat = stats.xhat.slice(s![..n, ..]);
    g_gain.fill(T::zero());
    g_bias.fill(T::zero());
    // Sums over samples in sample order: the same bits on any thread count.
    for (dy, xhat) in dy.rows().into_iter().zip(xhat.rows()) {
        for (((gg, gb), &d), &h) in g_gain
            .iter_mut()
            .zip(g_bias.iter_mut())
            .zip(unit(dy))
            .zip(unit(xhat))
        {
            *gg = *gg + d * h;
            *gb = *gb + d;
        }
    }
    let Some(mut dx) = dx else { return };
    let k = T::of(dy.ncols() as f64);
    dx.axis_chunks_iter_mut(Axis(0), BLOCK)
        .into_par_iter()
        .zip(dy.axis_chunks_iter(Axis(0), BLOCK))
        .zip(xhat.axis_chunks_iter(Axis(0), BLOCK))
        .zip(stats.inv_std[..n].par_chunks(BLOCK))
        .with_max_len(1)
        .for_each(|(((mut dx, dy), xhat), inv_std)| {
            for (((dx, dy), xhat), &inv) in dx
                .rows_mut()
                .into_iter()
                .zip(dy.rows())
                .zip(xhat.rows())
                .zip(inv_std)
            {
                let (dy, xhat) = (unit(dy), unit(xhat));
                let (mut mean_g, mut mean_gx) = (T::zero(), T::zero());
                for ((&d, &h), &g) in dy.iter().zip(xhat).zip(gain) {
                    mean_g = mean_g + d * g;
                    mean_gx = mean_gx + d * g * h;
                }
                let (mean_g, mean_gx) = (mean_g / k, mean_gx / k);
                for (((dx, &d), &h), &g) in unit_mut(dx).iter_mut().zip(dy).zip(xhat).zip(gain) {
                    *dx = inv * (d * g - mean_g - h * mean_gx);
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
    let eps = T::of(eps);
    let Stats {
        xhat,
        inv_std,
        mean,
        var,
    } = stats;
    xhat.slice_mut(s![..n, ..])
        .axis_chunks_iter_mut(Axis(1), BLOCK)
        .into_par_iter()
        .zip(y.axis_chunks_iter_mut(Axis(1), BLOCK))
        .zip(x.axis_chunks_iter(Axis(1), BLOCK))
        .zip(inv_std.par_chunks_mut(BLOCK))
        .zip(mean.par_chunks_mut(BLOCK).zip(var.par_chunks_mut(BLOCK)))
        .enumerate()
        .with_max_len(1)
        .for_each(
            |(block, ((((mut xhat, mut y), x), inv_std), (mean, var)))| {
                let features = block * BLOCK..block * BLOCK + mean.len();
                let (gain, bias) = (&gain[features.clone()], &bias[features]);
                for (j, column) in x.axis_iter(Axis(1)).enumerate() {
                    (mean[j], var[j]) = moments(column.iter().copied(), n);
                    inv_std[j] = T::one() / (var[j] + eps).sqrt();
                }
                for ((mut xhat, mut y), x) in
                    xhat.rows_mut().into_iter().zip(y.rows_mut()).zip(x.rows())
                {
                    for (j, ((h, y), &x)) in xhat.iter_mut().zip(y.iter_mut()).zip(&x).enumerate() {
                        *h = (x - mean[j]) * inv_std[j];
                        *y = gain[j] * *h + bias[j];
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
    let (scale, shift) = (&mut stats.mean, &mut stats.var);
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
    dy: ArrayView2<'_, T>,
    stats: &Stats<T>,
    gain: &[T],
    g_gain: &mut [T],
    g_bias: &mut [T],
    dx: Option<ArrayViewMut2<'_, T>>,
) {
    let n = dy.nrows();
    let xhat = stats.xhat.slice(s![..n, ..]);
    // The sums over samples are the parameter gradients, and dx needs them.
    let sums = |gg: &mut [T], gb: &mut [T], dy: ArrayView2<'_, T>, xhat: ArrayView2<'_, T>| {
        gg.fill(T::zero());
        gb.fill(T::zero());
        for (dy, xhat) in dy.rows().into_iter().zip(xhat.rows()) {
            for (((gg, gb), &d), &h) in gg.iter_mut().zip(gb.iter_mut()).zip(&dy).zip(&xhat) {
                *gg = *gg + d * h;
                *gb = *gb + d;
            }
        }
    };
    let blocks = g_gain
        .par_chunks_mut(BLOCK)
        .zip(g_bias.par_chunks_mut(BLOCK))
        .zip(dy.axis_chunks_iter(Axis(1), BLOCK))
        .zip(xhat.axis_chunks_iter(Axis(1), BLOCK));
    let Some(mut dx) = dx else {
        blocks
            .with_max_len(1)
            .for_each(|(((gg, gb), dy), xhat)| sums(gg, gb, dy, xhat));
        return;
    };
    let k = T::of(n as f64);
    blocks
        .zip(dx.axis_chunks_iter_mut(Axis(1), BLOCK))
        .enumerate()
        .with_max_len(1)
        .for_each(|(block, ((((gg, gb), dy), xhat), mut dx))| {
            sums(gg, gb, dy, xhat);
            let start = block * BLOCK;
            let (gain, inv_std) = (&gain[start..], &stats.inv_std[start..]);
            for ((mut dx, dy), xhat) in dx.rows_mut().into_iter().zip(dy.rows()).zip(xhat.rows()) {
                for (j, ((dx, &d), &h)) in dx.iter_mut().zip(&dy).zip(&xhat).enumerate() {
                    let scale = gain[j] * inv_std[j] / k;
                    *dx = scale * (k * d - gb[j] - h * gg[j]);
                }
            }
        });
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
