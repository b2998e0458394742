//! Data-parallel mini-batch training with bitwise-reproducible results.
//!
//! # Parallelism, decided here
//! Each mini-batch is cut into shards of at most [`SHARD_ROWS`] samples, so the shard count
//! depends on the batch size alone. Rayon runs the shards in parallel, each in its own
//! preallocated workspace, with single-threaded BLAS (OpenBLAS's own threads spin-wait and
//! collapse when another process holds a core). Inside a shard, every layer's forward
//! product and input gradient is cut into fixed blocks of [`UNIT_BLOCK`] units that rayon
//! may also run in parallel: a batch of 128 is one shard, and its layers are what two
//! threads share. Whole-batch GEMMs pack each weight matrix once per step instead of once
//! per shard: 5-8% faster on one thread than 64-row shards in paired runs, no slower on two.
//! Under BLAS the blocks stay the same on one thread, although one GEMM per layer there was
//! 2-7% faster on the 784 -> 20 x 256 -> 10 network in paired runs (it packs each layer's
//! input once, not once per block): OpenBLAS does not round a product cut into column
//! blocks as it rounds the whole (its Haswell kernels differ at 72 x 8 x 256, its SkylakeX
//! ones at 1 x 2000 x 512), so the thread count would change the weights. core-math's
//! packed kernel (feature `packed-gemm`) does, so with it one thread runs whole layers.
//!
//! Weight gradients are then computed in fixed blocks of [`GRAD_ROWS`] output units: one
//! task sums `delta_s^T x_s` over the shards in shard order (GEMM with `beta = 1` after the
//! first), checks the block for NaN, and later applies the optimizer to it. No per-shard
//! weight-gradient copies exist and none are reduced, and nothing depends on which thread
//! ran what: 1, 2 or 4 threads give bitwise-identical weights.

use core_math::SingleThreadedBlas;
use ndarray::{ArrayView2, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::workspace::Workspace;
use crate::{Loss, Mlp, NnError, Optimizer, Real, Schedule, Targets};

/// Samples per shard. 128 rows amortize packing each weight matrix in GEMM; smaller shards
/// would add parallel work but pack every weight matrix once more per shard.
pub const SHARD_ROWS: usize = 128;

/// Units per block of a layer's forward product or input gradient inside a shard: the
/// unit of parallel work within a layer. A 256-unit layer still splits in two.
pub const UNIT_BLOCK: usize = 128;

/// Samples per task when a shard gathers its rows from the data set.
const GATHER_ROWS: usize = 32;

/// Output units per weight-gradient block: the unit of parallel work after the shards.
/// Large enough for efficient GEMMs, small enough that a 512-unit layer splits in two.
pub const GRAD_ROWS: usize = 256;

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
    /// Where the steps run. The results are the same bits either way.
    #[serde(default)]
    pub parallelism: Parallelism,
    /// Per-layer multipliers of the learning rate: layer `l`'s weights train at
    /// `lr · lr_scales[l].weight` and its biases at `lr · lr_scales[l].bias` (as parameter
    /// groups do in PyTorch; [`crate::mup`] derives them). Empty: 1 everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lr_scales: Vec<LrScale>,
}

/// The learning-rate multipliers of one layer's weights and biases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrScale {
    /// For the weights.
    pub weight: f64,
    /// For the biases.
    pub bias: f64,
}

impl LrScale {
    /// Both 1: the configured learning rate.
    pub const ONE: Self = Self {
        weight: 1.0,
        bias: 1.0,
    };
}

/// Where a [`Trainer`]'s steps run: an argument, like faer's `Par`, rather than whatever
/// pool happens to be current. BLAS inside the steps is single-threaded either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parallelism {
    /// The rayon pool the caller runs in (the global pool from a plain thread).
    #[default]
    Current,
    /// A pool of this many threads that the trainer owns, built with it.
    Threads(std::num::NonZeroUsize),
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
            parallelism: Parallelism::Current,
            lr_scales: Vec::new(),
        }
    }

    /// Sets per-layer learning-rate multipliers (one per layer, output layer included).
    #[must_use]
    pub fn with_lr_scales(mut self, lr_scales: Vec<LrScale>) -> Self {
        self.lr_scales = lr_scales;
        self
    }

    /// Sets where the steps run.
    #[must_use]
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
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
        if let Some(bad) = self
            .lr_scales
            .iter()
            .flat_map(|s| [s.weight, s.bias])
            .find(|m| !(m.is_finite() && *m >= 0.0))
        {
            return Err(NnError::Config {
                field: "lr_scales",
                value: bad.to_string(),
                expected: "finite multipliers >= 0",
            });
        }
        self.schedule.validate()
    }

    /// The pool of [`Parallelism::Threads`], built.
    pub(crate) fn pool(&self) -> Result<Option<std::sync::Arc<rayon::ThreadPool>>, NnError> {
        let Parallelism::Threads(threads) = self.parallelism else {
            return Ok(None);
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.get())
            .build()
            .map(|pool| Some(std::sync::Arc::new(pool)))
            .map_err(|e| NnError::Config {
                field: "parallelism",
                value: format!("{threads} threads ({e})"),
                expected: "a thread count the system can start",
            })
    }

    /// Optimizer state for `len` parameters: as many buffers as the optimizer keeps, the
    /// others empty.
    pub(crate) fn optimizer_state<T: Real>(&self, len: usize) -> [Vec<T>; 2] {
        let buffers = self.optimizer.state_buffers();
        std::array::from_fn(|i| {
            if i < buffers {
                vec![T::zero(); len]
            } else {
                Vec::new()
            }
        })
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
    /// Samples in this step (the last batch of an epoch may leave a shard short or empty).
    rows: usize,
    loss: f64,
}

/// Trains one [`Mlp`]; owns every buffer a step needs, so steps allocate nothing.
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    shards: Vec<Shard<T>>,
    /// Weight-gradient blocks, ordered so that recursive halving splits the work evenly.
    blocks: Vec<GradBlock<T>>,
    /// For each layer, the indices into `blocks` of its blocks, in unit order.
    layer_blocks: Vec<Vec<usize>>,
    /// Optimizer state per parameter tensor (weights and biases layer by layer).
    state: Vec<[Vec<T>; 2]>,
    order: Vec<usize>,
    step: u64,
    /// `(fan_in, fan_out)` of every layer of the network this trainer was built for: its
    /// blocks and optimizer state fit that network only.
    shapes: Vec<(usize, usize)>,
    /// The owned pool of [`Parallelism::Threads`].
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

impl<T: Real> Trainer<T> {
    /// Allocates the workspaces and optimizer state for `mlp`.
    ///
    /// # Errors
    /// A bad training configuration.
    pub fn new(mlp: &Mlp<T>, config: TrainConfig) -> Result<Self, NnError> {
        config.validate()?;
        if !config.lr_scales.is_empty() && config.lr_scales.len() != mlp.layers().len() {
            return Err(NnError::Config {
                field: "lr_scales",
                value: format!(
                    "{} multipliers for {} layers",
                    config.lr_scales.len(),
                    mlp.layers().len()
                ),
                expected: "one per layer, output layer included (or none)",
            });
        }
        let pool = config.pool()?;
        let state = mlp
            .layers()
            .iter()
            .flat_map(|l| [l.weight.len(), l.bias.len()])
            .map(|len| config.optimizer_state(len))
            .collect();
        let (blocks, layer_blocks) = grad_blocks(mlp);
        Ok(Self {
            config,
            shards: Vec::new(),
            blocks,
            layer_blocks,
            state,
            order: Vec::new(),
            step: 0,
            shapes: mlp.config().layer_shapes(),
            pool,
        })
    }

    /// Makes sure there are shards for a batch of `rows` samples. They are allocated on
    /// first use, for the batch the data allows: a `batch_size` far past the data set
    /// costs what one equal to it does.
    fn reserve_shards(&mut self, mlp: &Mlp<T>, rows: usize) {
        let shard_rows = SHARD_ROWS.min(self.config.batch_size);
        let (outputs, inputs) = (mlp.config().output, mlp.config().input);
        while self.shards.len() < rows.div_ceil(SHARD_ROWS) {
            self.shards.push(Shard {
                inputs: ndarray::Array2::zeros((shard_rows, inputs)),
                labels: vec![0; shard_rows],
                values: ndarray::Array2::zeros((shard_rows, outputs)),
                workspace: Workspace::new(mlp, shard_rows),
                rows: 0,
                loss: 0.0,
            });
        }
    }

    /// Refuses a network other than the one this trainer was built for, and targets the
    /// loss cannot use.
    fn check(&self, mlp: &Mlp<T>, targets: Targets<'_, T>) -> Result<(), NnError> {
        let layers = mlp.layers();
        let same = layers.len() == self.shapes.len()
            && layers
                .iter()
                .zip(&self.shapes)
                .all(|(l, &(fan_in, fan_out))| l.weight.dim() == (fan_out, fan_in));
        if !same {
            return Err(NnError::Config {
                field: "mlp",
                value: format!("a network of layer widths {:?}", mlp.config().widths()),
                expected: "the network this Trainer was built for (build one Trainer per network)",
            });
        }
        self.config.loss.check_targets(targets)
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Trains `mlp` on the data for the configured epochs, calling `on_event` after every
    /// step and epoch (with the network as it is then, e.g. to evaluate it).
    ///
    /// Called from outside a rayon pool, the whole run moves onto a worker of the global
    /// pool once, so its steps neither hand over to the pool one by one nor allocate (the
    /// pool's injection queue allocates a block every 63 hand-offs); `on_event` then runs
    /// on that worker, hence `Send`.
    ///
    /// # Errors
    /// Data the network cannot use (see [`NnError`]); divergence is not an error but a
    /// [`Status::Diverged`] in the history.
    pub fn train(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        mut on_event: impl FnMut(&Event, &Mlp<T>) + Send,
    ) -> Result<History, NnError> {
        crate::data::validate(mlp.io(), inputs, targets)?;
        self.check(mlp, targets)?;
        let _single_threaded_blas = SingleThreadedBlas::new();
        self.reserve_shards(mlp, self.config.batch_size.min(inputs.nrows()));
        self.order = (0..inputs.nrows()).collect();
        let mut order = std::mem::take(&mut self.order);
        let config = self.config.clone();
        let history = on_worker(self.pool.clone(), || {
            epochs(
                &config,
                &mut order,
                mlp,
                |mlp, batch| (self.step, self.step(mlp, inputs, targets, batch)),
                &mut on_event,
            )
        });
        self.order = order;
        Ok(history)
    }

    /// One optimizer step on exactly these samples, in order (no shuffling): for
    /// benchmarks and custom loops. Returns the batch's mean loss, or `None` if the loss or
    /// a gradient was not finite (then nothing was updated).
    ///
    /// Called from a plain thread, each call hands over to the pool once, and the pool's
    /// injection queue allocates a block every 63 hand-offs; a loop that must not allocate
    /// runs inside the pool (`pool.install(|| for .. { trainer.train_batch(..) })`), as
    /// [`train`](Self::train) does by itself (both tested over 500 steps in
    /// `tests/no_allocation.rs`).
    ///
    /// # Errors
    /// Data the network cannot use, or more rows than the configured batch size.
    pub fn train_batch(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> Result<Option<f64>, NnError> {
        crate::data::validate(mlp.io(), inputs, targets)?;
        self.check(mlp, targets)?;
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
        self.reserve_shards(mlp, inputs.nrows());
        let _single_threaded_blas = SingleThreadedBlas::new();
        let order = std::mem::take(&mut self.order);
        let loss = match self.pool.clone() {
            Some(pool) => pool.install(|| self.step(mlp, inputs, targets, &order)),
            None => self.step(mlp, inputs, targets, &order),
        };
        self.order = order;
        Ok(loss)
    }

    /// One optimizer step on the samples `batch`; `None` if the loss or a
    /// gradient is not finite (then the weights are left untouched and the step is not
    /// counted).
    fn step(
        &mut self,
        mlp: &mut Mlp<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        batch: &[usize],
    ) -> Option<f64> {
        // On a worker of the current pool: its parallel phases then start there instead
        // of each being sent from outside and waited for, one hand-off per step instead of
        // one per layer.
        rayon::scope(|_| {
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
            let shards = &self.shards[..active];
            let loss: f64 = shards.iter().map(|s| s.loss).sum();
            let finite = loss.is_finite() && weight_gradients(shards, &mut self.blocks);
            if !finite {
                return None;
            }
            let lr = self.config.optimizer.lr() * self.config.schedule.factor(self.step);
            self.step += 1;
            let (optimizer, t) = (self.config.optimizer, self.step);
            let (blocks, layer_blocks) = (&self.blocks, &self.layer_blocks);
            let scales = &self.config.lr_scales;
            mlp.layers_mut()
                .par_iter_mut()
                .zip(self.state.par_chunks_mut(2))
                .enumerate()
                .for_each(|(l, (layer, state))| {
                    let [weight_state, bias_state] = state else {
                        unreachable!("two state entries per layer")
                    };
                    let fan_in = layer.weight.ncols();
                    let ids = &layer_blocks[l];
                    let scale = scales.get(l).copied().unwrap_or(LrScale::ONE);
                    let weight = layer.weight.as_slice_mut().expect("C-order");
                    update_blocks(
                        optimizer,
                        t,
                        lr * scale.weight,
                        weight,
                        |b| blocks[ids[b]].dw.as_slice().expect("C-order"),
                        weight_state,
                        GRAD_ROWS * fan_in,
                    );
                    let bias = layer.bias.as_slice_mut().expect("C-order");
                    update_blocks(
                        optimizer,
                        t,
                        lr * scale.bias,
                        bias,
                        |b| blocks[ids[b]].db.as_slice().expect("C-order"),
                        bias_state,
                        GRAD_ROWS,
                    );
                });
            Some(loss)
        })
    }
}

/// Runs `f` on a worker of `pool`, or of the current pool (the global one from a plain
/// thread), so that the parallel phases inside it start there: one hand-off to the pool
/// in all, instead of one per step.
pub(crate) fn on_worker<R: Send>(
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    f: impl FnOnce() -> R + Send,
) -> R {
    match pool {
        Some(pool) => pool.install(f),
        None if rayon::current_thread_index().is_some() => f(),
        None => rayon::scope(|_| f()),
    }
}

/// The epoch loop of a training run: shuffles `order` each epoch with the configured
/// seed, calls `step` on each mini-batch of sample indices (it returns the index of the
/// step it ran as, and the loss or `None` when it diverged), and reports each step and
/// epoch to `on_event`.
pub(crate) fn epochs<M>(
    config: &TrainConfig,
    order: &mut [usize],
    model: &mut M,
    mut step: impl FnMut(&mut M, &[usize]) -> (u64, Option<f64>),
    on_event: &mut (dyn FnMut(&Event, &M) + Send),
) -> History {
    let mut history = History {
        epoch_losses: Vec::new(),
        steps: 0,
        status: Status::Completed,
    };
    for epoch in 0..config.epochs {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(epoch as u64);
        order.shuffle(&mut rng);
        let mut weighted = 0.0;
        for batch in order.chunks(config.batch_size) {
            let (step, loss) = step(model, batch);
            let Some(loss) = loss else {
                history.status = Status::Diverged { epoch, step };
                return history;
            };
            history.steps += 1;
            weighted += loss * batch.len() as f64;
            on_event(&Event::Step { epoch, step, loss }, model);
        }
        let mean_loss = weighted / order.len() as f64;
        history.epoch_losses.push(mean_loss);
        on_event(&Event::EpochEnd { epoch, mean_loss }, model);
    }
    history
}

/// Applies the optimizer to `w` in blocks of `block` values, in parallel, block `b` taking
/// its gradient from `gradient(b)`; each block sees only its own slices, so the result is
/// independent of threads.
pub(crate) fn update_blocks<'g, T: Real>(
    optimizer: Optimizer,
    t: u64,
    lr: f64,
    w: &mut [T],
    gradient: impl Fn(usize) -> &'g [T] + Sync,
    state: &mut [Vec<T>; 2],
    block: usize,
) {
    let [first, second] = state;
    let first = (!first.is_empty()).then_some(first.as_mut_slice());
    let second = (!second.is_empty()).then_some(second.as_mut_slice());
    let blocks = w.par_chunks_mut(block).enumerate();
    match (first, second) {
        (None, _) => {
            blocks.for_each(|(b, w)| optimizer.update(t, lr, w, gradient(b), &mut [], &mut []))
        }
        (Some(first), None) => blocks
            .zip(first.par_chunks_mut(block))
            .for_each(|((b, w), m)| optimizer.update(t, lr, w, gradient(b), m, &mut [])),
        (Some(first), Some(second)) => blocks
            .zip(
                first
                    .par_chunks_mut(block)
                    .zip(second.par_chunks_mut(block)),
            )
            .for_each(|((b, w), (m, v))| optimizer.update(t, lr, w, gradient(b), m, v)),
    }
}

/// The weight and bias gradient of [`GRAD_ROWS`] output units of one layer.
#[derive(Debug)]
struct GradBlock<T> {
    layer: usize,
    units: std::ops::Range<usize>,
    dw: ndarray::Array2<T>,
    db: ndarray::Array1<T>,
}

/// Every layer's gradient cut into blocks of [`GRAD_ROWS`] units, ordered so that rayon's
/// recursive halving of the list gives every thread about the same GEMM work (a layer of
/// 784 inputs costs more per unit than one of 512), and each layer's block indices.
fn grad_blocks<T: Real>(mlp: &Mlp<T>) -> (Vec<GradBlock<T>>, Vec<Vec<usize>>) {
    let mut blocks = Vec::new();
    for (layer, dense) in mlp.layers().iter().enumerate() {
        let (units, fan_in) = dense.weight.dim();
        for start in (0..units).step_by(GRAD_ROWS) {
            let end = (start + GRAD_ROWS).min(units);
            blocks.push(GradBlock {
                layer,
                units: start..end,
                dw: ndarray::Array2::zeros((end - start, fan_in)),
                db: ndarray::Array1::zeros(end - start),
            });
        }
    }
    let costs: Vec<f64> = blocks.iter().map(|b| b.dw.len() as f64).collect();
    let order = balanced_order(&costs);
    let mut slots: Vec<Option<GradBlock<T>>> = blocks.into_iter().map(Some).collect();
    let blocks: Vec<GradBlock<T>> = order
        .iter()
        .map(|&i| slots[i].take().expect("each block once"))
        .collect();
    let mut layer_blocks = vec![Vec::new(); mlp.layers().len()];
    let mut by_unit: Vec<(usize, usize, usize)> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.layer, b.units.start, i))
        .collect();
    by_unit.sort_unstable();
    for (layer, _, index) in by_unit {
        layer_blocks[layer].push(index);
    }
    (blocks, layer_blocks)
}

/// An order of items with these costs in which every recursive halving of the list splits
/// the cost about evenly: largest first, each to the lighter half, then each half ordered
/// the same way.
fn balanced_order(costs: &[f64]) -> Vec<usize> {
    fn order(items: Vec<usize>, costs: &[f64]) -> Vec<usize> {
        if items.len() <= 2 {
            return items;
        }
        let mut sorted = items;
        sorted.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
        let (mut left, mut right) = (Vec::new(), Vec::new());
        let (mut left_cost, mut right_cost) = (0.0, 0.0);
        for i in sorted {
            // Halving puts the first len/2 items left: keep the halves' sizes matched too.
            if (left_cost <= right_cost && left.len() < costs.len()) || right.len() > left.len() + 1
            {
                left_cost += costs[i];
                left.push(i);
            } else {
                right_cost += costs[i];
                right.push(i);
            }
        }
        let mut out = order(left, costs);
        out.extend(order(right, costs));
        out
    }
    order((0..costs.len()).collect(), costs)
}

/// Every block's weight and bias gradient, `sum over shards of delta_s^T x_s`, one block
/// per task; returns whether every value is finite.
fn weight_gradients<T: Real>(shards: &[Shard<T>], blocks: &mut [GradBlock<T>]) -> bool {
    blocks
        .par_iter_mut()
        .with_max_len(1)
        .map(|block| {
            let (l, units) = (block.layer, block.units.clone());
            for (s, shard) in shards.iter().enumerate() {
                let n = shard.rows;
                let delta = shard.workspace.grad[l].slice(s![..n, units.clone()]);
                let input = if l == 0 {
                    shard.inputs.slice(s![..n, ..])
                } else {
                    shard.workspace.post[l - 1].slice(s![..n, ..])
                };
                let beta = if s == 0 { T::zero() } else { T::one() };
                core_math::gemm(
                    T::one(),
                    delta,
                    core_math::Op::Transpose,
                    input,
                    core_math::Op::Identity,
                    beta,
                    block.dw.view_mut(),
                )
                .expect("workspace shapes follow the network");
                let db = block.db.as_slice_mut().expect("C-order");
                if s == 0 {
                    db.fill(T::zero());
                }
                for row in delta.rows() {
                    // Slices, not ndarray iterators: this loop then vectorizes.
                    for (b, &d) in db.iter_mut().zip(row.as_slice().expect("unit stride")) {
                        *b = *b + d;
                    }
                }
            }
            crate::finite::all_finite(block.dw.as_slice().expect("C-order"))
                && crate::finite::all_finite(block.db.as_slice().expect("C-order"))
        })
        .reduce(|| true, |a, b| a && b)
}

/// Units per block of a layer's forward product and input gradient in this pool: whole
/// layers on one thread when the GEMM's bits do not depend on the blocks (core-math's packed
/// kernel), since one call packs each layer's input once; [`UNIT_BLOCK`] otherwise, the
/// same on any thread count so that the bits are.
fn unit_block<T: Real>() -> usize {
    if T::gemm_ignores_blocking() && rayon::current_num_threads() == 1 {
        usize::MAX
    } else {
        UNIT_BLOCK
    }
}

/// Copies the samples `rows` of the data set into `x` and their targets into `labels` or
/// `values`, all of at least `rows.len()` rows; returns the gathered targets.
pub(crate) fn gather<'b, T: Real>(
    x: &mut ndarray::Array2<T>,
    labels: &'b mut [usize],
    values: &'b mut ndarray::Array2<T>,
    inputs: ArrayView2<'_, T>,
    targets: Targets<'_, T>,
    rows: &[usize],
) -> Targets<'b, T> {
    // In parallel, so that a second worker is awake when the first layer starts.
    x.axis_chunks_iter_mut(Axis(0), GATHER_ROWS)
        .into_par_iter()
        .zip(rows.par_chunks(GATHER_ROWS))
        .for_each(|(mut chunk, rows)| {
            for (mut dst, &row) in chunk.axis_iter_mut(Axis(0)).zip(rows) {
                dst.assign(&inputs.row(row));
            }
        });
    let n = rows.len();
    match targets {
        Targets::Classes(source) => {
            for (dst, &row) in labels.iter_mut().zip(rows) {
                *dst = source[row];
            }
            Targets::Classes(&labels[..n])
        }
        Targets::Values(source) => {
            for (mut dst, &row) in values.axis_iter_mut(Axis(0)).zip(rows) {
                dst.assign(&source.row(row));
            }
            Targets::Values(values.slice(s![..n, ..]))
        }
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
        let shard_targets = gather(
            &mut self.inputs,
            &mut self.labels,
            &mut self.values,
            inputs,
            targets,
            rows,
        );
        let x = self.inputs.slice(s![..n, ..]);
        let block = unit_block::<T>();
        mlp.forward_layers(x, &mut self.workspace, mlp.layers().len(), block);
        let last = self.workspace.pre.len() - 1;
        let logits = self.workspace.pre[last].slice(s![..n, ..]);
        let grad = self.workspace.grad[last].slice_mut(s![..n, ..]);
        self.loss = loss.forward_backward(logits, shard_targets, scale, grad);
        mlp.backward(x, &mut self.workspace, None, block);
        self.rows = n;
    }
}

#[cfg(test)]
mod tests {
    use super::balanced_order;

    #[test]
    fn halving_the_balanced_order_splits_the_cost_evenly() {
        // The 784-512-512-10 network in blocks of 256 units.
        let costs = [200_704.0, 200_704.0, 131_072.0, 131_072.0, 5_120.0];
        let order = balanced_order(&costs);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3, 4], "a permutation");
        let half = order.len() / 2;
        let left: f64 = order[..half].iter().map(|&i| costs[i]).sum();
        let right: f64 = order[half..].iter().map(|&i| costs[i]).sum();
        assert!(
            (left - right).abs() <= 5_120.0 + 1e-9,
            "{order:?}: {left} vs {right}"
        );
    }
}
