//! Data-parallel mini-batch training with bitwise-reproducible results.
//!
//! # Parallelism, decided here
//! Each mini-batch is cut into shards of at most [`SHARD_ROWS`] samples, so the shard count
//! depends on the batch size alone. Rayon workers run forward and backward on whole shards
//! with single-threaded BLAS (OpenBLAS's own threads spin-wait and collapse when another
//! process holds a core), each in its own preallocated workspace. Shard gradients are then
//! summed element by element in shard order. Nothing depends on which thread ran what, so
//! 1, 2 or 4 threads give bitwise-identical weights.

use core_math::SingleThreadedBlas;
use ndarray::{ArrayView2, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::loss::ShardTargets;
use crate::workspace::{Gradients, Workspace};
use crate::{Loss, Mlp, NnError, Optimizer, Real, Schedule, Targets};

/// Samples per shard: the unit of parallel work. 64 rows keep GEMM near its single-thread
/// peak while a batch of 128 still splits in two.
pub const SHARD_ROWS: usize = 64;

/// Elements per chunk when summing shard gradients in parallel.
const REDUCE_CHUNK: usize = 1 << 14;

/// How to train: loss, optimizer, schedule, batch size, epochs and the shuffling seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The objective.
    pub loss: Loss,
    /// The update rule.
    pub optimizer: Optimizer,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Samples per mini-batch, >= 1.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
}

impl TrainConfig {
    /// Batch 128, one epoch, constant schedule, seed 0.
    pub fn new(loss: Loss, optimizer: Optimizer) -> Self {
        Self {
            loss,
            optimizer,
            schedule: Schedule::Constant,
            batch_size: 128,
            epochs: 1,
            seed: 0,
        }
    }

    /// Sets the batch size.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the number of epochs.
    #[must_use]
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the shuffling seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the learning-rate schedule.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.batch_size == 0 {
            return Err(NnError::Config {
                field: "batch_size",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        self.optimizer.validate()?;
        self.schedule.validate()
    }

    /// Shards a batch of `batch_size` samples is cut into.
    pub fn shards(&self) -> usize {
        self.batch_size.div_ceil(SHARD_ROWS)
    }
}

/// Something that happened during training, for progress bars and metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// One optimizer step finished.
    Step {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based step since training started.
        step: u64,
        /// The mini-batch's mean loss before the update.
        loss: f64,
    },
    /// An epoch finished.
    EpochEnd {
        /// 0-based epoch.
        epoch: usize,
        /// Mean of the epoch's mini-batch losses, weighted by batch size.
        mean_loss: f64,
    },
}

/// How training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Every epoch ran.
    Completed,
    /// A loss or gradient became NaN or infinite at this step; no update was applied from
    /// it and training stopped.
    Diverged {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based step since training started.
        step: u64,
    },
}

/// What a training run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Mean training loss of each completed epoch.
    pub epoch_losses: Vec<f64>,
    /// Optimizer steps taken.
    pub steps: u64,
    /// How it ended.
    pub status: Status,
}

/// One shard's buffers.
#[derive(Debug)]
struct Shard<T> {
    inputs: ndarray::Array2<T>,
    labels: Vec<usize>,
    values: ndarray::Array2<T>,
    workspace: Workspace<T>,
    grads: Gradients<T>,
    loss: f64,
}

/// Trains one [`Mlp`]; owns every buffer a step needs, so steps allocate nothing.
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    shards: Vec<Shard<T>>,
    /// Optimizer state per parameter tensor (weights and biases layer by layer).
    state: Vec<[Vec<T>; 2]>,
    order: Vec<usize>,
    step: u64,
}

impl<T: Real> Trainer<T> {
    /// Allocates the workspaces and optimizer state for `mlp`.
    ///
    /// # Errors
    /// A bad training configuration.
    pub fn new(mlp: &Mlp<T>, config: TrainConfig) -> Result<Self, NnError> {
        config.validate()?;
        let rows = SHARD_ROWS.min(config.batch_size);
        let (outputs, inputs) = (mlp.config().output, mlp.config().input);
        let shards = (0..config.shards())
            .map(|_| Shard {
                inputs: ndarray::Array2::zeros((rows, inputs)),
                labels: vec![0; rows],
                values: ndarray::Array2::zeros((rows, outputs)),
                workspace: Workspace::new(mlp, rows),
                grads: Gradients::new(mlp),
                loss: 0.0,
            })
            .collect();
        let buffers = config.optimizer.state_buffers();
        let state = mlp
            .layers()
            .iter()
            .flat_map(|l| [l.weight.len(), l.bias.len()])
            .map(|len| {
                std::array::from_fn(|i| {
                    if i < buffers {
                        vec![T::zero(); len]
                    } else {
                        Vec::new()
                    }
                })
            })
            .collect();
        Ok(Self {
            config,
            shards,
            state,
            order: Vec::new(),
            step: 0,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Trains `mlp` on the data for the configured epochs, calling `on_event` after every
    /// step and epoch (with the network as it is then, e.g. to evaluate it).
    ///
    /// # Errors
    /// Data the network cannot use (see [`NnError`]); divergence is not an error but a
    /// [`Status::Diverged`] in the history.
    pub fn train(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        mut on_event: impl FnMut(&Event, &Mlp<T>),
    ) -> Result<History, NnError> {
        crate::data::validate(mlp, inputs, targets)?;
        let _single_threaded_blas = SingleThreadedBlas::new();
        self.order = (0..inputs.nrows()).collect();
        let mut history = History {
            epoch_losses: Vec::new(),
            steps: 0,
            status: Status::Completed,
        };
        for epoch in 0..self.config.epochs {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.config.seed);
            rng.set_stream(epoch as u64);
            self.order.shuffle(&mut rng);
            let mut weighted = 0.0;
            for start in (0..self.order.len()).step_by(self.config.batch_size) {
                let end = (start + self.config.batch_size).min(self.order.len());
                let loss = self.step(mlp, inputs, targets, start..end);
                let step = self.step - 1;
                history.steps += 1;
                let Some(loss) = loss else {
                    self.step -= 1;
                    history.status = Status::Diverged { epoch, step };
                    return Ok(history);
                };
                weighted += loss * (end - start) as f64;
                on_event(&Event::Step { epoch, step, loss }, mlp);
            }
            let mean_loss = weighted / self.order.len() as f64;
            history.epoch_losses.push(mean_loss);
            on_event(&Event::EpochEnd { epoch, mean_loss }, mlp);
        }
        Ok(history)
    }

    /// One optimizer step on exactly these samples, in order (no shuffling): for
    /// benchmarks and custom loops. Returns the batch's mean loss, or `None` if the loss or
    /// a gradient was not finite (then nothing was updated).
    ///
    /// # Errors
    /// Data the network cannot use, or more rows than the configured batch size.
    pub fn train_batch(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> Result<Option<f64>, NnError> {
        crate::data::validate(mlp, inputs, targets)?;
        if inputs.nrows() > self.config.batch_size {
            return Err(NnError::Config {
                field: "batch rows",
                value: inputs.nrows().to_string(),
                expected: "at most the configured batch_size",
            });
        }
        if self.order.len() != inputs.nrows() || self.order.iter().enumerate().any(|(i, &o)| i != o)
        {
            self.order = (0..inputs.nrows()).collect();
        }
        let _single_threaded_blas = SingleThreadedBlas::new();
        let loss = self.step(mlp, inputs, targets, 0..inputs.nrows());
        if loss.is_none() {
            self.step -= 1;
        }
        Ok(loss)
    }

    /// One optimizer step on the samples `self.order[range]`; `None` if the loss or a
    /// gradient is not finite (then the weights are left untouched).
    fn step(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        range: std::ops::Range<usize>,
    ) -> Option<f64> {
        self.step += 1;
        let batch = &self.order[range];
        let active = batch.len().div_ceil(SHARD_ROWS);
        let scale = T::of(1.0 / batch.len() as f64);
        let loss_fn = self.config.loss;
        let model: &Mlp<T> = mlp;
        self.shards[..active]
            .par_iter_mut()
            .zip(batch.par_chunks(SHARD_ROWS))
            .for_each(|(shard, rows)| {
                shard.run(model, loss_fn, inputs, targets, rows, scale);
            });
        let loss: f64 = self.shards[..active].iter().map(|s| s.loss).sum();
        let (first, rest) = self.shards.split_at_mut(1);
        let grads = &mut first[0].grads;
        let others = &rest[..active - 1];
        let mut finite = loss.is_finite();
        for l in 0..grads.dw.len() {
            finite &= reduce(
                grads.dw[l].as_slice_mut().expect("C-order"),
                others
                    .iter()
                    .map(|s| s.grads.dw[l].as_slice().expect("C-order")),
            );
            finite &= reduce(
                grads.db[l].as_slice_mut().expect("C-order"),
                others
                    .iter()
                    .map(|s| s.grads.db[l].as_slice().expect("C-order")),
            );
        }
        if !finite {
            return None;
        }
        let lr = self.config.optimizer.lr() * self.config.schedule.factor(self.step - 1);
        let optimizer = self.config.optimizer;
        let t = self.step;
        for (l, layer) in mlp.layers_mut().iter_mut().enumerate() {
            let params = [
                layer.weight.as_slice_mut().expect("C-order"),
                layer.bias.as_slice_mut().expect("C-order"),
            ];
            let grad = [
                grads.dw[l].as_slice().expect("C-order"),
                grads.db[l].as_slice().expect("C-order"),
            ];
            for ((w, g), state) in params
                .into_iter()
                .zip(grad)
                .zip(&mut self.state[2 * l..2 * l + 2])
            {
                let [first, second] = state;
                optimizer.update(t, lr, w, g, first, second);
            }
        }
        Some(loss)
    }
}

impl<T: Real> Shard<T> {
    /// Gathers this shard's samples, runs forward, loss and backward into its buffers.
    fn run(
        &mut self,
        mlp: &Mlp<T>,
        loss: Loss,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        rows: &[usize],
        scale: T,
    ) {
        let n = rows.len();
        for (mut dst, &row) in self.inputs.axis_iter_mut(Axis(0)).zip(rows) {
            dst.assign(&inputs.row(row));
        }
        let shard_targets = match targets {
            Targets::Classes(labels) => {
                for (dst, &row) in self.labels.iter_mut().zip(rows) {
                    *dst = labels[row];
                }
                ShardTargets::Classes(&self.labels[..n])
            }
            Targets::Values(values) => {
                for (mut dst, &row) in self.values.axis_iter_mut(Axis(0)).zip(rows) {
                    dst.assign(&values.row(row));
                }
                ShardTargets::Values(self.values.slice(s![..n, ..]))
            }
        };
        let x = self.inputs.slice(s![..n, ..]);
        mlp.forward(x, &mut self.workspace);
        let last = self.workspace.pre.len() - 1;
        let logits = self.workspace.pre[last].slice(s![..n, ..]);
        let grad = self.workspace.grad[last].slice_mut(s![..n, ..]);
        self.loss = loss.forward_backward(logits, shard_targets, scale, grad);
        mlp.backward(x, &mut self.workspace, &mut self.grads);
    }
}

/// `total[i] += sum over others of other[i]`, in order, in parallel chunks; returns whether
/// every summed value is finite.
fn reduce<'a, T: Real>(
    total: &mut [T],
    others: impl Iterator<Item = &'a [T]> + Clone + Sync + Send,
) -> bool {
    total
        .par_chunks_mut(REDUCE_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let offset = c * REDUCE_CHUNK;
            for other in others.clone() {
                for (t, &o) in chunk.iter_mut().zip(&other[offset..]) {
                    *t = *t + o;
                }
            }
            crate::finite::all_finite(chunk)
        })
        .reduce(|| true, |a, b| a && b)
}
