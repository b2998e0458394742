//! The coordinate check of `microsoft/mup`: train MLPs of growing width a few steps at one
//! learning rate, under the standard parametrization and under μP, and see whether each
//! layer's typical activation size depends on width.
//!
//! Per width, seed and step, the mean `|x|` of every hidden layer's activations and of the
//! logits on a fixed probe batch; per parametrization, step and layer, the slope of
//! `ln(mean |x|)` against `ln(width)` (least squares, one slope per seed, then their mean
//! and spread). Flat (`|slope| < 0.1`) is width-stable. The slope is fitted over the
//! larger half of the widths (at least two): μP's activations approach their
//! infinite-width values with corrections that shrink as `1/sqrt(width)`, which would tilt
//! a fit through the smallest widths.
//!
//! The first step's relative update of every layer's output, `‖x₁ - x₀‖ / ‖x₀‖`, against
//! width too: the quantity μP holds fixed (Θ(1): features move by a width-independent
//! fraction), where the standard parametrization's grows with width under Adam. The
//! logits are the exception: μP starts them at O(1/sqrt(width)) and moves them by O(1), so
//! their relative update grows as sqrt(width) (predicted slope 0.5).
//!
//! The same networks also give the signal across width (`initlab signal --widths`): each
//! layer's mean square pre-activation at initialization, and each layer's own first
//! update `‖ΔW x‖ / ‖W x‖` with `x` its input at initialization, which isolates the layer
//! from the changes below it. The scaling argument predicts both slopes under both
//! parametrizations, for Adam and for SGD (see `Predictions`). For the mean `|x|` and the
//! output's relative update only μP's slopes are predicted: under the standard
//! parametrization they compound layer by layer, and leave the regime of any simple
//! power once ReLUs die.
//!
//! The network is a plain stack or a residual net of pre-activation blocks ([`Shape`]);
//! μP for both comes from [`initlab_nn::mup::parametrize`]. Stage quantities (mean `|x|`,
//! the output's update) are measured at each hidden stage's output, a dense layer or a
//! residual block with what follows it (as [`Net::activations`] gives them); per-layer
//! quantities (the second moment, the own update) at every dense layer, a block's branch
//! layers included.

mod markdown;

use initlab_nn::mup::parametrize;
use initlab_nn::net::{Net, NetConfig, NetInit, Norm, Ordering};
use initlab_nn::{Activation, Loss, Optimizer, Targets, TrainConfig, Trainer};
use ndarray::{ArrayView2, s};
use serde::Serialize;

use crate::BenchError;
use crate::experiment::{Arch, Head, Residual};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordCheckConfig {
    /// Hidden widths, increasing; the first is μP's base width.
    pub widths: Vec<usize>,
    /// The network at each width.
    pub shape: Shape,
    /// Its hidden activation.
    pub activation: Activation,
    /// Update rule and learning rate, the same for every width.
    pub optimizer: Optimizer,
    /// Training steps recorded (1, 2, ... after each).
    pub steps: usize,
    /// Samples per step (a fresh batch each step).
    pub batch: usize,
    /// Seeds of the weights.
    pub seeds: Vec<u64>,
    /// What runs the f32 products.
    pub kernel: initlab_gemm::Kernel,
}

/// The network whose width grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// `depth` hidden dense layers, each followed by `norm` (if any) and the activation.
    Plain {
        /// Hidden layers.
        depth: usize,
        /// Normalization after each hidden dense layer.
        norm: Option<Norm>,
    },
    /// A dense stem, `blocks` pre-activation residual blocks of two dense layers (`norm`
    /// and the activation before each), then `norm`, the activation and the output
    /// layer: the stem is μP's input layer, every branch layer a hidden one.
    Residual {
        /// Residual blocks.
        blocks: usize,
        /// Normalization in the branches and after the last block.
        norm: Option<Norm>,
    },
}

impl Shape {
    /// The network from `input` features to `classes` at hidden width `width`, as an
    /// experiment file's architecture of these layers builds it.
    ///
    /// # Errors
    /// A depth or width that is 0 or too large.
    pub fn net_config(
        self,
        input: usize,
        width: usize,
        activation: Activation,
        classes: usize,
    ) -> Result<NetConfig, BenchError> {
        let (hidden, residual) = match self {
            Self::Plain { depth, .. } => {
                crate::experiment::check_depth(depth)?;
                (vec![width; depth], None)
            }
            Self::Residual { blocks, .. } => (
                vec![width],
                Some(Residual {
                    blocks,
                    layers: 2,
                    ordering: Ordering::PreActivation,
                }),
            ),
        };
        let arch = Arch {
            hidden,
            activation,
            output: Head::Softmax,
            norm: self.norm(),
            residual,
            layer_inits: Vec::new(),
            conv: None,
        };
        Ok(crate::experiment::network_of(&arch, input, classes)?.config)
    }

    /// Hidden stages: a plain net's dense layers, a residual net's stem and blocks.
    pub fn stages(self) -> usize {
        match self {
            Self::Plain { depth, .. } => depth,
            Self::Residual { blocks, .. } => blocks + 1,
        }
    }

    /// Dense layers, the output layer included.
    pub fn dense_layers(self) -> usize {
        match self {
            Self::Plain { depth, .. } => depth + 1,
            Self::Residual { blocks, .. } => 2 * blocks + 2,
        }
    }

    /// Residual blocks, if any.
    pub fn blocks(self) -> Option<usize> {
        match self {
            Self::Plain { .. } => None,
            Self::Residual { blocks, .. } => Some(blocks),
        }
    }

    /// The normalization layers' kind, if any.
    pub fn norm(self) -> Option<Norm> {
        match self {
            Self::Plain { norm, .. } | Self::Residual { norm, .. } => norm,
        }
    }

    /// The depth the shape counts in: hidden layers or blocks.
    fn depth(self) -> usize {
        match self {
            Self::Plain { depth, .. } => depth,
            Self::Residual { blocks, .. } => blocks,
        }
    }
}

/// One measurement of one layer: its mean `|x|` after some steps, the first step's
/// update of its output or of its own weights, or its second moment at initialization
/// (the report's field says which).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coord {
    /// `standard` or `mup`.
    pub parametrization: &'static str,
    /// Hidden width.
    pub width: usize,
    /// Weight seed.
    pub seed: u64,
    /// Steps taken before the measurement (0 at initialization).
    pub step: usize,
    /// 1-based stage or dense layer, as the report's field says; the last is the logits.
    pub layer: usize,
    /// The quantity measured.
    pub value: f64,
}

/// A slope in width of one layer at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slope {
    /// `standard` or `mup`.
    pub parametrization: &'static str,
    /// Steps taken.
    pub step: usize,
    /// 1-based stage or dense layer, as the report's field says; the last is the logits.
    pub layer: usize,
    /// Mean over seeds of the least-squares slope of the quantity's log against
    /// `ln(width)`.
    pub slope: f64,
    /// Standard error of that mean over seeds.
    pub standard_error: f64,
    /// The theory's slope, where it gives one.
    pub predicted: Option<f64>,
}

impl Slope {
    /// `flat`, `grows` or `shrinks` with width.
    pub fn verdict(&self) -> &'static str {
        if self.slope.abs() < FLAT {
            "flat"
        } else if self.slope > 0.0 {
            "grows"
        } else {
            "shrinks"
        }
    }
}

/// Slopes below this in magnitude count as width-stable.
pub const FLAT: f64 = 0.1;

/// Everything a coordinate check measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoordCheckReport {
    /// Hidden widths.
    pub widths: Vec<usize>,
    /// Hidden stages: a plain net's hidden layers, a residual net's stem and blocks.
    pub depth: usize,
    /// A residual net's blocks (none for a plain net).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<usize>,
    /// The normalization layers' kind, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm: Option<Norm>,
    /// Steps recorded.
    pub steps: usize,
    /// The optimizer, as configured.
    pub optimizer: String,
    /// Each stage's mean `|x|` on the probe batch after steps 1, 2, ...
    pub coords: Vec<Coord>,
    /// Their slopes in width, per step.
    pub slopes: Vec<Slope>,
    /// How far the first step moved each stage's output, `‖x₁ - x₀‖ / ‖x₀‖` over the
    /// probe batch (Frobenius norms): the change it inherits from the layers below
    /// included.
    pub updates: Vec<Coord>,
    /// Their slopes in width.
    pub update_slopes: Vec<Slope>,
    /// Each dense layer's mean square pre-activation `q = mean (W x + b)²` at initialization
    /// on the probe batch: the variance the signal report follows through depth.
    pub second_moments: Vec<Coord>,
    /// Their slopes in width.
    pub second_moment_slopes: Vec<Slope>,
    /// Each dense layer's own first update, `‖ΔW x‖ / ‖W x‖` with `x` the layer's input at
    /// initialization: the quantity μP holds Θ(1), free of what the layers below did.
    pub weight_updates: Vec<Coord>,
    /// Their slopes in width.
    pub weight_update_slopes: Vec<Slope>,
}

/// Runs the check on `inputs` (at least `steps * batch` rows; the first `batch` are also
/// the probe batch) with `classes` outputs, advancing `progress` by one per network.
///
/// # Errors
/// Fewer than two widths, widths not increasing, a zero size, too few rows, or a network
/// the trainer rejects.
pub fn run(
    inputs: ArrayView2<'_, f32>,
    labels: &[usize],
    classes: usize,
    config: &CoordCheckConfig,
    progress: &indicatif::ProgressBar,
) -> Result<CoordCheckReport, BenchError> {
    if config.widths.len() < 2 || config.widths.windows(2).any(|w| w[0] >= w[1]) {
        return Err(BenchError::invalid(
            "widths",
            format!("{:?}", config.widths),
            "two or more increasing widths",
        ));
    }
    for (field, value) in [
        (
            if config.shape.blocks().is_some() {
                "blocks"
            } else {
                "depth"
            },
            config.shape.depth(),
        ),
        ("steps", config.steps),
        ("batch", config.batch),
        ("seeds", config.seeds.len()),
        ("widths", config.widths[0]),
    ] {
        if value == 0 {
            return Err(BenchError::invalid(field, 0, "at least 1"));
        }
    }
    let rows = config.steps.checked_mul(config.batch);
    if rows.is_none_or(|rows| rows > inputs.nrows()) {
        return Err(BenchError::invalid(
            "steps x batch",
            format!("{} x {}", config.steps, config.batch),
            format!("at most the {} samples of the data", inputs.nrows()),
        ));
    }
    let shape = |width| {
        config
            .shape
            .net_config(inputs.ncols(), width, config.activation, classes)
    };
    let base = shape(config.widths[0])?;
    let he = NetInit::new(
        initlab_init::Initializer::he_normal(config.activation.nonlinearity()),
        initlab_init::Initializer::Zeros,
    );
    let probe = inputs.slice(s![..config.batch, ..]);
    let mut coords = Vec::new();
    let (mut updates, mut second_moments, mut weight_updates) =
        (Vec::new(), Vec::new(), Vec::new());
    for parametrization in PARAMETRIZATIONS {
        for &width in &config.widths {
            let target = shape(width)?;
            let (init, lr_scales) = match parametrization {
                "mup" => parametrize(&target, &base, &config.optimizer, &he)?,
                _ => (he.clone(), Vec::new()),
            };
            for &seed in &config.seeds {
                let point = |step: usize, layer: usize, value: f64| Coord {
                    parametrization,
                    width,
                    seed,
                    step,
                    layer,
                    value,
                };
                let mut net: Net<f32> = target.build(&init, seed)?;
                net.set_kernel(config.kernel);
                let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, config.optimizer)
                    .with_batch_size(config.batch)
                    .with_lr_scales(lr_scales.clone());
                let mut trainer = Trainer::new(&net, train)?;
                let at_init = net.activations(probe)?;
                let layer_inputs = net.dense_inputs(probe)?;
                let mut initial = Vec::new();
                for (l, ((weight, bias), x)) in net
                    .dense_parameters()
                    .into_iter()
                    .zip(&layer_inputs)
                    .enumerate()
                {
                    let wx = x.dot(&weight.t());
                    let h = &wx + &bias;
                    second_moments.push(point(0, l + 1, mean_square(h.view())));
                    initial.push((weight.to_owned(), norm(wx.view())));
                }
                for step in 1..=config.steps {
                    let batch = (step - 1) * config.batch..step * config.batch;
                    let x = inputs.slice(s![batch.clone(), ..]);
                    trainer.train_batch(&mut net, x, Targets::Classes(&labels[batch]))?;
                    let outputs = net.activations(probe)?;
                    if step == 1 {
                        for (l, (after, before)) in outputs.iter().zip(&at_init).enumerate() {
                            let change = norm((after - before).view()) / norm(before.view());
                            updates.push(point(1, l + 1, change));
                        }
                        let dense = net.dense_parameters();
                        let layers = dense.iter().zip(&initial).zip(&layer_inputs);
                        for (l, (((weight, _), (w0, wx_norm)), x)) in layers.enumerate() {
                            let delta_wx = x.dot(&(weight - w0).t());
                            weight_updates.push(point(1, l + 1, norm(delta_wx.view()) / wx_norm));
                        }
                    }
                    for (l, output) in outputs.iter().enumerate() {
                        let mean_abs = output.iter().map(|v| f64::from(v.abs())).sum::<f64>()
                            / output.len() as f64;
                        coords.push(point(step, l + 1, mean_abs));
                    }
                }
                progress.inc(1);
            }
        }
    }
    let predictions = Predictions::for_run(&config.optimizer, config.shape);
    let (stages, dense) = (config.shape.stages() + 1, config.shape.dense_layers());
    let fit = |points: &[Coord], steps, layers, predict: &dyn Fn(&str, usize) -> Option<f64>| {
        slopes(points, config, steps, layers, predict)
    };
    let slopes = fit(&coords, 1..=config.steps, stages, &|p, _| {
        predictions.mean_abs(p)
    });
    let update_slopes = fit(&updates, 1..=1, stages, &|p, l| {
        predictions.output_update(p, l)
    });
    let second_moment_slopes = fit(&second_moments, 0..=0, dense, &|p, l| {
        predictions.second_moment(p, l)
    });
    let weight_update_slopes = fit(&weight_updates, 1..=1, dense, &|p, l| {
        predictions.weight_update(p, l)
    });
    Ok(CoordCheckReport {
        widths: config.widths.clone(),
        depth: config.shape.stages(),
        blocks: config.shape.blocks(),
        norm: config.shape.norm(),
        steps: config.steps,
        optimizer: format!("{:?}", config.optimizer),
        coords,
        slopes,
        updates,
        update_slopes,
        second_moments,
        second_moment_slopes,
        weight_updates,
        weight_update_slopes,
    })
}

/// The two parametrizations compared, as the report names them.
const PARAMETRIZATIONS: [&str; 2] = ["standard", "mup"];

/// Frobenius norm, accumulated in f64.
fn norm(a: ArrayView2<'_, f32>) -> f64 {
    a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt()
}

fn mean_square(a: ArrayView2<'_, f32>) -> f64 {
    a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / a.len() as f64
}

/// The slopes in width that the scaling argument gives, per parametrization and layer.
///
/// At initialization a fan_in-scaled initializer holds every pre-activation's second
/// moment fixed in width; μP's output layer starts with variance `1/fan_in²`, so its
/// logits' second moment falls as `1/width` (slope -1).
///
/// The first step, with `x` a layer's input at initialization (its coordinates Θ(1)) and
/// `n` the width: a hidden layer's `ΔW x` sums `n` products that move together (the
/// gradient is built from the same inputs), so it is `n` times one entry of `ΔW`.
/// - Adam's first step moves every weight by ±lr: `ΔW x` is Θ(n·lr) against `W x` Θ(1),
///   slope 1 from layer 2 on; layer 1's fan-in is the input's, slope 0.
/// - SGD's step is `lr δ xᵀ`. Under the standard parametrization the backward signal `δ`
///   reaching a hidden layer is Θ(1/sqrt(n)) per unit (the output weights are
///   Θ(1/sqrt(n))): hidden layers' `ΔW x` is Θ(sqrt(n)) (slope 0.5), layer 1's is
///   Θ(1/sqrt(n)) (slope -0.5) and the output layer's, driven by a Θ(1) loss gradient,
///   Θ(n) (slope 1).
/// - μP's learning rates cancel these: slope 0 for every hidden layer under either
///   optimizer. Its output layer's `ΔW x` is Θ(1) against `W x` Θ(1/sqrt(n)): slope 0.5.
///
/// The change of a layer's output compounds the changes below it: in the limit each
/// standard layer past the first multiplies it by `n` under Adam (slopes 0, 1, 2, ...),
/// but at widths where `n·lr` is not large against 1 the measured slope falls short of
/// that limit, so only μP's (0, and 0.5 for its logits) are predicted.
///
/// A residual net of pre-activation blocks follows the same argument under Adam, whose
/// first step moves every weight by ±lr whatever its gradient: the stem is the input
/// layer, every branch layer a hidden one fed Θ(1) coordinates. Under SGD the backward
/// signal through normalization layers and skips is not the plain stack's, and μP leaves
/// the normalization gains at the configured rate (see [`initlab_nn::mup::scalings`]), so
/// only the second moments at initialization are predicted there (or with norms).
#[derive(Debug, Clone, Copy)]
struct Predictions {
    adam: bool,
    /// Whether the scaling argument covers training: Adam, or SGD-like rules on a plain
    /// stack without normalization.
    training: bool,
    /// The logits' index among the stages and among the dense layers.
    logit_stage: usize,
    logit_layer: usize,
}

impl Predictions {
    fn for_run(optimizer: &Optimizer, shape: Shape) -> Self {
        let adam = matches!(optimizer, Optimizer::Adam { .. });
        let plain = matches!(shape, Shape::Plain { norm: None, .. });
        Self {
            adam,
            training: adam || plain,
            logit_stage: shape.stages() + 1,
            logit_layer: shape.dense_layers(),
        }
    }

    fn mean_abs(self, parametrization: &str) -> Option<f64> {
        (self.training && parametrization == "mup").then_some(0.0)
    }

    fn second_moment(self, parametrization: &str, layer: usize) -> Option<f64> {
        Some(if parametrization == "mup" && layer == self.logit_layer {
            -1.0
        } else {
            0.0
        })
    }

    fn weight_update(self, parametrization: &str, layer: usize) -> Option<f64> {
        if !self.training {
            return None;
        }
        Some(match (parametrization, layer) {
            ("mup", l) if l == self.logit_layer => 0.5,
            ("mup", _) => 0.0,
            (_, l) if l == self.logit_layer => 1.0,
            (_, 1) if self.adam => 0.0,
            (_, 1) => -0.5,
            _ if self.adam => 1.0,
            _ => 0.5,
        })
    }

    fn output_update(self, parametrization: &str, stage: usize) -> Option<f64> {
        (self.training && parametrization == "mup").then_some(if stage == self.logit_stage {
            0.5
        } else {
            0.0
        })
    }
}

/// The widths the slopes are fitted over: the larger half, at least two.
pub fn fitted_widths(widths: &[usize]) -> &[usize] {
    let count = widths.len().div_ceil(2).max(2).min(widths.len());
    &widths[widths.len() - count..]
}

/// The slope in width of `coords` per parametrization, step in `steps` and layer of
/// `1..=layers`.
fn slopes(
    coords: &[Coord],
    config: &CoordCheckConfig,
    steps: std::ops::RangeInclusive<usize>,
    layers: usize,
    predict: &dyn Fn(&str, usize) -> Option<f64>,
) -> Vec<Slope> {
    let fitted = fitted_widths(&config.widths);
    let ln_widths: Vec<f64> = fitted.iter().map(|&w| (w as f64).ln()).collect();
    let mut out = Vec::new();
    for parametrization in PARAMETRIZATIONS {
        for step in steps.clone() {
            for layer in 1..=layers {
                let per_seed: Vec<f64> = config
                    .seeds
                    .iter()
                    .map(|&seed| {
                        let ys: Vec<f64> = fitted
                            .iter()
                            .map(|&width| {
                                coords
                                    .iter()
                                    .find(|c| {
                                        c.parametrization == parametrization
                                            && c.width == width
                                            && c.seed == seed
                                            && c.step == step
                                            && c.layer == layer
                                    })
                                    .map_or(f64::NAN, |c| c.value.ln())
                            })
                            .collect();
                        crate::fit::slope(&ln_widths, &ys)
                    })
                    .collect();
                let n = per_seed.len() as f64;
                let slope = per_seed.iter().sum::<f64>() / n;
                let standard_error = if per_seed.len() > 1 {
                    (per_seed.iter().map(|s| (s - slope).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
                        / n.sqrt()
                } else {
                    f64::NAN
                };
                let predicted = predict(parametrization, layer);
                out.push(Slope {
                    parametrization,
                    step,
                    layer,
                    slope,
                    standard_error,
                    predicted,
                });
            }
        }
    }
    out
}
