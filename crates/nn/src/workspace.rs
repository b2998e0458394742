//! Buffers a forward and backward pass write into, allocated once per row chunk.

use ndarray::{Array2, ArrayView2, s};

use crate::Real;

/// Per-layer activations and gradients for up to `rows` samples.
#[derive(Debug)]
pub(crate) struct Workspace<T> {
    /// Pre-activations `x W^T + b` of every layer, `[rows, out]`.
    pub(crate) pre: Vec<Array2<T>>,
    /// Activations of every hidden layer, `[rows, out]` (the output layer has none).
    pub(crate) post: Vec<Array2<T>>,
    /// Gradient of the loss with respect to each layer's pre-activation.
    pub(crate) grad: Vec<Array2<T>>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for layers of these output widths on up to `rows` samples.
    pub(crate) fn new(widths: impl Iterator<Item = usize>, rows: usize) -> Self {
        let widths: Vec<usize> = widths.collect();
        let buffers = |count: usize| {
            widths[..count]
                .iter()
                .map(|&w| Array2::zeros((rows, w)))
                .collect::<Vec<_>>()
        };
        Self {
            pre: buffers(widths.len()),
            post: buffers(widths.len() - 1),
            grad: buffers(widths.len()),
        }
    }

    /// The output layer's pre-activations for the first `rows` rows.
    pub(crate) fn logits(&self, rows: usize) -> ArrayView2<'_, T> {
        self.pre
            .last()
            .expect("a network has an output layer")
            .slice(s![..rows, ..])
    }
}
