//! The plain-stack engine: data-parallel row chunks with bitwise-reproducible results.
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
//! ones at 1 x 2000 x 512), so the thread count would change the weights. initlab-gemm's
//! packed kernel (feature `packed-gemm`) does, so with it one thread runs whole layers.
//!
//! [`Trainer`](crate::Trainer) runs this engine for every network that is a plain stack
//! (a [`Net`](crate::net::Net) of dense layers and activations, as an
//! [`MlpConfig`](crate::MlpConfig) builds).
//!
//! Weight gradients are then computed in fixed blocks of [`GRAD_ROWS`] output units: one
//! task sums `delta_c^T x_c` over the chunks in chunk order (GEMM with `beta = 1` after the
//! first), checks the block for NaN, and later applies the optimizer to it. No per-chunk
//! weight-gradient copies exist and none are reduced, and nothing depends on which thread
//! ran what: 1, 2 or 4 threads give bitwise-identical weights.
//!
//! ("Shard" is kept for a slice of an experiment grid, `initlab run --shard`, and a block
//! of a tensor, `initlab_init::fill_shard`: a batch's rows are cut into chunks.)

use ndarray::{ArrayView2, s};
use rayon::prelude::*;

use super::Step;
use super::gather::gather;
use super::grad_blocks::{GRAD_ROWS, GradBlock, grad_blocks};
use super::update::update_blocks;
use super::{LrScale, TrainConfig};
use crate::data::Io;
use crate::stack::{self, Stack, StackMut};
use crate::workspace::Workspace;
use crate::{Loss, NnError, Real, Targets};

/// Samples per row chunk. 128 rows amortize packing each weight matrix in GEMM; smaller
/// chunks would add parallel work but pack every weight matrix once more per chunk.
pub const CHUNK_ROWS: usize = 128;

/// Units per block of a layer's forward product or input gradient inside a row chunk: the
/// unit of parallel work within a layer. A 256-unit layer still splits in two.
pub const UNIT_BLOCK: usize = 128;

/// One row chunk's buffers.
#[derive(Debug)]
struct RowChunk<T> {
    inputs: ndarray::Array2<T>,
    labels: Vec<usize>,
    values: ndarray::Array2<T>,
    workspace: Workspace<T>,
    /// Samples in this step (the last batch of an epoch may leave a chunk short or empty).
    rows: usize,
    loss: f64,
}

/// Everything a plain stack's steps need, allocated once, so that steps allocate nothing.
#[derive(Debug)]
pub(crate) struct Chunked<T> {
    chunks: Vec<RowChunk<T>>,
    /// Weight-gradient blocks, ordered so that recursive halving splits the work evenly.
    blocks: Vec<GradBlock<T>>,
    /// For each layer, the indices into `blocks` of its blocks, in unit order.
    layer_blocks: Vec<Vec<usize>>,
    /// Optimizer state per parameter tensor (weights and biases layer by layer).
    state: Vec<[Vec<T>; 2]>,
    /// `(fan_in, fan_out)` of every layer of the network this engine was built for: its
    /// blocks and optimizer state fit that network only.
    shapes: Vec<(usize, usize)>,
}

impl<T: Real> Chunked<T> {
    /// The gradient blocks and optimizer state of `stack`.
    ///
    /// # Errors
    /// `lr_scales` of another length than the stack's layers.
    pub(crate) fn new(stack: &impl Stack<T>, config: &TrainConfig) -> Result<Self, NnError> {
        let depth = stack.depth();
        if !config.lr_scales.is_empty() && config.lr_scales.len() != depth {
            return Err(NnError::Config {
                field: "lr_scales",
                value: format!("{} multipliers for {depth} layers", config.lr_scales.len()),
                expected: "one per dense layer, output layer included (or none)",
            });
        }
        let shapes: Vec<(usize, usize)> = (0..depth)
            .map(|l| {
                let (fan_out, fan_in) = stack.layer(l).weight.dim();
                (fan_in, fan_out)
            })
            .collect();
        let state = shapes
            .iter()
            .flat_map(|&(fan_in, fan_out)| [fan_in * fan_out, fan_out])
            .map(|len| config.optimizer_state(len))
            .collect();
        let (blocks, layer_blocks) = grad_blocks(&shapes);
        Ok(Self {
            chunks: Vec::new(),
            blocks,
            layer_blocks,
            state,
            shapes,
        })
    }

    /// Whether `stack` has the shapes this engine was built for.
    pub(crate) fn fits(&self, stack: &impl Stack<T>) -> bool {
        stack.depth() == self.shapes.len()
            && self
                .shapes
                .iter()
                .enumerate()
                .all(|(l, &(fan_in, fan_out))| stack.layer(l).weight.dim() == (fan_out, fan_in))
    }

    /// Makes sure there are row chunks for a batch of `rows` samples. They are allocated on
    /// first use, for the batch the data allows: a `batch_size` far past the data set
    /// costs what one equal to it does.
    pub(crate) fn reserve(
        &mut self,
        stack: &impl Stack<T>,
        io: Io,
        rows: usize,
        batch_size: usize,
    ) {
        let chunk_rows = CHUNK_ROWS.min(batch_size);
        while self.chunks.len() < rows.div_ceil(CHUNK_ROWS) {
            self.chunks.push(RowChunk {
                inputs: ndarray::Array2::zeros((chunk_rows, io.input)),
                labels: vec![0; chunk_rows],
                values: ndarray::Array2::zeros((chunk_rows, io.output)),
                workspace: Workspace::for_stack(stack, chunk_rows),
                rows: 0,
                loss: 0.0,
            });
        }
    }

    /// One optimizer step on the samples `batch`, the `t`-th (1-based) at learning rate `lr`;
    /// `None` if the loss or a gradient is not finite (then the weights are left untouched).
    pub(crate) fn step(
        &mut self,
        stack: &mut impl StackMut<T>,
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
        // On a worker of the current pool: its parallel phases then start there instead
        // of each being sent from outside and waited for, one hand-off per step instead of
        // one per layer.
        rayon::scope(|_| {
            let active = batch.len().div_ceil(CHUNK_ROWS);
            let scale = T::of(1.0 / batch.len() as f64);
            let loss_fn = config.loss;
            let model = &*stack;
            self.chunks[..active]
                .par_iter_mut()
                .zip(batch.par_chunks(CHUNK_ROWS))
                .for_each(|(chunk, rows)| {
                    chunk.run(model, loss_fn, inputs, targets, rows, scale);
                });
            let chunks = &self.chunks[..active];
            let loss: f64 = chunks.iter().map(|c| c.loss).sum();
            let finite =
                loss.is_finite() && weight_gradients(model.kernel(), chunks, &mut self.blocks);
            if !finite {
                return None;
            }
            let optimizer = config.optimizer;
            let (blocks, layer_blocks) = (&self.blocks, &self.layer_blocks);
            let scales = &config.lr_scales;
            stack.update_layers(&mut self.state, &|l, weight, bias, state| {
                let [weight_state, bias_state] = state else {
                    unreachable!("two state entries per layer")
                };
                let fan_in = weight.len() / bias.len();
                let ids = &layer_blocks[l];
                let scale = scales.get(l).copied().unwrap_or(LrScale::ONE);
                update_blocks(
                    optimizer,
                    t,
                    lr * scale.weight,
                    weight,
                    |b| blocks[ids[b]].dw.as_slice().expect("C-order"),
                    weight_state.each_mut().map(Vec::as_mut_slice),
                    GRAD_ROWS * fan_in,
                );
                update_blocks(
                    optimizer,
                    t,
                    lr * scale.bias,
                    bias,
                    |b| blocks[ids[b]].db.as_slice().expect("C-order"),
                    bias_state.each_mut().map(Vec::as_mut_slice),
                    GRAD_ROWS,
                );
            });
            Some(loss)
        })
    }
}

/// Units per block of a layer's forward product and input gradient in this pool: whole
/// layers on one thread when the GEMM's bits do not depend on the blocks (initlab-gemm's packed
/// kernel), since one call packs each layer's input once; [`UNIT_BLOCK`] otherwise, the
/// same on any thread count so that the bits are.
fn unit_block<T: Real>(kernel: initlab_gemm::Kernel) -> usize {
    if kernel.ignores_blocking::<T>() && rayon::current_num_threads() == 1 {
        usize::MAX
    } else {
        UNIT_BLOCK
    }
}

impl<T: Real> RowChunk<T> {
    /// Gathers this chunk's samples, runs forward, loss and backward into its buffers.
    fn run(
        &mut self,
        stack: &impl Stack<T>,
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
        let block = unit_block::<T>(stack.kernel());
        stack::forward(stack, x, &mut self.workspace, stack.depth(), block);
        let (logits, grad) = self.workspace.logits_and_grad(n);
        self.loss = loss.forward_backward(logits, chunk_targets, scale, grad);
        stack::backward(stack, x, &mut self.workspace, None, block);
        self.rows = n;
    }
}

/// Every block's weight and bias gradient, `sum over chunks of delta_c^T x_c`, one block
/// per task; returns whether every value is finite.
fn weight_gradients<T: Real>(
    kernel: initlab_gemm::Kernel,
    chunks: &[RowChunk<T>],
    blocks: &mut [GradBlock<T>],
) -> bool {
    blocks
        .par_iter_mut()
        .with_max_len(1)
        .map(|block| {
            let (l, units) = (block.layer, block.units.clone());
            for (c, chunk) in chunks.iter().enumerate() {
                let n = chunk.rows;
                let delta = chunk.workspace.grad(l).slice(s![..n, units.clone()]);
                let input = if l == 0 {
                    chunk.inputs.slice(s![..n, ..])
                } else {
                    chunk.workspace.post(l - 1).slice(s![..n, ..])
                };
                let (dw, db) = (block.dw.view_mut(), block.db.view_mut());
                crate::dense::parameter_gradients(kernel, delta, input, dw, db, c > 0);
            }
            crate::finite::all_finite(block.dw.as_slice().expect("C-order"))
                && crate::finite::all_finite(block.db.as_slice().expect("C-order"))
        })
        .reduce(|| true, |a, b| a && b)
}
