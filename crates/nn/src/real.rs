//! The floating-point types networks train in.

use initlab_gemm::Scalar;
use initlab_init::Element;

/// `f32` (training) or `f64` (gradient checks): BLAS products through [`Scalar`],
/// initialization through [`Element`], plus the special functions activations need.
pub trait Real: Scalar + Element {
    /// The error function, for the exact GELU.
    fn erf(self) -> Self;

    /// Converts from `f64` (constants, hyper-parameters), rounding to nearest.
    fn of(value: f64) -> Self {
        <Self as Element>::from_f64_rounded(value)
    }

    /// Widens to `f64` for statistics.
    fn wide(self) -> f64 {
        num_traits::ToPrimitive::to_f64(&self).unwrap_or(f64::NAN)
    }
}

impl Real for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Real for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
}
