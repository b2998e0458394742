//! Elementwise i.i.d. distributions, resolved from a strategy and the tensor's fans.

use crate::key::{RngKey, fill_parallel};
use crate::truncated::TruncatedStandardNormal;
use crate::{Element, Moments};

/// One i.i.d. distribution with every parameter fixed: what a strategy becomes once the
/// fans are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Sampler {
    Constant(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    /// `mean + std * Z`, `Z` a standard normal truncated to `[a, b]`.
    TruncatedNormal {
        mean: f64,
        std: f64,
        a: f64,
        b: f64,
    },
}

impl Sampler {
    pub(crate) fn moments(&self) -> Moments {
        match *self {
            Sampler::Constant(value) => Moments {
                mean: value,
                variance: 0.0,
            },
            Sampler::Uniform { low, high } => Moments {
                mean: 0.5 * (low + high),
                variance: (high - low) * (high - low) / 12.0,
            },
            Sampler::Normal { mean, std } => Moments {
                mean,
                variance: std * std,
            },
            Sampler::TruncatedNormal { mean, std, a, b } => {
                let (z_mean, z_variance) = TruncatedStandardNormal::moments(a, b);
                Moments {
                    mean: mean + std * z_mean,
                    variance: std * std * z_variance,
                }
            }
        }
    }

    pub(crate) fn fill<T: Element>(&self, values: &mut [T], key: RngKey) {
        let cast = T::from_f64_rounded;
        match *self {
            Sampler::Constant(value) => values.fill(cast(value)),
            Sampler::Uniform { low, high } => {
                let (low, width) = (cast(low), cast(high - low));
                fill_parallel(values, key, |rng, block| {
                    for v in block {
                        *v = low + width * T::unit_uniform(rng);
                    }
                });
            }
            Sampler::Normal { mean, std } => {
                let (mean, std) = (cast(mean), cast(std));
                fill_parallel(values, key, |rng, block| {
                    for v in block {
                        *v = mean + std * T::standard_normal(rng);
                    }
                });
            }
            Sampler::TruncatedNormal { mean, std, a, b } => {
                let standard = TruncatedStandardNormal::new(a, b);
                fill_parallel(values, key, |rng, block| {
                    for v in block {
                        *v = cast(mean + std * standard.sample(rng));
                    }
                });
            }
        }
    }
}
