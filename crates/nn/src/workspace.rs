//! The buffers a network's passes write into: one slot per layer (a residual block's
//! branch nested in its slot), for up to `rows` samples, allocated once and reused for every
//! batch or row chunk.
//!
//! Both execution strategies use it. The general passes use every slot. A plain stack
//! (`dense → activation → … → dense`) is the same sequence of slots, the pre-activations of
//! dense layer `l` in slot `2l` and its activations in slot `2l + 1`; its backward pass
//! folds each activation's derivative into the dense layer's gradient, so the activations'
//! slots carry no gradient buffer.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use crate::Real;
use crate::net::pass::Slot;

/// Per-layer outputs and gradients for up to `rows` samples.
#[derive(Debug)]
pub(crate) struct Workspace<T> {
    pub(crate) slots: Vec<Slot<T>>,
}

/// What the backward pass of a plain stack's dense layer `l > 0` writes and reads below
/// it: layer `l - 1`'s pre-activation gradient, and its pre-activations and activations.
pub(crate) struct Below<'a, T> {
    pub(crate) grad: &'a mut Array2<T>,
    pub(crate) pre: &'a Array2<T>,
    pub(crate) post: &'a Array2<T>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for a plain stack of dense layers of these output widths.
    pub(crate) fn for_widths(widths: impl Iterator<Item = usize>, rows: usize) -> Self {
        let widths: Vec<usize> = widths.collect();
        let last = widths.len() - 1;
        let slots = widths
            .iter()
            .enumerate()
            .flat_map(|(l, &width)| {
                let dense = Slot::buffers(rows, width, true);
                let activation = (l < last).then(|| Slot::buffers(rows, width, false));
                std::iter::once(dense).chain(activation)
            })
            .collect();
        Self { slots }
    }

    /// The last layer's output for the first `rows` samples.
    pub(crate) fn logits(&self, rows: usize) -> ArrayView2<'_, T> {
        self.slots
            .last()
            .expect("a network has layers")
            .out
            .slice(s![..rows, ..])
    }

    /// The last layer's output for the first `rows` samples, and its gradient to write.
    pub(crate) fn logits_and_grad(
        &mut self,
        rows: usize,
    ) -> (ArrayView2<'_, T>, ArrayViewMut2<'_, T>) {
        let last = self.slots.last_mut().expect("a network has layers");
        (
            last.out.slice(s![..rows, ..]),
            last.grad.slice_mut(s![..rows, ..]),
        )
    }

    /// A plain stack's dense layer `l`: its pre-activations.
    pub(crate) fn pre(&self, l: usize) -> &Array2<T> {
        &self.slots[2 * l].out
    }

    /// A plain stack's hidden layer `l`: its activations.
    pub(crate) fn post(&self, l: usize) -> &Array2<T> {
        &self.slots[2 * l + 1].out
    }

    /// A plain stack's dense layer `l`: the gradient with respect to its pre-activations.
    pub(crate) fn grad(&self, l: usize) -> &Array2<T> {
        &self.slots[2 * l].grad
    }

    /// A plain stack's hidden activations, first to last.
    pub(crate) fn posts(&self) -> impl Iterator<Item = &Array2<T>> {
        self.slots.iter().skip(1).step_by(2).map(|slot| &slot.out)
    }

    /// For the forward pass of a plain stack's dense layer `l`: the activations of the
    /// layer before (none for the first), and its own pre-activations and activations
    /// (none for the last layer) to write.
    pub(crate) fn forward_parts(
        &mut self,
        l: usize,
    ) -> (Option<&Array2<T>>, &mut Array2<T>, Option<&mut Array2<T>>) {
        let (before, here) = self.slots.split_at_mut(2 * l);
        let (dense, after) = here.split_first_mut().expect("a dense layer's slot");
        let input = before.last().map(|slot| &slot.out);
        (
            input,
            &mut dense.out,
            after.first_mut().map(|slot| &mut slot.out),
        )
    }

    /// For the backward pass of a plain stack's dense layer `l`: its pre-activation
    /// gradient, and what it writes and reads below it (none for the first layer).
    pub(crate) fn backward_parts(&mut self, l: usize) -> (&Array2<T>, Option<Below<'_, T>>) {
        let (before, here) = self.slots.split_at_mut(2 * l);
        let delta = &here[0].grad;
        let below = match before {
            [.., dense, activation] => Some(Below {
                grad: &mut dense.grad,
                pre: &dense.out,
                post: &activation.out,
            }),
            _ => None,
        };
        (delta, below)
    }
}
