//! Residual blocks of one width, as the [`LayerSpec`]s a [`NetConfig`](super::NetConfig)
//! lists.

use serde::{Deserialize, Serialize};

use super::spec::{Alpha, LayerSpec, Norm};
use crate::Activation;

/// Where the nonlinearity sits in a [`ResidualBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    /// He et al. 2016, "Identity Mappings in Deep Residual Networks": each branch layer is
    /// `[norm] → activation → dense`, and nothing follows the sum, so the skip path is the
    /// identity all the way through.
    PreActivation,
    /// He et al. 2015, the original ResNet: the branch is `dense → [norm] → activation`
    /// repeated, its last layer `dense → [norm]`, and the activation follows the sum.
    PostActivation,
}

/// A residual block of 1–3 dense layers of one width (or convolutions of that many
/// channels, [`with_kernel`](Self::with_kernel)), as [`LayerSpec`]s.
///
/// # Examples
/// ```
/// use initlab_nn::net::{Alpha, LayerSpec, Ordering, ResidualBlock};
/// use initlab_nn::Activation;
///
/// let block = ResidualBlock::new(64, 2, Activation::Relu, Ordering::PostActivation);
/// let specs = block.specs();
/// // The branch, then the activation after the sum.
/// assert_eq!(specs.len(), 2);
/// assert_eq!(specs[1], LayerSpec::Activation { activation: Activation::Relu });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualBlock {
    /// The width of the stream and of every branch layer.
    pub width: usize,
    /// Dense layers in the branch, 1–3.
    pub layers: usize,
    /// The nonlinearity.
    pub activation: Activation,
    /// Pre- or post-activation.
    pub ordering: Ordering,
    /// Normalization in the branch, if any.
    pub norm: Option<Norm>,
    /// The branch's multiplier.
    pub alpha: Alpha,
    /// Convolutions of this square kernel (odd, stride 1, padding `kernel / 2`, so the
    /// image keeps its size) in place of dense layers; `None` for dense layers.
    pub kernel: Option<usize>,
}

impl ResidualBlock {
    /// A block without normalization and with `α = 1`, fixed.
    pub fn new(width: usize, layers: usize, activation: Activation, ordering: Ordering) -> Self {
        Self {
            width,
            layers,
            activation,
            ordering,
            norm: None,
            alpha: Alpha::fixed(1.0),
            kernel: None,
        }
    }

    /// With `kernel x kernel` convolutions of `width` channels in place of dense layers,
    /// for an image stream of `width` channels.
    #[must_use]
    pub fn with_kernel(mut self, kernel: usize) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// With normalization before each activation.
    #[must_use]
    pub fn with_norm(mut self, norm: Norm) -> Self {
        self.norm = Some(norm);
        self
    }

    /// With this multiplier.
    #[must_use]
    pub fn with_alpha(mut self, alpha: Alpha) -> Self {
        self.alpha = alpha;
        self
    }

    /// The block as layers: the residual, then (post-activation) the activation.
    pub fn specs(&self) -> Vec<LayerSpec> {
        let dense = match self.kernel {
            None => LayerSpec::Dense { width: self.width },
            Some(kernel) => LayerSpec::Conv2d {
                channels: self.width,
                kernel: [kernel; 2],
                stride: [1; 2],
                padding: [kernel / 2; 2],
                groups: 1,
            },
        };
        let activation = LayerSpec::Activation {
            activation: self.activation,
        };
        let norm = self.norm.map(Norm::spec);
        let mut branch = Vec::new();
        for layer in 0..self.layers {
            match self.ordering {
                Ordering::PreActivation => {
                    branch.extend(norm.clone());
                    branch.push(activation.clone());
                    branch.push(dense.clone());
                }
                Ordering::PostActivation => {
                    branch.push(dense.clone());
                    branch.extend(norm.clone());
                    if layer + 1 < self.layers {
                        branch.push(activation.clone());
                    }
                }
            }
        }
        let residual = LayerSpec::Residual {
            branch,
            alpha: self.alpha,
        };
        match self.ordering {
            Ordering::PreActivation => vec![residual],
            Ordering::PostActivation => vec![residual, activation],
        }
    }
}
