//! From a run's spec to its network, built and initialized: the architecture's shape,
//! the initializer it names, and the checks that it applies.

use initlab_gemm::Kernel;
use initlab_nn::net::{
    Alpha, BranchInit, Image, LayerSpec, Net, NetConfig, NetInit, Ordering, ResidualBlock,
};
use initlab_nn::{Activation, LrScale, LsuvConfig, MlpConfig};
use ndarray::s;

use super::spec::{Arch, Head, RunSpec};
use crate::BenchError;
use crate::data::Dataset;
use crate::network::Network;
use crate::registry::{InitChoice, Scheme, lookup};

/// The deepest network built: deeper ones are refused before their layer list is made.
pub const MAX_DEPTH: usize = 100_000;

/// The most runs one grid may hold.
pub const MAX_RUNS: usize = 1_000_000;

/// Samples used for diagnostics and LSUV.
pub(super) const PROBE_ROWS: usize = 256;

/// The network of `arch` on `dataset`: its input width, the hidden layers, and one output per
/// class or target (one in all for a sigmoid head).
///
/// # Errors
/// [`BenchError`] naming `depth` or `width` when one is 0 or too large, or `output` when a
/// sigmoid head meets data that is not two classes.
pub(crate) fn network(dataset: &Dataset, arch: &Arch) -> Result<Network, BenchError> {
    let output = match arch.output {
        Head::Softmax => dataset.outputs,
        Head::Sigmoid if dataset.is_classification() && dataset.outputs == 2 => 1,
        Head::Sigmoid => {
            let data = if dataset.is_classification() {
                format!("{} classes", dataset.outputs)
            } else {
                "regression".to_owned()
            };
            return Err(BenchError::invalid(
                "output",
                "sigmoid",
                format!(
                    "softmax for {} ({data}): a sigmoid output reads two classes",
                    dataset.name
                ),
            ));
        }
    };
    match (&arch.conv, dataset.image) {
        (None, _) => network_of(arch, dataset.inputs(), output),
        (Some(_), Some(image)) => conv_network(arch, image, output),
        (Some(_), None) => Err(BenchError::invalid(
            "kernel",
            &dataset.name,
            "a dataset of images for convolutions (kind = \"mnist\" or \"idx\")",
        )),
    }
}

/// The convolutional network of `arch` (whose `conv` describes it: see [`Convolutions`](super::Convolutions))
/// on `image`s, to `output` logits.
///
/// # Errors
/// [`BenchError`] naming `kernel` for an architecture without convolutions, and `depth`,
/// `width`, `blocks` or `kernel` for sizes out of range or convolutions the image cannot
/// hold.
pub fn conv_network(arch: &Arch, image: Image, output: usize) -> Result<Network, BenchError> {
    let Some(conv) = &arch.conv else {
        return Err(BenchError::invalid(
            "kernel",
            "(missing)",
            "convolutions (kernel = ...) for a network on images",
        ));
    };
    check_depth(arch.hidden.len())?;
    let (kernel, activation) = (conv.kernel, arch.activation);
    let layer = |channels: usize, index: usize| LayerSpec::Conv2d {
        channels,
        kernel: [kernel; 2],
        stride: [conv.strides.get(index).copied().unwrap_or(1); 2],
        padding: [kernel / 2; 2],
        groups: 1,
    };
    let stem = NetConfig::image(image.channels, image.height, image.width);
    let config = match arch.residual {
        None => arch
            .hidden
            .iter()
            .enumerate()
            .fold(stem, |config, (index, &channels)| {
                with_norm(config.push(layer(channels, index)), arch).activation(activation)
            }),
        Some(residual) => {
            let stem = stem.push(layer(arch.hidden[0], 0));
            residual_stack(arch, residual, stem, Some(kernel))?
        }
    };
    let config = if conv.flatten {
        config.flatten().dense(output)
    } else {
        config.global_average_pool().flatten().dense(output)
    };
    config.output().map_err(|e| match e {
        initlab_nn::NnError::Layer { path, problem } => BenchError::invalid(
            "kernel",
            kernel,
            format!("convolutions that fit ({path}: {problem})"),
        ),
        other => other.into(),
    })?;
    crate::memory::check_widths("width", &config.layer_widths())?;
    Ok(Network {
        name: format!(
            "{}x{}x{} -> {} -> {output}",
            image.channels,
            image.height,
            image.width,
            arch.label()
        ),
        config,
    })
}

/// The network of `arch` from `input` features to `output` logits: a plain stack named by
/// its widths when it has neither normalization nor residual blocks, else a [`NetConfig`]
/// named after the architecture (see [`Residual`](super::Residual) for the layout of
/// residual networks).
///
/// # Errors
/// [`BenchError`] naming `depth`, `width` or `blocks` when one is 0 or too large.
pub fn network_of(arch: &Arch, input: usize, output: usize) -> Result<Network, BenchError> {
    if arch.conv.is_some() {
        return Err(BenchError::invalid(
            "kernel",
            format!("{input} features"),
            "images: convolutions run on a dataset of images",
        ));
    }
    let plain = layers(input, &arch.hidden, output, arch.activation)?;
    if !arch.is_net() {
        return Ok(Network::mlp(&plain));
    }
    let activation = arch.activation;
    let Some(residual) = arch.residual else {
        let config = NetConfig::plain(input, &arch.hidden, activation, arch.norm, output);
        return Ok(Network::net(config, arch, input, output));
    };
    let stem = NetConfig::new(input).dense(arch.hidden[0]);
    let config = residual_stack(arch, residual, stem, None)?.dense(output);
    Ok(Network::net(config, arch, input, output))
}

/// `stem` (the layer to the stream's width), then `arch`'s residual blocks in their
/// ordering: pre-activation blocks and a final norm and activation (He et al. 2016), or a
/// norm and activation after the stem and post-activation blocks. Dense blocks, or
/// convolutions of `kernel`.
///
/// # Errors
/// [`BenchError`] naming `blocks` when there are none or too many.
fn residual_stack(
    arch: &Arch,
    residual: super::Residual,
    stem: NetConfig,
    kernel: Option<usize>,
) -> Result<NetConfig, BenchError> {
    check_depth(residual.blocks).map_err(|e| e.for_field("blocks"))?;
    let activation = arch.activation;
    let mut block = ResidualBlock::new(
        arch.hidden[0],
        residual.layers,
        activation,
        residual.ordering,
    );
    block.norm = arch.norm;
    block.kernel = kernel;
    Ok(match residual.ordering {
        Ordering::PreActivation => {
            with_norm(stem.blocks(block, residual.blocks), arch).activation(activation)
        }
        Ordering::PostActivation => with_norm(stem, arch)
            .activation(activation)
            .blocks(block, residual.blocks),
    })
}

/// `config` then `arch`'s normalization, if it has one.
fn with_norm(config: NetConfig, arch: &Arch) -> NetConfig {
    match arch.norm {
        Some(norm) => config.norm(norm),
        None => config,
    }
}

/// Refuses no hidden layer, or more than [`MAX_DEPTH`].
///
/// # Errors
/// [`BenchError`] naming `depth`.
pub(crate) fn check_depth(depth: usize) -> Result<(), BenchError> {
    if depth == 0 {
        return Err(BenchError::invalid("depth", 0, "at least 1"));
    }
    if depth > MAX_DEPTH {
        return Err(BenchError::invalid(
            "depth",
            depth,
            format!("at most {MAX_DEPTH} hidden layers"),
        ));
    }
    Ok(())
}

/// `input -> hidden... -> output` with `activation` on every hidden layer.
///
/// # Errors
/// [`BenchError`] naming `depth` or `width` when one is 0 or too large.
fn layers(
    input: usize,
    hidden: &[usize],
    output: usize,
    activation: Activation,
) -> Result<MlpConfig, BenchError> {
    check_depth(hidden.len())?;
    if hidden.contains(&0) {
        return Err(BenchError::invalid("width", 0, "at least 1"));
    }
    // A network without inputs or outputs has nothing to train (and no label to draw).
    for (name, size) in [("input", input), ("output", output)] {
        if size == 0 {
            return Err(BenchError::invalid(
                name,
                0,
                format!("an {name} width of at least 1"),
            ));
        }
    }
    let widths: Vec<usize> = std::iter::once(input)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(output))
        .collect();
    crate::memory::check_widths("width", &widths)?;
    Ok(MlpConfig::new(input, hidden.to_vec(), output).with_activation(activation))
}

/// A run's network, built and initialized, and the learning-rate multipliers its
/// parametrization trains it with (none under the standard one).
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The network.
    pub net: Net<f32>,
    /// Per dense layer, for [`initlab_nn::TrainConfig::lr_scales`].
    pub lr_scales: Vec<LrScale>,
}

/// Builds and initializes the network a spec describes, its products on `kernel` (LSUV's
/// passes included): its shape is resolved here, once.
///
/// # Errors
/// An unknown initializer name, an invalid architecture, or an initializer that does not
/// apply to it (residual schemes without residual blocks).
pub fn build(dataset: &Dataset, spec: &RunSpec, kernel: Kernel) -> Result<Built, BenchError> {
    let choice = lookup(&spec.init, spec.arch.activation)?;
    check_applies(&spec.arch, &spec.init, &choice)?;
    let config = network(dataset, &spec.arch)?.config;
    let lsuv = matches!(choice, InitChoice::Lsuv);
    let (config, init) = net_init(&spec.arch, config, choice)?;
    // μP against the same architecture with every hidden width the base's.
    let (init, lr_scales) = match spec.mup_base {
        None => (init, Vec::new()),
        Some(width) => {
            let base_arch = Arch {
                hidden: vec![width; spec.arch.hidden.len()],
                ..spec.arch.clone()
            };
            let base = network(dataset, &base_arch)?.config;
            let base = net_init(&base_arch, base, lookup(&spec.init, spec.arch.activation)?)?.0;
            initlab_nn::mup::parametrize(&config, &base, &spec.optimizer, &init)?
        }
    };
    let mut net = config.build(&init, spec.seed)?;
    net.set_kernel(kernel);
    if lsuv {
        let rows = PROBE_ROWS.min(dataset.train_x.nrows());
        let config = LsuvConfig {
            seed: spec.seed,
            ..LsuvConfig::default()
        };
        initlab_nn::net::lsuv(&mut net, dataset.train_x.slice(s![..rows, ..]), config)?;
    }
    Ok(Built { net, lr_scales })
}

/// The network and initialization a checked initializer choice gives a [`Net`]: its
/// strategy everywhere, or He (for the activation) changed as a residual scheme says.
///
/// # Panics
/// If the choice does not apply to `arch` (see [`check_applies`]).
pub(crate) fn net_init(
    arch: &Arch,
    config: NetConfig,
    choice: InitChoice,
) -> Result<(NetConfig, NetInit), BenchError> {
    let (config, mut init) = scheme_init(arch, config, choice)?;
    // Delta-orthogonal is made for kernels: a dense layer gets what it reduces to at
    // kernel size 1, an orthogonal matrix, of any shape.
    if let initlab_init::Initializer::DeltaOrthogonal { gain, .. } = init.weight {
        for path in dense_paths(&config.layers, "layers") {
            let orthogonal = initlab_nn::LayerInit {
                weight: initlab_init::Initializer::Orthogonal { gain },
                bias: init.bias.clone(),
            };
            init = init.with_override(path, orthogonal);
        }
    }
    let paths: Vec<String> = init
        .dense_inits(&config)?
        .into_iter()
        .map(|d| d.path)
        .collect();
    for (path, name) in &arch.layer_inits {
        if !paths.contains(path) {
            return Err(BenchError::invalid(
                "layer_inits",
                path,
                format!(
                    "the path of a dense layer of {}: {}",
                    arch.label(),
                    paths.join(", ")
                ),
            ));
        }
        let layer = layer_init(&format!("layer_inits.\"{path}\""), name, arch.activation)?;
        init = init.with_override(path.clone(), layer);
    }
    Ok((config, init))
}

/// The paths of the dense layers of `layers` at `path`, branches included.
fn dense_paths(layers: &[LayerSpec], path: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let at = format!("{path}.{index}");
        match layer {
            LayerSpec::Dense { .. } => paths.push(at),
            LayerSpec::Residual { branch, .. } => {
                paths.extend(dense_paths(branch, &format!("{at}.branch")));
            }
            _ => {}
        }
    }
    paths
}

/// The initializer `name` of one dense layer (for `field`): a strategy, not LSUV or a
/// residual scheme, which set whole networks.
///
/// # Errors
/// [`BenchError::Invalid`] for `field` naming an unknown or whole-network initializer.
pub(crate) fn layer_init(
    field: &str,
    name: &str,
    activation: Activation,
) -> Result<initlab_nn::LayerInit, BenchError> {
    match lookup(name, activation).map_err(|e| e.for_field(field))? {
        InitChoice::Strategy(layer) => Ok(layer),
        _ => Err(BenchError::invalid(
            field,
            name,
            "a weight initializer (not lsuv or a residual scheme, which set whole networks)",
        )),
    }
}

/// [`net_init`] before the per-layer initializers.
fn scheme_init(
    arch: &Arch,
    config: NetConfig,
    choice: InitChoice,
) -> Result<(NetConfig, NetInit), BenchError> {
    let he = match lookup("he_normal", arch.activation)? {
        InitChoice::Strategy(layer) => NetInit::new(layer.weight, layer.bias),
        _ => unreachable!("he_normal is a strategy"),
    };
    Ok(match choice {
        InitChoice::Strategy(layer) => (config, NetInit::new(layer.weight, layer.bias)),
        // Orthogonal weights, rescaled on data after the build.
        InitChoice::Lsuv => (
            config,
            NetInit::new(
                initlab_init::Initializer::Zeros,
                initlab_init::Initializer::Zeros,
            ),
        ),
        InitChoice::Residual(scheme) => match scheme {
            Scheme::Fixup => (
                config.with_alpha(Alpha::learnable(1.0)),
                he.with_branch(BranchInit::Fixup),
            ),
            Scheme::SkipInit | Scheme::ReZero => (config.with_alpha(Alpha::learnable(0.0)), he),
            Scheme::ZeroLast => (config, he.with_branch(BranchInit::ZeroLast)),
            Scheme::ZeroGamma => (config.with_zero_gamma(), he),
            Scheme::Gpt2 => (
                config,
                NetInit::new(
                    initlab_init::Initializer::normal(0.0, 0.02),
                    initlab_init::Initializer::Zeros,
                )
                .with_branch(BranchInit::Gpt2 { std: 0.02 }),
            ),
        },
    })
}

/// Refuses an initializer that does not apply to `arch`: residual schemes without residual
/// blocks, zero γ without a norm ending a post-activation branch.
///
/// # Errors
/// [`BenchError::Invalid`] naming the initializer and the architecture.
pub(crate) fn check_applies(
    arch: &Arch,
    name: &str,
    choice: &InitChoice,
) -> Result<(), BenchError> {
    let problem = match (choice, arch.residual) {
        (InitChoice::Strategy(layer), _)
            if arch.conv.is_none()
                && matches!(
                    layer.weight,
                    initlab_init::Initializer::DeltaOrthogonal { .. }
                ) =>
        {
            "delta-orthogonal is made for convolutions (set kernel = ...); orthogonal is its dense form"
        }
        (InitChoice::Strategy(_), _) => return Ok(()),
        (InitChoice::Lsuv, _) => return Ok(()),
        (InitChoice::Residual(_), None) => "it has no residual blocks (set blocks = ...)",
        (InitChoice::Residual(Scheme::ZeroGamma), Some(r))
            if arch.norm.is_none() || r.ordering != Ordering::PostActivation =>
        {
            "zero γ zeroes the norm that ends a post-activation branch (ordering = \"post\" with a norm)"
        }
        (InitChoice::Residual(_), Some(_)) => return Ok(()),
    };
    Err(BenchError::invalid(
        "init",
        name,
        format!("an initializer for {}: {problem}", arch.label()),
    ))
}
