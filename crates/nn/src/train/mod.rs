//! Training: one configuration, one epoch loop, and the trainers that run its steps.
//!
//! - `config`: [`TrainConfig`], per-layer learning rates ([`LrScale`]) and where the
//!   steps run ([`Parallelism`]);
//! - `run`: the epoch loop, its [`Event`]s and the [`History`] it returns;
//! - `gather` and `update`: a mini-batch's samples copied in, and the optimizer applied in
//!   blocks, shared by every trainer;
//! - [`Trainer`]: the one trainer, which picks the engine once, when built, and hands it
//!   each `Step`: `chunked` for a plain stack, its steps in row chunks (and `grad_blocks`,
//!   its weight gradients in blocks of units), or `whole_batch` for any other net.

pub(crate) mod chunked;
pub(crate) mod config;
pub(crate) mod gather;
pub(crate) mod grad_blocks;
pub(crate) mod run;
mod trainer;
pub(crate) mod update;
mod whole_batch;

pub use chunked::{CHUNK_ROWS, UNIT_BLOCK};
pub use config::{LrScale, Parallelism, TrainConfig};
pub use grad_blocks::GRAD_ROWS;
pub use run::{Event, History, Status};
pub use trainer::Trainer;

/// One optimizer step as the trainer hands it to its engine, beside the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step<'a> {
    pub(crate) config: &'a TrainConfig,
    /// The step's 1-based count (Adam's bias correction).
    pub(crate) t: u64,
    /// The scheduled learning rate.
    pub(crate) lr: f64,
    /// The rows of the data in this step, in order.
    pub(crate) batch: &'a [usize],
}
