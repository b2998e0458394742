//! A network to train or time: a plain MLP, or a [`NetConfig`] with normalization or
//! residual blocks.

use nn::MlpConfig;
use nn::net::NetConfig;

use crate::experiment::spec::Arch;

/// A network's description: a plain MLP (trained by [`nn::Trainer`]) or a [`NetConfig`] with
/// normalization or residual blocks (trained by [`nn::Trainer`] too).
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// Dense layers and activations only.
    Mlp(MlpConfig),
    /// Anything else, with a name for reports.
    Net {
        /// The layers.
        config: NetConfig,
        /// `784 -> relu 20 blocks of 2x256 pre -> 10`.
        name: String,
    },
}

impl Network {
    /// A [`Network::Net`] named after `arch`.
    pub(crate) fn net(config: NetConfig, arch: &Arch, input: usize, output: usize) -> Self {
        Self::Net {
            config,
            name: format!("{input} -> {} -> {output}", arch.label()),
        }
    }

    /// Its name in reports: the layer widths of an MLP (see [`network_name`]), the
    /// architecture's label between input and output widths for a [`nn::net::Net`].
    pub fn name(&self) -> String {
        match self {
            Self::Mlp(config) => network_name(config),
            Self::Net { name, .. } => name.clone(),
        }
    }

    /// Input width.
    pub fn input(&self) -> usize {
        match self {
            Self::Mlp(config) => config.input,
            Self::Net { config, .. } => config.input,
        }
    }

    /// Output width.
    pub fn output(&self) -> usize {
        match self {
            Self::Mlp(config) => config.output,
            Self::Net { config, .. } => config.output().unwrap_or(0),
        }
    }

    /// The layers, as the one configuration every network has (an MLP's: each hidden layer
    /// a dense layer and its activation).
    pub fn net_config(&self) -> NetConfig {
        match self {
            Self::Mlp(config) => config.to_net_config(),
            Self::Net { config, .. } => config.clone(),
        }
    }

    /// `(fan_in, fan_out)` of every dense layer, in order (branches included).
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        match self {
            Self::Mlp(config) => config.layer_shapes(),
            Self::Net { config, .. } => config.dense_shapes(),
        }
    }

    /// Bytes to train it in f32 on batches of `rows`: parameters with gradients and
    /// optimizer state, and three buffers of every layer's width per sample (four for a
    /// [`nn::net::Net`], whose normalization and residual layers keep one more).
    pub fn training_bytes(&self, rows: usize) -> Option<u64> {
        match self {
            Self::Mlp(config) => crate::memory::training_bytes(&config.widths(), rows, 4),
            Self::Net { config, .. } => {
                let params = config
                    .dense_shapes()
                    .iter()
                    .try_fold(0_u64, |sum, &(i, o)| {
                        sum.checked_add(((i as u64) + 1) * o as u64)
                    })?;
                let units = config
                    .layer_widths()
                    .iter()
                    .try_fold(config.input as u64, |sum, &w| sum.checked_add(w as u64))?;
                params
                    .checked_mul(4)?
                    .checked_add(units.checked_mul(rows as u64)?.checked_mul(4)?)?
                    .checked_mul(4)
            }
        }
    }
}

/// A network's name from its layer widths.
pub fn network_name(arch: &MlpConfig) -> String {
    let mut widths = vec![arch.input];
    widths.extend(&arch.hidden);
    widths.push(arch.output);
    let same = widths.len() > 4 && widths[1..widths.len() - 1].iter().all(|&w| w == widths[1]);
    if same {
        format!(
            "{} -> {} x {} -> {}",
            arch.input,
            arch.hidden.len(),
            widths[1],
            arch.output
        )
    } else {
        widths
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("-")
    }
}
