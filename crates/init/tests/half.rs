//! `f16` and `bf16` fills (feature `half`) have the variance every strategy states, after
//! rounding: moments within standard errors, and the Kolmogorov–Smirnov distance to the
//! continuous distribution within the critical value plus the most rounding can move a
//! CDF.
#![cfg(feature = "half")]

mod common;

use common::{assert_moments, ks_critical, ks_statistic, normal_cdf};
use initlab_init::half::{bf16, f16};
use initlab_init::{Element, Fans, Initializer, Nonlinearity, RngKey};
use ndarray::Array2;

const SHAPE: (usize, usize) = (400, 784);

/// How far rounding to a type with `bits` significand bits can move the CDF of a normal:
/// a value moves by at most 1.5 spacings (the draw and the scaling each round), a spacing
/// is at most `2^(1 - bits) |w|`, and `|w| pdf(w)` peaks at `phi(1) = 0.242`.
fn normal_rounding_shift(bits: i32) -> f64 {
    1.5 * 2f64.powi(1 - bits) * 0.242
}

fn check<T: Element + Into<f32>>(label: &str, bits: i32) {
    let fans = Fans::from_shape(&[SHAPE.0, SHAPE.1]).unwrap();
    let key = RngKey::new(17);
    let n = SHAPE.0 * SHAPE.1;

    let he = Initializer::he_normal(Nonlinearity::Relu);
    let w: Array2<T> = he.sample(SHAPE, key.tensor(1)).unwrap();
    let mut values: Vec<f64> = w.iter().map(|&v| f64::from(v.into())).collect();
    let moments = he.moments(fans).unwrap().unwrap();
    assert_moments(
        &format!("{label} he_normal"),
        &values,
        moments.mean,
        moments.variance,
    );
    let std = moments.variance.sqrt();
    let d = ks_statistic(&mut values, |x| normal_cdf(x / std));
    let allowed = ks_critical(n) + normal_rounding_shift(bits);
    assert!(d < allowed, "{label} he_normal: KS {d} >= {allowed}");

    let glorot = Initializer::glorot_uniform();
    let w: Array2<T> = glorot.sample(SHAPE, key.tensor(2)).unwrap();
    let mut values: Vec<f64> = w.iter().map(|&v| f64::from(v.into())).collect();
    let moments = glorot.moments(fans).unwrap().unwrap();
    assert_moments(
        &format!("{label} glorot_uniform"),
        &values,
        moments.mean,
        moments.variance,
    );
    let bound = (3.0 * moments.variance).sqrt();
    // A uniform's CDF moves by the value's move over the width: 1.5 spacings of at most
    // 2^(1 - bits) * bound, over 2 * bound.
    let allowed = ks_critical(n) + 1.5 * 2f64.powi(1 - bits) / 2.0;
    let d = ks_statistic(&mut values, |x| {
        ((x + bound) / (2.0 * bound)).clamp(0.0, 1.0)
    });
    assert!(d < allowed, "{label} glorot_uniform: KS {d} >= {allowed}");

    // Orthogonal is computed in f64 and rounded once: orthonormal to the type's precision.
    let q: Array2<T> = Initializer::orthogonal(1.0)
        .sample((64, 32), key.tensor(3))
        .unwrap();
    let q = q.mapv(|v| f64::from(v.into()));
    let gram = q.t().dot(&q);
    let tolerance = 64.0 * 2f64.powi(-bits);
    for ((i, j), &g) in gram.indexed_iter() {
        let expected = if i == j { 1.0 } else { 0.0 };
        assert!(
            (g - expected).abs() < tolerance,
            "{label} orthogonal [{i}, {j}] = {g}"
        );
    }
}

#[test]
fn f16_fills_have_the_stated_distribution() {
    check::<f16>("f16", 11);
}

#[test]
fn bf16_fills_have_the_stated_distribution() {
    check::<bf16>("bf16", 8);
}

/// Past f16's largest value (65504) a fill is an error, not infinities.
#[test]
fn f16_refuses_what_it_cannot_hold() {
    let error = Initializer::constant(1e5).sample::<f16, _>((2, 2), RngKey::new(0));
    assert!(error.is_err(), "{error:?}");
}
