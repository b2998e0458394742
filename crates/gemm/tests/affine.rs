//! `affine` and `affine_backward` against their textbook formulas.

mod common;

use common::{ALL_MEMORY, Memory, Placed, apply_op, uniform, whole};
use initlab_gemm::{AffineGrads, Op, Scalar, affine, affine_backward};
use ndarray::{Array1, Array2, Axis};

fn check_forward<T: Scalar>(
    batch: usize,
    fan_in: usize,
    fan_out: usize,
    mem_x: Memory,
    mem_w: Memory,
) {
    let x = whole::<T>((batch, fan_in), 1);
    let w = whole::<T>((fan_out, fan_in), 2);
    let b = whole::<T>((1, fan_out), 3).remove_axis(Axis(0));
    let sentinel = T::from_f64(-99.0).unwrap();
    let (px, pw) = (
        Placed::new(&x, mem_x, sentinel),
        Placed::new(&w, mem_w, sentinel),
    );
    let mut out = Array2::from_elem((batch, fan_out), T::nan());
    affine(px.view(), pw.view(), b.view(), out.view_mut()).unwrap();

    let expected = apply_op(x.view(), Op::Identity).dot(&apply_op(w.view(), Op::Transpose))
        + &b.mapv(|v| v.to_f64().unwrap()).insert_axis(Axis(0));
    assert_eq!(
        out.mapv(|v| v.to_f64().unwrap()),
        expected,
        "{} {batch}x{fan_in}->{fan_out} {mem_x:?} {mem_w:?}",
        T::NAME
    );
}

#[test]
fn forward_is_x_times_w_transposed_plus_bias() {
    for (batch, fan_in, fan_out) in [
        (1, 1, 1),
        (128, 17, 10),
        (3, 129, 16),
        (16, 15, 127),
        (5, 0, 4),
        (0, 3, 2),
    ] {
        check_forward::<f32>(batch, fan_in, fan_out, Memory::COrder, Memory::COrder);
        check_forward::<f64>(batch, fan_in, fan_out, Memory::COrder, Memory::COrder);
    }
    for mem_x in ALL_MEMORY {
        for mem_w in ALL_MEMORY {
            check_forward::<f32>(9, 17, 6, mem_x, mem_w);
        }
    }
}

fn check_backward<T: Scalar>(batch: usize, fan_in: usize, fan_out: usize, with_dx: bool) {
    let x = whole::<T>((batch, fan_in), 4);
    let w = whole::<T>((fan_out, fan_in), 5);
    let dy = whole::<T>((batch, fan_out), 6);
    let mut dw = Array2::from_elem((fan_out, fan_in), T::nan());
    let mut db = Array1::from_elem(fan_out, T::nan());
    let mut dx = Array2::from_elem((batch, fan_in), T::nan());
    let grads = AffineGrads {
        dw: dw.view_mut(),
        db: db.view_mut(),
        dx: with_dx.then(|| dx.view_mut()),
    };
    affine_backward(dy.view(), x.view(), w.view(), grads).unwrap();

    let to64 = |a: &Array2<T>| a.mapv(|v| v.to_f64().unwrap());
    let label = format!("{} {batch}x{fan_in}->{fan_out}", T::NAME);
    assert_eq!(to64(&dw), to64(&dy).t().dot(&to64(&x)), "dW {label}");
    assert_eq!(
        db.mapv(|v| v.to_f64().unwrap()),
        to64(&dy).sum_axis(Axis(0)),
        "db {label}"
    );
    if with_dx {
        assert_eq!(to64(&dx), to64(&dy).dot(&to64(&w)), "dX {label}");
    } else {
        assert!(
            dx.iter().all(|v| v.is_nan()),
            "dX must be left alone when skipped"
        );
    }
}

#[test]
fn backward_gives_dw_db_dx() {
    for (batch, fan_in, fan_out) in [
        (1, 1, 1),
        (128, 17, 10),
        (3, 129, 16),
        (16, 15, 127),
        (7, 3, 1),
        (1, 40, 33),
    ] {
        for with_dx in [true, false] {
            check_backward::<f32>(batch, fan_in, fan_out, with_dx);
            check_backward::<f64>(batch, fan_in, fan_out, with_dx);
        }
    }
}

#[test]
fn fused_forward_equals_gemm_then_bias() {
    let x = uniform::<f64>((64, 100), 7);
    let w = uniform::<f64>((30, 100), 8);
    let b = uniform::<f64>((1, 30), 9).remove_axis(Axis(0));
    let mut fused = Array2::zeros((64, 30));
    affine(x.view(), w.view(), b.view(), fused.view_mut()).unwrap();
    let mut separate = Array2::zeros((64, 30));
    initlab_gemm::gemm(
        1.0,
        x.view(),
        Op::Identity,
        w.view(),
        Op::Transpose,
        0.0,
        separate.view_mut(),
    )
    .unwrap();
    separate += &b.view().insert_axis(Axis(0));
    for (f, s) in fused.iter().zip(&separate) {
        assert!((f - s).abs() <= 1e-13 * (1.0 + s.abs()), "{f} vs {s}");
    }
}

#[test]
fn shape_errors_name_the_operands() {
    let x = Array2::<f32>::zeros((4, 3));
    let w = Array2::<f32>::zeros((2, 5));
    let b = Array1::<f32>::zeros(2);
    let mut out = Array2::<f32>::zeros((4, 2));
    let message = affine(x.view(), w.view(), b.view(), out.view_mut())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("x has shape [4, 3]") && message.contains("w has shape [2, 5]"),
        "{message}"
    );

    let w = Array2::<f32>::zeros((2, 3));
    let b = Array1::<f32>::zeros(3);
    let message = affine(x.view(), w.view(), b.view(), out.view_mut())
        .unwrap_err()
        .to_string();
    assert!(message.contains("b has shape [3]"), "{message}");

    let dy = Array2::<f32>::zeros((5, 2));
    let (mut dw, mut db) = (Array2::zeros((2, 3)), Array1::zeros(2));
    let grads = AffineGrads {
        dw: dw.view_mut(),
        db: db.view_mut(),
        dx: None,
    };
    let message = affine_backward(dy.view(), x.view(), w.view(), grads)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("dy has shape [5, 2]") && message.contains("x has shape [4, 3]"),
        "{message}"
    );
}
