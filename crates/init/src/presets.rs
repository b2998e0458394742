//! Other frameworks' defaults by name, so a model can be initialized exactly as PyTorch,
//! Keras or Flax would.

use crate::{FanMode, Initializer, Nonlinearity, ScalingDistribution};

/// A layer's weight and bias initializers. Bias strategies that need fans use the
/// *weight's* fans (apply with [`Initializer::fill_with_fans`]).
#[derive(Debug, Clone)]
pub struct LayerInit {
    /// For the weight `[out, in]`.
    pub weight: Initializer,
    /// For the bias `[out]`, with the weight's fans.
    pub bias: Initializer,
}

/// PyTorch's `nn.Linear` default: weight `kaiming_uniform_(a = sqrt(5))`, which is
/// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, and bias `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
///
/// # Examples
/// ```
/// use init::{presets, Fans};
///
/// let linear = presets::pytorch_linear();
/// let weight = linear.weight.variance(Fans::new(300, 100))?.unwrap();
/// assert!((weight - 1.0 / 900.0).abs() < 1e-15);
/// # Ok::<(), init::InitError>(())
/// ```
pub fn pytorch_linear() -> LayerInit {
    LayerInit {
        weight: Initializer::HeUniform {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu {
                negative_slope: 5.0_f64.sqrt(),
            },
        },
        bias: Initializer::GlorotStandard,
    }
}

/// Keras's `Dense` default: weight `glorot_uniform`, bias zeros.
pub fn keras_dense() -> LayerInit {
    LayerInit {
        weight: Initializer::GlorotUniform { gain: 1.0 },
        bias: Initializer::Zeros,
    }
}

/// Flax's `nn.Dense` default: weight `lecun_normal` (variance scaling 1, fan_in, truncated
/// normal), bias zeros.
pub fn flax_dense() -> LayerInit {
    LayerInit {
        weight: Initializer::VarianceScaling {
            scale: 1.0,
            mode: FanMode::FanIn,
            distribution: ScalingDistribution::TruncatedNormal,
        },
        bias: Initializer::Zeros,
    }
}

/// Keras 3's initializers by their Keras names, which JAX's `jax.nn.initializers` share.
/// Their `*_normal` ones truncate at ±2 std with the variance corrected back (variance
/// scaling with `truncated_normal`), unlike PyTorch's and this crate's plain
/// [`Initializer::GlorotNormal`], [`Initializer::HeNormal`] and [`Initializer::LeCunNormal`].
pub mod keras {
    use crate::{FanMode, Initializer, ScalingDistribution};

    fn scaling(scale: f64, mode: FanMode, distribution: ScalingDistribution) -> Initializer {
        Initializer::variance_scaling(scale, mode, distribution)
    }

    /// `glorot_normal`: variance `2 / (fan_in + fan_out)`, truncated normal.
    pub fn glorot_normal() -> Initializer {
        scaling(1.0, FanMode::FanAvg, ScalingDistribution::TruncatedNormal)
    }

    /// `glorot_uniform`: the same as [`Initializer::glorot_uniform`].
    pub fn glorot_uniform() -> Initializer {
        scaling(1.0, FanMode::FanAvg, ScalingDistribution::Uniform)
    }

    /// `he_normal`: variance `2 / fan_in`, truncated normal.
    pub fn he_normal() -> Initializer {
        scaling(2.0, FanMode::FanIn, ScalingDistribution::TruncatedNormal)
    }

    /// `he_uniform`: the same as PyTorch's `kaiming_uniform_` for ReLU.
    pub fn he_uniform() -> Initializer {
        scaling(2.0, FanMode::FanIn, ScalingDistribution::Uniform)
    }

    /// `lecun_normal`: variance `1 / fan_in`, truncated normal (also Flax's default).
    pub fn lecun_normal() -> Initializer {
        scaling(1.0, FanMode::FanIn, ScalingDistribution::TruncatedNormal)
    }

    /// `lecun_uniform`: the same as [`Initializer::lecun_uniform`].
    pub fn lecun_uniform() -> Initializer {
        scaling(1.0, FanMode::FanIn, ScalingDistribution::Uniform)
    }
}
