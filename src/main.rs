//! `initlab`: see why weight initialization makes or breaks a network.
//!
//! With no arguments it runs the headline comparison on the bundled MNIST digits; `list`
//! prints every initializer and `run FILE` runs an experiment file. This file parses the
//! command line, hands each command to its module and maps errors to the exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use initlab_bench::plot::Pngs;
use initlab_gemm::Kernel;

/// `println!` that never panics: a closed pipe (`| head`) silences the rest of the output,
/// any other failure (a full disk) is remembered and makes the exit code non-zero; either
/// way the run goes on and its files are still written.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::stdout::say(format_args!($($arg)*))
    };
}

mod demo;
mod finish;
mod flags;
mod list;
mod merge;
mod results;
mod run;
mod signal;
mod stdout;
mod throughput;
mod width;

use demo::DemoArgs;
use merge::MergeArgs;
use run::RunArgs;
use signal::SignalArgs;
use throughput::ThroughputArgs;
use width::{CoordCheckArgs, WidthView};

/// The MNIST subset shipped with initlab.
const BUNDLED_MNIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k");

/// The MNIST digits in the IDX folder `dir`, standardized with the training statistics.
fn mnist(dir: &Path) -> Result<initlab_bench::data::Dataset, initlab_bench::BenchError> {
    let mut data = initlab_bench::data::Dataset::idx_dir(dir)?;
    data.standardize();
    Ok(data)
}

#[derive(Debug, Parser)]
#[command(
    name = "initlab",
    version,
    about = "See why weight initialization makes or breaks a neural network."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder for CSV, JSON and PNG output [default: initlab-out].
    #[arg(long, global = true)]
    pub(crate) out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, global = true)]
    pub(crate) quiet: bool,
    /// Which figures to write as PNG files beside the HTML report, which draws them all:
    /// all, none, or figure names (file names without .png) separated by commas.
    #[arg(
        long = "png",
        global = true,
        default_value = "all",
        value_name = "all|none|FIGURE,..."
    )]
    png_arg: String,
    /// `--png`, parsed (by `main`, before any work, so that a bad value is refused in
    /// initlab's own words).
    #[arg(skip)]
    pub(crate) png: Pngs,
    /// Leave curves.csv out of a results set: results.json holds the same loss curves
    /// (committed sets use it to stay small).
    #[arg(long, global = true)]
    pub(crate) no_curves_csv: bool,
    /// What runs the f32 products: openblas, or initlab-gemm's own kernel, packed (the
    /// best of AVX-512 and AVX2 this CPU has), packed-avx512 or packed-avx2. Default: the
    /// environment variable INITLAB_GEMM, else openblas.
    #[arg(
        long = "gemm",
        global = true,
        value_name = "openblas|packed|packed-avx512|packed-avx2"
    )]
    gemm_arg: Option<String>,
    /// `--gemm` (or `INITLAB_GEMM`), checked against this CPU by `main` before any work.
    #[arg(skip)]
    pub(crate) kernel: Kernel,
}

impl Cli {
    /// The output folder: `--out`, or `initlab-out`.
    pub(crate) fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(Path::new("initlab-out"))
    }
}

#[derive(Debug, Clone, Subcommand)]
enum Command {
    /// Compare initializers on deep ReLU and tanh networks trained on the bundled MNIST
    /// digits (the default command).
    Demo(DemoArgs),
    /// Run an experiment file (TOML: dataset, architectures, initializers, optimizer, seeds).
    /// Each finished run is recorded in the output folder at once: the same command into
    /// the same folder resumes where a killed one stopped.
    Run(RunArgs),
    /// Put the shards of a grid (`initlab run --shard`) back together into OUT: the same
    /// tables, JSON and plots as one unsharded run. Refuses shards of another experiment
    /// file, build, platform or BLAS core, and a grid with missing or duplicated runs.
    Merge(MergeArgs),
    /// List every initializer with its formula.
    List,
    /// Training throughput at every thread count beside its raw-GEMM ceiling.
    Throughput(ThroughputArgs),
    /// Signal propagation at initialization, no training: per-layer variance of the
    /// activations and gradients, predicted by the mean-field recursion and measured on a
    /// real batch, with a verdict per initializer.
    Signal(SignalArgs),
    /// The coordinate check of μP: MLPs of growing width trained a few steps at one
    /// learning rate, standard against μP, each layer's mean |activation| against width.
    CoordCheck(CoordCheckArgs),
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    cli.png = match cli.png_arg.parse() {
        Ok(pngs) => pngs,
        Err(error) => {
            eprintln!("initlab: {error}");
            return ExitCode::FAILURE;
        }
    };
    cli.kernel = match initlab_bench::kernel::chosen(cli.gemm_arg.as_deref()) {
        Ok(kernel) => kernel,
        Err(error) => {
            eprintln!("initlab: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli
        .command
        .clone()
        .unwrap_or(Command::Demo(DemoArgs::default()))
    {
        Command::Demo(args) => demo::demo(&args, &cli),
        Command::Run(args) => run::run_file(&args, &cli),
        Command::Merge(args) => merge::merge(&args, &cli),
        Command::List => {
            list::list();
            Ok(())
        }
        Command::Throughput(args) => throughput::throughput(&args, &cli),
        Command::Signal(args) => signal::signal(&args, &cli),
        Command::CoordCheck(args) => width::coord_check(&args, &cli, WidthView::CoordCheck),
    };
    let mut code = ExitCode::SUCCESS;
    if let Err(error) = outcome {
        eprintln!("initlab: {error}");
        code = ExitCode::FAILURE;
    }
    if let Some(error) = stdout::failure() {
        eprintln!("initlab: standard output: {error}");
        code = ExitCode::FAILURE;
    }
    code
}
