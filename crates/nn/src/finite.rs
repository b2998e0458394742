//! A vectorized test for NaN and infinity, cheap enough to run on every step.

use crate::Real;

const LANES: usize = 16;

/// Whether every value is finite. `v - v` is 0 for finite `v` and NaN otherwise; summing
/// it in independent lanes lets the compiler use SIMD (a short-circuiting `all` would not).
#[allow(clippy::eq_op)] // `v - v` is the point: it is NaN exactly when `v` is not finite.
pub(crate) fn all_finite<T: Real>(values: &[T]) -> bool {
    let mut lanes = [T::zero(); LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + (v - v);
        }
    }
    lanes.iter().chain(tail).all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    #[test]
    fn finds_nan_and_infinity_anywhere() {
        let mut values = vec![1.0_f32; 1000];
        assert!(all_finite(&values));
        for (index, bad) in [
            (0, f32::NAN),
            (517, f32::INFINITY),
            (999, f32::NEG_INFINITY),
        ] {
            values[index] = bad;
            assert!(!all_finite(&values), "missed {bad} at {index}");
            values[index] = f32::MAX;
            assert!(all_finite(&values), "f32::MAX is finite");
        }
    }
}
