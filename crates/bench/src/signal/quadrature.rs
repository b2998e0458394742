//! Gaussian expectations `E[f(h)]`, `h ~ N(0, q)`, by quadrature.
//!
//! Smooth integrands use Gauss–Hermite quadrature. Activations with a kink at 0 (ReLU,
//! leaky ReLU, ELU, SELU, softsign) would make Gauss–Hermite converge only algebraically,
//! so they are integrated on each half-line separately with Gauss–Legendre on
//! `[0, 12 sqrt(q)]` (the density beyond is below 1e-31), where the integrand is
//! analytic. Both rules are exact to ~1e-12 for every activation in `initlab-nn`.

use std::sync::OnceLock;

use ndarray::Array2;
use ndarray_linalg::{Eigh, UPLO};

/// Nodes and weights of a Gauss rule from its Jacobi matrix (Golub & Welsch 1969):
/// off-diagonal `beta[k]`, zero diagonal, total weight `mass`.
fn golub_welsch(beta: &[f64], mass: f64) -> (Vec<f64>, Vec<f64>) {
    let n = beta.len() + 1;
    let mut jacobi = Array2::<f64>::zeros((n, n));
    for (k, &b) in beta.iter().enumerate() {
        jacobi[[k, k + 1]] = b;
        jacobi[[k + 1, k]] = b;
    }
    let (nodes, vectors) = jacobi
        .eigh(UPLO::Lower)
        .expect("a symmetric tridiagonal matrix has an eigendecomposition");
    let weights = vectors.row(0).iter().map(|v| mass * v * v).collect();
    (nodes.to_vec(), weights)
}

const POINTS: usize = 96;

/// Gauss–Hermite rule for weight `e^{-x^2}` on the real line.
fn hermite() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| {
        let beta: Vec<f64> = (1..POINTS).map(|k| (k as f64 / 2.0).sqrt()).collect();
        golub_welsch(&beta, std::f64::consts::PI.sqrt())
    })
}

/// Gauss–Legendre rule on [-1, 1].
fn legendre() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| {
        let beta: Vec<f64> = (1..POINTS)
            .map(|k| k as f64 / ((4 * k * k - 1) as f64).sqrt())
            .collect();
        golub_welsch(&beta, 2.0)
    })
}

/// `E[f(h)]` for `h ~ N(0, q)` by Gauss–Hermite quadrature (for smooth `f`).
pub(crate) fn gauss_hermite(q: f64, f: impl Fn(f64) -> f64) -> f64 {
    if q <= 0.0 {
        return f(0.0);
    }
    let (nodes, weights) = hermite();
    let scale = (2.0 * q).sqrt();
    nodes
        .iter()
        .zip(weights)
        .map(|(&x, &w)| w * f(scale * x))
        .sum::<f64>()
        / std::f64::consts::PI.sqrt()
}

/// `E[f(h)]` for `h ~ N(0, q)`, integrating each half-line separately (for `f` with a kink
/// at 0).
pub(crate) fn split_at_zero(q: f64, f: impl Fn(f64) -> f64) -> f64 {
    if q <= 0.0 {
        return f(0.0);
    }
    let (nodes, weights) = legendre();
    let sigma = q.sqrt();
    let half = 6.0 * sigma;
    let density = |h: f64| (-0.5 * h * h / q).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt());
    nodes
        .iter()
        .zip(weights)
        .map(|(&x, &w)| {
            let h = half * (x + 1.0);
            w * half * density(h) * (f(h) + f(-h))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        for q in [1e-4, 0.5, 1.0, 3.7, 100.0] {
            assert!(
                (gauss_hermite(q, |h| h * h) / q - 1.0).abs() < 1e-12,
                "identity at q = {q}"
            );
            assert!(
                (split_at_zero(q, |h| h.max(0.0).powi(2)) / (q / 2.0) - 1.0).abs() < 1e-12,
                "relu at q = {q}"
            );
            assert!((split_at_zero(q, |h| if h > 0.0 { 1.0 } else { 0.0 }) - 0.5).abs() < 1e-12);
            assert!((split_at_zero(q, |_| 1.0) - 1.0).abs() < 1e-12);
            // E|h| = sqrt(2q/pi)
            let abs = split_at_zero(q, f64::abs);
            assert!(
                (abs / (2.0 * q / std::f64::consts::PI).sqrt() - 1.0).abs() < 1e-12,
                "E|h| at q = {q}"
            );
            // E[e^h] = e^{q/2}, smooth
            assert!(
                (gauss_hermite(q.min(4.0), f64::exp) / (q.min(4.0) / 2.0).exp() - 1.0).abs()
                    < 1e-12
            );
        }
    }
}
