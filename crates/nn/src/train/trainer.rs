//! [`Trainer`]: one trainer for every network, running the engine the network calls for.

use core_math::SingleThreadedBlas;
use ndarray::ArrayView2;

use super::chunked::Chunked;
use super::run::{epochs, on_worker};
use super::whole_batch::WholeBatch;
use super::{Event, History, TrainConfig};
use crate::data::Io;
use crate::net::Net;
use crate::{Mlp, NnError, Real, Targets};

/// A network a [`Trainer`] trains: an [`Mlp`] or a [`Net`]. Sealed: `nn`'s networks are
/// the ones it knows how to train.
pub trait Trainable<T: Real>: sealed::Network<T> + Send + Sync {}

impl<T: Real> Trainable<T> for Mlp<T> {}
impl<T: Real> Trainable<T> for Net<T> {}

pub(crate) mod sealed {
    use super::{Mlp, Net, Real};

    /// A network by kind, to change.
    #[derive(Debug)]
    pub enum Kind<'a, T> {
        Mlp(&'a mut Mlp<T>),
        Net(&'a mut Net<T>),
    }

    /// A network by kind, to read.
    #[derive(Debug, Clone, Copy)]
    pub enum KindRef<'a, T> {
        Mlp(&'a Mlp<T>),
        Net(&'a Net<T>),
    }

    /// What the trainer needs of a network: which kind it is.
    pub trait Network<T: Real> {
        fn kind(&mut self) -> Kind<'_, T>;
        fn kind_ref(&self) -> KindRef<'_, T>;
    }

    impl<T: Real> Network<T> for Mlp<T> {
        fn kind(&mut self) -> Kind<'_, T> {
            Kind::Mlp(self)
        }
        fn kind_ref(&self) -> KindRef<'_, T> {
            KindRef::Mlp(self)
        }
    }

    impl<T: Real> Network<T> for Net<T> {
        fn kind(&mut self) -> Kind<'_, T> {
            Kind::Net(self)
        }
        fn kind_ref(&self) -> KindRef<'_, T> {
            KindRef::Net(self)
        }
    }
}

use sealed::{Kind, KindRef};

/// How a trainer runs its steps, chosen once, when it is built, from the network.
#[derive(Debug)]
enum Engine<T> {
    /// A plain stack: row chunks in parallel, weight gradients in blocks of units.
    Chunked(Chunked<T>),
    /// Anything else: the whole batch at once, parallel inside each layer.
    WholeBatch(WholeBatch<T>),
}

/// Trains one network with a [`TrainConfig`]: shuffled mini-batches, every buffer a step
/// needs allocated once, bitwise-identical weights on any number of threads, and
/// [`Status::Diverged`](crate::Status) instead of training on NaN.
///
/// A plain stack of dense layers and activations (every [`Mlp`], and a [`Net`] of only
/// those) trains in row chunks of [`CHUNK_ROWS`](crate::CHUNK_ROWS) samples, in parallel
/// (see the `train` module's notes on parallelism); any other net trains each mini-batch
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
    /// `network`; the step buffers follow on first use.
    ///
    /// # Errors
    /// A bad training configuration, or `lr_scales` that are not one per dense layer.
    pub fn new<N: Trainable<T>>(network: &N, config: TrainConfig) -> Result<Self, NnError> {
        config.validate()?;
        // `kind` takes `&mut`: look through a shared reference without changing anything.
        let engine = match network.kind_ref() {
            KindRef::Mlp(mlp) => Engine::Chunked(Chunked::new(mlp, &config)?),
            KindRef::Net(net) => match net.plain() {
                Some(plain) => Engine::Chunked(Chunked::new(&plain, &config)?),
                None => Engine::WholeBatch(WholeBatch::new(net, &config)?),
            },
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
    fn prepare<N: Trainable<T>>(
        &mut self,
        network: &mut N,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        rows: usize,
    ) -> Result<(), NnError> {
        let io = network.kind_ref().io();
        crate::data::validate(io, inputs, targets)?;
        let fits = match (&mut self.engine, network.kind_ref()) {
            (Engine::Chunked(engine), KindRef::Mlp(mlp)) => engine.fits(mlp).then(|| {
                engine.reserve(mlp, io, rows, self.config.batch_size);
            }),
            (Engine::Chunked(engine), KindRef::Net(net)) => net
                .plain()
                .filter(|plain| engine.fits(plain))
                .map(|plain| engine.reserve(&plain, io, rows, self.config.batch_size)),
            (Engine::WholeBatch(engine), KindRef::Net(net)) => {
                engine.fits(net).then(|| engine.reserve(net, rows))
            }
            (Engine::WholeBatch(_), KindRef::Mlp(_)) => None,
        };
        if fits.is_none() {
            return Err(NnError::Config {
                field: "network",
                value: network.kind_ref().describe(),
                expected: "the network this Trainer was built for (build one Trainer per network)",
            });
        }
        self.config.loss.check_targets(targets)
    }

    /// Trains `network` on the data for the configured epochs, calling `on_event` after
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
    pub fn train<N: Trainable<T>>(
        &mut self,
        network: &mut N,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        mut on_event: impl FnMut(&Event, &N) + Send,
    ) -> Result<History, NnError> {
        let rows = self.config.batch_size.min(inputs.nrows());
        self.prepare(network, inputs, targets, rows)?;
        let _single_threaded_blas = SingleThreadedBlas::new();
        self.order = (0..inputs.nrows()).collect();
        let mut order = std::mem::take(&mut self.order);
        let config = self.config.clone();
        let history = on_worker(self.pool.clone(), || {
            epochs(
                &config,
                &mut order,
                network,
                |network, batch| (self.step, self.step(network, inputs, targets, batch)),
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
    pub fn train_batch<N: Trainable<T>>(
        &mut self,
        network: &mut N,
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
        self.prepare(network, inputs, targets, inputs.nrows())?;
        if self.order.len() != inputs.nrows() || self.order.iter().enumerate().any(|(i, &o)| i != o)
        {
            self.order = (0..inputs.nrows()).collect();
        }
        let _single_threaded_blas = SingleThreadedBlas::new();
        let order = std::mem::take(&mut self.order);
        let loss = match (&self.engine, self.pool.clone()) {
            (_, Some(pool)) => pool.install(|| self.step(network, inputs, targets, &order)),
            // Each step of a plain stack opens its own scope on the current pool.
            (Engine::Chunked(_), None) => self.step(network, inputs, targets, &order),
            (Engine::WholeBatch(_), None) => {
                on_worker(None, || self.step(network, inputs, targets, &order))
            }
        };
        self.order = order;
        Ok(loss)
    }

    /// One optimizer step on the samples `batch`; `None` if the loss or a gradient is not
    /// finite (then the weights are left untouched and the step is not counted).
    fn step<N: Trainable<T>>(
        &mut self,
        network: &mut N,
        inputs: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        batch: &[usize],
    ) -> Option<f64> {
        let lr = self.config.optimizer.lr() * self.config.schedule.factor(self.step);
        let t = self.step + 1;
        let config = &self.config;
        let loss = match (&mut self.engine, network.kind()) {
            (Engine::Chunked(engine), Kind::Mlp(mlp)) => {
                engine.step(mlp, config, t, lr, inputs, targets, batch)
            }
            (Engine::Chunked(engine), Kind::Net(net)) => {
                let mut plain = net.plain_mut().expect("checked before the steps");
                engine.step(&mut plain, config, t, lr, inputs, targets, batch)
            }
            (Engine::WholeBatch(engine), Kind::Net(net)) => {
                engine.step(net, config, t, lr, inputs, targets, batch)
            }
            (Engine::WholeBatch(_), Kind::Mlp(_)) => unreachable!("checked before the steps"),
        }?;
        self.step = t;
        Some(loss)
    }
}

impl<T: Real> KindRef<'_, T> {
    fn io(self) -> Io {
        match self {
            Self::Mlp(mlp) => mlp.io(),
            Self::Net(net) => net.io(),
        }
    }

    /// Its kind and shape, for errors.
    fn describe(self) -> String {
        match self {
            Self::Mlp(mlp) => format!("an MLP of layer widths {:?}", mlp.config().widths()),
            Self::Net(net) => format!(
                "a net of {} layers and {} parameters",
                net.config().layers.len(),
                net.parameter_count()
            ),
        }
    }
}
