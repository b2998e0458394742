//! A network to train or time: its layers, as the one [`NetConfig`] every network has, and
//! its name in reports.

use initlab_nn::MlpConfig;
use initlab_nn::net::{LayerSpec, NetConfig};

use crate::experiment::spec::Arch;

/// A network's description and its name in reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The layers.
    pub config: NetConfig,
    /// `784-512-512-10`, `784 -> 20 x 256 -> 10` or `784 -> relu 20 blocks of 2x256 pre
    /// -> 10`.
    pub name: String,
}

impl Network {
    /// A plain MLP, named by its widths (see [`network_name`]).
    pub fn mlp(config: &MlpConfig) -> Self {
        Self {
            config: config.to_net_config(),
            name: network_name(config),
        }
    }

    /// A network with normalization or residual blocks, named after `arch`.
    pub(crate) fn net(config: NetConfig, arch: &Arch, input: usize, output: usize) -> Self {
        Self {
            config,
            name: format!("{input} -> {} -> {output}", arch.label()),
        }
    }

    /// Input width.
    pub fn input(&self) -> usize {
        self.config.input
    }

    /// Output width.
    pub fn output(&self) -> usize {
        self.config.output().unwrap_or(0)
    }

    /// `(fan_in, fan_out)` of every dense layer, in order (branches included).
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        self.config.dense_shapes()
    }

    /// Rows its evaluation over `test` rows holds at once: all of them for a plain stack
    /// (its passes run in one piece), else [`NetConfig::evaluation_rows`]' chunks.
    pub fn evaluation_rows(&self, test: usize) -> usize {
        match plain_widths(&self.config) {
            Some(_) => test,
            None => self.config.evaluation_rows().min(test),
        }
    }

    /// Bytes to train it in f32 on batches of `rows`: parameters with gradients and
    /// optimizer state, and per sample the buffers of every layer's width the trainer
    /// keeps: three per unit of a plain stack (which trains in row chunks, each activation
    /// folded into its dense layer's backward pass), four per unit of every layer of any
    /// other net, whose normalization and residual layers keep their own, and the
    /// convolutions' scratch on rayon's threads.
    pub fn training_bytes(&self, rows: usize) -> Option<u64> {
        if let Some(widths) = plain_widths(&self.config) {
            return crate::memory::training_bytes(&widths, rows, 4);
        }
        let config = &self.config;
        let params = config.parameter_count()? as u64;
        let units = config
            .layer_widths()
            .iter()
            .try_fold(config.input as u64, |sum, &w| sum.checked_add(w as u64))?;
        let scratch = config.scratch_values(rows, rayon::current_num_threads())? as u64;
        params
            .checked_mul(4)?
            .checked_add(units.checked_mul(rows as u64)?.checked_mul(4)?)?
            .checked_add(scratch)?
            .checked_mul(4)
    }
}

/// The widths of a plain stack (`dense → activation → … → dense`), input first; `None`
/// for any other network.
fn plain_widths(config: &NetConfig) -> Option<Vec<usize>> {
    let (last, hidden) = config.layers.split_last()?;
    let LayerSpec::Dense { width: output } = *last else {
        return None;
    };
    let mut widths = vec![config.input];
    for pair in hidden.chunks(2) {
        match pair {
            [LayerSpec::Dense { width }, LayerSpec::Activation { .. }] => widths.push(*width),
            _ => return None,
        }
    }
    widths.push(output);
    Some(widths)
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
