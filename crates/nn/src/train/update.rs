//! The optimizer applied to a parameter tensor in fixed blocks, in parallel.

use rayon::prelude::*;

use crate::{Optimizer, Real};

/// Applies the optimizer to `w` in blocks of `block` values, in parallel, block `b` taking
/// its gradient from `gradient(b)`; each block sees only its own slices, so the result is
/// independent of threads. `state` holds the optimizer's buffers for `w`, each as long as
/// `w` or empty when the optimizer keeps fewer.
pub(crate) fn update_blocks<'g, T: Real>(
    optimizer: Optimizer,
    t: u64,
    lr: f64,
    w: &mut [T],
    gradient: impl Fn(usize) -> &'g [T] + Sync,
    state: [&mut [T]; 2],
    block: usize,
) {
    let [first, second] = state;
    let first = (!first.is_empty()).then_some(first);
    let second = (!second.is_empty()).then_some(second);
    let blocks = w.par_chunks_mut(block).enumerate();
    match (first, second) {
        (None, _) => {
            blocks.for_each(|(b, w)| optimizer.update(t, lr, w, gradient(b), &mut [], &mut []))
        }
        (Some(first), None) => blocks
            .zip(first.par_chunks_mut(block))
            .for_each(|((b, w), m)| optimizer.update(t, lr, w, gradient(b), m, &mut [])),
        (Some(first), Some(second)) => blocks
            .zip(
                first
                    .par_chunks_mut(block)
                    .zip(second.par_chunks_mut(block)),
            )
            .for_each(|((b, w), (m, v))| optimizer.update(t, lr, w, gradient(b), m, v)),
    }
}
