//! Per-layer statistics of a forward and backward pass: what an initializer did to the
//! signal and to the gradients, before or during training.

use ndarray::{Array2, ArrayView2, Axis, s};
use ndarray_linalg::{EigValsh, UPLO};
use serde::{Deserialize, Serialize};

use crate::Real;
use crate::stack::Stack;
use crate::workspace::Workspace;

/// Statistics of one layer on one batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerDiagnostics {
    /// Mean of the pre-activations `x W^T + b`.
    #[serde(with = "crate::nonfinite")]
    pub pre_mean: f64,
    /// Standard deviation of the pre-activations.
    #[serde(with = "crate::nonfinite")]
    pub pre_std: f64,
    /// Mean of the activations (equal to the pre-activations for the output layer).
    #[serde(with = "crate::nonfinite")]
    pub post_mean: f64,
    /// Standard deviation of the activations.
    #[serde(with = "crate::nonfinite")]
    pub post_std: f64,
    /// Fraction of activations in a saturated region (tanh, sigmoid, softsign).
    #[serde(with = "crate::nonfinite")]
    pub saturated_fraction: f64,
    /// Fraction of ReLU units that output 0 for every sample of the batch.
    #[serde(with = "crate::nonfinite")]
    pub dead_fraction: f64,
    /// Frobenius norm of the weight gradient.
    #[serde(with = "crate::nonfinite")]
    pub weight_grad_norm: f64,
    /// Standard deviation of the gradient with respect to the pre-activations.
    #[serde(with = "crate::nonfinite")]
    pub backprop_grad_std: f64,
    /// `||dW|| / ||W||`: times the learning rate, the relative size of an SGD update.
    #[serde(with = "crate::nonfinite")]
    pub update_ratio: f64,
    /// Mean singular value of the layer's input-output Jacobian `diag(f'(z)) W`,
    /// averaged over the first few samples; `None` if not requested.
    #[serde(with = "crate::nonfinite::option")]
    pub jacobian_mean_singular_value: Option<f64>,
    /// Units whose incoming weights and bias duplicate another unit's (to 1e-6 relative):
    /// what zero and constant initialization cause.
    pub duplicate_units: usize,
}

/// Every layer of a plain stack after a full pass over `rows` samples into `ws`, layer
/// `l`'s weight gradient being `dw(l)`.
pub(crate) fn report<'g, T: Real>(
    stack: &impl Stack<T>,
    ws: &Workspace<T>,
    dw: impl Fn(usize) -> ArrayView2<'g, T>,
    rows: usize,
    jacobian_samples: usize,
) -> Vec<LayerDiagnostics> {
    let last = stack.depth() - 1;
    (0..stack.depth())
        .map(|l| {
            let layer = stack.layer(l);
            let pre = ws.pre(l).slice(s![..rows, ..]);
            let post = if l < last {
                ws.post(l).slice(s![..rows, ..])
            } else {
                pre
            };
            let buffers = StageBuffers {
                pre,
                post,
                grad: ws.grad(l).slice(s![..rows, ..]),
                activation: layer.activation,
            };
            let jacobian = (jacobian_samples > 0).then(|| {
                jacobian_mean_singular_value(
                    layer.weight,
                    layer.activation,
                    pre,
                    post,
                    jacobian_samples.min(rows),
                )
            });
            LayerDiagnostics::measure(
                &buffers,
                norm(layer.weight.iter().map(|v| v.wide())),
                norm(dw(l).iter().map(|v| v.wide())),
                jacobian,
                duplicate_units(layer.weight, layer.bias),
            )
        })
        .collect()
}

/// A stage's buffers after a full pass: its first layer's output, its own output, the
/// gradient with respect to the first, and the activation that made the second.
pub(crate) struct StageBuffers<'a, T> {
    pub(crate) pre: ArrayView2<'a, T>,
    pub(crate) post: ArrayView2<'a, T>,
    pub(crate) grad: ArrayView2<'a, T>,
    pub(crate) activation: crate::Activation,
}

impl LayerDiagnostics {
    /// The statistics of a stage's `buffers`, with the norms of its weights and of their
    /// gradient, and what was found of its Jacobian and its units.
    pub(crate) fn measure<T: Real>(
        buffers: &StageBuffers<'_, T>,
        weight_norm: f64,
        weight_grad_norm: f64,
        jacobian_mean_singular_value: Option<f64>,
        duplicate_units: usize,
    ) -> Self {
        let StageBuffers {
            pre,
            post,
            grad,
            activation,
        } = buffers;
        let (pre_mean, pre_std) = mean_std(pre.iter().map(|v| v.wide()));
        let (post_mean, post_std) = mean_std(post.iter().map(|v| v.wide()));
        let saturated = post
            .iter()
            .filter(|v| activation.is_saturated(v.wide()))
            .count();
        let dead = if activation.can_die() {
            post.axis_iter(Axis(1))
                .filter(|unit| unit.iter().all(|v| *v <= T::zero()))
                .count()
        } else {
            0
        };
        Self {
            pre_mean,
            pre_std,
            post_mean,
            post_std,
            saturated_fraction: saturated as f64 / post.len().max(1) as f64,
            dead_fraction: dead as f64 / post.ncols().max(1) as f64,
            weight_grad_norm,
            backprop_grad_std: mean_std(grad.iter().map(|v| v.wide())).1,
            update_ratio: if weight_norm > 0.0 {
                weight_grad_norm / weight_norm
            } else {
                f64::INFINITY
            },
            jacobian_mean_singular_value,
            duplicate_units,
        }
    }
}

pub(crate) fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, sum) = values
        .clone()
        .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    let mean = sum / n.max(1) as f64;
    let variance = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
    (mean, variance.sqrt())
}

pub(crate) fn norm(values: impl Iterator<Item = f64>) -> f64 {
    values.map(|v| v * v).sum::<f64>().sqrt()
}

/// Mean over samples of the mean singular value of `diag(f'(z)) W`, from the eigenvalues of
/// the smaller Gram matrix.
pub(crate) fn jacobian_mean_singular_value<T: Real>(
    weight: ArrayView2<'_, T>,
    activation: crate::Activation,
    pre: ArrayView2<'_, T>,
    post: ArrayView2<'_, T>,
    samples: usize,
) -> f64 {
    let w = weight.mapv(|v| v.wide());
    let mut total = 0.0;
    for i in 0..samples {
        let slopes: Vec<f64> = pre
            .row(i)
            .iter()
            .zip(post.row(i))
            .map(|(&z, &a)| activation.derivative(z, a).wide())
            .collect();
        let mut j = w.clone();
        for (mut row, slope) in j.axis_iter_mut(Axis(0)).zip(&slopes) {
            row *= *slope;
        }
        total += mean_singular_value(&j);
    }
    total / samples.max(1) as f64
}

/// Mean singular value of `j`, from the eigenvalues of its smaller Gram matrix.
pub(crate) fn mean_singular_value(j: &Array2<f64>) -> f64 {
    // Summed in the eigensolver's (ascending) order, as the committed results were.
    let values = eigen_singular_values(j.view());
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The singular values of `j`, largest first: the square roots of the eigenvalues of its
/// smaller Gram matrix (`j jᵀ` or `jᵀ j`), so `min(rows, columns)` of them. Empty if the
/// eigensolver fails (a non-finite `j`).
///
/// # Examples
/// ```
/// use initlab_nn::ndarray::array;
///
/// let j = array![[3.0, 0.0], [0.0, -2.0], [0.0, 0.0]];
/// let values = initlab_nn::singular_values(j.view());
/// assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 2.0).abs() < 1e-12);
/// ```
pub fn singular_values(j: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
    let mut values = eigen_singular_values(j);
    values.sort_unstable_by(|a, b| b.total_cmp(a));
    values
}

/// The singular values of `j` in the order the eigensolver gives its Gram matrix's
/// eigenvalues.
fn eigen_singular_values(j: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
    let (out, inp) = j.dim();
    let gram: Array2<f64> = if out <= inp {
        j.dot(&j.t())
    } else {
        j.t().dot(&j)
    };
    gram.eigvalsh(UPLO::Lower)
        .map(|e| e.iter().map(|e| e.max(0.0).sqrt()).collect())
        .unwrap_or_default()
}

/// How many units have incoming weights and bias equal, to 1e-6 of the layer's largest
/// magnitude, to an earlier unit's: rows are rounded to that grid and hashed, so the count
/// costs one pass over the weights.
pub(crate) fn duplicate_units<T: Real>(
    weight: ArrayView2<'_, T>,
    bias: ndarray::ArrayView1<'_, T>,
) -> usize {
    let scale = weight
        .iter()
        .chain(bias.iter())
        .fold(0.0_f64, |m, v| m.max(v.wide().abs()));
    let grid = if scale > 0.0 { 1e-6 * scale } else { 1.0 };
    let mut seen = std::collections::HashSet::with_capacity(bias.len());
    weight
        .axis_iter(Axis(0))
        .zip(bias)
        .filter(|(row, b)| {
            let key: Vec<i64> = row
                .iter()
                .chain([*b])
                .map(|v| (v.wide() / grid).round() as i64)
                .collect();
            !seen.insert(key)
        })
        .count()
}
