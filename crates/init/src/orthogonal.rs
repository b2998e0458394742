//! Orthogonal initialization (Saxe, McClelland & Ganguli 2014) from the QR factorization
//! of a Gaussian matrix, made Haar-distributed by the sign correction of Mezzadri (2007),
//! "How to generate random matrices from the classical compact groups".

use ndarray::ArrayViewMutD;

use crate::row_major::with_row_major;
use crate::{Element, InitError, RngKey};

/// Fills `tensor`, flattened to `[shape[0], rest]`, with `gain` times a Haar-random matrix
/// whose rows (if fewer) or columns (otherwise) are orthonormal.
pub(crate) fn orthogonal<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    gain: f64,
    key: RngKey,
) -> Result<(), InitError> {
    if tensor.ndim() < 2 {
        return Err(InitError::Rank {
            strategy: "orthogonal",
            expected: ">= 2",
            shape: tensor.shape().to_vec(),
        });
    }
    if tensor.is_empty() {
        return Ok(());
    }
    let rows = tensor.shape()[0];
    let cols = tensor.len() / rows;
    let q = haar(rows, cols, key)?;
    with_row_major(tensor, |values| {
        for (value, &q) in values.iter_mut().zip(q.iter()) {
            *value = T::from_f64_rounded(gain * q);
        }
        Ok(())
    })
}

/// A `rows x cols` matrix with orthonormal columns (rows >= cols) or rows, Haar-distributed,
/// in f64 whatever the target type, so f32 and f64 tensors from one key agree.
#[cfg(feature = "orthogonal")]
fn haar(rows: usize, cols: usize, key: RngKey) -> Result<ndarray::Array2<f64>, InitError> {
    use ndarray::{Array2, Axis};
    use ndarray_linalg::QR;

    use crate::sampler::Sampler;

    let (tall, short) = (rows.max(cols), rows.min(cols));
    let mut gaussian = Array2::<f64>::zeros((tall, short));
    let values = gaussian.as_slice_mut().expect("a new array is C-order");
    Sampler::Normal {
        mean: 0.0,
        std: 1.0,
    }
    .fill(values, key);
    let (mut q, r) = gaussian.qr().map_err(|error| InitError::Factorization {
        rows: tall,
        cols: short,
        reason: error.to_string(),
    })?;
    // Householder QR returns R with diagonal signs that depend on the algorithm, which
    // biases Q; flipping Q's columns where R's diagonal is negative makes Q Haar.
    for (mut column, &d) in q.axis_iter_mut(Axis(1)).zip(r.diag()) {
        if d < 0.0 {
            column.mapv_inplace(|v| -v);
        }
    }
    Ok(if rows < cols { q.reversed_axes() } else { q })
}

#[cfg(not(feature = "orthogonal"))]
fn haar(_rows: usize, _cols: usize, _key: RngKey) -> Result<ndarray::Array2<f64>, InitError> {
    Err(InitError::MissingFeature {
        strategy: "orthogonal",
        feature: "orthogonal",
    })
}
