//! One line per run saying what the initializer did, from the diagnostics at init and the
//! outcome.

use initlab_nn::{Activation, LayerDiagnostics};

use super::result::Outcome;
use super::spec::Arch;

/// Variance ratios beyond which a signal counts as vanished or exploded (the thresholds of
/// the signal-propagation report).
const VANISHED: f64 = 1e-2;
const EXPLODED: f64 = 1e2;

/// Variance of the backpropagated gradient (w.r.t. pre-activations) at the first hidden
/// layer over the last hidden layer's: below 1 it shrinks on the way back.
pub(crate) fn gradient_variance_ratio(at_init: &[LayerDiagnostics]) -> f64 {
    let hidden = &at_init[..at_init.len().saturating_sub(1)];
    match (hidden.first(), hidden.last()) {
        (Some(first), Some(last)) => (first.backprop_grad_std / last.backprop_grad_std).powi(2),
        _ => f64::NAN,
    }
}

/// Explains a run: what the gradients and activations looked like at initialization and
/// how training ended. `initial` and `final_accuracy` are test accuracies, or negated test
/// losses when `classification` is false.
pub(crate) fn verdict(
    arch: &Arch,
    at_init: &[LayerDiagnostics],
    outcome: Outcome,
    initial: f64,
    final_accuracy: f64,
    classification: bool,
) -> String {
    let hidden = &at_init[..at_init.len().saturating_sub(1)];
    let (Some(first), Some(last)) = (hidden.first(), hidden.last()) else {
        return outcome.name().to_owned();
    };
    let depth = hidden.len();
    // A residual network's stages are its stem and its blocks.
    let layer = if arch.residual.is_some() {
        "stage"
    } else {
        "layer"
    };
    // Scores are test accuracy, or the negated test loss for regression.
    let accuracy = if classification {
        format!("{:.1}%", 100.0 * final_accuracy)
    } else {
        format!("test loss {:.3e}", -final_accuracy)
    };
    let gradient = gradient_variance_ratio(at_init);
    let forward = (last.pre_std / first.pre_std).powi(2);
    let stable_at_init = |ratio: f64| (VANISHED..=EXPLODED).contains(&ratio);
    if let Outcome::Diverged { epoch, step } = outcome {
        if stable_at_init(forward) && stable_at_init(gradient) {
            return format!(
                "diverged in training: NaN/inf at epoch {epoch}, step {step}, though the signal was stable at init ({layer} {depth}/1 activation variance {forward:.0e}, {layer} 1/{depth} gradient variance {gradient:.0e}): the step size, not the initialization, blew up"
            );
        }
        return format!(
            "exploding: NaN/inf at epoch {epoch}, step {step}; activation variance grew {forward:.0e}x from {layer} 1 to {depth}"
        );
    }
    if let Outcome::Collapsed { best_epoch } = outcome {
        return format!(
            "collapsed: its best test score came after epoch {}, then it fell to {accuracy}",
            best_epoch + 1
        );
    }
    let widths = arch.stage_widths();
    let symmetric = hidden
        .iter()
        .zip(&widths)
        .all(|(l, &width)| l.duplicate_units + 1 == width);
    if widths.iter().any(|&w| w > 1) && symmetric {
        if hidden.iter().all(|l| l.weight_grad_norm == 0.0) {
            return format!(
                "symmetric and frozen: all units identical, no gradient reaches any hidden weight; {accuracy}"
            );
        }
        return format!(
            "symmetric: all units of each layer identical, the net is 1 unit wide; {accuracy}"
        );
    }
    let trained = if classification {
        final_accuracy - initial > 0.2
    } else {
        -final_accuracy < 0.5 * -initial
    };
    let saturation = hidden
        .iter()
        .map(|l| l.saturated_fraction)
        .fold(0.0, f64::max);
    if matches!(
        arch.activation,
        Activation::Tanh | Activation::Sigmoid | Activation::Softsign
    ) && saturation > 0.3
    {
        return format!(
            "saturated: up to {:.0}% of units at ±1 at init; {accuracy}",
            100.0 * saturation
        );
    }
    if hidden.iter().all(|l| l.backprop_grad_std == 0.0) {
        return format!(
            "no gradient below the output layer at init (it starts at zero), so the hidden weights first move at step 2; {layer} {depth}/1 activation variance {forward:.0e}; {accuracy}"
        );
    }
    let shrinking = gradient < VANISHED || forward < VANISHED;
    let growing = gradient > EXPLODED || forward > EXPLODED;
    let numbers = format!(
        "{layer} {depth}/1 activation variance {forward:.0e}, {layer} 1/{depth} gradient variance {gradient:.0e}"
    );
    match (shrinking, growing, trained) {
        (true, _, false) => format!("vanishing: {numbers}; stalled at {accuracy}"),
        (true, _, true) => format!("trains despite vanishing signal: {numbers}; {accuracy}"),
        (_, true, false) => format!("exploding: {numbers}; stalled at {accuracy}"),
        (_, true, true) => format!("trains despite exploding signal: {numbers}; {accuracy}"),
        (false, false, false) => format!("stalled: {numbers}; {accuracy}"),
        (false, false, true) => format!("healthy: {numbers}; {accuracy}"),
    }
}
