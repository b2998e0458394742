//! What defines a run: the architecture, how its output is read, and the run's settings.

use initlab_nn::net::{Norm, Ordering};
use initlab_nn::{Activation, Optimizer};
use serde::{Deserialize, Serialize};

use crate::BenchError;

/// A network's hidden layers, their activation and how its output is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arch {
    /// Units of each hidden layer, input side first; at least one layer.
    pub hidden: Vec<usize>,
    /// Nonlinearity after every hidden layer.
    pub activation: Activation,
    /// The output layer.
    #[serde(default)]
    pub output: Head,
    /// Normalization: after every hidden dense layer of a plain network, before every
    /// activation of a residual branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<Norm>,
    /// Residual blocks on a stream of `hidden[0]` units; `None` for a plain network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual: Option<Residual>,
    /// Weight initializers for single dense layers by path (`layers.0`,
    /// `layers.3.branch.1`), in place of the run's: `[path, initializer name]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_inits: Vec<(String, String)>,
    /// Convolutions in place of the hidden dense layers, on the data's images: `hidden`
    /// then counts channels. `None` for dense layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<Convolutions>,
}

/// The convolutions of a convolutional [`Arch`]: each hidden layer a `kernel x kernel`
/// convolution with zero padding `kernel / 2` (odd kernels keep the image's size at stride
/// 1), then global average pooling, flatten, and the dense output layer. A residual
/// network's stem is the first convolution; its blocks keep the stem's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convolutions {
    /// Kernel height and width, odd.
    pub kernel: usize,
    /// The strides of the first convolutions, first first; the rest have stride 1.
    pub strides: Vec<usize>,
    /// Whether the last image is flattened into the output layer, every pixel a feature,
    /// instead of averaged per channel.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flatten: bool,
}

impl Convolutions {
    /// Refuses an even `kernel` as the value of `key` (`--kernel`, `arch[0].kernel`): its
    /// zero padding, `kernel / 2`, keeps an image's size only when it is odd.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] naming `key`.
    pub fn check_kernel(kernel: usize, key: &str) -> Result<(), BenchError> {
        if kernel.is_multiple_of(2) {
            return Err(BenchError::invalid(
                key,
                kernel,
                "an odd size (1, 3, 5, ...), whose padding kernel / 2 keeps the image's size",
            ));
        }
        Ok(())
    }

    /// Refuses `strides` (the value of `key`) with a zero or with more than one per
    /// convolution of `layers`.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] naming `key`.
    pub fn check_strides(strides: &[usize], layers: usize, key: &str) -> Result<(), BenchError> {
        if strides.len() > layers || strides.contains(&0) {
            return Err(BenchError::invalid(
                key,
                format!("{strides:?}"),
                format!("strides of at least 1, one per convolution at most ({layers})"),
            ));
        }
        Ok(())
    }
}

/// A residual network: a dense stem from the input to the stream's width, `blocks`
/// residual blocks of `layers` dense layers each, and the output layer (after a final
/// normalization and activation in pre-activation nets, as He et al. 2016 do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residual {
    /// Residual blocks, the `L` of Fixup and GPT-2.
    pub blocks: usize,
    /// Dense layers per branch, 1–3.
    pub layers: usize,
    /// Pre- or post-activation blocks.
    pub ordering: Ordering,
}

/// How a network's output layer is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// One logit per class, softmax cross-entropy (or one per target, squared error, for
    /// regression).
    #[default]
    Softmax,
    /// One logit for two classes, binary cross-entropy of its sigmoid: class 1 when the
    /// logit is positive.
    Sigmoid,
}

impl Arch {
    /// `depth` hidden layers of `width` units.
    pub fn uniform(depth: usize, width: usize, activation: Activation) -> Self {
        Self {
            hidden: vec![width; depth],
            activation,
            output: Head::Softmax,
            norm: None,
            residual: None,
            layer_inits: Vec::new(),
            conv: None,
        }
    }

    /// Convolutions of `channels` (see [`Convolutions`]), each followed by `activation`,
    /// with no norm and no residual blocks.
    pub fn convolutional(channels: Vec<usize>, activation: Activation, conv: Convolutions) -> Self {
        Self {
            hidden: channels,
            conv: Some(conv),
            ..Self::uniform(0, 0, activation)
        }
    }

    /// A short label, safe in a CSV field: `relu 10x256` for equal widths, `relu 10-5`
    /// otherwise, and ` sigmoid` after a one-logit output.
    pub fn label(&self) -> String {
        let widths = match self.hidden.as_slice() {
            [first, rest @ ..] if rest.iter().all(|w| w == first) => {
                format!("{}x{first}", self.hidden.len())
            }
            widths => widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
        };
        let widths = match self.residual {
            None => widths,
            Some(r) => format!(
                "{} blocks of {}x{} {}",
                r.blocks,
                r.layers,
                self.hidden[0],
                match r.ordering {
                    Ordering::PreActivation => "pre",
                    Ordering::PostActivation => "post",
                }
            ),
        };
        let norm = match self.norm {
            None => "",
            Some(Norm::Batch) => " batchnorm",
            Some(Norm::Layer) => " layernorm",
        };
        let head = match self.output {
            Head::Softmax => "",
            Head::Sigmoid => " sigmoid",
        };
        let conv = match &self.conv {
            None => String::new(),
            Some(c) => {
                let mut label = format!(" conv{0}x{0}", c.kernel);
                if c.strides.iter().any(|&s| s != 1) {
                    let strides: Vec<String> = c.strides.iter().map(usize::to_string).collect();
                    label += &format!(" strides {}", strides.join("-"));
                }
                if c.flatten {
                    label += " flatten";
                }
                label
            }
        };
        let layers: String = self
            .layer_inits
            .iter()
            .map(|(path, init)| format!(" {path}={init}"))
            .collect();
        format!("{} {widths}{conv}{norm}{head}{layers}", self.activation)
    }

    /// The width of each hidden stage (a dense layer with what follows it, or a block).
    pub fn stage_widths(&self) -> Vec<usize> {
        match self.residual {
            None => self.hidden.clone(),
            Some(r) => vec![self.hidden[0]; r.blocks + 1],
        }
    }

    /// Whether it needs [`initlab_nn::net`]: normalization, residual blocks, convolutions
    /// or per-layer initializers.
    pub fn is_net(&self) -> bool {
        self.norm.is_some()
            || self.residual.is_some()
            || !self.layer_inits.is_empty()
            || self.conv.is_some()
    }
}

/// Everything that defines one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Hidden layers.
    pub arch: Arch,
    /// Initializer name (see [`crate::registry::CATALOG`]).
    pub init: String,
    /// Update rule and learning rate.
    pub optimizer: Optimizer,
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Seed of the initialization and of the shuffles.
    pub seed: u64,
    /// Test accuracy counted as converged.
    pub target_accuracy: f64,
    /// μP's base hidden width (every hidden layer of the base this wide); `None` for the
    /// standard parametrization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mup_base: Option<usize>,
    /// Per-layer diagnostics after training epochs as well as at initialization
    /// ([`RunResult::during_training`](crate::experiment::RunResult::during_training)):
    /// off unless asked, since they make up most of a results file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub diagnose_epochs: bool,
}

impl RunSpec {
    /// `standard`, or `mup` (base width in the spec).
    pub fn parametrization_name(&self) -> String {
        match self.mup_base {
            None => "standard".into(),
            Some(base) => format!("mup (base {base})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Convolutions;

    #[test]
    fn kernels_must_be_odd_and_strides_positive_and_at_most_one_per_convolution() {
        assert!(Convolutions::check_kernel(3, "--kernel").is_ok());
        let even = Convolutions::check_kernel(4, "arch[0].kernel").unwrap_err();
        assert!(
            even.to_string().contains("arch[0].kernel") && even.to_string().contains("an odd size"),
            "{even}"
        );
        assert!(Convolutions::check_strides(&[2, 2], 2, "--strides").is_ok());
        for strides in [&[2, 0][..], &[2, 2, 2][..]] {
            let error = Convolutions::check_strides(strides, 2, "--strides").unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("one per convolution at most (2)"),
                "{error}"
            );
        }
    }
}
