//! Elementwise nonlinearities with their derivatives and their initialization gains.

use std::fmt;
use std::str::FromStr;

use initlab_init::Nonlinearity;
use serde::{Deserialize, Serialize};

use crate::{NnError, Real};

/// SELU's scale λ (Klambauer et al. 2017).
const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// sqrt(2 / π), for the tanh approximation of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// Runs `$body` in a separate match arm for every variant, so each arm's loop is compiled
/// with `$activation` known and the per-element `match` folds away (vectorizable loops).
macro_rules! per_variant {
    ($activation:expr, $body:block) => {
        match $activation {
            Activation::Identity => $body,
            Activation::Sigmoid => $body,
            Activation::Tanh => $body,
            Activation::Relu => $body,
            Activation::LeakyRelu { .. } => $body,
            Activation::Elu { .. } => $body,
            Activation::Selu => $body,
            Activation::Gelu => $body,
            Activation::GeluTanh => $body,
            Activation::Softsign => $body,
        }
    };
}

/// A nonlinearity applied elementwise after a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Activation {
    /// `x`.
    Identity,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, `slope * x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f64,
    },
    /// `x` for `x > 0`, `alpha (e^x - 1)` otherwise (Clevert et al. 2016).
    Elu {
        /// Saturation value for large negative inputs is `-alpha`.
        alpha: f64,
    },
    /// `λ x` for `x > 0`, `λ α (e^x - 1)` otherwise, λ ≈ 1.0507, α ≈ 1.6733
    /// (Klambauer et al. 2017): self-normalizing with LeCun-normal weights.
    Selu,
    /// `x Φ(x)`, the exact GELU (Hendrycks & Gimpel 2016).
    Gelu,
    /// `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x^3)))`, GELU's tanh approximation.
    GeluTanh,
    /// `x / (1 + |x|)`.
    Softsign,
}

impl Activation {
    /// Every activation with default parameters, for listings and tests.
    pub const ALL: [Activation; 10] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Softsign,
    ];

    /// `f(x)`.
    #[inline]
    pub fn apply<T: Real>(self, x: T) -> T {
        let zero = T::zero();
        match self {
            Activation::Identity => x,
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(zero),
            Activation::LeakyRelu { slope } => {
                if x > zero {
                    x
                } else {
                    T::of(slope) * x
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    x
                } else {
                    T::of(alpha) * x.exp_m1()
                }
            }
            Activation::Selu => {
                let lambda = T::of(SELU_LAMBDA);
                if x > zero {
                    lambda * x
                } else {
                    lambda * T::of(SELU_ALPHA) * x.exp_m1()
                }
            }
            Activation::Gelu => {
                T::of(0.5) * x * (T::one() + (x * T::of(std::f64::consts::FRAC_1_SQRT_2)).erf())
            }
            Activation::GeluTanh => {
                let inner = T::of(SQRT_2_OVER_PI) * (x + T::of(0.044715) * x * x * x);
                T::of(0.5) * x * (T::one() + inner.tanh())
            }
            Activation::Softsign => x / (T::one() + x.abs()),
        }
    }

    /// `f'(x)`, given the input `x` and the output `y = f(x)` (whichever is cheaper).
    #[inline]
    pub fn derivative<T: Real>(self, x: T, y: T) -> T {
        let (zero, one) = (T::zero(), T::one());
        match self {
            Activation::Identity => one,
            Activation::Sigmoid => y * (one - y),
            Activation::Tanh => one - y * y,
            Activation::Relu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::LeakyRelu { slope } => {
                if x > zero {
                    one
                } else {
                    T::of(slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    one
                } else {
                    y + T::of(alpha)
                }
            }
            Activation::Selu => {
                if x > zero {
                    T::of(SELU_LAMBDA)
                } else {
                    y + T::of(SELU_LAMBDA * SELU_ALPHA)
                }
            }
            Activation::Gelu => {
                let cdf = T::of(0.5) * (one + (x * T::of(std::f64::consts::FRAC_1_SQRT_2)).erf());
                let pdf = (T::of(-0.5) * x * x).exp() * T::of(0.398_942_280_401_432_7);
                cdf + x * pdf
            }
            Activation::GeluTanh => {
                let c = T::of(SQRT_2_OVER_PI);
                let k = T::of(0.044715);
                let t = (c * (x + k * x * x * x)).tanh();
                T::of(0.5) * (one + t)
                    + T::of(0.5) * x * (one - t * t) * c * (one + T::of(3.0) * k * x * x)
            }
            Activation::Softsign => {
                let d = one + x.abs();
                one / (d * d)
            }
        }
    }

    /// `y[i] = f(x[i])`. Each activation gets its own monomorphic loop, so the compiler
    /// vectorizes it.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn forward<T: Real>(self, x: &[T], y: &mut [T]) {
        assert_eq!(
            x.len(),
            y.len(),
            "activation input and output lengths differ"
        );
        per_variant!(self, {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = self.apply(x);
            }
        });
    }

    /// `grad[i] *= f'(x[i])`: turns the gradient with respect to the output into the
    /// gradient with respect to the input.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn backward<T: Real>(self, x: &[T], y: &[T], grad: &mut [T]) {
        assert!(
            x.len() == grad.len() && y.len() == grad.len(),
            "activation buffers differ in length"
        );
        if self == Activation::Identity {
            return;
        }
        per_variant!(self, {
            for ((g, &x), &y) in grad.iter_mut().zip(x).zip(y) {
                *g = *g * self.derivative(x, y);
            }
        });
    }

    /// The nonlinearity whose gain initializers should use. PyTorch's gain table has no
    /// entry for ELU, GELU and softsign; they map to their closest relative (ReLU for the
    /// two ReLU-like ones, tanh for softsign).
    pub fn nonlinearity(self) -> Nonlinearity {
        match self {
            Activation::Identity => Nonlinearity::Linear,
            Activation::Sigmoid => Nonlinearity::Sigmoid,
            Activation::Tanh | Activation::Softsign => Nonlinearity::Tanh,
            Activation::Relu | Activation::Elu { .. } | Activation::Gelu | Activation::GeluTanh => {
                Nonlinearity::Relu
            }
            Activation::LeakyRelu { slope } => Nonlinearity::LeakyRelu {
                negative_slope: slope,
            },
            Activation::Selu => Nonlinearity::Selu,
        }
    }

    /// Whether an output value sits where the activation is saturated (its derivative is
    /// below ~2%): `|tanh| > 0.99`, sigmoid or softsign within 0.01 of a bound.
    pub fn is_saturated(self, y: f64) -> bool {
        match self {
            Activation::Tanh => y.abs() > 0.99,
            Activation::Sigmoid => !(0.01..=0.99).contains(&y),
            Activation::Softsign => y.abs() > 0.86,
            _ => false,
        }
    }

    /// Whether zero outputs mean a unit is dead (ReLU: no gradient flows through it).
    pub fn can_die(self) -> bool {
        self == Activation::Relu
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Softsign => "softsign",
        }
    }
}

/// The logistic function, without overflow for large negative inputs.
#[inline]
fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyRelu { slope } => write!(f, "leaky_relu({slope})"),
            Activation::Elu { alpha } => write!(f, "elu({alpha})"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = NnError;

    /// Parses `relu`, `tanh`, ..., with optional parameters: `leaky_relu(0.2)`, `elu(1.0)`.
    fn from_str(text: &str) -> Result<Self, NnError> {
        let text = text.trim().to_ascii_lowercase();
        let (name, parameter) = match text.split_once('(') {
            Some((name, rest)) => {
                let value = rest
                    .strip_suffix(')')
                    .and_then(|v| v.trim().parse::<f64>().ok());
                match value {
                    Some(v) if v.is_finite() => (name.trim().to_owned(), Some(v)),
                    _ => return Err(NnError::UnknownActivation { name: text.clone() }),
                }
            }
            None => (text.clone(), None),
        };
        let activation = match name.as_str() {
            "identity" | "linear" => Activation::Identity,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu {
                slope: parameter.unwrap_or(0.01),
            },
            "elu" => Activation::Elu {
                alpha: parameter.unwrap_or(1.0),
            },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu,
            "gelu_tanh" => Activation::GeluTanh,
            "softsign" => Activation::Softsign,
            _ => return Err(NnError::UnknownActivation { name: text }),
        };
        let takes_parameter = matches!(
            activation,
            Activation::LeakyRelu { .. } | Activation::Elu { .. }
        );
        if parameter.is_some() && !takes_parameter {
            return Err(NnError::UnknownActivation { name: text });
        }
        Ok(activation)
    }
}
