//! core-math's own packed GEMM (feature `packed-gemm`) against `cblas_sgemm` at the MLP
//! shapes, on one thread. Each of its outputs is one FMA chain in `k` order; the bench
//! checks that bit for bit against scalar `mul_add`, and prints how many values the BLAS in
//! use shares with it. Needs AVX-512F; elsewhere it says so and measures nothing.
//! Throughput is in FLOP (2mnk), so "Gelem/s" reads as GFLOP/s.
//!
//! `cargo bench --bench packed --features packed-gemm`

use std::hint::black_box;
use std::time::Duration;

use core_math::{BlasThreads, Op};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{ArrayView2, ArrayViewMut2};

mod common;
use common::{Operand, agree, cblas, values};

/// The stored matrix as a view, and what `gemm` must do to it.
fn view<'a>(x: Operand<'a>) -> (ArrayView2<'a, f32>, Op) {
    let rows = x.values.len() / x.cols;
    let view = ArrayView2::from_shape((rows, x.cols), x.values).expect("whole rows");
    let op = if x.transposed {
        Op::Transpose
    } else {
        Op::Identity
    };
    (view, op)
}

/// `c[m, n] = op(a) * op(b)` through core-math, beta = 0.
fn through_core_math(
    (m, n, _): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
) {
    let ((a, op_a), (b, op_b)) = (view(a), view(b));
    let c = ArrayViewMut2::from_shape((m, n), c).expect("m x n");
    core_math::gemm(1.0, a, op_a, b, op_b, 0.0, c).expect("shapes agree");
}

fn packed(c: &mut Criterion) {
    if !core_math::packed_gemm_in_use() {
        eprintln!("packed: this CPU has no AVX-512F; nothing measured");
        return;
    }
    let _threads = BlasThreads::set(1);
    let mut group = c.benchmark_group("packed/1t");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500));
    // (name, m, n, k, A transposed, B transposed): forward x W^T, dW = dY^T X, dX = dY W.
    let products = [
        ("fwd", 128, 512, 784, false, true),
        ("fwd", 128, 512, 512, false, true),
        ("dW", 512, 784, 128, true, false),
        ("dX", 128, 512, 512, false, false),
        ("fwd", 128, 256, 256, false, true),
        ("dW", 256, 256, 128, true, false),
        ("dX", 128, 256, 256, false, false),
    ];
    for (name, m, n, k, ta, tb) in products {
        let (a_values, b_values) = (values(m * k, 1), values(k * n, 2));
        let a = Operand::new(&a_values, if ta { m } else { k }, ta);
        let b = Operand::new(&b_values, if tb { k } else { n }, tb);
        let (mut theirs, mut ours) = (vec![0.0; m * n], vec![0.0; m * n]);
        cblas((m, n, k), a, b, &mut theirs);
        through_core_math((m, n, k), a, b, &mut ours);
        // Each value is exactly the scalar FMA chain in k order, whichever tile it sits in.
        let chain = |i: usize, j: usize| {
            (0..k).fold(0.0_f32, |acc, kk| {
                let x = if ta {
                    a_values[kk * m + i]
                } else {
                    a_values[i * k + kk]
                };
                let y = if tb {
                    b_values[j * k + kk]
                } else {
                    b_values[kk * n + j]
                };
                x.mul_add(y, acc)
            })
        };
        let exact = (0..m * n).all(|ij| ours[ij].to_bits() == chain(ij / n, ij % n).to_bits());
        assert!(exact, "{name} {m}x{k}x{n}: not the FMA chain in k order");
        agree(&format!("{name} {m}x{k}x{n}"), &ours, &theirs);

        let id = format!("{name}/{m}x{k}x{n}");
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        group.bench_function(BenchmarkId::new("cblas", &id), |bencher| {
            bencher.iter(|| cblas((m, n, k), a, b, black_box(&mut theirs)))
        });
        group.bench_function(BenchmarkId::new("packed", &id), |bencher| {
            bencher.iter(|| through_core_math((m, n, k), a, b, black_box(&mut ours)))
        });
    }
    group.finish();
}

criterion_group!(benches, packed);
criterion_main!(benches);
