//! The network: a configuration, dense layers, and their parameters by name.

use init::{Fans, Initializer, RngKey};
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use crate::stack::{self, LayerUpdate, Stack, StackLayer, StackMut};
use crate::workspace::{Gradients, Workspace};
use crate::{Activation, NnError, Real};

/// The shape of a multilayer perceptron: `input -> hidden[0] -> ... -> output`, each hidden
/// layer followed by its activation; the output layer gives logits (no activation).
///
/// # Examples
/// ```
/// use nn::{Activation, MlpConfig};
/// use nn::init::{Initializer, Nonlinearity};
///
/// let config = MlpConfig::new(784, vec![256, 256], 10).with_activation(Activation::Tanh);
/// let mlp = config.build::<f32>(&Initializer::GlorotUniform { gain: 5.0 / 3.0 }, &Initializer::Zeros, 0)?;
/// assert_eq!(mlp.parameter_count(), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
/// # Ok::<(), nn::NnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Width of the input.
    pub input: usize,
    /// Widths of the hidden layers, first to last.
    pub hidden: Vec<usize>,
    /// Width of the output (classes, or regression targets).
    pub output: usize,
    /// One activation per hidden layer.
    pub activations: Vec<Activation>,
}

/// A dense layer `y = f(x W^T + b)`. Its fields are private so that its shapes agree, its
/// weights are row-major (the layout the GEMM path and the trainer rely on) and, inside an
/// [`Mlp`], its activation is the configuration's.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense<T> {
    /// Weights `[out, in]` (PyTorch's layout), row-major.
    pub(crate) weight: Array2<T>,
    /// Bias `[out]`.
    pub(crate) bias: Array1<T>,
    /// The nonlinearity after the affine map (identity for the output layer).
    pub(crate) activation: Activation,
}

impl<T: Real> Dense<T> {
    /// A layer from weights `[out, in]`, a bias `[out]` and the activation after it. Weights
    /// in another memory order (column-major, strided) are copied to row-major.
    ///
    /// # Errors
    /// [`NnError::Config`] when the bias length is not the weight's row count or a size
    /// is zero.
    pub fn new(
        weight: Array2<T>,
        bias: Array1<T>,
        activation: Activation,
    ) -> Result<Self, NnError> {
        let (out, input) = weight.dim();
        if out == 0 || input == 0 {
            return Err(NnError::Config {
                field: "weight",
                value: format!("shape [{out}, {input}]"),
                expected: "at least one output and one input",
            });
        }
        if bias.len() != out {
            return Err(NnError::Config {
                field: "bias",
                value: format!("{} values for weights [{out}, {input}]", bias.len()),
                expected: "one bias per output (the weight's row count)",
            });
        }
        let weight = if weight.is_standard_layout() {
            weight
        } else {
            weight.as_standard_layout().into_owned()
        };
        Ok(Self {
            weight,
            bias,
            activation,
        })
    }

    /// Weights `[out, in]`.
    pub fn weight(&self) -> &Array2<T> {
        &self.weight
    }

    /// Bias `[out]`.
    pub fn bias(&self) -> &Array1<T> {
        &self.bias
    }

    /// The nonlinearity after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

/// A multilayer perceptron: dense layers built from an [`MlpConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<T> {
    config: MlpConfig,
    layers: Vec<Dense<T>>,
}

/// How to initialize each layer: a weight and a bias strategy. Bias strategies that need
/// fans get the weight's.
pub type LayerInit = init::presets::LayerInit;

impl MlpConfig {
    /// Every layer's width, input to output.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(self.input);
        widths.extend(&self.hidden);
        widths.push(self.output);
        widths
    }

    /// A network with ReLU after every hidden layer (change it with
    /// [`with_activation`](Self::with_activation)).
    pub fn new(input: usize, hidden: Vec<usize>, output: usize) -> Self {
        let activations = vec![Activation::Relu; hidden.len()];
        Self {
            input,
            hidden,
            output,
            activations,
        }
    }

    /// The same activation after every hidden layer.
    #[must_use]
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activations = vec![activation; self.hidden.len()];
        self
    }

    /// One activation per hidden layer.
    #[must_use]
    pub fn with_activations(mut self, activations: Vec<Activation>) -> Self {
        self.activations = activations;
        self
    }

    /// `depth` hidden layers of `width` units.
    pub fn deep(
        input: usize,
        depth: usize,
        width: usize,
        output: usize,
        activation: Activation,
    ) -> Self {
        Self::new(input, vec![width; depth], output).with_activation(activation)
    }

    /// Checks sizes and activations.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the field: a zero width, or a number of activations
    /// different from the number of hidden layers.
    pub fn validate(&self) -> Result<(), NnError> {
        let positive = |field, value: usize| {
            if value == 0 {
                Err(NnError::Config {
                    field,
                    value: "0".into(),
                    expected: "a width of at least 1",
                })
            } else {
                Ok(())
            }
        };
        positive("input", self.input)?;
        positive("output", self.output)?;
        for &width in &self.hidden {
            positive("hidden", width)?;
        }
        if self.activations.len() != self.hidden.len() {
            return Err(NnError::Config {
                field: "activations",
                value: format!("{} activations", self.activations.len()),
                expected: "one activation per hidden layer",
            });
        }
        Ok(())
    }

    /// The same network as a [`NetConfig`](crate::net::NetConfig): each hidden layer a dense
    /// layer and its activation, then the output layer. Built with the same strategies
    /// and seed, the two draw the same values (tensor `2i` is layer `i`'s weight in both).
    pub fn to_net_config(&self) -> crate::net::NetConfig {
        let mut config = crate::net::NetConfig::new(self.input);
        for (&width, &activation) in self.hidden.iter().zip(&self.activations) {
            config = config.dense(width).activation(activation);
        }
        config.dense(self.output)
    }

    /// `(fan_in, fan_out)` of every layer, first to last.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        widths.push(self.output);
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Builds the network with one weight and one bias strategy for every layer; layer `i`'s
    /// weight and bias draw from tensors `2i` and `2i + 1` of `seed`.
    ///
    /// # Errors
    /// A bad configuration or initializer parameter.
    pub fn build<T: Real>(
        &self,
        weight: &Initializer,
        bias: &Initializer,
        seed: u64,
    ) -> Result<Mlp<T>, NnError> {
        let init = LayerInit {
            weight: weight.clone(),
            bias: bias.clone(),
        };
        self.build_per_layer(&vec![init; self.hidden.len() + 1], seed)
    }

    /// Builds the network with a strategy pair per layer (`layers.len()` = hidden + 1).
    ///
    /// # Errors
    /// A bad configuration, a wrong number of layer initializers, or a bad parameter.
    pub fn build_per_layer<T: Real>(
        &self,
        inits: &[LayerInit],
        seed: u64,
    ) -> Result<Mlp<T>, NnError> {
        self.validate()?;
        let shapes = self.layer_shapes();
        if inits.len() != shapes.len() {
            return Err(NnError::Config {
                field: "layer initializers",
                value: inits.len().to_string(),
                expected: "one per layer (hidden layers + 1)",
            });
        }
        let key = RngKey::new(seed);
        let mut layers = Vec::with_capacity(shapes.len());
        for (index, (&(fan_in, fan_out), init)) in shapes.iter().zip(inits).enumerate() {
            let activation = self
                .activations
                .get(index)
                .copied()
                .unwrap_or(Activation::Identity);
            let mut weight = Array2::zeros((fan_out, fan_in));
            let named = |tensor: &'static str| {
                move |source| NnError::Init {
                    tensor: format!("layers.{index}.{tensor}"),
                    source,
                }
            };
            init.weight
                .fill(&mut weight, key.tensor(2 * index as u64))
                .map_err(named("weight"))?;
            let mut bias = Array1::zeros(fan_out);
            let fans = Fans::new(fan_in, fan_out);
            init.bias
                .fill_with_fans(&mut bias, fans, key.tensor(2 * index as u64 + 1))
                .map_err(named("bias"))?;
            layers.push(Dense {
                weight,
                bias,
                activation,
            });
        }
        Ok(Mlp {
            config: self.clone(),
            layers,
        })
    }
}

impl<T: Real> Mlp<T> {
    /// Assembles a network from existing layers (e.g. loaded weights).
    ///
    /// # Errors
    /// [`NnError::Config`] if the layers do not have the configuration's shapes, or a
    /// layer's activation is not the configuration's (identity for the output layer): it
    /// would be used by the forward pass but not saved.
    pub fn from_layers(config: MlpConfig, layers: Vec<Dense<T>>) -> Result<Self, NnError> {
        config.validate()?;
        let shapes = config.layer_shapes();
        if shapes.len() != layers.len() {
            return Err(NnError::Config {
                field: "layers",
                value: format!("{} layers", layers.len()),
                expected: "one layer per hidden layer of the configuration, plus the output",
            });
        }
        for (l, (&(i, o), layer)) in shapes.iter().zip(&layers).enumerate() {
            if layer.weight.dim() != (o, i) {
                return Err(NnError::Config {
                    field: "layers",
                    value: format!("layer {l} of shape {:?}", layer.weight.dim()),
                    expected: "layers with the configuration's shapes",
                });
            }
            let activation = config
                .activations
                .get(l)
                .copied()
                .unwrap_or(Activation::Identity);
            if layer.activation != activation {
                return Err(NnError::Config {
                    field: "layers",
                    value: format!("layer {l} with activation {}", layer.activation),
                    expected: "the configuration's activation for every layer (identity for the output layer)",
                });
            }
        }
        Ok(Self { config, layers })
    }

    /// The configuration the network was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Dense<T>] {
        &self.layers
    }

    /// Views of layer `layer`'s weights `[out, in]` and bias `[out]` to change their values
    /// in place (custom initialization, perturbation); their shapes cannot change. `None`
    /// past the last layer.
    pub fn parameters_mut(
        &mut self,
        layer: usize,
    ) -> Option<(ndarray::ArrayViewMut2<'_, T>, ndarray::ArrayViewMut1<'_, T>)> {
        self.layers
            .get_mut(layer)
            .map(|l| (l.weight.view_mut(), l.bias.view_mut()))
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weight.len() + l.bias.len())
            .sum()
    }

    /// Parameters by name, in PyTorch's style: `layers.0.weight`, `layers.0.bias`, ...
    pub fn named_parameters(&self) -> Vec<(String, ndarray::ArrayViewD<'_, T>)> {
        let mut named = Vec::with_capacity(2 * self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            named.push((format!("layers.{i}.weight"), layer.weight.view().into_dyn()));
            named.push((format!("layers.{i}.bias"), layer.bias.view().into_dyn()));
        }
        named
    }

    /// Logits for `inputs` (`[rows, input]` -> `[rows, output]`).
    ///
    /// # Errors
    /// [`NnError::InputWidth`] if the inputs have the wrong width, [`NnError::NonFiniteInput`]
    /// naming the first NaN or infinite value.
    pub fn predict(&self, inputs: ArrayView2<'_, T>) -> Result<Array2<T>, NnError> {
        crate::data::check_width(self.io(), inputs.ncols())?;
        let rows = inputs.nrows();
        if rows == 0 {
            return Ok(Array2::zeros((0, self.config.output)));
        }
        // ReLU and friends would turn a NaN input into finite logits.
        crate::data::validate_inputs(self.io(), inputs)?;
        Ok(stack::logits(self, inputs))
    }

    /// Every layer's output for `inputs`, first to last: each hidden layer's activations,
    /// then the logits (`[rows, width]` each), for looking inside the network (the
    /// coordinate check of μP, for one).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn activations(&self, inputs: ArrayView2<'_, T>) -> Result<Vec<Array2<T>>, NnError> {
        crate::data::validate_inputs(self.io(), inputs)?;
        Ok(stack::layer_outputs(self, inputs))
    }

    /// Fraction of rows classified as labelled, evaluated in chunks: the class is the index
    /// of the largest logit or, for a network with one output (a sigmoid's logit, trained
    /// with [`Loss::BinaryCrossEntropyWithLogits`](crate::Loss)), class 1 when the logit is
    /// positive (sigmoid above 1/2) and class 0 otherwise.
    ///
    /// # Errors
    /// Wrong input width, mismatched or out-of-range labels (past 1 for one output), or no
    /// rows.
    ///
    /// # Examples
    /// ```
    /// use nn::init::Initializer;
    /// use nn::ndarray::array;
    /// use nn::MlpConfig;
    ///
    /// // One logit, x0 + x1: positive reads as class 1.
    /// let mlp = MlpConfig::new(2, vec![1], 1)
    ///     .with_activation(nn::Activation::Identity)
    ///     .build::<f64>(&Initializer::Ones, &Initializer::Zeros, 0)?;
    /// let x = array![[2.0, 1.0], [-1.0, -2.0], [0.5, 0.0]];
    /// assert_eq!(mlp.accuracy(x.view(), &[1, 0, 0])?, 2.0 / 3.0);
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn accuracy(&self, inputs: ArrayView2<'_, T>, labels: &[usize]) -> Result<f64, NnError> {
        crate::data::validate_inputs(self.io(), inputs)?;
        crate::data::validate_labels(labels, inputs.nrows(), self.config.output.max(2))?;
        Ok(stack::correct(self, inputs, labels) as f64 / inputs.nrows() as f64)
    }

    /// The mean loss over all rows and the gradient of every parameter, by backprop.
    ///
    /// # Errors
    /// Data the network cannot use.
    ///
    /// # Examples
    /// ```
    /// use nn::init::Initializer;
    /// use nn::ndarray::array;
    /// use nn::{Loss, MlpConfig, Targets};
    ///
    /// let mlp = MlpConfig::new(2, vec![3], 2).build::<f64>(&Initializer::normal(0.0, 1.0), &Initializer::Zeros, 0)?;
    /// let (loss, grads) = mlp.loss_and_gradients(array![[0.5, -1.0]].view(), Targets::Classes(&[1]), Loss::SoftmaxCrossEntropy)?;
    /// assert!(loss > 0.0);
    /// assert_eq!(grads.dw[0].dim(), (3, 2));
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn loss_and_gradients(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: crate::Targets<'_, T>,
        loss: crate::Loss,
    ) -> Result<(f64, Gradients<T>), NnError> {
        let (value, _, grads) = self.full_pass(inputs, targets, loss)?;
        Ok((value, grads))
    }

    /// The mean loss over all rows: a forward pass only, a third of the work of
    /// [`loss_and_gradients`](Self::loss_and_gradients), with the same value.
    ///
    /// # Errors
    /// Data the network cannot use.
    pub fn loss(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: crate::Targets<'_, T>,
        loss: crate::Loss,
    ) -> Result<f64, NnError> {
        Ok(self.forward_loss(inputs, targets, loss)?.0)
    }

    /// Validated forward, loss and backward pass over all of `inputs` at once: the mean
    /// loss, the workspace (activations and pre-activation gradients) and every gradient.
    pub(crate) fn full_pass(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: crate::Targets<'_, T>,
        loss: crate::Loss,
    ) -> Result<(f64, Workspace<T>, Gradients<T>), NnError> {
        crate::data::validate(self.io(), inputs, targets)?;
        loss.check_targets(targets)?;
        let mut grads = Gradients::new(self);
        let mut views: Vec<_> = grads
            .dw
            .iter_mut()
            .zip(&mut grads.db)
            .map(|(dw, db)| (dw.view_mut(), db.view_mut()))
            .collect();
        let (value, workspace) = stack::full_pass(self, inputs, targets, loss, &mut views);
        Ok((value, workspace, grads))
    }

    /// Validated forward pass and loss over all of `inputs`: the mean loss, and the
    /// workspace with the loss's gradient in its last layer.
    fn forward_loss(
        &self,
        inputs: ArrayView2<'_, T>,
        targets: crate::Targets<'_, T>,
        loss: crate::Loss,
    ) -> Result<(f64, Workspace<T>), NnError> {
        crate::data::validate(self.io(), inputs, targets)?;
        loss.check_targets(targets)?;
        Ok(stack::forward_loss(self, inputs, targets, loss))
    }

    /// The widths data is checked against.
    pub(crate) fn io(&self) -> crate::data::Io {
        crate::data::Io {
            input: self.config.input,
            output: self.config.output,
        }
    }
}

impl<T: Real> Stack<T> for Mlp<T> {
    fn depth(&self) -> usize {
        self.layers.len()
    }

    fn layer(&self, l: usize) -> StackLayer<'_, T> {
        let layer = &self.layers[l];
        StackLayer {
            weight: layer.weight.view(),
            bias: layer.bias.view(),
            activation: layer.activation,
        }
    }
}

impl<T: Real> StackMut<T> for Mlp<T> {
    fn layer_mut(&mut self, l: usize) -> (ArrayViewMut2<'_, T>, ArrayViewMut1<'_, T>) {
        let layer = &mut self.layers[l];
        (layer.weight.view_mut(), layer.bias.view_mut())
    }

    fn update_layers<S: Send>(&mut self, state: &mut [S], update: &LayerUpdate<'_, T, S>) {
        self.layers
            .par_iter_mut()
            .zip(state.par_chunks_mut(2))
            .enumerate()
            .for_each(|(l, (layer, state))| {
                let weight = layer.weight.as_slice_mut().expect("C-order");
                let bias = layer.bias.as_slice_mut().expect("C-order");
                update(l, weight, bias, state);
            });
    }
}
