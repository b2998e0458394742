//! Orthogonal init: W W^T or W^T W is gain^2 I, and the distribution is Haar.

mod common;

use common::{assert_ks, assert_moments};
use initlab_init::{Element, Initializer, RngKey};
use ndarray::{Array2, Axis};

fn check_orthonormal<T: Element + ndarray::LinalgScalar>(
    shape: (usize, usize),
    gain: f64,
    tolerance: f64,
) {
    let w = Initializer::Orthogonal { gain }
        .sample::<T, _>(shape, RngKey::new(shape.0 as u64 * 31 + shape.1 as u64))
        .unwrap();
    let w = w.mapv(|v| v.to_f64().unwrap());
    // The shorter side is orthonormal: W^T W (tall) or W W^T (wide) is gain^2 I.
    let gram = if shape.0 >= shape.1 {
        w.t().dot(&w)
    } else {
        w.dot(&w.t())
    };
    let expected = Array2::<f64>::eye(gram.nrows()) * gain * gain;
    let worst = (&gram - &expected)
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    assert!(
        worst <= tolerance,
        "{shape:?} gain {gain}: max |gram - gain^2 I| = {worst:e}"
    );
}

#[test]
fn square_tall_and_wide_matrices_are_orthonormal() {
    for shape in [
        (1, 1),
        (64, 64),
        (300, 50),
        (50, 300),
        (257, 256),
        (1, 40),
        (40, 1),
    ] {
        check_orthonormal::<f32>(shape, 1.0, 1e-4);
        check_orthonormal::<f64>(shape, 1.0, 1e-10);
        check_orthonormal::<f64>(shape, 2.0_f64.sqrt(), 1e-10);
    }
}

#[test]
fn higher_ranks_are_flattened_to_out_by_rest() {
    let w = Initializer::Orthogonal { gain: 1.0 }
        .sample::<f64, _>((8, 3, 2, 2), RngKey::new(5))
        .unwrap();
    let flat = w.into_shape_with_order((8, 12)).unwrap();
    let gram = flat.dot(&flat.t());
    let worst = (&gram - &Array2::<f64>::eye(8))
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    assert!(worst < 1e-10, "{worst:e}");
}

/// Draws entry `[i, j]` of 3x3 orthogonal matrices from `count` seeds.
fn entries(i: usize, j: usize, count: u64, seed: u64) -> Vec<f64> {
    (0..count)
        .map(|t| {
            let q = Initializer::Orthogonal { gain: 1.0 }
                .sample::<f64, _>((3, 3), RngKey::new(seed).tensor(t))
                .unwrap();
            q[[i, j]]
        })
        .collect()
}

#[test]
fn three_by_three_entries_are_uniform_on_minus_one_one() {
    // A Haar-random 3x3 rotation's columns are uniform on the sphere, and (Archimedes) a
    // coordinate of a uniform point on the 2-sphere is U(-1, 1). Without the sign
    // correction, a Householder QR (LAPACK's, or this crate's) makes Q[0, 0] = -|a_00| / ||a_0|| always
    // negative, which this test rejects.
    let uniform = |x: f64| ((x + 1.0) / 2.0).clamp(0.0, 1.0);
    for (seed, (i, j)) in [(1, (0, 0)), (2, (1, 1)), (3, (2, 0)), (4, (0, 2))] {
        let samples = entries(i, j, 20_000, seed);
        assert_ks(&format!("Q[{i}, {j}]"), &samples, uniform);
        assert_moments(&format!("Q[{i}, {j}]"), &samples, 0.0, 1.0 / 3.0);
    }
}

#[test]
fn stated_variance_matches_entries() {
    let strategy = Initializer::Orthogonal { gain: 1.5 };
    let w = strategy
        .sample::<f64, _>((400, 100), RngKey::new(9))
        .unwrap();
    let fans = initlab_init::Fans::from_shape(w.shape()).unwrap();
    let variance = strategy.variance(fans).unwrap().unwrap();
    assert!((variance - 2.25 / 400.0).abs() < 1e-15);
    // Each column has squared norm exactly gain^2, so the mean square is exact.
    let mean_square = w
        .mapv(|v| v * v)
        .mean_axis(Axis(0))
        .unwrap()
        .mean()
        .unwrap();
    assert!((mean_square - variance).abs() < 1e-12);
}

/// An orthogonal matrix's rows (wide) or columns (tall) have unit norm, so the mean square
/// of its entries is exactly `gain^2 / max(rows, cols)`: what `moments()` must state, for
/// wide shapes too.
#[test]
fn moments_match_the_exact_mean_square_for_wide_and_tall_shapes() {
    for (shape, gain) in [
        ((512, 784), 1.0),
        ((784, 512), 1.0),
        ((64, 300), 2.0),
        ((300, 64), 0.5),
    ] {
        let w = Initializer::Orthogonal { gain }
            .sample::<f64, _>(shape, RngKey::new(11))
            .unwrap();
        let mean_square = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        let stated = Initializer::Orthogonal { gain }
            .variance(initlab_init::Fans::from_shape(&[shape.0, shape.1]).unwrap())
            .unwrap()
            .unwrap();
        assert!(
            (mean_square - stated).abs() < 1e-12 * stated,
            "{shape:?}: mean square {mean_square}, moments say {stated}"
        );
    }
}

/// `max |G - I|` for the Gram matrix of the columns of `w` reshaped to `[rows, cols]`
/// (of its rows, if there are fewer rows).
fn distance_from_orthonormal(w: &[f64], rows: usize, cols: usize) -> f64 {
    let m = ndarray::ArrayView2::from_shape((rows, cols), w).unwrap();
    let gram = if rows >= cols {
        m.t().dot(&m)
    } else {
        m.dot(&m.t())
    };
    let n = gram.nrows();
    (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| (gram[[i, j]] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max)
}

#[test]
fn keras_layout_is_orthogonal_along_keras_axes() {
    use initlab_init::WeightLayout;
    // A Keras conv kernel [k, k, in, out]: orthonormal over [k * k * in, out].
    let mut kernel = ndarray::Array4::<f64>::zeros((3, 3, 64, 32));
    Initializer::orthogonal(1.0)
        .fill_in_layout(&mut kernel, WeightLayout::Keras, RngKey::new(4))
        .unwrap();
    let values = kernel.as_slice().unwrap();
    assert!(distance_from_orthonormal(values, 576, 32) < 1e-12);
    // PyTorch's flattening of the same array, [3, 3 * 64 * 32], is not orthogonal there.
    let mut torch = ndarray::Array4::<f64>::zeros((3, 3, 64, 32));
    Initializer::orthogonal(1.0)
        .fill(&mut torch, RngKey::new(4))
        .unwrap();
    assert!(distance_from_orthonormal(torch.as_slice().unwrap(), 576, 32) > 0.5);
    // A wide Keras dense kernel [in, out] = [64, 128]: its 64 rows are orthonormal.
    let mut dense = ndarray::Array2::<f64>::zeros((64, 128));
    Initializer::orthogonal(1.0)
        .fill_in_layout(&mut dense, WeightLayout::Keras, RngKey::new(5))
        .unwrap();
    assert!(distance_from_orthonormal(dense.as_slice().unwrap(), 64, 128) < 1e-12);
    // Keras's fans follow the layout too.
    assert_eq!(
        WeightLayout::Keras.fans(&[3, 3, 64, 32]).unwrap(),
        initlab_init::Fans::from_keras_shape(&[3, 3, 64, 32]).unwrap()
    );
}

#[test]
fn grouped_convolutions_get_per_group_fans() {
    use initlab_init::Fans;
    // Depthwise: each input channel feeds 9 outputs, not PyTorch's 288.
    let depthwise = Fans::from_grouped_shape(&[32, 1, 3, 3], 32).unwrap();
    assert_eq!((depthwise.fan_in, depthwise.fan_out), (9, 9));
    assert_eq!(Fans::from_shape(&[32, 1, 3, 3]).unwrap().fan_out, 288);
    // Two groups of 32 outputs over 16 inputs each.
    let grouped = Fans::from_grouped_shape(&[64, 16, 3, 3], 2).unwrap();
    assert_eq!((grouped.fan_in, grouped.fan_out), (144, 288));
    assert!(Fans::from_grouped_shape(&[64, 16, 3, 3], 3).is_err());
    assert!(Fans::from_grouped_shape(&[64, 16, 3, 3], 0).is_err());
    // He fan_out on a depthwise kernel: variance 2/9 per group, 32x PyTorch's 2/288.
    let he_out = Initializer::HeNormal {
        mode: initlab_init::FanMode::FanOut,
        nonlinearity: initlab_init::Nonlinearity::Relu,
    };
    assert!((he_out.variance(depthwise).unwrap().unwrap() - 2.0 / 9.0).abs() < 1e-15);
}
