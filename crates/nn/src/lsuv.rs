//! Layer-sequential unit-variance initialization (Mishkin & Matas 2015, "All you need is a
//! good init"): orthogonal weights, then each layer's weights rescaled on real data until
//! its output variance is one.

use initlab_init::{Initializer, RngKey};
use ndarray::{ArrayView2, s};

use crate::stack::StackMut;
use crate::workspace::Workspace;
use crate::{NnError, Real};

/// LSUV's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LsuvConfig {
    /// Stop rescaling a layer once `|Var - 1| < tolerance` (default 0.1).
    pub tolerance: f64,
    /// At most this many rescalings per layer (default 10).
    pub max_iterations: usize,
    /// Re-initialize every weight orthogonally (gain 1) and every bias to zero first, as
    /// the paper does (default true); `false` rescales the weights the network has.
    pub orthogonal_first: bool,
    /// Seed of the orthogonal pre-initialization.
    pub seed: u64,
}

impl Default for LsuvConfig {
    fn default() -> Self {
        Self {
            tolerance: 0.1,
            max_iterations: 10,
            orthogonal_first: true,
            seed: 0,
        }
    }
}

/// What LSUV did to one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LsuvLayer {
    /// Rescalings applied.
    pub iterations: usize,
    /// Variance of the layer's output before the first rescaling.
    pub initial_variance: f64,
    /// Variance of the layer's output after the last rescaling.
    pub final_variance: f64,
}

/// LSUV on a plain stack, `name(l)` naming layer `l`'s weight in errors: orthogonal
/// weights drawn from tensor `2l` of the seed (each weight's tensor in a plain stack) and
/// zero biases, then each layer rescaled on its whole pre-activations, computed in one
/// piece.
pub(crate) fn plain<T: Real>(
    stack: &mut impl StackMut<T>,
    inputs: ArrayView2<'_, T>,
    config: LsuvConfig,
    name: impl Fn(usize) -> String,
) -> Result<Vec<LsuvLayer>, NnError> {
    if config.orthogonal_first {
        let key = RngKey::new(config.seed);
        for l in 0..stack.depth() {
            let (mut weight, mut bias) = stack.layer_mut(l);
            Initializer::Orthogonal { gain: 1.0 }
                .fill(&mut weight, key.tensor(2 * l as u64))
                .map_err(|source| NnError::Init {
                    tensor: name(l),
                    source,
                })?;
            bias.fill(T::zero());
        }
    }
    let rows = inputs.nrows();
    let mut workspace = Workspace::for_stack(stack, rows);
    let mut report = Vec::with_capacity(stack.depth());
    for l in 0..stack.depth() {
        let variance_of = |stack: &_, ws: &mut Workspace<T>| {
            crate::stack::forward(stack, inputs, ws, l + 1, usize::MAX);
            variance(ws.pre(l).slice(s![..rows, ..]))
        };
        report.push(config.rescale(
            |stack| variance_of(stack, &mut workspace),
            |stack, factor| stack.layer_mut(l).0.mapv_inplace(|w| w * factor),
            stack,
        ));
    }
    Ok(report)
}

impl LsuvConfig {
    /// Refuses a tolerance that is not finite and positive, or no iterations.
    pub(crate) fn validate(&self) -> Result<(), NnError> {
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(NnError::Config {
                field: "tolerance",
                value: self.tolerance.to_string(),
                expected: "a finite number > 0",
            });
        }
        if self.max_iterations == 0 {
            return Err(NnError::Config {
                field: "max_iterations",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        Ok(())
    }

    /// One layer's loop: measures its output variance, scales its weights by
    /// `1/sqrt(variance)` until within tolerance of 1 (or out of iterations, or at a
    /// variance that cannot be rescaled), and reports.
    pub(crate) fn rescale<M, T: Real>(
        &self,
        mut variance_of: impl FnMut(&M) -> f64,
        mut scale: impl FnMut(&mut M, T),
        model: &mut M,
    ) -> LsuvLayer {
        let initial_variance = variance_of(model);
        let (mut current, mut iterations) = (initial_variance, 0);
        while (current - 1.0).abs() >= self.tolerance
            && iterations < self.max_iterations
            && current > 0.0
            && current.is_finite()
        {
            scale(model, T::of(1.0 / current.sqrt()));
            iterations += 1;
            current = variance_of(model);
        }
        LsuvLayer {
            iterations,
            initial_variance,
            final_variance: current,
        }
    }
}

/// Variance of all entries, in f64.
pub(crate) fn variance<T: Real>(values: ArrayView2<'_, T>) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|v| v.wide()).sum::<f64>() / n;
    values
        .iter()
        .map(|v| (v.wide() - mean).powi(2))
        .sum::<f64>()
        / n
}
