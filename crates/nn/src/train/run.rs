//! The epoch loop every trainer runs, what it reports, and what it returns.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::TrainConfig;

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
