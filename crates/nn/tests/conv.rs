//! `Conv2d` against a direct seven-loop convolution, its gradients against central
//! differences in f64 for every option (stride, padding, groups, depthwise, non-square
//! kernels), the same bits on 1, 2 and 4 threads, and refusals of impossible geometry.

mod common;

use common::check_gradient;
use initlab_nn::NnError;
use initlab_nn::conv::Conv2d;
use initlab_nn::gemm::{AffineGrads, CpuFeatures, Kernel};
use initlab_nn::ndarray::{Array1, Array2, ShapeBuilder};

/// Deterministic values in [-1, 1) without a generator: a hash of the position.
fn values(rows: usize, cols: usize, salt: u64) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let mut h =
            (i as u64 * 1_000_003 + j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ salt);
        h ^= h >> 29;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 32;
        (h % 2_000_000) as f64 / 1_000_000.0 - 1.0
    })
}

/// The definition, loop by loop.
fn direct(
    conv: &Conv2d,
    input: (usize, usize),
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> Array2<f64> {
    let (oh, ow) = conv.output_size(input).unwrap();
    let (kh, kw) = conv.kernel;
    let per_in = conv.in_channels / conv.groups;
    let per_out = conv.out_channels / conv.groups;
    let mut y = Array2::zeros((x.nrows(), conv.out_channels * oh * ow));
    for n in 0..x.nrows() {
        for o in 0..conv.out_channels {
            let g = o / per_out;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = b[o];
                    for c in 0..per_in {
                        for i in 0..kh {
                            for j in 0..kw {
                                let yy =
                                    (oy * conv.stride.0 + i) as isize - conv.padding.0 as isize;
                                let xx =
                                    (ox * conv.stride.1 + j) as isize - conv.padding.1 as isize;
                                if yy < 0
                                    || xx < 0
                                    || yy >= input.0 as isize
                                    || xx >= input.1 as isize
                                {
                                    continue;
                                }
                                let channel = g * per_in + c;
                                let at = (channel * input.0 + yy as usize) * input.1 + xx as usize;
                                sum += w[[o, (c * kh + i) * kw + j]] * x[[n, at]];
                            }
                        }
                    }
                    y[[n, (o * oh + oy) * ow + ox]] = sum;
                }
            }
        }
    }
    y
}

/// Every option the layer has, on small images.
fn cases() -> Vec<(Conv2d, (usize, usize))> {
    vec![
        (Conv2d::new(2, 3, (3, 3)), (5, 6)),
        (Conv2d::new(2, 3, (3, 3)).with_padding((1, 1)), (5, 5)),
        (
            Conv2d::new(3, 4, (3, 2))
                .with_stride((2, 1))
                .with_padding((1, 0)),
            (7, 5),
        ),
        (
            Conv2d::new(4, 6, (3, 3))
                .with_groups(2)
                .with_padding((1, 1)),
            (4, 4),
        ),
        // Depthwise: one group per channel.
        (
            Conv2d::new(3, 3, (3, 3))
                .with_groups(3)
                .with_stride((2, 2))
                .with_padding((1, 1)),
            (6, 6),
        ),
        (Conv2d::new(1, 2, (1, 1)), (3, 3)),
        // A horizontal stride past 2, and output rows of 9 and 20 values: every way a row
        // of taps is copied.
        (
            Conv2d::new(2, 2, (3, 3))
                .with_stride((1, 3))
                .with_padding((1, 1)),
            (4, 11),
        ),
        (Conv2d::new(1, 2, (3, 3)).with_padding((1, 1)), (3, 9)),
        (Conv2d::new(1, 2, (3, 3)).with_padding((1, 1)), (2, 20)),
        // A kernel that covers the padded input exactly.
        (Conv2d::new(1, 2, (4, 4)).with_padding((1, 1)), (2, 2)),
    ]
}

fn parameters(conv: &Conv2d, salt: u64) -> (Array2<f64>, Array1<f64>) {
    let [out, per_in, kh, kw] = conv.weight_shape();
    let w = values(out, per_in * kh * kw, salt);
    let b = values(1, out, salt + 1).row(0).to_owned();
    (w, b)
}

#[test]
fn the_forward_pass_is_the_direct_convolution() {
    for (conv, input) in cases() {
        let x = values(3, conv.in_channels * input.0 * input.1, 1);
        let (w, b) = parameters(&conv, 2);
        let (oh, ow) = conv.output_size(input).unwrap();
        let mut y = Array2::zeros((3, conv.out_channels * oh * ow));
        conv.forward(
            Kernel::OPENBLAS,
            input,
            x.view(),
            w.view(),
            b.view(),
            y.view_mut(),
        )
        .unwrap();
        let expected = direct(&conv, input, &x, &w, &b);
        let error = (&y - &expected).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(error < 1e-12, "{conv:?}: {error}");
    }
}

#[test]
fn gradients_match_central_differences_in_f64() {
    for (conv, input) in cases() {
        let rows = 2;
        let x = values(rows, conv.in_channels * input.0 * input.1, 3);
        let (w, b) = parameters(&conv, 4);
        let (oh, ow) = conv.output_size(input).unwrap();
        // The loss sum(r ⊙ y) for fixed r: its gradient with respect to y is r.
        let r = values(rows, conv.out_channels * oh * ow, 5);
        let loss = |x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>| {
            (&direct(&conv, input, x, w, b) * &r).sum()
        };
        let mut dw = Array2::zeros(w.dim());
        let mut db = Array1::zeros(b.len());
        let mut dx = Array2::zeros(x.dim());
        let grads = AffineGrads {
            dw: dw.view_mut(),
            db: db.view_mut(),
            dx: Some(dx.view_mut()),
        };
        conv.backward(Kernel::OPENBLAS, input, x.view(), w.view(), r.view(), grads)
            .unwrap();
        let name = format!("{conv:?}");
        check_gradient(&format!("{name}: dw"), &w, &dw, |w| loss(&x, w, &b));
        check_gradient(&format!("{name}: db"), &b, &db, |b| loss(&x, &w, b));
        check_gradient(&format!("{name}: dx"), &x, &dx, |x| loss(x, &w, &b));
    }
}

#[test]
fn the_bits_are_the_same_on_1_2_and_4_threads() {
    // f32, and more samples than one gradient chunk, so that the chunks' order matters.
    let conv = Conv2d::new(4, 8, (3, 3))
        .with_stride((2, 2))
        .with_padding((1, 1))
        .with_groups(2);
    let input = (9, 9);
    let rows = 3 * initlab_nn::conv::GRADIENT_CHUNK + 5;
    let x = values(rows, 4 * 81, 6).mapv(|v| v as f32);
    let (w, b) = parameters(&conv, 7);
    let (w, b) = (w.mapv(|v| v as f32), b.mapv(|v| v as f32));
    let (oh, ow) = conv.output_size(input).unwrap();
    let dy = values(rows, 8 * oh * ow, 8).mapv(|v| v as f32);
    // On OpenBLAS, and on the packed kernel where this CPU has it.
    let kernels = std::iter::once(Kernel::OPENBLAS)
        .chain(Kernel::parse("packed", CpuFeatures::detect()).ok());
    for kernel in kernels {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut y = Array2::<f32>::zeros((rows, 8 * oh * ow));
                conv.forward(kernel, input, x.view(), w.view(), b.view(), y.view_mut())
                    .unwrap();
                let mut dw = Array2::<f32>::zeros(w.dim());
                let mut db = Array1::<f32>::zeros(8);
                let mut dx = Array2::<f32>::zeros(x.dim());
                let grads = AffineGrads {
                    dw: dw.view_mut(),
                    db: db.view_mut(),
                    dx: Some(dx.view_mut()),
                };
                conv.backward(kernel, input, x.view(), w.view(), dy.view(), grads)
                    .unwrap();
                let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
                [
                    bits(y.as_slice().unwrap()),
                    bits(dw.as_slice().unwrap()),
                    bits(db.as_slice().unwrap()),
                    bits(dx.as_slice().unwrap()),
                ]
            })
        };
        let one = run(1);
        for threads in [2, 4] {
            assert!(
                run(threads) == one,
                "{kernel}: {threads} threads differ from 1"
            );
        }
    }
}

#[test]
fn impossible_geometry_and_wrong_buffers_are_refused_with_what_was_expected() {
    let message = |e: NnError| e.to_string();
    let too_large = Conv2d::new(1, 1, (5, 5))
        .with_padding((0, 1))
        .output_size((4, 8));
    let error = message(too_large.unwrap_err());
    assert!(
        error.contains("kernel height of 5") && error.contains("no pixel"),
        "{error}"
    );
    let error = message(
        Conv2d::new(6, 4, (3, 3))
            .with_groups(4)
            .output_size((8, 8))
            .unwrap_err(),
    );
    assert!(error.contains("4 groups do not divide"), "{error}");
    let error = message(
        Conv2d::new(6, 4, (3, 3))
            .with_groups(0)
            .output_size((8, 8))
            .unwrap_err(),
    );
    assert!(error.contains("0 groups"), "{error}");
    let error = message(
        Conv2d::new(1, 1, (3, 3))
            .with_stride((0, 1))
            .output_size((8, 8))
            .unwrap_err(),
    );
    assert!(error.contains("stride 0"), "{error}");
    // Sizes past what a usize counts are refused, not wrapped or a panic.
    let huge = Conv2d::new(1, 1, (1, 1)).with_padding((usize::MAX / 2 + 1, 0));
    let error = message(huge.output_size((1, 1)).unwrap_err());
    assert!(error.contains("more than a usize counts"), "{error}");
    let wide = Conv2d::new(usize::MAX / 2, usize::MAX / 2, (1, 1));
    let error = message(wide.output_size((4, 4)).unwrap_err());
    assert!(error.contains("more values than a usize counts"), "{error}");
    let error = message(Conv2d::new(0, 1, (3, 3)).output_size((8, 8)).unwrap_err());
    assert!(error.contains("0 input"), "{error}");
    // A stack of stride-2 layers shrinks 8x8 to 1x1; one more 3x3 without padding has no
    // pixel left.
    let halve = Conv2d::new(1, 1, (3, 3))
        .with_stride((2, 2))
        .with_padding((1, 1));
    let mut size = (8, 8);
    for _ in 0..3 {
        size = halve.output_size(size).unwrap();
    }
    assert_eq!(size, (1, 1));
    assert!(Conv2d::new(1, 1, (3, 3)).output_size(size).is_err());

    let conv = Conv2d::new(2, 3, (3, 3));
    let (w, b) = parameters(&conv, 1);
    let x = values(2, 2 * 25, 2);
    let mut y = Array2::zeros((2, 3 * 9));
    let error = message(
        conv.forward(
            Kernel::OPENBLAS,
            (5, 6),
            x.view(),
            w.view(),
            b.view(),
            y.view_mut(),
        )
        .unwrap_err(),
    );
    assert!(
        error.contains("input") && error.contains("(2, 60)"),
        "{error}"
    );
    // An output whose rows are not contiguous (Fortran order) is refused, not a panic.
    let mut fortran = Array2::zeros((2, 3 * 9).f());
    let error = message(
        conv.forward(
            Kernel::OPENBLAS,
            (5, 5),
            x.view(),
            w.view(),
            b.view(),
            fortran.view_mut(),
        )
        .unwrap_err(),
    );
    assert!(error.contains("contiguous"), "{error}");
    let mut short = Array2::zeros((2, 3 * 8));
    let error = message(
        conv.forward(
            Kernel::OPENBLAS,
            (5, 5),
            x.view(),
            w.view(),
            b.view(),
            short.view_mut(),
        )
        .unwrap_err(),
    );
    assert!(error.contains("output"), "{error}");
}
