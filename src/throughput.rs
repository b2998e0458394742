//! `initlab throughput`: training speed at every thread count beside its GEMM ceiling.

use initlab_bench::experiment::{Arch, Convolutions};
use initlab_bench::network::Network;
use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::plot::Pngs;
use initlab_bench::{BenchError, report};
use initlab_nn::net::Image;
use initlab_nn::{Activation, MlpConfig};

use crate::Cli;
use crate::finish::{Ending, progress_bar};
use crate::flags::{parse_norm, residual_blocks};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ThroughputArgs {
    /// Layer widths of one network, input to output (e.g. 784,512,512,10; with --blocks,
    /// input,width,output); default: the two reference networks 784-512-512-10 and
    /// 784 -> 20 x 256 -> 10, ReLU.
    #[arg(long, value_delimiter = ',')]
    pub(crate) layers: Option<Vec<usize>>,
    /// Residual blocks on a stream of the --layers width (a dense stem before them).
    #[arg(long)]
    pub(crate) blocks: Option<usize>,
    /// Dense layers per residual branch, 1 to 3.
    #[arg(long, default_value_t = 2)]
    pub(crate) branch: usize,
    /// Residual block ordering: pre or post (activation).
    #[arg(long, default_value = "pre")]
    pub(crate) ordering: String,
    /// Normalization: batch or layer (after every hidden dense layer, or in every branch).
    #[arg(long)]
    pub(crate) norm: Option<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 128)]
    pub(crate) batch: usize,
    /// Training steps per timed repeat.
    #[arg(long, default_value_t = 20)]
    pub(crate) steps: usize,
    /// Timed repeats; medians are reported.
    #[arg(long, default_value_t = 15)]
    pub(crate) repeats: usize,
    /// A CNN instead: `kernel x kernel` convolutions (zero padding kernel / 2) of
    /// --channels on 1x28x28 images, the mean of each channel, then 10 logits.
    #[arg(long, conflicts_with_all = ["layers", "norm", "blocks"])]
    pub(crate) kernel: Option<usize>,
    /// With --kernel: channels of each convolution.
    #[arg(long, value_delimiter = ',', default_value = "16,32,32")]
    pub(crate) channels: Vec<usize>,
    /// With --kernel: strides of the first convolutions.
    #[arg(long, value_delimiter = ',', default_value = "2,2")]
    pub(crate) strides: Vec<usize>,
}

pub(crate) fn throughput(args: &ThroughputArgs, cli: &Cli) -> Result<(), BenchError> {
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
        initlab_bench::memory::check_widths("--layers", &widths)?;
        // The data of every step, and a trainer per thread count beside the ceiling's.
        let data = (rows as u64).checked_mul(network.input() as u64 * 4 + 8);
        let trainers = network
            .training_bytes(args.batch)
            .and_then(|b| b.checked_mul(threads as u64 + 1));
        initlab_bench::memory::check(
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
    let report = initlab_bench::throughput::report(
        &networks,
        args.batch,
        args.steps,
        args.repeats,
        threads,
        cli.kernel,
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
    Ending {
        kind: "throughput",
        report_file: "throughput_report.html",
        title: "initlab throughput: training speed beside its GEMM ceiling".to_owned(),
        markdown: report.markdown(),
        figures: &[],
        pngs: &Pngs::None,
        settings,
        config: None,
        machine: Machine::current(cli.kernel),
    }
    .publish(out)
}

/// The networks `initlab throughput` times: the two reference MLPs, or the one its flags
/// describe.
pub(crate) fn throughput_networks(args: &ThroughputArgs) -> Result<Vec<Network>, BenchError> {
    if let Some(kernel) = args.kernel {
        return Ok(vec![conv_network(args, kernel)?]);
    }
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
            Network::mlp(&MlpConfig::new(784, vec![512, 512], 10)),
            Network::mlp(&MlpConfig::deep(784, 20, 256, 10, Activation::Relu)),
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
        conv: None,
    };
    let network =
        initlab_bench::experiment::network_of(&arch, input, output).map_err(|e| match e {
            BenchError::Invalid { ref field, .. } if field == "blocks" => e.for_field("--blocks"),
            e => e.for_field("--layers"),
        })?;
    Ok(vec![network])
}

/// The CNN of `--kernel`, `--channels` and `--strides` on the digits' images.
fn conv_network(args: &ThroughputArgs, kernel: usize) -> Result<Network, BenchError> {
    Convolutions::check_kernel(kernel, "--kernel")?;
    let channels = &args.channels;
    if channels.is_empty() || channels.contains(&0) {
        return Err(BenchError::invalid(
            "--channels",
            format!("{channels:?}"),
            "at least one convolution, each of at least 1 channel",
        ));
    }
    Convolutions::check_strides(&args.strides, channels.len(), "--strides")?;
    let conv = Convolutions {
        kernel,
        strides: args.strides.clone(),
        flatten: false,
    };
    let arch = Arch::convolutional(channels.clone(), Activation::Relu, conv);
    initlab_bench::experiment::conv_network(&arch, Image::new(1, 28, 28), 10)
        .map_err(|e| e.for_field("--kernel"))
}
