//! `initlab` with no command (or `initlab demo`): the headline comparison of
//! initializers on deep ReLU and tanh networks trained on the bundled MNIST digits.

use std::path::PathBuf;

use initlab_bench::BenchError;
use initlab_bench::experiment::{Arch, RunSpec, grid};
use initlab_bench::output::OutputDir;
use initlab_nn::{Activation, Optimizer};

use crate::results::run_and_report;
use crate::{BUNDLED_MNIST, Cli};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Epochs per run.
    #[arg(long, default_value_t = 3)]
    pub(crate) epochs: usize,
    /// Seeds per configuration.
    #[arg(long, default_value_t = 3)]
    pub(crate) seeds: u64,
    /// Hidden layers.
    #[arg(long, default_value_t = 10)]
    pub(crate) depth: usize,
    /// Units per hidden layer.
    #[arg(long, default_value_t = 256)]
    pub(crate) width: usize,
    /// Folder of MNIST-format IDX files.
    #[arg(long, default_value = BUNDLED_MNIST)]
    pub(crate) data: PathBuf,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self {
            epochs: 3,
            seeds: 3,
            depth: 10,
            width: 256,
            data: PathBuf::from(BUNDLED_MNIST),
        }
    }
}

/// The initializers of the headline comparison.
pub(crate) const DEMO_INITS: [&str; 9] = [
    "zeros",
    "small_normal",
    "large_normal",
    "glorot_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
    "lsuv",
    "pytorch_default",
];

pub(crate) fn demo(args: &DemoArgs, cli: &Cli) -> Result<(), BenchError> {
    if args.depth == 0 || args.width == 0 || args.epochs == 0 || args.seeds == 0 {
        return Err(BenchError::Invalid {
            field: "--depth, --width, --epochs, --seeds".into(),
            value: format!(
                "{}, {}, {}, {}",
                args.depth, args.width, args.epochs, args.seeds
            ),
            expected: "each at least 1".into(),
        });
    }
    if args.seeds > initlab_bench::experiment::MAX_RUNS as u64 {
        return Err(BenchError::invalid(
            "--seeds",
            args.seeds,
            format!("at most {}", initlab_bench::experiment::MAX_RUNS),
        ));
    }
    if args.depth > initlab_bench::experiment::MAX_DEPTH {
        return Err(BenchError::invalid(
            "--depth",
            args.depth,
            format!(
                "at most {} hidden layers",
                initlab_bench::experiment::MAX_DEPTH
            ),
        ));
    }
    let archs = [Activation::Relu, Activation::Tanh]
        .map(|activation| Arch::uniform(args.depth, args.width, activation));
    let out = OutputDir::claim(cli.out())?;
    let dataset = crate::mnist(&args.data)?;
    let template = RunSpec {
        arch: archs[0].clone(),
        init: String::new(),
        optimizer: Optimizer::Momentum {
            lr: 0.01,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        epochs: args.epochs,
        batch_size: 128,
        seed: 0,
        target_accuracy: 0.9,
        mup_base: None,
        diagnose_epochs: false,
    };
    let seeds: Vec<u64> = (0..args.seeds).collect();
    say!(
        "initlab demo: {} MNIST digits ({} test), {} x {}-unit hidden layers, SGD + momentum 0.9, lr 0.01, batch 128, {} epochs, {} seeds",
        dataset.train_x.nrows(),
        dataset.test_x.nrows(),
        args.depth,
        args.width,
        args.epochs,
        args.seeds
    );
    let specs = grid(&archs, &DEMO_INITS, &seeds, &template)?;
    let title = format!(
        "initlab demo: {} x {} ReLU and tanh networks on MNIST",
        args.depth, args.width
    );
    run_and_report(&dataset, &specs, out, cli, &title, None)
}
