//! μP, the Maximal Update Parametrization (Yang & Hu 2021; Yang et al. 2022, "Tensor
//! Programs V"), for MLPs: per-layer initialization and learning rates, derived from a
//! base network and the width multipliers against it, so that a network's behaviour stops
//! depending on its width and a learning rate tuned on the base transfers.
//!
//! Tensor Programs V, Table 3, up to width-independent constants (a dimension is
//! *infinite* when it scales with width; input weights map a finite dimension to an
//! infinite one, output weights an infinite one to a finite one):
//!
//! | | input weights & all biases | output weights | hidden weights |
//! |---|---|---|---|
//! | init. variance | 1/fan_in | 1/fan_in² | 1/fan_in |
//! | SGD learning rate | fan_out | 1/fan_in | 1 |
//! | Adam learning rate | 1 | 1/fan_in | 1/fan_in |
//!
//! Here each is applied relative to the base network, as `microsoft/mup` does with base
//! shapes: with `m_in = fan_in / base_fan_in` and `m_out = fan_out / base_fan_out` (1 for a
//! finite dimension), layer by layer
//!
//! | | input layer | hidden layers | output layer | biases |
//! |---|---|---|---|---|
//! | weight std, × the initializer's at the target fans | 1 | 1 | 1/sqrt(m_in) | 1 |
//! | SGD and momentum learning rate, × | m_out | m_out / m_in | 1/m_in | m_out |
//! | Adam learning rate, × | 1 | 1/m_in | 1/m_in | 1 |
//!
//! so a fan_in-scaled initializer (He, LeCun, Glorot at equal fans) gives the table's
//! variances. At the base widths every factor is exactly 1: μP and the standard
//! parametrization are the same network and train to the same bits. The output
//! multiplier of `microsoft/mup`'s `MuReadout` is folded into the output layer's
//! initialization and learning rate, which the abc-symmetry of Tensor Programs V (a
//! multiplier `c` equals `c²` on the initialization variance, `c²` on SGD's learning rate
//! and `c` on Adam's) allows; a zero-initialized readout is `Initializer::Zeros` for the
//! last layer.

use init::Initializer;

use crate::net::Net;
use crate::{LayerInit, LrScale, MlpConfig, NnError, Optimizer, Real, TrainConfig};

/// How a network's initialization and learning rates depend on its width.
#[derive(Debug, Clone, PartialEq)]
pub enum Parametrization {
    /// The initializer's formula at the network's own fans, one learning rate for all.
    Standard,
    /// μP relative to a base network of the same depth, input and output.
    Mup {
        /// The base shapes.
        base: MlpConfig,
    },
}

/// One layer's factors relative to the standard parametrization at the same widths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerScaling {
    /// Multiplies the weights' initial standard deviation.
    pub init_std: f64,
    /// Multiply the learning rate of the weights and of the biases.
    pub lr: LrScale,
}

impl Parametrization {
    /// Each layer's factors for training `target` with `optimizer`, first layer to last.
    ///
    /// # Errors
    /// [`NnError::Config`] if the base network has another depth, input or output than
    /// `target`, or a bad width.
    ///
    /// # Examples
    /// ```
    /// use nn::mup::Parametrization;
    /// use nn::{MlpConfig, Optimizer};
    ///
    /// // Four times the base width, trained with Adam.
    /// let mup = Parametrization::Mup { base: MlpConfig::new(784, vec![128, 128], 10) };
    /// let layers = mup.scalings(&MlpConfig::new(784, vec![512, 512], 10), &Optimizer::adam(1e-3))?;
    /// assert_eq!(layers[1].lr.weight, 0.25); // hidden weights: 1 / m_in
    /// assert_eq!(layers[2].init_std, 0.5); // output weights: 1 / sqrt(m_in)
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn scalings(
        &self,
        target: &MlpConfig,
        optimizer: &Optimizer,
    ) -> Result<Vec<LayerScaling>, NnError> {
        target.validate()?;
        let shapes = target.layer_shapes();
        let Self::Mup { base } = self else {
            let one = LayerScaling {
                init_std: 1.0,
                lr: LrScale::ONE,
            };
            return Ok(vec![one; shapes.len()]);
        };
        base.validate()?;
        if base.hidden.len() != target.hidden.len()
            || base.input != target.input
            || base.output != target.output
        {
            return Err(NnError::Config {
                field: "base",
                value: format!("layer widths {:?}", base.widths()),
                expected: "the target's depth, input and output, with base hidden widths",
            });
        }
        let adam = matches!(optimizer, Optimizer::Adam { .. });
        let last = shapes.len() - 1;
        Ok(shapes
            .iter()
            .zip(base.layer_shapes())
            .enumerate()
            .map(|(l, (&(fan_in, fan_out), (base_in, base_out)))| {
                let m_in = fan_in as f64 / base_in as f64;
                let m_out = fan_out as f64 / base_out as f64;
                // The table's columns in one formula each: m_in = 1 for the input layer,
                // m_out = 1 for the output layer.
                let (weight, bias) = if adam {
                    (1.0 / m_in, 1.0)
                } else {
                    (m_out / m_in, m_out)
                };
                let init_std = if l == last { 1.0 / m_in.sqrt() } else { 1.0 };
                LayerScaling {
                    init_std,
                    lr: LrScale { weight, bias },
                }
            })
            .collect())
    }

    /// Builds `target` with `weight` and `bias` (a fan_in-scaled weight initializer gives
    /// the table's variances) scaled as [`scalings`](Self::scalings) says; layer `i` draws
    /// from tensors `2i` and `2i + 1` of `seed`, as [`MlpConfig::build`] does.
    ///
    /// # Errors
    /// As [`scalings`](Self::scalings), or a bad initializer.
    pub fn build<T: Real>(
        &self,
        target: &MlpConfig,
        optimizer: &Optimizer,
        weight: &Initializer,
        bias: &Initializer,
        seed: u64,
    ) -> Result<Net<T>, NnError> {
        let inits = self.layer_inits(target, optimizer, weight, bias)?;
        target.build_per_layer(&inits, seed)
    }

    /// Each layer's weight and bias strategy for `target` under this parametrization, first
    /// to last: `weight` scaled as [`scalings`](Self::scalings) says, `bias` as it is. What
    /// [`build`](Self::build) draws from, and what a [`Net`] of the same
    /// layers takes as per-layer overrides.
    ///
    /// # Errors
    /// As [`scalings`](Self::scalings).
    pub fn layer_inits(
        &self,
        target: &MlpConfig,
        optimizer: &Optimizer,
        weight: &Initializer,
        bias: &Initializer,
    ) -> Result<Vec<LayerInit>, NnError> {
        Ok(self
            .scalings(target, optimizer)?
            .iter()
            .map(|s| LayerInit {
                weight: if s.init_std == 1.0 {
                    weight.clone()
                } else {
                    weight.clone().scaled(s.init_std)
                },
                bias: bias.clone(),
            })
            .collect())
    }

    /// `config` with the learning-rate multipliers of `target` under this parametrization
    /// (none for the standard one).
    ///
    /// # Errors
    /// As [`scalings`](Self::scalings).
    pub fn train_config(
        &self,
        target: &MlpConfig,
        config: TrainConfig,
    ) -> Result<TrainConfig, NnError> {
        let scales = match self {
            Self::Standard => Vec::new(),
            Self::Mup { .. } => self
                .scalings(target, &config.optimizer)?
                .into_iter()
                .map(|s| s.lr)
                .collect(),
        };
        Ok(config.with_lr_scales(scales))
    }
}
