//! [`Trainer`]: one trainer for every network, running the engine the network calls for.

use initlab_gemm::SingleThreadedBlas;
use ndarray::ArrayView2;

use super::chunked::Chunked;
use super::run::{epochs, on_worker};
use super::whole_batch::WholeBatch;
use super::{Event, History, Step, TrainConfig};
use crate::net::Net;
use crate::{NnError, Real, Targets};

/// How a trainer runs its steps, chosen once, when it is built, from the network.
#[derive(Debug)]
enum Engine<T> {
    /// A plain stack: row chunks in parallel, weight gradients in blocks of units.
    Chunked(Chunked<T>),
    /// Anything else: the whole batch at once, parallel inside each layer.
    WholeBatch(Box<WholeBatch<T>>),
}

/// Trains one network with a [`TrainConfig`]: shuffled mini-batches, every buffer a step
/// needs allocated once, bitwise-identical weights on any number of threads, and
/// [`Status::Diverged`](crate::Status) instead of training on NaN.
///
/// A plain stack of dense layers and activations (a [`Net`] of only those, such as every
/// [`MlpConfig`](crate::MlpConfig) builds) trains in row chunks of
/// [`CHUNK_ROWS`](crate::CHUNK_ROWS) samples, in parallel (see the `train` module's notes
/// on parallelism); any other net trains each mini-batch
/// as a whole, which BatchNorm's statistics need. The trainer picks the engine when it is
/// built; the caller never does.
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    engine: Engine<T>,
    order: Vec<usize>,
    step: u64,
    /// The owned pool of [`Parallelism::Threads`](crate::Parallelism::Threads).
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

impl<T: Real> Trainer<T> {
    /// Allocates the optimizer state (and, for a plain stack, the gradient blocks) for
    /// `net`; the step buffers follow on first use.
    ///
    /// # Errors
    /// A bad training configuration, or `lr_scales` that are not one per dense layer.
    pub fn new(net: &Net<T>, config: TrainConfig) -> Result<Self, NnError> {
        config.validate()?;
        let engine = match net.plain() {
            Some(plain) => Engine::Chunked(Chunked::new(&plain, &config)?),
            None => Engine::WholeBatch(Box::new(WholeBatch::new(net, &config)?)),
        };
        Ok(Self {
            pool: config.pool()?,
            config,
            engine,
            order: Vec::new(),
            step: 0,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Checks the data and the network against this trainer, and sizes the step buffers
    /// for batches of `rows` samples.
    fn prepare(
        &mut self,
        net: &Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        rows: usize,
    ) -> Result<(), NnError> {
        let io = net.io();
        crate::data::validate(io, inputs, targets)?;
        let fits = match &mut self.engine {
            Engine::Chunked(engine) => net
                .plain()
                .filter(|plain| engine.fits(plain))
                .map(|plain| engine.reserve(&plain, io, rows, self.config.batch_size)),
            Engine::WholeBatch(engine) => engine.fits(net).then(|| engine.reserve(net, rows)),
        };
        if fits.is_none() {
            return Err(NnError::Config {
                field: "network",
                value: format!(
                    "a net of dense layer widths {:?} and {} parameters",
                    std::iter::once(net.config().input)
                        .chain(net.config().dense_shapes().iter().map(|s| s.1))
                        .collect::<Vec<_>>(),
                    net.parameter_count()
                ),
                expected: "the network this Trainer was built for (build one Trainer per network)",
            });
        }
        self.config.loss.check_targets(targets)
    }

    /// Trains `net` on the data for the configured epochs, calling `on_event` after
    /// every step and epoch (with the network as it is then, e.g. to evaluate it).
    ///
    /// Called from outside a rayon pool, the whole run moves onto a worker of the global
    /// pool once, so its steps neither hand over to the pool one by one nor allocate (the
    /// pool's injection queue allocates a block every 63 hand-offs); `on_event` then runs
    /// on that worker, hence `Send`.
    ///
    /// # Errors
    /// Data the network cannot use (see [`NnError`]), or a network other than the one
    /// the trainer was built for; divergence is not an error but a
    /// [`Status::Diverged`](crate::Status) in the history.
    pub fn train(
        &mut self,
        net: &mut Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        mut on_event: impl FnMut(&Event, &Net<T>) + Send,
    ) -> Result<History, NnError> {
        let rows = self.config.batch_size.min(inputs.nrows());
        self.prepare(net, inputs, targets, rows)?;
        let _single_threaded_blas = SingleThreadedBlas::new();
        self.order = (0..inputs.nrows()).collect();
        let mut order = std::mem::take(&mut self.order);
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
    /// Data the network cannot use, another network than the trainer's, or more rows than
    /// the configured batch size.
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
        self.prepare(net, inputs, targets, inputs.nrows())?;
        if self.order.len() != inputs.nrows() || self.order.iter().enumerate().any(|(i, &o)| i != o)
        {
            self.order = (0..inputs.nrows()).collect();
        }
        let _single_threaded_blas = SingleThreadedBlas::new();
        let order = std::mem::take(&mut self.order);
        let loss = match (&self.engine, self.pool.clone()) {
            (_, Some(pool)) => pool.install(|| self.step(net, inputs, targets, &order)),
            // Each step of a plain stack opens its own scope on the current pool.
            (Engine::Chunked(_), None) => self.step(net, inputs, targets, &order),
            (Engine::WholeBatch(_), None) => {
                on_worker(None, || self.step(net, inputs, targets, &order))
            }
        };
        self.order = order;
        Ok(loss)
    }

    /// One optimizer step on the samples `batch`; `None` if the loss or a gradient is not
    /// finite (then the weights are left untouched and the step is not counted).
    fn step(
        &mut self,
        net: &mut Net<T>,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        batch: &[usize],
    ) -> Option<f64> {
        let lr = self.config.optimizer.lr() * self.config.schedule.factor(self.step);
        let t = self.step + 1;
        let step = Step {
            config: &self.config,
            t,
            lr,
            batch,
        };
        let loss = match &mut self.engine {
            Engine::Chunked(engine) => {
                let mut plain = net.plain_mut().expect("checked before the steps");
                engine.step(&mut plain, step, inputs, targets)
            }
            Engine::WholeBatch(engine) => engine.step(net, step, inputs, targets),
        }?;
        self.step = t;
        Some(loss)
    }
}
