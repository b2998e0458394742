//! The plain-stack strategy: a network that is `dense → activation → … → dense` runs its
//! passes layer by layer into one [`Workspace`], each dense layer fused with the activation
//! after it. An [`Mlp`](crate::Mlp) is always such a stack, and a [`Net`](crate::net::Net)
//! is one when its layers are; both run these same passes, and the trainer's row chunks.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, s};

use crate::dense;
use crate::workspace::Workspace;
use crate::{Activation, Real};

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
    /// Calls `update(l, weight, bias, state)` for every layer `l`, in parallel, with the
    /// layer's weight and bias as row-major slices and `state[2l..2l + 2]`, its two
    /// tensors' optimizer state.
    fn update_layers<S: Send>(&mut self, state: &mut [S], update: &LayerUpdate<'_, T, S>);
}

impl<T: Real> Workspace<T> {
    /// Buffers for `stack` on up to `rows` samples.
    pub(crate) fn for_stack(stack: &impl Stack<T>, rows: usize) -> Self {
        Self::new(stack.widths(), rows)
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
    let last = stack.depth() - 1;
    for l in 0..count.min(stack.depth()) {
        let layer = stack.layer(l);
        let (before, after) = ws.post.split_at_mut(l);
        let input = if l == 0 {
            x
        } else {
            before[l - 1].slice(s![..rows, ..])
        };
        let pre = ws.pre[l].slice_mut(s![..rows, ..]);
        let post = (l < last).then(|| (layer.activation, after[0].slice_mut(s![..rows, ..])));
        dense::forward(input, layer.weight, layer.bias, pre, post, block);
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
        let (below, here) = ws.grad.split_at_mut(l);
        let delta = here[0].slice(s![..rows, ..]);
        if let Some(grads) = grads.as_deref_mut() {
            let input = if l == 0 {
                x
            } else {
                ws.post[l - 1].slice(s![..rows, ..])
            };
            let (dw, db) = &mut grads[l];
            dense::parameter_gradients(delta, input, dw.view_mut(), db.view_mut(), false);
        }
        let Some(dx) = below.last_mut() else {
            continue;
        };
        let below = dense::Below {
            activation: stack.layer(l - 1).activation,
            pre: ws.pre[l - 1].slice(s![..rows, ..]),
            post: ws.post[l - 1].slice(s![..rows, ..]),
        };
        let dx = dx.slice_mut(s![..rows, ..]);
        dense::input_gradient(delta, stack.layer(l).weight, dx, Some(below), block);
    }
}
