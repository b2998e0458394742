//! Training: one configuration, one epoch loop, and the trainers that run its steps.
//!
//! - `config`: [`TrainConfig`], per-layer learning rates ([`LrScale`]) and where the
//!   steps run ([`Parallelism`]);
//! - `run`: the epoch loop, its [`Event`]s and the [`History`] it returns;
//! - `gather` and `update`: a mini-batch's samples copied in, and the optimizer applied in
//!   blocks, shared by every trainer;
//! - `chunked`: [`Trainer`], a plain stack's steps in row chunks, and `grad_blocks`, its
//!   weight gradients in blocks of units.

pub(crate) mod chunked;
pub(crate) mod config;
pub(crate) mod gather;
pub(crate) mod grad_blocks;
pub(crate) mod run;
pub(crate) mod update;

pub use chunked::{CHUNK_ROWS, Trainer, UNIT_BLOCK};
pub use config::{LrScale, Parallelism, TrainConfig};
pub use grad_blocks::GRAD_ROWS;
pub use run::{Event, History, Status};
