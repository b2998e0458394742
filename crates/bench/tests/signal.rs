//! The mean-field prediction against measurement on wide random networks, and the
//! verdicts the signal report gives.

use initlab_bench::signal::{
    SignalConfig, Verdict, analyze, critical_weight_scale, expectation, second_moment,
    slope_moment, unit_fixed_point_scale,
};
use initlab_init::{Initializer, RngKey};
use initlab_nn::Activation;
use ndarray::Array2;

const WIDTH: usize = 512;
const BATCH: usize = 512;

fn gaussian_batch(seed: u64) -> (Array2<f64>, Vec<usize>) {
    // A tensor id no network uses: inputs drawn from a layer's own stream would correlate
    // with its weights.
    let x = Initializer::normal(0.0, 1.0)
        .sample((BATCH, WIDTH), RngKey::new(seed).tensor(1 << 40))
        .unwrap();
    (x, (0..BATCH).map(|i| i % 10).collect())
}

/// Relative standard errors of the measured variance at each layer. A unit's measured
/// variance is `w^T C w` for the batch's second-moment matrix `C` of its inputs, whose
/// relative variance over random weights is `2 tr(C^2) / tr(C)^2`; `width` units average
/// it, and the errors of successive layers add up. For inputs `f(h)` a fraction
/// `m = E[f]^2 / E[f^2]` of `tr(C)` sits in one direction (the mean: 1/pi for ReLU), so
/// `tr(C^2) / tr(C)^2 ~ m^2 + (1 - m)^2 / width + 1 / batch`.
fn relative_se(activation: Activation, predicted: &[f64]) -> Vec<f64> {
    let (n, batch) = (WIDTH as f64, BATCH as f64);
    let mut total = 0.0;
    (0..predicted.len())
        .map(|l| {
            let m = if l == 0 {
                0.0
            } else {
                let q = predicted[l - 1];
                expectation(activation, q, |h| activation.apply(h)).powi(2)
                    / expectation(activation, q, |h| activation.apply(h).powi(2))
            };
            total += 2.0 * (m * m + (1.0 - m).powi(2) / n + 1.0 / batch) / n;
            total.sqrt()
        })
        .collect()
}

fn check_prediction(activation: Activation, init: &str, seed: u64) {
    let (x, y) = gaussian_batch(seed);
    let config = SignalConfig {
        depth: 6,
        width: WIDTH,
        activation,
        inits: vec![init.into()],
        seed,
        jacobian_samples: 0,
        norm: None,
        residual: None,
        conv: None,
        spectrum: None,
    };
    let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
    let layers = &report.inits[0].layers;
    let se = relative_se(
        activation,
        &layers
            .iter()
            .map(|l| l.predicted_variance)
            .collect::<Vec<_>>(),
    );
    for (l, layer) in layers.iter().enumerate() {
        let error = (layer.measured_variance / layer.predicted_variance - 1.0).abs();
        let tolerance = 5.0 * se[l];
        assert!(
            error < tolerance,
            "{activation} {init} layer {}: measured {} vs predicted {} (error {error:.4}, tolerance {tolerance:.4})",
            l + 1,
            layer.measured_variance,
            layer.predicted_variance
        );
        let mean_tolerance = 5.0 * (layer.predicted_variance / BATCH as f64).sqrt();
        assert!(
            layer.measured_mean.abs() < mean_tolerance,
            "{activation} {init} layer {}: mean {}",
            l + 1,
            layer.measured_mean
        );
    }
}

#[test]
fn prediction_matches_measurement_for_relu_tanh_and_selu() {
    check_prediction(Activation::Relu, "he_normal", 1);
    check_prediction(Activation::Relu, "glorot_normal", 2);
    check_prediction(Activation::Tanh, "glorot_normal", 3);
    check_prediction(Activation::Tanh, "he_normal", 4);
    check_prediction(Activation::Selu, "lecun_normal", 5);
}

#[test]
fn selu_with_lecun_normal_is_stable_at_unit_variance() {
    let (x, y) = gaussian_batch(6);
    let config = SignalConfig {
        depth: 8,
        width: WIDTH,
        activation: Activation::Selu,
        inits: vec!["lecun_normal".into()],
        seed: 6,
        jacobian_samples: 0,
        norm: None,
        residual: None,
        conv: None,
        spectrum: None,
    };
    let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
    let init = &report.inits[0];
    assert_eq!(init.predicted, Verdict::Stable);
    assert_eq!(init.measured, Verdict::Stable);
    for layer in &init.layers {
        assert!(
            (layer.predicted_variance - 1.0).abs() < 0.01,
            "SELU's fixed point is q = 1: {}",
            layer.predicted_variance
        );
    }
}

#[test]
fn twenty_layer_relu_verdicts() {
    let (x, y) = gaussian_batch(7);
    let inits = ["small_normal", "large_normal", "glorot_normal", "he_normal"]
        .map(String::from)
        .to_vec();
    let config = SignalConfig {
        depth: 20,
        width: WIDTH,
        activation: Activation::Relu,
        inits,
        seed: 7,
        jacobian_samples: 0,
        norm: None,
        residual: None,
        conv: None,
        spectrum: None,
    };
    let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
    let verdicts: Vec<(Verdict, Verdict)> = report
        .inits
        .iter()
        .map(|i| (i.predicted, i.measured))
        .collect();
    assert!(
        matches!(
            verdicts[0],
            (Verdict::Vanishing { .. }, Verdict::Vanishing { .. })
        ),
        "{:?}",
        verdicts[0]
    );
    assert!(
        matches!(
            verdicts[1],
            (Verdict::Exploding { .. }, Verdict::Exploding { .. })
        ),
        "{:?}",
        verdicts[1]
    );
    assert!(
        matches!(
            verdicts[2],
            (Verdict::Vanishing { .. }, Verdict::Vanishing { .. })
        ),
        "{:?}",
        verdicts[2]
    );
    assert_eq!(verdicts[3], (Verdict::Stable, Verdict::Stable));
    // Glorot halves a ReLU net's variance per layer: below 1e-2 after log2(100) ~ 6.6 halvings.
    assert_eq!(report.inits[2].predicted, Verdict::Vanishing { layer: 8 });
}

#[test]
fn critical_scales_and_closed_forms() {
    assert!((critical_weight_scale(Activation::Relu) - 2.0).abs() < 1e-9);
    assert!((critical_weight_scale(Activation::Tanh) - 1.0).abs() < 1e-3);
    assert!((critical_weight_scale(Activation::Identity) - 1.0).abs() < 1e-12);
    for q in [0.1, 1.0, 7.0] {
        assert!((second_moment(Activation::Relu, q) - q / 2.0).abs() < 1e-12 * q);
        assert!((second_moment(Activation::Identity, q) - q).abs() < 1e-12 * q);
        assert!((slope_moment(Activation::Relu, q) - 0.5).abs() < 1e-12);
        // Leaky ReLU: E[f^2] = q (1 + s^2) / 2.
        let s = 0.2;
        assert!(
            (second_moment(Activation::LeakyRelu { slope: s }, q) - q * (1.0 + s * s) / 2.0).abs()
                < 1e-12 * q
        );
    }
    // SELU's constants make q = 1 the fixed point at sigma_w^2 = 1; tanh's is at 2.54.
    assert!((unit_fixed_point_scale(Activation::Selu) - 1.0).abs() < 1e-6);
    assert!((unit_fixed_point_scale(Activation::Relu) - 2.0).abs() < 1e-12);
    // 1 / E[tanh(h)^2] = 1 / 0.39429449 by an independent trapezoid rule.
    assert!((unit_fixed_point_scale(Activation::Tanh) - 2.536_175_433).abs() < 1e-8);
}

#[test]
fn data_dependent_and_unknown_initializers_are_refused() {
    let (x, y) = gaussian_batch(8);
    let config = |init: &str| SignalConfig {
        depth: 2,
        width: 8,
        activation: Activation::Relu,
        inits: vec![init.into()],
        seed: 0,
        jacobian_samples: 0,
        norm: None,
        residual: None,
        conv: None,
        spectrum: None,
    };
    let message = analyze(
        x.view(),
        &y,
        10,
        &config("lsuv"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("lsuv") && message.contains("depends on data"),
        "{message}"
    );
    assert!(
        analyze(
            x.view(),
            &y,
            10,
            &config("nope"),
            &indicatif::ProgressBar::hidden()
        )
        .unwrap_err()
        .to_string()
        .contains("`init` = \"nope\"")
    );
    let zero = SignalConfig {
        depth: 0,
        ..config("he_normal")
    };
    assert!(
        analyze(x.view(), &y, 10, &zero, &indicatif::ProgressBar::hidden())
            .unwrap_err()
            .to_string()
            .contains("`depth`")
    );
}

#[test]
fn every_activation_gets_a_finite_prediction_and_measurement() {
    let (x, y) = gaussian_batch(9);
    let x = x.slice(ndarray::s![..64, ..32]).to_owned();
    for activation in Activation::ALL {
        let config = SignalConfig {
            depth: 3,
            width: 32,
            activation,
            inits: vec!["he_normal".into(), "glorot_normal".into()],
            seed: 9,
            jacobian_samples: 1,
            norm: None,
            residual: None,
            conv: None,
            spectrum: None,
        };
        let report = analyze(
            x.view(),
            &y[..64],
            10,
            &config,
            &indicatif::ProgressBar::hidden(),
        )
        .unwrap();
        for init in &report.inits {
            for layer in &init.layers {
                assert!(
                    layer.predicted_variance.is_finite() && layer.predicted_variance > 0.0,
                    "{activation}: {layer:?}"
                );
                assert!(
                    layer.measured_variance.is_finite() && layer.predicted_gradient.is_finite(),
                    "{activation}: {layer:?}"
                );
                assert!(
                    layer
                        .jacobian_mean_singular_value
                        .is_some_and(f64::is_finite),
                    "{activation}: {layer:?}"
                );
            }
        }
        assert!(
            report.critical_weight_scale.is_finite() && report.critical_weight_scale > 0.0,
            "{activation}"
        );
    }
}

#[test]
fn zero_signals_vanish_and_overflow_explodes() {
    assert_eq!(
        Verdict::of(&[0.0, 0.0, 0.0]),
        Verdict::Vanishing { layer: 1 }
    );
    assert_eq!(
        Verdict::of(&[1.0, 0.5, 0.0]),
        Verdict::Vanishing { layer: 3 }
    );
    assert_eq!(
        Verdict::of(&[1.0, f64::INFINITY]),
        Verdict::Exploding { layer: 2 }
    );
    assert_eq!(
        Verdict::of(&[1.0, f64::NAN]),
        Verdict::Exploding { layer: 2 }
    );
    // Subnormal first layer, then a normal one: a ratio of ~1e300 is exploding, not NaN.
    assert_eq!(
        Verdict::of(&[1e-310, 1e-10]),
        Verdict::Exploding { layer: 2 }
    );
}

#[test]
fn all_zero_weights_are_reported_as_vanishing_not_exploding() {
    let (x, y) = gaussian_batch(3);
    let config = SignalConfig {
        depth: 4,
        width: 8,
        activation: Activation::Relu,
        inits: vec!["zeros".into()],
        seed: 3,
        jacobian_samples: 0,
        norm: None,
        residual: None,
        conv: None,
        spectrum: None,
    };
    let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
    let zeros = &report.inits[0];
    assert_eq!(zeros.measured, Verdict::Vanishing { layer: 1 });
    assert_eq!(zeros.predicted, Verdict::Vanishing { layer: 1 });
    let table = report.markdown();
    assert!(
        table.contains("| zeros | 0.000 | vanishing from layer 1 | vanishing from layer 1 | - |"),
        "{table}"
    );
    assert!(!table.contains("NaN"), "{table}");
}

#[test]
fn edges_of_chaos_match_their_closed_forms() {
    // sigma_w^2 = 2 / (f'(0+)^2 + f'(0-)^2): where q* = 0 stops attracting.
    let (lambda, alpha) = (1.050_700_987_355_480_5_f64, 1.673_263_242_354_377_2_f64);
    let cases = [
        (Activation::Relu, 2.0),
        (Activation::Tanh, 1.0),
        (Activation::Identity, 1.0),
        (Activation::LeakyRelu { slope: 0.2 }, 2.0 / 1.04),
        (Activation::Elu { alpha: 1.0 }, 1.0),
        (Activation::Elu { alpha: 0.5 }, 2.0 / 1.25),
        (
            Activation::Selu,
            2.0 / (lambda * lambda * (1.0 + alpha * alpha)),
        ),
    ];
    for (activation, expected) in cases {
        let found = critical_weight_scale(activation);
        assert!(
            (found - expected).abs() < 1e-6 * expected,
            "{activation}: {found} against {expected}"
        );
    }
    // SELU's used to come out as 0.4938: an iteration cut off while q* crawled to 0.
    assert!((critical_weight_scale(Activation::Selu) - 0.4768).abs() < 1e-4);
}

/// `E[g(h)]`, `h ~ N(0, q)`, by the trapezoid rule on +-12 standard deviations: a
/// quadrature independent of the report's.
fn trapezoid(q: f64, g: impl Fn(f64) -> f64) -> f64 {
    let (n, half) = (20_000, 12.0);
    let step = 2.0 * half / n as f64;
    (0..=n)
        .map(|i| {
            let z = -half + step * i as f64;
            let weight = if i == 0 || i == n { 0.5 } else { 1.0 };
            weight * g(q.sqrt() * z) * (-0.5 * z * z).exp()
        })
        .sum::<f64>()
        * step
        / (2.0 * std::f64::consts::PI).sqrt()
}

/// The variance after `layers` layers from `q = 1`, by plain iteration with the trapezoid
/// rule.
fn variance_after(activation: Activation, scale: f64, layers: usize) -> f64 {
    let mut q: f64 = 1.0;
    for _ in 0..layers {
        q = scale * trapezoid(q, |h| activation.apply(h).powi(2));
        if !(1e-30..1e30).contains(&q) {
            break;
        }
    }
    q
}

#[test]
fn gelu_edge_is_where_unit_variance_stops_dying_out() {
    // Below 4, q* = 0 attracts small signals; an unstable fixed point separates them from
    // signals that grow like ReLU's. From q = 1 the edge is where that point passes 1:
    // chi jumps there from about 0.59 to above 1 instead of crossing 1.
    let edge = critical_weight_scale(Activation::Gelu);
    assert!((2.0..3.0).contains(&edge), "{edge}");
    assert!((edge * second_moment(Activation::Gelu, 1.0) - 1.0).abs() < 1e-9);
    assert!(variance_after(Activation::Gelu, 0.99 * edge, 5_000) < 1e-30);
    assert!(variance_after(Activation::Gelu, 1.01 * edge, 5_000) > 1e30);
}

/// `measured / predicted` of `pick` at the last stage, for one seed of a residual or
/// normalized network of `depth` stages on a Gaussian batch.
fn stage_ratio(
    config: &SignalConfig,
    seed: u64,
    pick: fn(&initlab_bench::signal::LayerSignal) -> (f64, f64),
    stage: usize,
) -> f64 {
    let (x, y) = gaussian_batch(seed);
    let config = SignalConfig {
        seed,
        ..config.clone()
    };
    let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
    let (measured, predicted) = pick(&report.inits[0].layers[stage]);
    measured / predicted
}

/// The mean over eight seeds of `measured / predicted` is 1 within four standard errors of
/// the seeds' spread: each seed is one draw of every weight, the prediction its
/// expectation.
fn assert_unbiased(
    config: &SignalConfig,
    pick: fn(&initlab_bench::signal::LayerSignal) -> (f64, f64),
    stage: usize,
    what: &str,
) {
    let ratios: Vec<f64> = (1..=8)
        .map(|seed| stage_ratio(config, seed, pick, stage))
        .collect();
    let n = ratios.len() as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    let sd = (ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(
        (mean - 1.0).abs() < 4.0 * sd / n.sqrt() && sd > 0.0,
        "{what} {:?}: measured / predicted {mean:.3} ± {:.3} over seeds {ratios:?}",
        config.inits,
        sd / n.sqrt()
    );
}

fn residual(blocks: usize, norm: Option<initlab_nn::net::Norm>, init: &str) -> SignalConfig {
    SignalConfig {
        depth: blocks,
        width: WIDTH,
        activation: Activation::Relu,
        inits: vec![init.into()],
        seed: 0,
        jacobian_samples: 0,
        norm,
        residual: Some(initlab_bench::experiment::Residual {
            blocks,
            layers: 2,
            ordering: initlab_nn::net::Ordering::PreActivation,
        }),
        conv: None,
        spectrum: None,
    }
}

#[test]
fn residual_streams_follow_the_recursion_q_plus_alpha_squared_branch() {
    let variance: fn(&initlab_bench::signal::LayerSignal) -> (f64, f64) =
        |l| (l.measured_variance, l.predicted_variance);
    let gradient: fn(&initlab_bench::signal::LayerSignal) -> (f64, f64) =
        |l| (l.measured_gradient, l.predicted_gradient);
    // He doubles the stream per block: stage 7 (after 6 blocks) at 2^6 times the stem's.
    let he = residual(6, None, "he_normal");
    let (x, y) = gaussian_batch(1);
    let report = analyze(x.view(), &y, 10, &he, &indicatif::ProgressBar::hidden()).unwrap();
    let layers = &report.inits[0].layers;
    assert_eq!(layers.len(), 7, "the stem and six blocks");
    let doubling = layers[6].predicted_variance / layers[0].predicted_variance;
    assert!((doubling - 64.0).abs() < 1e-9, "{doubling}");
    assert_unbiased(&he, variance, 6, "He, stream variance after 6 blocks");
    assert_unbiased(&he, gradient, 0, "He, gradient at the stem");
    // Normalization resets the branch's input: each block adds the same variance.
    for norm in [initlab_nn::net::Norm::Layer, initlab_nn::net::Norm::Batch] {
        let normed = residual(6, Some(norm), "he_normal");
        let report = analyze(x.view(), &y, 10, &normed, &indicatif::ProgressBar::hidden()).unwrap();
        let q: Vec<f64> = report.inits[0]
            .layers
            .iter()
            .map(|l| l.predicted_variance)
            .collect();
        for pair in q.windows(2) {
            assert!((pair[1] - pair[0] - 1.0).abs() < 1e-9, "{norm:?}: {q:?}");
        }
        assert!(
            report.inits[0].layers[0].predicted_gradient.is_nan(),
            "not predicted through a norm"
        );
        assert_unbiased(
            &normed,
            variance,
            6,
            &format!("{norm:?}, stream after 6 blocks"),
        );
    }
    // SkipInit and Fixup blocks pass the stem's variance through unchanged.
    for init in ["skipinit", "fixup"] {
        let config = residual(6, None, init);
        let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
        let layers = &report.inits[0].layers;
        assert_eq!(report.inits[0].predicted, Verdict::Stable);
        assert!(
            layers
                .iter()
                .all(|l| l.predicted_variance == layers[0].predicted_variance)
        );
        assert!(layers.iter().all(
            |l| (l.measured_variance - layers[0].measured_variance).abs()
                < 1e-9 * layers[0].measured_variance
        ));
    }
    // Post-activation blocks add a non-centred stream: outside the recursion.
    let mut post = residual(3, None, "he_normal");
    post.residual = post.residual.map(|r| initlab_bench::experiment::Residual {
        ordering: initlab_nn::net::Ordering::PostActivation,
        ..r
    });
    let report = analyze(x.view(), &y, 10, &post, &indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(report.inits[0].predicted, Verdict::NotPredicted);
    assert!(
        report
            .markdown()
            .contains("| he_normal | 2.000 | not predicted |"),
        "{}",
        report.markdown()
    );
}

#[test]
fn batch_norm_makes_gradients_explode_at_one_rate_whatever_the_initialization() {
    let growth = |init: &str, seed: u64| {
        let (x, y) = gaussian_batch(seed);
        let config = SignalConfig {
            depth: 12,
            width: WIDTH,
            activation: Activation::Relu,
            inits: vec![init.into()],
            seed,
            jacobian_samples: 0,
            norm: Some(initlab_nn::net::Norm::Batch),
            residual: None,
            conv: None,
            spectrum: None,
        };
        let report = analyze(x.view(), &y, 10, &config, &indicatif::ProgressBar::hidden()).unwrap();
        assert!(report.batch_norm_relu_plain);
        report.inits[0].gradient_growth_per_layer
    };
    let stats = |init: &str| {
        let rates: Vec<f64> = (1..=4).map(|seed| growth(init, seed)).collect();
        let mean = rates.iter().sum::<f64>() / 4.0;
        let sd = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        (mean, sd / 2.0)
    };
    let (he, he_se) = stats("he_normal");
    // Without normalization He keeps the gradient's variance: 1 per layer.
    assert!(he > 1.3, "BatchNorm: {he} per layer");
    for init in ["small_normal", "glorot_normal"] {
        let (rate, se) = stats(init);
        let tolerance = 4.0 * (he_se * he_se + se * se).sqrt();
        assert!(
            (rate - he).abs() < tolerance,
            "{init} {rate:.4} against he_normal {he:.4}: more than {tolerance:.4} apart"
        );
    }
}
