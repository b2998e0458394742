//! The mean-field theory of a plain stack at initialization (Poole et al. 2016, Schoenholz
//! et al. 2017): Gaussian expectations of an activation, the critical weight scale and
//! the variance's fixed point.

use initlab_nn::Activation;

use super::quadrature::{gauss_hermite, split_at_zero};

/// Whether `activation` has a kink at 0 (integrated piecewise).
fn kinked(activation: Activation) -> bool {
    matches!(
        activation,
        Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Softsign
    )
}

/// `E[f(h)]` for `h ~ N(0, q)`, with the quadrature that suits `activation`.
pub fn expectation(activation: Activation, q: f64, f: impl Fn(f64) -> f64) -> f64 {
    if kinked(activation) {
        split_at_zero(q, f)
    } else {
        gauss_hermite(q, f)
    }
}

/// `E[f(h)^2]`, `h ~ N(0, q)`.
pub fn second_moment(activation: Activation, q: f64) -> f64 {
    expectation(activation, q, |h| activation.apply(h).powi(2))
}

/// `E[f'(h)^2]`, `h ~ N(0, q)`.
pub fn slope_moment(activation: Activation, q: f64) -> f64 {
    expectation(activation, q, |h| {
        activation.derivative(h, activation.apply(h)).powi(2)
    })
}

/// The critical weight scale `sigma_w^2 = fan_in * Var(w)` (no bias): the edge of chaos,
/// where `chi = sigma_w^2 E[f'(h)^2]` at the forward map's stable fixed point `q*` crosses 1
/// (Poole et al. 2016). Found by bracketing `chi(sigma_w^2) - 1` on a logarithmic grid
/// over `[1e-3, 1e4]` and bisecting; NaN where it never crosses there.
///
/// The fixed point is the one reached from `q = 1`, the unit-variance input the report
/// feeds. For ReLU, leaky ReLU, tanh, identity, ELU and SELU the edge is where `q* = 0`
/// stops attracting, `sigma_w^2 = 2 / (f'(0+)^2 + f'(0-)^2)`: 2 for ReLU, `2 / (1 + a^2)`
/// for leaky ReLU, 1 for tanh, identity and ELU(1), and `2 / (lambda^2 (1 + alpha^2)) =
/// 0.4768` for SELU, whose `chi` exceeds 1 at every `q* > 0`. GELU is bistable below 4:
/// an unstable fixed point separates signals that die out from signals that grow, and
/// from `q = 1` the edge (2.35) is where that point passes 1; `chi` jumps there instead
/// of crossing 1.
pub fn critical_weight_scale(activation: Activation) -> f64 {
    critical_point(activation, 0.0).0
}

/// The edge of chaos with biases of variance `bias_variance` (`sigma_b^2`): the weight
/// scale `sigma_w^2` where `chi = 1`, and the variance's fixed point `q*` there
/// (Schoenholz et al. 2017's critical line; Xiao et al. 2018 train vanilla CNNs on it).
/// With no bias it is [`critical_weight_scale`]'s point; NaN where `chi` never crosses 1
/// on `[1e-3, 1e4]`.
pub fn critical_point(activation: Activation, bias_variance: f64) -> (f64, f64) {
    let chi_minus_one = |scale: f64| {
        scale * slope_moment(activation, fixed_point(activation, scale, bias_variance)) - 1.0
    };
    let grid: Vec<(f64, f64)> = (0..=140)
        .map(|i| 10f64.powf(-3.0 + 0.05 * f64::from(i)))
        .map(|scale| (scale, chi_minus_one(scale)))
        .collect();
    let Some(pair) = grid.windows(2).find(|w| w[0].1 < 0.0 && w[1].1 >= 0.0) else {
        return (f64::NAN, f64::NAN);
    };
    let scale = bisect(pair[0].0, pair[1].0, false, |scale| {
        chi_minus_one(scale) < 0.0
    });
    (scale, fixed_point(activation, scale, bias_variance))
}

/// The boundary in `[low, high]` where `below` turns from true to false, by bisection:
/// on arithmetic midpoints, or on geometric ones for ranges spanning decades.
fn bisect(mut low: f64, mut high: f64, geometric: bool, below: impl Fn(f64) -> bool) -> f64 {
    let middle = |low: f64, high: f64| {
        if geometric {
            (low * high).sqrt()
        } else {
            0.5 * (low + high)
        }
    };
    for _ in 0..200 {
        let m = middle(low, high);
        if m <= low || m >= high {
            break;
        }
        if below(m) {
            low = m;
        } else {
            high = m;
        }
    }
    middle(low, high)
}

/// The forward map's stable fixed point `q* = sigma_w^2 E[f(h)^2] + sigma_b^2` reached
/// from `q = 1` for `scale = sigma_w^2` and `bias = sigma_b^2`: a tiny positive stand-in
/// for 0 where the variance dies out, 1e12 where it grows without bound. Bracketed on a
/// logarithmic grid and bisected, since plain iteration crawls near the edge (its
/// contraction rate tends to 1 there).
fn fixed_point(activation: Activation, scale: f64, bias: f64) -> f64 {
    const TINY: f64 = 1e-24;
    const HUGE: f64 = 1e12;
    let excess = |q: f64| scale * second_moment(activation, q) + bias - q;
    let rising = excess(1.0) > 0.0;
    // Walk from 1 the way the iteration moves until the map's excess changes sign.
    let factor: f64 = if rising { 1.25 } else { 0.8 };
    let mut near = 1.0;
    let far = loop {
        let next = near * factor;
        if !(TINY..=HUGE).contains(&next) {
            return if rising { HUGE } else { TINY };
        }
        if (excess(next) > 0.0) != rising {
            break next;
        }
        near = next;
    };
    let (low, high) = if rising { (near, far) } else { (far, near) };
    // Below the fixed point the map rises (excess > 0), above it falls.
    bisect(low, high, true, |q| excess(q) > 0.0)
}

/// The weight scale `sigma_w^2 = 1 / E[f(h)^2]`, `h ~ N(0, 1)`, at which `q = 1` is a fixed
/// point of the forward map (no bias): 2 for ReLU, 1 for SELU and identity, 2.536 for tanh.
/// Unlike [`critical_weight_scale`] it says where the variance settles, not whether
/// perturbations and gradients grow.
pub fn unit_fixed_point_scale(activation: Activation) -> f64 {
    1.0 / second_moment(activation, 1.0)
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The variance a plain iteration of the forward map settles at (slowly, but the map
    /// contracts at the critical point when there is a bias).
    fn iterated(scale: f64, bias: f64) -> f64 {
        (0..100_000).fold(1.0, |q, _| {
            scale * second_moment(Activation::Tanh, q) + bias
        })
    }

    #[test]
    fn the_critical_line_of_tanh_rises_with_the_bias() {
        let (scale, q) = critical_point(Activation::Tanh, 0.0);
        assert!((scale - 1.0).abs() < 1e-9 && q < 1e-9, "{scale} {q}");
        let mut previous = 1.0;
        for bias in [1e-5, 1e-4, 1e-3, 1e-2] {
            let (scale, q) = critical_point(Activation::Tanh, bias);
            assert!(scale > previous, "σ_b² {bias}: σ_w² {scale}");
            previous = scale;
            // q* is where the forward map settles, and chi is 1 there and only there.
            let settled = iterated(scale, bias);
            assert!(
                (settled - q).abs() < 1e-6 * q,
                "σ_b² {bias}: {settled} vs {q}"
            );
            let chi = |s: f64| s * slope_moment(Activation::Tanh, iterated(s, bias));
            assert!((chi(scale) - 1.0).abs() < 1e-6, "{}", chi(scale));
            assert!(chi(scale * 0.99) < 1.0 && chi(scale * 1.01) > 1.0);
        }
    }
}
