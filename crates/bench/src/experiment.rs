//! One training run and grids of them: an architecture, an initializer, an optimizer and a
//! seed, trained on a dataset, with the metrics that show what the initializer did.

use std::time::Instant;

use indicatif::ProgressBar;
use ndarray::s;
use nn::mup::Parametrization;
use nn::net::{Alpha, BranchInit, Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock};
use nn::{
    Activation, Event, History, LayerDiagnostics, Loss, LsuvConfig, Mlp, MlpConfig, NnError,
    Optimizer, Status, TrainConfig, Trainer,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::BenchError;
use crate::data::{Dataset, Labels};
use crate::network::Network;
use crate::registry::{InitChoice, Scheme, lookup};
use crate::throughput::gemm_flops_per_sample;
use crate::verdict::verdict;

/// A network's hidden layers, their activation and how its output is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arch {
    /// Units of each hidden layer, input side first; at least one layer.
    pub hidden: Vec<usize>,
    /// Nonlinearity after every hidden layer.
    pub activation: Activation,
    /// The output layer.
    #[serde(default)]
    pub output: Head,
    /// Normalization: after every hidden dense layer of a plain network, before every
    /// activation of a residual branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<Norm>,
    /// Residual blocks on a stream of `hidden[0]` units; `None` for a plain network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual: Option<Residual>,
    /// Weight initializers for single dense layers by path (`layers.0`,
    /// `layers.3.branch.1`), in place of the run's: `[path, initializer name]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_inits: Vec<(String, String)>,
}

/// A residual network: a dense stem from the input to the stream's width, `blocks`
/// residual blocks of `layers` dense layers each, and the output layer (after a final
/// normalization and activation in pre-activation nets, as He et al. 2016 do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residual {
    /// Residual blocks, the `L` of Fixup and GPT-2.
    pub blocks: usize,
    /// Dense layers per branch, 1–3.
    pub layers: usize,
    /// Pre- or post-activation blocks.
    pub ordering: Ordering,
}

/// How a network's output layer is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// One logit per class, softmax cross-entropy (or one per target, squared error, for
    /// regression).
    #[default]
    Softmax,
    /// One logit for two classes, binary cross-entropy of its sigmoid: class 1 when the
    /// logit is positive.
    Sigmoid,
}

impl Arch {
    /// `depth` hidden layers of `width` units.
    pub fn uniform(depth: usize, width: usize, activation: Activation) -> Self {
        Self {
            hidden: vec![width; depth],
            activation,
            output: Head::Softmax,
            norm: None,
            residual: None,
            layer_inits: Vec::new(),
        }
    }

    /// A short label, safe in a CSV field: `relu 10x256` for equal widths, `relu 10-5`
    /// otherwise, and ` sigmoid` after a one-logit output.
    pub fn label(&self) -> String {
        let widths = match self.hidden.as_slice() {
            [first, rest @ ..] if rest.iter().all(|w| w == first) => {
                format!("{}x{first}", self.hidden.len())
            }
            widths => widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
        };
        let widths = match self.residual {
            None => widths,
            Some(r) => format!(
                "{} blocks of {}x{} {}",
                r.blocks,
                r.layers,
                self.hidden[0],
                match r.ordering {
                    Ordering::PreActivation => "pre",
                    Ordering::PostActivation => "post",
                }
            ),
        };
        let norm = match self.norm {
            None => "",
            Some(Norm::Batch) => " batchnorm",
            Some(Norm::Layer) => " layernorm",
        };
        let head = match self.output {
            Head::Softmax => "",
            Head::Sigmoid => " sigmoid",
        };
        let layers: String = self
            .layer_inits
            .iter()
            .map(|(path, init)| format!(" {path}={init}"))
            .collect();
        format!("{} {widths}{norm}{head}{layers}", self.activation)
    }

    /// The width of each hidden stage (a dense layer with what follows it, or a block).
    pub fn stage_widths(&self) -> Vec<usize> {
        match self.residual {
            None => self.hidden.clone(),
            Some(r) => vec![self.hidden[0]; r.blocks + 1],
        }
    }

    /// Whether it needs [`nn::net`]: normalization, residual blocks or per-layer
    /// initializers.
    pub fn is_net(&self) -> bool {
        self.norm.is_some() || self.residual.is_some() || !self.layer_inits.is_empty()
    }
}

/// Everything that defines one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Hidden layers.
    pub arch: Arch,
    /// Initializer name (see [`crate::registry::CATALOG`]).
    pub init: String,
    /// Update rule and learning rate.
    pub optimizer: Optimizer,
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Seed of the initialization and of the shuffles.
    pub seed: u64,
    /// Test accuracy counted as converged.
    pub target_accuracy: f64,
    /// μP's base hidden width (every hidden layer of the base this wide); `None` for the
    /// standard parametrization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mup_base: Option<usize>,
}

impl RunSpec {
    /// `standard`, or `mup` (base width in the spec).
    pub fn parametrization_name(&self) -> String {
        match self.mup_base {
            None => "standard".into(),
            Some(base) => format!("mup (base {base})"),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Reached the target accuracy.
    Converged,
    /// Finished without reaching it.
    Stalled,
    /// Finished below the target after doing much better at an earlier epoch: its test
    /// accuracy fell by 20 points or more from its best (for regression, its last epoch's
    /// training loss was twice its best epoch's or more).
    Collapsed {
        /// 0-based epoch of the best score.
        best_epoch: usize,
    },
    /// Loss or gradients became NaN or infinite.
    Diverged {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based step.
        step: u64,
    },
}

impl Outcome {
    /// `converged`, `stalled` or `diverged`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::Stalled => "stalled",
            Outcome::Collapsed { .. } => "collapsed",
            Outcome::Diverged { .. } => "diverged",
        }
    }
}

/// Metrics after one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Optimizer steps taken by the end of the epoch.
    pub step: u64,
    /// Mean training loss over the epoch.
    #[serde(with = "nn::nonfinite")]
    pub train_loss: f64,
    /// Test accuracy after the epoch (classification), else `None`.
    #[serde(with = "nn::nonfinite::option")]
    pub test_accuracy: Option<f64>,
}

/// The training loss along a run, dense enough to show its dynamics: at initialization, then
/// every [`every`](Self::every) steps.
///
/// Step `s`'s loss is its mini-batch's mean loss on the weights after `s` updates, before
/// its own: step 0's is the loss at initialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossCurve {
    /// Steps between recorded points, chosen so that a run has at most [`CURVE_POINTS`]
    /// points after step 0 (every step when it has fewer steps than that).
    pub every: u64,
    /// Step 0's loss, then at every `every`-th step the mean loss of the `every` steps up to
    /// and including it; the run's last step closes a shorter window. A run that diverged
    /// ends at its last finite step.
    pub points: Vec<CurvePoint>,
}

/// One point of a [`LossCurve`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Updates applied before the point's (last) loss was measured.
    pub step: u64,
    /// Mean training loss (see [`LossCurve::points`]).
    #[serde(with = "nn::nonfinite")]
    pub train_loss: f64,
}

/// The most points a [`LossCurve`] records after step 0.
pub const CURVE_POINTS: u64 = 300;

impl LossCurve {
    /// The recording interval for a run of `steps` optimizer steps: the smallest that keeps
    /// it within [`CURVE_POINTS`] points after step 0, so a long run has 150 to 300.
    pub fn every_for(steps: u64) -> u64 {
        steps.saturating_sub(1).div_ceil(CURVE_POINTS).max(1)
    }
}

/// Mini-batch losses since the last recorded point.
#[derive(Debug, Default)]
struct Window {
    sum: f64,
    steps: u64,
    /// The latest step added.
    last: u64,
}

impl Window {
    /// Adds step `step`'s loss; step 0 and every `curve.every`-th step close a window.
    fn add(&mut self, curve: &mut LossCurve, step: u64, loss: f64) {
        self.sum += loss;
        self.steps += 1;
        self.last = step;
        if step.is_multiple_of(curve.every) {
            self.flush(curve);
        }
    }

    /// Records what the window holds as a point at its last step.
    fn flush(&mut self, curve: &mut LossCurve) {
        if self.steps > 0 {
            curve.points.push(CurvePoint {
                step: self.last,
                train_loss: self.sum / self.steps as f64,
            });
        }
        *self = Self::default();
    }
}

/// Per-layer statistics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochDiagnostics {
    /// 0-based epoch after which they were taken.
    pub epoch: usize,
    /// One entry per layer, the output layer last.
    pub layers: Vec<LayerDiagnostics>,
}

/// The most epochs [`RunResult::during_training`] holds: enough to follow a run, few enough
/// that a long full-batch run does not fill its results file with them.
pub const PROBED_EPOCHS: usize = 100;

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run.
    pub spec: RunSpec,
    /// Per-epoch metrics (fewer than `epochs` if it diverged).
    pub epochs: Vec<EpochMetrics>,
    /// The training loss step by step, from initialization on.
    pub loss_curve: LossCurve,
    /// How it ended.
    pub outcome: Outcome,
    /// Optimizer steps until the test accuracy first reached the target, measured at epoch
    /// ends.
    pub steps_to_target: Option<u64>,
    /// Test accuracy (or, for regression, the negated test loss) at the end.
    #[serde(with = "nn::nonfinite")]
    pub final_accuracy: f64,
    /// Test accuracy before any training.
    #[serde(with = "nn::nonfinite")]
    pub initial_accuracy: f64,
    /// Per-layer statistics at initialization on a training batch.
    pub at_init: Vec<LayerDiagnostics>,
    /// Per-layer statistics on the same batch after training epochs: every epoch of a run
    /// of up to [`PROBED_EPOCHS`] epochs, every k-th of a longer one (and its last).
    pub during_training: Vec<EpochDiagnostics>,
    /// One line on what happened and why.
    pub verdict: String,
    /// Training wall time, seconds.
    #[serde(with = "nn::nonfinite")]
    pub wall_seconds: f64,
    /// Training samples per second.
    #[serde(with = "nn::nonfinite")]
    pub samples_per_second: f64,
    /// Achieved GEMM GFLOP/s.
    #[serde(with = "nn::nonfinite")]
    pub gflops: f64,
}

/// The deepest network built: deeper ones are refused before their layer list is made.
pub const MAX_DEPTH: usize = 100_000;

/// The most runs one grid may hold.
pub const MAX_RUNS: usize = 1_000_000;

/// Samples used for diagnostics and LSUV.
const PROBE_ROWS: usize = 256;

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
    network_of(arch, dataset.inputs(), output)
}

/// The network of `arch` from `input` features to `output` logits: an MLP when it has
/// neither normalization nor residual blocks, else a [`NetConfig`] (see [`Residual`] for
/// the layout of residual networks).
///
/// # Errors
/// [`BenchError`] naming `depth`, `width` or `blocks` when one is 0 or too large.
pub fn network_of(arch: &Arch, input: usize, output: usize) -> Result<Network, BenchError> {
    let plain = layers(input, &arch.hidden, output, arch.activation)?;
    if !arch.is_net() {
        return Ok(Network::Mlp(plain));
    }
    let activation = arch.activation;
    let Some(residual) = arch.residual else {
        let config = NetConfig::plain(input, &arch.hidden, activation, arch.norm, output);
        return Ok(Network::net(config, arch, input, output));
    };
    check_depth(residual.blocks).map_err(|e| e.for_field("blocks"))?;
    let width = arch.hidden[0];
    let mut block = ResidualBlock::new(width, residual.layers, activation, residual.ordering);
    block.norm = arch.norm;
    let stem = NetConfig::new(input).dense(width);
    let config = match residual.ordering {
        Ordering::PreActivation => {
            let blocks = stem.blocks(block, residual.blocks);
            let normed = match arch.norm {
                Some(norm) => blocks.norm(norm),
                None => blocks,
            };
            normed.activation(activation).dense(output)
        }
        Ordering::PostActivation => {
            let normed = match arch.norm {
                Some(norm) => stem.norm(norm),
                None => stem,
            };
            normed
                .activation(activation)
                .blocks(block, residual.blocks)
                .dense(output)
        }
    };
    Ok(Network::net(config, arch, input, output))
}

/// `input -> depth x width -> output` with `activation` on every hidden layer; the depth is
/// checked before any layer list is made.
///
/// # Errors
/// As [`layers`].
pub(crate) fn deep_arch(
    input: usize,
    depth: usize,
    width: usize,
    output: usize,
    activation: Activation,
) -> Result<MlpConfig, BenchError> {
    check_depth(depth)?;
    layers(input, &vec![width; depth], output, activation)
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
    let widths: Vec<usize> = std::iter::once(input)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(output))
        .collect();
    crate::memory::check_widths("width", &widths)?;
    Ok(MlpConfig::new(input, hidden.to_vec(), output).with_activation(activation))
}

/// The parametrization of a plain network's run: μP against a base of the same depth whose
/// hidden layers are all `mup_base` wide, or the standard one.
fn parametrization(spec: &RunSpec, config: &MlpConfig) -> Parametrization {
    match spec.mup_base {
        None => Parametrization::Standard,
        Some(width) => Parametrization::Mup {
            base: MlpConfig::new(
                config.input,
                vec![width; config.hidden.len()],
                config.output,
            )
            .with_activations(config.activations.clone()),
        },
    }
}

/// A network built for a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Built {
    /// A plain MLP.
    Mlp(Mlp<f32>),
    /// A network with normalization or residual blocks.
    Net(Net<f32>),
}

/// Builds and initializes the network a spec describes.
///
/// # Errors
/// An unknown initializer name, an invalid architecture, or an initializer that does not
/// apply to it (LSUV beyond plain MLPs, residual schemes without residual blocks).
pub fn build(dataset: &Dataset, spec: &RunSpec) -> Result<Built, BenchError> {
    let choice = lookup(&spec.init, spec.arch.activation)?;
    check_applies(&spec.arch, &spec.init, &choice)?;
    match network(dataset, &spec.arch)? {
        Network::Mlp(config) => build_mlp(dataset, spec, &config, choice).map(Built::Mlp),
        Network::Net { config, .. } => build_net(dataset, spec, config, choice).map(Built::Net),
    }
}

fn build_mlp(
    dataset: &Dataset,
    spec: &RunSpec,
    config: &MlpConfig,
    choice: InitChoice,
) -> Result<Mlp<f32>, BenchError> {
    Ok(match choice {
        InitChoice::Strategy(layer) => match parametrization(spec, config) {
            Parametrization::Standard => config.build(&layer.weight, &layer.bias, spec.seed)?,
            mup => mup.build(
                config,
                &spec.optimizer,
                &layer.weight,
                &layer.bias,
                spec.seed,
            )?,
        },
        InitChoice::Lsuv => {
            let mut mlp = config.build(
                &init::Initializer::Zeros,
                &init::Initializer::Zeros,
                spec.seed,
            )?;
            let rows = PROBE_ROWS.min(dataset.train_x.nrows());
            let config = LsuvConfig {
                seed: spec.seed,
                ..LsuvConfig::default()
            };
            nn::lsuv(&mut mlp, dataset.train_x.slice(s![..rows, ..]), config)?;
            mlp
        }
        InitChoice::Residual(_) => unreachable!("checked: a plain MLP has no residual blocks"),
    })
}

fn build_net(
    dataset: &Dataset,
    spec: &RunSpec,
    config: NetConfig,
    choice: InitChoice,
) -> Result<Net<f32>, BenchError> {
    let lsuv = matches!(choice, InitChoice::Lsuv);
    let (config, init) = net_init(&spec.arch, config, choice)?;
    let mut net = config.build(&init, spec.seed)?;
    if lsuv {
        let rows = PROBE_ROWS.min(dataset.train_x.nrows());
        let config = LsuvConfig {
            seed: spec.seed,
            ..LsuvConfig::default()
        };
        nn::net::lsuv(&mut net, dataset.train_x.slice(s![..rows, ..]), config)?;
    }
    Ok(net)
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

/// The initializer `name` of one dense layer (for `field`): a strategy, not LSUV or a
/// residual scheme, which set whole networks.
///
/// # Errors
/// [`BenchError::Invalid`] for `field` naming an unknown or whole-network initializer.
pub(crate) fn layer_init(
    field: &str,
    name: &str,
    activation: Activation,
) -> Result<nn::LayerInit, BenchError> {
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
            NetInit::new(init::Initializer::Zeros, init::Initializer::Zeros),
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
                    init::Initializer::normal(0.0, 0.02),
                    init::Initializer::Zeros,
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

/// What a run needs of a network, plain or not.
pub(crate) trait Model: Sync + Sized {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError>;
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError>;
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError>;
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError>;
    fn dense_shapes(&self) -> Vec<(usize, usize)>;
}

impl Model for Mlp<f32> {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError> {
        Mlp::accuracy(self, x, labels)
    }
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError> {
        self.loss(x, targets, loss)
    }
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError> {
        nn::diagnose(self, x, targets, loss, 0)
    }
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError> {
        Trainer::new(self, config)?.train(self, x, targets, on_event)
    }
    fn dense_shapes(&self) -> Vec<(usize, usize)> {
        self.config().layer_shapes()
    }
}

impl Model for Net<f32> {
    fn accuracy(&self, x: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> Result<f64, NnError> {
        Net::accuracy(self, x, labels)
    }
    fn mean_loss(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<f64, NnError> {
        self.loss(x, targets, loss)
    }
    fn diagnose(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        loss: Loss,
    ) -> Result<Vec<LayerDiagnostics>, NnError> {
        nn::net::diagnose(self, x, targets, loss, 0)
    }
    fn train(
        &mut self,
        config: TrainConfig,
        x: ndarray::ArrayView2<'_, f32>,
        targets: nn::Targets<'_, f32>,
        on_event: impl FnMut(&Event, &Self) + Send,
    ) -> Result<History, NnError> {
        nn::Trainer::new(self, config)?.train(self, x, targets, on_event)
    }
    fn dense_shapes(&self) -> Vec<(usize, usize)> {
        self.config().dense_shapes()
    }
}

/// What a run trains against: the loss its output head reads, and the training labels in
/// the form that loss compares with.
struct Objective {
    loss: Loss,
    /// Class labels as 0.0 / 1.0, one column, for a sigmoid head.
    binary_labels: Option<ndarray::Array2<f32>>,
}

impl Objective {
    fn new(dataset: &Dataset, arch: &Arch) -> Self {
        match (arch.output, &dataset.train_y) {
            (Head::Sigmoid, Labels::Classes(classes)) => Self {
                loss: Loss::BinaryCrossEntropyWithLogits,
                binary_labels: Some(ndarray::Array2::from_shape_fn(
                    (classes.len(), 1),
                    |(i, _)| classes[i] as f32,
                )),
            },
            (_, Labels::Classes(_)) => Self {
                loss: Loss::SoftmaxCrossEntropy,
                binary_labels: None,
            },
            (_, Labels::Values(_)) => Self {
                loss: Loss::MeanSquaredError,
                binary_labels: None,
            },
        }
    }

    /// The first `rows` training targets.
    fn targets<'a>(&'a self, dataset: &'a Dataset, rows: usize) -> nn::Targets<'a, f32> {
        match (&self.binary_labels, &dataset.train_y) {
            (Some(values), _) => nn::Targets::Values(values.slice(s![..rows, ..])),
            (None, Labels::Classes(c)) => nn::Targets::Classes(&c[..rows]),
            (None, Labels::Values(v)) => nn::Targets::Values(v.slice(s![..rows, ..])),
        }
    }

    /// Per-layer diagnostics on the first training rows.
    fn probe(
        &self,
        model: &impl Model,
        dataset: &Dataset,
    ) -> Result<Vec<LayerDiagnostics>, BenchError> {
        let rows = PROBE_ROWS.min(dataset.train_x.nrows());
        let x = dataset.train_x.slice(s![..rows, ..]);
        Ok(model.diagnose(x, self.targets(dataset, rows), self.loss)?)
    }

    /// Test accuracy, or the negated mean test loss for regression.
    fn score(&self, model: &impl Model, dataset: &Dataset) -> Result<f64, BenchError> {
        Ok(match &dataset.test_y {
            Labels::Classes(c) => model.accuracy(dataset.test_x.view(), c)?,
            Labels::Values(_) => {
                -model.mean_loss(dataset.test_x.view(), dataset.test_y.targets(), self.loss)?
            }
        })
    }
}

/// Trains one run, advancing `progress` by one per epoch.
///
/// # Errors
/// An invalid spec or data the network cannot use.
pub fn run(
    dataset: &Dataset,
    spec: &RunSpec,
    progress: &ProgressBar,
) -> Result<RunResult, BenchError> {
    match build(dataset, spec)? {
        Built::Mlp(mut mlp) => {
            let lr_scales = parametrization(spec, mlp.config())
                .train_config(
                    mlp.config(),
                    TrainConfig::new(Loss::SoftmaxCrossEntropy, spec.optimizer),
                )?
                .lr_scales;
            run_model(&mut mlp, dataset, spec, lr_scales, progress)
        }
        Built::Net(mut net) => run_model(&mut net, dataset, spec, Vec::new(), progress),
    }
}

/// [`run`] on a built network.
fn run_model(
    mlp: &mut impl Model,
    dataset: &Dataset,
    spec: &RunSpec,
    lr_scales: Vec<nn::LrScale>,
    progress: &ProgressBar,
) -> Result<RunResult, BenchError> {
    let objective = Objective::new(dataset, &spec.arch);
    let at_init = objective.probe(mlp, dataset)?;
    let initial_accuracy = objective.score(mlp, dataset)?;
    let rows = dataset.train_x.nrows();
    let steps_per_epoch = rows.div_ceil(spec.batch_size.clamp(1, rows.max(1))) as u64;
    let total_steps = steps_per_epoch.saturating_mul(spec.epochs as u64);
    let every = LossCurve::every_for(total_steps);
    // Room for every point, so recording a step never reallocates.
    let capacity = total_steps.div_ceil(every).min(CURVE_POINTS) as usize + 2;
    let mut loss_curve = LossCurve {
        every,
        points: Vec::with_capacity(capacity),
    };
    let mut window = Window::default();
    let config = TrainConfig::new(objective.loss, spec.optimizer)
        .with_batch_size(spec.batch_size)
        .with_epochs(spec.epochs)
        .with_seed(spec.seed)
        .with_lr_scales(lr_scales);
    let mut epochs = Vec::new();
    let mut steps_to_target = None;
    let mut steps = 0;
    let mut evaluation_error = None;
    let mut during_training = Vec::new();
    let start = Instant::now();
    let history = mlp.train(
        config,
        dataset.train_x.view(),
        objective.targets(dataset, rows),
        |event, mlp| match *event {
            Event::Step { step, loss, .. } => {
                steps += 1;
                window.add(&mut loss_curve, step, loss);
            }
            Event::EpochEnd { epoch, mean_loss } => {
                let probe_every = spec.epochs.div_ceil(PROBED_EPOCHS).max(1);
                if (epoch + 1).is_multiple_of(probe_every) || epoch + 1 == spec.epochs {
                    match objective.probe(mlp, dataset) {
                        Ok(layers) => during_training.push(EpochDiagnostics { epoch, layers }),
                        Err(e) => {
                            evaluation_error.get_or_insert(e);
                        }
                    }
                }
                let accuracy = match objective.score(mlp, dataset) {
                    Ok(a) => a,
                    Err(e) => {
                        evaluation_error.get_or_insert(e);
                        f64::NAN
                    }
                };
                if steps_to_target.is_none() && accuracy >= spec.target_accuracy {
                    steps_to_target = Some(steps);
                }
                epochs.push(EpochMetrics {
                    step: steps,
                    train_loss: mean_loss,
                    test_accuracy: dataset.is_classification().then_some(accuracy),
                });
                progress.inc(1);
            }
        },
    )?;
    let wall_seconds = start.elapsed().as_secs_f64();
    window.flush(&mut loss_curve);
    if let Some(error) = evaluation_error {
        return Err(error);
    }
    progress.inc((spec.epochs - epochs.len()) as u64);
    let final_accuracy = objective.score(mlp, dataset)?;
    let outcome = match history.status {
        Status::Diverged { epoch, step } => Outcome::Diverged { epoch, step },
        Status::Completed if final_accuracy >= spec.target_accuracy => Outcome::Converged,
        Status::Completed => match best_epoch(&epochs, final_accuracy, dataset.is_classification())
        {
            Some(best_epoch) => Outcome::Collapsed { best_epoch },
            None => Outcome::Stalled,
        },
    };
    let samples_per_second = (history.steps as usize)
        .saturating_mul(spec.batch_size)
        .min(dataset.train_x.nrows().saturating_mul(spec.epochs))
        as f64
        / wall_seconds;
    let gflops = samples_per_second * gemm_flops_per_sample(&mlp.dense_shapes()) / 1e9;
    let verdict = verdict(
        &spec.arch,
        &at_init,
        outcome,
        initial_accuracy,
        final_accuracy,
        dataset.is_classification(),
    );
    Ok(RunResult {
        spec: spec.clone(),
        epochs,
        loss_curve,
        outcome,
        steps_to_target,
        final_accuracy,
        initial_accuracy,
        at_init,
        during_training,
        verdict,
        wall_seconds,
        samples_per_second,
        gflops,
    })
}

/// The epoch of a run's best score if it fell from there to `final_score` by enough to
/// call the run collapsed (see [`Outcome::Collapsed`]).
fn best_epoch(epochs: &[EpochMetrics], final_score: f64, classification: bool) -> Option<usize> {
    if classification {
        let (epoch, best) = epochs
            .iter()
            .enumerate()
            .filter_map(|(e, m)| m.test_accuracy.map(|a| (e, a)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        (best - final_score >= 0.2).then_some(epoch)
    } else {
        // The training loss stands in for the test loss, which is measured only at the end.
        let (epoch, best) = epochs
            .iter()
            .enumerate()
            .map(|(e, m)| (e, m.train_loss))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let last = epochs.last()?.train_loss;
        (last >= 2.0 * best && best.is_finite() && epoch + 1 < epochs.len()).then_some(epoch)
    }
}

/// Runs every spec on `dataset`, several at once on the rayon pool (each run's trainer
/// shares the same pool, so cores are never oversubscribed, and BLAS stays
/// single-threaded). Results come back in the order of `specs`.
///
/// # Errors
/// The first run that failed.
pub fn run_all(
    dataset: &Dataset,
    specs: &[RunSpec],
    progress: &ProgressBar,
) -> Result<Vec<RunResult>, BenchError> {
    run_all_recorded(dataset, specs, progress, |_, _| Ok(()))
}

/// [`run_all`], calling `finished` with each run's position in `specs` and its result as
/// soon as it finishes (to record it), and failing with the first error either returns.
///
/// # Errors
/// The first run, or the first call of `finished`, that failed.
pub fn run_all_recorded(
    dataset: &Dataset,
    specs: &[RunSpec],
    progress: &ProgressBar,
    finished: impl Fn(usize, &RunResult) -> Result<(), BenchError> + Sync,
) -> Result<Vec<RunResult>, BenchError> {
    check_memory(dataset, specs)?;
    check_layer_paths(dataset, specs)?;
    // Evaluation and diagnostics run outside the trainer too: keep BLAS single-threaded
    // for the whole grid so concurrent runs never share OpenBLAS threads.
    let _single_threaded_blas = core_math::SingleThreadedBlas::new();
    specs
        .par_iter()
        .enumerate()
        .map(|(i, spec)| {
            let result = run(dataset, spec, progress)?;
            finished(i, &result)?;
            Ok(result)
        })
        .collect()
}

/// A run's estimated cost, for balancing shards: epochs times the samples it trains on
/// and evaluates times its GEMM flops per sample, plus the elementwise work of each unit.
///
/// # Errors
/// A spec whose network cannot be built on `dataset`.
pub fn estimated_cost(dataset: &Dataset, spec: &RunSpec) -> Result<f64, BenchError> {
    let shapes = network(dataset, &spec.arch)?.dense_shapes();
    let elementwise: f64 = shapes.iter().map(|&(_, out)| 16.0 * out as f64).sum();
    let per_sample = gemm_flops_per_sample(&shapes) + elementwise;
    let samples = dataset.train_x.nrows() as f64 + dataset.test_x.nrows() as f64 / 3.0;
    Ok(spec.epochs as f64 * samples * per_sample)
}

/// Refuses per-layer initializers whose paths name no dense layer of their network, before
/// any run trains.
///
/// # Errors
/// [`BenchError::Invalid`] naming the path and listing the network's.
fn check_layer_paths(dataset: &Dataset, specs: &[RunSpec]) -> Result<(), BenchError> {
    for spec in specs.iter().filter(|s| !s.arch.layer_inits.is_empty()) {
        if let Network::Net { config, .. } = network(dataset, &spec.arch)? {
            let he = lookup("he_normal", spec.arch.activation)?;
            net_init(&spec.arch, config, he)?;
        }
    }
    Ok(())
}

/// Refuses a grid whose runs, as many at once as the pool has threads, need more memory
/// than the machine has: checked before any network is built.
///
/// # Errors
/// [`BenchError::Memory`] naming the largest run's network and batch.
pub fn check_memory(dataset: &Dataset, specs: &[RunSpec]) -> Result<(), BenchError> {
    let at_once = rayon::current_num_threads().min(specs.len()) as u64;
    let (train, test) = (dataset.train_x.nrows(), dataset.test_x.nrows());
    // The run that needs the most; `None` bytes (past a u64) count as the most of all.
    let mut largest: Option<(Option<u64>, &RunSpec)> = None;
    for spec in specs {
        let network = network(dataset, &spec.arch)?;
        // A batch past the data trains as one the size of the data; evaluation runs
        // over the whole test split and diagnostics over PROBE_ROWS.
        let rows = spec.batch_size.min(train).max(test).max(PROBE_ROWS);
        let bytes = network
            .training_bytes(rows)
            .and_then(|b| b.checked_mul(at_once));
        let size = |b: Option<u64>| b.unwrap_or(u64::MAX);
        if largest.is_none_or(|(most, _)| size(bytes) > size(most)) {
            largest = Some((bytes, spec));
        }
    }
    match largest {
        None => Ok(()),
        Some((bytes, spec)) => crate::memory::check(
            &format!("{} at batch_size {}", spec.arch.label(), spec.batch_size),
            bytes,
        ),
    }
}

/// The cross product of architectures, initializers and seeds with shared settings.
///
/// # Errors
/// [`BenchError::Invalid`] past [`MAX_RUNS`] runs.
pub fn grid(
    archs: &[Arch],
    inits: &[&str],
    seeds: &[u64],
    template: &RunSpec,
) -> Result<Vec<RunSpec>, BenchError> {
    let runs = archs
        .len()
        .checked_mul(inits.len())
        .and_then(|n| n.checked_mul(seeds.len()))
        .filter(|&n| n <= MAX_RUNS)
        .ok_or_else(|| {
            BenchError::invalid(
                "architectures x initializers x seeds",
                format!("{} x {} x {}", archs.len(), inits.len(), seeds.len()),
                format!("at most {MAX_RUNS} runs"),
            )
        })?;
    let mut specs = Vec::with_capacity(runs);
    for arch in archs {
        for &init in inits {
            for &seed in seeds {
                specs.push(RunSpec {
                    arch: arch.clone(),
                    init: init.to_owned(),
                    seed,
                    ..template.clone()
                });
            }
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epochs(accuracies: &[f64]) -> Vec<EpochMetrics> {
        accuracies
            .iter()
            .map(|&a| EpochMetrics {
                step: 0,
                train_loss: 1.0 - a,
                test_accuracy: Some(a),
            })
            .collect()
    }

    #[test]
    fn a_fall_of_twenty_points_from_the_best_epoch_is_a_collapse() {
        // Reached 89%, ended at 17%: not "stalled".
        assert_eq!(best_epoch(&epochs(&[0.5, 0.89, 0.17]), 0.17, true), Some(1));
        assert_eq!(best_epoch(&epochs(&[0.5, 0.6, 0.45]), 0.45, true), None);
        assert_eq!(best_epoch(&epochs(&[0.1, 0.1]), 0.1, true), None);
        let regression = |losses: &[f64]| -> Vec<EpochMetrics> {
            losses
                .iter()
                .map(|&l| EpochMetrics {
                    step: 0,
                    train_loss: l,
                    test_accuracy: None,
                })
                .collect()
        };
        assert_eq!(
            best_epoch(&regression(&[1.0, 0.1, 0.3]), -0.3, false),
            Some(1)
        );
        assert_eq!(
            best_epoch(&regression(&[1.0, 0.1, 0.15]), -0.15, false),
            None
        );
    }
}
