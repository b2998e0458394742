//! [`MlpConfig`]: a plain stack of dense layers described by its widths, the shorthand for
//! the [`NetConfig`] it builds.

use initlab_init::Initializer;
use serde::{Deserialize, Serialize};

use crate::net::{Net, NetConfig, NetInit};
use crate::{Activation, NnError, Real};

/// The shape of a multilayer perceptron, `input -> hidden[0] -> ... -> output`, each hidden
/// layer followed by its activation and the output layer giving logits: a shorthand for the
/// plain [`NetConfig`] of [`to_net_config`](Self::to_net_config), which it builds.
///
/// # Examples
/// ```
/// use initlab_nn::{Activation, MlpConfig};
/// use initlab_nn::init::{Initializer, Nonlinearity};
///
/// let config = MlpConfig::new(784, vec![256, 256], 10).with_activation(Activation::Tanh);
/// let net = config.build::<f32>(&Initializer::GlorotUniform { gain: 5.0 / 3.0 }, &Initializer::Zeros, 0)?;
/// assert_eq!(net.parameter_count(), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
/// # Ok::<(), initlab_nn::NnError>(())
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

/// How to initialize each layer: a weight and a bias strategy. Bias strategies that need
/// fans get the weight's.
pub type LayerInit = initlab_init::presets::LayerInit;

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

    /// The network as a [`NetConfig`]: each hidden layer a dense layer and its activation,
    /// then the output layer; layer `i`'s weight is tensor `2i`, its bias `2i + 1`.
    pub fn to_net_config(&self) -> NetConfig {
        let mut config = NetConfig::new(self.input);
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

    /// Builds the network, the plain [`Net`] of [`to_net_config`](Self::to_net_config),
    /// with one weight and one bias strategy for every layer; layer `i`'s weight and bias
    /// draw from tensors `2i` and `2i + 1` of `seed`.
    ///
    /// # Errors
    /// A bad configuration or initializer parameter.
    pub fn build<T: Real>(
        &self,
        weight: &Initializer,
        bias: &Initializer,
        seed: u64,
    ) -> Result<Net<T>, NnError> {
        let init = LayerInit {
            weight: weight.clone(),
            bias: bias.clone(),
        };
        self.build_per_layer(&vec![init; self.hidden.len() + 1], seed)
    }

    /// Builds the network with a strategy pair per layer (`inits.len()` = hidden + 1).
    ///
    /// # Errors
    /// A bad configuration, a wrong number of layer initializers, or a bad parameter.
    pub fn build_per_layer<T: Real>(
        &self,
        inits: &[LayerInit],
        seed: u64,
    ) -> Result<Net<T>, NnError> {
        self.validate()?;
        if inits.len() != self.hidden.len() + 1 {
            return Err(NnError::Config {
                field: "layer initializers",
                value: inits.len().to_string(),
                expected: "one per layer (hidden layers + 1)",
            });
        }
        // Layer i of the stack is the net's layer 2i, an activation between.
        let init = inits.iter().enumerate().fold(
            NetInit::new(inits[0].weight.clone(), inits[0].bias.clone()),
            |init, (i, layer)| init.with_override(format!("layers.{}", 2 * i), layer.clone()),
        );
        self.to_net_config().build(&init, seed)
    }
}
