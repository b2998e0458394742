//! [`Initializer`]: every strategy, its parameters and its variance (the fill itself is in
//! `fill.rs`).

use std::sync::Arc;

use crate::error::{check, check_order};
use crate::sampler::Sampler;
use crate::truncated::TruncatedStandardNormal;
use crate::{CustomInit, FanMode, Fans, InitError, Nonlinearity};

/// The distribution a [`Initializer::VarianceScaling`] draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalingDistribution {
    /// `N(0, scale / fan)`, untruncated: Keras's `untruncated_normal`.
    Normal,
    /// A normal truncated at ±2 std, rescaled so its samples have variance `scale / fan`
    /// (std `sqrt(scale / fan) / 0.87962566103423978`, as Keras and JAX do).
    TruncatedNormal,
    /// `U(-limit, limit)` with `limit = sqrt(3 * scale / fan)`.
    Uniform,
}

/// How a weight tensor's axes are ordered, which decides its fans and how orthogonal
/// flattens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightLayout {
    /// PyTorch's `[out, in, k...]` ([`Fans::from_shape`]); orthogonal flattens to
    /// `[out, in * k...]`.
    PyTorch,
    /// Keras's and Flax's `[k..., in, out]` ([`Fans::from_keras_shape`]); orthogonal
    /// flattens to `[k... * in, out]`.
    Keras,
}

impl WeightLayout {
    /// The fans of `shape` in this layout.
    ///
    /// # Errors
    /// As [`Fans::from_shape`].
    pub fn fans(self, shape: &[usize]) -> Result<Fans, InitError> {
        match self {
            WeightLayout::PyTorch => Fans::from_shape(shape),
            WeightLayout::Keras => Fans::from_keras_shape(shape),
        }
    }
}

/// What `std` means for [`Initializer::TruncatedNormal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TruncatedStd {
    /// `std` is the standard deviation of the normal *before* truncation; the samples'
    /// std is smaller (0.88 `std` at ±2). PyTorch's `trunc_normal_` and Keras's
    /// `TruncatedNormal` initializer work this way (their bounds differ: see
    /// [`Initializer::trunc_normal`] and [`Initializer::truncated_normal`]).
    Parent,
    /// `std` is the standard deviation of the *samples*: the parent normal's std is
    /// `std / sqrt(Var[Z | a <= Z <= b])`, i.e. `std / 0.87962566103423978` at ±2, the
    /// correction Keras's and JAX's variance-scaling initializers apply.
    Samples,
}

/// Mean and variance of the values a strategy draws, for given fans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Expected value of one weight.
    pub mean: f64,
    /// Variance of one weight.
    pub variance: f64,
}

impl Moments {
    /// `E[w^2] = variance + mean^2`, what a layer's output variance scales with.
    pub fn second_moment(&self) -> f64 {
        self.variance + self.mean * self.mean
    }
}

/// A weight-initialization strategy. See the [crate documentation](crate) for the table of
/// formulas; each variant's doc states its own.
///
/// Build one directly (`Initializer::HeNormal { .. }`) or through the shorthand
/// constructors, then [`fill`](Self::fill) an array or [`sample`](Self::sample) a new one.
/// Parameters are checked when the strategy is used: a bad one is an [`InitError`] naming
/// it, never a panic.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Initializer {
    /// Every weight 0. With it, no hidden weight ever receives a gradient.
    Zeros,
    /// Every weight 1.
    Ones,
    /// Every weight `value`: all units of a layer stay identical forever.
    Constant {
        /// The value.
        value: f64,
    },
    /// `U(low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound, above `low`.
        high: f64,
    },
    /// `N(mean, std^2)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation, >= 0.
        std: f64,
    },
    /// `mean + std * Z` with `Z` a standard normal truncated to `[a, b]`: bounds in units
    /// of `std` around `mean`, as Keras and JAX put them (PyTorch's absolute bounds convert
    /// through [`Initializer::trunc_normal`]). Sampled exactly, in f64, by rejection.
    TruncatedNormal {
        /// Mean of the parent normal (and center of the bounds).
        mean: f64,
        /// Standard deviation, > 0; see `std_of` for which one.
        std: f64,
        /// Lower bound in units of std (default -2).
        a: f64,
        /// Upper bound in units of std (default 2), above `a`.
        b: f64,
        /// Whether `std` is the parent's (PyTorch) or the samples' (Keras/JAX scaling).
        std_of: TruncatedStd,
    },
    /// Glorot & Bengio (2010), PyTorch's `xavier_uniform_` and Keras's `glorot_uniform`:
    /// `U(-l, l)`, `l = gain * sqrt(6 / (fan_in + fan_out))`, variance
    /// `gain^2 * 2 / (fan_in + fan_out)`.
    #[doc(alias = "xavier_uniform")]
    #[doc(alias = "xavier")]
    GlorotUniform {
        /// Multiplier, > 0 (see [`Nonlinearity::gain`]).
        gain: f64,
    },
    /// Glorot & Bengio (2010): `N(0, gain^2 * 2 / (fan_in + fan_out))`, untruncated:
    /// PyTorch's `xavier_normal_`. Keras 3's and JAX's `glorot_normal` truncate at ±2 std
    /// with the variance corrected: [`crate::presets::keras::glorot_normal`].
    #[doc(alias = "xavier_normal")]
    #[doc(alias = "xavier")]
    GlorotNormal {
        /// Multiplier, > 0.
        gain: f64,
    },
    /// The "standard" initialization Glorot & Bengio (2010, eq. 1) compare against:
    /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, variance `1 / (3 fan_in)`.
    GlorotStandard,
    /// He et al. (2015), PyTorch's `kaiming_uniform_`: `U(-l, l)`, `l = gain * sqrt(3 /
    /// fan)`, variance `gain^2 / fan`, with `gain` from the nonlinearity (sqrt(2) for ReLU)
    /// and `fan` from `mode`.
    #[doc(alias = "kaiming_uniform")]
    #[doc(alias = "kaiming")]
    HeUniform {
        /// Which fan to preserve: `FanIn` (forward) or `FanOut` (backward).
        mode: FanMode,
        /// The nonlinearity that follows; its gain scales the weights.
        nonlinearity: Nonlinearity,
    },
    /// He et al. (2015): `N(0, gain^2 / fan)`, untruncated: PyTorch's `kaiming_normal_`.
    /// Keras 3's and JAX's `he_normal` truncate: [`crate::presets::keras::he_normal`].
    #[doc(alias = "kaiming_normal")]
    #[doc(alias = "kaiming")]
    HeNormal {
        /// Which fan to preserve.
        mode: FanMode,
        /// The nonlinearity that follows.
        nonlinearity: Nonlinearity,
    },
    /// LeCun et al. (1998): `U(-l, l)`, `l = sqrt(3 / fan_in)`, variance `1 / fan_in`.
    LeCunUniform,
    /// LeCun et al. (1998): `N(0, 1 / fan_in)`, untruncated. Keras 3's and Flax/JAX's
    /// `lecun_normal` truncate: [`crate::presets::keras::lecun_normal`].
    LeCunNormal,
    /// The general form every fan-based strategy is a case of: variance `scale / fan`
    /// with `fan` chosen by `mode`, drawn from `distribution` (Keras's `VarianceScaling`).
    VarianceScaling {
        /// Variance multiplier, > 0.
        scale: f64,
        /// Which fan to divide by.
        mode: FanMode,
        /// Which distribution to draw from.
        distribution: ScalingDistribution,
    },
    /// Saxe et al. (2014): a Haar-random matrix with orthonormal rows or columns (whichever
    /// are fewer), times `gain`; from the QR of a Gaussian matrix with R's diagonal signs
    /// folded into Q (Mezzadri 2007). Rank >= 2; higher ranks are flattened to
    /// `[shape[0], rest]` like PyTorch. Entry variance `gain^2 / max(rows, cols)`.
    Orthogonal {
        /// Multiplier, > 0.
        gain: f64,
    },
    /// Xiao et al. (2018), "Dynamical Isometry and a Mean Field Theory of CNNs", for very
    /// deep vanilla CNNs: zeros everywhere but the kernel's spatial centre (index
    /// `(k - 1) / 2` on each axis, as JAX's `delta_orthogonal`), which holds `gain` times a
    /// Haar-random `out x in` matrix with orthonormal columns, one per group. So a
    /// convolution starts as an orthogonal map of its channels, pixel by pixel. Needs at
    /// least as many output as input channels per group; rank 3 to 5, in PyTorch's layout
    /// `[out, in / groups, k...]` or Keras's `[k..., in / groups, out]` (JAX's HWIO, the
    /// transpose). A random entry has variance `gain^2 * groups / fan_out` (`fan_out =
    /// out * k...`), so `fan_in * Var(w) = gain^2 * in / out`.
    DeltaOrthogonal {
        /// Multiplier, > 0.
        gain: f64,
        /// Convolution groups, >= 1, dividing the output channels.
        groups: usize,
    },
    /// `gain` times the (rectangular) identity matrix; 2-D only.
    Identity {
        /// Multiplier, > 0.
        gain: f64,
    },
    /// Dirac delta for convolutions `[out, in / groups, k...]`: each output channel passes
    /// one input channel through unchanged at the kernel's center; rank >= 3.
    Dirac {
        /// Convolution groups, >= 1, dividing the output channels.
        groups: usize,
    },
    /// Martens (2010): `N(0, std^2)` with exactly `ceil(sparsity * rows)` zeros in each
    /// column, at random rows; 2-D only.
    Sparse {
        /// Fraction of zeros per column, in `[0, 1)`.
        sparsity: f64,
        /// Standard deviation of the non-zero values, >= 0.
        std: f64,
    },
    /// Another strategy with every weight multiplied by `factor`: the same draws from the
    /// same key, scaled, and mean and variance scaled by `factor` and `factor²`. The
    /// residual-network schemes are such rules: [`crate::presets::residual`].
    Scaled {
        /// The strategy scaled.
        inner: Box<Initializer>,
        /// Multiplier, >= 0 (0 is a zero-initialized layer).
        factor: f64,
    },
    /// A user-defined strategy.
    Custom(Arc<dyn CustomInit>),
}

impl Initializer {
    /// `U(low, high)`.
    pub fn uniform(low: f64, high: f64) -> Self {
        Self::Uniform { low, high }
    }

    /// `N(mean, std^2)`.
    pub fn normal(mean: f64, std: f64) -> Self {
        Self::Normal { mean, std }
    }

    /// Keras's `TruncatedNormal(mean, stddev)`: `N(mean, std^2)` truncated at ±2 `std`
    /// around the mean, `std` of the parent. (PyTorch's `trunc_normal_` cuts at absolute
    /// values instead: [`trunc_normal`](Self::trunc_normal).)
    pub fn truncated_normal(mean: f64, std: f64) -> Self {
        Self::TruncatedNormal {
            mean,
            std,
            a: -2.0,
            b: 2.0,
            std_of: TruncatedStd::Parent,
        }
    }

    /// PyTorch's `trunc_normal_(mean, std, a, b)`: `N(mean, std^2)` truncated to the
    /// *absolute* interval `[a, b]` (PyTorch's defaults are -2 and 2 whatever `std` is), so
    /// a ViT's `trunc_normal_(w, std=.02)` is `trunc_normal(0.0, 0.02, -2.0, 2.0)`: cut at
    /// ±100 std, in effect untruncated, variance 4e-4. Stored as the same truncated normal
    /// with bounds in std units, `(a - mean) / std` and `(b - mean) / std`.
    #[doc(alias = "trunc_normal_")]
    pub fn trunc_normal(mean: f64, std: f64, a: f64, b: f64) -> Self {
        Self::TruncatedNormal {
            mean,
            std,
            a: (a - mean) / std,
            b: (b - mean) / std,
            std_of: TruncatedStd::Parent,
        }
    }

    /// Every weight 0.
    pub fn zeros() -> Self {
        Self::Zeros
    }

    /// Every weight 1.
    pub fn ones() -> Self {
        Self::Ones
    }

    /// Every weight `value`.
    pub fn constant(value: f64) -> Self {
        Self::Constant { value }
    }

    /// Glorot/Xavier uniform with gain 1.
    #[doc(alias = "xavier_uniform")]
    pub fn glorot_uniform() -> Self {
        Self::GlorotUniform { gain: 1.0 }
    }

    /// Glorot/Xavier normal with gain 1 (untruncated, as PyTorch).
    #[doc(alias = "xavier_normal")]
    pub fn glorot_normal() -> Self {
        Self::GlorotNormal { gain: 1.0 }
    }

    /// Glorot & Bengio's "standard" `U(±1/sqrt(fan_in))`.
    pub fn glorot_standard() -> Self {
        Self::GlorotStandard
    }

    /// PyTorch's `xavier_uniform_(tensor, gain)`.
    pub fn xavier_uniform(gain: f64) -> Self {
        Self::GlorotUniform { gain }
    }

    /// PyTorch's `xavier_normal_(tensor, gain)`.
    pub fn xavier_normal(gain: f64) -> Self {
        Self::GlorotNormal { gain }
    }

    /// PyTorch's `kaiming_uniform_(tensor, a, mode, nonlinearity)`: pass `a` as
    /// `Nonlinearity::LeakyRelu { negative_slope: a }` (PyTorch's default, `a = 0`, is
    /// ReLU's gain sqrt(2)).
    pub fn kaiming_uniform(mode: FanMode, nonlinearity: Nonlinearity) -> Self {
        Self::HeUniform { mode, nonlinearity }
    }

    /// PyTorch's `kaiming_normal_(tensor, a, mode, nonlinearity)`; see
    /// [`kaiming_uniform`](Self::kaiming_uniform).
    pub fn kaiming_normal(mode: FanMode, nonlinearity: Nonlinearity) -> Self {
        Self::HeNormal { mode, nonlinearity }
    }

    /// LeCun uniform, `U(±sqrt(3 / fan_in))`.
    pub fn lecun_uniform() -> Self {
        Self::LeCunUniform
    }

    /// LeCun normal, `N(0, 1 / fan_in)` (untruncated).
    pub fn lecun_normal() -> Self {
        Self::LeCunNormal
    }

    /// Keras's `VarianceScaling(scale, mode, distribution)`.
    pub fn variance_scaling(scale: f64, mode: FanMode, distribution: ScalingDistribution) -> Self {
        Self::VarianceScaling {
            scale,
            mode,
            distribution,
        }
    }

    /// Orthogonal times `gain`.
    pub fn orthogonal(gain: f64) -> Self {
        Self::Orthogonal { gain }
    }

    /// `gain` times the identity.
    pub fn identity(gain: f64) -> Self {
        Self::Identity { gain }
    }

    /// Delta-orthogonal with `gain`, one group (JAX's `delta_orthogonal(scale=gain)`).
    pub fn delta_orthogonal(gain: f64) -> Self {
        Self::DeltaOrthogonal { gain, groups: 1 }
    }

    /// Dirac delta for convolutions with `groups` groups.
    pub fn dirac(groups: usize) -> Self {
        Self::Dirac { groups }
    }

    /// Martens's sparse initialization.
    pub fn sparse(sparsity: f64, std: f64) -> Self {
        Self::Sparse { sparsity, std }
    }

    /// He/Kaiming normal for `nonlinearity`, preserving the forward variance (fan_in).
    #[doc(alias = "kaiming_normal")]
    pub fn he_normal(nonlinearity: Nonlinearity) -> Self {
        Self::HeNormal {
            mode: FanMode::FanIn,
            nonlinearity,
        }
    }

    /// He/Kaiming uniform for `nonlinearity`, preserving the forward variance (fan_in).
    #[doc(alias = "kaiming_uniform")]
    pub fn he_uniform(nonlinearity: Nonlinearity) -> Self {
        Self::HeUniform {
            mode: FanMode::FanIn,
            nonlinearity,
        }
    }

    /// Wraps a user-defined strategy.
    pub fn custom(strategy: impl CustomInit + 'static) -> Self {
        Self::Custom(Arc::new(strategy))
    }

    /// The strategy's name, as reports print it (`"he_normal"`, `"orthogonal"`, ...).
    pub fn name(&self) -> &str {
        match self {
            Self::Custom(custom) => custom.name(),
            _ => self.static_name(),
        }
    }

    /// The [`Initializer::VarianceScaling`] this strategy is a special case of, if any.
    ///
    /// Named fan-based strategies sample *through* this form, so a named strategy and its
    /// variance-scaling equivalent give bitwise-identical weights from the same key.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{FanMode, Initializer, Nonlinearity, ScalingDistribution};
    ///
    /// let he = Initializer::he_normal(Nonlinearity::Relu).as_variance_scaling();
    /// assert!(matches!(
    ///     he,
    ///     Some(Initializer::VarianceScaling { mode: FanMode::FanIn, distribution: ScalingDistribution::Normal, .. })
    /// ));
    /// ```
    pub fn as_variance_scaling(&self) -> Option<Initializer> {
        let scaling = |scale: f64, mode, distribution| Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        };
        use ScalingDistribution as D;
        Some(match *self {
            Self::GlorotUniform { gain } => scaling(gain * gain, FanMode::FanAvg, D::Uniform),
            Self::GlorotNormal { gain } => scaling(gain * gain, FanMode::FanAvg, D::Normal),
            Self::GlorotStandard => scaling(1.0 / 3.0, FanMode::FanIn, D::Uniform),
            Self::HeUniform { mode, nonlinearity } => {
                let gain = nonlinearity.gain();
                scaling(gain * gain, mode, D::Uniform)
            }
            Self::HeNormal { mode, nonlinearity } => {
                let gain = nonlinearity.gain();
                scaling(gain * gain, mode, D::Normal)
            }
            Self::LeCunUniform => scaling(1.0, FanMode::FanIn, D::Uniform),
            Self::LeCunNormal => scaling(1.0, FanMode::FanIn, D::Normal),
            Self::VarianceScaling { .. } => self.clone(),
            _ => return None,
        })
    }

    /// Whether the strategy needs the tensor's fans: a variance-scaling one does; a custom
    /// one is given them where the shape defines them, and `None` where it does not.
    pub fn needs_fans(&self) -> bool {
        match self {
            Self::Scaled { inner, .. } => inner.needs_fans(),
            _ => self.as_variance_scaling().is_some(),
        }
    }

    /// `factor` times this strategy, see [`Initializer::Scaled`].
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        Self::Scaled {
            inner: Box::new(self),
            factor,
        }
    }

    /// The strategy for a convolution of `groups` groups: Dirac and delta-orthogonal (under
    /// any scaling) take the layer's groups, which shape their kernel; every other
    /// strategy is unchanged. A network builder calls it so that one strategy serves
    /// convolutions of any grouping.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::Initializer;
    ///
    /// let depthwise = Initializer::delta_orthogonal(1.0).scaled(0.5).for_groups(16);
    /// let Initializer::Scaled { inner, .. } = depthwise else { panic!("still scaled") };
    /// assert!(matches!(*inner, Initializer::DeltaOrthogonal { groups: 16, .. }));
    /// ```
    #[must_use]
    pub fn for_groups(self, groups: usize) -> Self {
        match self {
            Self::DeltaOrthogonal { gain, .. } => Self::DeltaOrthogonal { gain, groups },
            Self::Dirac { .. } => Self::Dirac { groups },
            Self::Scaled { inner, factor } => Self::Scaled {
                inner: Box::new(inner.for_groups(groups)),
                factor,
            },
            other => other,
        }
    }

    /// Checks every parameter, without a tensor.
    ///
    /// # Errors
    /// The [`InitError`] that [`fill`](Self::fill) would return for these parameters.
    pub fn validate(&self) -> Result<(), InitError> {
        let name = self.static_name();
        match *self {
            Self::Constant { value } => check(name, "value", value, |_| true, "a finite number"),
            Self::Uniform { low, high } => check_order(name, ("low", low), ("high", high)),
            Self::Normal { mean, std } => {
                check(name, "mean", mean, |_| true, "a finite number")?;
                check(name, "std", std, |s| s >= 0.0, "a finite number >= 0")
            }
            Self::TruncatedNormal {
                mean, std, a, b, ..
            } => {
                check(name, "mean", mean, |_| true, "a finite number")?;
                check(name, "std", std, |s| s > 0.0, "a finite number > 0")?;
                check_order(name, ("a", a), ("b", b))
            }
            Self::GlorotUniform { gain } | Self::GlorotNormal { gain } => check_gain(name, gain),
            Self::Orthogonal { gain } | Self::Identity { gain } => check_gain(name, gain),
            Self::DeltaOrthogonal { gain, groups } => {
                check_gain(name, gain)?;
                check(
                    name,
                    "groups",
                    groups as f64,
                    |g| g >= 1.0,
                    "at least 1 group",
                )
            }
            Self::HeUniform { nonlinearity, .. } | Self::HeNormal { nonlinearity, .. } => {
                if let Nonlinearity::LeakyRelu { negative_slope } = nonlinearity {
                    // Past ~1e154 the slope squares to infinity and the gain to 0: all
                    // weights would silently be zero.
                    check(
                        name,
                        "negative_slope",
                        negative_slope,
                        |_| nonlinearity.gain() > 0.0,
                        "a finite number whose gain sqrt(2 / (1 + slope^2)) is above 0 (|slope| below 1e154)",
                    )?;
                }
                Ok(())
            }
            Self::VarianceScaling { scale, .. } => {
                check(name, "scale", scale, |s| s > 0.0, "a finite number > 0")
            }
            Self::Dirac { groups } => check(
                name,
                "groups",
                groups as f64,
                |g| g >= 1.0,
                "an integer >= 1",
            ),
            Self::Sparse { sparsity, std } => {
                check(
                    name,
                    "sparsity",
                    sparsity,
                    |s| (0.0..1.0).contains(&s),
                    "a fraction in [0, 1)",
                )?;
                check(name, "std", std, |s| s >= 0.0, "a finite number >= 0")
            }
            Self::Zeros
            | Self::Ones
            | Self::GlorotStandard
            | Self::LeCunUniform
            | Self::LeCunNormal
            | Self::Custom(_) => Ok(()),
            Self::Scaled { ref inner, factor } => {
                check(name, "factor", factor, |f| f >= 0.0, "a finite number >= 0")?;
                inner.validate()
            }
        }
    }

    /// Mean and variance of one weight for a tensor with these fans; `None` for strategies
    /// whose weights are not identically distributed (identity, dirac) or a custom strategy
    /// that does not say.
    ///
    /// The signal-propagation report uses this same function, so the report and the
    /// library cannot disagree.
    ///
    /// # Errors
    /// A bad parameter, or a zero fan the strategy divides by.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::{Fans, Initializer, Nonlinearity};
    ///
    /// let he = Initializer::he_normal(Nonlinearity::Relu);
    /// let moments = he.moments(Fans::new(512, 256))?.unwrap();
    /// assert!((moments.variance - 2.0 / 512.0).abs() < 1e-15);
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn moments(&self, fans: Fans) -> Result<Option<Moments>, InitError> {
        self.validate()?;
        if let Some(sampler) = self.sampler(fans)? {
            return Ok(Some(sampler.moments()));
        }
        Ok(match self {
            Self::Orthogonal { gain } => {
                let longer = fans.rows().max(fans.fan_in);
                (longer > 0).then(|| Moments {
                    mean: 0.0,
                    variance: gain * gain / longer as f64,
                })
            }
            Self::DeltaOrthogonal { gain, groups } => (fans.fan_out > 0).then(|| Moments {
                mean: 0.0,
                variance: gain * gain * *groups as f64 / fans.fan_out as f64,
            }),
            Self::Sparse { sparsity, std } => {
                let rows = fans.rows();
                (rows > 0).then(|| {
                    let zeros = (sparsity * rows as f64).ceil().min(rows as f64);
                    Moments {
                        mean: 0.0,
                        variance: std * std * (1.0 - zeros / rows as f64),
                    }
                })
            }
            Self::Custom(custom) => custom.moments(fans),
            Self::Scaled { inner, factor } => inner.moments(fans)?.map(|m| Moments {
                mean: m.mean * factor,
                variance: m.variance * factor * factor,
            }),
            _ => None,
        })
    }

    /// The variance of one weight, see [`moments`](Self::moments).
    ///
    /// # Errors
    /// As [`moments`](Self::moments).
    pub fn variance(&self, fans: Fans) -> Result<Option<f64>, InitError> {
        Ok(self.moments(fans)?.map(|m| m.variance))
    }

    /// The i.i.d. distribution of a strategy that needs no fans, if it is one.
    pub(crate) fn sampler_without_fans(&self) -> Option<Sampler> {
        if let Self::Scaled { inner, factor } = self {
            return inner.sampler_without_fans().map(|s| s.scaled(*factor));
        }
        Some(match *self {
            Self::Zeros => Sampler::Constant(0.0),
            Self::Ones => Sampler::Constant(1.0),
            Self::Constant { value } => Sampler::Constant(value),
            Self::Uniform { low, high } => Sampler::Uniform { low, high },
            Self::Normal { mean, std } => Sampler::Normal { mean, std },
            Self::TruncatedNormal {
                mean,
                std,
                a,
                b,
                std_of,
            } => {
                let std = match std_of {
                    TruncatedStd::Parent => std,
                    TruncatedStd::Samples => std / TruncatedStandardNormal::moments(a, b).1.sqrt(),
                };
                Sampler::TruncatedNormal { mean, std, a, b }
            }
            _ => return None,
        })
    }

    /// The i.i.d. distribution this strategy draws from for these fans, if it is one.
    pub(crate) fn sampler(&self, fans: Fans) -> Result<Option<Sampler>, InitError> {
        if let Some(sampler) = self.sampler_without_fans() {
            return Ok(Some(sampler));
        }
        if let Self::Scaled { inner, factor } = self {
            return Ok(inner.sampler(fans)?.map(|s| s.scaled(*factor)));
        }
        let Some(Self::VarianceScaling {
            scale,
            mode,
            distribution,
        }) = self.as_variance_scaling()
        else {
            return Ok(None);
        };
        let variance = scale / fans.positive(mode, self.static_name())?;
        let truncated = || Self::TruncatedNormal {
            mean: 0.0,
            std: variance.sqrt(),
            a: -2.0,
            b: 2.0,
            std_of: TruncatedStd::Samples,
        };
        Ok(Some(match distribution {
            ScalingDistribution::Normal => Sampler::Normal {
                mean: 0.0,
                std: variance.sqrt(),
            },
            ScalingDistribution::Uniform => {
                let limit = (3.0 * variance).sqrt();
                Sampler::Uniform {
                    low: -limit,
                    high: limit,
                }
            }
            ScalingDistribution::TruncatedNormal => truncated()
                .sampler_without_fans()
                .expect("truncated normal is i.i.d."),
        }))
    }

    /// The strategy under any [`Initializer::Scaled`] layers.
    pub(crate) fn innermost(&self) -> &Self {
        match self {
            Self::Scaled { inner, .. } => inner.innermost(),
            _ => self,
        }
    }

    /// The name for error messages (custom strategies report as `"custom"`).
    pub(crate) fn static_name(&self) -> &'static str {
        match self {
            Self::Custom(_) => "custom",
            Self::Scaled { .. } => "scaled",
            Self::Zeros => "zeros",
            Self::Ones => "ones",
            Self::Constant { .. } => "constant",
            Self::Uniform { .. } => "uniform",
            Self::Normal { .. } => "normal",
            Self::TruncatedNormal { .. } => "truncated_normal",
            Self::GlorotUniform { .. } => "glorot_uniform",
            Self::GlorotNormal { .. } => "glorot_normal",
            Self::GlorotStandard => "glorot_standard",
            Self::HeUniform { .. } => "he_uniform",
            Self::HeNormal { .. } => "he_normal",
            Self::LeCunUniform => "lecun_uniform",
            Self::LeCunNormal => "lecun_normal",
            Self::VarianceScaling { .. } => "variance_scaling",
            Self::Orthogonal { .. } => "orthogonal",
            Self::Identity { .. } => "identity",
            Self::DeltaOrthogonal { .. } => "delta_orthogonal",
            Self::Dirac { .. } => "dirac",
            Self::Sparse { .. } => "sparse",
        }
    }
}

fn check_gain(strategy: &'static str, gain: f64) -> Result<(), InitError> {
    check(strategy, "gain", gain, |g| g > 0.0, "a finite number > 0")
}
