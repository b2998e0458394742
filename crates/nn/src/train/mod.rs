//! Training: one configuration, one epoch loop, and the trainers that run its steps.
//!
//! - `config`: [`TrainConfig`], per-layer learning rates ([`LrScale`]) and where the
//!   steps run ([`Parallelism`]);
//! - `run`: the epoch loop, its [`Event`]s and the [`History`] it returns;
//! - `gather` and `update`: a mini-batch's samples copied in, and the optimizer applied in
//!   blocks, shared by every trainer;
//! - [`Trainer`]: the one trainer, which picks the engine once, when built:
//!   `chunked` for a plain stack, its steps in row chunks (and `grad_blocks`, its weight
//!   gradients in blocks of units), or `whole_batch` for any other net.

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
