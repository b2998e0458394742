//! From a [`NetConfig`] and a [`NetInit`] to layers and their initialized parameters.

use initlab_init::{Fans, Initializer, RngKey};
use ndarray::{ArrayViewMut1, ArrayViewMut2, ArrayViewMutD, IxDyn};

use super::pass::{AlphaAt, Node};
use super::shape::{Shape, conv_of, layer_shape, pool_of};
use super::spec::{LayerSpec, NetConfig};
use crate::{LayerInit, NnError, Real};

/// How a network's dense and convolutional layers are initialized: one weight and bias
/// strategy, a rule for the layers of residual branches, and overrides by layer path.
/// A convolution's strategy takes the layer's groups ([`Initializer::for_groups`]) and
/// its fans per group ([`Fans::from_grouped_shape`]).
///
/// Normalization gains and residual multipliers are part of the [`NetConfig`]
/// ([`with_norm_gain`](NetConfig::with_norm_gain), [`with_alpha`](NetConfig::with_alpha));
/// normalization biases start at 0.
#[derive(Debug, Clone)]
pub struct NetInit {
    /// Every dense layer's weight, unless a rule below says otherwise.
    pub weight: Initializer,
    /// Every dense layer's bias (with the weight's fans).
    pub bias: Initializer,
    /// What changes for the dense layers inside residual branches.
    pub branch: BranchInit,
    /// Per-layer strategies by path (`layers.3.branch.1`), taking precedence over all.
    pub overrides: Vec<(String, LayerInit)>,
}

/// The initialization of residual branches' dense layers, for `L` residual blocks at the
/// top level, each branch having `m` dense layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BranchInit {
    /// As every other layer.
    AsRest,
    /// The last dense layer of each branch zero, so every block starts as the identity
    /// (Goyal et al. 2017 zero the last BatchNorm gain instead; see
    /// [`NetConfig::with_zero_gamma`]).
    ZeroLast,
    /// Fixup (Zhang, Dauphin & Ma 2019): the branch's weights scaled by `L^(-1/(2m-2))`
    /// ([`initlab_init::presets::residual::fixup`]), its last layer zero, and the network's output
    /// layer zero. Fixup's scalar multiplier is a learnable `α` starting at 1, and its
    /// scalar biases are subsumed by the dense layers' biases (zero).
    Fixup,
    /// GPT-2 (Radford et al. 2019): the last layer of each branch, its projection into the
    /// residual stream, `N(0, std²)` scaled by `1/sqrt(2L)`
    /// ([`initlab_init::presets::residual::gpt2_projection`]).
    Gpt2 {
        /// The base standard deviation (0.02 in GPT-2).
        std: f64,
    },
}

impl NetInit {
    /// One weight and bias strategy everywhere.
    pub fn new(weight: Initializer, bias: Initializer) -> Self {
        Self {
            weight,
            bias,
            branch: BranchInit::AsRest,
            overrides: Vec::new(),
        }
    }

    /// With this rule for residual branches.
    #[must_use]
    pub fn with_branch(mut self, branch: BranchInit) -> Self {
        self.branch = branch;
        self
    }

    /// With the strategies of the dense layer at `path`.
    #[must_use]
    pub fn with_override(mut self, path: impl Into<String>, init: LayerInit) -> Self {
        self.overrides.push((path.into(), init));
        self
    }

    /// The strategies each dense and convolutional layer of `config` gets, first to last
    /// (branches in place): what [`NetConfig::build`] draws from, for predictions and
    /// reports.
    ///
    /// # Errors
    /// A bad layer ([`NnError::Layer`]) or a scheme that rejects the network (Fixup's
    /// exponent needs branches of at least 2 dense layers).
    pub fn dense_inits(&self, config: &NetConfig) -> Result<Vec<DenseInit>, NnError> {
        config.output()?;
        let last_weighted = config.layers.iter().rposition(is_weighted);
        let blocks = config.residual_blocks().max(1);
        let mut out = Vec::new();
        let mut shape = config.input_shape();
        for (index, layer) in config.layers.iter().enumerate() {
            let path = format!("layers.{index}");
            let output = Some(index) == last_weighted;
            self.collect(layer, &mut shape, &path, None, output, blocks, &mut out)?;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        layer: &LayerSpec,
        shape: &mut Shape,
        path: &str,
        branch: Option<BranchSite>,
        output: bool,
        blocks: usize,
        out: &mut Vec<DenseInit>,
    ) -> Result<(), NnError> {
        if let LayerSpec::Residual { branch: layers, .. } = layer {
            let weighted = layers.iter().filter(|l| is_weighted(l)).count();
            let (mut index, mut inner) = (0, *shape);
            for (i, layer) in layers.iter().enumerate() {
                let site = is_weighted(layer).then_some(BranchSite {
                    blocks,
                    layers: weighted,
                    index,
                });
                index += usize::from(site.is_some());
                let at = format!("{path}.branch.{i}");
                self.collect(layer, &mut inner, &at, site, false, blocks, out)?;
            }
            return Ok(());
        }
        let fans = match (layer, *shape) {
            (LayerSpec::Dense { width: units }, _) => Some(Fans::new(shape.len(), *units)),
            (LayerSpec::Conv2d { groups, .. }, Shape::Image(image)) => {
                let conv = conv_of(layer, image.channels).expect("a convolution");
                let fans = Fans::from_grouped_shape(&conv.weight_shape(), *groups);
                Some(fans.map_err(|source| NnError::Init {
                    tensor: format!("{path}.weight"),
                    source,
                })?)
            }
            _ => None,
        };
        if let Some(fans) = fans {
            let site = Site {
                path,
                branch,
                output,
            };
            out.push(DenseInit {
                path: path.to_owned(),
                fans,
                init: self.layer(&site)?,
            });
        }
        *shape = layer_shape(layer, *shape, path)?;
        Ok(())
    }

    /// The strategies of one dense or convolutional layer.
    fn layer(&self, site: &Site<'_>) -> Result<LayerInit, NnError> {
        if let Some((_, init)) = self.overrides.iter().rev().find(|(p, _)| p == site.path) {
            return Ok(init.clone());
        }
        let mut init = LayerInit {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
        };
        let zero = |init: &mut LayerInit| init.weight = Initializer::Zeros;
        let bad = |source| NnError::Init {
            tensor: format!("{}.weight", site.path),
            source,
        };
        match (self.branch, site.branch) {
            (BranchInit::Fixup, None) if site.output => zero(&mut init),
            (_, None) | (BranchInit::AsRest, _) => {}
            (BranchInit::ZeroLast | BranchInit::Fixup, Some(b)) if b.last() => zero(&mut init),
            (BranchInit::ZeroLast, Some(_)) => {}
            (BranchInit::Fixup, Some(b)) => {
                init.weight =
                    initlab_init::presets::residual::fixup(init.weight, b.blocks, b.layers)
                        .map_err(bad)?;
            }
            (BranchInit::Gpt2 { std }, Some(b)) if b.last() => {
                init.weight =
                    initlab_init::presets::residual::gpt2_projection(std, b.blocks).map_err(bad)?;
            }
            (BranchInit::Gpt2 { .. }, Some(_)) => {}
        }
        Ok(init)
    }
}

/// Whether a layer has a weight and a bias drawn by a [`NetInit`]: dense layers and
/// convolutions.
fn is_weighted(layer: &LayerSpec) -> bool {
    matches!(layer, LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. })
}

/// The strategies a dense or convolutional layer is initialized with, and where it sits.
#[derive(Debug, Clone)]
pub struct DenseInit {
    /// Its path: `layers.0`, `layers.3.branch.1`.
    pub path: String,
    /// Its fans (a convolution's per group, with its receptive field).
    pub fans: Fans,
    /// Its weight and bias strategies.
    pub init: LayerInit,
}

/// Where a dense or convolutional layer sits.
struct Site<'a> {
    path: &'a str,
    branch: Option<BranchSite>,
    /// The network's last dense layer.
    output: bool,
}

/// A dense or convolutional layer's place in a residual branch.
#[derive(Debug, Clone, Copy)]
struct BranchSite {
    /// Residual blocks at the top level.
    blocks: usize,
    /// Dense and convolutional layers in this branch.
    layers: usize,
    /// This layer's index among them.
    index: usize,
}

impl BranchSite {
    fn last(self) -> bool {
        self.index + 1 == self.layers
    }
}

/// A named tensor in a network's flat parameter or buffer vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// PyTorch-style name: `layers.0.weight`, `layers.2.branch.1.bias`, `layers.3.alpha`,
    /// `layers.1.running_mean`.
    pub name: String,
    /// Where its values start.
    pub offset: usize,
    /// Its shape: `[out, in]` for dense weights, `[out, in / groups, kh, kw]` for
    /// convolution kernels, `[width]` for biases, gains and running averages (`[channels]`
    /// for an image's BatchNorm), `[]` for a residual multiplier.
    pub shape: Vec<usize>,
}

impl Tensor {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no values (never, in a built network).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The result of [`compile`]: layers, parameters, running averages and their names.
pub(crate) struct Compiled<T> {
    pub(crate) nodes: Vec<Node>,
    pub(crate) params: Vec<T>,
    pub(crate) running: Vec<T>,
    pub(crate) tensors: Vec<Tensor>,
    pub(crate) buffers: Vec<Tensor>,
}

/// Lays out and initializes the network. Parameter tensor `k` (in [`Tensor`] order) draws
/// from `RngKey::new(seed).tensor(k)`, so a plain network's dense layer `i` draws its
/// weight and bias from tensors `2i` and `2i + 1`, as
/// [`MlpConfig::build`](crate::MlpConfig::build) says.
pub(crate) fn compile<T: Real>(
    config: &NetConfig,
    init: &NetInit,
    seed: u64,
) -> Result<Compiled<T>, NnError> {
    let mut dense = init.dense_inits(config)?.into_iter();
    let mut out = Compiled {
        nodes: Vec::new(),
        params: Vec::new(),
        running: Vec::new(),
        tensors: Vec::new(),
        buffers: Vec::new(),
    };
    let mut builder = Builder {
        dense: &mut dense,
        key: RngKey::new(seed),
        out: &mut out,
    };
    let mut shape = config.input_shape();
    let mut nodes = Vec::with_capacity(config.layers.len());
    for (index, layer) in config.layers.iter().enumerate() {
        let path = format!("layers.{index}");
        nodes.push(builder.node(layer, &mut shape, &path)?);
    }
    out.nodes = nodes;
    Ok(out)
}

struct Builder<'a, T> {
    /// Each dense and convolutional layer's strategies, in the order the walk meets them.
    dense: &'a mut std::vec::IntoIter<DenseInit>,
    key: RngKey,
    out: &'a mut Compiled<T>,
}

impl<T: Real> Builder<'_, T> {
    /// Appends a parameter tensor of zeros; returns its offset.
    ///
    /// # Errors
    /// [`NnError::Layer`] for a tensor whose size overflows or that memory cannot hold:
    /// an error, where growing the vector would abort the process.
    fn tensor(&mut self, path: &str, name: &str, shape: Vec<usize>) -> Result<usize, NnError> {
        let offset = self.out.params.len();
        let len = shape.iter().try_fold(1_usize, |p, &d| p.checked_mul(d));
        // `try_reserve` grows as `resize` would, amortized: a net appends a tensor at a time.
        let fits = len.filter(|&len| {
            len.checked_add(offset).is_some() && self.out.params.try_reserve(len).is_ok()
        });
        let Some(len) = fits else {
            return Err(NnError::Layer {
                path: path.to_owned(),
                problem: format!(
                    "its {name} of shape {shape:?} needs more memory than can be allocated"
                ),
            });
        };
        self.out.params.resize(offset + len, T::zero());
        self.out.tensors.push(Tensor {
            name: format!("{path}.{name}"),
            offset,
            shape,
        });
        Ok(offset)
    }

    /// The stream key of the tensor just appended.
    fn last_key(&self) -> RngKey {
        self.key.tensor(self.out.tensors.len() as u64 - 1)
    }

    fn node(&mut self, layer: &LayerSpec, shape: &mut Shape, path: &str) -> Result<Node, NnError> {
        let before = *shape;
        let input = before.len();
        if !matches!(layer, LayerSpec::Residual { .. }) {
            *shape = layer_shape(layer, before, path)?;
        }
        let image = match before {
            Shape::Image(image) => Some(image),
            Shape::Flat(_) => None,
        };
        Ok(match layer {
            LayerSpec::Dense { width: units } => {
                let units = *units;
                let at = self.weighted(path, vec![units, input], 1)?;
                Node::Dense {
                    input,
                    output: units,
                    at,
                }
            }
            LayerSpec::Conv2d { .. } => {
                let image = image.expect("checked: a convolution takes an image");
                let conv = conv_of(layer, image.channels).expect("a convolution");
                let at = self.weighted(path, conv.weight_shape().to_vec(), conv.groups)?;
                Node::Conv {
                    conv,
                    input: (image.height, image.width),
                    at,
                }
            }
            LayerSpec::MaxPool { .. }
            | LayerSpec::AveragePool { .. }
            | LayerSpec::GlobalAveragePool => {
                let image = image.expect("checked: pooling takes an image");
                let pixels = (image.height, image.width);
                Node::Pool {
                    pool: pool_of(layer, pixels).expect("a pooling layer"),
                    channels: image.channels,
                    input: pixels,
                }
            }
            LayerSpec::Flatten => Node::Flatten,
            LayerSpec::Activation { activation } => Node::Activation(*activation),
            LayerSpec::LayerNorm { eps, gain } => Node::LayerNorm {
                width: input,
                eps: *eps,
                at: self.norm_parameters(path, input, *gain)?,
            },
            LayerSpec::BatchNorm {
                eps,
                momentum,
                gain,
            } => {
                // Per channel of an image, per feature otherwise.
                let (features, pixels) = match image {
                    Some(image) => (image.channels, input / image.channels),
                    None => (input, 1),
                };
                let at = self.norm_parameters(path, features, *gain)?;
                let running = self.out.running.len();
                for (name, value) in [("running_mean", 0.0), ("running_var", 1.0)] {
                    let offset = self.out.running.len();
                    self.out.buffers.push(Tensor {
                        name: format!("{path}.{name}"),
                        offset,
                        shape: vec![features],
                    });
                    self.out.running.resize(offset + features, T::of(value));
                }
                Node::BatchNorm {
                    width: input,
                    pixels,
                    eps: *eps,
                    momentum: *momentum,
                    at,
                    running,
                }
            }
            LayerSpec::Residual {
                branch: layers,
                alpha,
            } => {
                let alpha = if alpha.learnable {
                    let at = self.tensor(path, "alpha", Vec::new())?;
                    self.out.params[at] = T::of(alpha.value);
                    AlphaAt::Learnable(at)
                } else {
                    AlphaAt::Fixed(alpha.value)
                };
                let mut inner = before;
                let mut nodes = Vec::with_capacity(layers.len());
                for (i, layer) in layers.iter().enumerate() {
                    let at = format!("{path}.branch.{i}");
                    nodes.push(self.node(layer, &mut inner, &at)?);
                }
                Node::Residual {
                    branch: nodes,
                    alpha,
                }
            }
        })
    }

    /// A dense or convolutional layer's weight of `shape` (`[out, ...]`) and its bias
    /// `[out]`, drawn with the layer's strategies; returns the weight's offset.
    fn weighted(&mut self, path: &str, shape: Vec<usize>, groups: usize) -> Result<usize, NnError> {
        let DenseInit { fans, init, .. } = self
            .dense
            .next()
            .expect("one strategy per dense or convolutional layer");
        let named = |tensor: &str| {
            let tensor = format!("{path}.{tensor}");
            move |source| NnError::Init { tensor, source }
        };
        let units = shape[0];
        let at = self.tensor(path, "weight", shape.clone())?;
        let key = self.last_key();
        let len = self.out.tensors.last().expect("just added").len();
        let values = &mut self.out.params[at..at + len];
        if let [out, input] = shape[..] {
            // A dense weight draws as it always has: the fans of its shape.
            let mut weight = ArrayViewMut2::from_shape((out, input), values).expect("tensor shape");
            init.weight
                .fill(&mut weight, key)
                .map_err(named("weight"))?;
        } else {
            let mut weight =
                ArrayViewMutD::from_shape(IxDyn(&shape), values).expect("tensor shape");
            init.weight
                .for_groups(groups)
                .fill_with_fans(&mut weight, fans, key)
                .map_err(named("weight"))?;
        }
        let bias_at = self.tensor(path, "bias", vec![units])?;
        let key = self.last_key();
        let mut bias = ArrayViewMut1::from(&mut self.out.params[bias_at..bias_at + units]);
        init.bias
            .fill_with_fans(&mut bias, fans, key)
            .map_err(named("bias"))?;
        Ok(at)
    }

    /// A gain starting at `gain` and a bias at 0; returns the gain's offset.
    fn norm_parameters(&mut self, path: &str, width: usize, gain: f64) -> Result<usize, NnError> {
        let at = self.tensor(path, "weight", vec![width])?;
        self.out.params[at..at + width].fill(T::of(gain));
        self.tensor(path, "bias", vec![width])?;
        Ok(at)
    }
}
