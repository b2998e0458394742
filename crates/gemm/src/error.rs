//! The one error initlab-gemm returns: operands whose shapes cannot be multiplied.

/// Operand shapes that do not fit the product asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// Two operands disagree on a dimension they must share.
    #[error("{op}: {left_name} has shape {left:?} but {right_name} has shape {right:?} ({rule})")]
    Mismatch {
        /// The operation that was called (`"gemm"`, `"affine"`, ...).
        op: &'static str,
        /// Name of the first operand, as in the function's signature.
        left_name: &'static str,
        /// Shape of the first operand.
        left: Vec<usize>,
        /// Name of the second operand.
        right_name: &'static str,
        /// Shape of the second operand.
        right: Vec<usize>,
        /// What the two shapes must satisfy.
        rule: &'static str,
    },
    /// A dimension does not fit the 32-bit integers of the BLAS interface.
    #[error("{op}: dimension {dim} is larger than BLAS's limit of {max}")]
    TooLarge {
        /// The operation that was called.
        op: &'static str,
        /// The offending dimension.
        dim: usize,
        /// The largest dimension the BLAS interface accepts.
        max: usize,
    },
}

impl ShapeError {
    pub(crate) fn mismatch(
        op: &'static str,
        (left_name, left): (&'static str, &[usize]),
        (right_name, right): (&'static str, &[usize]),
        rule: &'static str,
    ) -> Self {
        Self::Mismatch {
            op,
            left_name,
            left: left.to_vec(),
            right_name,
            right: right.to_vec(),
            rule,
        }
    }
}
