//! Forward and backward passes over a network's layers, in buffers allocated once.
//!
//! # Reproducibility
//! Every value is computed by exactly one task whose work depends on the data and on
//! fixed block sizes alone: a dense layer's outputs, weight gradients and input gradients
//! in blocks of units; normalization statistics per feature (BatchNorm, summing rows in
//! order) or per sample (LayerNorm). So a pass gives the same bits on any number of
//! threads, and BatchNorm sees the whole mini-batch, not a chunk of it.

use initlab_gemm::Kernel;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use super::norm;
use crate::conv::Conv2d;
use crate::dense::{self, unit, unit_mut};
use crate::pool::Pool2d;
use crate::{Activation, Real};
use crate::{GRAD_ROWS, UNIT_BLOCK};

/// Rows per task of an elementwise pass.
const ROW_BLOCK: usize = 32;

/// A layer ready to run: its kind, widths and where its parameters start in the
/// network's flat parameter vector (and running statistics in its buffer vector).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Weight `[output, input]` at `at`, bias `[output]` right after it.
    Dense {
        input: usize,
        output: usize,
        at: usize,
    },
    /// Weight `[out, in / groups * kh * kw]` at `at`, bias `[out]` right after it, on
    /// images of `input` pixels.
    Conv {
        conv: Conv2d,
        input: (usize, usize),
        at: usize,
    },
    /// Each of `channels` channels of images of `input` pixels pooled.
    Pool {
        pool: Pool2d,
        channels: usize,
        input: (usize, usize),
    },
    /// A copy: an image's values are already its flat features.
    Flatten,
    Activation(Activation),
    /// Gain `[width]` at `at`, bias `[width]` right after it.
    LayerNorm {
        width: usize,
        eps: f64,
        at: usize,
    },
    /// Gain and bias `[width / pixels]` (one per feature, or per channel of an image of
    /// `pixels` pixels); running mean `[width / pixels]` at `running` in the buffers,
    /// running variance right after it.
    BatchNorm {
        width: usize,
        pixels: usize,
        eps: f64,
        momentum: f64,
        at: usize,
        running: usize,
    },
    Residual {
        branch: Vec<Node>,
        alpha: AlphaAt,
    },
}

impl Node {
    /// Values per sample after this layer, given `width` before it.
    fn output_width(&self, width: usize) -> usize {
        match self {
            Self::Dense { output, .. } => *output,
            Self::Conv { conv, input, .. } => {
                let (height, width) = conv.output_size(*input).expect("checked when built");
                conv.out_channels * height * width
            }
            Self::Pool {
                pool,
                channels,
                input,
            } => {
                let (height, width) = pool.output_size(*input).expect("checked when built");
                channels * height * width
            }
            _ => width,
        }
    }
}

/// A residual multiplier: a constant, or the parameter at this index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AlphaAt {
    Fixed(f64),
    Learnable(usize),
}

impl AlphaAt {
    pub(crate) fn value<T: Real>(self, params: &[T]) -> T {
        match self {
            Self::Fixed(value) => T::of(value),
            Self::Learnable(at) => params[at],
        }
    }
}

/// Whether normalization uses the batch's statistics (and records them) or the running
/// averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Train,
    Eval,
}

/// One layer's buffers for up to `rows` samples.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    /// The layer's output.
    pub(crate) out: Array2<T>,
    /// The loss's gradient with respect to the output.
    pub(crate) grad: Array2<T>,
    pub(crate) norm: Option<norm::Stats<T>>,
    /// A residual's branch.
    pub(crate) branch: Vec<Slot<T>>,
    /// A residual's gradient reaching its input through the branch.
    skip: Array2<T>,
}

impl<T: Real> Slot<T> {
    /// A slot for `width` features of a plain stack's layer: its output, and its gradient
    /// when `grad` (else an empty one).
    pub(crate) fn buffers(rows: usize, width: usize, grad: bool) -> Self {
        let empty = || Array2::zeros((0, 0));
        Self {
            out: Array2::zeros((rows, width)),
            grad: if grad {
                Array2::zeros((rows, width))
            } else {
                empty()
            },
            norm: None,
            branch: Vec::new(),
            skip: empty(),
        }
    }

    /// Buffers for `nodes` run on `width` features; returns them and the width after.
    pub(crate) fn sequence(nodes: &[Node], mut width: usize, rows: usize) -> (Vec<Self>, usize) {
        let slots = nodes
            .iter()
            .map(|node| {
                let (slot, after) = Self::new(node, width, rows);
                width = after;
                slot
            })
            .collect();
        (slots, width)
    }

    fn new(node: &Node, width: usize, rows: usize) -> (Self, usize) {
        let empty = || Array2::zeros((0, 0));
        let out_width = node.output_width(width);
        let mut slot = Self {
            out: Array2::zeros((rows, out_width)),
            grad: Array2::zeros((rows, out_width)),
            norm: None,
            branch: Vec::new(),
            skip: empty(),
        };
        match node {
            Node::LayerNorm { .. } => slot.norm = Some(norm::Stats::new(rows)),
            Node::BatchNorm { pixels, .. } => {
                slot.norm = Some(norm::Stats::new(width / pixels));
            }
            Node::Residual { branch, .. } => {
                slot.branch = Self::sequence(branch, width, rows).0;
                slot.skip = Array2::zeros((rows, width));
            }
            _ => {}
        }
        (slot, out_width)
    }
}

/// Runs `nodes` on `x`, each layer's output into its slot.
pub(crate) fn forward<T: Real>(
    kernel: Kernel,
    nodes: &[Node],
    slots: &mut [Slot<T>],
    x: ArrayView2<'_, T>,
    params: &[T],
    running: &[T],
    mode: Mode,
) {
    let n = x.nrows();
    for (i, node) in nodes.iter().enumerate() {
        let (before, rest) = slots.split_at_mut(i);
        let input = match before.last() {
            Some(previous) => previous.out.slice(s![..n, ..]),
            None => x,
        };
        forward_node(kernel, node, &mut rest[0], input, params, running, mode);
    }
}

/// Runs `nodes` on `x` up to and including the layer at `path` (indices into `nodes`,
/// then into the branches of the blocks on the way): that layer's output is then in its
/// slot, and no block on the way adds its branch to its stream.
pub(crate) fn forward_until<T: Real>(
    kernel: Kernel,
    nodes: &[Node],
    slots: &mut [Slot<T>],
    x: ArrayView2<'_, T>,
    params: &[T],
    running: &[T],
    path: &[usize],
) {
    let n = x.nrows();
    let (&last, inner) = path.split_first().expect("a path names a layer");
    forward(
        kernel,
        &nodes[..last],
        &mut slots[..last],
        x,
        params,
        running,
        Mode::Train,
    );
    let (before, rest) = slots.split_at_mut(last);
    let input = match before.last() {
        Some(previous) => previous.out.slice(s![..n, ..]),
        None => x,
    };
    match (&nodes[last], inner.is_empty()) {
        (node, true) => forward_node(
            kernel,
            node,
            &mut rest[0],
            input,
            params,
            running,
            Mode::Train,
        ),
        (Node::Residual { branch, .. }, false) => {
            let slots = &mut rest[0].branch;
            forward_until(kernel, branch, slots, input, params, running, inner);
        }
        _ => unreachable!("a path goes into blocks only"),
    }
}

fn forward_node<T: Real>(
    kernel: Kernel,
    node: &Node,
    slot: &mut Slot<T>,
    x: ArrayView2<'_, T>,
    params: &[T],
    running: &[T],
    mode: Mode,
) {
    let n = x.nrows();
    match *node {
        Node::Dense { input, output, at } => {
            let (w, b) = dense_parameters(params, at, input, output);
            let out = slot.out.slice_mut(s![..n, ..]);
            dense::forward(kernel, x, w, b, out, None, UNIT_BLOCK);
        }
        Node::Conv { conv, input, at } => {
            let (w, b) = conv_parameters(params, at, &conv);
            conv.forward(kernel, input, x, w, b, slot.out.slice_mut(s![..n, ..]))
                .expect("the geometry was checked when the net was built");
        }
        Node::Pool {
            pool,
            channels,
            input,
        } => {
            pool.forward(channels, input, x, slot.out.slice_mut(s![..n, ..]))
                .expect("the geometry was checked when the net was built");
        }
        Node::Flatten => copy(x, slot.out.slice_mut(s![..n, ..])),
        Node::Activation(activation) => {
            rows_mut(&mut slot.out.slice_mut(s![..n, ..]))
                .zip(rows(&x))
                .for_each(|(mut out, x)| {
                    for (y, x) in out.rows_mut().into_iter().zip(x.rows()) {
                        activation.forward(unit(x), unit_mut(y));
                    }
                });
        }
        Node::LayerNorm { width, eps, at } => {
            let stats = slot.norm.as_mut().expect("LayerNorm has statistics");
            let (gain, bias) = params[at..at + 2 * width].split_at(width);
            norm::layer_forward(x, stats, gain, bias, eps, slot.out.slice_mut(s![..n, ..]));
        }
        Node::BatchNorm {
            width,
            pixels,
            eps,
            at,
            running: r,
            ..
        } => {
            let stats = slot.norm.as_mut().expect("BatchNorm has statistics");
            let features = width / pixels;
            let (gain, bias) = params[at..at + 2 * features].split_at(features);
            let out = slot.out.slice_mut(s![..n, ..]);
            let (mean, var) = running[r..r + 2 * features].split_at(features);
            match (mode, pixels) {
                (Mode::Train, 1) => norm::batch_forward(x, stats, gain, bias, eps, out),
                (Mode::Eval, 1) => norm::batch_eval(x, stats, gain, bias, mean, var, eps, out),
                (Mode::Train, _) => norm::channel_forward(x, stats, gain, bias, eps, out),
                (Mode::Eval, _) => norm::channel_eval(x, stats, gain, bias, mean, var, eps, out),
            }
        }
        Node::Residual { ref branch, alpha } => {
            forward(kernel, branch, &mut slot.branch, x, params, running, mode);
            let alpha = alpha.value(params);
            let last = slot.branch.last().expect("a branch has layers");
            rows_mut(&mut slot.out.slice_mut(s![..n, ..]))
                .zip(rows(&x))
                .zip(rows(&last.out.slice(s![..n, ..])))
                .for_each(|((mut out, x), b)| {
                    for ((y, x), b) in out.rows_mut().into_iter().zip(x.rows()).zip(b.rows()) {
                        for ((y, &x), &b) in unit_mut(y).iter_mut().zip(unit(x)).zip(unit(b)) {
                            *y = x + alpha * b;
                        }
                    }
                });
        }
    }
}

/// Backpropagates the gradients in the slots' `grad` (the last one holding the loss's)
/// through `nodes`, writing every parameter's gradient into `grads` and, when `dx` is
/// given, the gradient with respect to `x` into it.
pub(crate) fn backward<T: Real>(
    kernel: Kernel,
    nodes: &[Node],
    slots: &mut [Slot<T>],
    x: ArrayView2<'_, T>,
    mut dx: Option<ArrayViewMut2<'_, T>>,
    params: &[T],
    grads: &mut [T],
) {
    let n = x.nrows();
    for (i, node) in nodes.iter().enumerate().rev() {
        let (before, rest) = slots.split_at_mut(i);
        match before.last_mut() {
            Some(previous) => {
                let input = previous.out.slice(s![..n, ..]);
                let target = previous.grad.slice_mut(s![..n, ..]);
                let slot = &mut rest[0];
                backward_node(kernel, node, slot, input, Some(target), params, grads);
            }
            None => backward_node(kernel, node, &mut rest[0], x, dx.take(), params, grads),
        }
    }
}

fn backward_node<T: Real>(
    kernel: Kernel,
    node: &Node,
    slot: &mut Slot<T>,
    x: ArrayView2<'_, T>,
    dx: Option<ArrayViewMut2<'_, T>>,
    params: &[T],
    grads: &mut [T],
) {
    let n = x.nrows();
    let dy = slot.grad.slice(s![..n, ..]);
    match *node {
        Node::Dense { input, output, at } => {
            let (w, _) = dense_parameters(params, at, input, output);
            let (gw, rest) = grads[at..].split_at_mut(input * output);
            let gb = &mut rest[..output];
            rayon::join(
                || dense_parameter_gradients(kernel, dy, x, gw, gb),
                || {
                    if let Some(dx) = dx {
                        dense::input_gradient(kernel, dy, w, dx, None, UNIT_BLOCK);
                    }
                },
            );
        }
        Node::Conv { conv, input, at } => {
            let (w, _) = conv_parameters(params, at, &conv);
            let (gw, rest) = grads[at..].split_at_mut(w.len());
            let grads = initlab_gemm::AffineGrads {
                dw: ArrayViewMut2::from_shape(w.dim(), gw).expect("weight shape"),
                db: (&mut rest[..conv.out_channels]).into(),
                dx,
            };
            conv.backward(kernel, input, x, w, dy, grads)
                .expect("the geometry was checked when the net was built");
        }
        Node::Pool {
            pool,
            channels,
            input,
        } => {
            if let Some(dx) = dx {
                pool.backward(channels, input, x, dy, dx)
                    .expect("the geometry was checked when the net was built");
            }
        }
        Node::Flatten => {
            if let Some(dx) = dx {
                copy(dy, dx);
            }
        }
        Node::Activation(activation) => {
            let Some(mut dx) = dx else { return };
            let y = slot.out.slice(s![..n, ..]);
            rows_mut(&mut dx)
                .zip(rows(&x))
                .zip(rows(&y))
                .zip(rows(&dy))
                .for_each(|(((mut dx, x), y), dy)| {
                    let rows = dx.rows_mut().into_iter().zip(x.rows()).zip(y.rows());
                    for (((g, x), y), dy) in rows.zip(dy.rows()) {
                        let g = unit_mut(g);
                        g.copy_from_slice(unit(dy));
                        activation.backward(unit(x), unit(y), g);
                    }
                });
        }
        Node::LayerNorm { width, at, .. } => {
            let stats = slot.norm.as_ref().expect("LayerNorm has statistics");
            let gain = &params[at..at + width];
            let (g_gain, g_bias) = grads[at..at + 2 * width].split_at_mut(width);
            norm::layer_backward(x, dy, stats, gain, g_gain, g_bias, dx);
        }
        Node::BatchNorm {
            width, pixels, at, ..
        } => {
            let stats = slot.norm.as_mut().expect("BatchNorm has statistics");
            let features = width / pixels;
            let gain = &params[at..at + features];
            let (g_gain, g_bias) = grads[at..at + 2 * features].split_at_mut(features);
            if pixels == 1 {
                norm::batch_backward(x, dy, stats, gain, g_gain, g_bias, dx);
            } else {
                norm::channel_backward(x, dy, stats, gain, g_gain, g_bias, dx);
            }
        }
        Node::Residual { ref branch, alpha } => {
            let value = alpha.value::<T>(params);
            let last = slot.branch.last_mut().expect("a branch has layers");
            if let AlphaAt::Learnable(at) = alpha {
                // One sum in row order: the same bits on any thread count.
                let mut sum = T::zero();
                for (dy, b) in dy
                    .rows()
                    .into_iter()
                    .zip(last.out.slice(s![..n, ..]).rows())
                {
                    for (&d, &b) in unit(dy).iter().zip(unit(b)) {
                        sum = sum + d * b;
                    }
                }
                grads[at] = sum;
            }
            rows_mut(&mut last.grad.slice_mut(s![..n, ..]))
                .zip(rows(&dy))
                .for_each(|(mut g, dy)| {
                    for (g, dy) in g.rows_mut().into_iter().zip(dy.rows()) {
                        for (g, &d) in unit_mut(g).iter_mut().zip(unit(dy)) {
                            *g = value * d;
                        }
                    }
                });
            let skip = dx.as_ref().map(|_| slot.skip.slice_mut(s![..n, ..]));
            backward(kernel, branch, &mut slot.branch, x, skip, params, grads);
            if let Some(mut dx) = dx {
                rows_mut(&mut dx)
                    .zip(rows(&dy))
                    .zip(rows(&slot.skip.slice(s![..n, ..])))
                    .for_each(|((mut dx, dy), skip)| {
                        let rows = dx.rows_mut().into_iter().zip(dy.rows());
                        for ((g, dy), skip) in rows.zip(skip.rows()) {
                            for ((g, &d), &s) in
                                unit_mut(g).iter_mut().zip(unit(dy)).zip(unit(skip))
                            {
                                *g = d + s;
                            }
                        }
                    });
            }
        }
    }
}

/// `dW = dYᵀ X` and `db = Σ dY` in blocks of [`GRAD_ROWS`] output units.
fn dense_parameter_gradients<T: Real>(
    kernel: Kernel,
    dy: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    gw: &mut [T],
    gb: &mut [T],
) {
    let input = x.ncols();
    gw.par_chunks_mut(GRAD_ROWS * input)
        .zip(gb.par_chunks_mut(GRAD_ROWS))
        .enumerate()
        .with_max_len(1)
        .for_each(|(block, (gw, gb))| {
            let start = block * GRAD_ROWS;
            let dy = dy.slice(s![.., start..start + gb.len()]);
            let gw = ArrayViewMut2::from_shape((gb.len(), input), gw).expect("block shape");
            dense::parameter_gradients(kernel, dy, x, gw, gb.into(), false);
        });
}

/// A dense or convolutional layer: where its slot is and where its weights are, seen as
/// the matrix `[output, input]` (a convolution's `[out, in / groups * kh * kw]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DenseAt {
    /// Indices into the nodes, then into the branches of the blocks on the way.
    pub(crate) path: Vec<usize>,
    pub(crate) input: usize,
    pub(crate) output: usize,
    /// Where its weight starts; its bias follows.
    pub(crate) at: usize,
    /// A convolution.
    pub(crate) conv: bool,
}

/// Every dense layer in `nodes`, branches included, in the order a forward pass meets
/// them.
pub(crate) fn dense_layers(nodes: &[Node]) -> Vec<DenseAt> {
    let mut layers = weighted_layers(nodes);
    layers.retain(|layer| !layer.conv);
    layers
}

/// Every dense and convolutional layer in `nodes`, branches included, in the order a
/// forward pass meets them.
pub(crate) fn weighted_layers(nodes: &[Node]) -> Vec<DenseAt> {
    fn walk(nodes: &[Node], prefix: &mut Vec<usize>, out: &mut Vec<DenseAt>) {
        for (i, node) in nodes.iter().enumerate() {
            prefix.push(i);
            match *node {
                Node::Dense { input, output, at } => out.push(DenseAt {
                    path: prefix.clone(),
                    input,
                    output,
                    at,
                    conv: false,
                }),
                Node::Conv { conv, at, .. } => out.push(DenseAt {
                    path: prefix.clone(),
                    input: conv.patch_len(),
                    output: conv.out_channels,
                    at,
                    conv: true,
                }),
                Node::Residual { ref branch, .. } => walk(branch, prefix, out),
                _ => {}
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(nodes, &mut Vec::new(), &mut out);
    out
}

/// The input of the layer at `path` (as [`DenseAt::path`]) in `slots` after a forward
/// pass over `x`: the output of the node before it, or the input of its sequence.
pub(crate) fn input_at<'a, T>(
    slots: &'a [Slot<T>],
    x: ArrayView2<'a, T>,
    path: &[usize],
) -> ArrayView2<'a, T> {
    let (&first, inner) = path.split_first().expect("a path names a layer");
    let input = match first.checked_sub(1) {
        Some(previous) => slots[previous].out.slice(s![..x.nrows(), ..]),
        None => x,
    };
    match inner {
        [] => input,
        _ => input_at(&slots[first].branch, input, inner),
    }
}

/// The nodes of every stage of `nodes`, in order: a stage is a dense or convolutional
/// layer or a residual block, and the normalization and activation layers right after it
/// (pooling and flattening belong to no stage).
pub(crate) fn stages(nodes: &[Node]) -> Vec<std::ops::Range<usize>> {
    let mut stages = Vec::new();
    for (first, node) in nodes.iter().enumerate() {
        if matches!(
            node,
            Node::Dense { .. } | Node::Conv { .. } | Node::Residual { .. }
        ) {
            let after = nodes[first + 1..].iter().take_while(|n| {
                matches!(
                    n,
                    Node::Activation(_) | Node::LayerNorm { .. } | Node::BatchNorm { .. }
                )
            });
            stages.push(first..first + 1 + after.count());
        }
    }
    stages
}

/// Folds each BatchNorm's batch statistics from the last training forward pass over `n`
/// samples into its running averages.
pub(crate) fn update_running<T: Real>(
    nodes: &[Node],
    slots: &[Slot<T>],
    running: &mut [T],
    n: usize,
) {
    for (node, slot) in nodes.iter().zip(slots) {
        match *node {
            Node::BatchNorm {
                width,
                pixels,
                momentum,
                running: r,
                ..
            } => {
                let stats = slot.norm.as_ref().expect("BatchNorm has statistics");
                let features = width / pixels;
                let (mean, var) = running[r..r + 2 * features].split_at_mut(features);
                // A channel's statistics cover every pixel of every sample.
                norm::update_running(stats, mean, var, momentum, n * pixels);
            }
            Node::Residual { ref branch, .. } => {
                update_running(branch, &slot.branch, running, n);
            }
            _ => {}
        }
    }
}

/// The weight `[output, input]` and bias of a dense layer.
pub(crate) fn dense_parameters<T>(
    params: &[T],
    at: usize,
    input: usize,
    output: usize,
) -> (ArrayView2<'_, T>, ArrayView1<'_, T>) {
    let (w, rest) = params[at..].split_at(input * output);
    let w = ArrayView2::from_shape((output, input), w).expect("weight shape");
    (w, ArrayView1::from(&rest[..output]))
}

/// The weight `[out, in / groups * kh * kw]` and bias of a convolution.
pub(crate) fn conv_parameters<'a, T>(
    params: &'a [T],
    at: usize,
    conv: &Conv2d,
) -> (ArrayView2<'a, T>, ArrayView1<'a, T>) {
    dense_parameters(params, at, conv.patch_len(), conv.out_channels)
}

/// `to = from`, in parallel blocks of rows.
fn copy<T: Real>(from: ArrayView2<'_, T>, mut to: ArrayViewMut2<'_, T>) {
    rows_mut(&mut to)
        .zip(rows(&from))
        .for_each(|(mut to, from)| to.assign(&from));
}

/// `a` in parallel blocks of [`ROW_BLOCK`] rows.
fn rows<'a, T: Send + Sync>(
    a: &'a ArrayView2<'_, T>,
) -> impl IndexedParallelIterator<Item = ArrayView2<'a, T>> {
    a.axis_chunks_iter(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .with_max_len(1)
}

/// `a` in parallel blocks of [`ROW_BLOCK`] rows, to write.
fn rows_mut<'a, T: Send + Sync>(
    a: &'a mut ArrayViewMut2<'_, T>,
) -> impl IndexedParallelIterator<Item = ArrayViewMut2<'a, T>> {
    a.axis_chunks_iter_mut(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .with_max_len(1)
}
