//! How to train: loss, optimizer, schedule, batch size, epochs, seed, where the steps run
//! and per-layer learning rates.

use serde::{Deserialize, Serialize};

use super::chunked::CHUNK_ROWS;
use crate::{Loss, NnError, Optimizer, Real, Schedule};

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
    /// Per-layer multipliers of the learning rate: dense layer `l`'s weights train at
    /// `lr · lr_scales[l].weight` and its biases at `lr · lr_scales[l].bias` (as parameter
    /// groups do in PyTorch; [`crate::mup`] derives them). Dense layers count in the order
    /// a forward pass meets them, residual branches included; a net's other tensors
    /// (normalization gains and biases, residual multipliers) train at `lr`. Empty: 1
    /// everywhere.
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

/// Where a [`Trainer`](crate::Trainer)'s steps run: an argument, like faer's `Par`, rather than whatever
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

    /// Sets per-layer learning-rate multipliers (one per dense layer, output layer
    /// included).
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

    /// Row chunks a batch of `batch_size` samples is cut into.
    pub fn row_chunks(&self) -> usize {
        self.batch_size.div_ceil(CHUNK_ROWS)
    }
}
