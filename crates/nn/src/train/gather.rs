//! A mini-batch's samples, copied from the data set into a trainer's buffers.

use ndarray::{ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::{Real, Targets};

/// Samples per task when a row chunk gathers its rows from the data set.
const GATHER_ROWS: usize = 32;

/// Copies the samples `rows` of the data set into `x` and their targets into `labels` or
/// `values`, all of at least `rows.len()` rows; returns the gathered targets.
pub(crate) fn gather<'b, T: Real>(
    x: &mut ndarray::Array2<T>,
    labels: &'b mut [usize],
    values: &'b mut ndarray::Array2<T>,
    inputs: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
    rows: &[usize],
) -> Targets<'b, T> {
    // In parallel, so that a second worker is awake when the first layer starts.
    x.axis_chunks_iter_mut(Axis(0), GATHER_ROWS)
        .into_par_iter()
        .zip(rows.par_chunks(GATHER_ROWS))
        .for_each(|(mut chunk, rows)| {
            for (mut dst, &row) in chunk.axis_iter_mut(Axis(0)).zip(rows) {
                dst.assign(&inputs.row(row));
            }
        });
    let n = rows.len();
    match targets {
        Targets::Classes(source) => {
            for (dst, &row) in labels.iter_mut().zip(rows) {
                *dst = source[row];
            }
            Targets::Classes(&labels[..n])
        }
        Targets::Values(source) => {
            for (mut dst, &row) in values.axis_iter_mut(Axis(0)).zip(rows) {
                dst.assign(&source.row(row));
            }
            Targets::Values(values.slice(s![..n, ..]))
        }
    }
}
