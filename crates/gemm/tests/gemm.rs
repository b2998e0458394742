//! `gemm` against a naive f64 reference: every transpose combination, sizes across
//! block edges, every memory layout, alpha/beta, empty and vector shapes, f32 and f64; the
//! exact products on OpenBLAS and on each packed kernel this CPU runs.

mod common;

use common::{ALL_MEMORY, Memory, Placed, reference, stored, uniform, whole};
use initlab_gemm::{CpuFeatures, Isa, Kernel, Op, Scalar, ShapeError, gemm};
use ndarray::Array2;

const OPS: [(Op, Op); 4] = [
    (Op::Identity, Op::Identity),
    (Op::Identity, Op::Transpose),
    (Op::Transpose, Op::Identity),
    (Op::Transpose, Op::Transpose),
];

/// OpenBLAS, and the packed kernel on each instruction set this CPU runs.
fn kernels() -> Vec<Kernel> {
    let packed = [Isa::Avx512, Isa::Avx2]
        .into_iter()
        .filter_map(|isa| Kernel::packed_on(isa, CpuFeatures::detect()).ok());
    std::iter::once(Kernel::OPENBLAS).chain(packed).collect()
}

/// Runs one product on whole-number inputs on every kernel and demands the exact answer.
/// C is prefilled with NaN when beta = 0, proving it is never read.
fn check_exact<T: Scalar>(
    size: (usize, usize, usize),
    ops: (Op, Op),
    memory: (Memory, Memory, Memory),
    alpha: f64,
    beta: f64,
) {
    for kernel in kernels() {
        check_exact_on::<T>(kernel, size, ops, memory, alpha, beta);
    }
}

#[allow(clippy::too_many_arguments)]
fn check_exact_on<T: Scalar>(
    kernel: Kernel,
    (m, k, n): (usize, usize, usize),
    (op_a, op_b): (Op, Op),
    (mem_a, mem_b, mem_c): (Memory, Memory, Memory),
    alpha: f64,
    beta: f64,
) {
    let a = whole::<T>(stored(op_a, (m, k)), 1);
    let b = whole::<T>(stored(op_b, (k, n)), 2);
    let c0 = if beta == 0.0 {
        Array2::from_elem((m, n), T::nan())
    } else {
        whole::<T>((m, n), 3)
    };
    let sentinel = T::from_f64(-777.0).unwrap();
    let (pa, pb) = (
        Placed::new(&a, mem_a, sentinel),
        Placed::new(&b, mem_b, sentinel),
    );
    let mut pc = Placed::new(&c0, mem_c, sentinel);
    let gaps_before = pc.storage().iter().filter(|&&v| v == sentinel).count();

    let cast = |v: f64| T::from_f64(v).unwrap();
    kernel
        .gemm(
            cast(alpha),
            pa.view(),
            op_a,
            pb.view(),
            op_b,
            cast(beta),
            pc.view_mut(),
        )
        .unwrap();

    let c0_read = (beta != 0.0).then(|| c0.view());
    let (exact, _) = reference(alpha, a.view(), op_a, b.view(), op_b, beta, c0_read);
    let got = pc.view().mapv(|v| v.to_f64().unwrap());
    assert_eq!(
        got,
        exact,
        "{kernel} {} m={m} k={k} n={n} ops={op_a:?},{op_b:?} memory={mem_a:?},{mem_b:?},{mem_c:?} alpha={alpha} beta={beta}",
        T::NAME
    );
    let gaps_after = pc.storage().iter().filter(|&&v| v == sentinel).count();
    assert_eq!(
        gaps_after, gaps_before,
        "{kernel}: gemm wrote outside C's view ({mem_c:?})"
    );
}

fn sizes_across_block_edges() -> Vec<(usize, usize, usize)> {
    let small = [1, 15, 16, 17];
    let mut sizes = Vec::new();
    for m in small {
        for k in small {
            for n in small {
                sizes.push((m, k, n));
            }
        }
    }
    sizes.extend([
        (127, 128, 129),
        (128, 129, 127),
        (129, 127, 128),
        (128, 128, 128),
        (1, 129, 1),
        (129, 1, 129),
    ]);
    sizes
}

fn sweep_sizes<T: Scalar>() {
    let c_order = (Memory::COrder, Memory::COrder, Memory::COrder);
    for size in sizes_across_block_edges() {
        for ops in OPS {
            check_exact::<T>(size, ops, c_order, 1.0, 0.0);
        }
    }
}

#[test]
fn f32_matches_reference_across_block_edges() {
    sweep_sizes::<f32>();
}

#[test]
fn f64_matches_reference_across_block_edges() {
    sweep_sizes::<f64>();
}

fn sweep_layouts<T: Scalar>() {
    for mem_a in ALL_MEMORY {
        for mem_b in ALL_MEMORY {
            for mem_c in ALL_MEMORY {
                for ops in OPS {
                    check_exact::<T>((17, 16, 15), ops, (mem_a, mem_b, mem_c), 1.0, 0.0);
                    check_exact::<T>((5, 9, 7), ops, (mem_a, mem_b, mem_c), -1.5, 0.5);
                }
            }
        }
    }
}

#[test]
fn f32_reads_and_writes_every_memory_layout() {
    sweep_layouts::<f32>();
}

#[test]
fn f64_reads_and_writes_every_memory_layout() {
    sweep_layouts::<f64>();
}

#[test]
fn alpha_and_beta_scale_and_accumulate() {
    let every = (Memory::COrder, Memory::FOrder, Memory::RowSlice);
    for (alpha, beta) in [
        (0.0, 1.0),
        (2.0, 1.0),
        (0.5, -2.0),
        (-1.0, 0.25),
        (0.0, 0.0),
        (3.0, 0.0),
    ] {
        for ops in OPS {
            check_exact::<f32>((16, 17, 15), ops, every, alpha, beta);
            check_exact::<f64>((16, 17, 15), ops, every, alpha, beta);
        }
    }
}

#[test]
fn vectors_and_empty_shapes() {
    let layouts = (Memory::COrder, Memory::COrder, Memory::COrder);
    let shapes = [
        (1, 1, 1),
        (1, 64, 1),
        (64, 1, 1),
        (1, 1, 64),
        (1, 33, 40),
        (40, 33, 1),
        (0, 5, 3),
        (4, 0, 3),
        (4, 5, 0),
        (0, 0, 0),
    ];
    for size in shapes {
        for ops in OPS {
            for (alpha, beta) in [(1.0, 0.0), (2.0, 0.5)] {
                check_exact::<f32>(size, ops, layouts, alpha, beta);
                check_exact::<f64>(size, ops, layouts, alpha, beta);
            }
        }
    }
}

/// Non-integer inputs: the error must stay within the textbook bound
/// |computed - exact| <= 2 k eps sum_p |a_ip b_pj| (plus C's own rounding).
fn check_rounding<T: Scalar>(seed: u64) {
    for (m, k, n) in [(33, 257, 65), (128, 784, 10), (3, 1000, 2)] {
        for ops in OPS {
            let a = uniform::<T>(stored(ops.0, (m, k)), seed);
            let b = uniform::<T>(stored(ops.1, (k, n)), seed + 1);
            let c0 = uniform::<T>((m, n), seed + 2);
            let mut c = c0.clone();
            let (alpha, beta) = (T::from_f64(0.7).unwrap(), T::from_f64(-1.3).unwrap());
            gemm(alpha, a.view(), ops.0, b.view(), ops.1, beta, c.view_mut()).unwrap();
            let (exact, magnitude) =
                reference(0.7, a.view(), ops.0, b.view(), ops.1, -1.3, Some(c0.view()));
            let eps = T::epsilon().to_f64().unwrap();
            for ((&got, &want), &mag) in c.iter().zip(&exact).zip(&magnitude) {
                let bound = 2.0 * (k + 2) as f64 * eps * mag;
                let err = (got.to_f64().unwrap() - want).abs();
                assert!(
                    err <= bound,
                    "{} {m}x{k}x{n} {ops:?}: error {err:e} > bound {bound:e}",
                    T::NAME
                );
            }
        }
    }
}

#[test]
fn f32_rounding_within_error_bound() {
    check_rounding::<f32>(11);
}

#[test]
fn f64_rounding_within_error_bound() {
    check_rounding::<f64>(23);
}

/// The error message of `gemm` on zero matrices of the given shapes.
fn shape_error(a: (usize, usize), b: (usize, usize), c: (usize, usize)) -> String {
    let (a, b, mut c) = (
        Array2::<f32>::zeros(a),
        Array2::<f32>::zeros(b),
        Array2::<f32>::zeros(c),
    );
    let err = gemm(
        1.0,
        a.view(),
        Op::Identity,
        b.view(),
        Op::Identity,
        0.0,
        c.view_mut(),
    )
    .unwrap_err();
    assert!(matches!(err, ShapeError::Mismatch { .. }));
    err.to_string()
}

#[test]
fn mismatched_inner_dimensions_name_both_shapes() {
    let message = shape_error((3, 4), (5, 2), (3, 2));
    assert!(
        message.contains("[3, 4]") && message.contains("[5, 2]"),
        "{message}"
    );
}

#[test]
fn wrong_output_shape_is_an_error_not_a_crash() {
    let message = shape_error((3, 4), (4, 2), (2, 3));
    assert!(
        message.contains("[2, 3]") && message.contains("[3, 2]"),
        "{message}"
    );
}
