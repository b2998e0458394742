//! How many inputs feed each unit (fan_in) and how many units each input feeds (fan_out).

use std::fmt;

use crate::InitError;

/// The fans of a weight tensor, the numbers variance-preserving strategies scale by.
///
/// For a dense weight `[out, in]`, `fan_in = in` and `fan_out = out`. For a convolution
/// `[out, in / groups, k1, k2, ...]`, both are multiplied by the receptive field
/// `k1 * k2 * ...`: `fan_in = in / groups * k1 * k2 ...`, `fan_out = out * k1 * k2 ...`
/// (PyTorch's `_calculate_fan_in_and_fan_out`).
///
/// # Examples
/// ```
/// use initlab_init::Fans;
///
/// let dense = Fans::from_shape(&[256, 784])?;
/// assert_eq!((dense.fan_in, dense.fan_out), (784, 256));
///
/// // A grouped 3x3 convolution: 64 outputs, 32 inputs in 2 groups -> 16 per group.
/// let conv = Fans::from_shape(&[64, 16, 3, 3])?;
/// assert_eq!((conv.fan_in, conv.fan_out, conv.receptive_field), (144, 576, 9));
///
/// // The same dense layer stored as Keras/Flax do, [in, out]:
/// assert_eq!(Fans::from_keras_shape(&[784, 256])?, dense);
/// # Ok::<(), initlab_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fans {
    /// Inputs that feed one output unit.
    pub fan_in: usize,
    /// Output units that one input feeds.
    pub fan_out: usize,
    /// Elements of one kernel window (1 for a dense layer).
    pub receptive_field: usize,
}

/// Which fan a variance-scaling strategy divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FanMode {
    /// `fan_in`: preserves the forward signal's variance.
    FanIn,
    /// `fan_out`: preserves the backward gradient's variance.
    FanOut,
    /// `(fan_in + fan_out) / 2`: Glorot & Bengio's compromise.
    FanAvg,
}

impl FanMode {
    /// The name used in Keras and in this crate's reports: `fan_in`, `fan_out`, `fan_avg`.
    pub fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
            FanMode::FanAvg => "fan_avg",
        }
    }
}

impl Fans {
    /// Fans of a dense layer with `fan_in` inputs and `fan_out` outputs.
    pub fn new(fan_in: usize, fan_out: usize) -> Self {
        Self {
            fan_in,
            fan_out,
            receptive_field: 1,
        }
    }

    /// Fans of a weight in PyTorch's layout: dense `[out, in]`, convolution
    /// `[out, in / groups, k...]`.
    ///
    /// # Errors
    /// [`InitError::NoFans`] for rank 0 or 1.
    pub fn from_shape(shape: &[usize]) -> Result<Self, InitError> {
        match shape {
            [out, inp, kernel @ ..] => Self::with_kernel(*inp, *out, kernel, shape),
            _ => Err(Self::rank_error(shape)),
        }
    }

    /// Fans of a grouped (or depthwise) convolution weight `[out, in / groups, k...]`, per
    /// group: `fan_in = in / groups * k...` as PyTorch has it, and `fan_out = out / groups
    /// * k...`, the outputs one input actually feeds. PyTorch's `fan_out` ignores `groups`
    /// (`out * k...`, pytorch#23854): for a depthwise 3x3 convolution of 32 channels it
    /// says 288 where each input feeds 9, so its `fan_out`-mode He and Glorot scale such
    /// layers by `groups` too little. [`Fans::from_shape`] keeps PyTorch's number.
    ///
    /// # Errors
    /// [`InitError::NoFans`] for rank < 3; [`InitError::Parameter`] when `groups` is 0 or
    /// does not divide the output channels; [`InitError::FanOverflow`].
    ///
    /// # Examples
    /// ```
    /// use initlab_init::Fans;
    ///
    /// let depthwise = Fans::from_grouped_shape(&[32, 1, 3, 3], 32)?;
    /// assert_eq!((depthwise.fan_in, depthwise.fan_out), (9, 9));
    /// assert_eq!(Fans::from_shape(&[32, 1, 3, 3])?.fan_out, 288); // PyTorch's
    /// # Ok::<(), initlab_init::InitError>(())
    /// ```
    pub fn from_grouped_shape(shape: &[usize], groups: usize) -> Result<Self, InitError> {
        if shape.len() < 3 {
            return Err(Self::rank_error(shape));
        }
        if groups == 0 || !shape[0].is_multiple_of(groups) {
            return Err(InitError::Parameter {
                strategy: "fans",
                parameter: "groups",
                value: groups as f64,
                allowed: format!("a divisor of the {} output channels", shape[0]),
            });
        }
        let fans = Self::from_shape(shape)?;
        Ok(Self {
            fan_out: fans.fan_out / groups,
            ..fans
        })
    }

    /// Fans of a weight in Keras / Flax layout: dense `[in, out]`, convolution
    /// `[k..., in, out]`, so nobody has to transpose by hand.
    ///
    /// # Errors
    /// [`InitError::NoFans`] for rank 0 or 1.
    pub fn from_keras_shape(shape: &[usize]) -> Result<Self, InitError> {
        match shape {
            [kernel @ .., inp, out] => Self::with_kernel(*inp, *out, kernel, shape),
            _ => Err(Self::rank_error(shape)),
        }
    }

    fn with_kernel(
        inputs: usize,
        outputs: usize,
        kernel: &[usize],
        shape: &[usize],
    ) -> Result<Self, InitError> {
        // A shape with a zero dimension allocates nothing, so its other dimensions can
        // multiply past usize.
        let overflow = || InitError::FanOverflow {
            shape: shape.to_vec(),
        };
        let receptive_field = kernel
            .iter()
            .try_fold(1_usize, |p, &k| p.checked_mul(k))
            .ok_or_else(overflow)?;
        Ok(Self {
            fan_in: inputs.checked_mul(receptive_field).ok_or_else(overflow)?,
            fan_out: outputs.checked_mul(receptive_field).ok_or_else(overflow)?,
            receptive_field,
        })
    }

    fn rank_error(shape: &[usize]) -> InitError {
        InitError::NoFans {
            strategy: "fans",
            shape: shape.to_vec(),
        }
    }

    /// The fan that `mode` selects, as a float (`FanAvg` may be a half-integer).
    pub fn get(&self, mode: FanMode) -> f64 {
        match mode {
            FanMode::FanIn => self.fan_in as f64,
            FanMode::FanOut => self.fan_out as f64,
            // In floating point: the sum of two fans may not fit in a usize.
            FanMode::FanAvg => (self.fan_in as f64 + self.fan_out as f64) / 2.0,
        }
    }

    /// The fan `mode` selects, or [`InitError::ZeroFan`] if it is zero.
    pub(crate) fn positive(&self, mode: FanMode, strategy: &'static str) -> Result<f64, InitError> {
        let fan = self.get(mode);
        if fan > 0.0 {
            Ok(fan)
        } else {
            Err(InitError::ZeroFan {
                strategy,
                which: match mode {
                    FanMode::FanIn => "fan_in",
                    FanMode::FanOut => "fan_out",
                    FanMode::FanAvg => "fan_in + fan_out",
                },
                fans: *self,
            })
        }
    }

    /// Output units (rows of the flattened `[out, rest]` matrix).
    pub(crate) fn rows(&self) -> usize {
        self.fan_out / self.receptive_field.max(1)
    }
}

impl fmt::Display for Fans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fan_in = {}, fan_out = {}", self.fan_in, self.fan_out)?;
        if self.receptive_field != 1 {
            write!(f, ", receptive field = {}", self.receptive_field)?;
        }
        Ok(())
    }
}
