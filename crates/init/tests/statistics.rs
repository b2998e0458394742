//! Tier 3: on 10^5-10^6 samples per case, each with its own seed, every random strategy's
//! mean and variance match `moments()` and the closed-form formula within a few standard
//! errors, bounds hold, and a Kolmogorov-Smirnov test against the exact CDF passes
//! (alpha = 0.001).

mod common;

use common::{assert_ks, assert_moments, normal_cdf, truncated_moments, truncated_normal_cdf};
use initlab_init::{
    Element, FanMode, Fans, Initializer, Nonlinearity, RngKey, ScalingDistribution, TruncatedStd,
};

const N: usize = 1_000_000;

/// `N` samples as f64, drawn as `T` from a `[rows, cols]` tensor whose fans are given.
fn draw<T: Element>(strategy: &Initializer, fans: Fans, seed: u64) -> Vec<f64> {
    let mut tensor = ndarray::Array2::<T>::zeros((N / 1000, 1000));
    strategy
        .fill_with_fans(&mut tensor, fans, RngKey::new(seed))
        .unwrap();
    tensor.iter().map(|v| v.to_f64().unwrap()).collect()
}

fn uniform_cdf(low: f64, high: f64) -> impl Fn(f64) -> f64 {
    move |x| ((x - low) / (high - low)).clamp(0.0, 1.0)
}

fn scaled_normal_cdf(mean: f64, std: f64) -> impl Fn(f64) -> f64 {
    move |x| normal_cdf((x - mean) / std)
}

/// Checks `moments()` against the formula, then the samples against both.
fn check<T: Element>(
    label: &str,
    strategy: &Initializer,
    fans: Fans,
    seed: u64,
    mean: f64,
    variance: f64,
    cdf: impl Fn(f64) -> f64,
) {
    let label = format!("{label} ({})", std::any::type_name::<T>());
    let stated = strategy
        .moments(fans)
        .unwrap()
        .expect("an i.i.d. strategy states its moments");
    // Both sides evaluate closed forms; for a narrow interval far in a tail the truncated
    // normal's `1 + (a phi(a) - b phi(b)) / Z - mean^2` cancels ~8 digits, hence 1e-9.
    assert!(
        (stated.mean - mean).abs() <= 1e-12 * (1.0 + mean.abs()),
        "{label}: stated mean {} vs {mean}",
        stated.mean
    );
    assert!(
        (stated.variance / variance - 1.0).abs() <= 1e-9,
        "{label}: stated variance {} vs {variance}",
        stated.variance
    );
    let samples = draw::<T>(strategy, fans, seed);
    assert_moments(&label, &samples, mean, variance);
    assert_ks(&label, &samples, cdf);
}

fn fans() -> Fans {
    Fans::new(300, 200)
}

fn both_types(
    label: &str,
    strategy: &Initializer,
    seed: u64,
    mean: f64,
    variance: f64,
    cdf: impl Fn(f64) -> f64,
) {
    check::<f32>(label, strategy, fans(), seed, mean, variance, &cdf);
    check::<f64>(label, strategy, fans(), seed + 1, mean, variance, &cdf);
}

#[test]
fn uniform() {
    let (low, high) = (-0.3, 0.7);
    both_types(
        "uniform",
        &Initializer::uniform(low, high),
        100,
        0.2,
        1.0 / 12.0,
        uniform_cdf(low, high),
    );
}

#[test]
fn normal() {
    let (mean, std) = (0.5, 0.01);
    both_types(
        "normal",
        &Initializer::normal(mean, std),
        200,
        mean,
        std * std,
        scaled_normal_cdf(mean, std),
    );
}

#[test]
fn normal_tails_are_drawn_beyond_the_ziggurat_base() {
    // P(|Z| > 3.654) = 2.6e-4: about 260 tail draws in 10^6, so a tail sampler that never
    // fires or fires too often shows up here.
    let samples = draw::<f32>(&Initializer::normal(0.0, 1.0), fans(), 250);
    let tail = samples
        .iter()
        .filter(|x| x.abs() > 3.654_152_885_361_009)
        .count() as f64;
    let expected = N as f64 * 2.0 * (1.0 - normal_cdf(3.654_152_885_361_009));
    assert!(
        (tail - expected).abs() < 5.0 * expected.sqrt(),
        "{tail} tail samples, expected {expected}"
    );
    let beyond_five = samples.iter().filter(|x| x.abs() > 4.5).count();
    assert!(
        beyond_five > 0,
        "no samples beyond 4.5 std in 10^6 draws (expected ~7)"
    );
}

#[test]
fn truncated_normal_with_parent_std() {
    let (mean, std, a, b) = (1.0, 0.001, -2.0, 2.0);
    let (z_mean, z_var) = truncated_moments(a, b);
    let strategy = Initializer::TruncatedNormal {
        mean,
        std,
        a,
        b,
        std_of: TruncatedStd::Parent,
    };
    both_types(
        "truncated parent",
        &strategy,
        300,
        mean + std * z_mean,
        std * std * z_var,
        truncated_normal_cdf(mean, std, a, b),
    );
}

#[test]
fn truncated_normal_with_sample_std() {
    let (mean, std, a, b) = (0.0, 0.05, -2.0, 2.0);
    let parent = std / 0.879_625_661_034_239_8;
    let strategy = Initializer::TruncatedNormal {
        mean,
        std,
        a,
        b,
        std_of: TruncatedStd::Samples,
    };
    both_types(
        "truncated samples",
        &strategy,
        400,
        0.0,
        std * std,
        truncated_normal_cdf(mean, parent, a, b),
    );
}

#[test]
fn truncated_normal_asymmetric_and_far_tail_bounds() {
    // Each interval exercises a different proposal of the sampler.
    for (seed, (a, b)) in [
        (500, (-0.5, 3.0)),
        (510, (-0.05, 0.1)),
        (520, (2.5, 2.6)),
        (530, (4.0, 12.0)),
        (540, (-9.0, -3.0)),
    ] {
        let (mean, std) = (-0.2, 0.3);
        let (z_mean, z_var) = truncated_moments(a, b);
        let strategy = Initializer::TruncatedNormal {
            mean,
            std,
            a,
            b,
            std_of: TruncatedStd::Parent,
        };
        let label = format!("truncated [{a}, {b}]");
        check::<f64>(
            &label,
            &strategy,
            fans(),
            seed,
            mean + std * z_mean,
            std * std * z_var,
            truncated_normal_cdf(mean, std, a, b),
        );
    }
}

#[test]
fn glorot_uniform_and_normal() {
    let (fi, fo) = (fans().fan_in as f64, fans().fan_out as f64);
    let gain = 5.0 / 3.0;
    let limit = gain * (6.0 / (fi + fo)).sqrt();
    let variance = gain * gain * 2.0 / (fi + fo);
    both_types(
        "glorot_uniform",
        &Initializer::GlorotUniform { gain },
        600,
        0.0,
        variance,
        uniform_cdf(-limit, limit),
    );
    both_types(
        "glorot_normal",
        &Initializer::GlorotNormal { gain },
        610,
        0.0,
        variance,
        scaled_normal_cdf(0.0, variance.sqrt()),
    );
    let standard = 1.0 / fi.sqrt();
    both_types(
        "glorot_standard",
        &Initializer::GlorotStandard,
        620,
        0.0,
        1.0 / (3.0 * fi),
        uniform_cdf(-standard, standard),
    );
}

#[test]
fn he_uniform_and_normal_in_both_modes() {
    let leaky = Nonlinearity::LeakyRelu {
        negative_slope: 0.2,
    };
    for (seed, mode, fan) in [(700, FanMode::FanIn, 300.0), (720, FanMode::FanOut, 200.0)] {
        for nonlinearity in [Nonlinearity::Relu, leaky] {
            let gain2 = match nonlinearity {
                Nonlinearity::Relu => 2.0,
                _ => 2.0 / (1.0 + 0.04),
            };
            let variance: f64 = gain2 / fan;
            let limit = (3.0 * variance).sqrt();
            let uniform = Initializer::HeUniform { mode, nonlinearity };
            both_types(
                "he_uniform",
                &uniform,
                seed,
                0.0,
                variance,
                uniform_cdf(-limit, limit),
            );
            let normal = Initializer::HeNormal { mode, nonlinearity };
            both_types(
                "he_normal",
                &normal,
                seed + 10,
                0.0,
                variance,
                scaled_normal_cdf(0.0, variance.sqrt()),
            );
        }
    }
}

#[test]
fn lecun_uniform_and_normal() {
    let variance: f64 = 1.0 / 300.0;
    let limit = (3.0 * variance).sqrt();
    both_types(
        "lecun_uniform",
        &Initializer::LeCunUniform,
        800,
        0.0,
        variance,
        uniform_cdf(-limit, limit),
    );
    both_types(
        "lecun_normal",
        &Initializer::LeCunNormal,
        810,
        0.0,
        variance,
        scaled_normal_cdf(0.0, variance.sqrt()),
    );
}

#[test]
fn variance_scaling_truncated_has_exactly_the_stated_variance() {
    for (seed, mode, fan) in [
        (900, FanMode::FanIn, 300.0),
        (910, FanMode::FanOut, 200.0),
        (920, FanMode::FanAvg, 250.0),
    ] {
        let scale = 2.0;
        let strategy = Initializer::VarianceScaling {
            scale,
            mode,
            distribution: ScalingDistribution::TruncatedNormal,
        };
        let parent = (scale / fan).sqrt() / 0.879_625_661_034_239_8;
        both_types(
            "variance_scaling truncated",
            &strategy,
            seed,
            0.0,
            scale / fan,
            truncated_normal_cdf(0.0, parent, -2.0, 2.0),
        );
    }
}

#[test]
fn bounds_are_never_exceeded() {
    let cases = [
        (Initializer::uniform(-1e-3, 1e-3), -1e-3, 1e-3),
        (
            Initializer::GlorotUniform { gain: 1.0 },
            -(6.0_f64 / 500.0).sqrt(),
            (6.0_f64 / 500.0).sqrt(),
        ),
        (Initializer::truncated_normal(0.0, 1e-6), -2e-6, 2e-6),
        (
            Initializer::truncated_normal(3.0, 1e-7),
            3.0 - 2e-7,
            3.0 + 2e-7,
        ),
    ];
    for (seed, (strategy, low, high)) in cases.into_iter().enumerate() {
        let samples = draw::<f32>(&strategy, fans(), 1000 + seed as u64);
        let (low32, high32) = (low as f32 as f64, high as f32 as f64);
        assert!(
            samples.iter().all(|&x| (low32..=high32).contains(&x)),
            "{} left [{low}, {high}]",
            strategy.name()
        );
        let samples = draw::<f64>(&strategy, fans(), 1100 + seed as u64);
        assert!(
            samples.iter().all(|&x| (low..=high).contains(&x)),
            "{} left [{low}, {high}] in f64",
            strategy.name()
        );
    }
}
