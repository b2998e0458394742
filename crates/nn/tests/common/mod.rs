//! What the layer tests share.

use initlab_nn::ndarray::{Array, Dimension, NdIndex};

/// Checks `analytic`, the gradient of `loss` at `at`, entry by entry against central
/// differences of step 1e-7: within 1e-6 relative, where a wrong gradient is off by its
/// own size.
pub(crate) fn check_gradient<D: Dimension>(
    name: &str,
    at: &Array<f64, D>,
    analytic: &Array<f64, D>,
    loss: impl Fn(&Array<f64, D>) -> f64,
) where
    D::Pattern: NdIndex<D> + Clone + std::fmt::Debug,
{
    let h = 1e-7;
    for (index, &analytic) in analytic.indexed_iter() {
        let (mut plus, mut minus) = (at.clone(), at.clone());
        plus[index.clone()] += h;
        minus[index.clone()] -= h;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
        assert!(
            (analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
            "{name}{index:?}: analytic {analytic}, numeric {numeric}"
        );
    }
}
