//! Checks on training and evaluation data, done once before any work.

use ndarray::ArrayView2;

use crate::{Mlp, NnError, Real, Targets};

/// Rejects data the network cannot use: no rows, the wrong width, non-finite inputs,
/// targets of the wrong count or shape, labels out of range.
pub(crate) fn validate<T: Real>(
    mlp: &Mlp<T>,
    inputs: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
) -> Result<(), NnError> {
    if inputs.nrows() == 0 {
        return Err(NnError::EmptyDataset);
    }
    mlp.check_width(inputs.ncols())?;
    if let Some(((row, column), value)) = inputs.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(NnError::NonFiniteInput {
            row,
            column,
            value: value.wide(),
        });
    }
    let classes = mlp.config().output;
    match targets {
        Targets::Classes(labels) => {
            if labels.len() != inputs.nrows() {
                return Err(NnError::Targets {
                    what: format!(
                        "{} labels for {} input rows; expected one label per row",
                        labels.len(),
                        inputs.nrows()
                    ),
                });
            }
            if let Some((sample, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes)
            {
                return Err(NnError::LabelOutOfRange {
                    sample,
                    label,
                    classes,
                });
            }
        }
        Targets::Values(values) => {
            if values.dim() != (inputs.nrows(), classes) {
                return Err(NnError::Targets {
                    what: format!(
                        "shape {:?}; expected [{}, {classes}] (one row of outputs per input row)",
                        values.shape(),
                        inputs.nrows()
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
