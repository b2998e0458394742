//! Orthogonal initialization (Saxe, McClelland & Ganguli 2014) from the QR factorization
//! of a Gaussian matrix, made Haar-distributed by the sign correction of Mezzadri (2007),
//! "How to generate random matrices from the classical compact groups".

use ndarray::ArrayViewMutD;

use crate::row_major::with_row_major;
use crate::{Element, InitError, RngKey, WeightLayout};

/// Fills `tensor`, flattened to `[shape[0], rest]` (PyTorch) or `[rest, shape[last]]`
/// (Keras), with `gain` times a Haar-random matrix whose rows (if fewer) or columns
/// (otherwise) are orthonormal.
pub(crate) fn orthogonal<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    gain: f64,
    key: RngKey,
    layout: WeightLayout,
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
    let shape = tensor.shape();
    let rows = match layout {
        WeightLayout::PyTorch => shape[0],
        WeightLayout::Keras => tensor.len() / shape[shape.len() - 1],
    };
    let cols = tensor.len() / rows;
    let q = haar(rows, cols, key)?;
    with_row_major(tensor, |values| {
        for (value, &q) in values.iter_mut().zip(q.iter()) {
            *value = T::from_f64_rounded(gain * q);
        }
        Ok(())
    })
}

/// Xiao et al. (2018)'s delta-orthogonal kernel, as JAX's `delta_orthogonal` builds it:
/// zeros but at the spatial centre (`(k - 1) / 2` on every axis), which holds, per group,
/// `gain` times the transpose of the Haar `in x out` matrix with orthonormal rows that
/// [`orthogonal`] draws for an `[in, out]` tensor in Keras's layout; group `g` draws from
/// the same key's stream after the groups before it. PyTorch's layout `[out, in, k...]`
/// holds the transpose of Keras's (and JAX's) `[k..., in, out]`.
pub(crate) fn delta_orthogonal<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    gain: f64,
    groups: usize,
    key: RngKey,
    layout: WeightLayout,
) -> Result<(), InitError> {
    let shape = tensor.shape().to_vec();
    let rank = shape.len();
    if !(3..=5).contains(&rank) {
        return Err(InitError::Rank {
            strategy: "delta_orthogonal",
            expected: "3, 4 or 5 (the kernel of a 1-, 2- or 3-D convolution)",
            shape,
        });
    }
    let (out, inputs, spatial) = match layout {
        WeightLayout::PyTorch => (shape[0], shape[1], &shape[2..]),
        WeightLayout::Keras => (shape[rank - 1], shape[rank - 2], &shape[..rank - 2]),
    };
    if groups == 0 || !out.is_multiple_of(groups) {
        return Err(InitError::Parameter {
            strategy: "delta_orthogonal",
            parameter: "groups",
            value: groups as f64,
            allowed: format!("a divisor of the {out} output channels"),
        });
    }
    let per_group = out / groups;
    if per_group < inputs {
        return Err(InitError::Shape {
            strategy: "delta_orthogonal",
            shape,
            expected: format!(
                "an orthogonal {per_group} x {inputs} centre needs at least as many output                  channels per group as input channels ({per_group} < {inputs}); orthogonal                  draws the whole kernel instead"
            ),
        });
    }
    tensor.fill(T::zero());
    if tensor.is_empty() {
        return Ok(());
    }
    let centre: Vec<usize> = spatial.iter().map(|&k| (k - 1) / 2).collect();
    let mut index = vec![0; rank];
    let (out_axis, in_axis, spatial_axes) = match layout {
        WeightLayout::PyTorch => (0, 1, 2..rank),
        WeightLayout::Keras => (rank - 1, rank - 2, 0..rank - 2),
    };
    for (axis, &c) in spatial_axes.zip(&centre) {
        index[axis] = c;
    }
    for group in 0..groups {
        let transposed = haar_at(inputs, per_group, key, group * inputs * per_group)?;
        for ((i, o), &q) in transposed.indexed_iter() {
            index[in_axis] = i;
            index[out_axis] = group * per_group + o;
            tensor[ndarray::IxDyn(&index)] = T::from_f64_rounded(gain * q);
        }
    }
    Ok(())
}

/// A `rows x cols` matrix with orthonormal columns (rows >= cols) or rows, Haar-distributed,
/// in f64 whatever the target type, so f32 and f64 tensors from one key agree.
fn haar(rows: usize, cols: usize, key: RngKey) -> Result<ndarray::Array2<f64>, InitError> {
    haar_at(rows, cols, key, 0)
}

/// [`haar`] from the Gaussians at positions `start..` of `key`'s stream.
fn haar_at(
    rows: usize,
    cols: usize,
    key: RngKey,
    start: usize,
) -> Result<ndarray::Array2<f64>, InitError> {
    use crate::sampler::Sampler;

    let (tall, short) = (rows.max(cols), rows.min(cols));
    let mut gaussian = ndarray::Array2::<f64>::zeros((tall, short));
    let values = gaussian.as_slice_mut().expect("a new array is C-order");
    Sampler::Normal {
        mean: 0.0,
        std: 1.0,
    }
    .fill_at(values, start, key);
    // Q's transpose, `short x tall`: already the answer for a wide matrix.
    let qt = thin_q_transposed(gaussian)?;
    Ok(if rows < cols { qt } else { qt.reversed_axes() })
}

/// The transpose of the thin `Q` of the tall `gaussian` with `R`'s diagonal made
/// non-negative, by the pure-Rust Householder QR.
#[cfg(not(feature = "lapack"))]
fn thin_q_transposed(gaussian: ndarray::Array2<f64>) -> Result<ndarray::Array2<f64>, InitError> {
    Ok(crate::qr::q_transposed(
        gaussian.reversed_axes().as_standard_layout().into_owned(),
    ))
}

/// The transpose of the thin `Q` of the tall `gaussian` with `R`'s diagonal made
/// non-negative, by LAPACK's Householder QR (`dgeqrf`, `dorgqr`) on one BLAS thread.
#[cfg(feature = "lapack")]
fn thin_q_transposed(gaussian: ndarray::Array2<f64>) -> Result<ndarray::Array2<f64>, InitError> {
    use ndarray::Axis;
    use ndarray_linalg::QR;

    let (tall, short) = gaussian.dim();
    let (mut q, r) = {
        let _one_thread = OneBlasThread::new();
        gaussian.qr()
    }
    .map_err(|error| InitError::Factorization {
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
    Ok(q.reversed_axes())
}
/// Runs OpenBLAS's LAPACK on one thread while alive: a threaded blocked QR sums in an
/// order that depends on the thread count, and 977,581 of the 1,048,576 values of a
/// 1024 x 1024 fill differed between 1 and 2 threads. One QR at a time holds the lock;
/// the previous count is restored after. (A caller that changes OpenBLAS's global thread
/// count from another thread during a fill can still undo this.)
#[cfg(feature = "lapack")]
struct OneBlasThread {
    previous: std::ffi::c_int,
    _lock: std::sync::MutexGuard<'static, ()>,
}

#[cfg(feature = "lapack")]
unsafe extern "C" {
    fn openblas_get_num_threads() -> std::ffi::c_int;
    fn openblas_set_num_threads(threads: std::ffi::c_int);
}

#[cfg(feature = "lapack")]
impl OneBlasThread {
    fn new() -> Self {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: OpenBLAS's thread-count getter and setter take and return plain ints.
        let previous = unsafe { openblas_get_num_threads() };
        // SAFETY: as above.
        unsafe { openblas_set_num_threads(1) };
        Self {
            previous,
            _lock: lock,
        }
    }
}

#[cfg(feature = "lapack")]
impl Drop for OneBlasThread {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { openblas_set_num_threads(self.previous) };
    }
}

#[cfg(all(test, feature = "lapack"))]
mod tests {
    /// Both QRs give the one `Q` with a positive `R` diagonal: the pure-Rust and the
    /// LAPACK path agree to rounding, tall and wide, across block boundaries.
    #[test]
    fn the_rust_and_lapack_factors_agree() {
        use crate::sampler::Sampler;
        for (tall, short) in [(300, 300), (257, 65), (1000, 33)] {
            let mut gaussian = ndarray::Array2::<f64>::zeros((tall, short));
            Sampler::Normal {
                mean: 0.0,
                std: 1.0,
            }
            .fill(gaussian.as_slice_mut().unwrap(), crate::RngKey::new(9));
            let lapack = super::thin_q_transposed(gaussian.clone()).unwrap();
            let rust =
                crate::qr::q_transposed(gaussian.reversed_axes().as_standard_layout().into_owned());
            let difference = (&lapack - &rust)
                .iter()
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(difference < 1e-10, "{tall}x{short}: {difference}");
        }
    }
}
