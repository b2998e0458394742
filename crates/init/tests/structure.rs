//! Deterministic and structured strategies: constants, identity, dirac, sparse, presets.

use initlab_init::{Fans, Initializer, RngKey, presets};
use ndarray::{Array1, Array2, Array4, Axis};

#[test]
fn constants_fill_every_element() {
    let key = RngKey::new(0);
    assert!(
        Initializer::Zeros
            .sample::<f32, _>((3, 4), key)
            .unwrap()
            .iter()
            .all(|&v| v == 0.0)
    );
    assert!(
        Initializer::Ones
            .sample::<f64, _>(7, key)
            .unwrap()
            .iter()
            .all(|&v| v == 1.0)
    );
    let c = Initializer::Constant { value: 0.25 }
        .sample::<f32, _>((2, 2, 2), key)
        .unwrap();
    assert!(c.iter().all(|&v| v == 0.25));
}

#[test]
fn identity_is_a_scaled_rectangular_eye() {
    let eye = Initializer::Identity { gain: 2.0 }
        .sample::<f64, _>((3, 5), RngKey::new(0))
        .unwrap();
    let mut expected = Array2::zeros((3, 5));
    for i in 0..3 {
        expected[[i, i]] = 2.0;
    }
    assert_eq!(eye, expected);
}

#[test]
fn dirac_passes_each_group_channel_through_the_center() {
    let w = Initializer::Dirac { groups: 2 }
        .sample::<f32, _>((4, 3, 3, 3), RngKey::new(0))
        .unwrap();
    let mut expected = Array4::<f32>::zeros((4, 3, 3, 3));
    for (out, inp) in [(0, 0), (1, 1), (2, 0), (3, 1)] {
        expected[[out, inp, 1, 1]] = 1.0;
    }
    assert_eq!(w, expected);
    // As a convolution it is the identity: each output sees exactly one input tap.
    assert_eq!(w.sum(), 4.0);
}

#[test]
fn sparse_has_exactly_ceil_sparsity_rows_zeros_per_column() {
    for (rows, cols, sparsity) in [
        (100, 30, 0.1),
        (7, 50, 0.5),
        (64, 64, 0.0),
        (10, 3, 0.95),
        (33, 9, 0.3),
    ] {
        let w = Initializer::Sparse {
            sparsity,
            std: 0.01,
        }
        .sample::<f32, _>((rows, cols), RngKey::new(rows as u64))
        .unwrap();
        let zeros_expected = (sparsity * rows as f64).ceil() as usize;
        for (j, column) in w.axis_iter(Axis(1)).enumerate() {
            let zeros = column.iter().filter(|&&v| v == 0.0).count();
            assert_eq!(
                zeros, zeros_expected,
                "{rows}x{cols} sparsity {sparsity}: column {j}"
            );
        }
    }
}

#[test]
fn sparse_zeros_are_spread_over_rows() {
    // Each row is zeroed in a column with probability 1/4: counts per row ~ Binomial(4000, 1/4).
    let (rows, cols) = (8, 4000);
    let w = Initializer::Sparse {
        sparsity: 0.25,
        std: 1.0,
    }
    .sample::<f64, _>((rows, cols), RngKey::new(3))
    .unwrap();
    let expected = cols as f64 / 4.0;
    let sd = (cols as f64 * 0.25 * 0.75).sqrt();
    for (i, row) in w.axis_iter(Axis(0)).enumerate() {
        let zeros = row.iter().filter(|&&v| v == 0.0).count() as f64;
        assert!(
            (zeros - expected).abs() < 5.0 * sd,
            "row {i}: {zeros} zeros, expected {expected}"
        );
    }
}

#[test]
fn pytorch_linear_preset_matches_its_documented_bounds() {
    let (fan_out, fan_in) = (64, 300);
    let preset = presets::pytorch_linear();
    let fans = Fans::new(fan_in, fan_out);
    let key = RngKey::new(11);
    let w = preset
        .weight
        .sample::<f64, _>((fan_out, fan_in), key.tensor(0))
        .unwrap();
    let mut b = Array1::<f64>::zeros(fan_out);
    preset
        .bias
        .fill_with_fans(&mut b, fans, key.tensor(1))
        .unwrap();
    let bound = 1.0 / (fan_in as f64).sqrt();
    assert!(w.iter().all(|v| v.abs() <= bound * (1.0 + 1e-12)));
    assert!(b.iter().all(|v| v.abs() <= bound));
    assert!((preset.weight.variance(fans).unwrap().unwrap() - bound * bound / 3.0).abs() < 1e-15);
    assert!((preset.bias.variance(fans).unwrap().unwrap() - bound * bound / 3.0).abs() < 1e-15);
}

#[test]
fn keras_and_flax_presets_have_their_variances() {
    let fans = Fans::new(300, 100);
    let keras = presets::keras_dense();
    assert!((keras.weight.variance(fans).unwrap().unwrap() - 2.0 / 400.0).abs() < 1e-15);
    assert_eq!(keras.bias.variance(fans).unwrap(), Some(0.0));
    let flax = presets::flax_dense();
    assert!((flax.weight.variance(fans).unwrap().unwrap() - 1.0 / 300.0).abs() < 1e-15);
}

#[test]
fn fans_follow_pytorch_and_keras_layouts() {
    assert_eq!(Fans::from_shape(&[10, 20]).unwrap(), Fans::new(20, 10));
    let conv = Fans::from_shape(&[16, 8, 3, 5]).unwrap();
    assert_eq!(
        (conv.fan_in, conv.fan_out, conv.receptive_field),
        (8 * 15, 16 * 15, 15)
    );
    assert_eq!(Fans::from_keras_shape(&[3, 5, 8, 16]).unwrap(), conv);
    assert_eq!(
        Fans::from_keras_shape(&[20, 10]).unwrap(),
        Fans::new(20, 10)
    );
    assert!(Fans::from_shape(&[10]).is_err());
    assert!(Fans::from_keras_shape(&[]).is_err());
}

#[test]
fn gains_equal_pytorch_calculate_gain() {
    use initlab_init::Nonlinearity::*;
    assert_eq!(Linear.gain(), 1.0);
    assert_eq!(Conv.gain(), 1.0);
    assert_eq!(Sigmoid.gain(), 1.0);
    assert_eq!(Tanh.gain(), 5.0 / 3.0);
    assert_eq!(Relu.gain(), 2.0_f64.sqrt());
    assert_eq!(
        LeakyRelu {
            negative_slope: 0.01
        }
        .gain(),
        (2.0 / (1.0 + 0.01_f64.powi(2))).sqrt()
    );
    assert_eq!(Selu.gain(), 0.75);
}

/// Records the fans it is given, and fills with `1 / sqrt(fan_in)`, or 1 without fans.
#[derive(Debug)]
struct ScaleByFanIn;

impl initlab_init::CustomInit for ScaleByFanIn {
    fn name(&self) -> &str {
        "scale_by_fan_in"
    }

    fn fill(
        &self,
        values: &mut [f64],
        _shape: &[usize],
        fans: Option<Fans>,
        _key: RngKey,
    ) -> Result<(), initlab_init::InitError> {
        let value = fans.map_or(1.0, |f| 1.0 / (f.fan_in as f64).sqrt());
        values.fill(value);
        Ok(())
    }
}

#[test]
fn custom_strategies_get_fans_where_the_shape_has_them_and_none_elsewhere() {
    let custom = Initializer::custom(ScaleByFanIn);
    let weight = custom.sample::<f64, _>((3, 16), RngKey::new(0)).unwrap();
    assert!(weight.iter().all(|&w| w == 0.25));
    // A vector defines no fans: the strategy sees None and decides.
    let bias = custom.sample::<f64, _>(5, RngKey::new(0)).unwrap();
    assert!(bias.iter().all(|&b| b == 1.0));
    // Or the caller passes its weight's.
    let mut bias = Array1::<f64>::zeros(5);
    custom
        .fill_with_fans(&mut bias, Fans::new(64, 5), RngKey::new(0))
        .unwrap();
    assert!(bias.iter().all(|&b| b == 0.125));
}
