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
//! Predicted slope: 0 under μP, at every layer and step. Under the standard
//! parametrization the activations' growth compounds layer by layer and step by step,
//! and leaves the regime of any simple power once ReLUs die, so the report measures it
//! without a prediction.

use ndarray::{ArrayView2, s};
use nn::mup::Parametrization;
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

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coord {
    /// `standard` or `mup`.
    pub parametrization: &'static str,
    /// Hidden width.
    pub width: usize,
    /// Weight seed.
    pub seed: u64,
    /// Steps taken before the measurement.
    pub step: usize,
    /// 1-based layer; `depth + 1` is the logits.
    pub layer: usize,
    /// Mean `|x|` of the layer's output on the probe batch.
    pub mean_abs: f64,
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
    /// Mean over seeds of the least-squares slope of `ln(mean |x|)` against `ln(width)`.
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

/// How far one step moved a layer's output: `‖x_after - x_before‖ / ‖x_before‖` over the
/// probe batch (Frobenius norms), after the first step. μP holds it Θ(1) in width: every
/// layer's features move by a width-independent fraction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    /// `standard` or `mup`.
    pub parametrization: &'static str,
    /// Hidden width.
    pub width: usize,
    /// Weight seed.
    pub seed: u64,
    /// 1-based layer; `depth + 1` is the logits.
    pub layer: usize,
    /// The relative change.
    pub relative: f64,
}

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
    /// Every measurement.
    pub coords: Vec<Coord>,
    /// Every slope.
    pub slopes: Vec<Slope>,
    /// The first step's relative update of every layer.
    pub updates: Vec<Update>,
    /// Their slopes in width (`step` 1).
    pub update_slopes: Vec<Slope>,
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
    let mut updates = Vec::new();
    let parametrizations = [
        ("standard", Parametrization::Standard),
        ("mup", Parametrization::Mup { base }),
    ];
    for (name, parametrization) in &parametrizations {
        for &width in &config.widths {
            let target = shape(width);
            for &seed in &config.seeds {
                let mut mlp = parametrization.build::<f32>(
                    &target,
                    &config.optimizer,
                    &he,
                    &init::Initializer::Zeros,
                    seed,
                )?;
                let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, config.optimizer)
                    .with_batch_size(config.batch);
                let train = parametrization.train_config(&target, train)?;
                let mut trainer = Trainer::new(&mlp, train)?;
                let at_init = mlp.activations(probe)?;
                for step in 1..=config.steps {
                    let batch = (step - 1) * config.batch..step * config.batch;
                    let x = inputs.slice(s![batch.clone(), ..]);
                    trainer.train_batch(&mut mlp, x, Targets::Classes(&labels[batch]))?;
                    let outputs = mlp.activations(probe)?;
                    if step == 1 {
                        for (l, (after, before)) in outputs.iter().zip(&at_init).enumerate() {
                            let norm = |a: ndarray::ArrayView2<'_, f32>| {
                                a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt()
                            };
                            let change = norm((after - before).view()) / norm(before.view());
                            updates.push(Update {
                                parametrization: name,
                                width,
                                seed,
                                layer: l + 1,
                                relative: change,
                            });
                        }
                    }
                    for (l, output) in outputs.iter().enumerate() {
                        let mean_abs = output.iter().map(|v| f64::from(v.abs())).sum::<f64>()
                            / output.len() as f64;
                        coords.push(Coord {
                            parametrization: name,
                            width,
                            seed,
                            step,
                            layer: l + 1,
                            mean_abs,
                        });
                    }
                }
                progress.inc(1);
            }
        }
    }
    let slopes = slopes(&coords, config);
    // The first step's updates as coordinates of a one-step check.
    let as_coords: Vec<Coord> = updates
        .iter()
        .map(|u| Coord {
            parametrization: u.parametrization,
            width: u.width,
            seed: u.seed,
            step: 1,
            layer: u.layer,
            mean_abs: u.relative,
        })
        .collect();
    let mut update_slopes = self::slopes(
        &as_coords,
        &CoordCheckConfig {
            steps: 1,
            ..config.clone()
        },
    );
    // μP's logits start at O(1/sqrt(width)) (output variance 1/fan_in²) and move by O(1):
    // relative to where they started, they move as sqrt(width).
    for slope in &mut update_slopes {
        if slope.parametrization == "mup" && slope.layer == config.depth + 1 {
            slope.predicted = Some(0.5);
        }
    }
    Ok(CoordCheckReport {
        widths: config.widths.clone(),
        depth: config.depth,
        steps: config.steps,
        optimizer: format!("{:?}", config.optimizer),
        coords,
        slopes,
        updates,
        update_slopes,
    })
}

/// The widths the slopes are fitted over: the larger half, at least two.
pub fn fitted_widths(widths: &[usize]) -> &[usize] {
    let count = widths.len().div_ceil(2).max(2).min(widths.len());
    &widths[widths.len() - count..]
}

fn slopes(coords: &[Coord], config: &CoordCheckConfig) -> Vec<Slope> {
    let fitted = fitted_widths(&config.widths);
    let ln_widths: Vec<f64> = fitted.iter().map(|&w| (w as f64).ln()).collect();
    let mut out = Vec::new();
    for parametrization in ["standard", "mup"] {
        for step in 1..=config.steps {
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
                                    .map_or(f64::NAN, |c| c.mean_abs.ln())
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
                let predicted = (parametrization == "mup").then_some(0.0);
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
    /// One CSV row per measurement.
    pub fn csv(&self) -> String {
        let mut csv = String::from("parametrization,width,seed,step,layer,mean_abs\n");
        for c in &self.coords {
            csv.push_str(&format!(
                "{},{},{},{},{},{:e}\n",
                c.parametrization, c.width, c.seed, c.step, c.layer, c.mean_abs
            ));
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
        let predicted = |s: &Slope| s.predicted.map_or("-".to_owned(), |p| format!("{p}"));
        for layer in 1..=self.depth + 1 {
            let name = if layer == self.depth + 1 {
                "logits".to_owned()
            } else {
                layer.to_string()
            };
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
        out.push_str(&format!(
            "\nThe first step's relative update of each layer's output, ‖x₁ - x₀‖ / ‖x₀‖ on the probe batch: slope in ln(width) over widths {:?}, and its value at the widest\n\n| layer | standard | at {} | μP | at {} | predicted |\n|---|---:|---:|---:|---:|---:|\n",
            fitted_widths(&self.widths),
            self.widths[self.widths.len() - 1],
            self.widths[self.widths.len() - 1],
        ));
        let widest = |parametrization: &str, layer: usize| {
            let values: Vec<f64> = self
                .updates
                .iter()
                .filter(|u| {
                    u.parametrization == parametrization
                        && u.layer == layer
                        && u.width == self.widths[self.widths.len() - 1]
                })
                .map(|u| u.relative)
                .collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        };
        for layer in 1..=self.depth + 1 {
            let name = if layer == self.depth + 1 {
                "logits".to_owned()
            } else {
                layer.to_string()
            };
            let of = |parametrization: &str| {
                self.update_slopes
                    .iter()
                    .find(|s| s.parametrization == parametrization && s.layer == layer)
                    .expect("an update slope per parametrization and layer")
            };
            let (sp, mup) = (of("standard"), of("mup"));
            out.push_str(&format!(
                "| {name} | {:.2} ± {:.2} | {:.3} | {:.2} ± {:.2} | {:.3} | {} |\n",
                sp.slope,
                sp.standard_error,
                widest("standard", layer),
                mup.slope,
                mup.standard_error,
                widest("mup", layer),
                predicted(mup),
            ));
        }
        out
    }
}
