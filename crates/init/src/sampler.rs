//! Elementwise i.i.d. distributions, resolved from a strategy and the tensor's fans.

use crate::key::{RngKey, fill_parallel_at};
use crate::truncated::TruncatedStandardNormal;
use crate::{Element, InitError, Moments};

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
    /// The same distribution with every value multiplied by `factor` (>= 0): the same
    /// draws from the same key, scaled.
    pub(crate) fn scaled(self, factor: f64) -> Self {
        match self {
            Sampler::Constant(value) => Sampler::Constant(value * factor),
            Sampler::Uniform { low, high } => Sampler::Uniform {
                low: low * factor,
                high: high * factor,
            },
            Sampler::Normal { mean, std } => Sampler::Normal {
                mean: mean * factor,
                std: std * factor,
            },
            Sampler::TruncatedNormal { mean, std, a, b } => Sampler::TruncatedNormal {
                mean: mean * factor,
                std: std * factor,
                a,
                b,
            },
        }
    }

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

    /// Refuses parameters whose values would not be finite in `T`: a constant or bound past
    /// its largest value, a uniform width that overflows it, a normal whose 40-sigma
    /// range (beyond any draw of the samplers) does, or a truncated normal whose interval
    /// holds no representable probability mass.
    pub(crate) fn check_range<T: Element>(&self, strategy: &'static str) -> Result<(), InitError> {
        let limit = T::max_value().to_f64().unwrap_or(f64::MAX);
        let element = std::any::type_name::<T>();
        let out_of_range = |detail: String| InitError::OutOfRange {
            strategy,
            element,
            detail,
        };
        let within = |what: &str, value: f64| {
            if value.is_finite() && value.abs() <= limit {
                Ok(())
            } else {
                Err(out_of_range(format!(
                    "{what} is {value:e}, past ±{limit:e}"
                )))
            }
        };
        match *self {
            Sampler::Constant(value) => within("the constant", value),
            Sampler::Uniform { low, high } => {
                within("low", low)?;
                within("high", high)?;
                within("the width high - low", high - low)
            }
            Sampler::Normal { mean, std } => within("|mean| + 40 std", mean.abs() + 40.0 * std),
            Sampler::TruncatedNormal { mean, std, a, b } => {
                let (z_mean, z_variance) = TruncatedStandardNormal::moments(a, b);
                if !(z_mean.is_finite() && z_variance.is_finite() && z_variance > 0.0) {
                    return Err(out_of_range(format!(
                        "the interval [{a}, {b}] (in standard deviations from the mean) holds no probability mass a double can represent"
                    )));
                }
                within(
                    "|mean| + std max(|a|, |b|)",
                    mean.abs() + std * a.abs().max(b.abs()),
                )
            }
        }
    }

    pub(crate) fn fill<T: Element>(&self, values: &mut [T], key: RngKey) {
        self.fill_at(values, 0, key);
    }

    /// Fills `values` with what [`fill`](Self::fill) puts at positions `start..` of a
    /// longer tensor.
    pub(crate) fn fill_at<T: Element>(&self, values: &mut [T], start: usize, key: RngKey) {
        let cast = T::from_f64_rounded;
        let fill_parallel =
            |values: &mut [T], key, block: &(dyn Fn(&mut crate::BlockRng, &mut [T]) + Sync)| {
                fill_parallel_at(values, start, key, block);
            };
        match *self {
            Sampler::Constant(value) => values.fill(cast(value)),
            Sampler::Uniform { low, high } => {
                let (low, width) = (cast(low), cast(high - low));
                fill_parallel(values, key, &|rng, block| {
                    for v in block {
                        *v = low + width * T::unit_uniform(rng);
                    }
                });
            }
            Sampler::Normal { mean, std } => {
                let (mean, std) = (cast(mean), cast(std));
                fill_parallel(values, key, &|rng, block| {
                    for v in block {
                        *v = mean + std * T::standard_normal(rng);
                    }
                });
            }
            Sampler::TruncatedNormal { mean, std, a, b } => {
                let standard = TruncatedStandardNormal::new(a, b);
                fill_parallel(values, key, &|rng, block| {
                    for v in block {
                        *v = cast(mean + std * standard.sample(rng));
                    }
                });
            }
        }
    }
}
