//! `initlab`: see why weight initialization makes or breaks a network.
//!
//! With no arguments it runs the headline comparison on the bundled MNIST digits; `list`
//! prints every initializer and `run FILE` runs an experiment file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bench::data::Dataset;
use bench::experiment::{Arch, RunResult, RunSpec, grid, run_all};
use bench::{BenchError, config, plot, registry, report};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nn::{Activation, Optimizer};

/// The MNIST subset shipped with initlab.
const BUNDLED_MNIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k");

#[derive(Debug, Parser)]
#[command(
    name = "initlab",
    version,
    about = "See why weight initialization makes or breaks a neural network."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder for CSV, JSON and PNG output.
    #[arg(long, global = true, default_value = "initlab-out")]
    out: PathBuf,
    /// No progress bars.
    #[arg(long, global = true)]
    quiet: bool,
}

#[derive(Debug, Clone, Subcommand)]
enum Command {
    /// Compare initializers on deep ReLU and tanh networks trained on the bundled MNIST
    /// digits (the default command).
    Demo(DemoArgs),
    /// Run an experiment file (TOML: dataset, architectures, initializers, optimizer, seeds).
    Run {
        /// The experiment file.
        config: PathBuf,
    },
    /// List every initializer with its formula.
    List,
}

#[derive(Debug, Clone, clap::Args)]
struct DemoArgs {
    /// Epochs per run.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Seeds per configuration.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Hidden layers.
    #[arg(long, default_value_t = 10)]
    depth: usize,
    /// Units per hidden layer.
    #[arg(long, default_value_t = 256)]
    width: usize,
    /// Folder of MNIST-format IDX files.
    #[arg(long, default_value = BUNDLED_MNIST)]
    data: PathBuf,
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
const DEMO_INITS: [&str; 9] = [
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli
        .command
        .clone()
        .unwrap_or(Command::Demo(DemoArgs::default()))
    {
        Command::Demo(args) => demo(&args, &cli),
        Command::Run { config } => run_file(&config, &cli),
        Command::List => {
            list();
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("initlab: {error}");
            ExitCode::FAILURE
        }
    }
}

fn demo(args: &DemoArgs, cli: &Cli) -> Result<(), BenchError> {
    let mut dataset = Dataset::idx_dir(&args.data)?;
    dataset.standardize();
    let archs = [Activation::Relu, Activation::Tanh].map(|activation| Arch {
        depth: args.depth,
        width: args.width,
        activation,
    });
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
    let template = RunSpec {
        arch: archs[0],
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
    };
    let seeds: Vec<u64> = (0..args.seeds).collect();
    println!(
        "initlab demo: {} MNIST digits ({} test), {} x {}-unit hidden layers, SGD + momentum 0.9, lr 0.01, batch 128, {} epochs, {} seeds",
        dataset.train_x.nrows(),
        dataset.test_x.nrows(),
        args.depth,
        args.width,
        args.epochs,
        args.seeds
    );
    run_and_report(&dataset, &grid(&archs, &DEMO_INITS, &seeds, &template), cli)
}

fn run_file(path: &Path, cli: &Cli) -> Result<(), BenchError> {
    let file = config::parse(path)?;
    let specs = file.specs()?;
    let dataset = file.dataset(Path::new(BUNDLED_MNIST))?;
    println!(
        "initlab run {}: {} runs on {} ({} training samples)",
        path.display(),
        specs.len(),
        dataset.name,
        dataset.train_x.nrows()
    );
    run_and_report(&dataset, &specs, cli)
}

fn run_and_report(dataset: &Dataset, specs: &[RunSpec], cli: &Cli) -> Result<(), BenchError> {
    let epochs: usize = specs.iter().map(|s| s.epochs).sum();
    let progress = ProgressBar::new(epochs as u64);
    if cli.quiet {
        progress.set_draw_target(ProgressDrawTarget::hidden());
    }
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} epochs, {eta} left")
            .expect("a valid template"),
    );
    let start = Instant::now();
    let results: Vec<RunResult> = run_all(dataset, specs, &progress)?;
    progress.finish_and_clear();
    println!("\n{}", report::markdown(&results));
    println!(
        "{} runs in {:.1} s",
        results.len(),
        start.elapsed().as_secs_f64()
    );
    report::write_files(&cli.out, &results)?;
    let plots = plot::write_plots(&cli.out, &results)?;
    println!(
        "results: {}/results.csv, {}/results.json",
        cli.out.display(),
        cli.out.display()
    );
    println!(
        "plots: {}",
        plots
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn list() {
    println!("| name | weights and biases | source |\n|---|---|---|");
    for entry in registry::CATALOG {
        println!("| {} | {} | {} |", entry.name, entry.formula, entry.source);
    }
    println!(
        "\nGains (he_normal, he_uniform, orthogonal) follow the hidden activation, as PyTorch's calculate_gain."
    );
}
