//! The mean-field recursion through residual blocks and normalization, per stage (a dense
//! layer or a block, with the normalization and activation after it, as
//! [`initlab_nn::net::diagnose`] reports them).
//!
//! - Dense: `q = fan_in · E[w²] · E[x²] + E[b²]`, the output zero-mean Gaussian in the
//!   mean-field limit.
//! - Activation: `f(h)`, `h ~ N(0, q)`: second moment `E[f(h)²]`.
//! - LayerNorm and BatchNorm reset the signal: zero mean and variance `γ²` (the gain).
//! - Residual: `q_out = q + α² · v`, `v` the branch's output variance from `q` (the
//!   branch's last weights are independent of the stream, so the two add).
//!
//! Backward, `g_in = g_out · fan_out · E[w²]` through a dense layer, `· E[f'(h)²]` through
//! an activation, and `· (1 + α² · Π)` through a block whose branch multiplies gradient
//! variance by `Π`, started from the measured gradient at the logits. Gradients through
//! normalization are not predicted: BatchNorm's couples the samples of a batch, and
//! Yang et al. 2019 ("A Mean Field Theory of Batch Normalization") show it explodes with
//! depth whatever the initialization; the report measures it. Post-activation blocks add a
//! non-centred stream to the branch, outside this Gaussian recursion, so their stages are
//! measured only.

use initlab_nn::Activation;
use initlab_nn::net::{LayerSpec, NetConfig};

use super::mean_field::{second_moment, slope_moment};

/// The second moments a dense layer draws from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DenseMoments {
    pub(crate) fan_in: usize,
    pub(crate) fan_out: usize,
    /// `E[w²]`.
    pub(crate) weight: f64,
    /// `E[b²]`.
    pub(crate) bias: f64,
}

/// What the recursion knows of the signal between two layers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Signal {
    /// A second moment, the distribution otherwise unknown (the data).
    Moment(f64),
    /// Zero-mean Gaussian of this variance.
    Gaussian(f64),
    /// `f(h)`, `h ~ N(0, q)`.
    Activated(Activation, f64),
    /// Outside the recursion.
    Unknown,
}

impl Signal {
    fn second_moment(self) -> Option<f64> {
        match self {
            Self::Moment(m) | Self::Gaussian(m) => Some(m),
            Self::Activated(activation, q) => Some(second_moment(activation, q)),
            Self::Unknown => None,
        }
    }
}

/// One layer as the forward walk met it, with its input.
#[derive(Debug, Clone)]
struct Step {
    input: Signal,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A dense layer or a convolution (its fans per group, the mean-field limit ignoring
    /// the zero padding's border).
    Dense(DenseMoments),
    Activation(Activation),
    Norm,
    /// Flatten: the same values.
    Pass,
    /// Pooling: the variance depends on how neighbouring pixels correlate, outside the
    /// recursion.
    Opaque,
    Residual {
        alpha: f64,
        branch: Vec<Step>,
    },
}

/// Walks `layers` forward from `input`, taking dense moments from `dense` in order.
fn walk(
    layers: &[LayerSpec],
    mut signal: Signal,
    dense: &mut impl Iterator<Item = DenseMoments>,
    steps: &mut Vec<Step>,
) -> Signal {
    for layer in layers {
        let input = signal;
        let kind = match layer {
            LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. } => {
                let m = dense
                    .next()
                    .expect("one set of moments per dense or convolutional layer");
                signal = match input.second_moment() {
                    Some(x) => Signal::Gaussian(m.fan_in as f64 * m.weight * x + m.bias),
                    None => Signal::Unknown,
                };
                Kind::Dense(m)
            }
            LayerSpec::Activation { activation } => {
                signal = match input {
                    Signal::Gaussian(q) => Signal::Activated(*activation, q),
                    _ => Signal::Unknown,
                };
                Kind::Activation(*activation)
            }
            LayerSpec::LayerNorm { gain, .. } | LayerSpec::BatchNorm { gain, .. } => {
                signal = match input {
                    Signal::Unknown => Signal::Unknown,
                    _ => Signal::Gaussian(gain * gain),
                };
                Kind::Norm
            }
            LayerSpec::Flatten => Kind::Pass,
            LayerSpec::MaxPool { .. }
            | LayerSpec::AveragePool { .. }
            | LayerSpec::GlobalAveragePool => {
                signal = Signal::Unknown;
                Kind::Opaque
            }
            LayerSpec::Residual { branch, alpha } => {
                let mut inner = Vec::new();
                let end = walk(branch, input, dense, &mut inner);
                signal = match (input, end) {
                    (Signal::Gaussian(q), Signal::Gaussian(v)) => {
                        Signal::Gaussian(q + alpha.value * alpha.value * v)
                    }
                    _ => Signal::Unknown,
                };
                Kind::Residual {
                    alpha: alpha.value,
                    branch: inner,
                }
            }
        };
        steps.push(Step { input, kind });
    }
    signal
}

/// `p` times the factor by which gradient variance grows from a step's output to its
/// input, `None` where the recursion does not reach. A dense layer multiplies by its
/// fan_out, then by `E[w²]`.
fn times_backward_factor(p: f64, step: &Step) -> Option<f64> {
    match (&step.kind, step.input) {
        (Kind::Dense(m), _) => Some(p * m.fan_out as f64 * m.weight),
        (Kind::Pass, _) => Some(p),
        (Kind::Activation(activation), Signal::Gaussian(q)) => {
            Some(p * slope_moment(*activation, q))
        }
        (Kind::Residual { alpha, branch }, Signal::Gaussian(_)) => {
            let through = product(branch)?;
            Some(p * (1.0 + alpha * alpha * through))
        }
        _ => None,
    }
}

/// The product of `steps`' backward factors, taken in forward order from 1.
fn product<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Option<f64> {
    steps.into_iter().try_fold(1.0, times_backward_factor)
}

/// Per stage, the predicted variance of its first layer's output and of the gradient
/// with respect to it; `logits_gradient` is the measured gradient variance at the logits.
/// Stages are the top-level dense layers and residual blocks, the last (output) layer
/// included.
pub(crate) fn predict(
    config: &NetConfig,
    dense: &[DenseMoments],
    input_second_moment: f64,
    logits_gradient: f64,
) -> Vec<(Option<f64>, Option<f64>)> {
    let mut steps = Vec::new();
    walk(
        &config.layers,
        Signal::Moment(input_second_moment),
        &mut dense.iter().copied(),
        &mut steps,
    );
    // A stage's first layer's output is the next step's input.
    let outputs: Vec<Signal> = steps
        .iter()
        .skip(1)
        .map(|s| s.input)
        .chain(std::iter::once(Signal::Unknown))
        .collect();
    // From one stage's output down to the one below: the gradient times the product of
    // the layers between, multiplied in forward order (for a plain stack, the activation's
    // slope, then the dense layer above's fan_out and E[w²], as the textbook recursion
    // writes it).
    let is_stage = |s: &Step| matches!(s.kind, Kind::Dense(_) | Kind::Residual { .. });
    let mut gradients = vec![None; steps.len()];
    let mut g = Some(logits_gradient);
    let mut above = steps.len();
    for (i, _) in steps.iter().enumerate().rev().filter(|(_, s)| is_stage(s)) {
        g = g.and_then(|g| product(&steps[i + 1..above]).map(|p| g * p));
        gradients[i] = g;
        above = i + 1;
    }
    let last = steps.len() - 1;
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| is_stage(s))
        .map(|(i, _)| {
            let variance = match outputs[i] {
                Signal::Gaussian(q) => Some(q),
                // The logits: the last step's output, a dense layer's.
                _ if i == last => match steps[i].kind {
                    Kind::Dense(m) => steps[i]
                        .input
                        .second_moment()
                        .map(|x| m.fan_in as f64 * m.weight * x + m.bias),
                    _ => None,
                },
                _ => None,
            };
            (variance, gradients[i])
        })
        .collect()
}
