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
/// use initlab_init::{presets, Fans};
///
/// let linear = presets::pytorch_linear();
/// let weight = linear.weight.variance(Fans::new(300, 100))?.unwrap();
/// assert!((weight - 1.0 / 900.0).abs() < 1e-15);
/// # Ok::<(), initlab_init::InitError>(())
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

/// The per-tensor rules of residual-network initialization: a branch's weights scaled
/// down with the network's depth so that the sum of `L` branches stays of order one at
/// initialization. Where a scheme also needs the network's structure (scalar
/// multipliers, `alpha = 0` on a branch), `initlab-nn` applies it; these are the tensors' share.
pub mod residual {
    use crate::{InitError, Initializer};

    /// Fixup (Zhang, Dauphin & Ma 2019, "Fixup Initialization: Residual Learning Without
    /// Normalization", eq. 2 and §3): a branch of `m >= 2` layers in a network of `L`
    /// branches gets `inner` (He initialization in the paper) scaled by
    /// `L^(-1/(2m-2))`, so the variance is scaled by `L^(-1/(m-1))`. The branch's last
    /// layer is zero-initialized instead ([`Initializer::Zeros`]).
    ///
    /// # Errors
    /// [`InitError::Parameter`] for `branches` < 1 or `layers_per_branch` < 2 (the exponent
    /// divides by `2m - 2`).
    ///
    /// # Examples
    /// ```
    /// use initlab_init::presets::residual::fixup;
    /// use initlab_init::{Fans, Initializer, Nonlinearity};
    ///
    /// // 16 branches of 2 layers: He's variance scaled by 16^(-1) = 1/16.
    /// let he = Initializer::he_normal(Nonlinearity::Relu);
    /// let scaled = fixup(he.clone(), 16, 2)?;
    /// let fans = Fans::new(256, 256);
    /// let ratio = scaled.variance(fans)?.unwrap() / he.variance(fans)?.unwrap();
    /// assert!((ratio - 1.0 / 16.0).abs() < 1e-15);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn fixup(
        inner: Initializer,
        branches: usize,
        layers_per_branch: usize,
    ) -> Result<Initializer, InitError> {
        let count = |parameter, value: usize, least: usize| {
            if value >= least {
                Ok(value as f64)
            } else {
                Err(InitError::Parameter {
                    strategy: "fixup",
                    parameter,
                    value: value as f64,
                    allowed: format!("an integer >= {least}"),
                })
            }
        };
        let l = count("branches", branches, 1)?;
        let m = count("layers_per_branch", layers_per_branch, 2)?;
        Ok(inner.scaled(l.powf(-1.0 / (2.0 * m - 2.0))))
    }

    /// GPT-2's residual projections (Radford et al. 2019, "Language Models are
    /// Unsupervised Multitask Learners", §2.3; nanoGPT's `c_proj` init): `N(0, std²)`,
    /// `std` 0.02 in GPT-2, scaled by `1/sqrt(2L)` for `L` layers, each of which adds two
    /// branches (attention and MLP) to the residual stream.
    ///
    /// # Errors
    /// [`InitError::Parameter`] for `layers` = 0 or a `std` that is not finite and >= 0.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::presets::residual::gpt2_projection;
    /// use initlab_init::{Fans, Initializer};
    ///
    /// // GPT-2 small: 12 layers, std 0.02 / sqrt(24).
    /// let projection = gpt2_projection(0.02, 12)?;
    /// let variance = projection.variance(Fans::new(768, 3072))?.unwrap();
    /// assert!((variance - 0.02f64.powi(2) / 24.0).abs() < 1e-18);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn gpt2_projection(std: f64, layers: usize) -> Result<Initializer, InitError> {
        if layers == 0 {
            return Err(InitError::Parameter {
                strategy: "gpt2_projection",
                parameter: "layers",
                value: 0.0,
                allowed: "an integer >= 1".to_owned(),
            });
        }
        let projection = Initializer::normal(0.0, std).scaled(1.0 / (2.0 * layers as f64).sqrt());
        projection.validate()?;
        Ok(projection)
    }
}
