//! `initlab coord-check` and `initlab signal --widths`: networks of growing width, standard
//! against μP.

use std::path::Path;
use std::time::Instant;

use initlab_bench::coord_check::Shape;
use initlab_bench::network::Network;
use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::{BenchError, config, plot, report};
use initlab_nn::Activation;

use crate::finish::{Ending, progress_bar};
use crate::flags::parse_norm;
use crate::{BUNDLED_MNIST, Cli};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CoordCheckArgs {
    /// Hidden widths, increasing; the first is μP's base width.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,128,256,512,1024,2048,4096"
    )]
    pub(crate) widths: Vec<usize>,
    /// Hidden layers of a plain net [default: 3].
    #[arg(long, conflicts_with = "blocks")]
    pub(crate) depth: Option<usize>,
    /// Residual blocks of two layers (pre-activation, after a dense stem), instead of a
    /// plain net.
    #[arg(long)]
    pub(crate) blocks: Option<usize>,
    /// Normalization: layer or batch (in every branch and after the last block, or after
    /// every hidden layer of a plain net).
    #[arg(long)]
    pub(crate) norm: Option<String>,
    /// Hidden activation.
    #[arg(long, default_value = "relu")]
    pub(crate) activation: String,
    /// sgd, momentum, nesterov or adam.
    #[arg(long, default_value = "adam")]
    pub(crate) optimizer: String,
    /// Learning rate, the same at every width.
    #[arg(long, default_value_t = 0.01)]
    pub(crate) lr: f64,
    /// Training steps recorded.
    #[arg(long, default_value_t = 5)]
    pub(crate) steps: usize,
    /// Samples per step, from the bundled digits (the first batch is also the probe).
    #[arg(long, default_value_t = 64)]
    pub(crate) batch: usize,
    /// Seeds per width.
    #[arg(long, default_value_t = 3)]
    pub(crate) seeds: u64,
}

/// What a width check shows: the coordinate check, or the signal across width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WidthView {
    CoordCheck,
    Signal,
}

pub(crate) fn coord_check(
    args: &CoordCheckArgs,
    cli: &Cli,
    view: WidthView,
) -> Result<(), BenchError> {
    let activation: Activation = args.activation.parse().map_err(|e: initlab_nn::NnError| {
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
        .filter(|&n| n <= initlab_bench::experiment::MAX_RUNS)
        .ok_or_else(|| {
            BenchError::invalid(
                "--seeds x --widths",
                format!("{} x {}", args.seeds, args.widths.len()),
                format!(
                    "at most {} networks in all",
                    initlab_bench::experiment::MAX_RUNS
                ),
            )
        })?;
    let norm = parse_norm(args.norm.as_deref())?;
    let shape = match args.blocks {
        Some(blocks) => Shape::Residual { blocks, norm },
        None => Shape::Plain {
            depth: args.depth.unwrap_or(3),
            norm,
        },
    };
    let config = initlab_bench::coord_check::CoordCheckConfig {
        widths: args.widths.clone(),
        shape,
        activation,
        optimizer,
        steps: args.steps,
        batch: args.batch,
        seeds: (0..args.seeds).collect(),
        kernel: cli.kernel,
    };
    let data = crate::mnist(Path::new(BUNDLED_MNIST))?;
    let initlab_bench::data::Labels::Classes(labels) = &data.train_y else {
        unreachable!("MNIST has classes")
    };
    // The largest network, its gradients and Adam's two moments, twice over (standard and
    // μP are built one after the other, but allocation may overlap). Its layers are laid
    // out after the depth and width are checked, before anything of that size.
    let widest = args.widths.iter().copied().max().unwrap_or(0);
    initlab_bench::memory::check_widths("--widths", &[widest])?;
    let largest = Network {
        config: shape.net_config(data.inputs(), widest, activation, data.outputs)?,
        name: String::new(),
    };
    initlab_bench::memory::check(
        "--widths, --depth (or --blocks) and --batch",
        largest
            .training_bytes(args.batch)
            .and_then(|b| b.checked_mul(2)),
    )?;
    let out = OutputDir::claim(cli.out())?;
    let start = Instant::now();
    let progress = progress_bar(runs, "networks", cli.quiet);
    let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
    let report = initlab_bench::coord_check::run(
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
    let mut settings = vec![("widths".to_owned(), format!("{:?}", args.widths))];
    if let Some(blocks) = shape.blocks() {
        settings.push(("blocks".to_owned(), blocks.to_string()));
    }
    if let Some(norm) = &args.norm {
        settings.push(("norm".to_owned(), norm.clone()));
    }
    settings.extend([
        (
            "optimizer".to_owned(),
            format!("{} lr {}", args.optimizer, args.lr),
        ),
        ("steps".to_owned(), args.steps.to_string()),
        ("batch".to_owned(), args.batch.to_string()),
        ("seeds".to_owned(), args.seeds.to_string()),
    ]);
    Ending {
        kind: stem,
        report_file: &format!("{stem}_report.html"),
        title: title.to_owned(),
        markdown,
        figures: &figures,
        pngs: &cli.png,
        settings,
        config: None,
        machine: Machine::current(cli.kernel),
    }
    .publish(out)
}
