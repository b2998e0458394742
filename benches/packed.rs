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

/// Operand `x` of a product, row-major, with `x[i, j]` at `i * cols + j`, or transposed.
#[derive(Clone, Copy)]
struct Operand<'a> {
    values: &'a [f32],
    /// Columns of the stored matrix.
    cols: usize,
    transposed: bool,
}

impl Operand<'_> {
    /// The stored matrix as a view, and what `gemm` must do to it.
    fn view(&self) -> (ArrayView2<'_, f32>, Op) {
        let rows = self.values.len() / self.cols;
        let view = ArrayView2::from_shape((rows, self.cols), self.values).expect("whole rows");
        (
            view,
            if self.transposed {
                Op::Transpose
            } else {
                Op::Identity
            },
        )
    }
}

/// `c[m, n] = op(a) * op(b)` through core-math, beta = 0.
fn through_core_math(
    (m, n, _): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
) {
    let ((a, op_a), (b, op_b)) = (a.view(), b.view());
    let c = ArrayViewMut2::from_shape((m, n), c).expect("m x n");
    core_math::gemm(1.0, a, op_a, b, op_b, 0.0, c).expect("shapes agree");
}

/// `c[m, n] = op(a) * op(b)` through raw CBLAS, row-major, beta = 0.
fn cblas((m, n, k): (usize, usize, usize), a: Operand<'_>, b: Operand<'_>, c: &mut [f32]) {
    assert!(a.values.len() == m * k && b.values.len() == k * n && c.len() == m * n);
    // SAFETY: row-major buffers of exactly the sizes passed, checked above; c aliases
    // neither input.
    unsafe {
        bench::raw_blas::sgemm(
            a.transposed,
            b.transposed,
            m as i32,
            n as i32,
            k as i32,
            1.0,
            a.values.as_ptr(),
            a.cols as i32,
            b.values.as_ptr(),
            b.cols as i32,
            0.0,
            c.as_mut_ptr(),
            n as i32,
        );
    }
}

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 31 + seed * 17) % 23) as f32 / 23.0 - 0.5)
        .collect()
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
        let a = Operand {
            values: &a_values,
            cols: if ta { m } else { k },
            transposed: ta,
        };
        let b = Operand {
            values: &b_values,
            cols: if tb { k } else { n },
            transposed: tb,
        };
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
        let scale = theirs.iter().fold(0.0_f32, |s, v| s.max(v.abs()));
        let gap = ours
            .iter()
            .zip(&theirs)
            .fold(0.0_f32, |g, (x, y)| g.max((x - y).abs()));
        assert!(gap <= 1e-5 * scale, "{name} {m}x{k}x{n}: off by {gap}");
        let same = ours
            .iter()
            .zip(&theirs)
            .filter(|(x, y)| x.to_bits() == y.to_bits())
            .count();
        eprintln!(
            "{name} {m}x{k}x{n}: {same} of {} values bitwise equal to cblas",
            m * n
        );

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
