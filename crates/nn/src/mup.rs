//! μP, the Maximal Update Parametrization (Yang & Hu 2021; Yang et al. 2022, "Tensor
//! Programs V"), for any network, plain stacks, residual and normalized ones alike
//! ([`scalings`], [`parametrize`]): per-layer initialization and learning rates, derived
//! from a
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

use crate::net::{NetConfig, NetInit};
use crate::{LrScale, NnError, Optimizer};

/// One layer's factors relative to the standard parametrization at the same widths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerScaling {
    /// Multiplies the weights' initial standard deviation.
    pub init_std: f64,
    /// Multiply the learning rate of the weights and of the biases.
    pub lr: LrScale,
}

/// The table's factors for layers of `shapes` against the same layers at `base` shapes:
/// the first layer is the input layer (`m_in = 1` when the input widths agree), the last
/// the output layer (`m_out = 1`), every other a hidden one.
fn relative_scalings(
    shapes: &[(usize, usize)],
    base: &[(usize, usize)],
    adam: bool,
) -> Vec<LayerScaling> {
    let last = shapes.len() - 1;
    shapes
        .iter()
        .zip(base)
        .enumerate()
        .map(|(l, (&(fan_in, fan_out), &(base_in, base_out)))| {
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
        .collect()
}

/// μP's factors for every dense layer of `target`, in the order a forward pass meets them
/// (branches included), for training it with `optimizer` relative to `base`, the same
/// layers at the base widths. The first dense layer is the input layer, the last the
/// output layer, every other (a residual branch's too) a hidden one. Normalization gains
/// and biases and residual multipliers keep their initialization and the configured
/// learning rate: μP's for vector-like parameters under Adam (under SGD μP would scale
/// their rate by the width multiplier, which this does not).
///
/// # Errors
/// [`NnError::Config`] if `base` has another number of layers or dense layers, or another
/// input or output, than `target`, or if `target` has convolutions; a bad layer of
/// either.
///
/// # Examples
/// ```
/// use initlab_nn::mup::scalings;
/// use initlab_nn::net::{NetConfig, Norm, Ordering, ResidualBlock};
/// use initlab_nn::{Activation, Optimizer};
///
/// let net = |width| {
///     let block = ResidualBlock::new(width, 2, Activation::Relu, Ordering::PreActivation).with_norm(Norm::Layer);
///     NetConfig::new(784).dense(width).blocks(block, 3).norm(Norm::Layer).dense(10)
/// };
/// let layers = scalings(&net(256), &net(64), &Optimizer::adam(1e-3))?;
/// assert_eq!(layers.len(), 1 + 3 * 2 + 1);
/// assert_eq!(layers[0].lr.weight, 1.0); // the stem, from the input: 1
/// assert_eq!(layers[3].lr.weight, 0.25); // a branch layer: 1 / m_in
/// assert_eq!(layers[7].init_std, 0.5); // the output layer: 1 / sqrt(m_in)
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
pub fn scalings(
    target: &NetConfig,
    base: &NetConfig,
    optimizer: &Optimizer,
) -> Result<Vec<LayerScaling>, NnError> {
    let (output, base_output) = (target.output()?, base.output()?);
    if target.has_convolutions() {
        return Err(NnError::Config {
            field: "target",
            value: "a network with convolutions".into(),
            expected: "dense layers only: μP's scalings here are those of dense layers",
        });
    }
    let (shapes, base_shapes) = (target.dense_shapes(), base.dense_shapes());
    if shapes.len() != base_shapes.len()
        || target.layers.len() != base.layers.len()
        || target.input != base.input
        || output != base_output
    {
        return Err(NnError::Config {
            field: "base",
            value: format!(
                "{} layers, {} dense, from {} to {base_output} features",
                base.layers.len(),
                base_shapes.len(),
                base.input
            ),
            expected: "the target's layers, input and output, at base widths",
        });
    }
    let adam = matches!(optimizer, Optimizer::Adam { .. });
    Ok(relative_scalings(&shapes, &base_shapes, adam))
}

/// `initlab-init` under μP for `target` relative to `base` ([`scalings`]): every dense
/// layer's strategy (after `initlab-init`'s own rules, a residual scheme's included) with its
/// weight scaled by its `init_std`, as per-layer overrides, and the learning-rate
/// multipliers to train it with ([`TrainConfig::lr_scales`](crate::TrainConfig::lr_scales)).
///
/// # Errors
/// As [`scalings`], or a scheme that rejects the network.
///
/// # Examples
/// ```
/// use initlab_nn::init::{Initializer, Nonlinearity};
/// use initlab_nn::{Loss, MlpConfig, NetInit, Optimizer, TrainConfig, Trainer};
///
/// // A plain ReLU MLP four times as wide as the base it was tuned on.
/// let net = |width| MlpConfig::new(784, vec![width, width], 10).to_net_config();
/// let he = NetInit::new(Initializer::he_normal(Nonlinearity::Relu), Initializer::Zeros);
/// let adam = Optimizer::adam(1e-3);
/// let (init, lr_scales) = initlab_nn::mup::parametrize(&net(1024), &net(256), &adam, &he)?;
/// let wide = net(1024).build::<f32>(&init, 0)?;
/// let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, adam).with_lr_scales(lr_scales);
/// let trainer = Trainer::new(&wide, train)?;
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
pub fn parametrize(
    target: &NetConfig,
    base: &NetConfig,
    optimizer: &Optimizer,
    init: &NetInit,
) -> Result<(NetInit, Vec<LrScale>), NnError> {
    let scalings = scalings(target, base, optimizer)?;
    let mut scaled = init.clone();
    for (dense, scaling) in init.dense_inits(target)?.into_iter().zip(&scalings) {
        let mut layer = dense.init;
        if scaling.init_std != 1.0 {
            layer.weight = layer.weight.scaled(scaling.init_std);
        }
        scaled = scaled.with_override(dense.path, layer);
    }
    Ok((scaled, scalings.into_iter().map(|s| s.lr).collect()))
}
