//! The one error type of this crate: what was wrong with the parameters or the shape.

/// Why a strategy could not initialize a tensor. Every message names the strategy, the
/// parameter or shape at fault, its value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// A parameter is outside its allowed range.
    #[error("{strategy}: `{parameter}` = {value} is not allowed; expected {allowed}")]
    Parameter {
        /// The strategy being configured (e.g. `"normal"`).
        strategy: &'static str,
        /// The parameter's name as in the strategy's fields.
        parameter: &'static str,
        /// The value given.
        value: f64,
        /// What would have been accepted.
        allowed: String,
    },
    /// Two parameters that must be ordered are not (`low >= high`, `a >= b`).
    #[error("{strategy}: `{low_name}` = {low} must be below `{high_name}` = {high}")]
    Order {
        /// The strategy being configured.
        strategy: &'static str,
        /// Name of the parameter that must be smaller.
        low_name: &'static str,
        /// Its value.
        low: f64,
        /// Name of the parameter that must be larger.
        high_name: &'static str,
        /// Its value.
        high: f64,
    },
    /// The shape has no dimensions at all.
    #[error(
        "{strategy}: the shape is empty (rank 0); a tensor to initialize needs at least one dimension"
    )]
    EmptyShape {
        /// The strategy being applied.
        strategy: &'static str,
    },
    /// The strategy needs fans and the shape's rank gives none.
    #[error(
        "{strategy}: needs fan_in/fan_out, which a tensor of shape {shape:?} (rank {}) does not define; fans need rank >= 2, or pass them explicitly with `fill_with_fans`",
        shape.len()
    )]
    NoFans {
        /// The strategy being applied.
        strategy: &'static str,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// A fan the strategy divides by is zero.
    #[error("{strategy}: {which} is 0 ({fans}); the fan a strategy scales by must be positive")]
    ZeroFan {
        /// The strategy being applied.
        strategy: &'static str,
        /// `"fan_in"`, `"fan_out"` or `"fan_in + fan_out"`.
        which: &'static str,
        /// The fans that were given.
        fans: crate::Fans,
    },
    /// The strategy only works on tensors of some ranks.
    #[error("{strategy}: works on tensors of rank {expected}, got shape {shape:?} (rank {})", shape.len())]
    Rank {
        /// The strategy being applied.
        strategy: &'static str,
        /// The ranks that are allowed, in words.
        expected: &'static str,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// The tensor's shape, whatever its rank, does not suit the strategy.
    #[error("{strategy}: shape {shape:?} does not fit: {expected}")]
    Shape {
        /// The strategy being applied.
        strategy: &'static str,
        /// The tensor's shape.
        shape: Vec<usize>,
        /// What the shape needs, in words.
        expected: String,
    },
    /// The QR factorization behind orthogonal initialization failed.
    #[error("orthogonal: QR factorization of a {rows}x{cols} Gaussian matrix failed: {reason}")]
    Factorization {
        /// Rows of the factored matrix.
        rows: usize,
        /// Columns of the factored matrix.
        cols: usize,
        /// LAPACK's complaint (the `lapack` feature's QR; the built-in one cannot fail).
        reason: String,
    },
    /// A slice holding another number of values than its shape.
    #[error("{strategy}: {values} values given for shape {shape:?}; expected {expected}")]
    Length {
        /// The strategy being applied.
        strategy: &'static str,
        /// How many values the slice holds.
        values: usize,
        /// The shape given for it.
        shape: Vec<usize>,
        /// The number of values the shape has (`None` past a usize).
        expected: String,
    },
    /// A shard that does not fit its tensor, or a strategy that cannot fill a shard alone.
    #[error("{strategy}: cannot fill this shard: {detail}")]
    Shard {
        /// The strategy being applied.
        strategy: &'static str,
        /// What was wrong, with the shapes and ranges involved.
        detail: String,
    },
    /// The parameters are finite, but the values they produce are not in the element type
    /// (a constant of 1e300 in `f32`, a truncated normal whose interval holds no
    /// probability mass a double can represent).
    #[error("{strategy}: {detail}; the weights would not be finite {element} values")]
    OutOfRange {
        /// The strategy being applied.
        strategy: &'static str,
        /// The element type being filled (`f32` or `f64`).
        element: &'static str,
        /// Which values, and the limit they pass.
        detail: String,
    },
    /// A shape whose fans overflow `usize`.
    #[error("fans: the fans of shape {shape:?} overflow a usize")]
    FanOverflow {
        /// The shape.
        shape: Vec<usize>,
    },
    /// A user-defined strategy reported an error of its own.
    #[error("{strategy}: {message}")]
    Custom {
        /// The custom strategy's name.
        strategy: String,
        /// What went wrong.
        message: String,
    },
}

/// Checks that a parameter is finite and satisfies `ok`, else an [`InitError::Parameter`].
pub(crate) fn check(
    strategy: &'static str,
    parameter: &'static str,
    value: f64,
    ok: impl FnOnce(f64) -> bool,
    allowed: &str,
) -> Result<(), InitError> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(InitError::Parameter {
            strategy,
            parameter,
            value,
            allowed: allowed.to_owned(),
        })
    }
}

/// Checks `low < high` (both finite), else an [`InitError::Order`] or `Parameter` error.
pub(crate) fn check_order(
    strategy: &'static str,
    (low_name, low): (&'static str, f64),
    (high_name, high): (&'static str, f64),
) -> Result<(), InitError> {
    check(strategy, low_name, low, |_| true, "a finite number")?;
    check(strategy, high_name, high, |_| true, "a finite number")?;
    if low < high {
        Ok(())
    } else {
        Err(InitError::Order {
            strategy,
            low_name,
            low,
            high_name,
            high,
        })
    }
}
