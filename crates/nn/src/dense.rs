//! A dense layer's three products, written once for every network and pass: the forward
//! `x Wᵀ + b`, the input gradient `dY W` and the parameter gradients `dYᵀ X`, `Σ dY`.
//!
//! Each is cut into blocks of units that rayon may run in parallel. A block size is an
//! argument, never the thread count, so a product's bits depend on the data and the block
//! size alone. Where a dense layer is followed by its activation (a plain stack), the
//! activation runs in the same task as the block it follows, while the block is in cache.

use initlab_gemm::{Kernel, Op};
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::{Activation, Real};

/// `pre = x Wᵀ + b` on `kernel` in blocks of at most `block` output units and, when `post`
/// is given, `post = f(pre)` block by block.
///
/// # Panics
/// If the shapes disagree (callers size their buffers from the network).
pub(crate) fn forward<T: Real>(
    kernel: Kernel,
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    b: ArrayView1<'_, T>,
    mut pre: ArrayViewMut2<'_, T>,
    post: Option<(Activation, ArrayViewMut2<'_, T>)>,
    block: usize,
) {
    let chunk = block.min(b.len());
    let blocks = pre
        .axis_chunks_iter_mut(Axis(1), chunk)
        .into_par_iter()
        .zip(w.axis_chunks_iter(Axis(0), chunk))
        .zip(b.axis_chunks_iter(Axis(0), chunk))
        .with_max_len(1);
    let affine = |pre: ArrayViewMut2<'_, T>, w, b| {
        kernel
            .affine(x, w, b, pre)
            .expect("buffer shapes follow the network");
    };
    match post {
        None => blocks.for_each(|((pre, w), b)| affine(pre, w, b)),
        Some((activation, mut post)) => blocks
            .zip(post.axis_chunks_iter_mut(Axis(1), chunk))
            .for_each(|(((mut pre, w), b), mut post)| {
                affine(pre.view_mut(), w, b);
                for (x, y) in pre.rows().into_iter().zip(post.rows_mut()) {
                    activation.forward(unit(x), unit_mut(y));
                }
            }),
    }
}

/// The activation below a dense layer, for [`input_gradient`]: its function and the
/// pre-activations and activations of the forward pass.
pub(crate) struct Below<'a, T> {
    pub(crate) activation: Activation,
    pub(crate) pre: ArrayView2<'a, T>,
    pub(crate) post: ArrayView2<'a, T>,
}

/// `dx = dY W` on `kernel` in blocks of at most `block` input units and, when `below` is
/// given, through the activation that produced the layer's input: `dx = f'(pre) ⊙ dY W`.
///
/// # Panics
/// If the shapes disagree.
pub(crate) fn input_gradient<T: Real>(
    kernel: Kernel,
    dy: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    mut dx: ArrayViewMut2<'_, T>,
    below: Option<Below<'_, T>>,
    block: usize,
) {
    let chunk = block.min(w.ncols());
    let blocks = dx
        .axis_chunks_iter_mut(Axis(1), chunk)
        .into_par_iter()
        .zip(w.axis_chunks_iter(Axis(1), chunk))
        .with_max_len(1);
    let product = |dx: ArrayViewMut2<'_, T>, w| {
        kernel
            .gemm(T::one(), dy, Op::Identity, w, Op::Identity, T::zero(), dx)
            .expect("buffer shapes follow the network");
    };
    match below {
        None => blocks.for_each(|(dx, w)| product(dx, w)),
        Some(Below {
            activation,
            pre,
            post,
        }) => blocks
            .zip(pre.axis_chunks_iter(Axis(1), chunk))
            .zip(post.axis_chunks_iter(Axis(1), chunk))
            .for_each(|(((mut dx, w), pre), post)| {
                product(dx.view_mut(), w);
                for ((g, x), y) in dx.rows_mut().into_iter().zip(pre.rows()).zip(post.rows()) {
                    activation.backward(unit(x), unit(y), unit_mut(g));
                }
            }),
    }
}

/// One block of units' parameter gradients on `kernel`: `dw = dYᵀ X` and `db = Σ dY` (rows
/// summed in order), or, with `accumulate`, both added to what they hold (a batch's row
/// chunks summed in chunk order).
///
/// # Panics
/// If the shapes disagree.
pub(crate) fn parameter_gradients<T: Real>(
    kernel: Kernel,
    dy: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    dw: ArrayViewMut2<'_, T>,
    mut db: ArrayViewMut1<'_, T>,
    accumulate: bool,
) {
    let beta = if accumulate { T::one() } else { T::zero() };
    kernel
        .gemm(T::one(), dy, Op::Transpose, x, Op::Identity, beta, dw)
        .expect("buffer shapes follow the network");
    let db = db.as_slice_mut().expect("a bias is contiguous");
    if !accumulate {
        db.fill(T::zero());
    }
    for row in dy.rows() {
        // Slices, not ndarray iterators: this loop then vectorizes.
        for (b, &d) in db.iter_mut().zip(unit(row)) {
            *b = *b + d;
        }
    }
}

/// A row of a row-major buffer as a slice.
pub(crate) fn unit<'a, T>(row: ArrayView1<'a, T>) -> &'a [T] {
    row.to_slice()
        .expect("rows of row-major buffers are contiguous")
}

/// A row of a row-major buffer as a mutable slice.
pub(crate) fn unit_mut<'a, T>(row: ArrayViewMut1<'a, T>) -> &'a mut [T] {
    row.into_slice()
        .expect("rows of row-major buffers are contiguous")
}
