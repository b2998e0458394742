//! The standard normal truncated to `[a, b]`: exact moments and an exact sampler.
//!
//! Sampling is by rejection in f64 (never inverse-CDF in f32, which at small std returns
//! values outside the bounds, pytorch#48917), choosing among Robert's three proposals
//! (C. P. Robert, "Simulation of truncated normal variables", Stat. Comput. 5, 1995) so
//! that acceptance stays high for central and for far-tail intervals alike.

use std::f64::consts::{E, FRAC_1_SQRT_2, PI};

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Element;

/// The standard normal density.
pub(crate) fn pdf(x: f64) -> f64 {
    libm::exp(-0.5 * x * x) / (2.0 * PI).sqrt()
}

/// The standard normal CDF, accurate in both tails.
pub(crate) fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// `P(a <= Z <= b)` for a standard normal `Z`, without cancellation in the tails.
fn mass(a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        0.5 * (libm::erfc(a * FRAC_1_SQRT_2) - libm::erfc(b * FRAC_1_SQRT_2))
    } else if b <= 0.0 {
        mass(-b, -a)
    } else {
        1.0 - cdf(a) - 0.5 * libm::erfc(b * FRAC_1_SQRT_2)
    }
}

/// How one interval is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Proposal {
    /// Draw from N(0, 1) until inside: for intervals holding most of the mass.
    Normal,
    /// Draw uniformly on [a, b], accept with probability exp((m^2 - z^2) / 2), `m` the
    /// point of the interval closest to 0: for short intervals.
    Uniform,
    /// Draw a + Exp(lambda) (mirrored when the interval is left of 0), accept with
    /// probability exp(-(z - lambda)^2 / 2): for long intervals in one tail.
    Exponential { lambda: f64 },
}

/// A standard normal truncated to `[a, b]` (finite, `a < b`, checked by the caller).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TruncatedStandardNormal {
    a: f64,
    b: f64,
    proposal: Proposal,
    /// The interval lies left of 0 and is sampled as its mirror image.
    mirrored: bool,
}

impl TruncatedStandardNormal {
    pub(crate) fn new(a: f64, b: f64) -> Self {
        let mirrored = b <= 0.0;
        let (lo, hi) = if mirrored { (-b, -a) } else { (a, b) };
        let proposal = if lo <= 0.0 {
            if mass(a, b) >= 0.3 {
                Proposal::Normal
            } else {
                Proposal::Uniform
            }
        } else {
            let lambda = 0.5 * (lo + (lo * lo + 4.0).sqrt());
            let uniform_threshold = 2.0 * E.sqrt() / (lo + (lo * lo + 4.0).sqrt())
                * libm::exp((lo * lo - lo * (lo * lo + 4.0).sqrt()) / 4.0);
            if hi - lo < uniform_threshold {
                Proposal::Uniform
            } else {
                Proposal::Exponential { lambda }
            }
        };
        Self {
            a: lo,
            b: hi,
            proposal,
            mirrored,
        }
    }

    /// Mean and variance of the truncated variable.
    pub(crate) fn moments(a: f64, b: f64) -> (f64, f64) {
        let z = mass(a, b);
        let mean = (pdf(a) - pdf(b)) / z;
        let variance = 1.0 + (a * pdf(a) - b * pdf(b)) / z - mean * mean;
        (mean, variance)
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z = self.sample_unmirrored(rng);
        if self.mirrored { -z } else { z }
    }

    fn sample_unmirrored<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let (a, b) = (self.a, self.b);
        match self.proposal {
            Proposal::Normal => loop {
                let z: f64 = StandardNormal.sample(rng);
                if (a..=b).contains(&z) {
                    return z;
                }
            },
            Proposal::Uniform => {
                let closest = if a > 0.0 { a } else { 0.0 };
                loop {
                    let z = a + (b - a) * f64::unit_uniform(rng);
                    if f64::unit_uniform(rng) <= libm::exp((closest * closest - z * z) / 2.0) {
                        return z;
                    }
                }
            }
            Proposal::Exponential { lambda } => loop {
                let z = a - libm::log(1.0 - f64::unit_uniform(rng)) / lambda;
                if z <= b && f64::unit_uniform(rng) <= libm::exp(-(z - lambda) * (z - lambda) / 2.0)
                {
                    return z;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_constant_is_the_std_of_the_two_sigma_truncation() {
        let (_, variance) = TruncatedStandardNormal::moments(-2.0, 2.0);
        assert!((variance.sqrt() - 0.879_625_661_034_239_8).abs() < 1e-15);
    }

    #[test]
    fn mass_is_accurate_in_the_far_tail() {
        // P(Z > 10) = 7.619853024160527e-24
        let tail = mass(10.0, 40.0);
        assert!(
            (tail / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-12,
            "{tail:e}"
        );
        assert_eq!(mass(-40.0, -10.0), tail);
    }

    #[test]
    fn each_proposal_is_chosen_where_it_is_efficient() {
        assert_eq!(
            TruncatedStandardNormal::new(-2.0, 2.0).proposal,
            Proposal::Normal
        );
        assert_eq!(
            TruncatedStandardNormal::new(-0.1, 0.2).proposal,
            Proposal::Uniform
        );
        assert_eq!(
            TruncatedStandardNormal::new(3.0, 3.01).proposal,
            Proposal::Uniform
        );
        assert!(matches!(
            TruncatedStandardNormal::new(3.0, 9.0).proposal,
            Proposal::Exponential { .. }
        ));
        assert!(TruncatedStandardNormal::new(-9.0, -3.0).mirrored);
    }
}
