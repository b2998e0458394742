//! Average, max and global average pooling against their definitions, their gradients
//! against central differences in f64, NaN through max pooling, and refusals.

mod common;

use common::check_gradient;
use initlab_nn::NnError;
use initlab_nn::ndarray::Array2;
use initlab_nn::pool::{Pool2d, PoolKind};

/// Distinct values in [-1, 1), so that a max pooling window has one largest value.
fn values(rows: usize, cols: usize, salt: usize) -> Array2<f64> {
    let n = rows * cols;
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let k = (i * cols + j) * 7919 + salt * 104_729;
        (k % n) as f64 / n as f64 * 2.0 - 1.0 + 1e-3 * (i * cols + j) as f64 / n as f64
    })
}

/// The definition: each output is the mean or the max of its window.
fn direct(pool: &Pool2d, channels: usize, input: (usize, usize), x: &Array2<f64>) -> Array2<f64> {
    let (oh, ow) = pool.output_size(input).unwrap();
    let mut y = Array2::zeros((x.nrows(), channels * oh * ow));
    for n in 0..x.nrows() {
        for c in 0..channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut window = Vec::new();
                    for i in 0..pool.kernel.0 {
                        for j in 0..pool.kernel.1 {
                            let (yy, xx) = (oy * pool.stride.0 + i, ox * pool.stride.1 + j);
                            window.push(x[[n, (c * input.0 + yy) * input.1 + xx]]);
                        }
                    }
                    y[[n, (c * oh + oy) * ow + ox]] = match pool.kind {
                        PoolKind::Average => window.iter().sum::<f64>() / window.len() as f64,
                        PoolKind::Max => window.iter().copied().fold(f64::MIN, f64::max),
                    };
                }
            }
        }
    }
    y
}

fn cases() -> Vec<(Pool2d, usize, (usize, usize))> {
    vec![
        (Pool2d::average((2, 2), (2, 2)), 3, (4, 6)),
        (Pool2d::max((2, 2), (2, 2)), 3, (4, 6)),
        // Overlapping windows, and a stride that leaves the last column out.
        (Pool2d::average((3, 2), (1, 2)), 2, (5, 5)),
        (Pool2d::max((3, 3), (2, 2)), 2, (7, 6)),
        (Pool2d::global_average((5, 3)), 4, (5, 3)),
    ]
}

#[test]
fn pooling_is_its_definition() {
    for (pool, channels, input) in cases() {
        let x = values(3, channels * input.0 * input.1, 1);
        let (oh, ow) = pool.output_size(input).unwrap();
        let mut y = Array2::zeros((3, channels * oh * ow));
        pool.forward(channels, input, x.view(), y.view_mut())
            .unwrap();
        let expected = direct(&pool, channels, input, &x);
        let error = (&y - &expected).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(error < 1e-15, "{pool:?}: {error}");
    }
}

#[test]
fn global_average_pooling_gives_each_channels_mean() {
    let (channels, input) = (3, (4, 5));
    let x = values(2, channels * 20, 2);
    let mut y = Array2::zeros((2, channels));
    Pool2d::global_average(input)
        .forward(channels, input, x.view(), y.view_mut())
        .unwrap();
    for n in 0..2 {
        for c in 0..channels {
            let mean = x.row(n).iter().skip(c * 20).take(20).sum::<f64>() / 20.0;
            assert!((y[[n, c]] - mean).abs() < 1e-15);
        }
    }
}

#[test]
fn gradients_match_central_differences_in_f64() {
    for (pool, channels, input) in cases() {
        let x = values(2, channels * input.0 * input.1, 3);
        let (oh, ow) = pool.output_size(input).unwrap();
        let r = values(2, channels * oh * ow, 4);
        let loss = |x: &Array2<f64>| (&direct(&pool, channels, input, x) * &r).sum();
        let mut dx = Array2::zeros(x.dim());
        pool.backward(channels, input, x.view(), r.view(), dx.view_mut())
            .unwrap();
        // The step, 1e-7, changes no max pooling window's winner.
        check_gradient(&format!("{pool:?}: dx"), &x, &dx, loss);
    }
}

#[test]
fn a_nan_in_a_max_window_is_the_windows_max() {
    let pool = Pool2d::max((2, 2), (2, 2));
    let mut x = values(1, 16, 5);
    x[[0, 5]] = f64::NAN; // row 1, column 1: the first window.
    let mut y = Array2::zeros((1, 4));
    pool.forward(1, (4, 4), x.view(), y.view_mut()).unwrap();
    assert!(y[[0, 0]].is_nan());
    assert!(y.iter().skip(1).all(|v| v.is_finite()));
}

#[test]
fn impossible_windows_and_wrong_buffers_are_refused() {
    let message = |e: NnError| e.to_string();
    let error = message(Pool2d::max((5, 2), (1, 1)).output_size((4, 4)).unwrap_err());
    assert!(
        error.contains("window height of 5") && error.contains("1 to 4"),
        "{error}"
    );
    let error = message(
        Pool2d::average((2, 2), (0, 1))
            .output_size((4, 4))
            .unwrap_err(),
    );
    assert!(error.contains("stride 0"), "{error}");
    let x = values(2, 3 * 16, 6);
    let mut tiny = Array2::zeros((2, 1));
    let error = message(
        Pool2d::max((1, 1), (1, 1))
            .forward(usize::MAX / 2, (4, 4), x.view(), tiny.view_mut())
            .unwrap_err(),
    );
    assert!(error.contains("more values than a usize counts"), "{error}");
    let mut y = Array2::zeros((2, 3 * 4));
    let pool = Pool2d::average((2, 2), (2, 2));
    let error = message(pool.forward(2, (4, 4), x.view(), y.view_mut()).unwrap_err());
    assert!(error.contains("expected"), "{error}");
    let mut dx = Array2::zeros((2, 3));
    let error = message(
        pool.backward(3, (4, 4), x.view(), y.view(), dx.view_mut())
            .unwrap_err(),
    );
    assert!(error.contains("gradient"), "{error}");
}
