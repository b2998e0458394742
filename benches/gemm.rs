//! GEMM throughput: initlab-gemm's `gemm` against a direct `cblas_sgemm` call and against
//! ndarray's own `dot` (matrixmultiply, no BLAS), at 1 and 2 BLAS threads; and the fused
//! `affine` against GEMM followed by a separate bias pass.
//!
//! Throughput is given as `Elements` = floating-point operations (2mnk per product), so
//! criterion's "Gelem/s" reads as GFLOP/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use initlab_gemm::{BlasThreads, Op, affine, blas_info, gemm};
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

/// One product `C[m, n] = op(A) * op(B)` of a shape the benchmark sweeps.
#[derive(Clone, Copy)]
struct Product {
    label: &'static str,
    m: usize,
    k: usize,
    n: usize,
    op_a: Op,
    op_b: Op,
}

impl Product {
    fn square(n: usize) -> Self {
        Self::new("square", n, n, n, Op::Identity, Op::Identity)
    }

    fn new(label: &'static str, m: usize, k: usize, n: usize, op_a: Op, op_b: Op) -> Self {
        Self {
            label,
            m,
            k,
            n,
            op_a,
            op_b,
        }
    }

    fn flops(&self) -> u64 {
        2 * (self.m * self.k * self.n) as u64
    }

    fn id(&self) -> String {
        format!("{}/{}x{}x{}", self.label, self.m, self.k, self.n)
    }

    fn operands(&self) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
        let stored = |op: Op, rows, cols| match op {
            Op::Identity => (rows, cols),
            Op::Transpose => (cols, rows),
        };
        let fill = |(r, c): (usize, usize), seed: usize| {
            Array2::from_shape_fn((r, c), |(i, j)| {
                ((i * 31 + j * 17 + seed) % 23) as f32 / 23.0 - 0.5
            })
        };
        (
            fill(stored(self.op_a, self.m, self.k), 1),
            fill(stored(self.op_b, self.k, self.n), 2),
            Array2::zeros((self.m, self.n)),
        )
    }
}

/// The products of one training step of 784-512-512-10 at batch 128: forward `x * W^T`,
/// weight gradient `dY^T * X` and input gradient `dY * W` for each layer.
fn mlp_products() -> Vec<Product> {
    let batch = 128;
    let layers = [(784, 512), (512, 512), (512, 10)];
    let mut products = Vec::new();
    for (fan_in, fan_out) in layers {
        products.push(Product::new(
            "fwd",
            batch,
            fan_in,
            fan_out,
            Op::Identity,
            Op::Transpose,
        ));
        products.push(Product::new(
            "dW",
            fan_out,
            batch,
            fan_in,
            Op::Transpose,
            Op::Identity,
        ));
        products.push(Product::new(
            "dX",
            batch,
            fan_out,
            fan_in,
            Op::Identity,
            Op::Identity,
        ));
    }
    products
}

fn raw_cblas(
    p: &Product,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    c: ArrayViewMut2<'_, f32>,
) {
    let mut c = c;
    // SAFETY: all three operands are C-order arrays of the sizes CBLAS is told.
    unsafe {
        initlab_bench::raw_blas::sgemm(
            p.op_a == Op::Transpose,
            p.op_b == Op::Transpose,
            p.m as i32,
            p.n as i32,
            p.k as i32,
            1.0,
            a.as_ptr(),
            a.ncols() as i32,
            b.as_ptr(),
            b.ncols() as i32,
            0.0,
            c.as_mut_ptr(),
            p.n as i32,
        )
    }
}

/// `c <- op(a) * op(b)` through the pure-Rust `gemm` crate on the calling thread, with the
/// operands' own strides.
#[cfg(feature = "gemm-rs")]
fn gemm_rs(p: &Product, a: &Array2<f32>, b: &Array2<f32>, mut c: ArrayViewMut2<'_, f32>) {
    let (a, b) = (oriented(a, p.op_a), oriented(b, p.op_b));
    assert_eq!(
        (a.dim(), b.dim(), c.dim()),
        ((p.m, p.k), (p.k, p.n), (p.m, p.n))
    );
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: every pointer and stride pair describes a live ndarray view of the shape
    // passed, checked above; c is a unique borrow and aliases neither input.
    unsafe {
        gemm::gemm(
            p.m,
            p.n,
            p.k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

fn oriented<'a>(x: &'a Array2<f32>, op: Op) -> ArrayView2<'a, f32> {
    match op {
        Op::Identity => x.view(),
        Op::Transpose => x.t(),
    }
}

fn bench_products(c: &mut Criterion, group_name: &str, products: &[Product]) {
    for threads in [1, 2] {
        let _threads = BlasThreads::set(threads);
        let mut group = c.benchmark_group(format!("{group_name}/{threads}t"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500));
        for p in products {
            let (a, b, mut out) = p.operands();
            group.throughput(Throughput::Elements(p.flops()));
            group.bench_function(BenchmarkId::new("initlab_gemm", p.id()), |bencher| {
                bencher.iter(|| {
                    gemm(1.0, a.view(), p.op_a, b.view(), p.op_b, 0.0, out.view_mut()).unwrap();
                    black_box(&out);
                })
            });
            group.bench_function(BenchmarkId::new("cblas", p.id()), |bencher| {
                bencher.iter(|| {
                    raw_cblas(p, a.view(), b.view(), out.view_mut());
                    black_box(&out);
                })
            });
            #[cfg(feature = "gemm-rs")]
            if threads == 1 {
                // The same product, checked against BLAS first: the inputs are small whole
                // numbers over 23, so any order of summation gives nearly the same sums.
                let mut theirs = out.clone();
                raw_cblas(p, a.view(), b.view(), theirs.view_mut());
                gemm_rs(p, &a, &b, out.view_mut());
                let gap = (&out - &theirs).iter().fold(0.0_f32, |m, v| m.max(v.abs()));
                assert!(gap < 1e-3, "gemm crate at {}: off by {gap}", p.id());
                group.bench_function(BenchmarkId::new("gemm_rs", p.id()), |bencher| {
                    bencher.iter(|| {
                        gemm_rs(p, &a, &b, out.view_mut());
                        black_box(&out);
                    })
                });
            }
            // matrixmultiply is single-threaded here: one measurement is enough.
            if threads == 1 {
                group.bench_function(BenchmarkId::new("ndarray_dot", p.id()), |bencher| {
                    bencher.iter(|| {
                        let product = oriented(&a, p.op_a).dot(&oriented(&b, p.op_b));
                        black_box(product)
                    })
                });
            }
        }
        group.finish();
    }
}

fn squares(c: &mut Criterion) {
    let info = blas_info();
    eprintln!(
        "OpenBLAS core {} ({}); {}",
        info.core, info.threading, info.config
    );
    let sizes = [128, 256, 512, 1024, 2048].map(Product::square);
    bench_products(c, "gemm_square", &sizes);
}

fn mlp_shapes(c: &mut Criterion) {
    bench_products(c, "gemm_mlp", &mlp_products());
}

/// `x * w^T + b` fused into one GEMM against the same GEMM followed by a bias pass.
fn fused_bias(c: &mut Criterion) {
    let _threads = BlasThreads::set(1);
    let mut group = c.benchmark_group("affine/1t");
    group.sample_size(30);
    // Small fan_in makes the bias pass a visible share of the work (a 2-D dataset's first
    // layer); at MLP widths GEMM dominates and the two should tie.
    for (fan_in, fan_out) in [(784, 512), (512, 512), (512, 10), (2, 256), (16, 1024)] {
        let batch = 128;
        let x = Array2::from_shape_fn((batch, fan_in), |(i, j)| ((i + 3 * j) % 7) as f32 - 3.0);
        let w = Array2::from_shape_fn((fan_out, fan_in), |(i, j)| ((2 * i + j) % 5) as f32 - 2.0);
        let b = Array1::from_shape_fn(fan_out, |i| i as f32 * 0.01);
        let mut out = Array2::zeros((batch, fan_out));
        let id = format!("{batch}x{fan_in}->{fan_out}");
        group.throughput(Throughput::Elements(2 * (batch * fan_in * fan_out) as u64));
        group.bench_function(BenchmarkId::new("fused", &id), |bencher| {
            bencher.iter(|| {
                affine(x.view(), w.view(), b.view(), out.view_mut()).unwrap();
                black_box(&out);
            })
        });
        group.bench_function(BenchmarkId::new("gemm_then_bias", &id), |bencher| {
            bencher.iter(|| {
                gemm(
                    1.0,
                    x.view(),
                    Op::Identity,
                    w.view(),
                    Op::Transpose,
                    0.0,
                    out.view_mut(),
                )
                .unwrap();
                out += &b.view().insert_axis(Axis(0));
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, squares, mlp_shapes, fused_bias);
initlab_bench::criterion_main!(benches);
