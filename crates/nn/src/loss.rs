//! Losses, each fused with its gradient with respect to the network's last pre-activation.

use ndarray::{ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use crate::{NnError, Real};

/// A training objective on the logits (the last layer's output, no activation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `-log softmax(z)[y]` per sample, averaged; targets are class indices.
    SoftmaxCrossEntropy,
    /// `(z - t)^2` averaged over every element; targets are values.
    MeanSquaredError,
    /// `max(z, 0) - z t + log(1 + e^-|z|)` averaged over every element: binary
    /// cross-entropy of `sigmoid(z)` without overflow; targets are probabilities.
    BinaryCrossEntropyWithLogits,
}

/// What a loss compares the logits against.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a, T> {
    /// One class index per sample (for [`Loss::SoftmaxCrossEntropy`]).
    Classes(&'a [usize]),
    /// One row of target values per sample (`[batch, outputs]`).
    Values(ArrayView2<'a, T>),
}

impl<'a, T> Targets<'a, T> {
    /// The targets of the samples `rows`.
    pub(crate) fn rows(self, rows: std::ops::Range<usize>) -> Self {
        match self {
            Self::Classes(labels) => Self::Classes(&labels[rows]),
            Self::Values(values) => Self::Values(values.slice_move(ndarray::s![rows, ..])),
        }
    }
}

impl Loss {
    /// Refuses targets of the kind this loss does not compare against: class indices for
    /// softmax cross-entropy, values for the others.
    ///
    /// # Errors
    /// [`NnError::Targets`] naming the loss and both kinds.
    pub fn check_targets<T>(self, targets: Targets<'_, T>) -> Result<(), NnError> {
        let (wants_classes, has_classes) = (
            matches!(self, Loss::SoftmaxCrossEntropy),
            matches!(targets, Targets::Classes(_)),
        );
        if wants_classes == has_classes {
            return Ok(());
        }
        let kind = |classes: bool| {
            if classes {
                "class indices (Targets::Classes)"
            } else {
                "values (Targets::Values)"
            }
        };
        Err(NnError::Targets {
            what: format!(
                "{} compares logits against {}, but got {}",
                self.name(),
                kind(wants_classes),
                kind(has_classes)
            ),
        })
    }

    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::MeanSquaredError => "mse",
            Loss::BinaryCrossEntropyWithLogits => "bce_with_logits",
        }
    }

    /// The mean loss of `logits` against `targets` and its gradient with respect to the
    /// logits (`[rows, outputs]`).
    ///
    /// # Panics
    /// If the targets' kind does not suit the loss, or shapes or labels do not match the
    /// logits (the trainer checks data first; this is the bare formula).
    ///
    /// # Examples
    /// ```
    /// use initlab_nn::ndarray::array;
    /// use initlab_nn::{Loss, Targets};
    ///
    /// // Equal logits: the loss is ln 2 and the gradient pushes toward the label.
    /// let (loss, grad) = Loss::SoftmaxCrossEntropy.value_and_gradient(array![[0.0_f64, 0.0]].view(), Targets::Classes(&[1]));
    /// assert!((loss - 2.0_f64.ln()).abs() < 1e-15);
    /// assert_eq!(grad, array![[0.5, -0.5]]);
    /// ```
    pub fn value_and_gradient<T: Real>(
        self,
        logits: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
    ) -> (f64, ndarray::Array2<T>) {
        let mut grad = ndarray::Array2::zeros(logits.dim());
        let scale = T::of(1.0 / logits.nrows().max(1) as f64);
        let value = self.forward_backward(logits, targets, scale, grad.view_mut());
        (value, grad)
    }

    /// Writes `scale * dL_sum/dz` into `grad` and returns `scale * L_sum`, where `L_sum` is
    /// the loss summed over these rows (and, for elementwise losses, divided by the number
    /// of outputs). With `scale = 1 / total_rows` the row chunks of a batch add up to the
    /// batch mean.
    ///
    /// # Panics
    /// If the targets do not match the logits (the trainer validates them first).
    pub(crate) fn forward_backward<T: Real>(
        self,
        logits: ArrayView2<'_, T>,
        targets: Targets<'_, T>,
        scale: T,
        mut grad: ArrayViewMut2<'_, T>,
    ) -> f64 {
        let mut total = 0.0;
        match (self, targets) {
            (Loss::SoftmaxCrossEntropy, Targets::Classes(labels)) => {
                for ((z, mut g), &label) in
                    logits.rows().into_iter().zip(grad.rows_mut()).zip(labels)
                {
                    // log-sum-exp around the row maximum: no overflow for any logit size.
                    let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
                    let mut sum = T::zero();
                    for (g, &v) in g.iter_mut().zip(z) {
                        let e = (v - max).exp();
                        *g = e;
                        sum = sum + e;
                    }
                    let inv = scale / sum;
                    g.mapv_inplace(|e| e * inv);
                    g[label] = g[label] - scale;
                    total += (max + sum.ln() - z[label]).wide();
                }
                total * scale.wide()
            }
            (Loss::MeanSquaredError, Targets::Values(t)) => {
                let per = scale / T::of(logits.ncols() as f64);
                ndarray::Zip::from(&mut grad)
                    .and(&logits)
                    .and(&t)
                    .for_each(|g, &z, &t| {
                        let d = z - t;
                        *g = T::of(2.0) * per * d;
                        total += (d * d).wide();
                    });
                total * per.wide()
            }
            (Loss::BinaryCrossEntropyWithLogits, Targets::Values(t)) => {
                let per = scale / T::of(logits.ncols() as f64);
                ndarray::Zip::from(&mut grad)
                    .and(&logits)
                    .and(&t)
                    .for_each(|g, &z, &t| {
                        let p = crate::Activation::Sigmoid.apply(z);
                        *g = per * (p - t);
                        total += (z.max(T::zero()) - z * t + (-z.abs()).exp().ln_1p()).wide();
                    });
                total * per.wide()
            }
            // Every public entry point calls `check_targets` first.
            (loss, _) => unreachable!("{} got the wrong kind of targets", loss.name()),
        }
    }
}
