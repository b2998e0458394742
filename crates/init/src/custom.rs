//! User-defined strategies.

use std::fmt::Debug;

use crate::{Fans, InitError, Moments, RngKey};

/// A user-defined initialization strategy, used through [`Initializer::Custom`](crate::Initializer::Custom).
///
/// The strategy fills a row-major `f64` buffer; the library converts to the tensor's
/// element type and layout. Use [`fill_parallel`](crate::fill_parallel) inside `fill` to
/// get the same reproducibility contract as the built-in strategies.
///
/// # Examples
/// ```
/// use initlab_init::{fill_parallel, CustomInit, Fans, InitError, Initializer, Moments, RngKey};
/// use initlab_init::rand::Rng;
///
/// /// Rademacher weights: ±1/sqrt(fan_in) with equal probability.
/// #[derive(Debug)]
/// struct Rademacher;
///
/// impl CustomInit for Rademacher {
///     fn name(&self) -> &str {
///         "rademacher"
///     }
///
///     fn fill(&self, values: &mut [f64], _shape: &[usize], fans: Option<Fans>, key: RngKey) -> Result<(), InitError> {
///         let scale = 1.0 / (fans.map_or(1, |f| f.fan_in).max(1) as f64).sqrt();
///         fill_parallel(values, key, |rng, block| {
///             for v in block {
///                 *v = if rng.next_u32() & 1 == 0 { scale } else { -scale };
///             }
///         });
///         Ok(())
///     }
///
///     fn moments(&self, fans: Fans) -> Option<Moments> {
///         Some(Moments { mean: 0.0, variance: 1.0 / fans.fan_in as f64 })
///     }
/// }
///
/// let w = Initializer::custom(Rademacher).sample::<f32, _>((4, 16), RngKey::new(1))?;
/// assert!(w.iter().all(|&v| v.abs() == 0.25));
/// # Ok::<(), InitError>(())
/// ```
pub trait CustomInit: Debug + Send + Sync {
    /// The name reports print.
    fn name(&self) -> &str;

    /// Fills `values`, the tensor of `shape` in row-major order. `fans` are the tensor's
    /// (from its shape, or as the caller passed them); `None` when the shape has rank < 2
    /// and the caller passed none.
    ///
    /// # Errors
    /// Whatever the strategy rejects, e.g. as [`InitError::Custom`].
    fn fill(
        &self,
        values: &mut [f64],
        shape: &[usize],
        fans: Option<Fans>,
        key: RngKey,
    ) -> Result<(), InitError>;

    /// Mean and variance of one weight for these fans, if the strategy can say.
    fn moments(&self, fans: Fans) -> Option<Moments> {
        let _ = fans;
        None
    }
}
