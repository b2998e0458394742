//! What a network is made of: layers, residual blocks and normalization, as data that
//! serializes (into safetensors metadata and experiment files) and validates.

use serde::{Deserialize, Serialize};

use crate::{Activation, NnError};

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

/// The shape of an image sample: `channels x height x width`, stored NCHW (a batch is one
/// row per sample, each row its channels' planes one after another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Channels.
    pub channels: usize,
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
}

impl Image {
    /// An image of `channels` planes of `height x width` pixels.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// Pixels per channel; `None` past a usize.
    pub fn pixels(&self) -> Option<usize> {
        self.height.checked_mul(self.width)
    }

    /// Values per sample; `None` past a usize.
    pub fn len(&self) -> Option<usize> {
        self.pixels()?.checked_mul(self.channels)
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// What one sample is between two layers: flat features or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Features.
    Flat(usize),
    /// An image.
    Image(Image),
}

impl Shape {
    /// Values per sample (an image's are checked to fit a usize when it is made).
    pub fn len(&self) -> usize {
        match self {
            Self::Flat(width) => *width,
            Self::Image(image) => image.len().unwrap_or(usize::MAX),
        }
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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

    /// The input's shape.
    pub fn input_shape(&self) -> Shape {
        match self.image {
            Some(image) => Shape::Image(image),
            None => Shape::Flat(self.input),
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

    /// `(fan_in, fan_out)` of every dense layer, in order, branches included.
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = Vec::new();
        // Up to the first bad layer, which `output` names.
        let _ = self.walk(|layer, input, _| {
            if let LayerSpec::Dense { width } = layer {
                shapes.push((input.len(), *width));
            }
        });
        shapes
    }

    /// The number of trainable values a net built from it holds (as
    /// [`Net::parameter_count`](super::Net::parameter_count)); `None` for a bad layer or a
    /// count past a usize.
    pub fn parameter_count(&self) -> Option<usize> {
        let mut total = Some(0_usize);
        self.walk(|layer, input, _| {
            let count = || match (layer, input) {
                (LayerSpec::Dense { width }, _) => input.len().checked_add(1)?.checked_mul(*width),
                (LayerSpec::Conv2d { .. }, Shape::Image(image)) => {
                    let conv = conv_of(layer, image.channels)?;
                    conv.patch_len()
                        .checked_add(1)?
                        .checked_mul(conv.out_channels)
                }
                (LayerSpec::LayerNorm { .. }, _) => input.len().checked_mul(2),
                (LayerSpec::BatchNorm { .. }, Shape::Image(image)) => Some(2 * image.channels),
                (LayerSpec::BatchNorm { .. }, Shape::Flat(width)) => width.checked_mul(2),
                (LayerSpec::Residual { alpha, .. }, _) => Some(usize::from(alpha.learnable)),
                _ => Some(0),
            };
            total = total.zip(count()).and_then(|(t, c)| t.checked_add(c));
        })
        .ok()?;
        total
    }

    /// The output width of every layer, in order, branches included (a residual counts
    /// its branch's layers and then its own output).
    pub fn layer_widths(&self) -> Vec<usize> {
        self.layer_shapes().into_iter().map(|s| s.len()).collect()
    }

    /// The output shape of every layer, in order, branches included (a residual counts its
    /// branch's layers and then its own output), up to the first bad layer.
    pub fn layer_shapes(&self) -> Vec<Shape> {
        let mut shapes = Vec::new();
        let _ = self.walk(|_, _, output| shapes.push(output));
        shapes
    }

    /// Walks every layer with its input and output shapes, branches before their
    /// residual; the shape after the last layer.
    ///
    /// # Errors
    /// As [`output`](Self::output), at the first bad layer.
    pub(crate) fn walk(
        &self,
        mut visit: impl FnMut(&LayerSpec, Shape, Shape),
    ) -> Result<Shape, NnError> {
        if let Some(image) = self.image
            && image.len() != Some(self.input)
        {
            return Err(NnError::Config {
                field: "image",
                value: format!("{image:?}"),
                expected: "channels x height x width equal to the input's width, and countable",
            });
        }
        walk_sequence(&self.layers, self.input_shape(), "layers", &mut visit)
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
    /// [`NnError::Layer`] naming the first bad layer (`layers.2.branch.0`): a zero width or
    /// channel count, an empty branch, a branch that does not end at its input's shape, an
    /// image layer on flat features or a dense layer on an image (flatten it first), a
    /// convolution or pooling window the image cannot hold, an `eps`, `momentum` or value
    /// that is out of range; [`NnError::Config`] for a zero input, an image that is not
    /// the input's width, or no layers.
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
        Ok(self.walk(|_, _, _| {})?.len())
    }
}

/// The shape after `layers` from `shape`, checking each layer at `path.{index}` and
/// visiting it (a residual after its branch).
fn walk_sequence(
    layers: &[LayerSpec],
    mut shape: Shape,
    path: &str,
    visit: &mut impl FnMut(&LayerSpec, Shape, Shape),
) -> Result<Shape, NnError> {
    for (index, layer) in layers.iter().enumerate() {
        let at = format!("{path}.{index}");
        let output = match layer {
            LayerSpec::Residual { branch, alpha } => {
                let bad = |problem: String| NnError::Layer {
                    path: at.clone(),
                    problem,
                };
                if !alpha.value.is_finite() {
                    return Err(bad(format!(
                        "alpha = {}; expected a finite number",
                        alpha.value
                    )));
                }
                if branch.is_empty() {
                    return Err(bad("an empty branch; expected at least one layer".into()));
                }
                let end = walk_sequence(branch, shape, &format!("{at}.branch"), visit)?;
                if end != shape {
                    return Err(bad(format!(
                        "the branch ends at {}; expected its input's {}, to add to it",
                        describe(end),
                        describe(shape)
                    )));
                }
                shape
            }
            _ => layer_shape(layer, shape, &at)?,
        };
        visit(layer, shape, output);
        shape = output;
    }
    Ok(shape)
}

/// `shape` in words: `width 128`, `image 16x14x14`.
fn describe(shape: Shape) -> String {
    match shape {
        Shape::Flat(width) => format!("width {width}"),
        Shape::Image(i) => format!("image {}x{}x{}", i.channels, i.height, i.width),
    }
}

/// The output shape of a layer other than a residual, checking it at `at`.
pub(crate) fn layer_shape(layer: &LayerSpec, input: Shape, at: &str) -> Result<Shape, NnError> {
    let bad = |problem: String| NnError::Layer {
        path: at.to_owned(),
        problem,
    };
    let finite = |name: &str, value: f64| {
        if value.is_finite() {
            Ok(())
        } else {
            Err(bad(format!("{name} = {value}; expected a finite number")))
        }
    };
    let image = |what: &str| match input {
        Shape::Image(image) => Ok(image),
        Shape::Flat(width) => Err(bad(format!(
            "{what} takes an image, and its input is {width} flat features; build the \
             network on an image input (NetConfig::image, or `image` in the file)"
        ))),
    };
    // The geometry's own message, at this layer's path.
    let at_path = |e: NnError| match e {
        NnError::Layer { problem, .. } => bad(problem),
        other => other,
    };
    let pooled = |image: Image, pool: crate::pool::Pool2d| {
        let (height, width) = pool
            .output_size((image.height, image.width))
            .map_err(at_path)?;
        Ok::<_, NnError>(Shape::Image(Image::new(image.channels, height, width)))
    };
    Ok(match layer {
        LayerSpec::Dense { width: 0 } => return Err(bad("width = 0; expected at least 1".into())),
        LayerSpec::Dense { width } => match input {
            Shape::Flat(_) => Shape::Flat(*width),
            Shape::Image(i) => {
                return Err(bad(format!(
                    "a dense layer takes flat features, and its input is an image {}x{}x{}; \
                     put a flatten layer before it",
                    i.channels, i.height, i.width
                )));
            }
        },
        LayerSpec::Activation { .. } => input,
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
            input
        }
        LayerSpec::Conv2d { .. } => {
            let image = image("a convolution")?;
            let conv = conv_of(layer, image.channels).expect("a convolution");
            let (height, width) = conv
                .output_size((image.height, image.width))
                .map_err(at_path)?;
            Shape::Image(Image::new(conv.out_channels, height, width))
        }
        LayerSpec::MaxPool { kernel, stride } => pooled(
            image("max pooling")?,
            crate::pool::Pool2d::max(pair(*kernel), pair(*stride)),
        )?,
        LayerSpec::AveragePool { kernel, stride } => pooled(
            image("average pooling")?,
            crate::pool::Pool2d::average(pair(*kernel), pair(*stride)),
        )?,
        LayerSpec::GlobalAveragePool => {
            let image = image("global average pooling")?;
            Shape::Image(Image::new(image.channels, 1, 1))
        }
        LayerSpec::Flatten => Shape::Flat(input.len()),
        LayerSpec::Residual { .. } => unreachable!("residuals are walked by their callers"),
    })
}

fn pair([a, b]: [usize; 2]) -> (usize, usize) {
    (a, b)
}

/// The geometry of a [`LayerSpec::Conv2d`] on `in_channels` channels.
pub(crate) fn conv_of(layer: &LayerSpec, in_channels: usize) -> Option<crate::conv::Conv2d> {
    match *layer {
        LayerSpec::Conv2d {
            channels,
            kernel,
            stride,
            padding,
            groups,
        } => Some(
            crate::conv::Conv2d::new(in_channels, channels, pair(kernel))
                .with_stride(pair(stride))
                .with_padding(pair(padding))
                .with_groups(groups),
        ),
        _ => None,
    }
}

/// The pooling window of a pooling layer on an image of `input` pixels.
pub(crate) fn pool_of(layer: &LayerSpec, input: (usize, usize)) -> Option<crate::pool::Pool2d> {
    match *layer {
        LayerSpec::MaxPool { kernel, stride } => {
            Some(crate::pool::Pool2d::max(pair(kernel), pair(stride)))
        }
        LayerSpec::AveragePool { kernel, stride } => {
            Some(crate::pool::Pool2d::average(pair(kernel), pair(stride)))
        }
        LayerSpec::GlobalAveragePool => Some(crate::pool::Pool2d::global_average(input)),
        _ => None,
    }
}
