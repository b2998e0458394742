//! The element types strategies fill: `f32` and `f64`.

use std::fmt::Debug;

use num_traits::{Float, FromPrimitive};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::ziggurat;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element a strategy can fill: `f32` or `f64`.
///
/// Each type draws its standard normals natively (a 32-bit ziggurat for `f32`, rand_distr's
/// 64-bit ziggurat for `f64`), so `f32` fills cost one 32-bit draw per value.
pub trait Element:
    Float + FromPrimitive + Send + Sync + Debug + Default + 'static + sealed::Sealed
{
    /// Rounds an `f64` to this type (round to nearest, which is monotonic: a value inside
    /// `[lo, hi]` stays inside the rounded bounds).
    fn from_f64_rounded(value: f64) -> Self;

    /// A standard normal variate.
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self;

    /// A uniform variate in `[0, 1)` with the type's full mantissa.
    fn unit_uniform<R: Rng + ?Sized>(rng: &mut R) -> Self;
}

impl Element for f32 {
    fn from_f64_rounded(value: f64) -> Self {
        value as f32
    }

    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        ziggurat::standard_normal_f32(rng)
    }

    fn unit_uniform<R: Rng + ?Sized>(rng: &mut R) -> Self {
        (rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }
}

impl Element for f64 {
    fn from_f64_rounded(value: f64) -> Self {
        value
    }

    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        StandardNormal.sample(rng)
    }

    fn unit_uniform<R: Rng + ?Sized>(rng: &mut R) -> Self {
        (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
