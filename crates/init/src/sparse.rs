//! Sparse initialization (Martens 2010, "Deep learning via Hessian-free optimization"):
//! normal weights with a fixed number of zeros in every column.

use ndarray::ArrayViewMutD;
use rand::RngExt;
use rayon::prelude::*;

use crate::key::Purpose;
use crate::row_major::with_row_major;
use crate::sampler::Sampler;
use crate::{Element, InitError, RngKey};

/// Fills a 2-D `tensor` with `N(0, std^2)` and zeros exactly `ceil(sparsity * rows)`
/// randomly chosen rows in each column.
pub(crate) fn sparse<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    sparsity: f64,
    std: f64,
    key: RngKey,
) -> Result<(), InitError> {
    let &[rows, cols] = tensor.shape() else {
        return Err(InitError::Rank {
            strategy: "sparse",
            expected: "2",
            shape: tensor.shape().to_vec(),
        });
    };
    let zeros = ((sparsity * rows as f64).ceil() as usize).min(rows);
    let zero_rows: Vec<Vec<usize>> = (0..cols)
        .into_par_iter()
        .map(|col| {
            // A partial Fisher-Yates shuffle: the first `zeros` entries are a uniform
            // random subset of the rows.
            let mut rng = key.stream(Purpose::SparseMask, col as u64);
            let mut order: Vec<usize> = (0..rows).collect();
            for i in 0..zeros {
                let j = rng.random_range(i..rows);
                order.swap(i, j);
            }
            order.truncate(zeros);
            order
        })
        .collect();
    with_row_major(tensor, |values| {
        Sampler::Normal { mean: 0.0, std }.fill(values, key);
        for (col, rows_to_zero) in zero_rows.iter().enumerate() {
            for &row in rows_to_zero {
                values[row * cols + col] = T::zero();
            }
        }
        Ok(())
    })
}
