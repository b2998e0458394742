//! `initlab`: see why weight initialization makes or breaks a network.
//!
//! With no arguments it runs the headline comparison on the bundled MNIST digits; `list`
//! prints every initializer and `run FILE` runs an experiment file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bench::data::Dataset;
use bench::experiment::{Arch, Residual, RunResult, RunSpec, grid, run_all};
use bench::html::{Provenance, Report};
use bench::network::Network;
use bench::output::OutputDir;
use bench::{BenchError, config, plot, registry, report};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nn::net::{Norm, Ordering};
use nn::{Activation, MlpConfig, Optimizer};

/// `println!` that never panics: a closed pipe (`| head`) silences the rest of the output,
/// any other failure (a full disk) is remembered and makes the exit code non-zero; either
/// way the run goes on and its files are still written.
macro_rules! say {
    ($($arg:tt)*) => {
        stdout::say(format_args!($($arg)*))
    };
}

mod stdout {
    use std::io::Write as _;
    use std::sync::Mutex;

    /// The first failure to write standard output, other than a closed pipe.
    static FAILURE: Mutex<Option<String>> = Mutex::new(None);
    static CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    pub(crate) fn say(text: std::fmt::Arguments<'_>) {
        use std::sync::atomic::Ordering::Relaxed;
        if CLOSED.load(Relaxed) {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(error) = out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
            CLOSED.store(true, Relaxed);
            if error.kind() != std::io::ErrorKind::BrokenPipe {
                let mut failure = FAILURE.lock().unwrap_or_else(|e| e.into_inner());
                failure.get_or_insert(error.to_string());
            }
        }
    }

    /// The remembered failure, after flushing what is still buffered.
    pub(crate) fn failure() -> Option<String> {
        if !CLOSED.load(std::sync::atomic::Ordering::Relaxed)
            && let Err(error) = std::io::stdout().lock().flush()
            && error.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Some(error.to_string());
        }
        FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

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
    /// Folder for CSV, JSON and PNG output [default: initlab-out].
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, global = true)]
    quiet: bool,
}

impl Cli {
    /// The output folder: `--out`, or `initlab-out`.
    fn out(&self) -> &Path {
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

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// The experiment file.
    config: PathBuf,
    /// Run only the i-th of n slices of the grid (0-based: 0/4 … 3/4), balanced by
    /// estimated cost; `initlab merge` puts the slices' folders back together.
    #[arg(long)]
    shard: Option<bench::shard::Shard>,
    /// Take the shard from a batch scheduler's environment: SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT (Slurm job arrays), or JOB_COMPLETION_INDEX and
    /// JOB_COMPLETIONS (Kubernetes Indexed Jobs).
    #[arg(long, conflicts_with = "shard")]
    shard_from_env: bool,
    /// Start over: forget the runs recorded in the output folder.
    #[arg(long)]
    fresh: bool,
}

#[derive(Debug, Clone, clap::Args)]
struct MergeArgs {
    /// The folder to write the whole grid's results into (instead of --out).
    #[arg(value_name = "OUT")]
    into: PathBuf,
    /// The shards' output folders, one per shard.
    #[arg(value_name = "SHARD_DIR", required = true)]
    shards: Vec<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
struct CoordCheckArgs {
    /// Hidden widths, increasing; the first is μP's base width.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,128,256,512,1024,2048,4096"
    )]
    widths: Vec<usize>,
    /// Hidden layers.
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Hidden activation.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// sgd, momentum, nesterov or adam.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate, the same at every width.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Training steps recorded.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Samples per step, from the bundled digits (the first batch is also the probe).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Seeds per width.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
}

#[derive(Debug, Clone, clap::Args)]
struct SignalArgs {
    /// Hidden layers (default 20; 3 with --widths).
    #[arg(long)]
    depth: Option<usize>,
    /// Show width instead of depth: MLPs of these hidden widths (increasing; the first is
    /// μP's base), He-initialized, under the standard parametrization and μP, each layer's
    /// pre-activation second moment at init and its own update ‖ΔW x‖ / ‖W x‖ after one
    /// step of --optimizer on --batch digits, with slopes in width against the predicted
    /// ones (seeds 0, 1 and 2).
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with_all = [
            "width", "inits", "input", "input_scale", "skip_input_layer", "input_width",
            "jacobian_samples", "norm", "residual", "branch", "ordering", "seed",
        ]
    )]
    widths: Option<Vec<usize>>,
    /// With --widths: sgd, momentum, nesterov or adam.
    #[arg(long, default_value = "adam", requires = "widths")]
    optimizer: String,
    /// With --widths: the learning rate, the same at every width.
    #[arg(long, default_value_t = 0.01, requires = "widths")]
    lr: f64,
    /// Units per hidden layer.
    #[arg(long, default_value_t = 512)]
    width: usize,
    /// Hidden activation (relu, tanh, selu, leaky_relu(0.1), ...).
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Initializers to compare (names from `initlab list`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "small_normal,large_normal,glorot_normal,he_normal,lecun_normal,orthogonal"
    )]
    inits: Vec<String>,
    /// Input batch: `mnist` (the bundled digits, standardized), `gaussian` (N(0, 1)) or
    /// `uniform` (U(±sqrt 3), variance 1).
    #[arg(long, default_value = "mnist")]
    input: String,
    /// Standard deviation of the inputs: every input value is multiplied by it.
    #[arg(long, default_value_t = 1.0)]
    input_scale: f64,
    /// Leave layer 1, whose Jacobian maps the input width rather than a hidden one, out of
    /// the mean Jacobian singular value.
    #[arg(long)]
    skip_input_layer: bool,
    /// Width of Gaussian inputs; with MNIST, must be 784 if given.
    #[arg(long)]
    input_width: Option<usize>,
    /// Samples in the batch.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Seed of the weights and of Gaussian inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Samples per layer for the Jacobian's mean singular value (0 skips it).
    #[arg(long, default_value_t = 1)]
    jacobian_samples: usize,
    /// Normalization: batch or layer (after every hidden dense layer, or in every branch).
    #[arg(long)]
    norm: Option<String>,
    /// Residual blocks (--depth of them, on a stream of --width) instead of a plain stack;
    /// `--inits` then also takes fixup, skipinit, rezero, zero_last, zero_gamma and gpt2.
    #[arg(long)]
    residual: bool,
    /// Dense layers per residual branch, 1 to 3.
    #[arg(long, default_value_t = 2)]
    branch: usize,
    /// Residual block ordering: pre or post (activation).
    #[arg(long, default_value = "pre")]
    ordering: String,
}

#[derive(Debug, Clone, clap::Args)]
struct ThroughputArgs {
    /// Layer widths of one network, input to output (e.g. 784,512,512,10; with --blocks,
    /// input,width,output); default: the two reference networks 784-512-512-10 and
    /// 784 -> 20 x 256 -> 10, ReLU.
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<usize>>,
    /// Residual blocks on a stream of the --layers width (a dense stem before them).
    #[arg(long)]
    blocks: Option<usize>,
    /// Dense layers per residual branch, 1 to 3.
    #[arg(long, default_value_t = 2)]
    branch: usize,
    /// Residual block ordering: pre or post (activation).
    #[arg(long, default_value = "pre")]
    ordering: String,
    /// Normalization: batch or layer (after every hidden dense layer, or in every branch).
    #[arg(long)]
    norm: Option<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Training steps per timed repeat.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed repeats; medians are reported.
    #[arg(long, default_value_t = 15)]
    repeats: usize,
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
        Command::Run(args) => run_file(&args, &cli),
        Command::Merge(args) => merge(&args, &cli),
        Command::List => {
            list();
            Ok(())
        }
        Command::Throughput(args) => throughput(&args, &cli),
        Command::Signal(args) => signal(&args, &cli),
        Command::CoordCheck(args) => coord_check(&args, &cli, WidthView::CoordCheck),
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

fn demo(args: &DemoArgs, cli: &Cli) -> Result<(), BenchError> {
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
    if args.seeds > bench::experiment::MAX_RUNS as u64 {
        return Err(BenchError::invalid(
            "--seeds",
            args.seeds,
            format!("at most {}", bench::experiment::MAX_RUNS),
        ));
    }
    if args.depth > bench::experiment::MAX_DEPTH {
        return Err(BenchError::invalid(
            "--depth",
            args.depth,
            format!("at most {} hidden layers", bench::experiment::MAX_DEPTH),
        ));
    }
    let archs = [Activation::Relu, Activation::Tanh]
        .map(|activation| Arch::uniform(args.depth, args.width, activation));
    let out = OutputDir::claim(cli.out())?;
    let mut dataset = Dataset::idx_dir(&args.data)?;
    dataset.standardize();
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

fn run_file(args: &RunArgs, cli: &Cli) -> Result<(), BenchError> {
    let path = &args.config;
    let (file, text) = config::parse_with_text(path)?;
    let specs = file.specs()?;
    let shard = match (args.shard, args.shard_from_env) {
        (Some(shard), _) => shard,
        (None, true) => bench::shard::Shard::from_env(|name| std::env::var(name).ok())?,
        (None, false) => bench::shard::Shard::WHOLE,
    };
    let out = OutputDir::claim(cli.out())?;
    let dataset = file.dataset(Path::new(BUNDLED_MNIST))?;
    let costs = specs
        .iter()
        .map(|spec| bench::experiment::estimated_cost(&dataset, spec))
        .collect::<Result<Vec<f64>, _>>()?;
    let identity = bench::shard::Identity::current(
        &path.display().to_string(),
        &text,
        env!("INITLAB_REVISION"),
    );
    let (store, recorded) = bench::shard::RunStore::open(out.path(), &identity, args.fresh)?;
    let plan = bench::shard::Plan::new(&specs, &costs, shard, recorded, out.path())?;
    say!(
        "initlab run {}: {} runs on {} ({} training samples){}{}",
        path.display(),
        specs.len(),
        dataset.name,
        dataset.train_x.nrows(),
        if shard.count > 1 {
            format!("; shard {shard} holds {}", plan.mine.len())
        } else {
            String::new()
        },
        if plan.done.is_empty() {
            String::new()
        } else {
            format!(
                "; {} already done in {}, {} to run",
                plan.done.len(),
                out.path().display(),
                plan.todo.len()
            )
        }
    );
    let todo_specs = plan.todo_specs(&specs);
    let epochs = todo_specs
        .iter()
        .fold(0_usize, |sum, s| sum.saturating_add(s.epochs));
    let progress = progress_bar(epochs, "epochs", cli.quiet);
    let start = Instant::now();
    let finished =
        bench::experiment::run_all_recorded(&dataset, &todo_specs, &progress, |k, result| {
            store.record(plan.todo[k], result)
        })?;
    progress.finish_and_clear();
    let ran = plan.todo.len();
    let mine = plan.mine.clone();
    let results = plan.results(finished);
    say!(
        "\n{}\n{} runs in {:.1} s{}",
        report::markdown(&results),
        ran,
        start.elapsed().as_secs_f64(),
        bench::memory::peak().map_or_else(String::new, |b| format!(
            ", peak memory {} ({b} bytes)",
            bench::memory::human(b)
        ))
    );
    let shard_file = bench::shard::ShardFile {
        identity,
        shard,
        grid_runs: specs.len(),
        runs: mine,
        experiment_text: text.clone(),
        dataset: dataset_summary(&dataset),
    };
    shard_file.write(out.staging())?;
    let title = format!("initlab run {}", path.display());
    let config = Some((path.display().to_string(), text));
    write_report(&shard_file.dataset, &results, out, &title, config)
}

fn merge(args: &MergeArgs, cli: &Cli) -> Result<(), BenchError> {
    if let Some(out) = &cli.out {
        return Err(BenchError::invalid(
            "--out",
            out.display(),
            "no --out with merge, which writes into its first argument: initlab merge OUT SHARD_DIR...",
        ));
    }
    let merged = bench::shard::merge(&args.shards, |text, path| {
        config::parse_text(text, path)?.specs()
    })?;
    let out = OutputDir::claim(&args.into)?;
    say!(
        "initlab merge: {} runs of {} from {} shards",
        merged.results.len(),
        merged.shard.identity.experiment,
        args.shards.len()
    );
    say!("\n{}", report::markdown(&merged.results));
    let title = format!("initlab run {}", merged.shard.identity.experiment);
    let config = Some((
        merged.shard.identity.experiment.clone(),
        merged.shard.experiment_text.clone(),
    ));
    let shard_file = bench::shard::ShardFile {
        shard: bench::shard::Shard::WHOLE,
        runs: (0..merged.specs.len()).collect(),
        ..merged.shard
    };
    shard_file.write(out.staging())?;
    write_report(&shard_file.dataset, &merged.results, out, &title, config)
}

/// How reports name a dataset.
fn dataset_summary(dataset: &Dataset) -> String {
    format!(
        "{}: {} training and {} test samples",
        dataset.name,
        dataset.train_x.nrows(),
        dataset.test_x.nrows()
    )
}

fn run_and_report(
    dataset: &Dataset,
    specs: &[RunSpec],
    out: OutputDir,
    cli: &Cli,
    title: &str,
    config: Option<(String, String)>,
) -> Result<(), BenchError> {
    let epochs = specs
        .iter()
        .fold(0_usize, |sum, s| sum.saturating_add(s.epochs));
    if !cli.quiet && !core_math::packed_gemm_in_use() {
        let cpu = bench::throughput::VectorIsa::of_this_cpu();
        if let Some(note) = bench::throughput::fallback_note(&core_math::blas_info().core, cpu) {
            eprintln!("initlab: {note}\n");
        }
    }
    let progress = progress_bar(epochs, "epochs", cli.quiet);
    let start = Instant::now();
    let results: Vec<RunResult> = run_all(dataset, specs, &progress)?;
    progress.finish_and_clear();
    say!("\n{}", report::markdown(&results));
    say!(
        "{} runs in {:.1} s{}",
        results.len(),
        start.elapsed().as_secs_f64(),
        bench::memory::peak().map_or_else(String::new, |b| format!(
            ", peak memory {} ({b} bytes)",
            bench::memory::human(b)
        ))
    );
    write_report(&dataset_summary(dataset), &results, out, title, config)
}

/// Writes a grid's results, figures and HTML report and publishes the folder.
fn write_report(
    dataset: &str,
    results: &[RunResult],
    out: OutputDir,
    title: &str,
    config: Option<(String, String)>,
) -> Result<(), BenchError> {
    report::write_files(out.staging(), results)?;
    let figures = plot::result_figures(results);
    plot::write_pngs(out.staging(), &figures)?;
    let mut seeds: Vec<u64> = results.iter().map(|r| r.spec.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let settings = vec![
        ("dataset".to_owned(), dataset.to_owned()),
        ("runs".to_owned(), results.len().to_string()),
        (
            "seeds".to_owned(),
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    Report {
        title: title.to_owned(),
        markdown: report::markdown(results),
        figures: &figures,
        provenance: provenance(settings, config),
    }
    .write(out.staging(), "report.html")?;
    publish(out, "results")
}

fn throughput(args: &ThroughputArgs, cli: &Cli) -> Result<(), BenchError> {
    let networks = throughput_networks(args)?;
    for (flag, value) in [
        ("--batch", args.batch),
        ("--steps", args.steps),
        ("--repeats", args.repeats),
    ] {
        if value == 0 {
            return Err(BenchError::invalid(flag, 0, "at least 1"));
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = args.batch.checked_mul(args.steps).ok_or_else(|| {
        BenchError::invalid(
            "--batch x --steps",
            format!("{} x {}", args.batch, args.steps),
            "a product that fits in 64 bits",
        )
    })?;
    for network in &networks {
        let widths: Vec<usize> = network.dense_shapes().iter().map(|&(_, o)| o).collect();
        bench::memory::check_widths("--layers", &widths)?;
        // The data of every step, and a trainer per thread count beside the ceiling's.
        let data = (rows as u64).checked_mul(network.input() as u64 * 4 + 8);
        let trainers = network
            .training_bytes(args.batch)
            .and_then(|b| b.checked_mul(threads as u64 + 1));
        bench::memory::check(
            "--layers, --batch and --steps",
            data.zip(trainers).and_then(|(d, t)| d.checked_add(t)),
        )?;
    }
    let out = OutputDir::claim(cli.out())?;
    if !cli.quiet {
        eprintln!(
            "timing {} network(s) at 1..={threads} threads, {} repeats of {} steps...",
            networks.len(),
            args.repeats,
            args.steps
        );
    }
    let progress = progress_bar(networks.len(), "networks", cli.quiet);
    let report = bench::throughput::report(
        &networks,
        args.batch,
        args.steps,
        args.repeats,
        threads,
        &progress,
    );
    progress.finish_and_clear();
    say!("{}", report.markdown());
    report::write_csv_and_json(out.staging(), "throughput", &report.csv(), &report)?;
    let settings = vec![
        ("batch".to_owned(), args.batch.to_string()),
        ("steps per repeat".to_owned(), args.steps.to_string()),
        ("repeats".to_owned(), args.repeats.to_string()),
    ];
    Report {
        title: "initlab throughput: training speed beside its GEMM ceiling".to_owned(),
        markdown: report.markdown(),
        figures: &[],
        provenance: provenance(settings, None),
    }
    .write(out.staging(), "throughput_report.html")?;
    publish(out, "throughput")
}

/// The `--norm` flag.
fn parse_norm(norm: Option<&str>) -> Result<Option<Norm>, BenchError> {
    match norm {
        None => Ok(None),
        Some("batch") => Ok(Some(Norm::Batch)),
        Some("layer") => Ok(Some(Norm::Layer)),
        Some(other) => Err(BenchError::invalid("--norm", other, "batch or layer")),
    }
}

/// `blocks` residual blocks from the `--branch` and `--ordering` flags.
fn residual_blocks(blocks: usize, branch: usize, ordering: &str) -> Result<Residual, BenchError> {
    if !(1..=3).contains(&branch) {
        return Err(BenchError::invalid("--branch", branch, "1, 2 or 3"));
    }
    let ordering = match ordering {
        "pre" => Ordering::PreActivation,
        "post" => Ordering::PostActivation,
        other => return Err(BenchError::invalid("--ordering", other, "pre or post")),
    };
    Ok(Residual {
        blocks,
        layers: branch,
        ordering,
    })
}

/// The networks `initlab throughput` times: the two reference MLPs, or the one its flags
/// describe.
fn throughput_networks(args: &ThroughputArgs) -> Result<Vec<Network>, BenchError> {
    let structured = args.blocks.is_some() || args.norm.is_some();
    let Some(widths) = &args.layers else {
        if structured {
            return Err(BenchError::invalid(
                "--layers",
                "(missing)",
                "the widths of the network --blocks or --norm describe",
            ));
        }
        return Ok(vec![
            Network::Mlp(MlpConfig::new(784, vec![512, 512], 10)),
            Network::Mlp(MlpConfig::deep(784, 20, 256, 10, Activation::Relu)),
        ]);
    };
    let bad = |expected: &str| BenchError::invalid("--layers", format!("{widths:?}"), expected);
    let (input, hidden, output) = match widths.as_slice() {
        [input, hidden @ .., output] if !hidden.is_empty() => (*input, hidden.to_vec(), *output),
        _ => return Err(bad("input, at least one hidden width, and output")),
    };
    let norm = parse_norm(args.norm.as_deref())?;
    let residual = match args.blocks {
        None => None,
        Some(blocks) => {
            if hidden.len() != 1 {
                return Err(bad("input,width,output with --blocks"));
            }
            Some(residual_blocks(blocks, args.branch, &args.ordering)?)
        }
    };
    let arch = Arch {
        hidden,
        activation: Activation::Relu,
        output: Default::default(),
        norm,
        residual,
        layer_inits: Vec::new(),
    };
    let network = bench::experiment::network_of(&arch, input, output).map_err(|e| match e {
        BenchError::Invalid { ref field, .. } if field == "blocks" => e.for_field("--blocks"),
        e => e.for_field("--layers"),
    })?;
    Ok(vec![network])
}

/// What a width check shows: the coordinate check, or the signal across width.
#[derive(Debug, Clone, Copy, PartialEq)]
enum WidthView {
    CoordCheck,
    Signal,
}

fn coord_check(args: &CoordCheckArgs, cli: &Cli, view: WidthView) -> Result<(), BenchError> {
    let activation: Activation = args.activation.parse().map_err(|e: nn::NnError| {
        BenchError::invalid("--activation", &args.activation, e.to_string())
    })?;
    let optimizer =
        config::optimizer(&args.optimizer, args.lr).map_err(|e| e.for_field("--optimizer"))?;
    optimizer
        .validate()
        .map_err(|e| BenchError::invalid("--lr", args.lr, e.to_string()))?;
    // Checked before the seeds become a list: one network per parametrization, width and
    // seed.
    let runs = (args.seeds as usize)
        .checked_mul(args.widths.len())
        .and_then(|n| n.checked_mul(2))
        .filter(|&n| n <= bench::experiment::MAX_RUNS)
        .ok_or_else(|| {
            BenchError::invalid(
                "--seeds x --widths",
                format!("{} x {}", args.seeds, args.widths.len()),
                format!("at most {} networks in all", bench::experiment::MAX_RUNS),
            )
        })?;
    let config = bench::coord_check::CoordCheckConfig {
        widths: args.widths.clone(),
        depth: args.depth,
        activation,
        optimizer,
        steps: args.steps,
        batch: args.batch,
        seeds: (0..args.seeds).collect(),
    };
    let mut data = Dataset::idx_dir(Path::new(BUNDLED_MNIST))?;
    data.standardize();
    let bench::data::Labels::Classes(labels) = &data.train_y else {
        unreachable!("MNIST has classes")
    };
    // The largest network, its gradients and Adam's two moments, twice over (standard and
    // μP are built one after the other, but allocation may overlap).
    let widest = args.widths.iter().copied().max().unwrap_or(0);
    let widths: Vec<usize> = std::iter::once(data.inputs())
        .chain(std::iter::repeat_n(widest, args.depth))
        .chain(std::iter::once(data.outputs))
        .collect();
    bench::memory::check_widths("--widths", &widths)?;
    bench::memory::check(
        "--widths, --depth and --batch",
        bench::memory::training_bytes(&widths, args.batch, 4).and_then(|b| b.checked_mul(2)),
    )?;
    let out = OutputDir::claim(cli.out())?;
    let start = Instant::now();
    let progress = progress_bar(runs, "networks", cli.quiet);
    let _single_threaded_blas = core_math::SingleThreadedBlas::new();
    let report = bench::coord_check::run(
        data.train_x.view(),
        labels,
        data.outputs,
        &config,
        &progress,
    )?;
    progress.finish_and_clear();
    let (stem, markdown, figures, title) = match view {
        WidthView::CoordCheck => (
            "coord_check",
            report.markdown(),
            plot::coord_check_figures(&report),
            "initlab coord-check: width against activation size, standard and μP",
        ),
        WidthView::Signal => (
            "signal_width",
            report.width_signal_markdown(),
            plot::width_signal_figures(&report),
            "initlab signal --widths: variance and first update against width, standard and μP",
        ),
    };
    say!("{markdown}");
    say!("checked in {:.1} s", start.elapsed().as_secs_f64());
    report::write_csv_and_json(out.staging(), stem, &report.csv(), &report)?;
    report::write_markdown(out.staging(), stem, &markdown)?;
    plot::write_pngs(out.staging(), &figures)?;
    let settings = vec![
        ("widths".to_owned(), format!("{:?}", args.widths)),
        (
            "optimizer".to_owned(),
            format!("{} lr {}", args.optimizer, args.lr),
        ),
        ("steps".to_owned(), args.steps.to_string()),
        ("batch".to_owned(), args.batch.to_string()),
        ("seeds".to_owned(), args.seeds.to_string()),
    ];
    Report {
        title: title.to_owned(),
        markdown,
        figures: &figures,
        provenance: provenance(settings, None),
    }
    .write(out.staging(), &format!("{stem}_report.html"))?;
    publish(out, stem)
}

fn signal(args: &SignalArgs, cli: &Cli) -> Result<(), BenchError> {
    if let Some(widths) = &args.widths {
        let seeds = 3;
        let width_check = CoordCheckArgs {
            widths: widths.clone(),
            depth: args.depth.unwrap_or(3),
            activation: args.activation.clone(),
            optimizer: args.optimizer.clone(),
            lr: args.lr,
            steps: 1,
            batch: args.batch,
            seeds,
        };
        return coord_check(&width_check, cli, WidthView::Signal);
    }
    let depth = args.depth.unwrap_or(20);
    let activation: Activation = args.activation.parse().map_err(|e: nn::NnError| {
        BenchError::invalid("--activation", &args.activation, e.to_string())
    })?;
    if args.batch == 0 {
        return Err(BenchError::invalid("--batch", 0, "at least 1"));
    }
    if !(args.input_scale.is_finite() && args.input_scale > 0.0) {
        return Err(BenchError::invalid(
            "--input-scale",
            args.input_scale,
            "a finite standard deviation > 0",
        ));
    }
    let out = OutputDir::claim(cli.out())?;
    let (inputs, labels, classes) = match args.input.as_str() {
        "mnist" => {
            let mut data = Dataset::idx_dir(Path::new(BUNDLED_MNIST))?;
            data.standardize();
            if let Some(width) = args.input_width.filter(|&w| w != data.inputs()) {
                return Err(BenchError::invalid(
                    "--input-width",
                    width,
                    format!("{} (the width of the MNIST batch)", data.inputs()),
                ));
            }
            let rows = args.batch.min(data.train_x.nrows());
            let x = data.train_x.slice(ndarray::s![..rows, ..]).mapv(f64::from);
            let bench::data::Labels::Classes(labels) = data.train_y else {
                unreachable!("MNIST has classes")
            };
            (x, labels[..rows].to_vec(), data.outputs)
        }
        "gaussian" | "uniform" => {
            let width = args.input_width.unwrap_or(args.width);
            if width == 0 {
                return Err(BenchError::invalid("--input-width", 0, "at least 1"));
            }
            bench::memory::check(
                "--batch x --input-width",
                (args.batch as u64)
                    .checked_mul(width as u64)
                    .and_then(|values| values.checked_mul(8)),
            )?;
            // Unit variance either way; --input-scale sets the standard deviation.
            let unit = if args.input == "uniform" {
                init::Initializer::uniform(-3f64.sqrt(), 3f64.sqrt())
            } else {
                init::Initializer::normal(0.0, 1.0)
            };
            let x: ndarray::Array2<f64> = unit
                .sample(
                    (args.batch, width),
                    init::RngKey::new(args.seed).tensor(1_000_000),
                )
                .expect("unit-variance inputs are valid");
            (x, (0..args.batch).map(|i| i % 10).collect(), 10)
        }
        other => {
            return Err(BenchError::invalid(
                "--input",
                other,
                "mnist, gaussian or uniform",
            ));
        }
    };
    let inputs = inputs * args.input_scale;
    let norm = parse_norm(args.norm.as_deref())?;
    let residual = if args.residual {
        Some(residual_blocks(depth, args.branch, &args.ordering)?)
    } else {
        None
    };
    let config = bench::signal::SignalConfig {
        depth,
        width: args.width,
        activation,
        inits: args.inits.clone(),
        seed: args.seed,
        jacobian_samples: args.jacobian_samples,
        norm,
        residual,
    };
    let start = Instant::now();
    let progress = progress_bar(config.inits.len(), "initializers", cli.quiet);
    let mut report = bench::signal::analyze(inputs.view(), &labels, classes, &config, &progress)?;
    report.jacobian_skips_input_layer = args.skip_input_layer;
    progress.finish_and_clear();
    say!("{}", report.markdown());
    say!("analyzed in {:.1} s", start.elapsed().as_secs_f64());
    report::write_csv_and_json(out.staging(), "signal", &report.csv(), &report)?;
    let figures = plot::signal_figures(&report);
    plot::write_pngs(out.staging(), &figures)?;
    let settings = vec![
        ("input".to_owned(), args.input.clone()),
        ("input scale (std)".to_owned(), args.input_scale.to_string()),
        ("batch".to_owned(), args.batch.to_string()),
        ("seed".to_owned(), args.seed.to_string()),
        (
            "Jacobian samples".to_owned(),
            args.jacobian_samples.to_string(),
        ),
    ];
    Report {
        title: format!(
            "initlab signal: {} at initialization",
            report
                .network
                .clone()
                .unwrap_or_else(|| format!("{} x {} {}", depth, args.width, args.activation))
        ),
        markdown: report.markdown(),
        figures: &figures,
        provenance: provenance(settings, None),
    }
    .write(out.staging(), "signal_report.html")?;
    publish(out, "signal")
}

/// A progress bar on stderr counting `total` `unit`s, hidden with `--quiet` (and by
/// indicatif when stderr is not a terminal).
fn progress_bar(total: usize, unit: &str, quiet: bool) -> ProgressBar {
    let progress = ProgressBar::new(total as u64);
    if quiet {
        progress.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{eta}} left");
    progress.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    progress
}

/// The command line as the user typed it, starting with `initlab`: the program's own path
/// says nothing about the run and differs between machines.
fn command_line() -> String {
    ["initlab".to_owned()]
        .into_iter()
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// This run's provenance for its HTML report.
fn provenance(settings: Vec<(String, String)>, config: Option<(String, String)>) -> Provenance {
    Provenance {
        command: command_line(),
        revision: env!("INITLAB_REVISION").to_owned(),
        machine: bench::output::Machine::current(),
        threads: rayon::current_num_threads(),
        settings,
        config,
    }
}

/// Publishes the staged files as the `kind` set of the output folder and says where they
/// went.
fn publish(out: OutputDir, kind: &str) -> Result<(), BenchError> {
    let folder = out.path().to_owned();
    let files = out.commit(kind, &command_line())?;
    say!("wrote {}: {}", folder.display(), files.join(", "));
    Ok(())
}

fn list() {
    say!("| name | also accepted | weights and biases | source |\n|---|---|---|---|");
    for entry in registry::CATALOG {
        say!(
            "| {} | {} | {} | {} |",
            entry.name,
            entry.aliases.join(", "),
            entry.formula,
            entry.source
        );
    }
    say!(
        "\nGains (he_normal, he_uniform, orthogonal) follow the hidden activation, as PyTorch's calculate_gain."
    );
}
