//! The element types strategies fill: `f32` and `f64`, and with the `half` feature
//! `half::f16` and `half::bf16`.

use std::fmt::Debug;

use num_traits::{Float, FromPrimitive};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::ziggurat;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    #[cfg(feature = "half")]
    impl Sealed for half::f16 {}
    #[cfg(feature = "half")]
    impl Sealed for half::bf16 {}
}

/// A floating-point element a strategy can fill: `f32` or `f64`, and with the `half`
/// feature `half::f16` and `half::bf16`.
///
/// Each type draws its standard normals natively (a 32-bit ziggurat for `f32`, rand_distr's
/// 64-bit ziggurat for `f64`), so `f32` fills cost one 32-bit draw per value. The half
/// types draw as `f32` and round to nearest; uniforms get their own type's mantissa.
///
/// # Half precision: the variance after rounding
/// Rounding `w` to nearest adds an error of variance about `Δ²/12`, `Δ` the spacing of the
/// type at `w`: `2⁻¹⁰·|w|` to `2⁻¹¹·|w|` for `f16`, `2⁻⁷·|w|` to `2⁻⁸·|w|` for `bf16`. Relative
/// to the variance that is below `1e-7` for `f16` and `2e-6` for `bf16`: every strategy's
/// stated [`moments`](crate::Initializer::moments) hold after rounding, which the
/// Kolmogorov–Smirnov tests of `tests/half.rs` check against the exact distribution of the
/// rounded values. One exception: `f16` has no normal numbers below `6.1e-5` (its
/// subnormals are spaced `6e-8` apart) and none above `65504`, where a fill is refused;
/// weights of standard deviation `1e-4` or less lose relative precision there (`bf16` has
/// `f32`'s range).
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

#[cfg(feature = "half")]
impl Element for half::f16 {
    fn from_f64_rounded(value: f64) -> Self {
        half::f16::from_f64(value)
    }

    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        half::f16::from_f32(ziggurat::standard_normal_f32(rng))
    }

    fn unit_uniform<R: Rng + ?Sized>(rng: &mut R) -> Self {
        // k / 2^11 for k < 2^11: every such value is an f16, the largest below 1.
        half::f16::from_f32((rng.next_u32() >> 21) as f32 * (1.0 / (1u32 << 11) as f32))
    }
}

#[cfg(feature = "half")]
impl Element for half::bf16 {
    fn from_f64_rounded(value: f64) -> Self {
        half::bf16::from_f64(value)
    }

    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        half::bf16::from_f32(ziggurat::standard_normal_f32(rng))
    }

    fn unit_uniform<R: Rng + ?Sized>(rng: &mut R) -> Self {
        // k / 2^8 for k < 2^8: every such value is a bf16, the largest below 1.
        half::bf16::from_f32((rng.next_u32() >> 24) as f32 * (1.0 / (1u32 << 8) as f32))
    }
}
