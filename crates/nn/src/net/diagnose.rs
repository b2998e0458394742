//! Per-stage statistics of a [`Net`]: what an initialization did to the signal and the
//! gradients of a residual or normalized network.

use ndarray::{ArrayView2, s};

use super::Net;
use super::pass::{Node, dense_parameters, stages, weighted_layers};
use crate::diagnostics::{StageBuffers, duplicate_units, jacobian_mean_singular_value, norm};
use crate::workspace::Workspace;
use crate::{Activation, LayerDiagnostics, Loss, NnError, Real, Targets};

/// One training-mode forward and backward pass of `inputs` (BatchNorm on the batch's
/// statistics, as in a training step), reported per *stage*: each top-level dense or
/// convolutional layer or residual block together with the normalization and activation
/// layers right after it, in order (pooling and flatten belong to no stage). So a plain network's stages are its dense layers, each with its activation, and
/// [`diagnose`](crate::diagnose)'s fields read the same way:
///
/// - `pre_*`: the stage's first layer's output (a dense layer's `x W^T + b`, a block's
///   `x + α · branch(x)`), before its normalization and activation; `post_*`: the stage's
///   output.
/// - `weight_grad_norm`, `update_ratio`: over the dense and convolution weights of the
///   stage (all of a block's branch).
/// - `backprop_grad_std`: of the gradient with respect to `pre`.
/// - `duplicate_units`: among a dense layer's units (a convolution's filters), or those of
///   the first such layer of a block's branch.
/// - `jacobian_mean_singular_value`: for a dense layer or a block followed by at most an
///   activation, the block's branch without normalization (`D (I + α W_m D_m … W_1 D_1)`);
///   `None` for stages with normalization and for convolutions.
///
/// # Errors
/// Data the network cannot use.
pub fn diagnose<T: Real>(
    net: &Net<T>,
    inputs: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
    loss: Loss,
    jacobian_samples: usize,
) -> Result<Vec<LayerDiagnostics>, NnError> {
    crate::data::validate(net.io(), inputs, targets)?;
    loss.check_targets(targets)?;
    if let Some(plain) = net.plain() {
        // A plain stack's stages are its layers: the MLP's report, from the MLP's passes.
        let mut grads = vec![T::zero(); net.parameter_count()];
        let mut views = plain.gradient_views(&mut grads);
        let (_, ws) = crate::stack::full_pass(&plain, inputs, targets, loss, &mut views);
        drop(views);
        let dw = |l| plain.weight_in(&grads, l);
        let rows = inputs.nrows();
        return Ok(crate::diagnostics::report(
            &plain,
            &ws,
            dw,
            rows,
            jacobian_samples,
        ));
    }
    // The passes split layers across rayon's threads: BLAS stays on one each.
    let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
    let x = inputs.as_standard_layout();
    let rows = x.nrows();
    let mut ws = Workspace::for_net(net, rows);
    let mut grads = vec![T::zero(); net.parameter_count()];
    net.train_pass(x.view(), targets, loss, &mut ws, &mut grads);
    let stages = stages(&net.nodes);
    let mut report = Vec::with_capacity(stages.len());
    for range in stages {
        let (first, end) = (range.start, range.end);
        let stage = &net.nodes[range];
        let pre = ws.slots[first].out.slice(s![..rows, ..]);
        let post = ws.slots[end - 1].out.slice(s![..rows, ..]);
        let activation = stage
            .iter()
            .rev()
            .find_map(|n| match n {
                Node::Activation(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(Activation::Identity);
        // Every dense or convolutional layer of the stage's first node: itself, or a
        // block's branch.
        let dense = weighted_layers(std::slice::from_ref(&stage[0]));
        let values = |source: &[T]| -> Vec<f64> {
            dense
                .iter()
                .flat_map(|d| {
                    source[d.at..d.at + d.input * d.output]
                        .iter()
                        .map(|v| v.wide())
                })
                .collect()
        };
        let plain = stage[1..].iter().all(|n| matches!(n, Node::Activation(_)));
        let jacobian = match (&stage[0], plain) {
            _ if jacobian_samples == 0 => None,
            (&Node::Dense { input, output, at }, true) => {
                let (w, _) = dense_parameters(&net.params, at, input, output);
                Some(jacobian_mean_singular_value(
                    w,
                    activation,
                    pre,
                    post,
                    jacobian_samples.min(rows),
                ))
            }
            (Node::Residual { branch, alpha }, true) => {
                let x = match first {
                    0 => x.view(),
                    _ => ws.slots[first - 1].out.slice(s![..rows, ..]),
                };
                let block = BlockJacobian {
                    branch,
                    slots: &ws.slots[first].branch,
                    alpha: alpha.value(&net.params).wide(),
                    params: &net.params,
                    after: (activation, pre, post),
                };
                let samples = jacobian_samples.min(rows);
                (0..samples)
                    .map(|i| block.mean_singular_value(x, i))
                    .sum::<Option<f64>>()
                    .map(|total| total / samples as f64)
            }
            _ => None,
        };
        let buffers = StageBuffers {
            pre,
            post,
            grad: ws.slots[first].grad.slice(s![..rows, ..]),
            activation,
        };
        let duplicates = dense.first().map_or(0, |d| {
            let (w, b) = dense_parameters(&net.params, d.at, d.input, d.output);
            duplicate_units(w, b)
        });
        report.push(LayerDiagnostics::measure(
            &buffers,
            norm(values(&net.params).into_iter()),
            norm(values(&grads).into_iter()),
            jacobian,
            duplicates,
        ));
    }
    Ok(report)
}

/// A residual block's input-output Jacobian at one sample, `D (I + α J_branch)` with
/// `J_branch` the product of its dense layers' weights and its activations' slopes, and
/// `D` the slopes of the activation after the block (post-activation; identity otherwise).
struct BlockJacobian<'a, T> {
    branch: &'a [Node],
    slots: &'a [super::pass::Slot<T>],
    alpha: f64,
    params: &'a [T],
    /// The stage's activation, its input (the block's output) and its output.
    after: (
        Activation,
        ndarray::ArrayView2<'a, T>,
        ndarray::ArrayView2<'a, T>,
    ),
}

impl<T: Real> BlockJacobian<'_, T> {
    /// Mean singular value at sample `i` of the block whose input is `x`; `None` for a
    /// branch with normalization or nested blocks.
    fn mean_singular_value(&self, x: ndarray::ArrayView2<'_, T>, i: usize) -> Option<f64> {
        let width = x.ncols();
        let mut j = ndarray::Array2::<f64>::eye(width);
        let mut input = x.row(i);
        for (node, slot) in self.branch.iter().zip(self.slots) {
            let output = slot.out.row(i);
            match *node {
                Node::Dense {
                    input: n_in,
                    output: n_out,
                    at,
                } => {
                    let (w, _) = dense_parameters(self.params, at, n_in, n_out);
                    j = w.mapv(|v| v.wide()).dot(&j);
                }
                Node::Activation(a) => {
                    for ((mut row, &z), &y) in j.rows_mut().into_iter().zip(input).zip(output) {
                        row *= a.derivative(z, y).wide();
                    }
                }
                _ => return None,
            }
            input = output;
        }
        j.mapv_inplace(|v| self.alpha * v);
        for k in 0..width {
            j[[k, k]] += 1.0;
        }
        let (activation, pre, post) = self.after;
        for ((mut row, &z), &y) in j.rows_mut().into_iter().zip(pre.row(i)).zip(post.row(i)) {
            row *= activation.derivative(z, y).wide();
        }
        Some(crate::diagnostics::mean_singular_value(&j))
    }
}
