//! Signal propagation at initialization, predicted and measured, per layer.
//!
//! Predicted by the mean-field recursion (Poole et al. 2016, Schoenholz et al. 2017): with
//! `chi_l = fan_in * E[w^2]` of layer `l`'s weights and `b_l = E[b^2]` of its bias,
//! - forward: `q_1 = chi_1 * E[x^2] + b_1`, `q_l = chi_l * E[f(h)^2] + b_l` with
//!   `h ~ N(0, q_{l-1})`;
//! - backward: `g_l = E[f'(h_l)^2] * fan_out_{l+1} * E[w_{l+1}^2] * g_{l+1}`, started from
//!   the measured gradient variance at the logits.
//!
//! `E[w^2]` comes from the initializer's own [`initlab_init::Initializer::moments`], so the report
//! and the library cannot disagree. Measured: the same statistics of a real network on a
//! real batch, in f64 so that neither vanishing nor exploding signals under/overflow.

use initlab_nn::{Activation, Loss, Targets};
use ndarray::ArrayView2;
use serde::Serialize;

use crate::BenchError;
use crate::registry::{InitChoice, lookup};

mod mean_field;
mod quadrature;
mod residual;
mod spectrum;

pub use mean_field::{
    critical_point, critical_weight_scale, expectation, second_moment, slope_moment,
    unit_fixed_point_scale,
};
pub use spectrum::{Probe, Spectrum};

/// A variance ratio past which the signal counts as vanished (1e-2) or exploded (1e2),
/// relative to layer 1.
pub const THRESHOLD: f64 = 1e2;

/// Where a signal ends up relative to layer 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Within [1e-2, 1e2] of layer 1's variance through the last layer.
    Stable,
    /// Below 1e-2 of layer 1's from `layer` on, or exactly zero (all-zero weights: no
    /// signal at all, from layer 1 on).
    Vanishing {
        /// First (1-based) layer below the threshold or at zero.
        layer: usize,
    },
    /// Above 1e2 of layer 1's from `layer` on, or overflowed to infinity or NaN.
    Exploding {
        /// First (1-based) layer above the threshold.
        layer: usize,
    },
    /// Outside the mean-field recursion (see `residual`): measured only.
    NotPredicted,
}

impl Verdict {
    /// Classifies per-layer variances.
    pub fn of(variances: &[f64]) -> Self {
        let Some(&first) = variances.first() else {
            return Verdict::Stable;
        };
        for (i, &v) in variances.iter().enumerate() {
            // Checked before the ratio: with a zero first layer it would be 0/0 = NaN.
            if v == 0.0 {
                return Verdict::Vanishing { layer: i + 1 };
            }
            let ratio = v / first;
            if !ratio.is_finite() || ratio > THRESHOLD {
                return Verdict::Exploding { layer: i + 1 };
            }
            if ratio < 1.0 / THRESHOLD {
                return Verdict::Vanishing { layer: i + 1 };
            }
        }
        Verdict::Stable
    }

    /// `stable`, `vanishing from layer 7`, ...
    pub fn describe(&self) -> String {
        match self {
            Verdict::Stable => "stable".into(),
            Verdict::Vanishing { layer } => format!("vanishing from layer {layer}"),
            Verdict::Exploding { layer } => format!("exploding from layer {layer}"),
            Verdict::NotPredicted => "not predicted".into(),
        }
    }
}

/// One hidden layer of one initializer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerSignal {
    /// Measured mean of the pre-activations (the prediction's is 0).
    pub measured_mean: f64,
    /// Predicted pre-activation variance (NaN where the recursion does not reach: JSON
    /// `null`).
    pub predicted_variance: f64,
    /// Measured pre-activation variance.
    pub measured_variance: f64,
    /// Predicted variance of the gradient with respect to the pre-activations (NaN where
    /// not predicted).
    pub predicted_gradient: f64,
    /// Measured variance of that gradient.
    pub measured_gradient: f64,
    /// Fraction of ReLU units dead on the whole batch.
    pub dead_fraction: f64,
    /// Fraction of saturated activations.
    pub saturated_fraction: f64,
    /// Mean singular value of the layer's input-output Jacobian.
    pub jacobian_mean_singular_value: Option<f64>,
}

/// Every layer of one initializer, with verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitSignal {
    /// The initializer's name.
    pub init: String,
    /// `fan_in * Var(w)` of the hidden layers' weights (from the initializer's moments).
    pub weight_scale: f64,
    /// Hidden layers, first to last.
    pub layers: Vec<LayerSignal>,
    /// Forward verdict of the prediction.
    pub predicted: Verdict,
    /// Forward verdict of the measurement.
    pub measured: Verdict,
    /// Factor by which the measured gradient variance grows per layer toward the input:
    /// `exp(-slope)` of a least-squares line through `ln(gradient variance)` against the
    /// layer (NaN with fewer than two layers or a zero gradient).
    pub gradient_growth_per_layer: f64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalReport {
    /// The network's label when it has residual blocks or normalization (then each row
    /// is a stage: a dense layer or a block with what follows it); `None` for a plain MLP.
    pub network: Option<String>,
    /// Hidden activation.
    pub activation: String,
    /// Hidden layers.
    pub depth: usize,
    /// Units per hidden layer.
    pub width: usize,
    /// `sigma_w^2` at which the activation's forward map is critical.
    pub critical_weight_scale: f64,
    /// `sigma_w^2` at which `q = 1` is the forward map's fixed point.
    pub unit_fixed_point_scale: f64,
    /// One entry per initializer.
    pub inits: Vec<InitSignal>,
    /// Whether it is a plain ReLU network with BatchNorm, for which mean-field theory
    /// gives the gradient's growth per layer ([`BATCHNORM_RELU_GRADIENT_GROWTH`]).
    pub batch_norm_relu_plain: bool,
    /// Whether the table's mean Jacobian singular value leaves out layer 1, whose
    /// Jacobian maps the input width (784 for MNIST) rather than a hidden one.
    pub jacobian_skips_input_layer: bool,
    /// The probe of the whole input-output Jacobian's singular values, for convolutions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// The probe's singular values per initializer and depth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spectra: Vec<Spectrum>,
}

/// What to analyze.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalConfig {
    /// Hidden layers, >= 1.
    pub depth: usize,
    /// Units per hidden layer, >= 1.
    pub width: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Initializer names (LSUV is data-dependent and has no prediction; it is refused).
    pub inits: Vec<String>,
    /// Seed of the weights.
    pub seed: u64,
    /// Samples per layer for the Jacobian's singular values (0 skips them).
    pub jacobian_samples: usize,
    /// Normalization after every hidden dense layer, or in every residual branch.
    pub norm: Option<initlab_nn::net::Norm>,
    /// Residual blocks instead of a plain stack: `depth` blocks on a stream of `width`.
    pub residual: Option<crate::experiment::Residual>,
    /// Convolutions of `width` channels instead of dense layers, on inputs that are
    /// images of this shape.
    pub conv: Option<(crate::experiment::Convolutions, initlab_nn::net::Image)>,
    /// For convolutions: the whole input-output Jacobian's singular values of a stack of
    /// them on this probe, at each of these depths.
    pub spectrum: Option<(Probe, Vec<usize>)>,
}

/// Predicts and measures every initializer on the batch `inputs` (labels for the loss at
/// the top, `classes` outputs), advancing `progress` by one per initializer: one row per
/// hidden stage (each hidden dense layer with its normalization and activation, or the
/// stem and each block of a residual network), predicted by the mean-field recursion
/// (this module's `residual`) and measured by [`initlab_nn::net::diagnose`] in training mode
/// (BatchNorm on the batch).
///
/// # Errors
/// An unknown, data-dependent or inapplicable initializer, a zero or too large size, or
/// inputs the network rejects.
pub fn analyze(
    inputs: ArrayView2<'_, f64>,
    labels: &[usize],
    classes: usize,
    config: &SignalConfig,
    progress: &indicatif::ProgressBar,
) -> Result<SignalReport, BenchError> {
    use crate::experiment::{Arch, check_applies, check_depth, conv_network, net_init, network_of};
    // Before a layer list of that length is made.
    check_depth(config.depth)?;
    let arch = Arch {
        hidden: match config.residual {
            Some(_) => vec![config.width],
            None => vec![config.width; config.depth],
        },
        activation: config.activation,
        output: Default::default(),
        norm: config.norm,
        residual: config.residual,
        layer_inits: Vec::new(),
        conv: config.conv.as_ref().map(|(conv, _)| conv.clone()),
    };
    let network = match &config.conv {
        None => network_of(&arch, inputs.ncols(), classes)?,
        Some((_, image)) => conv_network(&arch, *image, classes)?,
    };
    // The network in f64 with every layer's buffers over the batch, and as much again for
    // the measurements.
    crate::memory::check(
        "depth, width and batch",
        network
            .training_bytes(inputs.nrows())
            .and_then(|b| b.checked_mul(4)),
    )?;
    let input_second_moment =
        inputs.iter().map(|v| v * v).sum::<f64>() / inputs.len().max(1) as f64;
    let mut inits = Vec::new();
    let mut spectra = Vec::new();
    for name in &config.inits {
        let choice = lookup(name, config.activation)?;
        let refused = match choice {
            InitChoice::Lsuv => {
                Some("an initializer with a stated variance (LSUV depends on data)")
            }
            InitChoice::Residual(_) if config.residual.is_none() => Some(
                "an initializer for this network, which has no residual blocks (add --residual)",
            ),
            _ => None,
        };
        if let Some(expected) = refused {
            return Err(BenchError::invalid("init", name, expected));
        }
        check_applies(&arch, name, &choice)?;
        if let (Some((probe, depths)), InitChoice::Strategy(layer)) = (&config.spectrum, &choice) {
            let init = initlab_nn::net::NetInit::new(layer.weight.clone(), layer.bias.clone());
            for &depth in depths {
                spectra.push(probe.spectrum(name, &init, config.activation, depth)?);
            }
        }
        let (net_config, init) = net_init(&arch, network.config.clone(), choice)?;
        let net: initlab_nn::net::Net<f64> = net_config.build(&init, config.seed)?;
        let stages = initlab_nn::net::diagnose(
            &net,
            inputs,
            Targets::Classes(labels),
            Loss::SoftmaxCrossEntropy,
            config.jacobian_samples,
        )?;
        let moment = |initializer: &initlab_init::Initializer,
                      fans: initlab_init::Fans|
         -> Result<f64, BenchError> {
            let m = initializer
                .moments(fans)
                .map_err(|e| BenchError::invalid("init", name, e.to_string()))?;
            m.map(|m| m.second_moment()).ok_or_else(|| {
                BenchError::invalid("init", name, "an initializer with a stated variance")
            })
        };
        let mut dense = Vec::new();
        for layer in init.dense_inits(&net_config)? {
            dense.push(residual::DenseMoments {
                fan_in: layer.fans.fan_in,
                fan_out: layer.fans.fan_out,
                weight: moment(&layer.init.weight, layer.fans)?,
                bias: moment(&layer.init.bias, layer.fans)?,
            });
        }
        let logits = stages.last().expect("an output stage");
        let predicted = residual::predict(
            &net_config,
            &dense,
            input_second_moment,
            logits.backprop_grad_std.powi(2),
        );
        let hidden = stages.len() - 1;
        let layers: Vec<LayerSignal> = stages[..hidden]
            .iter()
            .zip(&predicted)
            .map(|(d, &(variance, gradient))| LayerSignal {
                measured_mean: d.pre_mean,
                predicted_variance: variance.unwrap_or(f64::NAN),
                measured_variance: d.pre_std * d.pre_std,
                predicted_gradient: gradient.unwrap_or(f64::NAN),
                measured_gradient: d.backprop_grad_std * d.backprop_grad_std,
                dead_fraction: d.dead_fraction,
                saturated_fraction: d.saturated_fraction,
                jacobian_mean_singular_value: d.jacobian_mean_singular_value,
            })
            .collect();
        let q: Vec<f64> = layers.iter().map(|l| l.predicted_variance).collect();
        let predicted = if q.iter().all(|v| !v.is_nan()) {
            Verdict::of(&q)
        } else {
            Verdict::NotPredicted
        };
        let measured = Verdict::of(
            &layers
                .iter()
                .map(|l| l.measured_variance)
                .collect::<Vec<_>>(),
        );
        // The typical layer's fan_in · E[w²]: the second dense layer's (the first reads the
        // data's width).
        let weight_scale = dense
            .get(1)
            .map_or(f64::NAN, |m| m.fan_in as f64 * m.weight);
        progress.inc(1);
        inits.push(InitSignal {
            init: name.clone(),
            weight_scale,
            gradient_growth_per_layer: growth_per_layer(&layers),
            layers,
            predicted,
            measured,
        });
    }
    Ok(SignalReport {
        network: arch.is_net().then(|| arch.label()),
        activation: config.activation.to_string(),
        depth: inits.first().map_or(config.depth, |i| i.layers.len()),
        width: config.width,
        critical_weight_scale: critical_weight_scale(config.activation),
        unit_fixed_point_scale: unit_fixed_point_scale(config.activation),
        inits,
        batch_norm_relu_plain: config.residual.is_none()
            && config.norm == Some(initlab_nn::net::Norm::Batch)
            && config.activation == Activation::Relu,
        jacobian_skips_input_layer: false,
        probe: config.spectrum.as_ref().map(|(probe, _)| *probe),
        spectra,
    })
}

/// `exp(-slope)` of the least-squares line through `ln(measured gradient variance)`
/// against the layer index.
fn growth_per_layer(layers: &[LayerSignal]) -> f64 {
    let xs: Vec<f64> = (0..layers.len()).map(|i| i as f64).collect();
    let ys: Vec<f64> = layers.iter().map(|l| l.measured_gradient.ln()).collect();
    let slope = crate::fit::slope(&xs, &ys);
    if slope.is_finite() {
        (-slope).exp()
    } else {
        f64::NAN
    }
}

/// The large-batch rate at which BatchNorm makes a deep ReLU network's gradient variance
/// grow per layer toward the input at initialization, whatever the weights' scale (Yang
/// et al. 2019, "A Mean Field Theory of Batch Normalization"): `π / (π - 1)`.
pub const BATCHNORM_RELU_GRADIENT_GROWTH: f64 = std::f64::consts::PI / (std::f64::consts::PI - 1.0);

/// `a / b` for the table; `-` where both are zero (no signal to compare).
fn ratio(a: f64, b: f64) -> String {
    if a == 0.0 && b == 0.0 {
        "-".into()
    } else {
        format!("{:.1e}", a / b)
    }
}

impl SignalReport {
    /// One CSV row per initializer and layer.
    pub fn csv(&self) -> String {
        let mut csv = String::from(
            "init,layer,predicted_variance,measured_variance,measured_mean,predicted_gradient,measured_gradient,dead_fraction,saturated_fraction,jacobian_mean_singular_value\n",
        );
        for init in &self.inits {
            for (l, layer) in init.layers.iter().enumerate() {
                csv.push_str(&format!(
                    "{},{},{:e},{:e},{:e},{:e},{:e},{},{},{}\n",
                    init.init,
                    l + 1,
                    layer.predicted_variance,
                    layer.measured_variance,
                    layer.measured_mean,
                    layer.predicted_gradient,
                    layer.measured_gradient,
                    layer.dead_fraction,
                    layer.saturated_fraction,
                    layer
                        .jacobian_mean_singular_value
                        .map_or(String::new(), |v| v.to_string())
                ));
            }
        }
        csv
    }

    /// Per-layer table (measured variance, predicted in parentheses) and a summary.
    pub fn markdown(&self) -> String {
        let network = match &self.network {
            Some(label) => label.clone(),
            None => format!("{} x {} {}", self.depth, self.width, self.activation),
        };
        let mut out = format!(
            "{network} at init; critical weight scale fan_in * Var(w) = {:.3} (edge of chaos: sigma_w^2 E[f'(h)^2] = 1 at the fixed point); variance fixed at 1 by fan_in * Var(w) = {:.3}\n\n| init | fan_in Var(w) | predicted | measured | variance, last / layer 1 | gradient, layer 1 / last | mean Jacobian singular value{} |\n|---|---:|---|---|---:|---:|---:|\n",
            self.critical_weight_scale,
            self.unit_fixed_point_scale,
            if self.jacobian_skips_input_layer {
                ", layers 2 on"
            } else {
                ""
            }
        );
        for init in &self.inits {
            let (first, last) = (&init.layers[0], &init.layers[init.layers.len() - 1]);
            let sv: Vec<f64> = init
                .layers
                .iter()
                .skip(usize::from(self.jacobian_skips_input_layer))
                .filter_map(|l| l.jacobian_mean_singular_value)
                .collect();
            out.push_str(&format!(
                "| {} | {:.3} | {} | {} | {} | {} | {} |\n",
                init.init,
                init.weight_scale,
                init.predicted.describe(),
                init.measured.describe(),
                ratio(last.measured_variance, first.measured_variance),
                ratio(first.measured_gradient, last.measured_gradient),
                if sv.is_empty() {
                    "-".into()
                } else {
                    format!("{:.3}", sv.iter().sum::<f64>() / sv.len() as f64)
                }
            ));
        }
        if self.network.is_some() {
            out.push_str("\nMeasured gradient growth per stage toward the input (log-linear fit):");
            for init in &self.inits {
                out.push_str(&format!(
                    " {} {:.3};",
                    init.init, init.gradient_growth_per_layer
                ));
            }
            out.pop();
            out.push('.');
            if self.batch_norm_relu_plain {
                out.push_str(&format!(
                    " A plain ReLU network with BatchNorm: Yang et al. 2019 predict {:.3} = pi / (pi - 1) per layer at large batch, whatever the initialization.",
                    BATCHNORM_RELU_GRADIENT_GROWTH
                ));
            }
            out.push('\n');
        }
        let row = if self.network.is_some() {
            "stage"
        } else {
            "layer"
        };
        out.push_str(&format!(
            "\nPre-activation variance per {row}, measured (predicted):\n\n| {row} |"
        ));
        for init in &self.inits {
            out.push_str(&format!(" {} |", init.init));
        }
        out.push_str("\n|---:|");
        out.push_str(&"---:|".repeat(self.inits.len()));
        out.push('\n');
        for l in 0..self.depth {
            out.push_str(&format!("| {} |", l + 1));
            for init in &self.inits {
                let layer = &init.layers[l];
                out.push_str(&format!(
                    " {:.2e} ({:.2e}) |",
                    layer.measured_variance, layer.predicted_variance
                ));
            }
            out.push('\n');
        }
        out.push_str(&self.spectrum_markdown());
        out
    }

    /// The probe's singular values as a table; empty without a probe.
    fn spectrum_markdown(&self) -> String {
        match self.probe {
            None => String::new(),
            Some(probe) => spectrum_table(&probe, &self.activation, &self.spectra),
        }
    }
}

/// The singular values of `probe`'s stacks with `activation`, one row per initializer and
/// depth, after a paragraph that says what was measured.
pub fn spectrum_table(probe: &Probe, activation: &str, spectra: &[Spectrum]) -> String {
    let n = probe.values();
    let mut out = format!(
        "\nSingular values of the input-output Jacobian of a stack of {k}x{k} convolutions of {c} channels (stride 1, padding {p}), each followed by {activation}, on one {c}x{s}x{s} image of N(0, {std}²) values ({n} x {n}, seed {seed}; from the eigenvalues of JᵀJ, so values below about 1e-8 of the largest read as 0):\n\n| init | depth | mean | std | max | min | max / min | median | below mean / 10 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        k = probe.kernel,
        c = probe.channels,
        p = probe.kernel / 2,
        s = probe.size,
        std = probe.input_std,
        seed = probe.seed,
    );
    for s in spectra {
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2e} | {:.1e} | {:.3} | {:.0}% |\n",
            s.init,
            s.depth,
            s.mean,
            s.std,
            s.max,
            s.min,
            s.max / s.min,
            s.median,
            100.0 * s.below_tenth_of_mean
        ));
    }
    out
}
