//! Checks on training and evaluation data, done once before any work.

use ndarray::ArrayView2;

use crate::finite::all_finite;
use crate::{NnError, Real, Targets};

/// The input and output widths data is checked against: a network's, whatever its layers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Io {
    pub(crate) input: usize,
    pub(crate) output: usize,
}

/// Rejects data the network cannot use: no rows, the wrong width, non-finite inputs,
/// targets of the wrong count or shape, labels out of range.
pub(crate) fn validate<T: Real>(
    io: Io,
    inputs: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
) -> Result<(), NnError> {
    validate_inputs(io, inputs)?;
    validate_targets(io, inputs.nrows(), targets)
}

/// Rejects inputs the network cannot use: no rows, the wrong width, non-finite values.
pub(crate) fn validate_inputs<T: Real>(io: Io, inputs: ArrayView2<'_, T>) -> Result<(), NnError> {
    if inputs.nrows() == 0 {
        return Err(NnError::EmptyDataset);
    }
    check_width(io, inputs.ncols())?;
    let finite = match inputs.as_slice() {
        Some(values) => all_finite(values),
        None => inputs
            .rows()
            .into_iter()
            .all(|row| row.iter().all(|v| v.is_finite())),
    };
    if !finite {
        let ((row, column), value) = inputs
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .expect("a non-finite value exists");
        return Err(NnError::NonFiniteInput {
            row,
            column,
            value: value.wide(),
        });
    }
    Ok(())
}

/// Rejects inputs of the wrong width.
pub(crate) fn check_width(io: Io, width: usize) -> Result<(), NnError> {
    if width == io.input {
        Ok(())
    } else {
        Err(NnError::InputWidth {
            expected: io.input,
            got: width,
        })
    }
}

fn validate_targets<T: Real>(io: Io, rows: usize, targets: Targets<'_, T>) -> Result<(), NnError> {
    let classes = io.output;
    match targets {
        Targets::Classes(labels) => validate_labels(labels, rows, classes)?,
        Targets::Values(values) => {
            if values.dim() != (rows, classes) {
                return Err(NnError::Targets {
                    what: format!(
                        "shape {:?}; expected [{}, {classes}] (one row of outputs per input row)",
                        values.shape(),
                        rows
                    ),
                });
            }
            if let Some(((row, column), value)) =
                values.indexed_iter().find(|(_, v)| !v.is_finite())
            {
                return Err(NnError::Targets {
                    what: format!(
                        "value at row {row}, column {column} is {value}; targets must be finite"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Rejects labels that are not one per row, each below `classes`.
pub(crate) fn validate_labels(
    labels: &[usize],
    rows: usize,
    classes: usize,
) -> Result<(), NnError> {
    if labels.len() != rows {
        return Err(NnError::Targets {
            what: format!(
                "{} labels for {} input rows; expected one label per row",
                labels.len(),
                rows
            ),
        });
    }
    if let Some((sample, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(NnError::LabelOutOfRange {
            sample,
            label,
            classes,
        });
    }
    Ok(())
}
