//! What a network is made of: layers, residual blocks and normalization, as data that
//! serializes (into safetensors metadata and experiment files) and validates.

use serde::{Deserialize, Serialize};

use crate::{Activation, NnError};

/// One layer of a [`NetConfig`]. Every layer but [`Dense`](Self::Dense) keeps its input's
/// width.
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
    /// `x + α · branch(x)`: the branch's layers run on `x` and must end at its width.
    Residual {
        /// The branch's layers, first to last.
        branch: Vec<LayerSpec>,
        /// The multiplier of the branch.
        alpha: Alpha,
    },
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

/// A residual block of 1–3 dense layers of one width, as [`LayerSpec`]s.
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
        }
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
        let dense = LayerSpec::Dense { width: self.width };
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
    /// Width of the input.
    pub input: usize,
    /// The layers, first to last.
    pub layers: Vec<LayerSpec>,
}

impl NetConfig {
    /// No layers yet.
    pub fn new(input: usize) -> Self {
        Self {
            input,
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
                    LayerSpec::Dense { .. } | LayerSpec::Activation { .. } => {}
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

    /// `(fan_in, fan_out)` of every dense layer, in order, branches included.
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        fn walk(layers: &[LayerSpec], mut width: usize, out: &mut Vec<(usize, usize)>) -> usize {
            for layer in layers {
                match layer {
                    LayerSpec::Dense { width: w } => {
                        out.push((width, *w));
                        width = *w;
                    }
                    LayerSpec::Residual { branch, .. } => {
                        walk(branch, width, out);
                    }
                    _ => {}
                }
            }
            width
        }
        let mut shapes = Vec::new();
        walk(&self.layers, self.input, &mut shapes);
        shapes
    }

    /// The output width of every layer, in order, branches included (a residual counts
    /// its branch's layers and then its own output).
    pub fn layer_widths(&self) -> Vec<usize> {
        fn walk(layers: &[LayerSpec], mut width: usize, out: &mut Vec<usize>) -> usize {
            for layer in layers {
                match layer {
                    LayerSpec::Dense { width: w } => width = *w,
                    LayerSpec::Residual { branch, .. } => {
                        walk(branch, width, out);
                    }
                    _ => {}
                }
                out.push(width);
            }
            width
        }
        let mut widths = Vec::new();
        walk(&self.layers, self.input, &mut widths);
        widths
    }

    /// Whether any layer is a [`LayerSpec::BatchNorm`]: the network then computes
    /// differently in training and evaluation.
    pub fn has_batch_norm(&self) -> bool {
        fn any(layers: &[LayerSpec]) -> bool {
            layers.iter().any(|l| match l {
                LayerSpec::BatchNorm { .. } => true,
                LayerSpec::Residual { branch, .. } => any(branch),
                _ => false,
            })
        }
        any(&self.layers)
    }

    /// The output width, after checking every layer.
    ///
    /// # Errors
    /// [`NnError::Layer`] naming the first bad layer (`layers.2.branch.0`): a zero width,
    /// an empty branch, a branch that does not end at its input's width, an `eps`,
    /// `momentum` or value that is out of range; [`NnError::Config`] for a zero input or no
    /// layers.
    pub fn output(&self) -> Result<usize, NnError> {
        if self.input == 0 {
            return Err(NnError::Config {
                field: "input",
                value: "0".into(),
                expected: "a width of at least 1",
            });
        }
        if self.layers.is_empty() {
            return Err(NnError::Config {
                field: "layers",
                value: "none".into(),
                expected: "at least one layer",
            });
        }
        sequence_width(&self.layers, self.input, "layers")
    }
}

/// The width after `layers` from `width`, checking each layer at `path.{index}`.
fn sequence_width(layers: &[LayerSpec], mut width: usize, path: &str) -> Result<usize, NnError> {
    for (index, layer) in layers.iter().enumerate() {
        let at = format!("{path}.{index}");
        let bad = |problem: String| NnError::Layer {
            path: at.clone(),
            problem,
        };
        let finite = |name: &str, value: f64| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(bad(format!("{name} = {value}; expected a finite number")))
            }
        };
        match layer {
            LayerSpec::Dense { width: 0 } => {
                return Err(bad("width = 0; expected at least 1".into()));
            }
            LayerSpec::Dense { width: w } => width = *w,
            LayerSpec::Activation { .. } => {}
            LayerSpec::LayerNorm { eps, gain } | LayerSpec::BatchNorm { eps, gain, .. } => {
                if !(eps.is_finite() && *eps > 0.0) {
                    return Err(bad(format!("eps = {eps}; expected a finite number > 0")));
                }
                finite("gain", *gain)?;
                if let LayerSpec::BatchNorm { momentum, .. } = layer
                    && !(*momentum > 0.0 && *momentum <= 1.0)
                {
                    return Err(bad(format!(
                        "momentum = {momentum}; expected a number in (0, 1]"
                    )));
                }
            }
            LayerSpec::Residual { branch, alpha } => {
                finite("alpha", alpha.value)?;
                if branch.is_empty() {
                    return Err(bad("an empty branch; expected at least one layer".into()));
                }
                let end = sequence_width(branch, width, &format!("{at}.branch"))?;
                if end != width {
                    return Err(bad(format!(
                        "the branch ends at width {end}; expected its input's width {width}, to add to it"
                    )));
                }
            }
        }
    }
    Ok(width)
}
