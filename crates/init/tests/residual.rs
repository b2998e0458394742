//! Residual-network rules: a scaled strategy draws the same values from the same key,
//! scaled, with the stated moments; Fixup and GPT-2's projections have their papers'
//! variances.

mod common;

use common::assert_moments;
use initlab_init::presets::residual::{fixup, gpt2_projection};
use initlab_init::{Fans, InitError, Initializer, Nonlinearity, RngKey};
use ndarray::Array2;

#[test]
fn a_scaled_strategy_is_the_same_draws_scaled() {
    let key = RngKey::new(4).tensor(9);
    for inner in [
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::glorot_uniform(),
        Initializer::truncated_normal(0.1, 0.02),
        Initializer::orthogonal(1.0),
    ] {
        let base: Array2<f64> = inner.sample((300, 200), key).unwrap();
        let scaled: Array2<f64> = inner.clone().scaled(0.25).sample((300, 200), key).unwrap();
        for (b, s) in base.iter().zip(&scaled) {
            assert!(
                (0.25 * b - s).abs() <= 4.0 * f64::EPSILON * b.abs(),
                "{}: {b} {s}",
                inner.name()
            );
        }
        let fans = Fans::new(200, 300);
        let (b, s) = (
            inner.moments(fans).unwrap().unwrap(),
            inner.clone().scaled(0.25).moments(fans).unwrap().unwrap(),
        );
        assert!(
            (s.variance - b.variance / 16.0).abs() <= 1e-15 * b.variance,
            "{}",
            inner.name()
        );
        assert!((s.mean - b.mean / 4.0).abs() <= 1e-15, "{}", inner.name());
    }
}

#[test]
fn fixup_and_gpt2_have_their_papers_variances() {
    let (rows, fan_in) = (500, 784);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    // 16 branches of 3 layers: weights scaled by 16^(-1/4) = 1/2, variance by 1/4.
    let branch = fixup(he, 16, 3).unwrap();
    let w: Array2<f64> = branch.sample((rows, fan_in), RngKey::new(1)).unwrap();
    let values: Vec<f64> = w.iter().copied().collect();
    assert_moments("fixup", &values, 0.0, 2.0 / fan_in as f64 / 4.0);

    let projection = gpt2_projection(0.02, 12).unwrap();
    let w: Array2<f64> = projection.sample((rows, fan_in), RngKey::new(2)).unwrap();
    let values: Vec<f64> = w.iter().copied().collect();
    assert_moments("gpt2_projection", &values, 0.0, 0.02 * 0.02 / 24.0);
}

#[test]
fn a_scaled_strategy_fills_shards_as_a_whole() {
    let scaled = fixup(Initializer::he_normal(Nonlinearity::Relu), 8, 2).unwrap();
    let key = RngKey::new(6);
    let full: Array2<f32> = scaled.sample((64, 40), key).unwrap();
    let mut shard = vec![0.0f32; 16 * 40];
    scaled
        .fill_shard(&mut shard, &[64, 40], 16..32, 0..40, key)
        .unwrap();
    assert_eq!(shard, full.as_slice().unwrap()[16 * 40..32 * 40]);
}

#[test]
fn bad_residual_parameters_are_named() {
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let negative = he.clone().scaled(-1.0).validate().unwrap_err();
    assert!(negative.to_string().contains("`factor`"), "{negative}");
    let one_layer = fixup(he.clone(), 4, 1).unwrap_err();
    assert!(
        matches!(
            one_layer,
            InitError::Parameter {
                parameter: "layers_per_branch",
                ..
            }
        ),
        "{one_layer}"
    );
    assert!(fixup(he, 0, 2).is_err());
    let no_layers = gpt2_projection(0.02, 0).unwrap_err();
    assert!(no_layers.to_string().contains("`layers`"), "{no_layers}");
    assert!(gpt2_projection(f64::NAN, 12).is_err());
}
