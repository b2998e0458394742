//! `initlab signal`: signal propagation at initialization, predicted and measured.

use std::path::Path;
use std::time::Instant;

use initlab_bench::experiment::Convolutions;
use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::{BenchError, plot, report};
use initlab_nn::Activation;

use crate::finish::{Ending, progress_bar};
use crate::flags::{parse_norm, residual_blocks};
use crate::width::{CoordCheckArgs, WidthView, coord_check};
use crate::{BUNDLED_MNIST, Cli};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SignalArgs {
    /// Hidden layers (default 20; 3 with --widths).
    #[arg(long)]
    pub(crate) depth: Option<usize>,
    /// Show width instead of depth: MLPs of these hidden widths (increasing; the first is
    /// μP's base), He-initialized, under the standard parametrization and μP, each layer's
    /// pre-activation second moment at init and its own update ‖ΔW x‖ / ‖W x‖ after one
    /// step of --optimizer on --batch digits, with slopes in width against the predicted
    /// ones (seeds 0, 1 and 2). With --residual, --depth pre-activation blocks of two
    /// layers after a dense stem, as `initlab coord-check --blocks` builds them.
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with_all = [
            "width", "inits", "input", "input_scale", "skip_input_layer", "input_width",
            "jacobian_samples", "branch", "ordering", "seed",
        ]
    )]
    pub(crate) widths: Option<Vec<usize>>,
    /// With --widths: sgd, momentum, nesterov or adam.
    #[arg(long, default_value = "adam", requires = "widths")]
    pub(crate) optimizer: String,
    /// With --widths: the learning rate, the same at every width.
    #[arg(long, default_value_t = 0.01, requires = "widths")]
    pub(crate) lr: f64,
    /// Units per hidden layer.
    #[arg(long, default_value_t = 512)]
    pub(crate) width: usize,
    /// Hidden activation (relu, tanh, selu, leaky_relu(0.1), ...).
    #[arg(long, default_value = "relu")]
    pub(crate) activation: String,
    /// Initializers to compare, separated by commas (names from `initlab list`, with
    /// parameters if wanted: `orthogonal(gain = 1),lecun_normal`).
    #[arg(
        long,
        default_value = "small_normal,large_normal,glorot_normal,he_normal,lecun_normal,orthogonal"
    )]
    pub(crate) inits: Vec<String>,
    /// Input batch: `mnist` (the bundled digits, standardized), `gaussian` (N(0, 1)) or
    /// `uniform` (U(±sqrt 3), variance 1).
    #[arg(long, default_value = "mnist")]
    pub(crate) input: String,
    /// Standard deviation of the inputs: every input value is multiplied by it.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) input_scale: f64,
    /// Leave layer 1, whose Jacobian maps the input width rather than a hidden one, out of
    /// the mean Jacobian singular value.
    #[arg(long)]
    pub(crate) skip_input_layer: bool,
    /// Width of Gaussian inputs; with MNIST, must be 784 if given.
    #[arg(long)]
    pub(crate) input_width: Option<usize>,
    /// Samples in the batch.
    #[arg(long, default_value_t = 512)]
    pub(crate) batch: usize,
    /// Seed of the weights and of Gaussian inputs.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Samples per layer for the Jacobian's mean singular value (0 skips it).
    #[arg(long, default_value_t = 1)]
    pub(crate) jacobian_samples: usize,
    /// Normalization: batch or layer (after every hidden dense layer, or in every branch).
    #[arg(long)]
    pub(crate) norm: Option<String>,
    /// Residual blocks (--depth of them, on a stream of --width) instead of a plain stack;
    /// `--inits` then also takes fixup, skipinit, rezero, zero_last, zero_gamma and gpt2.
    #[arg(long)]
    pub(crate) residual: bool,
    /// Dense layers per residual branch, 1 to 3.
    #[arg(long, default_value_t = 2)]
    pub(crate) branch: usize,
    /// Residual block ordering: pre or post (activation).
    #[arg(long, default_value = "pre")]
    pub(crate) ordering: String,
    /// Convolutions instead of dense layers: `--depth` `kernel x kernel` convolutions of
    /// `--width` channels (zero padding kernel / 2) on the digits' images, then the mean of
    /// each channel and the 10 logits; and the singular values of a probe's whole
    /// input-output Jacobian (see --probe-channels).
    #[arg(long, conflicts_with_all = ["residual", "input", "input_width", "skip_input_layer"])]
    pub(crate) kernel: Option<usize>,
    /// With --kernel: strides of the first convolutions (e.g. 2,2).
    #[arg(long, value_delimiter = ',', requires = "kernel")]
    pub(crate) strides: Vec<usize>,
    /// With --kernel: depths of the probe stacks whose Jacobian spectrum is measured.
    #[arg(long, value_delimiter = ',', default_value = "10,50")]
    pub(crate) spectrum_depths: Vec<usize>,
    /// With --kernel: channels of the probe image and of its stacked convolutions (the
    /// Jacobian is channels x size² values square).
    #[arg(long, default_value_t = 8)]
    pub(crate) probe_channels: usize,
    /// With --kernel: height and width of the probe image.
    #[arg(long, default_value_t = 8)]
    pub(crate) probe_size: usize,
}

pub(crate) fn signal(args: &SignalArgs, cli: &Cli) -> Result<(), BenchError> {
    if let Some(widths) = &args.widths {
        let seeds = 3;
        let width_check = CoordCheckArgs {
            widths: widths.clone(),
            depth: (!args.residual).then(|| args.depth.unwrap_or(3)),
            blocks: args.residual.then(|| args.depth.unwrap_or(3)),
            norm: args.norm.clone(),
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
    let activation: Activation = args.activation.parse().map_err(|e: initlab_nn::NnError| {
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
    let conv = match args.kernel {
        None => None,
        Some(kernel) => Some(convolutions(args, kernel)?),
    };
    let out = OutputDir::claim(cli.out())?;
    let mut image = None;
    let (inputs, labels, classes) = match args.input.as_str() {
        "mnist" => {
            let data = crate::mnist(Path::new(BUNDLED_MNIST))?;
            image = data.image;
            if let Some(width) = args.input_width.filter(|&w| w != data.inputs()) {
                return Err(BenchError::invalid(
                    "--input-width",
                    width,
                    format!("{} (the width of the MNIST batch)", data.inputs()),
                ));
            }
            let rows = args.batch.min(data.train_x.nrows());
            let x = data.train_x.slice(ndarray::s![..rows, ..]).mapv(f64::from);
            let initlab_bench::data::Labels::Classes(labels) = data.train_y else {
                unreachable!("MNIST has classes")
            };
            (x, labels[..rows].to_vec(), data.outputs)
        }
        "gaussian" | "uniform" => {
            let width = args.input_width.unwrap_or(args.width);
            if width == 0 {
                return Err(BenchError::invalid("--input-width", 0, "at least 1"));
            }
            initlab_bench::memory::check(
                "--batch x --input-width",
                (args.batch as u64)
                    .checked_mul(width as u64)
                    .and_then(|values| values.checked_mul(8)),
            )?;
            // Unit variance either way; --input-scale sets the standard deviation.
            let unit = if args.input == "uniform" {
                initlab_init::Initializer::uniform(-3f64.sqrt(), 3f64.sqrt())
            } else {
                initlab_init::Initializer::normal(0.0, 1.0)
            };
            let x: ndarray::Array2<f64> = unit
                .sample(
                    (args.batch, width),
                    initlab_init::RngKey::new(args.seed).tensor(1_000_000),
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
    let config = initlab_bench::signal::SignalConfig {
        depth,
        width: args.width,
        activation,
        inits: args
            .inits
            .iter()
            .flat_map(|names| initlab_bench::registry::split_names(names))
            .collect(),
        seed: args.seed,
        jacobian_samples: args.jacobian_samples,
        norm,
        residual,
        conv: conv.zip(image),
        spectrum: args.kernel.map(|kernel| {
            let probe = initlab_bench::signal::Probe {
                channels: args.probe_channels,
                size: args.probe_size,
                kernel,
                input_std: args.input_scale,
                seed: args.seed,
            };
            (probe, args.spectrum_depths.clone())
        }),
    };
    let start = Instant::now();
    let progress = progress_bar(config.inits.len(), "initializers", cli.quiet);
    let mut report =
        initlab_bench::signal::analyze(inputs.view(), &labels, classes, &config, &progress)?;
    report.jacobian_skips_input_layer = args.skip_input_layer;
    progress.finish_and_clear();
    say!("{}", report.markdown());
    say!("analyzed in {:.1} s", start.elapsed().as_secs_f64());
    report::write_csv_and_json(out.staging(), "signal", &report.csv(), &report)?;
    let figures = plot::signal_figures(&report);
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
    Ending {
        kind: "signal",
        report_file: "signal_report.html",
        title: format!(
            "initlab signal: {} at initialization",
            report
                .network
                .clone()
                .unwrap_or_else(|| format!("{} x {} {}", depth, args.width, args.activation))
        ),
        markdown: report.markdown(),
        figures: &figures,
        pngs: &cli.png,
        settings,
        config: None,
        machine: Machine::current(cli.kernel),
    }
    .publish(out)
}

/// The convolutions of `--kernel`, `--strides`, `--depth` and the probe, checked.
fn convolutions(args: &SignalArgs, kernel: usize) -> Result<Convolutions, BenchError> {
    Convolutions::check_kernel(kernel, "--kernel")?;
    let depth = args.depth.unwrap_or(20);
    Convolutions::check_strides(&args.strides, depth, "--strides")?;
    for (flag, value) in [
        ("--probe-channels", args.probe_channels),
        ("--probe-size", args.probe_size),
    ] {
        if value == 0 {
            return Err(BenchError::invalid(flag, 0, "at least 1"));
        }
    }
    if let Some(&depth) = args.spectrum_depths.iter().find(|&&d| d == 0) {
        return Err(BenchError::invalid(
            "--spectrum-depths",
            depth,
            "depths of at least 1",
        ));
    }
    Ok(Convolutions {
        kernel,
        strides: args.strides.clone(),
        flatten: false,
    })
}
