//! Data-parallel mini-batch training with bitwise-reproducible results.
//!
//! # Parallelism, decided here
//! Each mini-batch is cut into row chunks of at most [`CHUNK_ROWS`] samples, so the chunk
//! count depends on the batch size alone. Rayon runs the chunks in parallel, each in its own
//! preallocated workspace, with single-threaded BLAS (OpenBLAS's own threads spin-wait and
//! collapse when another process holds a core). Inside a chunk, every layer's forward
//! product and input gradient is cut into fixed blocks of [`UNIT_BLOCK`] units that rayon
//! may also run in parallel: a batch of 128 is one chunk, and its layers are what two
//! threads share. Whole-batch GEMMs pack each weight matrix once per step instead of once
//! per chunk: 5-8% faster on one thread than 64-row chunks in paired runs, no slower on two.
//! Under BLAS the blocks stay the same on one thread, although one GEMM per layer there was
//! 2-7% faster on the 784 -> 20 x 256 -> 10 network in paired runs (it packs each layer's
//! input once, not once per block): OpenBLAS does not round a product cut into column
//! blocks as it rounds the whole (its Haswell kernels differ at 72 x 8 x 256, its SkylakeX
//! ones at 1 x 2000 x 512), so the thread count would change the weights. core-math's
//! packed kernel (feature `packed-gemm`) does, so with it one thread runs whole layers.
//!
//! Weight gradients are then computed in fixed blocks of [`GRAD_ROWS`] output units: one
//! task sums `delta_c^T x_c` over the chunks in chunk order (GEMM with `beta = 1` after the
//! first), checks the block for NaN, and later applies the optimizer to it. No per-chunk
//! weight-gradient copies exist and none are reduced, and nothing depends on which thread
//! ran what: 1, 2 or 4 threads give bitwise-identical weights.
//!
//! ("Shard" is kept for a slice of an experiment grid, `initlab run --shard`, and a block
//! of a tensor, `init::fill_shard`: a batch's rows are cut into chunks.)

use core_math::SingleThreadedBlas;
use ndarray::{ArrayView2, s};
use rayon::prelude::*;

use super::gather::gather;
use super::grad_blocks::{GRAD_ROWS, GradBlock, grad_blocks, weight_gradients};
use super::run::{epochs, on_worker};
use super::update::update_blocks;
use super::{Event, History, LrScale, TrainConfig};
use crate::workspace::Workspace;
use crate::{Loss, Mlp, NnError, Real, Targets};

/// Samples per row chunk. 128 rows amortize packing each weight matrix in GEMM; smaller
/// chunks would add parallel work but pack every weight matrix once more per chunk.
pub const CHUNK_ROWS: usize = 128;

/// Units per block of a layer's forward product or input gradient inside a row chunk: the
/// unit of parallel work within a layer. A 256-unit layer still splits in two.
pub const UNIT_BLOCK: usize = 128;

/// One row chunk's buffers.
#[derive(Debug)]
pub(crate) struct RowChunk<T> {
    pub(super) inputs: ndarray::Array2<T>,
    labels: Vec<usize>,
    values: ndarray::Array2<T>,
    pub(super) workspace: Workspace<T>,
    /// Samples in this step (the last batch of an epoch may leave a chunk short or empty).
    pub(super) rows: usize,
    loss: f64,
}

/// Trains one [`Mlp`]; owns every buffer a step needs, so steps allocate nothing.
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    chunks: Vec<RowChunk<T>>,
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
            chunks: Vec::new(),
            blocks,
            layer_blocks,
            state,
            order: Vec::new(),
            step: 0,
            shapes: mlp.config().layer_shapes(),
            pool,
        })
    }

    /// Makes sure there are row chunks for a batch of `rows` samples. They are allocated on
    /// first use, for the batch the data allows: a `batch_size` far past the data set
    /// costs what one equal to it does.
    fn reserve_chunks(&mut self, mlp: &Mlp<T>, rows: usize) {
        let chunk_rows = CHUNK_ROWS.min(self.config.batch_size);
        let (outputs, inputs) = (mlp.config().output, mlp.config().input);
        while self.chunks.len() < rows.div_ceil(CHUNK_ROWS) {
            self.chunks.push(RowChunk {
                inputs: ndarray::Array2::zeros((chunk_rows, inputs)),
                labels: vec![0; chunk_rows],
                values: ndarray::Array2::zeros((chunk_rows, outputs)),
                workspace: Workspace::new(mlp, chunk_rows),
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
        self.reserve_chunks(mlp, self.config.batch_size.min(inputs.nrows()));
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
        self.reserve_chunks(mlp, inputs.nrows());
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
            let active = batch.len().div_ceil(CHUNK_ROWS);
            let scale = T::of(1.0 / batch.len() as f64);
            let loss_fn = self.config.loss;
            let model: &Mlp<T> = mlp;
            self.chunks[..active]
                .par_iter_mut()
                .zip(batch.par_chunks(CHUNK_ROWS))
                .for_each(|(chunk, rows)| {
                    chunk.run(model, loss_fn, inputs, targets, rows, scale);
                });
            let chunks = &self.chunks[..active];
            let loss: f64 = chunks.iter().map(|c| c.loss).sum();
            let finite = loss.is_finite() && weight_gradients(chunks, &mut self.blocks);
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

impl<T: Real> RowChunk<T> {
    /// Gathers this chunk's samples, runs forward, loss and backward into its buffers.
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
        let chunk_targets = gather(
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
        self.loss = loss.forward_backward(logits, chunk_targets, scale, grad);
        mlp.backward(x, &mut self.workspace, None, block);
        self.rows = n;
    }
}
