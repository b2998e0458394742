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

use ndarray::{ArrayView2, s};
use nn::mup::Parametrization;
use nn::net::{Net, NetInit};
use nn::{Activation, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};
use serde::Serialize;

use crate::BenchError;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordCheckConfig {
    /// Hidden widths, increasing; the first is μP's base width.
    pub widths: Vec<usize>,
    /// Hidden layers.
    pub depth: usize,
    /// Their activation.
    pub activation: Activation,
    /// Update rule and learning rate, the same for every width.
    pub optimizer: Optimizer,
    /// Training steps recorded (1, 2, ... after each).
    pub steps: usize,
    /// Samples per step (a fresh batch each step).
    pub batch: usize,
    /// Seeds of the weights.
    pub seeds: Vec<u64>,
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
    /// 1-based layer; `depth + 1` is the logits.
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
    /// 1-based layer; `depth + 1` is the logits.
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
    /// Hidden layers.
    pub depth: usize,
    /// Steps recorded.
    pub steps: usize,
    /// The optimizer, as configured.
    pub optimizer: String,
    /// Each layer's mean `|x|` on the probe batch after steps 1, 2, ...
    pub coords: Vec<Coord>,
    /// Their slopes in width, per step.
    pub slopes: Vec<Slope>,
    /// How far the first step moved each layer's output, `‖x₁ - x₀‖ / ‖x₀‖` over the
    /// probe batch (Frobenius norms): the change it inherits from the layers below
    /// included.
    pub updates: Vec<Coord>,
    /// Their slopes in width.
    pub update_slopes: Vec<Slope>,
    /// Each layer's mean square pre-activation `q = mean (W x + b)²` at initialization
    /// on the probe batch: the variance the signal report follows through depth.
    pub second_moments: Vec<Coord>,
    /// Their slopes in width.
    pub second_moment_slopes: Vec<Slope>,
    /// Each layer's own first update, `‖ΔW x‖ / ‖W x‖` with `x` the layer's input at
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
        ("depth", config.depth),
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
    let input = inputs.ncols();
    let shape = |width| {
        MlpConfig::new(input, vec![width; config.depth], classes).with_activation(config.activation)
    };
    let base = shape(config.widths[0]);
    let he = init::Initializer::he_normal(config.activation.nonlinearity());
    let probe = inputs.slice(s![..config.batch, ..]);
    let mut coords = Vec::new();
    let (mut updates, mut second_moments, mut weight_updates) =
        (Vec::new(), Vec::new(), Vec::new());
    let parametrizations = [
        ("standard", Parametrization::Standard),
        ("mup", Parametrization::Mup { base }),
    ];
    for (name, parametrization) in &parametrizations {
        for &width in &config.widths {
            let target = shape(width);
            for &seed in &config.seeds {
                let point = |step: usize, layer: usize, value: f64| Coord {
                    parametrization: name,
                    width,
                    seed,
                    step,
                    layer,
                    value,
                };
                let zeros = init::Initializer::Zeros;
                let inits = parametrization.layer_inits(&target, &config.optimizer, &he, &zeros)?;
                // Layer i of the stack is the net's layer 2i, an activation between.
                let init = inits.into_iter().enumerate().fold(
                    NetInit::new(he.clone(), zeros.clone()),
                    |init, (i, layer)| init.with_override(format!("layers.{}", 2 * i), layer),
                );
                let mut net: Net<f32> = target.to_net_config().build(&init, seed)?;
                let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, config.optimizer)
                    .with_batch_size(config.batch);
                let train = parametrization.train_config(&target, train)?;
                let mut trainer = Trainer::new(&net, train)?;
                let at_init = net.activations(probe)?;
                let layer_inputs: Vec<ArrayView2<'_, f32>> = std::iter::once(probe)
                    .chain(at_init.iter().map(|a| a.view()))
                    .take(net.dense_parameters().len())
                    .collect();
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
    let predictions = Predictions::for_optimizer(&config.optimizer, config.depth);
    let fit = |points: &[Coord], steps, predict: &dyn Fn(&str, usize) -> Option<f64>| {
        slopes(points, config, steps, predict)
    };
    let slopes = fit(&coords, 1..=config.steps, &|parametrization, _| {
        (parametrization == "mup").then_some(0.0)
    });
    let update_slopes = fit(&updates, 1..=1, &|p, l| predictions.output_update(p, l));
    let second_moment_slopes = fit(&second_moments, 0..=0, &|p, l| {
        predictions.second_moment(p, l)
    });
    let weight_update_slopes = fit(&weight_updates, 1..=1, &|p, l| {
        predictions.weight_update(p, l)
    });
    Ok(CoordCheckReport {
        widths: config.widths.clone(),
        depth: config.depth,
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
#[derive(Debug, Clone, Copy)]
struct Predictions {
    adam: bool,
    logits: usize,
}

impl Predictions {
    fn for_optimizer(optimizer: &Optimizer, depth: usize) -> Self {
        Self {
            adam: matches!(optimizer, Optimizer::Adam { .. }),
            logits: depth + 1,
        }
    }

    fn second_moment(self, parametrization: &str, layer: usize) -> Option<f64> {
        Some(if parametrization == "mup" && layer == self.logits {
            -1.0
        } else {
            0.0
        })
    }

    fn weight_update(self, parametrization: &str, layer: usize) -> Option<f64> {
        Some(match (parametrization, layer) {
            ("mup", l) if l == self.logits => 0.5,
            ("mup", _) => 0.0,
            (_, l) if l == self.logits => 1.0,
            (_, 1) if self.adam => 0.0,
            (_, 1) => -0.5,
            _ if self.adam => 1.0,
            _ => 0.5,
        })
    }

    fn output_update(self, parametrization: &str, layer: usize) -> Option<f64> {
        (parametrization == "mup").then_some(if layer == self.logits { 0.5 } else { 0.0 })
    }
}

/// The widths the slopes are fitted over: the larger half, at least two.
pub fn fitted_widths(widths: &[usize]) -> &[usize] {
    let count = widths.len().div_ceil(2).max(2).min(widths.len());
    &widths[widths.len() - count..]
}

/// The slope in width of `coords` per parametrization, step in `steps` and layer.
fn slopes(
    coords: &[Coord],
    config: &CoordCheckConfig,
    steps: std::ops::RangeInclusive<usize>,
    predict: &dyn Fn(&str, usize) -> Option<f64>,
) -> Vec<Slope> {
    let fitted = fitted_widths(&config.widths);
    let ln_widths: Vec<f64> = fitted.iter().map(|&w| (w as f64).ln()).collect();
    let mut out = Vec::new();
    for parametrization in ["standard", "mup"] {
        for step in steps.clone() {
            for layer in 1..=config.depth + 1 {
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

impl CoordCheckReport {
    /// One CSV row per measurement, every quantity: `mean_abs` after each step,
    /// `output_update` and `weight_update` after the first, `second_moment` at
    /// initialization.
    pub fn csv(&self) -> String {
        let mut csv = String::from("quantity,parametrization,width,seed,step,layer,value\n");
        for (quantity, coords) in [
            ("mean_abs", &self.coords),
            ("output_update", &self.updates),
            ("weight_update", &self.weight_updates),
            ("second_moment", &self.second_moments),
        ] {
            for c in coords {
                csv.push_str(&format!(
                    "{quantity},{},{},{},{},{},{:e}\n",
                    c.parametrization, c.width, c.seed, c.step, c.layer, c.value
                ));
            }
        }
        csv
    }

    /// The slopes at the last step, per layer, as a Markdown table.
    pub fn markdown(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(ToString::to_string).collect();
        let mut out = format!(
            "coordinate check: {} hidden layers of width {} (μP's base: {}), {}, {} steps; slope of ln(mean |x|) in ln(width) over widths {:?} at step {}, mean ± standard error over seeds (flat: |slope| < {FLAT})\n\n| layer | standard | verdict | μP | verdict | predicted |\n|---|---:|---|---:|---|---:|\n",
            self.depth,
            widths.join(", "),
            self.widths[0],
            self.optimizer,
            self.steps,
            fitted_widths(&self.widths),
            self.steps,
        );
        let at = |parametrization: &str, layer: usize| {
            self.slopes
                .iter()
                .find(|s| {
                    s.parametrization == parametrization && s.step == self.steps && s.layer == layer
                })
                .expect("a slope per parametrization, step and layer")
        };
        for layer in 1..=self.depth + 1 {
            let name = self.layer_name(layer);
            let (sp, mup) = (at("standard", layer), at("mup", layer));
            out.push_str(&format!(
                "| {name} | {:.2} ± {:.2} | {} | {:.2} ± {:.2} | {} | {} |\n",
                sp.slope,
                sp.standard_error,
                sp.verdict(),
                mup.slope,
                mup.standard_error,
                mup.verdict(),
                predicted(mup),
            ));
        }
        out.push('\n');
        out.push_str(&self.layer_table(
            "The first step's relative update of each layer's output, ‖x₁ - x₀‖ / ‖x₀‖ on the probe batch",
            &self.updates,
            &self.update_slopes,
        ));
        out.push('\n');
        out.push_str(&self.weight_update_table());
        out
    }

    /// Width as `initlab signal` shows depth: each layer's mean square pre-activation at
    /// initialization and its own first update `‖ΔW x‖ / ‖W x‖`, their slopes in width
    /// against the predicted ones.
    pub fn width_signal_markdown(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(ToString::to_string).collect();
        let mut out = format!(
            "signal across width: {} hidden layers of width {} (μP's base: {}), one step of {}\n\n",
            self.depth,
            widths.join(", "),
            self.widths[0],
            self.optimizer,
        );
        out.push_str(&self.layer_table(
            "Mean square pre-activation q = mean (W x + b)² at initialization",
            &self.second_moments,
            &self.second_moment_slopes,
        ));
        out.push('\n');
        out.push_str(&self.weight_update_table());
        out
    }

    fn weight_update_table(&self) -> String {
        self.layer_table(
            "Each layer's own first update ‖ΔW x‖ / ‖W x‖, x its input at initialization",
            &self.weight_updates,
            &self.weight_update_slopes,
        )
    }

    /// A per-layer quantity's slopes in width, predicted slopes and mean at the widest
    /// width, standard beside μP, as a Markdown table under `title`.
    fn layer_table(&self, title: &str, points: &[Coord], slopes: &[Slope]) -> String {
        let widest = self.widths[self.widths.len() - 1];
        let mut out = format!(
            "{title}: slope in ln(width) over widths {:?}, mean ± standard error over seeds, and the mean at width {widest}\n\n| layer | standard | predicted | at {widest} | μP | predicted | at {widest} |\n|---|---:|---:|---:|---:|---:|---:|\n",
            fitted_widths(&self.widths),
        );
        let at_widest = |parametrization: &str, layer: usize| {
            let values: Vec<f64> = points
                .iter()
                .filter(|p| {
                    p.parametrization == parametrization && p.layer == layer && p.width == widest
                })
                .map(|p| p.value)
                .collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        };
        for layer in 1..=self.depth + 1 {
            let mut row = format!("| {} |", self.layer_name(layer));
            for parametrization in ["standard", "mup"] {
                let slope = slopes
                    .iter()
                    .find(|s| s.parametrization == parametrization && s.layer == layer)
                    .expect("a slope per parametrization and layer");
                row.push_str(&format!(
                    " {:.2} ± {:.2} | {} | {} |",
                    slope.slope,
                    slope.standard_error,
                    predicted(slope),
                    significant(at_widest(parametrization, layer)),
                ));
            }
            out.push_str(&row);
            out.push('\n');
        }
        out
    }

    fn layer_name(&self, layer: usize) -> String {
        if layer == self.depth + 1 {
            "logits".to_owned()
        } else {
            layer.to_string()
        }
    }
}

fn predicted(slope: &Slope) -> String {
    slope.predicted.map_or("-".to_owned(), |p| format!("{p}"))
}

/// Four significant figures, in plain notation where that is short.
fn significant(value: f64) -> String {
    if value != 0.0 && !(1e-3..1e5).contains(&value.abs()) {
        format!("{value:.3e}")
    } else {
        let decimals = 3 - value.abs().log10().floor().clamp(-3.0, 3.0) as i32;
        format!("{value:.*}", decimals.max(0) as usize)
    }
}
