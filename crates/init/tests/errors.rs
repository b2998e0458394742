//! Tier 1: bad parameters and shapes are errors that name what is wrong; nothing panics.

use initlab_init::{
    FanMode, Fans, InitError, Initializer, Nonlinearity, RngKey, ScalingDistribution, TruncatedStd,
};
use ndarray::{Array0, Array1, Array2, Array3};

fn message(strategy: Initializer, shape: &[usize]) -> String {
    let mut tensor = ndarray::ArrayD::<f32>::zeros(shape);
    strategy
        .fill(&mut tensor, RngKey::new(0))
        .unwrap_err()
        .to_string()
}

fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{text:?} does not mention {part:?}");
    }
}

#[test]
fn bad_parameters_name_the_parameter_value_and_range() {
    let cases: Vec<(Initializer, &[&str])> = vec![
        (
            Initializer::normal(0.0, -1.0),
            &["normal", "`std` = -1", ">= 0"],
        ),
        (
            Initializer::normal(0.0, f64::NAN),
            &["normal", "`std` = NaN"],
        ),
        (
            Initializer::normal(f64::INFINITY, 1.0),
            &["`mean` = inf", "finite"],
        ),
        (
            Initializer::uniform(1.0, 1.0),
            &["uniform", "`low` = 1", "`high` = 1"],
        ),
        (
            Initializer::uniform(2.0, -1.0),
            &["`low` = 2 must be below `high` = -1"],
        ),
        (
            Initializer::GlorotUniform { gain: 0.0 },
            &["glorot_uniform", "`gain` = 0", "> 0"],
        ),
        (
            Initializer::Orthogonal { gain: -1.0 },
            &["orthogonal", "`gain` = -1"],
        ),
        (
            Initializer::Sparse {
                sparsity: 1.0,
                std: 0.1,
            },
            &["sparse", "`sparsity` = 1", "[0, 1)"],
        ),
        (
            Initializer::Sparse {
                sparsity: -0.1,
                std: 0.1,
            },
            &["`sparsity` = -0.1"],
        ),
        (
            Initializer::TruncatedNormal {
                mean: 0.0,
                std: 1.0,
                a: 2.0,
                b: 2.0,
                std_of: TruncatedStd::Parent,
            },
            &["truncated_normal", "`a` = 2 must be below `b` = 2"],
        ),
        (
            Initializer::truncated_normal(0.0, 0.0),
            &["`std` = 0", "> 0"],
        ),
        (
            Initializer::VarianceScaling {
                scale: -2.0,
                mode: FanMode::FanIn,
                distribution: ScalingDistribution::Normal,
            },
            &["variance_scaling", "`scale` = -2"],
        ),
        (
            Initializer::HeNormal {
                mode: FanMode::FanIn,
                nonlinearity: Nonlinearity::LeakyRelu {
                    negative_slope: f64::NAN,
                },
            },
            &["he_normal", "negative_slope"],
        ),
        (Initializer::Dirac { groups: 0 }, &["dirac", "`groups` = 0"]),
    ];
    for (strategy, parts) in cases {
        assert_mentions(&message(strategy, &[4, 4, 3]), parts);
    }
}

#[test]
fn shapes_of_the_wrong_rank_are_rejected() {
    assert_mentions(
        &message(Initializer::Identity { gain: 1.0 }, &[2, 3, 4]),
        &["identity", "rank 2", "[2, 3, 4]"],
    );
    assert_mentions(
        &message(Initializer::Dirac { groups: 1 }, &[4, 4]),
        &["dirac", ">= 3", "[4, 4]"],
    );
    assert_mentions(
        &message(Initializer::Dirac { groups: 3 }, &[4, 4, 3]),
        &["dirac", "`groups` = 3", "divisor of the 4"],
    );
    assert_mentions(
        &message(
            Initializer::Sparse {
                sparsity: 0.1,
                std: 1.0,
            },
            &[4],
        ),
        &["sparse", "rank 2"],
    );
    assert_mentions(
        &message(Initializer::Orthogonal { gain: 1.0 }, &[4]),
        &["orthogonal", ">= 2"],
    );
    assert_mentions(
        &message(Initializer::he_normal(Nonlinearity::Relu), &[4]),
        &["he_normal", "fan_in/fan_out", "[4]"],
    );
}

#[test]
fn empty_shapes_and_zero_fans_are_rejected() {
    let mut scalar = Array0::<f32>::zeros(());
    let err = Initializer::Zeros
        .fill(&mut scalar, RngKey::new(0))
        .unwrap_err();
    assert!(matches!(err, InitError::EmptyShape { .. }), "{err}");

    // A tensor with no values has nothing to fill, whichever of its fans is zero (as
    // PyTorch, which no-ops on zero-element tensors); the fans alone are still refused.
    for shape in [(4, 0), (0, 4)] {
        let mut empty = Array2::<f32>::zeros(shape);
        Initializer::LeCunNormal
            .fill(&mut empty, RngKey::new(0))
            .unwrap();
        Initializer::he_normal(Nonlinearity::Relu)
            .fill(&mut empty, RngKey::new(0))
            .unwrap();
    }
    let err = Initializer::LeCunNormal
        .moments(Fans::new(0, 4))
        .unwrap_err();
    assert_mentions(&err.to_string(), &["lecun_normal", "fan_in is 0"]);

    let zero = Fans::new(0, 0);
    let err = Initializer::GlorotNormal { gain: 1.0 }
        .moments(zero)
        .unwrap_err();
    assert_mentions(&err.to_string(), &["fan_in + fan_out is 0"]);
}

#[test]
fn fill_with_fans_serves_biases() {
    let mut bias = Array1::<f64>::zeros(10);
    Initializer::GlorotStandard
        .fill_with_fans(&mut bias, Fans::new(100, 10), RngKey::new(1))
        .unwrap();
    assert!(bias.iter().all(|b| b.abs() <= 0.1) && bias.iter().any(|&b| b != 0.0));
    // Without fans, the same request on a vector is an error, not a guess.
    assert!(
        Initializer::GlorotStandard
            .fill(&mut bias, RngKey::new(1))
            .is_err()
    );
}

#[test]
fn strategies_that_need_no_fans_work_on_any_rank() {
    let mut v = Array3::<f32>::zeros((2, 3, 4));
    Initializer::normal(0.0, 1.0)
        .fill(&mut v, RngKey::new(0))
        .unwrap();
    let mut b = Array1::<f32>::zeros(5);
    Initializer::uniform(-1.0, 1.0)
        .fill(&mut b, RngKey::new(0))
        .unwrap();
    assert!(b.iter().all(|x| (-1.0..=1.0).contains(x)));
}

#[test]
fn finite_parameters_that_overflow_the_element_type_are_refused() {
    let f32_cases = [
        (Initializer::Constant { value: 1e300 }, "the constant"),
        (Initializer::normal(0.0, 1e300), "40 std"),
        (Initializer::uniform(-3e38, 3e38), "high - low"),
        (Initializer::Orthogonal { gain: 1e300 }, "produced"),
    ];
    for (strategy, detail) in f32_cases {
        let mut w = Array2::<f32>::zeros((8, 8));
        let err = strategy.fill(&mut w, RngKey::new(0)).unwrap_err();
        assert!(
            matches!(err, InitError::OutOfRange { element: "f32", .. }),
            "{err}"
        );
        assert_mentions(&err.to_string(), &[detail, "f32"]);
    }
    // The same constant fits an f64.
    let mut wide = Array2::<f64>::zeros((2, 2));
    Initializer::Constant { value: 1e300 }
        .fill(&mut wide, RngKey::new(0))
        .unwrap();
    assert_eq!(wide[[1, 1]], 1e300);
    // 40 to 41 standard deviations out: no mass a double can hold, NaN moments before.
    let far = Initializer::TruncatedNormal {
        mean: 0.0,
        std: 1.0,
        a: 40.0,
        b: 41.0,
        std_of: initlab_init::TruncatedStd::Samples,
    };
    let err = far.fill(&mut wide, RngKey::new(0)).unwrap_err();
    assert_mentions(
        &err.to_string(),
        &["truncated_normal", "[40, 41]", "probability mass"],
    );
    // A slope so steep that the gain underflows to 0 would give all-zero weights.
    let steep = Initializer::he_normal(Nonlinearity::LeakyRelu {
        negative_slope: 1e300,
    });
    let err = steep.fill(&mut wide, RngKey::new(0)).unwrap_err();
    assert_mentions(&err.to_string(), &["negative_slope", "1e154"]);
}

#[test]
fn fans_that_overflow_are_an_error() {
    let err = Fans::from_shape(&[0, 1 << 40, 1 << 40]).unwrap_err();
    assert!(matches!(err, InitError::FanOverflow { .. }), "{err}");
    let err = Fans::from_keras_shape(&[1 << 33, 1 << 33, 0, 3]).unwrap_err();
    assert!(matches!(err, InitError::FanOverflow { .. }), "{err}");
}

#[test]
fn fans_whose_sum_passes_usize_average_in_floating_point() {
    // fan_in + fan_out used to wrap to 0 and be reported as a zero fan.
    let fans = Fans::new(usize::MAX, 1);
    let glorot = Initializer::glorot_uniform();
    let variance = glorot.variance(fans).unwrap().unwrap();
    let expected = 2.0 / (usize::MAX as f64 + 1.0);
    assert!((variance / expected - 1.0).abs() < 1e-12, "{variance}");
    let mut w = Array2::<f64>::zeros((4, 4));
    glorot.fill_with_fans(&mut w, fans, RngKey::new(0)).unwrap();
    let limit = (3.0 * expected).sqrt();
    assert!(w.iter().all(|v| v.abs() <= limit && *v != 0.0), "{w}");
}
