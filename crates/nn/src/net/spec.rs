//! What a network is made of: its layers, as data that serializes (into safetensors
//! metadata and experiment files), and the builder that lists them. `shape.rs` checks that
//! they fit together; `block.rs` makes residual blocks of them.

use serde::{Deserialize, Serialize};

use super::block::ResidualBlock;
use super::shape::Image;
use crate::Activation;

/// One layer of a [`NetConfig`]. Dense layers take and give flat features; convolutions
/// and pooling take and give images (`channels x height x width`, NCHW); every other
/// layer keeps its input's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// `x W^T + b` to `width` units, no nonlinearity: weight `[width, in]`, bias `[width]`.
    Dense {
        /// Output units.
        width: usize,
    },
    /// A nonlinearity applied elementwise.
    Activation {
        /// Which one.
        activation: Activation,
    },
    /// Layer normalization (Ba, Kiros & Hinton 2016): each sample's features normalized to
    /// mean 0 and variance 1 (biased, over the features), then `gain · x̂ + bias` per
    /// feature, both learnable.
    LayerNorm {
        /// Added to the variance, > 0 (PyTorch's 1e-5).
        eps: f64,
        /// The gain's initial value (1; 0 for "zero γ").
        gain: f64,
    },
    /// Batch normalization (Ioffe & Szegedy 2015): each feature normalized over the
    /// mini-batch (biased variance) in training, over running averages in evaluation, then
    /// `gain · x̂ + bias`, both learnable. The running averages follow PyTorch:
    /// `r ← (1 - momentum) r + momentum · batch`, the variance unbiased.
    BatchNorm {
        /// Added to the variance, > 0 (PyTorch's 1e-5).
        eps: f64,
        /// Weight of the newest batch in the running averages, in (0, 1] (PyTorch's 0.1).
        momentum: f64,
        /// The gain's initial value (1; 0 for "zero γ", Goyal et al. 2017).
        gain: f64,
    },
    /// A 2-D convolution ([`crate::conv::Conv2d`]) to `channels` output channels, with bias:
    /// weight `[channels, in / groups, kh, kw]`, bias `[channels]`.
    Conv2d {
        /// Output channels.
        channels: usize,
        /// Kernel height and width.
        kernel: [usize; 2],
        /// Step between output pixels, vertical and horizontal (default 1).
        #[serde(default = "ones")]
        stride: [usize; 2],
        /// Zeros added on each side, vertical and horizontal (default 0).
        #[serde(default)]
        padding: [usize; 2],
        /// Channel groups (default 1; the input's channels for a depthwise convolution).
        #[serde(default = "one")]
        groups: usize,
    },
    /// Max pooling of each channel ([`crate::pool::Pool2d`]), without padding.
    MaxPool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Step between windows.
        stride: [usize; 2],
    },
    /// Average pooling of each channel, without padding.
    AveragePool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Step between windows.
        stride: [usize; 2],
    },
    /// The mean of each channel: an image `[channels, 1, 1]`.
    GlobalAveragePool,
    /// An image's values as flat features, in NCHW order (what a dense layer takes).
    Flatten,
    /// `x + α · branch(x)`: the branch's layers run on `x` and must end at its shape.
    Residual {
        /// The branch's layers, first to last.
        branch: Vec<LayerSpec>,
        /// The multiplier of the branch.
        alpha: Alpha,
    },
}

fn ones() -> [usize; 2] {
    [1, 1]
}

fn one() -> usize {
    1
}

/// The multiplier `α` of a residual branch: fixed, or a learnable scalar and its initial
/// value (0 for SkipInit and ReZero, 1 for Fixup's multiplier).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alpha {
    /// The value, or the initial value when learnable; finite.
    pub value: f64,
    /// Whether training updates it.
    pub learnable: bool,
}

impl Alpha {
    /// A constant multiplier.
    pub fn fixed(value: f64) -> Self {
        Self {
            value,
            learnable: false,
        }
    }

    /// A learnable multiplier starting at `value`.
    pub fn learnable(value: f64) -> Self {
        Self {
            value,
            learnable: true,
        }
    }
}

/// A normalization layer kind, for [`ResidualBlock`] and [`NetConfig::plain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// [`LayerSpec::LayerNorm`].
    Layer,
    /// [`LayerSpec::BatchNorm`].
    Batch,
}

impl Norm {
    /// The layer with PyTorch's defaults: eps 1e-5, momentum 0.1, gain 1.
    pub fn spec(self) -> LayerSpec {
        match self {
            Self::Layer => LayerSpec::LayerNorm {
                eps: 1e-5,
                gain: 1.0,
            },
            Self::Batch => LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
                gain: 1.0,
            },
        }
    }
}

/// A network as a sequence of layers from `input` features; its output is the last
/// layer's width (the logits).
///
/// # Examples
/// ```
/// use initlab_nn::net::{NetConfig, Norm, Ordering, ResidualBlock};
/// use initlab_nn::Activation;
///
/// // 784 → 128, four pre-activation blocks of two layers, LayerNorm and ReLU, → 10.
/// let block = ResidualBlock::new(128, 2, Activation::Relu, Ordering::PreActivation).with_norm(Norm::Layer);
/// let config = NetConfig::new(784).dense(128).blocks(block, 4).norm(Norm::Layer).activation(Activation::Relu).dense(10);
/// assert_eq!(config.output()?, 10);
/// assert_eq!(config.residual_blocks(), 4);
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// Width of the input: values per sample.
    pub input: usize,
    /// The input as an image, `input` values in NCHW order; `None` for flat features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The layers, first to last.
    pub layers: Vec<LayerSpec>,
}

impl NetConfig {
    /// No layers yet, on `input` flat features.
    pub fn new(input: usize) -> Self {
        Self {
            input,
            image: None,
            layers: Vec::new(),
        }
    }

    /// No layers yet, on images of `channels x height x width` (`input` is their product,
    /// or 0 past a usize, which [`output`](Self::output) refuses).
    ///
    /// # Examples
    /// ```
    /// use initlab_nn::net::NetConfig;
    /// use initlab_nn::Activation;
    ///
    /// // 1x28x28 digits: a stride-2 3x3 convolution to 16x14x14, tanh, global average
    /// // pooling, and a dense layer to 10 logits.
    /// let config = NetConfig::image(1, 28, 28)
    ///     .conv(16, 3, 2, 1)
    ///     .activation(Activation::Tanh)
    ///     .global_average_pool()
    ///     .flatten()
    ///     .dense(10);
    /// assert_eq!(config.output()?, 10);
    /// # Ok::<(), initlab_nn::NnError>(())
    /// ```
    pub fn image(channels: usize, height: usize, width: usize) -> Self {
        let image = Image::new(channels, height, width);
        Self {
            input: image.len().unwrap_or(0),
            image: Some(image),
            layers: Vec::new(),
        }
    }

    /// A plain network: `dense → [norm] → activation` per hidden width, then a dense
    /// output layer (the [`MlpConfig`](crate::MlpConfig) shape when `norm` is `None`).
    pub fn plain(
        input: usize,
        hidden: &[usize],
        activation: Activation,
        norm: Option<Norm>,
        output: usize,
    ) -> Self {
        let mut config = Self::new(input);
        for &width in hidden {
            config = config.dense(width);
            if let Some(norm) = norm {
                config = config.norm(norm);
            }
            config = config.activation(activation);
        }
        config.dense(output)
    }

    /// Appends a layer.
    #[must_use]
    pub fn push(mut self, layer: LayerSpec) -> Self {
        self.layers.push(layer);
        self
    }

    /// Appends a dense layer of `width` units.
    #[must_use]
    pub fn dense(self, width: usize) -> Self {
        self.push(LayerSpec::Dense { width })
    }

    /// Appends a square `kernel x kernel` convolution to `channels` channels, with this
    /// stride and zero padding on every side, in one group.
    #[must_use]
    pub fn conv(self, channels: usize, kernel: usize, stride: usize, padding: usize) -> Self {
        self.push(LayerSpec::Conv2d {
            channels,
            kernel: [kernel; 2],
            stride: [stride; 2],
            padding: [padding; 2],
            groups: 1,
        })
    }

    /// Appends global average pooling.
    #[must_use]
    pub fn global_average_pool(self) -> Self {
        self.push(LayerSpec::GlobalAveragePool)
    }

    /// Appends a flatten layer.
    #[must_use]
    pub fn flatten(self) -> Self {
        self.push(LayerSpec::Flatten)
    }

    /// Appends an activation.
    #[must_use]
    pub fn activation(self, activation: Activation) -> Self {
        self.push(LayerSpec::Activation { activation })
    }

    /// Appends a normalization layer with PyTorch's defaults.
    #[must_use]
    pub fn norm(self, norm: Norm) -> Self {
        self.push(norm.spec())
    }

    /// Appends `count` copies of a residual block.
    #[must_use]
    pub fn blocks(mut self, block: ResidualBlock, count: usize) -> Self {
        for _ in 0..count {
            self.layers.extend(block.specs());
        }
        self
    }

    /// Sets every residual branch's multiplier (SkipInit and ReZero: learnable, 0).
    #[must_use]
    pub fn with_alpha(mut self, alpha: Alpha) -> Self {
        fn set(layers: &mut [LayerSpec], alpha: Alpha) {
            for layer in layers {
                if let LayerSpec::Residual { branch, alpha: a } = layer {
                    *a = alpha;
                    set(branch, alpha);
                }
            }
        }
        set(&mut self.layers, alpha);
        self
    }

    /// Sets the initial gain of every normalization layer (0: "zero γ").
    #[must_use]
    pub fn with_norm_gain(mut self, value: f64) -> Self {
        fn set(layers: &mut [LayerSpec], value: f64) {
            for layer in layers {
                match layer {
                    LayerSpec::LayerNorm { gain, .. } | LayerSpec::BatchNorm { gain, .. } => {
                        *gain = value;
                    }
                    LayerSpec::Residual { branch, .. } => set(branch, value),
                    _ => {}
                }
            }
        }
        set(&mut self.layers, value);
        self
    }

    /// Zeroes the gain of the normalization layer that ends each residual branch ("zero γ",
    /// Goyal et al. 2017, for post-activation blocks such as
    /// `dense → BatchNorm → relu → dense → BatchNorm`): each block then starts as the
    /// activation of its input. Branches that do not end in a normalization layer are
    /// left as they are.
    #[must_use]
    pub fn with_zero_gamma(mut self) -> Self {
        fn set(layers: &mut [LayerSpec]) {
            for layer in layers {
                if let LayerSpec::Residual { branch, .. } = layer {
                    set(branch);
                    if let Some(
                        LayerSpec::LayerNorm { gain, .. } | LayerSpec::BatchNorm { gain, .. },
                    ) = branch.last_mut()
                    {
                        *gain = 0.0;
                    }
                }
            }
        }
        set(&mut self.layers);
        self
    }

    /// Residual layers at the top level (the `L` of Fixup and GPT-2's scaling).
    pub fn residual_blocks(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, LayerSpec::Residual { .. }))
            .count()
    }

    /// Whether any layer is a [`LayerSpec::BatchNorm`]: the network then computes
    /// differently in training and evaluation.
    pub fn has_batch_norm(&self) -> bool {
        self.any_layer(&|l| matches!(l, LayerSpec::BatchNorm { .. }))
    }

    /// Whether any layer is a [`LayerSpec::Conv2d`].
    pub fn has_convolutions(&self) -> bool {
        self.any_layer(&|l| matches!(l, LayerSpec::Conv2d { .. }))
    }

    /// Whether any layer, branches included, is one `wanted` says.
    fn any_layer(&self, wanted: &dyn Fn(&LayerSpec) -> bool) -> bool {
        fn any(layers: &[LayerSpec], wanted: &dyn Fn(&LayerSpec) -> bool) -> bool {
            layers.iter().any(|l| match l {
                LayerSpec::Residual { branch, .. } => any(branch, wanted),
                _ => wanted(l),
            })
        }
        any(&self.layers, wanted)
    }
}
