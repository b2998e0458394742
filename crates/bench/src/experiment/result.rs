//! What a run measured: its outcome, per-epoch metrics, the loss curve and diagnostics.

use initlab_nn::LayerDiagnostics;
use serde::{Deserialize, Serialize};

use super::spec::RunSpec;

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
    #[serde(with = "initlab_nn::nonfinite")]
    pub train_loss: f64,
    /// Test accuracy after the epoch (classification), else `None`.
    #[serde(with = "initlab_nn::nonfinite::option")]
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
    #[serde(with = "initlab_nn::nonfinite")]
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
pub(super) struct Window {
    sum: f64,
    steps: u64,
    /// The latest step added.
    last: u64,
}

impl Window {
    /// Adds step `step`'s loss; step 0 and every `curve.every`-th step close a window.
    pub(super) fn add(&mut self, curve: &mut LossCurve, step: u64, loss: f64) {
        self.sum += loss;
        self.steps += 1;
        self.last = step;
        if step.is_multiple_of(curve.every) {
            self.flush(curve);
        }
    }

    /// Records what the window holds as a point at its last step.
    pub(super) fn flush(&mut self, curve: &mut LossCurve) {
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
    #[serde(with = "initlab_nn::nonfinite")]
    pub final_accuracy: f64,
    /// Test accuracy before any training.
    #[serde(with = "initlab_nn::nonfinite")]
    pub initial_accuracy: f64,
    /// Per-layer statistics at initialization on a training batch.
    pub at_init: Vec<LayerDiagnostics>,
    /// Per-layer statistics on the same batch after training epochs, when the spec asks
    /// ([`RunSpec::diagnose_epochs`](crate::experiment::RunSpec::diagnose_epochs)): every
    /// epoch of a run of up to [`PROBED_EPOCHS`] epochs, every k-th of a longer one (and
    /// its last). Empty, and left out of the JSON, otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub during_training: Vec<EpochDiagnostics>,
    /// One line on what happened and why.
    pub verdict: String,
    /// Training wall time, seconds.
    #[serde(with = "initlab_nn::nonfinite")]
    pub wall_seconds: f64,
    /// Training samples per second.
    #[serde(with = "initlab_nn::nonfinite")]
    pub samples_per_second: f64,
    /// Achieved GEMM GFLOP/s.
    #[serde(with = "initlab_nn::nonfinite")]
    pub gflops: f64,
}
