//! The plain-stack strategy: a network that is `dense → activation → … → dense` runs its
//! passes layer by layer into one [`Workspace`] (laid out as [`Workspace::for_widths`]
//! says), each dense layer fused with the activation after it and each product in one
//! piece (or in fixed blocks of units, in the trainer's row chunks). A
//! [`Net`](crate::net::Net) whose layers are such a stack runs these passes.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, s};

use initlab_gemm::Kernel;

use crate::dense;
use crate::workspace::Workspace;
use crate::{Activation, Loss, Real, Targets};

/// Rows per chunk of an evaluation pass.
pub(crate) const EVAL_ROWS: usize = 512;

/// One dense layer of a stack and the activation after it (identity for the last).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackLayer<'a, T> {
    /// `[out, in]`, row-major.
    pub(crate) weight: ArrayView2<'a, T>,
    /// `[out]`.
    pub(crate) bias: ArrayView1<'a, T>,
    pub(crate) activation: Activation,
}

/// Where a layer's weight and bias gradients go.
pub(crate) type LayerGrads<'a, T> = (ArrayViewMut2<'a, T>, ArrayViewMut1<'a, T>);

/// A network seen as a plain stack of dense layers.
pub(crate) trait Stack<T: Real>: Sync {
    /// Dense layers, at least one.
    fn depth(&self) -> usize;

    /// What runs its products.
    fn kernel(&self) -> Kernel;

    /// Layer `l`'s parameters and activation.
    fn layer(&self, l: usize) -> StackLayer<'_, T>;

    /// Every layer's output width, first to last.
    fn widths(&self) -> impl Iterator<Item = usize> {
        (0..self.depth()).map(|l| self.layer(l).bias.len())
    }
}

/// What updates one layer: its index, weight, bias and optimizer state (see
/// [`StackMut::update_layers`]).
pub(crate) type LayerUpdate<'f, T, S> = dyn Fn(usize, &mut [T], &mut [T], &mut [S]) + Sync + 'f;

/// A stack whose parameters an optimizer updates, one task per layer.
pub(crate) trait StackMut<T: Real>: Stack<T> + Send {
    /// Layer `l`'s weight and bias, to change in place.
    fn layer_mut(&mut self, l: usize) -> (ArrayViewMut2<'_, T>, ArrayViewMut1<'_, T>);

    /// Calls `update(l, weight, bias, state)` for every layer `l`, in parallel, with the
    /// layer's weight and bias as row-major slices and `state[2l..2l + 2]`, its two
    /// tensors' optimizer state.
    fn update_layers<S: Send>(&mut self, state: &mut [S], update: &LayerUpdate<'_, T, S>);
}

impl<T: Real> Workspace<T> {
    /// Buffers for `stack` on up to `rows` samples.
    pub(crate) fn for_stack(stack: &impl Stack<T>, rows: usize) -> Self {
        Self::for_widths(stack.widths(), rows)
    }
}

/// Forward pass through the first `count` layers of `stack` into `ws`, each layer's output
/// units in independent blocks of at most `block` units that rayon may run in parallel.
///
/// # Panics
/// If `x` has more rows than the workspace or the wrong width.
pub(crate) fn forward<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
    ws: &mut Workspace<T>,
    count: usize,
    block: usize,
) {
    let rows = x.nrows();
    for l in 0..count.min(stack.depth()) {
        let layer = stack.layer(l);
        let (input, pre, post) = ws.forward_parts(l);
        let input = input.map_or(x, |input| input.slice(s![..rows, ..]));
        let pre = pre.slice_mut(s![..rows, ..]);
        let post = post.map(|post| (layer.activation, post.slice_mut(s![..rows, ..])));
        dense::forward(
            stack.kernel(),
            input,
            layer.weight,
            layer.bias,
            pre,
            post,
            block,
        );
    }
}

/// Backward pass after [`forward`] and the loss gradient, which must be in `ws.grad`'s last
/// buffer: leaves every layer's pre-activation gradient in `ws.grad` and, when `grads` is
/// given, writes layer `l`'s weight and bias gradients into `grads[l]`. Input gradients are
/// computed in blocks of at most `block` input units, as in the forward pass.
pub(crate) fn backward<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
    ws: &mut Workspace<T>,
    mut grads: Option<&mut [LayerGrads<'_, T>]>,
    block: usize,
) {
    let rows = x.nrows();
    for l in (0..stack.depth()).rev() {
        let (delta, below) = ws.backward_parts(l);
        let delta = delta.slice(s![..rows, ..]);
        if let Some(grads) = grads.as_deref_mut() {
            let input = below
                .as_ref()
                .map_or(x, |below| below.post.slice(s![..rows, ..]));
            let (dw, db) = &mut grads[l];
            dense::parameter_gradients(
                stack.kernel(),
                delta,
                input,
                dw.view_mut(),
                db.view_mut(),
                false,
            );
        }
        let Some(below) = below else {
            continue;
        };
        let dx = below.grad.slice_mut(s![..rows, ..]);
        let below = dense::Below {
            activation: stack.layer(l - 1).activation,
            pre: below.pre.slice(s![..rows, ..]),
            post: below.post.slice(s![..rows, ..]),
        };
        dense::input_gradient(
            stack.kernel(),
            delta,
            stack.layer(l).weight,
            dx,
            Some(below),
            block,
        );
    }
}

/// The logits of `x`, in one piece.
pub(crate) fn logits<T: Real>(stack: &impl Stack<T>, x: ArrayView2<'_, T>) -> Array2<T> {
    let rows = x.nrows();
    let mut ws = Workspace::for_stack(stack, rows.max(1));
    forward(stack, x, &mut ws, stack.depth(), usize::MAX);
    ws.logits(rows).to_owned()
}

/// Every layer's output for `x`: each hidden layer's activations, then the logits.
pub(crate) fn layer_outputs<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
) -> Vec<Array2<T>> {
    let rows = x.nrows();
    let mut ws = Workspace::for_stack(stack, rows);
    forward(stack, x, &mut ws, stack.depth(), usize::MAX);
    let mut outputs: Vec<Array2<T>> = ws
        .posts()
        .map(|post| post.slice(s![..rows, ..]).to_owned())
        .collect();
    outputs.push(ws.logits(rows).to_owned());
    outputs
}

/// Rows of `x` classified as labelled (see [`predicted_class`]), in chunks of
/// [`EVAL_ROWS`].
pub(crate) fn correct<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
    labels: &[usize],
) -> usize {
    let chunk = EVAL_ROWS.min(x.nrows());
    let mut ws = Workspace::for_stack(stack, chunk);
    let mut correct = 0;
    for (start, x) in (0..x.nrows())
        .step_by(chunk)
        .zip(x.axis_chunks_iter(Axis(0), chunk))
    {
        forward(stack, x, &mut ws, stack.depth(), usize::MAX);
        let logits = ws.logits(x.nrows());
        for (row, &label) in logits.rows().into_iter().zip(&labels[start..]) {
            correct += usize::from(predicted_class(row) == label);
        }
    }
    correct
}

/// The mean loss over all of `x` in one piece, and the workspace with the loss's gradient
/// in its last buffer.
pub(crate) fn forward_loss<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
    loss: Loss,
) -> (f64, Workspace<T>) {
    let rows = x.nrows();
    let mut ws = Workspace::for_stack(stack, rows);
    forward(stack, x, &mut ws, stack.depth(), usize::MAX);
    let (logits, grad) = ws.logits_and_grad(rows);
    let value = loss.forward_backward(logits, targets, T::of(1.0 / rows as f64), grad);
    (value, ws)
}

/// [`forward_loss`], then the backward pass with every layer's parameter gradients into
/// `grads`, each layer in one piece.
pub(crate) fn full_pass<T: Real>(
    stack: &impl Stack<T>,
    x: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
    loss: Loss,
    grads: &mut [LayerGrads<'_, T>],
) -> (f64, Workspace<T>) {
    let (value, mut ws) = forward_loss(stack, x, targets, loss);
    backward(stack, x, &mut ws, Some(grads), usize::MAX);
    (value, ws)
}

/// The class a row of logits stands for: the index of the largest logit (the first of
/// equals) or, for one logit (a sigmoid's), 1 when it is positive and 0 otherwise.
pub(crate) fn predicted_class<T: Real>(row: ArrayView1<'_, T>) -> usize {
    if row.len() == 1 {
        usize::from(row[0] > T::zero())
    } else {
        row.iter()
            .enumerate()
            .fold(0, |b, (i, &v)| if v > row[b] { i } else { b })
    }
}
