//! Optimizers and learning-rate schedules.

use serde::{Deserialize, Serialize};

use crate::{NnError, Real};

/// How gradients update the weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Optimizer {
    /// `w <- w - lr (g + weight_decay w)`.
    Sgd {
        /// Learning rate, finite and > 0.
        lr: f64,
        /// L2 penalty coefficient, >= 0.
        weight_decay: f64,
    },
    /// Heavy-ball momentum `v <- momentum v + g; w <- w - lr v`, or Nesterov's variant
    /// `w <- w - lr (g + momentum v)` (PyTorch's formulation).
    Momentum {
        /// Learning rate, finite and > 0.
        lr: f64,
        /// Momentum coefficient in [0, 1).
        momentum: f64,
        /// Use Nesterov's look-ahead.
        nesterov: bool,
        /// L2 penalty coefficient, >= 0.
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba 2015) with bias correction; a non-zero `weight_decay` is applied
    /// decoupled from the gradient, as AdamW (Loshchilov & Hutter 2019).
    Adam {
        /// Learning rate, finite and > 0.
        lr: f64,
        /// First-moment decay in [0, 1).
        beta1: f64,
        /// Second-moment decay in [0, 1).
        beta2: f64,
        /// Denominator guard, > 0.
        eps: f64,
        /// Decoupled weight decay, >= 0.
        weight_decay: f64,
    },
}

/// How the learning rate changes with the step count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Schedule {
    /// The base learning rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Steps between decays, >= 1.
        every: u64,
        /// Decay factor in (0, 1].
        gamma: f64,
    },
    /// Cosine decay from the base rate to `min_factor` times it over `total` steps.
    Cosine {
        /// Steps of the whole decay, >= 1.
        total: u64,
        /// Final fraction of the base rate, in [0, 1].
        min_factor: f64,
    },
}

impl Optimizer {
    /// Plain SGD.
    pub fn sgd(lr: f64) -> Self {
        Self::Sgd {
            lr,
            weight_decay: 0.0,
        }
    }

    /// Adam with the usual defaults (0.9, 0.999, 1e-8) and no weight decay.
    pub fn adam(lr: f64) -> Self {
        Self::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            Self::Sgd { lr, .. } | Self::Momentum { lr, .. } | Self::Adam { lr, .. } => lr,
        }
    }

    /// Checks every hyper-parameter.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the first bad one.
    pub fn validate(&self) -> Result<(), NnError> {
        let check = |field, value: f64, ok: bool, expected| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(NnError::Config {
                    field,
                    value: value.to_string(),
                    expected,
                })
            }
        };
        let (lr, weight_decay) = match *self {
            Self::Sgd { lr, weight_decay }
            | Self::Momentum {
                lr, weight_decay, ..
            }
            | Self::Adam {
                lr, weight_decay, ..
            } => (lr, weight_decay),
        };
        check("lr", lr, lr > 0.0, "a finite learning rate > 0")?;
        check(
            "weight_decay",
            weight_decay,
            weight_decay >= 0.0,
            "a finite number >= 0",
        )?;
        let fraction = |field, value: f64| {
            check(
                field,
                value,
                (0.0..1.0).contains(&value),
                "a number in [0, 1)",
            )
        };
        match *self {
            Self::Sgd { .. } => Ok(()),
            Self::Momentum { momentum, .. } => fraction("momentum", momentum),
            Self::Adam {
                beta1, beta2, eps, ..
            } => {
                fraction("beta1", beta1)?;
                fraction("beta2", beta2)?;
                check("eps", eps, eps > 0.0, "a finite number > 0")
            }
        }
    }

    /// How many state buffers of a parameter's size the optimizer keeps.
    pub(crate) fn state_buffers(&self) -> usize {
        match self {
            Self::Sgd { .. } => 0,
            Self::Momentum { .. } => 1,
            Self::Adam { .. } => 2,
        }
    }

    /// Updates `w` from `g` at step `t` (1-based) with learning rate `lr`; `first` and
    /// `second` are the state buffers (empty when unused).
    pub(crate) fn update<T: Real>(
        &self,
        t: u64,
        lr: f64,
        w: &mut [T],
        g: &[T],
        first: &mut [T],
        second: &mut [T],
    ) {
        match *self {
            Self::Sgd { weight_decay, .. } => {
                let (lr, wd) = (T::of(lr), T::of(weight_decay));
                for (w, &g) in w.iter_mut().zip(g) {
                    *w = *w - lr * (g + wd * *w);
                }
            }
            Self::Momentum {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let (lr, mu, wd) = (T::of(lr), T::of(momentum), T::of(weight_decay));
                for ((w, &g), v) in w.iter_mut().zip(g).zip(first.iter_mut()) {
                    let g = g + wd * *w;
                    *v = mu * *v + g;
                    let step = if nesterov { g + mu * *v } else { *v };
                    *w = *w - lr * step;
                }
            }
            Self::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let correction1 = 1.0 - beta1.powf(t as f64);
                let correction2 = 1.0 - beta2.powf(t as f64);
                let step = T::of(lr * correction2.sqrt() / correction1);
                let (b1, b2, eps) = (T::of(beta1), T::of(beta2), T::of(eps * correction2.sqrt()));
                let decay = T::of(1.0 - lr * weight_decay);
                let (one_b1, one_b2) = (T::one() - b1, T::one() - b2);
                for (((w, &g), m), v) in w
                    .iter_mut()
                    .zip(g)
                    .zip(first.iter_mut())
                    .zip(second.iter_mut())
                {
                    *m = b1 * *m + one_b1 * g;
                    *v = b2 * *v + one_b2 * g * g;
                    *w = decay * *w - step * *m / (v.sqrt() + eps);
                }
            }
        }
    }
}

impl Schedule {
    /// The factor on the base learning rate at step `t` (0-based).
    pub fn factor(&self, t: u64) -> f64 {
        match *self {
            Self::Constant => 1.0,
            Self::Step { every, gamma } => gamma.powf((t / every.max(1)) as f64),
            Self::Cosine { total, min_factor } => {
                let progress = (t as f64 / total.max(1) as f64).min(1.0);
                min_factor
                    + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Checks the schedule's parameters.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the bad one.
    pub fn validate(&self) -> Result<(), NnError> {
        let bad = |field, value: String, expected| {
            Err(NnError::Config {
                field,
                value,
                expected,
            })
        };
        match *self {
            Self::Constant => Ok(()),
            Self::Step { every, gamma } => {
                if every == 0 {
                    bad("every", "0".into(), "at least 1 step")
                } else if !(gamma > 0.0 && gamma <= 1.0) {
                    bad("gamma", gamma.to_string(), "a factor in (0, 1]")
                } else {
                    Ok(())
                }
            }
            Self::Cosine { total, min_factor } => {
                if total == 0 {
                    bad("total", "0".into(), "at least 1 step")
                } else if !(0.0..=1.0).contains(&min_factor) {
                    bad("min_factor", min_factor.to_string(), "a fraction in [0, 1]")
                } else {
                    Ok(())
                }
            }
        }
    }
}
