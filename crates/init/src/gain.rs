//! Recommended gains per nonlinearity, equal to PyTorch's `torch.nn.init.calculate_gain`.

/// A nonlinearity, for the gain that keeps a signal's scale through it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nonlinearity {
    /// Identity / linear layers: gain 1.
    Linear,
    /// Any convolution (1-D, 2-D, 3-D, transposed): gain 1.
    Conv,
    /// Logistic sigmoid: gain 1.
    Sigmoid,
    /// Hyperbolic tangent: gain 5/3.
    Tanh,
    /// Rectified linear unit: gain sqrt(2).
    Relu,
    /// Leaky ReLU with the given negative slope: gain sqrt(2 / (1 + slope^2)).
    LeakyRelu {
        /// Slope for negative inputs (PyTorch's default is 0.01).
        negative_slope: f64,
    },
    /// Scaled exponential linear unit: gain 3/4 (PyTorch's choice, for self-normalization
    /// use LeCun normal instead).
    Selu,
}

impl Nonlinearity {
    /// The recommended gain, exactly PyTorch's `calculate_gain`.
    ///
    /// # Examples
    /// ```
    /// use initlab_init::Nonlinearity;
    ///
    /// assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
    /// assert_eq!(Nonlinearity::Relu.gain(), 2.0_f64.sqrt());
    /// let leaky = Nonlinearity::LeakyRelu { negative_slope: 5.0_f64.sqrt() };
    /// assert!((leaky.gain() - (1.0_f64 / 3.0).sqrt()).abs() < 1e-15);
    /// ```
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => 2.0_f64.sqrt(),
            Nonlinearity::LeakyRelu { negative_slope } => {
                (2.0 / (1.0 + negative_slope * negative_slope)).sqrt()
            }
            Nonlinearity::Selu => 3.0 / 4.0,
        }
    }

    /// A short name for reports, as PyTorch spells it.
    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Linear => "linear",
            Nonlinearity::Conv => "conv",
            Nonlinearity::Sigmoid => "sigmoid",
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::LeakyRelu { .. } => "leaky_relu",
            Nonlinearity::Selu => "selu",
        }
    }
}
