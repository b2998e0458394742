//! Statistics for the init tests: moments with standard errors and the Kolmogorov-Smirnov
//! statistic against an exact CDF.

#![allow(dead_code, unreachable_pub)]

/// Critical value of the one-sample KS statistic at alpha = 0.001 (asymptotic), as
/// rand_distr's distribution tests use.
pub fn ks_critical(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

/// `sup |F_n(x) - F(x)|` for the sample (sorted in place) against `cdf`.
pub fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Sample mean, variance, and their standard errors (the variance's from the sample's own
/// fourth central moment, valid for any distribution with one).
#[derive(Debug, Clone, Copy)]
pub struct SampleMoments {
    pub mean: f64,
    pub variance: f64,
    pub mean_se: f64,
    pub variance_se: f64,
}

pub fn sample_moments(samples: &[f64]) -> SampleMoments {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let fourth = samples.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    SampleMoments {
        mean,
        variance,
        mean_se: (variance / n).sqrt(),
        variance_se: ((fourth - variance * variance).max(0.0) / n).sqrt(),
    }
}

/// Standard errors a statistic may be off by before a test fails (p ~ 6e-7 per check).
pub const SE_TOLERANCE: f64 = 5.0;

/// Asserts mean and variance within [`SE_TOLERANCE`] standard errors of the theory.
pub fn assert_moments(label: &str, samples: &[f64], mean: f64, variance: f64) {
    let m = sample_moments(samples);
    // A degenerate (zero-variance) distribution has zero standard error: demand equality.
    let slack = |se: f64| SE_TOLERANCE * se + 1e-12 * (1.0 + variance.abs());
    assert!(
        (m.mean - mean).abs() <= slack(m.mean_se),
        "{label}: mean {} vs {mean} (se {})",
        m.mean,
        m.mean_se
    );
    assert!(
        (m.variance - variance).abs() <= slack(m.variance_se),
        "{label}: variance {} vs {variance} (se {})",
        m.variance,
        m.variance_se
    );
}

/// Asserts the KS statistic against `cdf` is below the alpha = 0.001 critical value.
pub fn assert_ks(label: &str, samples: &[f64], cdf: impl Fn(f64) -> f64) {
    let mut sorted = samples.to_vec();
    let d = ks_statistic(&mut sorted, cdf);
    let critical = ks_critical(samples.len());
    assert!(
        d < critical,
        "{label}: KS statistic {d} >= critical {critical} (n = {})",
        samples.len()
    );
}

/// The standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The CDF of `N(mean, std^2)` truncated to `[mean + a std, mean + b std]`.
pub fn truncated_normal_cdf(mean: f64, std: f64, a: f64, b: f64) -> impl Fn(f64) -> f64 {
    let (fa, fb) = (normal_cdf(a), normal_cdf(b));
    move |x| {
        let z = ((x - mean) / std).clamp(a, b);
        (normal_cdf(z) - fa) / (fb - fa)
    }
}

/// Mean and variance of the standard normal truncated to `[a, b]`.
pub fn truncated_moments(a: f64, b: f64) -> (f64, f64) {
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // Upper-tail probabilities for intervals right of 0 avoid 1 - 1 cancellation.
    let upper = |x: f64| 0.5 * libm::erfc(x / std::f64::consts::SQRT_2);
    let z = if a >= 0.0 {
        upper(a) - upper(b)
    } else if b <= 0.0 {
        upper(-b) - upper(-a)
    } else {
        normal_cdf(b) - normal_cdf(a)
    };
    let mean = (pdf(a) - pdf(b)) / z;
    (mean, 1.0 + (a * pdf(a) - b * pdf(b)) / z - mean * mean)
}
