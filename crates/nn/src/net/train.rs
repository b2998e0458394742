//! Training a [`Net`]: each mini-batch in one pass, parallel inside its layers.

use core_math::SingleThreadedBlas;
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

use super::{Net, Workspace};
use crate::train::gather::gather;
use crate::train::run::{epochs, on_worker};
use crate::train::update::update_blocks;
use crate::{Event, History, TrainConfig};
use crate::{NnError, Real, Targets};

/// Parameters per task of the optimizer update.
const UPDATE_BLOCK: usize = 1 << 14;

/// Trains one [`Net`] with a [`TrainConfig`]: shuffled mini-batches, each run forward and
/// backward as a whole (BatchNorm needs the whole batch's statistics), parallel inside
/// each layer in blocks of fixed size, so 1, 2 or 4 threads give bitwise-identical
/// weights. Owns every buffer a step needs.
#[derive(Debug)]
pub struct NetTrainer<T> {
    config: TrainConfig,
    inputs: Array2<T>,
    labels: Vec<usize>,
    values: Array2<T>,
    workspace: Option<Workspace<T>>,
    grads: Vec<T>,
    state: [Vec<T>; 2],
    order: Vec<usize>,
    step: u64,
    /// The configuration of the network this trainer was built for.
    net: super::NetConfig,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

impl<T: Real> NetTrainer<T> {
    /// Allocates the optimizer state for `net`; the step buffers follow on first use.
    ///
    /// # Errors
    /// A bad training configuration.
    pub fn new(net: &Net<T>, config: TrainConfig) -> Result<Self, NnError> {
        config.validate()?;
        if !config.lr_scales.is_empty() {
            return Err(NnError::Config {
                field: "lr_scales",
                value: format!("{} multipliers", config.lr_scales.len()),
                expected: "none: per-layer learning rates train an Mlp (see nn::mup)",
            });
        }
        Ok(Self {
            pool: config.pool()?,
            state: config.optimizer_state(net.parameter_count()),
            config,
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
            values: Array2::zeros((0, 0)),
            workspace: None,
            grads: vec![T::zero(); net.parameter_count()],
            order: Vec::new(),
            step: 0,
            net: net.config().clone(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    fn prepare(
        &mut self,
        net: &Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> Result<(), NnError> {
        crate::data::validate(net.io(), inputs, targets)?;
        if *net.config() != self.net || net.parameter_count() != self.grads.len() {
            return Err(NnError::Config {
                field: "net",
                value: "a different network".into(),
                expected: "the network this NetTrainer was built for (build one per network)",
            });
        }
        self.config.loss.check_targets(targets)?;
        let rows = self.config.batch_size.min(inputs.nrows());
        if self.inputs.nrows() < rows {
            self.inputs = Array2::zeros((rows, inputs.ncols()));
            self.labels = vec![0; rows];
            self.values = Array2::zeros((rows, net.output()));
            self.workspace = Some(Workspace::new(net, rows));
        }
        Ok(())
    }

    /// Trains `net` for the configured epochs, calling `on_event` after every step and
    /// epoch, as [`Trainer::train`](crate::Trainer::train) does.
    ///
    /// # Errors
    /// Data the network cannot use; divergence is a [`Status::Diverged`](crate::Status)
    /// in the history.
    pub fn train(
        &mut self,
        net: &mut Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        mut on_event: impl FnMut(&Event, &Net<T>) + Send,
    ) -> Result<History, NnError> {
        self.prepare(net, inputs, targets)?;
        let _single_threaded_blas = SingleThreadedBlas::new();
        let mut order: Vec<usize> = (0..inputs.nrows()).collect();
        let config = self.config.clone();
        let history = on_worker(self.pool.clone(), || {
            epochs(
                &config,
                &mut order,
                net,
                |net, batch| (self.step, self.step(net, inputs, targets, batch)),
                &mut on_event,
            )
        });
        self.order = order;
        Ok(history)
    }

    /// One optimizer step on exactly these samples, in order: the batch's mean loss, or
    /// `None` if the loss or a gradient was not finite (then nothing was updated).
    ///
    /// # Errors
    /// Data the network cannot use, or more rows than the configured batch size.
    pub fn train_batch(
        &mut self,
        net: &mut Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> Result<Option<f64>, NnError> {
        if inputs.nrows() > self.config.batch_size {
            return Err(NnError::Config {
                field: "batch rows",
                value: inputs.nrows().to_string(),
                expected: "at most the configured batch_size",
            });
        }
        self.prepare(net, inputs, targets)?;
        if self.order.len() != inputs.nrows() || self.order.iter().enumerate().any(|(i, &o)| i != o)
        {
            self.order = (0..inputs.nrows()).collect();
        }
        let _single_threaded_blas = SingleThreadedBlas::new();
        let order = std::mem::take(&mut self.order);
        let loss = on_worker(self.pool.clone(), || {
            self.step(net, inputs, targets, &order)
        });
        self.order = order;
        Ok(loss)
    }

    fn step(
        &mut self,
        net: &mut Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        batch: &[usize],
    ) -> Option<f64> {
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
        let workspace = self.workspace.as_mut().expect("prepared");
        let loss = net.train_pass(x, targets, self.config.loss, workspace, &mut self.grads);
        let finite = || {
            self.grads
                .par_chunks(UPDATE_BLOCK)
                .all(crate::finite::all_finite)
        };
        if !(loss.is_finite() && finite()) {
            return None;
        }
        net.update_running(workspace, n);
        let lr = self.config.optimizer.lr() * self.config.schedule.factor(self.step);
        self.step += 1;
        let grads = &self.grads;
        update_blocks(
            self.config.optimizer,
            self.step,
            lr,
            net.parameters_mut(),
            |b| &grads[b * UPDATE_BLOCK..((b + 1) * UPDATE_BLOCK).min(grads.len())],
            &mut self.state,
            UPDATE_BLOCK,
        );
        Some(loss)
    }
}
