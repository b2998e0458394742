//! initlab-gemm's own packed GEMM (a [`Kernel`] chosen at run time) against `cblas_sgemm` at the MLP
//! shapes, on one thread. Each of its outputs is one FMA chain in `k` order; the bench
//! checks that bit for bit against scalar `mul_add`, and prints how many values the BLAS in
//! use shares with it. Needs AVX-512F, or AVX2 with FMA; elsewhere it says so and measures
//! nothing. At the end it times both call by call in turn and prints the median ratios.
//! Throughput is in FLOP (2mnk), so "Gelem/s" reads as GFLOP/s.
//!
//! `cargo bench --bench packed` (the best instruction set this CPU has; `INITLAB_GEMM=packed-avx2`
//! for AVX2 where it has both)

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use initlab_gemm::{BlasThreads, CpuFeatures, Kernel, Op};
use ndarray::{ArrayView2, ArrayViewMut2};

mod common;
use common::{Operand, agree, cblas, interleaved, values};

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

/// The packed kernel `INITLAB_GEMM` names, or else the best this CPU runs; `None` where it
/// runs neither instruction set.
fn packed_kernel() -> Option<Kernel> {
    let named = initlab_bench::kernel::chosen(None).ok();
    named
        .filter(|kernel| kernel.isa().is_some())
        .or_else(|| Kernel::packed(CpuFeatures::detect()).ok())
}

/// `c[m, n] = op(a) * op(b)` through initlab-gemm's `kernel`, beta = 0.
fn through_core_math(
    kernel: Kernel,
    (m, n, _): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
) {
    let ((a, op_a), (b, op_b)) = (view(a), view(b));
    let c = ArrayViewMut2::from_shape((m, n), c).expect("m x n");
    kernel
        .gemm(1.0, a, op_a, b, op_b, 0.0, c)
        .expect("shapes agree");
}

/// (name, m, n, k, A transposed, B transposed): forward x W^T, dW = dY^T X, dX = dY W.
const PRODUCTS: [(&str, usize, usize, usize, bool, bool); 7] = [
    ("fwd", 128, 512, 784, false, true),
    ("fwd", 128, 512, 512, false, true),
    ("dW", 512, 784, 128, true, false),
    ("dX", 128, 512, 512, false, false),
    ("fwd", 128, 256, 256, false, true),
    ("dW", 256, 256, 128, true, false),
    ("dX", 128, 256, 256, false, false),
];

/// A product's inputs, checked once: the packed kernel's outputs are the FMA chain bit for
/// bit, and cblas's agree with them up to rounding.
struct Product {
    id: String,
    dims: (usize, usize, usize),
    a: Vec<f32>,
    b: Vec<f32>,
    transposed: (bool, bool),
}

impl Product {
    fn new(
        kernel: Kernel,
        (name, m, n, k, ta, tb): (&str, usize, usize, usize, bool, bool),
    ) -> Self {
        let product = Self {
            id: format!("{name}/{m}x{k}x{n}"),
            dims: (m, n, k),
            a: values(m * k, 1),
            b: values(k * n, 2),
            transposed: (ta, tb),
        };
        let (mut theirs, mut ours) = (vec![0.0; m * n], vec![0.0; m * n]);
        cblas(product.dims, product.a(), product.b(), &mut theirs);
        through_core_math(kernel, product.dims, product.a(), product.b(), &mut ours);
        // Each value is exactly the scalar FMA chain in k order, whichever tile it sits in.
        let chain = |i: usize, j: usize| {
            (0..k).fold(0.0_f32, |acc, kk| {
                let x = if ta {
                    product.a[kk * m + i]
                } else {
                    product.a[i * k + kk]
                };
                let y = if tb {
                    product.b[j * k + kk]
                } else {
                    product.b[kk * n + j]
                };
                x.mul_add(y, acc)
            })
        };
        let exact = (0..m * n).all(|ij| ours[ij].to_bits() == chain(ij / n, ij % n).to_bits());
        assert!(exact, "{}: not the FMA chain in k order", product.id);
        agree(&product.id, &ours, &theirs);
        product
    }

    fn a(&self) -> Operand<'_> {
        let (m, _, k) = self.dims;
        Operand::new(
            &self.a,
            if self.transposed.0 { m } else { k },
            self.transposed.0,
        )
    }

    fn b(&self) -> Operand<'_> {
        let (_, n, k) = self.dims;
        Operand::new(
            &self.b,
            if self.transposed.1 { k } else { n },
            self.transposed.1,
        )
    }
}

fn packed(c: &mut Criterion) {
    let Some(kernel) = packed_kernel() else {
        eprintln!("packed: this CPU has neither AVX-512F nor AVX2 with FMA; nothing measured");
        return;
    };
    eprintln!("packed: {}", kernel.describe());
    let _threads = BlasThreads::set(1);
    let mut group = c.benchmark_group("packed/1t");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500));
    for product in PRODUCTS.map(|product| Product::new(kernel, product)) {
        let (m, n, k) = product.dims;
        let mut out = vec![0.0; m * n];
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        group.bench_function(BenchmarkId::new("cblas", &product.id), |bencher| {
            bencher.iter(|| cblas(product.dims, product.a(), product.b(), black_box(&mut out)))
        });
        group.bench_function(BenchmarkId::new("packed", &product.id), |bencher| {
            bencher.iter(|| {
                through_core_math(
                    kernel,
                    product.dims,
                    product.a(),
                    product.b(),
                    black_box(&mut out),
                )
            })
        });
    }
    group.finish();
}

/// cblas and the packed kernel call by call in turn, 301 calls each per product: the
/// median times and their ratio, which a machine whose speed drifts within minutes leaves
/// alone. Skipped under `--profile-time`.
fn summary(_: &mut Criterion) {
    let Some(kernel) = packed_kernel() else {
        return;
    };
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    let _threads = BlasThreads::set(1);
    println!(
        "
interleaved, {}",
        kernel.describe()
    );
    println!("product              cblas µs  packed µs  cblas / packed");
    for product in PRODUCTS.map(|product| Product::new(kernel, product)) {
        let (m, n, _) = product.dims;
        let (mut theirs, mut ours) = (vec![0.0; m * n], vec![0.0; m * n]);
        let (cblas_s, packed_s) = interleaved(
            || {
                cblas(
                    product.dims,
                    product.a(),
                    product.b(),
                    black_box(&mut theirs),
                )
            },
            || {
                through_core_math(
                    kernel,
                    product.dims,
                    product.a(),
                    product.b(),
                    black_box(&mut ours),
                )
            },
        );
        println!(
            "{:18}  {:9.1}  {:9.1}  {:13.2}x",
            product.id,
            1e6 * cblas_s,
            1e6 * packed_s,
            cblas_s / packed_s
        );
    }
}

criterion_group!(benches, packed, summary);
initlab_bench::criterion_main!(benches);
