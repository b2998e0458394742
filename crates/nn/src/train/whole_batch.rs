//! The general engine: each mini-batch forward and backward as a whole (BatchNorm needs
//! the whole batch's statistics), parallel inside each layer in blocks of fixed size, so
//! 1, 2 or 4 threads give bitwise-identical weights.

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

use super::Step;
use super::gather::gather;
use super::update::update_blocks;
use super::{LrScale, TrainConfig};
use crate::net::{Net, NetConfig};
use crate::workspace::Workspace;
use crate::{NnError, Real, Targets};

/// Parameters per task of the optimizer update.
const UPDATE_BLOCK: usize = 1 << 14;

/// A run of parameters trained at one learning-rate multiplier.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Group {
    end: usize,
    scale: f64,
}

/// Everything a general network's steps need; the step buffers follow on first use.
#[derive(Debug)]
pub(crate) struct WholeBatch<T> {
    inputs: Array2<T>,
    labels: Vec<usize>,
    values: Array2<T>,
    workspace: Option<Workspace<T>>,
    grads: Vec<T>,
    state: [Vec<T>; 2],
    /// The parameters by learning-rate multiplier, in order; empty when every multiplier
    /// is 1.
    groups: Vec<Group>,
    /// The configuration of the network this engine was built for.
    net: NetConfig,
}

impl<T: Real> WholeBatch<T> {
    /// The optimizer state of `net`.
    ///
    /// # Errors
    /// `lr_scales` of another length than the net's dense layers.
    pub(crate) fn new(net: &Net<T>, config: &TrainConfig) -> Result<Self, NnError> {
        Ok(Self {
            state: config.optimizer_state(net.parameter_count()),
            groups: groups(net, &config.lr_scales)?,
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
            values: Array2::zeros((0, 0)),
            workspace: None,
            grads: vec![T::zero(); net.parameter_count()],
            net: net.config().clone(),
        })
    }

    /// Whether `net` is the network this engine was built for.
    pub(crate) fn fits(&self, net: &Net<T>) -> bool {
        *net.config() == self.net && net.parameter_count() == self.grads.len()
    }

    /// Makes sure the step buffers hold `rows` samples.
    pub(crate) fn reserve(&mut self, net: &Net<T>, rows: usize) {
        if self.inputs.nrows() < rows {
            self.inputs = Array2::zeros((rows, net.config().input));
            self.labels = vec![0; rows];
            self.values = Array2::zeros((rows, net.output()));
            self.workspace = Some(Workspace::for_net(net, rows));
        }
    }

    /// One optimizer step on the samples `batch`, the `t`-th (1-based) at learning rate `lr`;
    /// `None` if the loss or a gradient is not finite (then nothing was updated).
    pub(crate) fn step(
        &mut self,
        net: &mut Net<T>,
        step: Step<'_>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> Option<f64> {
        let Step {
            config,
            t,
            lr,
            batch,
        } = step;
        let n = batch.len();
        let targets = gather(
            &mut self.inputs,
            &mut self.labels,
            &mut self.values,
            inputs,
            targets,
            batch,
        );
        let x = self.inputs.slice(s![..n, ..]);
        let workspace = self.workspace.as_mut().expect("reserved");
        let loss = net.train_pass(x, targets, config.loss, workspace, &mut self.grads);
        let finite = || {
            self.grads
                .par_chunks(UPDATE_BLOCK)
                .all(crate::finite::all_finite)
        };
        if !(loss.is_finite() && finite()) {
            return None;
        }
        net.update_running(workspace, n);
        let update = |lr: f64, params: &mut [T], grads: &[T], state: [&mut [T]; 2]| {
            update_blocks(
                config.optimizer,
                t,
                lr,
                params,
                |b| &grads[b * UPDATE_BLOCK..((b + 1) * UPDATE_BLOCK).min(grads.len())],
                state,
                UPDATE_BLOCK,
            );
        };
        let [first, second] = self.state.each_mut().map(Vec::as_mut_slice);
        if self.groups.is_empty() {
            update(lr, net.parameters_mut(), &self.grads, [first, second]);
            return Some(loss);
        }
        // Group by group, each with its own slices of the parameters, gradients and state.
        let (mut params, mut grads) = (net.parameters_mut(), &self.grads[..]);
        let mut state = [first, second];
        let mut start = 0;
        for group in &self.groups {
            let len = group.end - start;
            let (p, rest) = std::mem::take(&mut params).split_at_mut(len);
            params = rest;
            let (g, rest) = grads.split_at(len);
            grads = rest;
            let here = state.each_mut().map(|s| {
                let buffer = std::mem::take(s);
                if buffer.is_empty() {
                    buffer
                } else {
                    let (here, rest) = buffer.split_at_mut(len);
                    *s = rest;
                    here
                }
            });
            update(lr * group.scale, p, g, here);
            start = group.end;
        }
        Some(loss)
    }
}

/// The parameters of `net` in runs of one learning-rate multiplier: each dense layer's
/// weight and bias at its `lr_scales` entry (in the order a forward pass meets them), every
/// other tensor (normalization gains and biases, residual multipliers) at 1. Empty when
/// `lr_scales` is.
fn groups<T: Real>(net: &Net<T>, lr_scales: &[LrScale]) -> Result<Vec<Group>, NnError> {
    if lr_scales.is_empty() {
        return Ok(Vec::new());
    }
    let dense = net.dense_parameter_offsets();
    if lr_scales.len() != dense.len() {
        return Err(NnError::Config {
            field: "lr_scales",
            value: format!(
                "{} multipliers for {} dense layers",
                lr_scales.len(),
                dense.len()
            ),
            expected: "one per dense layer, output layer included (or none)",
        });
    }
    let mut groups: Vec<Group> = Vec::new();
    for tensor in net.tensors() {
        let scale = dense
            .iter()
            .zip(lr_scales)
            .find_map(|(&(weight, bias), s)| {
                (tensor.offset == weight)
                    .then_some(s.weight)
                    .or((tensor.offset == bias).then_some(s.bias))
            })
            .unwrap_or(1.0);
        let end = tensor.offset + tensor.len();
        match groups.last_mut() {
            Some(last) if last.scale == scale => last.end = end,
            _ => groups.push(Group { end, scale }),
        }
    }
    Ok(groups)
}
